/* SPDX-License-Identifier: BSD-3-Clause */
/* test-dns.c — DNS look-ups as evidence, through the real pipeline (mx_analyzer).
 *
 * Frames are built with pktbuild and fed as raw frames, so decode, the DNS
 * ring, the flow table and diagnosis all run as in `mxray read`.
 */
#include "analyzer.h"
#include "dns.h"
#include "pktbuild.h"

#include <pcap/dlt.h>
#include <string.h>

#define GW "198.51.100.10"
#define RESOLVER "198.51.100.53"
#define SERVER "203.0.113.25"
#define SEC 1000000LL

typedef struct fixture {
    mx_analyzer *an;
    GPtrArray *sessions;
    uint64_t frames;
    pb_conv conv;
} fixture;

static void keep_session(mx_session *s, void *ctx)
{
    g_ptr_array_add(((fixture *)ctx)->sessions, s);
}

static void feed(fixture *fx, const pb_frame *f, int64_t ts_us)
{
    mx_raw_frame raw = { .data = f->data, .caplen = f->len, .wirelen = f->len, .ts_us = ts_us,
                         .frame = ++fx->frames, .dlt = f->dlt };
    mx_analyzer_frame(fx->an, &raw);
}

static void emit(void *ctx, const pb_frame *f, int64_t ts_us)
{
    feed(ctx, f, ts_us);
}

static void setup(fixture *fx, gconstpointer data)
{
    uint16_t port = 25;
    fx->sessions = g_ptr_array_new_with_free_func((GDestroyNotify)mx_session_free);
    fx->an = mx_analyzer_new(&port, 1, 0, keep_session, fx);
    pb_conv_init(&fx->conv, PB_LINK_ETH, GW, 40001, SERVER, 25, 1000, 5000, emit, fx);
}

static void teardown(fixture *fx, gconstpointer data)
{
    mx_analyzer_free(fx->an);
    g_ptr_array_free(fx->sessions, TRUE);
}

/* A DNS message: header, one question, answers given as raw RRs. */
static GByteArray *dns_message(uint16_t id, bool response, uint8_t rcode, const char *qname, uint16_t qtype,
                               uint16_t ancount, const void *answers, size_t answers_len)
{
    GByteArray *m = g_byte_array_new();
    uint8_t hdr[12] = { id >> 8, id & 0xff, response ? 0x81 : 0x01, response ? (0x80 | rcode) : 0x00,
                        0, 1, ancount >> 8, ancount & 0xff, 0, 0, 0, 0 };
    g_byte_array_append(m, hdr, sizeof hdr);
    g_auto(GStrv) labels = g_strsplit(qname, ".", -1);
    for (char **l = labels; *l; l++) {
        uint8_t len = (uint8_t)strlen(*l);
        g_byte_array_append(m, &len, 1);
        g_byte_array_append(m, (const uint8_t *)*l, len);
    }
    uint8_t tail[5] = { 0, qtype >> 8, qtype & 0xff, 0, 1 };
    g_byte_array_append(m, tail, sizeof tail);
    if (answers_len)
        g_byte_array_append(m, answers, (guint)answers_len);
    return m;
}

static void send_dns(fixture *fx, int64_t t, bool response, GByteArray *m)
{
    pb_udp u = { .ip = { .src = response ? RESOLVER : GW, .dst = response ? GW : RESOLVER },
                 .sport = response ? 53 : 33333, .dport = response ? 33333 : 53,
                 .payload = m->data, .payload_len = m->len };
    pb_frame f;
    g_assert_true(pb_build_udp(&f, PB_LINK_ETH, &u));
    feed(fx, &f, t);
    g_byte_array_free(m, TRUE);
}

static void syn_timeout(fixture *fx, int64_t t)
{
    pb_conv_syn(&fx->conv, t);
    pb_conv_syn(&fx->conv, t + 1 * SEC);
    pb_conv_syn(&fx->conv, t + 3 * SEC);
}

static const mx_warning *warning_of(const mx_session *s, mx_warning_kind kind)
{
    for (guint i = 0; i < s->verdict.warnings->len; i++)
        if (g_array_index(s->verdict.warnings, mx_warning, i).kind == kind)
            return &g_array_index(s->verdict.warnings, mx_warning, i);
    return NULL;
}

