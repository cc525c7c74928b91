/* SPDX-License-Identifier: BSD-3-Clause */
/* test-probe.c — the path verdict from hand-made ladders (probe-path.c).
 *
 * Topology of every case, as tests/probe-check.sh builds it for real:
 * client 198.51.100.10 -- r1 (hop 1) -- r2 (hop 2) -- server 203.0.113.25 (hop 3).
 * Linux routers and servers send with TTL 64, so an answer from hop n
 * arrives with TTL 65 - n.
 */
#include "probe.h"

#include <glib.h>
#include <string.h>

#define R1 "198.51.100.1"
#define R2 "198.18.0.2"
#define SERVER "203.0.113.25"
#define MAX_RUNGS 8
#define MAX_REPLIES 3

typedef struct reply_spec {
    mx_probe_reply_type type;
    const char *ip;
    int reply_ttl;
    int code;
} reply_spec;

typedef struct rung_spec {
    int n;                               /* probes at this TTL */
    reply_spec r[MAX_REPLIES];           /* type NONE (0) = unanswered */
} rung_spec;

typedef struct path_case {
    const char *name;
    const char *target;
    rung_spec rungs[MAX_RUNGS];          /* TTL 1, 2, ...; n == 0 ends the ladder */
    int server_hop_hint;
    /* expected */
    mx_path_verdict verdict;
    int hop;
    const char *ip;                      /* NULL: none */
    int last_answering_hop;
    int server_hop;
} path_case;

#define TE(ip, ttl) { MX_PROBE_TIME_EXCEEDED, ip, ttl, 0 }
#define SYNACK(ttl) { MX_PROBE_SYNACK, SERVER, ttl, -1 }
#define RST(ttl) { MX_PROBE_RST, SERVER, ttl, -1 }
#define UNREACH(ip, ttl, code) { MX_PROBE_UNREACHABLE, ip, ttl, code }
#define SILENT { 3, { {0}, {0}, {0} } }
#define ALL3(x) { 3, { x, x, x } }

static const path_case cases[] = {
    { "open", SERVER,
      { ALL3(TE(R1, 64)), ALL3(TE(R2, 63)), ALL3(SYNACK(62)) }, 0,
      MX_PATH_OPEN, 3, SERVER, 3, 3 },
    { "closed", SERVER,
      { ALL3(TE(R1, 64)), ALL3(TE(R2, 63)), ALL3(RST(62)) }, 0,
      MX_PATH_CLOSED, 3, SERVER, 3, 3 },
    /* iptables REJECT --reject-with tcp-reset in r2's FORWARD chain: TTL 2
     * still expires at r2 (the TTL check comes before the FORWARD hook),
     * TTL 3 draws a RST that r2 sends with a fresh TTL: hop 2. */
    { "forged-rst-reply-ttl", SERVER,
      { ALL3(TE(R1, 64)), ALL3(TE(R2, 63)), ALL3(RST(63)) }, 0,
      MX_PATH_FORGED_RST, 2, R2, 2, 3 },
    /* A firewall that answers before the TTL check (no time-exceeded of
     * its own): the RST comes back for TTL 2 already, while the server's
     * own SYN-ACK (seen by the SMTP dialogue) is at hop 3. */
    { "forged-rst-baseline", SERVER,
      { ALL3(TE(R1, 64)), ALL3(RST(63)) }, 3,
      MX_PATH_FORGED_RST, 2, NULL, 2, 3 },
    /* Mixed answers at one TTL: the server's SYN-ACK from hop 3 and a RST
     * from hop 2 racing it. */
    { "forged-rst-beside-synack", SERVER,
      { ALL3(TE(R1, 64)), ALL3(TE(R2, 63)), { 3, { SYNACK(62), RST(63), SYNACK(62) } } }, 0,
      MX_PATH_FORGED_RST, 2, R2, 3, 3 },
    /* A DROP before routing at r2: nothing beyond hop 1. */
    { "silent", SERVER,
      { ALL3(TE(R1, 64)), SILENT, SILENT, SILENT, SILENT, SILENT }, 0,
      MX_PATH_SILENT, 2, NULL, 1, 0 },
    { "silent-from-the-start", SERVER,
      { SILENT, SILENT, SILENT, SILENT, SILENT }, 0,
      MX_PATH_SILENT, 1, NULL, 0, 0 },
    { "silent-one-probe-lost", SERVER,
      { { 3, { TE(R1, 64), {0}, TE(R1, 64) } }, { 3, { {0}, TE(R2, 63), {0} } }, SILENT, SILENT, SILENT, SILENT, SILENT }, 0,
      MX_PATH_SILENT, 3, NULL, 2, 0 },
    { "admin-prohibited", SERVER,
      { ALL3(TE(R1, 64)), ALL3(TE(R2, 63)), ALL3(UNREACH(R2, 63, 13)) }, 0,
      MX_PATH_ADMIN_PROHIBITED, 2, R2, 2, 0 },
    { "admin-prohibited-v6", "2001:db8:3::25",
      { ALL3(TE("2001:db8:1::1", 64)), ALL3(UNREACH("2001:db8:2::2", 63, 1)) }, 0,
      MX_PATH_ADMIN_PROHIBITED, 2, "2001:db8:2::2", 2, 0 },
    { "host-unreachable", SERVER,
      { ALL3(TE(R1, 64)), ALL3(TE(R2, 63)), ALL3(UNREACH(R2, 63, 1)) }, 0,
      MX_PATH_UNREACHABLE, 2, R2, 2, 0 },
    { "net-unreachable-first-hop", SERVER,
      { ALL3(UNREACH(R1, 64, 0)) }, 0,
      MX_PATH_UNREACHABLE, 1, R1, 1, 0 },
    /* Every router answers and the server never does within --max-ttl. */
    { "not-reached", SERVER,
      { ALL3(TE(R1, 64)), ALL3(TE(R2, 63)) }, 0,
      MX_PATH_SILENT, 0, NULL, 2, 0 },
};