static mx_session *only_session(fixture *fx)
{
    mx_analyzer_finish(fx->an);
    g_assert_cmpuint(fx->sessions->len, ==, 1);
    return g_ptr_array_index(fx->sessions, 0);
}

/* The gateway's PTR look-up of the server goes unanswered twice, then its
 * SYNs go unanswered too: the warning names the look-up and the resolver,
 * the verdict stays the packets' (syn_timeout, path). */
static void test_ptr_unanswered(fixture *fx, gconstpointer data)
{
    send_dns(fx, 100 * SEC, false, dns_message(0x1234, false, 0, "25.113.0.203.in-addr.arpa", MX_DNS_PTR, 0, NULL, 0));
    send_dns(fx, 105 * SEC, false, dns_message(0x1235, false, 0, "25.113.0.203.in-addr.arpa", MX_DNS_PTR, 0, NULL, 0));
    syn_timeout(fx, 110 * SEC);
    mx_session *s = only_session(fx);
    g_assert_cmpint(s->verdict.kind, ==, MX_KIND_SYN_TIMEOUT);
    g_assert_cmpint(s->verdict.culprit.role, ==, MX_ROLE_PATH);
    const mx_warning *w = warning_of(s, MX_WARN_DNS_TIMEOUT);
    g_assert_nonnull(w);
    g_assert_cmpstr(w->detail, ==, "2 look-ups about this session unanswered and 0 slow (resolver 198.51.100.53): "
                                   "PTR 25.113.0.203.in-addr.arpa unanswered");
    const mx_evidence *e = &g_array_index(s->verdict.evidence, mx_evidence, 0);
    g_assert_cmpuint(e->at.frame, ==, 1);
    g_assert_cmpstr(e->fact, ==, "DNS PTR 25.113.0.203.in-addr.arpa to 198.51.100.53: no answer");
}

/* An A look-up of the MX host answered after 2.5 s: slow, and about the
 * session because its answer is the server's address. */
static void test_a_slow(fixture *fx, gconstpointer data)
{
    static const uint8_t answer[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 25 };
    send_dns(fx, 100 * SEC, false, dns_message(7, false, 0, "mx.example.net", MX_DNS_A, 0, NULL, 0));
    send_dns(fx, 102500000, true, dns_message(7, true, 0, "mx.example.net", MX_DNS_A, 1, answer, sizeof answer));
    syn_timeout(fx, 103 * SEC);
    mx_session *s = only_session(fx);
    const mx_warning *w = warning_of(s, MX_WARN_DNS_TIMEOUT);
    g_assert_nonnull(w);
    g_assert_cmpstr(w->detail, ==, "0 look-ups about this session unanswered and 1 slow (resolver 198.51.100.53): "
                                   "A mx.example.net slow");
}

/* Look-ups about other hosts, or answered at once, or older than a minute
 * before the session, are no evidence. */
static void test_unrelated(fixture *fx, gconstpointer data)
{
    static const uint8_t answer[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 25 };
    send_dns(fx, 10 * SEC, false, dns_message(1, false, 0, "25.113.0.203.in-addr.arpa", MX_DNS_PTR, 0, NULL, 0));
    send_dns(fx, 100 * SEC, false, dns_message(2, false, 0, "9.113.0.203.in-addr.arpa", MX_DNS_PTR, 0, NULL, 0));
    send_dns(fx, 101 * SEC, false, dns_message(3, false, 0, "mx.example.net", MX_DNS_A, 0, NULL, 0));
    send_dns(fx, 101100000, true, dns_message(3, true, 0, "mx.example.net", MX_DNS_A, 1, answer, sizeof answer));
    syn_timeout(fx, 110 * SEC);
    mx_session *s = only_session(fx);
    g_assert_null(warning_of(s, MX_WARN_DNS_TIMEOUT));
}

/* Compression pointers that loop, and a name that runs past the message,
 * are dropped without a record, and nothing crashes. */
static void test_hostile(fixture *fx, gconstpointer data)
{
    static const uint8_t loop[] = { 0, 9, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1 };
    static const uint8_t overrun[] = { 0, 9, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 60, 'a', 'b' };
    static const uint8_t good[] = { 0, 9, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1 };
    const struct { const uint8_t *p; uint32_t len; } msgs[] = {
        { loop, sizeof loop }, { overrun, sizeof overrun }, { good, sizeof good },
    };
    mx_dns_table *t = mx_dns_table_new();
    for (size_t i = 0; i < G_N_ELEMENTS(msgs); i++) {
        pb_udp u = { .ip = { .src = GW, .dst = RESOLVER }, .sport = 4000, .dport = 53,
                     .payload = msgs[i].p, .payload_len = msgs[i].len };
        pb_frame f;
        mx_packet pkt;
        g_assert_true(pb_build_udp(&f, PB_LINK_ETH, &u));
        pb_decode(&f, &pkt);
        mx_dns_packet(t, &pkt);
    }
    /* Only the well-formed query is recorded. */
    g_assert_cmpuint(mx_dns_count(t), ==, 1);
    g_assert_cmpstr(mx_dns_get(t, 0)->name, ==, "a");
    mx_dns_table_free(t);
}

/* Feeds query q (frame 1, at asked_us) straight to the table, then its
 * response r (frame 2, took_us later) unless r is NULL; frees both. */
static void table_exchange(mx_dns_table *t, GByteArray *q, GByteArray *r, int64_t asked_us, int64_t took_us)
{
    pb_udp uq = { .ip = { .src = GW, .dst = RESOLVER }, .sport = 4000, .dport = 53, .payload = q->data, .payload_len = q->len };
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_udp(&f, PB_LINK_ETH, &uq));
    pb_decode(&f, &pkt);
    pkt.frame = 1;
    pkt.ts_us = asked_us;
    mx_dns_packet(t, &pkt);
    if (r) {
        pb_udp ur = { .ip = { .src = RESOLVER, .dst = GW }, .sport = 53, .dport = 4000, .payload = r->data, .payload_len = r->len };
        g_assert_true(pb_build_udp(&f, PB_LINK_ETH, &ur));
        pb_decode(&f, &pkt);
        pkt.frame = 2;
        pkt.ts_us = asked_us + took_us;
        mx_dns_packet(t, &pkt);
        g_byte_array_free(r, TRUE);
    }
    g_byte_array_free(q, TRUE);
}

/* Parsing: A, AAAA and MX answers with compressed names, matched to the
 * query by id, ports and addresses. */
static void test_parse_answers(fixture *fx, gconstpointer data)
{
    mx_dns_table *t = mx_dns_table_new();
    static const uint8_t mx_answer[] = {
        0xc0, 0x0c, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, 'm', 'x', 0xc0, 0x0c,
    };
    table_exchange(t, dns_message(42, false, 0, "example.net", MX_DNS_MX, 0, NULL, 0),
                   dns_message(42, true, 0, "example.net", MX_DNS_MX, 1, mx_answer, sizeof mx_answer), 0, 0);
    g_assert_cmpuint(mx_dns_count(t), ==, 1);
    const mx_dns_query *d = mx_dns_get(t, 0);
    g_assert_cmpstr(d->name, ==, "example.net");
    g_assert_cmpuint(d->type, ==, MX_DNS_MX);
    g_assert_true(d->answered);
    g_assert_cmpuint(d->answer.frame, ==, 2);
    g_assert_cmpuint(d->n_mx, ==, 1);
    g_assert_cmpstr(d->mx[0], ==, "mx.example.net");
    mx_dns_table_free(t);
}

/* MX host -> domain, from answered MX look-ups only: the unanswered one
 * (example.org) names nobody. */