static void build(const path_case *c, mx_probe_ladder *l)
{
    mx_probe_ladder_init(l);
    g_assert_true(mx_addr_parse(c->target, &l->target));
    mx_addr_parse(c->target[0] == '2' ? "2001:db8:1::10" : "198.51.100.10", &l->source);
    l->dport = 25;
    l->sport = 40000;
    l->max_ttl = 30;
    for (int t = 0; t < MAX_RUNGS && c->rungs[t].n; t++) {
        mx_probe_step *st = mx_probe_ladder_add_step(l, t + 1, (guint)c->rungs[t].n);
        l->max_ttl = t + 1;
        for (int k = 0; k < c->rungs[t].n; k++) {
            const reply_spec *rs = &c->rungs[t].r[k];
            if (rs->type == MX_PROBE_NONE)
                continue;
            mx_probe_reply *r = &g_array_index(st->replies, mx_probe_reply, k);
            r->type = rs->type;
            g_assert_true(mx_addr_parse(rs->ip, &r->ip));
            r->reply_ttl = rs->reply_ttl;
            r->code = rs->code;
            r->rtt_ms = 0.5;
        }
    }
}

static void test_path(gconstpointer data)
{
    const path_case *c = data;
    mx_probe_ladder l;
    mx_probe_path p;
    char ip[64];
    build(c, &l);
    mx_probe_path_init(&p);
    mx_probe_path_judge(&l, c->server_hop_hint, &p);
    g_test_message("%s: %s", c->name, p.summary->str);
    g_assert_cmpstr(mx_path_verdict_name(p.verdict), ==, mx_path_verdict_name(c->verdict));
    g_assert_cmpint(p.hop, ==, c->hop);
    g_assert_cmpstr(p.has_ip ? mx_addr_str(&p.ip, ip, sizeof ip) : NULL, ==, c->ip);
    g_assert_cmpint(p.last_answering_hop, ==, c->last_answering_hop);
    g_assert_cmpint(p.server_hop, ==, c->server_hop);
    g_assert_cmpuint(p.summary->len, >, 0);
    g_assert_cmpuint(p.advice->len, >, 0);
    mx_probe_path_clear(&p);
    mx_probe_ladder_clear(&l);
}

static void test_names(void)
{
    g_assert_cmpstr(mx_probe_reply_type_name(MX_PROBE_TIME_EXCEEDED), ==, "time_exceeded");
    g_assert_cmpstr(mx_probe_reply_type_name(MX_PROBE_NONE), ==, "none");
    g_assert_cmpstr(mx_path_verdict_name(MX_PATH_FORGED_RST), ==, "forged_rst");
    g_assert_cmpstr(mx_path_verdict_name(MX_PATH_ADMIN_PROHIBITED), ==, "admin_prohibited");
    g_assert_true(mx_probe_code_admin_prohibited(4, 13));
    g_assert_true(mx_probe_code_admin_prohibited(4, 10));
    g_assert_false(mx_probe_code_admin_prohibited(4, 1));
    g_assert_true(mx_probe_code_admin_prohibited(6, 1));
    g_assert_false(mx_probe_code_admin_prohibited(6, 3));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/probe/names", test_names);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/probe/path/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_path);
    }
    return g_test_run();
}