static void test_mx_domains(fixture *fx, gconstpointer data)
{
    mx_dns_table *t = mx_dns_table_new();
    static const uint8_t mx_answer[] = {   /* "mx" under the question's name */
        0xc0, 0x0c, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 2, 'm', 'x', 0xc0, 0x0c,
    };
    table_exchange(t, dns_message(1, false, 0, "example.net", MX_DNS_MX, 0, NULL, 0),
                   dns_message(1, true, 0, "example.net", MX_DNS_MX, 1, mx_answer, sizeof mx_answer), 0, 10);
    table_exchange(t, dns_message(2, false, 0, "example.org", MX_DNS_MX, 0, NULL, 0), NULL, 100, 0);
    table_exchange(t, dns_message(3, false, 0, "example.com", MX_DNS_MX, 0, NULL, 0),
                   dns_message(3, true, 0, "example.com", MX_DNS_MX, 1, mx_answer, sizeof mx_answer), 200, 10);
    GHashTable *map = mx_dns_mx_domains(t);
    g_assert_cmpuint(g_hash_table_size(map), ==, 2);
    g_assert_cmpstr(g_hash_table_lookup(map, "mx.example.net"), ==, "example.net");
    g_assert_cmpstr(g_hash_table_lookup(map, "mx.example.com"), ==, "example.com");
    g_hash_table_destroy(map);
    mx_dns_table_free(t);
}

/* Feeds an A look-up of name straight to the table, asked at asked_us and
 * answered with addr took_us later or, when took_us < 0, never. */
static void table_lookup(mx_dns_table *t, uint16_t id, const char *name, const uint8_t addr[4],
                         int64_t asked_us, int64_t took_us)
{
    uint8_t answer[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, addr[0], addr[1], addr[2], addr[3] };
    table_exchange(t, dns_message(id, false, 0, name, MX_DNS_A, 0, NULL, 0),
                   took_us >= 0 ? dns_message(id, true, 0, name, MX_DNS_A, 1, answer, sizeof answer) : NULL,
                   asked_us, took_us);
}

static void table_answer_a(mx_dns_table *t, uint16_t id, const char *name, const uint8_t addr[4])
{
    table_lookup(t, id, name, addr, 0, 0);
}

/* The address index: the newest MX_DNS_NAMES_PER_ADDR names per address,
 * newest first, one entry per name; gone with the ring's records; still
 * right after far more distinct addresses than its pool holds. */
static void test_index(fixture *fx, gconstpointer data)
{
    static const uint8_t server[4] = { 203, 0, 113, 25 };
    mx_addr server_addr = pb_addr(SERVER);
    const mx_dns_query *by[MX_DNS_NAMES_PER_ADDR + 2];
    mx_dns_table *t = mx_dns_table_new();
    for (int i = 0; i < 6; i++) {
        g_autofree char *name = g_strdup_printf("mx%d.example.net", i);
        table_answer_a(t, (uint16_t)(100 + i), name, server);
    }
    table_answer_a(t, 200, "mx3.example.net", server);      /* a retry: no second entry */
    g_assert_cmpuint(mx_dns_answers_for(t, &server_addr, by, G_N_ELEMENTS(by)), ==, MX_DNS_NAMES_PER_ADDR);
    g_assert_cmpstr(by[0]->name, ==, "mx3.example.net");
    g_assert_cmpstr(by[1]->name, ==, "mx5.example.net");
    g_assert_cmpstr(by[2]->name, ==, "mx4.example.net");
    g_assert_cmpstr(by[3]->name, ==, "mx2.example.net");

    /* 40,000 look-ups of distinct addresses: the first ones' records are
     * overwritten in the ring, the pool is swept several times over. */
    for (uint32_t i = 0; i < 40000; i++) {
        uint8_t a[4] = { 198, 18, (uint8_t)(i >> 8), (uint8_t)i };
        table_answer_a(t, (uint16_t)i, "bulk.example.net", a);
    }
    g_assert_cmpuint(mx_dns_answers_for(t, &server_addr, by, G_N_ELEMENTS(by)), ==, 0);
    mx_addr newest = pb_addr("198.18.156.63");              /* i = 39999 */
    mx_addr evicted = pb_addr("198.18.0.1");
    g_assert_cmpuint(mx_dns_answers_for(t, &newest, by, G_N_ELEMENTS(by)), ==, 1);
    g_assert_cmpuint(by[0]->addrs[0].bytes[3], ==, 63);
    g_assert_cmpuint(mx_dns_answers_for(t, &evicted, by, G_N_ELEMENTS(by)), ==, 0);
    mx_dns_table_free(t);
}

/* The suspect search finds exactly what reading every record finds
 * (unanswered, or answered MX_DNS_SLOW_US or later), newest first, across
 * bitmap words and after the ring has wrapped. */
static void test_suspects(fixture *fx, gconstpointer data)
{
    mx_dns_table *t = mx_dns_table_new();
    GRand *rand = g_rand_new_with_seed(7);
    for (uint32_t i = 0; i < MX_DNS_QUERIES + 1000; i++) {
        int r = g_rand_int_range(rand, 0, 10);
        int64_t took = r == 0 ? -1 : r == 1 ? MX_DNS_SLOW_US : r == 2 ? MX_DNS_SLOW_US - 1 : 20000;
        static const uint8_t addr[4] = { 198, 18, 0, 1 };
        table_lookup(t, (uint16_t)i, "a.example.net", addr, (int64_t)i * 10000, took);
    }
    g_rand_free(rand);
    size_t n = mx_dns_count(t), found = 0;
    g_assert_cmpuint(n, ==, MX_DNS_QUERIES);
    size_t k = n;
    for (size_t want = n; want-- > 0;) {
        const mx_dns_query *q = mx_dns_get(t, want);
        if (q->answered && q->answer.ts_us - q->asked.ts_us < MX_DNS_SLOW_US)
            continue;
        k = mx_dns_suspect_before(t, k);
        g_assert_cmpuint(k, ==, want);
        found++;
    }
    g_assert_cmpuint(mx_dns_suspect_before(t, k), ==, MX_DNS_NONE);
    g_assert_cmpuint(found, >, n / 10);
    g_assert_cmpuint(mx_dns_suspect_before(t, 0), ==, MX_DNS_NONE);
    mx_dns_table_free(t);
}

static void test_reverse_names(fixture *fx, gconstpointer data)
{
    char buf[80];
    mx_addr a = pb_addr("203.0.113.25");
    mx_dns_reverse_name(&a, buf, sizeof buf);
    g_assert_cmpstr(buf, ==, "25.113.0.203.in-addr.arpa");
    mx_addr b = pb_addr("2001:db8::1");
    mx_dns_reverse_name(&b, buf, sizeof buf);
    g_assert_cmpstr(buf, ==, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

/* The gateway connects to its own address after DNS pointed a name there:
 * a mail loop, blamed on DNS, with the answer as evidence. */
static void test_self_loop(fixture *fx, gconstpointer data)
{
    static const uint8_t answer[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 10 };
    send_dns(fx, 100 * SEC, false, dns_message(5, false, 0, "mx.loop.example", MX_DNS_A, 0, NULL, 0));
    send_dns(fx, 100100000, true, dns_message(5, true, 0, "mx.loop.example", MX_DNS_A, 1, answer, sizeof answer));
    pb_conv_init(&fx->conv, PB_LINK_ETH, GW, 40002, GW, 25, 1000, 5000, emit, fx);
    pb_conv_handshake(&fx->conv, 101 * SEC, 1000);
    mx_session *s = only_session(fx);
    g_assert_cmpint(s->verdict.kind, ==, MX_KIND_MAIL_LOOP);
    g_assert_cmpint(s->verdict.culprit.role, ==, MX_ROLE_DNS);
    g_assert_cmpint(s->verdict.culprit.confidence, ==, MX_CONFIDENCE_HIGH);
    g_assert_cmpstr(s->verdict.summary->str, ==, "Mail loop: DNS (A mx.loop.example) points at the gateway's own "
                                                 "address 198.51.100.10, so it delivers to itself.");
}

/* Issue 18, wrong outputs 1 and 2: a forged RST refuses the SYN before
 * any packet of the server's own is in the capture, after an unanswered
 * PTR look-up of the server; a later session shows the server's hop.
 * `read` holds the refusal and judges it again before anything counts it:
 * the session, the destination row and its warnings all say firewall,
 * and judging again keeps the dns_timeout warning and its evidence. */
static void test_refusal_judged_again(fixture *fx, gconstpointer data)
{
    mx_analyzer_hold_refusals(fx->an);
    send_dns(fx, 100 * SEC, false, dns_message(0x1234, false, 0, "25.113.0.203.in-addr.arpa", MX_DNS_PTR, 0, NULL, 0));
    pb_conv_syn(&fx->conv, 110 * SEC);                 /* frame 2 */
    pb_conv_rst(&fx->conv, PB_S2C, 110 * SEC + 2000, 63); /* frame 3: hop 2, the server is at hop 3 */
    pb_conv ok;
    pb_conv_init(&ok, PB_LINK_ETH, GW, 40002, SERVER, 25, 9, 10, emit, fx);
    pb_conv_handshake(&ok, 111 * SEC, 20000);          /* frames 4-6 */
    pb_conv_fin(&ok, PB_C2S, 112 * SEC);
    pb_conv_fin(&ok, PB_S2C, 112 * SEC + 1000);
    mx_analyzer_finish(fx->an);
    g_assert_cmpuint(fx->sessions->len, ==, 2);

    mx_report r;
    mx_report_init(&r);
    const mx_session *refused = NULL;
    for (guint i = 0; i < fx->sessions->len; i++) {
        const mx_session *s = g_ptr_array_index(fx->sessions, i);
        mx_report_count(&r, s);
        if (s->verdict.kind == MX_KIND_CONNECT_REFUSED)
            refused = s;
    }
    g_assert_nonnull(refused);
    g_assert_cmpint(refused->verdict.culprit.role, ==, MX_ROLE_FIREWALL);
    g_assert_cmpint(refused->verdict.culprit.hops_from_client, ==, 2);
    g_assert_false(refused->verdict.culprit.has_ip);
    g_assert_nonnull(warning_of(refused, MX_WARN_FORGED_PACKET));
    const mx_warning *w = warning_of(refused, MX_WARN_DNS_TIMEOUT);
    g_assert_nonnull(w);
    g_assert_nonnull(strstr(w->detail, "PTR 25.113.0.203.in-addr.arpa unanswered"));
    /* DNS query, SYN, RST, the baseline's SYN-ACK: in frame order. */
    g_assert_cmpuint(refused->verdict.evidence->len, ==, 4);
    static const uint64_t frames[] = { 1, 2, 3, 5 };
    for (guint i = 0; i < 4; i++)
        g_assert_cmpuint(g_array_index(refused->verdict.evidence, mx_evidence, i).at.frame, ==, frames[i]);

    g_assert_cmpuint(r.destinations->len, ==, 1);
    const mx_destination *d = &g_array_index(r.destinations, mx_destination, 0);
    g_assert_cmpuint(d->forged, ==, 1);
    g_assert_cmpint(d->main_failure, ==, MX_KIND_CONNECT_REFUSED);
    g_assert_cmpint(d->culprit.role, ==, MX_ROLE_FIREWALL);
    mx_report_clear(&r);
}

/* The same connection to itself with no DNS answer in the capture: a local
 * relay or content filter, no mail loop (DESIGN.md, mail_loop). */
static void test_self_no_dns(fixture *fx, gconstpointer data)
{
    pb_conv_init(&fx->conv, PB_LINK_ETH, GW, 40003, GW, 25, 1000, 5000, emit, fx);
    pb_conv_handshake(&fx->conv, 101 * SEC, 1000);
    mx_session *s = only_session(fx);
    g_assert_cmpint(s->verdict.kind, !=, MX_KIND_MAIL_LOOP);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, fixture, NULL, setup, fn, teardown)
    ADD("/dns/parse/mx-answer", test_parse_answers);
    ADD("/dns/parse/reverse-names", test_reverse_names);
    ADD("/dns/parse/mx-domains", test_mx_domains);
    ADD("/dns/parse/hostile", test_hostile);
    ADD("/dns/index/names-per-addr", test_index);
    ADD("/dns/index/suspects", test_suspects);
    ADD("/dns/evidence/ptr-unanswered", test_ptr_unanswered);
    ADD("/dns/evidence/a-slow", test_a_slow);
    ADD("/dns/evidence/unrelated", test_unrelated);
    ADD("/dns/loop/self", test_self_loop);
    ADD("/dns/evidence/refusal-judged-again", test_refusal_judged_again);
    ADD("/dns/loop/self-no-dns", test_self_no_dns);
    return g_test_run();
}
