/* SPDX-License-Identifier: BSD-3-Clause */
/* diagnose.c — connect-phase rules, resets, and the dispatch to SMTP-phase rules.
 *
 * Order matters and follows the packet story: an ICMP error or a RST that
 * answers the SYN ends the story at connect; a SYN-ACK hands it to the
 * SMTP rules; a SYN with no answer at all is a silent drop.
 */
#include "diagnose.h"
#include "diagnose-smtp.h"
#include "dns.h"
#include "hops.h"
#include "smtp.h"

#include <math.h>
#include <string.h>

static double secs(int64_t us) { return (double)us / 1e6; }

/* ---- SYN retry schedules -------------------------------------------------- */

char *mx_describe_syn_schedule(const int64_t *offsets_us, size_t n)
{
    GString *s = g_string_new(NULL);
    if (n == 0)
        return g_string_free(s, FALSE);
    g_string_append(s, "retries at ");
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(s, "%s%.0f", i ? ", " : "", secs(offsets_us[i]));
    g_string_append(s, " s");

    /* Gaps between consecutive SYNs, in seconds. */
    double gap[MX_SYN_TIMES_MAX];
    size_t flat = 0, doubling = 0;
    for (size_t i = 0; i < n && i < MX_SYN_TIMES_MAX; i++) {
        gap[i] = secs(offsets_us[i] - (i ? offsets_us[i - 1] : 0));
        if (fabs(gap[i] - 1.0) < 0.25)
            flat++;
        if (i > 0 && fabs(gap[i] / gap[i - 1] - 2.0) < 0.35)
            doubling++;
    }
    if (flat == n && n >= 2)
        g_string_append(s, ": Linux >= 6.5 retries 1 s apart (tcp_syn_linear_timeouts)");
    else if (flat >= 2 && flat < n && fabs(gap[0] - 1.0) < 0.25)
        g_string_append(s, ": Linux >= 6.5 (1 s apart, then exponential backoff)");
    else if (fabs(gap[0] - 1.0) < 0.25 && (n == 1 || doubling + 1 == n))
        g_string_append(s, ": Linux default backoff (1, 3, 7, 15 s)");
    else if (fabs(gap[0] - 3.0) < 0.5 && (n == 1 || doubling + 1 == n))
        g_string_append(s, ": Windows backoff (3, 9 s)");
    return g_string_free(s, FALSE);
}

/* ---- ICMP ------------------------------------------------------------------ */

static bool icmp_admin_prohibited(bool v6, uint8_t type, uint8_t code)
{
    if (v6)
        return type == MX_ICMP6_UNREACH && (code == 1 || code == 5 || code == 6);
    return type == MX_ICMP_UNREACH && (code == 9 || code == 10 || code == 13);
}

static bool icmp_host_unreachable(bool v6, uint8_t type, uint8_t code)
{
    if (v6)
        return type == MX_ICMP6_UNREACH && code == 3;
    return type == MX_ICMP_UNREACH && (code == 1 || code == 7 || code == 12);
}

static const char *icmp_describe(bool v6, uint8_t type, uint8_t code)
{
    if (v6) {
        if (type == MX_ICMP6_UNREACH) {
            static const char *const names[] = {
                "no route to destination", "communication administratively prohibited",
                "beyond scope of source address", "address unreachable", "port unreachable",
                "source address failed ingress/egress policy", "reject route to destination",
            };
            return code < G_N_ELEMENTS(names) ? names[code] : "destination unreachable";
        }
        if (type == MX_ICMP6_TIME_EXCEEDED)
            return "hop limit exceeded in transit";
        if (type == MX_ICMP6_PARAM_PROBLEM)
            return "parameter problem";
        return "ICMPv6 error";
    }
    if (type == MX_ICMP_UNREACH) {
        static const char *const names[] = {
            "net unreachable", "host unreachable", "protocol unreachable", "port unreachable",
            "fragmentation needed", "source route failed", "destination network unknown",
            "destination host unknown", "source host isolated", "network administratively prohibited",
            "host administratively prohibited", "network unreachable for TOS",
            "host unreachable for TOS", "communication administratively prohibited",
            "host precedence violation", "precedence cutoff in effect",
        };
        return code < G_N_ELEMENTS(names) ? names[code] : "destination unreachable";
    }
    if (type == MX_ICMP_TIME_EXCEEDED)
        return "TTL exceeded in transit (a routing loop or too long a path)";
    if (type == MX_ICMP_PARAM_PROBLEM)
        return "parameter problem";
    if (type == MX_ICMP_SOURCE_QUENCH)
        return "source quench";
    if (type == MX_ICMP_REDIRECT)
        return "redirect";
    return "ICMP error";
}

/* What an MTA's connect() most likely reported for this ICMP error
 * (Linux maps admin-prohibited to EHOSTUNREACH). */
static const char *icmp_mta_status(bool v6, uint8_t type, uint8_t code)
{
    if ((v6 && type == MX_ICMP6_UNREACH && code == 0) || (!v6 && type == MX_ICMP_UNREACH && (code == 0 || code == 6 || code == 11)))
        return "450 4.4.1 Network is unreachable";
    if ((v6 && type == MX_ICMP6_UNREACH && code == 4) || (!v6 && type == MX_ICMP_UNREACH && (code == 2 || code == 3)))
        return "450 4.4.1 Connection refused";
    return "450 4.4.1 No route to host";
}

static void rule_icmp(const mx_flow *f, mx_verdict *v, mx_phase phase)
{
    char src[MX_ADDR_BUF], server[MX_ADDR_BUF];
    mx_addr_str(&f->icmp_src, src, sizeof src);
    mx_addr_str(&f->key.server, server, sizeof server);
    bool v6 = f->icmp_v6;
    const char *what = icmp_describe(v6, f->icmp_type, f->icmp_code);
    int hop = mx_hop_of_ttl(f->icmp_ttl);
    bool from_server = mx_addr_equal(&f->icmp_src, &f->key.server);
    int64_t after_syn = f->syn_count ? f->icmp.ts_us - f->syn[0].ts_us : -1;
    bool phase_connect = phase == MX_PHASE_CONNECT;

    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_ICMP_UNREACHABLE, phase, MX_ROLE_PATH, MX_CONFIDENCE_HIGH);
    mx_verdict_culprit_ip(v, &f->icmp_src, hop);
    g_string_assign(v->mta_status, icmp_mta_status(v6, f->icmp_type, f->icmp_code));

    if (from_server) {
        v->culprit.role = MX_ROLE_SERVER;
        g_string_printf(v->summary, "%s itself answered %s with ICMP %s.", server,
                        phase_connect ? "the SYN" : "the session", what);
        g_string_assign(v->advice, "The server's own host refuses the connection: ask its postmaster "
                        "whether the MTA listens on this port and whether its host firewall rejects the gateway.");
    } else if (icmp_admin_prohibited(v6, f->icmp_type, f->icmp_code)) {
        v->culprit.role = MX_ROLE_FIREWALL;
        g_string_printf(v->summary, "A firewall at %s (hop %d) rejects connections to %s port %u: ICMP %s.",
                        src, hop, server, f->key.server_port, what);
        g_string_printf(v->advice, "Ask whoever runs %s to allow outbound TCP port %u from the gateway to %s; "
                        "the ICMP error names the device, so no further search is needed.",
                        src, f->key.server_port, server);
    } else if (icmp_host_unreachable(v6, f->icmp_type, f->icmp_code) && after_syn >= MX_ICMP_ARP_FAILED_US) {
        /* A router queues the SYN while it asks for the next hop's MAC
         * address; Linux gives up after 3 s of ARP/ND: nothing answers on
         * the server's own LAN, so the server (or its address) is down. */
        v->culprit.role = MX_ROLE_SERVER;
        v->culprit.confidence = MX_CONFIDENCE_MEDIUM;
        g_string_printf(v->summary, "%s is down or gone: its last router %s (hop %d) reported host unreachable "
                        "%.1f s after the SYN, the time an ARP/ND request takes to fail.",
                        server, src, hop, secs(after_syn));
        g_string_printf(v->advice, "Check that %s is up and still owns that address (MX and A records may point at a "
                        "decommissioned host); the network up to %s works.", server, src);
    } else if (icmp_host_unreachable(v6, f->icmp_type, f->icmp_code) && after_syn >= 0) {
        /* A real ARP failure takes seconds; an answer within the round
         * trip is a rule that rejects (REJECT --reject-with icmp-host-unreachable). */
        v->culprit.role = MX_ROLE_FIREWALL;
        v->culprit.confidence = MX_CONFIDENCE_MEDIUM;
        g_string_printf(v->summary, "%s (hop %d) answered the SYN to %s at once (%.0f ms) with ICMP %s: "
                        "a reject rule, not a failed ARP look-up.", src, hop, server, secs(after_syn) * 1000, what);
        g_string_printf(v->advice, "Check the firewall rules on %s for outbound TCP port %u to %s.",
                        src, f->key.server_port, server);
    } else {
        g_string_printf(v->summary, "Router %s (hop %d) cannot reach %s: ICMP %s.", src, hop, server, what);
        g_string_printf(v->advice, "Check the routes on %s (and the gateway's own routing) towards %s; "
                        "the error names the router, so start there.", src, server);
    }
    char ep[MX_ADDR_BUF + 8];
    if (f->syn_count > 0)
        mx_verdict_evidence(v, &f->syn[0], "SYN to %s", mx_addr_endpoint(&f->key.server, f->key.server_port, ep,
                                                                         sizeof ep));
    mx_verdict_evidence(v, &f->icmp, "ICMP %s from %s (TTL %u: hop %d) quoting the connection's packet",
                        what, src, f->icmp_ttl, hop);
}

/* ---- connect phase ---------------------------------------------------------- */

static void rule_syn_timeout(const mx_flow *f, mx_verdict *v, const mx_diagnose_ctx *ctx)
{
    char server[MX_ADDR_BUF];
    mx_addr_str(&f->key.server, server, sizeof server);
    size_t kept = f->syn_count < MX_SYN_TIMES_MAX ? f->syn_count : MX_SYN_TIMES_MAX;
    const mx_frame_ref *first = &f->syn[0], *last = &f->syn[kept - 1];
    int64_t waited = (ctx->capture_end_us > f->last_ts ? ctx->capture_end_us : f->last_ts) - first->ts_us;
    bool gave_up = f->dir[MX_DIR_C2S].fin.frame || f->dir[MX_DIR_C2S].rst.frame;
    char ep[MX_ADDR_BUF + 8];

    /* One SYN and the capture ends before a retry was due: too early to tell. */
    if (f->syn_count < 2 && waited < MX_SYN_TOO_EARLY_US && !gave_up) {
        mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_CONNECT, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
        g_string_printf(v->summary, "SYN to %s sent %.1f s before the capture ends; no answer yet.", server, secs(waited));
        mx_verdict_evidence(v, first, "SYN to %s", mx_addr_endpoint(&f->key.server, f->key.server_port, ep, sizeof ep));
        return;
    }
    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_SYN_TIMEOUT, MX_PHASE_CONNECT, MX_ROLE_PATH, MX_CONFIDENCE_MEDIUM);
    int64_t offsets[MX_SYN_TIMES_MAX] = {0};
    for (size_t i = 1; i < kept; i++)
        offsets[i - 1] = f->syn[i].ts_us - first->ts_us;
    g_autofree char *schedule = mx_describe_syn_schedule(offsets, kept - 1);
    /* One SYN: the time waited is until the client gave up or the capture ended. */
    int64_t span = kept > 1 ? last->ts_us - first->ts_us : waited;
    g_string_printf(v->summary, "No answer to %u SYN%s over %.0f s: something between the gateway and %s "
                    "drops connections to port %u.", f->syn_count, f->syn_count == 1 ? "" : "s",
                    secs(span), server, f->key.server_port);
    g_string_printf(v->advice, "Check firewall rules and routes for outbound TCP port %u to %s; a silent drop names "
                    "no hop from one vantage point: run `mxray probe %s` to find the last hop that answers.",
                    f->key.server_port, server, server);
    mx_verdict_evidence(v, first, "SYN to %s (TTL %u)", mx_addr_endpoint(&f->key.server, f->key.server_port, ep, sizeof ep),
                        f->syn_ttl);
    if (kept > 1)
        mx_verdict_evidence(v, last, "SYN #%u (%s); nothing came back", f->syn_count, schedule);
}

/* The SYN and the RST that answered it: facts that do not change when
 * the refusal is judged again. */
static void refusal_evidence(mx_session *out)
{
    mx_verdict *v = &out->verdict;
    char server[MX_ADDR_BUF], ep[MX_ADDR_BUF + 8];
    mx_addr_str(&out->server_ip, server, sizeof server);
    mx_verdict_evidence(v, &out->refusal.syn, "SYN to %s", mx_addr_endpoint(&out->server_ip, out->server_port, ep, sizeof ep));
    mx_verdict_evidence(v, &out->refusal.rst, "RST from %s (TTL %u: hop %d)", server, out->refusal.rst_ttl,
                        mx_hop_of_ttl(out->refusal.rst_ttl));
}

/* Only the client's packets are in the capture (asymmetric routing, a SPAN
 * port or a filter of one direction), yet its ACKs prove the handshake and
 * the server's answers: a client in SYN-SENT sends no ACK, and each rise of
 * its ACK number acknowledges bytes the server sent.  What the server said
 * is not in the capture: the outcome is unknown, never "no answer". */
static bool one_sided(const mx_flow *f, int seen)
{
    return f->dir[!seen].packets == 0 && f->dir[seen].ack_known && f->icmp_count == 0;
}

/* Without the 354 the parser cannot tell the body from commands: a DATA
 * (or BDAT) still waiting is what the client shows of its message. */
static bool client_sent_data(const struct mx_smtp *s)
{
    bool sent = s && (s->msg.dot_seen || s->msg.bdat_last_sent || s->msg.mode != MX_SMTP_XFER_NONE);
    for (guint i = 0; s && s->pending && i < s->pending->len && !sent; i++) {
        mx_smtp_verb verb = g_array_index(s->pending, mx_smtp_cmd, i).verb;
        sent = verb == MX_SMTP_DATA || verb == MX_SMTP_BDAT || verb == MX_SMTP_END_OF_DATA;
    }
    return sent;
}

static mx_phase client_reached(const struct mx_smtp *s)
{
    if (s == NULL)
        return MX_PHASE_GREETING;
    if (s->quit_sent)
        return MX_PHASE_QUIT;
    if (s->msg.dot_seen || s->msg.bdat_last_sent)
        return MX_PHASE_DATA_END;
    if (client_sent_data(s))
        return MX_PHASE_DATA;
    if (s->tls.requested)
        return MX_PHASE_TLS;
    if (s->rcpt_commands)
        return MX_PHASE_RCPT;
    if (s->mail_commands)
        return MX_PHASE_MAIL;
    if (s->n_helo)
        return MX_PHASE_EHLO;
    return MX_PHASE_GREETING;
}

static void rule_one_sided(const mx_flow *f, mx_verdict *v)
{
    const mx_dir_state *c = &f->dir[MX_DIR_C2S];
    const struct mx_smtp *s = f->smtp;
    char server[MX_ADDR_BUF], ep[MX_ADDR_BUF + 8];
    mx_addr_str(&f->key.server, server, sizeof server);
    uint32_t answered = c->max_ack - c->first_ack;
    mx_phase phase = client_reached(s);
    mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, phase, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    mx_verdict_warn(v, MX_WARN_ONE_SIDED_CAPTURE, "no packet from %s is in the capture, but the client "
                    "acknowledged its SYN-ACK and %u bytes it sent after: only the client's direction was captured",
                    server, answered);
    g_string_printf(v->summary, "Only the gateway's side of this session is in the capture: its ACKs show that %s "
                    "answered the handshake and sent %u bytes, none of them captured", server, answered);
    if (client_sent_data(s) && s->quit_sent)
        g_string_append(v->summary, "; the client sent DATA, the message and then QUIT, as a client does once "
                        "the server has answered the end of data, but whether that answer accepted the message "
                        "only the server's packets can show.");
    else if (s && s->commands)
        g_string_append_printf(v->summary, "; the client went as far as %s; the server's replies are not in the "
                               "capture, so the outcome is unknown.", mx_phase_name(phase));
    else
        g_string_append(v->summary, "; the outcome is unknown.");
    g_string_assign(v->advice, "Capture both directions: on an interface that carries the server's replies too "
                    "(with asymmetric routing, on both paths), or both directions of a SPAN port; then run mxray "
                    "again on that capture.");
    if (f->syn_count > 0)
        mx_verdict_evidence(v, &f->syn[0], "SYN to %s", mx_addr_endpoint(&f->key.server, f->key.server_port, ep,
                                                                         sizeof ep));
    mx_verdict_evidence(v, &c->first_ack_at, "the client acknowledges a SYN-ACK that is not in the capture");
    if (answered > 1 && c->max_ack_at.frame != c->first_ack_at.frame)
        mx_verdict_evidence(v, &c->max_ack_at, "the client's ACK reaches %u bytes of the server's data (not in "
                            "the capture)", answered);
}

/* The mirror case: only the server's packets, its ACKs proving the client's
 * commands.  Its replies cannot be paired with commands nobody saw. */
static void rule_one_sided_server(const mx_flow *f, mx_verdict *v)
{
    const mx_dir_state *s = &f->dir[MX_DIR_S2C];
    const struct mx_smtp *m = f->smtp;
    char server[MX_ADDR_BUF];
    mx_addr_str(&f->key.server, server, sizeof server);
    uint32_t sent = s->max_ack - s->first_ack;
    mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    mx_verdict_warn(v, MX_WARN_ONE_SIDED_CAPTURE, "no packet from the client is in the capture, but %s "
                    "acknowledged %u bytes from it: only the server's direction was captured", server, sent);
    g_string_printf(v->summary, "Only %s's side of this session is in the capture: its ACKs show the client sent "
                    "%u bytes, none of them captured", server, sent);
    const mx_smtp_reply *last = m && m->replies && m->replies->len
                                ? &g_array_index(m->replies, mx_smtp_reply, m->replies->len - 1) : NULL;
    if (last && last->text)
        g_string_append_printf(v->summary, "; the server's last reply is \"%s\", but without the client's commands "
                               "the replies cannot be paired, so the outcome is unknown.", last->text);
    else
        g_string_append(v->summary, "; the outcome is unknown.");
    g_string_assign(v->advice, "Capture both directions: on an interface that carries the gateway's packets too "
                    "(with asymmetric routing, on both paths), or both directions of a SPAN port; then run mxray "
                    "again on that capture.");
    mx_verdict_evidence(v, &s->first_ack_at, "%s answers a SYN that is not in the capture", server);
    if (sent > 0 && s->max_ack_at.frame != s->first_ack_at.frame)
        mx_verdict_evidence(v, &s->max_ack_at, "the server's ACK reaches %u bytes of the client's data (not in "
                            "the capture)", sent);
}

/* A RST answering the SYN: the server's, unless it comes from fewer hops
 * than the server's own packets elsewhere in the capture.  Judging again
 * (mx_diagnose_refine) rewrites only what this owns: outcome, kind, phase,
 * culprit, summary, advice, status, and adds the baseline's evidence and
 * the forged_packet warning; other rules' warnings and evidence (DNS,
 * eviction) stay. */
static void judge_refused(mx_session *out, const mx_hop_baselines *baselines)
{
    mx_verdict *v = &out->verdict;
    char server[MX_ADDR_BUF];
    mx_addr_str(&out->server_ip, server, sizeof server);
    int rst_hop = mx_hop_of_ttl(out->refusal.rst_ttl);
    int server_hop = 0;
    mx_frame_ref seen = {0};
    bool known = mx_hop_baselines_get(baselines, &out->server_ip, &server_hop, &seen);
    out->refusal.baseline_known = known;

    v->culprit = (mx_culprit){0};
    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_CONNECT_REFUSED, MX_PHASE_CONNECT, MX_ROLE_SERVER, MX_CONFIDENCE_HIGH);
    if (known && rst_hop < server_hop) {
        v->culprit.role = MX_ROLE_FIREWALL;
        v->culprit.hops_from_client = rst_hop;
        mx_verdict_warn(v, MX_WARN_FORGED_PACKET, "RST claiming %s arrived from hop %d; the server's own SYN-ACKs "
                        "come from hop %d", server, rst_hop, server_hop);
        mx_verdict_evidence(v, &seen, "SYN-ACK from %s at hop %d: the server's own distance", server, server_hop);
        g_string_printf(v->summary, "A firewall at hop %d refuses connections to %s port %u in the server's name: "
                        "its RST arrives %d hop%s closer than the server's own packets.", rst_hop, server,
                        out->server_port, server_hop - rst_hop, server_hop - rst_hop == 1 ? "" : "s");
        g_string_printf(v->advice, "Find the firewall %d hop%s from the gateway (`mxray probe %s` names it) and the "
                        "rule that rejects TCP port %u to %s with a reset.", rst_hop, rst_hop == 1 ? "" : "s",
                        server, out->server_port, server);
    } else if (known) {
        mx_verdict_culprit_ip(v, &out->server_ip, rst_hop);
        mx_verdict_evidence(v, &seen, "SYN-ACK from %s at hop %d", server, server_hop);
        g_string_printf(v->summary, "%s refused the connection to port %u: its RST comes from the server's own "
                        "distance (hop %d).", server, out->server_port, rst_hop);
        g_string_printf(v->advice, "Nothing accepts connections on %s port %u right now (the MTA is down, restarting, "
                        "or refusing by connection limits): check it is the right MX host, or ask its postmaster.",
                        server, out->server_port);
    } else {
        /* No packet the server surely sent: the hop model cannot tell a
         * closed port from a firewall's reset in its name. */
        mx_verdict_culprit_ip(v, &out->server_ip, rst_hop);
        v->culprit.confidence = MX_CONFIDENCE_LOW;
        g_string_printf(v->summary, "A RST from hop %d answered the SYN to %s port %u. No packet in the capture surely "
                        "came from the server itself, so whether the server refused or a firewall reset in its "
                        "name is uncertain.", rst_hop, server, out->server_port);
        g_string_printf(v->advice, "Run `mxray probe %s`: it finds the hop the RST comes from. If that is the server's "
                        "own hop, check that the MTA runs and this is the right MX host; if it is nearer, find the "
                        "firewall rule that rejects TCP port %u.", server, out->server_port);
    }
}

void mx_diagnose_refused_by_probe(mx_session *s, int forger_hop, const mx_addr *forger_ip, int server_hop)
{
    if (!s->refusal.refused || forger_hop <= 0)
        return;
    mx_verdict *v = &s->verdict;
    char server[MX_ADDR_BUF], fw[MX_ADDR_BUF] = "";
    mx_addr_str(&s->server_ip, server, sizeof server);
    if (forger_ip)
        mx_addr_str(forger_ip, fw, sizeof fw);
    s->refusal.baseline_known = true;
    v->culprit.role = MX_ROLE_FIREWALL;
    v->culprit.confidence = MX_CONFIDENCE_HIGH;
    mx_verdict_culprit_ip(v, forger_ip, forger_hop);
    mx_verdict_warn(v, MX_WARN_FORGED_PACKET, "the TTL ladder drew this RST from hop %d while the server is "
                    "at hop %d or farther", forger_hop, server_hop);
    g_string_printf(v->summary, "A firewall at hop %d%s%s%s refuses connections to %s port %u in the server's "
                    "name: the probe's TTL ladder drew its RST from hop %d, nearer than the server.", forger_hop,
                    fw[0] ? " (" : "", fw, fw[0] ? ")" : "", server, s->server_port, forger_hop);
    g_string_printf(v->advice, "Find the rule on the firewall at hop %d%s%s that rejects TCP port %u to %s with a "
                    "reset.", forger_hop, fw[0] ? ", " : "", fw, s->server_port, server);
}

static gint evidence_cmp(gconstpointer a, gconstpointer b);

void mx_diagnose_refine(mx_session *s, const mx_hop_baselines *baselines)
{
    if (s->refusal.refused && !s->refusal.baseline_known) {
        judge_refused(s, baselines);
        g_array_sort(s->verdict.evidence, evidence_cmp);
    }
}

/* ---- after the handshake ------------------------------------------------- */

/* Did frame a come before frame b?  Frame numbers count within one file;
 * across rotated files (merged in time order) only the times compare. */
static bool frame_before(const mx_frame_ref *a, const mx_frame_ref *b)
{
    if (a->file_index == b->file_index)
        return a->frame < b->frame;
    return a->ts_us < b->ts_us;
}

/* A RST that claims the server's address is forged when it breaks what the
 * server's own packets show (Weaver, Sommer and Paxson, "Detecting Forged
 * TCP Reset Packets", NDSS 2009): it comes from fewer hops, its IP ID does
 * not continue the server's counter, or the server keeps talking after
 * "its" RST.  The hop is the strongest sign and names where the forger is. */
static void rule_reset(const mx_flow *f, mx_verdict *v, int server_hop)
{
    const mx_dir_state *s = &f->dir[MX_DIR_S2C];
    char server[MX_ADDR_BUF];
    mx_addr_str(&f->key.server, server, sizeof server);
    int rst_hop = mx_hop_of_ttl(s->rst_ttl);
    mx_phase phase = v->phase == MX_PHASE_NONE ? MX_PHASE_GREETING : v->phase;
    /* The SMTP rule's facts told a different story (a stall, a client
     * giving up); the reset is the story now.  Its warnings still hold. */
    for (guint i = 0; i < v->evidence->len; i++)
        g_free(g_array_index(v->evidence, mx_evidence, i).fact);
    g_array_set_size(v->evidence, 0);
    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_RESET, phase, MX_ROLE_SERVER, MX_CONFIDENCE_MEDIUM);
    mx_verdict_evidence(v, &f->synack, "SYN-ACK from %s (TTL %u: hop %d)", server, f->synack_ttl, server_hop);
    if (f->dir[MX_DIR_C2S].last_data.frame && frame_before(&f->dir[MX_DIR_C2S].last_data, &s->rst))
        mx_verdict_evidence(v, &f->dir[MX_DIR_C2S].last_data, "last data from the client before the reset");
    mx_verdict_evidence(v, &s->rst, "RST from %s (TTL %u: hop %d)", server, s->rst_ttl, rst_hop);

    bool nearer = server_hop > 0 && rst_hop < server_hop;
    bool talked_after = s->after_rst.frame != 0;
    mx_ipid_kind ipid = mx_ipid_classify(s->rst_prev_samples, s->ip_id_zero, s->ip_id_small_step);
    uint16_t ipid_step = (uint16_t)(s->rst_ip_id - s->rst_prev_ip_id);
    bool ipid_breaks = s->rst_has_ip_id && ipid == MX_IPID_COUNTER && (ipid_step == 0 || ipid_step > MX_IPID_STEP_MAX);
    GString *why = g_string_new(NULL);
    if (nearer)
        g_string_append_printf(why, "it arrived from hop %d while the server's own packets come from hop %d",
                               rst_hop, server_hop);
    if (ipid_breaks) {
        g_string_append_printf(why, "%sits IP ID %u does not continue the server's counter (last %u)",
                               why->len ? "; " : "", s->rst_ip_id, s->rst_prev_ip_id);
        mx_verdict_evidence(v, &s->rst, "IP ID %u where the server's counter stood at %u", s->rst_ip_id,
                            s->rst_prev_ip_id);
    }
    if (talked_after) {
        g_string_append_printf(why, "%sthe server went on sending after it", why->len ? "; " : "");
        mx_verdict_evidence(v, &s->after_rst, "the server still talks after the RST: it never sent it");
    }
    if (s->rst_seq_rising > 0)
        mx_verdict_evidence(v, &s->rst, "%u more RSTs with rising sequence numbers followed (an injector "
                            "covering the receive window)", s->rst_seq_rising);

    /* A broken IP ID alone is not enough: a kernel answering for a socket
     * that is already gone sends its RST with a fresh ID too. */
    if (nearer || talked_after) {
        int signs = nearer + ipid_breaks + talked_after;
        v->culprit.role = MX_ROLE_FIREWALL;
        v->culprit.confidence = nearer || signs >= 2 ? MX_CONFIDENCE_HIGH : MX_CONFIDENCE_MEDIUM;
        v->culprit.has_ip = false;
        v->culprit.hops_from_client = nearer ? rst_hop : 0;
        mx_verdict_warn(v, MX_WARN_FORGED_PACKET, "RST claiming %s was forged: %s", server, why->str);
        if (nearer)
            g_string_printf(v->summary, "A middlebox at hop %d reset the session in %s's name during %s: its RST "
                            "arrived %d hop%s closer than the server's own packets.", rst_hop, server,
                            mx_phase_name(phase), server_hop - rst_hop, server_hop - rst_hop == 1 ? "" : "s");
        else
            g_string_printf(v->summary, "A middlebox reset the session in %s's name during %s: %s.", server,
                            mx_phase_name(phase), why->str);
        g_string_assign(v->advice, "A firewall or IPS that inspects SMTP resets the connection: disable SMTP/ESMTP "
                        "inspection or content scanning for the gateway's outbound mail (Cisco ASA `inspect esmtp`, "
                        "PIX mailguard, Check Point SMTP security server), or find the rule that matched.");
    } else {
        mx_verdict_culprit_ip(v, &f->key.server, rst_hop);
        g_string_printf(v->summary, "%s reset the session during %s; the RST matches the server's own packets "
                        "(hop %d).", server, mx_phase_name(phase), rst_hop);
    }
    g_string_free(why, TRUE);
}

static int server_hop_of(const mx_flow *f)
{
    const mx_dir_state *s = &f->dir[MX_DIR_S2C];
    if (f->synack_count > 0)
        return mx_hop_of_ttl(f->synack_ttl);
    if (s->ttl_known)
        return mx_hop_of_ttl(s->ttl_max);
    return 0;
}

static void fill_tcp(mx_session *out, const mx_flow *f, int server_hop)
{
    g_strlcpy(out->tcp.history, f->history, sizeof out->tcp.history);
    out->tcp.syn_count = f->syn_count;
    out->tcp.has_rtt = f->rtt_us >= 0;
    out->tcp.rtt_ms = f->rtt_us >= 0 ? round((double)f->rtt_us / 100.0) / 10.0 : 0;
    out->tcp.retransmits_client = f->dir[MX_DIR_C2S].retransmits;
    out->tcp.retransmits_server = f->dir[MX_DIR_S2C].retransmits;
    out->tcp.ttl_client = f->dir[MX_DIR_C2S].ttl_known ? f->dir[MX_DIR_C2S].ttl_first : -1;
    out->tcp.ttl_server = f->dir[MX_DIR_S2C].ttl_known ? f->dir[MX_DIR_S2C].ttl_first : -1;
    out->tcp.server_hop = server_hop;
}

static gint evidence_cmp(gconstpointer a, gconstpointer b)
{
    const mx_evidence *x = a, *y = b;
    if (x->at.file_index != y->at.file_index)
        return x->at.file_index < y->at.file_index ? -1 : 1;
    return x->at.frame < y->at.frame ? -1 : x->at.frame > y->at.frame;
}

static void fill_identity(mx_session *out, const mx_flow *f)
{
    out->id = f->id;
    out->client_ip = f->key.client;
    out->server_ip = f->key.server;
    out->client_port = f->key.client_port;
    out->server_port = f->key.server_port;
    out->start_us = f->first_ts;
    out->end_us = f->last_ts;
    out->first_frame = f->first_frame;
}

/* After the handshake: the SMTP rules tell the story; a RST from the
 * server's side or an ICMP error that ends a failed story takes over. */
static void judge_session(const mx_flow *f, mx_verdict *v, int server_hop, int64_t capture_end_us)
{
    const mx_dir_state *s = &f->dir[MX_DIR_S2C];
    bool decided = mx_diagnose_smtp(f, capture_end_us, v);
    bool unfinished = !decided || v->outcome == MX_OUTCOME_FAILED || v->outcome == MX_OUTCOME_INCOMPLETE;
    if (s->rst.frame != 0 && unfinished) {
        rule_reset(f, v, server_hop);
    } else if (f->icmp_count > 0 && unfinished) {
        rule_icmp(f, v, v->phase);
    } else if (!decided && !f->saw_syn) {
        mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
        g_string_assign(v->summary, "The capture starts in the middle of this session; what it shows decides nothing.");
        mx_verdict_evidence(v, &f->first_frame, "first packet of the session in the capture");
    }
}

/* ---- path quality ---------------------------------------------------------- */

/* retransmissions / slow_path: the path is poor even when the session
 * gets through (MTAs then log slow deliveries, not failures). */
static void note_path_quality(mx_session *out, const mx_flow *f)
{
    uint32_t retrans = 0, segments = 0;
    for (int d = 0; d < 2; d++) {
        const mx_dir_state *ds = &f->dir[d];
        uint32_t syn_retries = d == MX_DIR_C2S && f->syn_count > 1 ? f->syn_count - 1 : 0;
        retrans += ds->retransmits - (ds->retransmits >= syn_retries ? syn_retries : ds->retransmits);
        segments += ds->data_segments;
    }
    if (retrans >= MX_RETRANS_WARN_COUNT || (segments >= MX_RETRANS_WARN_MIN_SEGMENTS && retrans * 100 >= segments * MX_RETRANS_WARN_PERCENT)) {
        mx_verdict_warn(&out->verdict, MX_WARN_RETRANSMISSIONS, "%u of %u data segments were sent again "
                        "(client %u, server %u): packets are lost on the path", retrans, segments,
                        out->tcp.retransmits_client - (f->syn_count > 1 ? f->syn_count - 1 : 0),
                        out->tcp.retransmits_server);
        mx_verdict_evidence(&out->verdict, &f->dir[MX_DIR_C2S].last_retransmit, "retransmission");
    }
    if (f->rtt_us >= MX_SLOW_PATH_RTT_US)
        mx_verdict_warn(&out->verdict, MX_WARN_SLOW_PATH, "round-trip time %.0f ms (SYN to SYN-ACK)",
                        (double)f->rtt_us / 1000.0);
}

/* ---- DNS evidence ------------------------------------------------------------ */

/* The names answered look-ups in the capture gave the server's address,
 * newest first: what "a look-up about this session" is matched against. */
typedef struct server_names {
    const mx_dns_query *by[MX_DNS_NAMES_PER_ADDR];
    size_t n;
} server_names;

static bool is_server_name(const server_names *names, const char *name)
{
    for (size_t i = 0; i < names->n; i++)
        if (strcmp(names->by[i]->name, name) == 0)
            return true;
    return false;
}

/* The name of the newest answered A/AAAA look-up that gave addr, or NULL. */
static const char *name_of(const mx_dns_table *t, const mx_addr *addr)
{
    const mx_dns_query *by[MX_DNS_NAMES_PER_ADDR];
    size_t n = mx_dns_answers_for(t, addr, by, G_N_ELEMENTS(by));
    for (size_t i = 0; i < n; i++)
        if (by[i]->type == MX_DNS_A || by[i]->type == MX_DNS_AAAA)
            return by[i]->name;
    return NULL;
}

/* Is this look-up about the session: the server's or the gateway's PTR,
 * a name that resolves to the server, an MX pointing at such a name, or
 * the gateway's own EHLO name? */
static bool dns_about_session(const server_names *names, const mx_dns_query *q, const mx_session *out,
                              const char *rev_server, const char *rev_client)
{
    if (q->type == MX_DNS_PTR)
        return strcmp(q->name, rev_server) == 0 || strcmp(q->name, rev_client) == 0;
    if (out->smtp.helo && g_ascii_strcasecmp(q->name, out->smtp.helo) == 0)
        return true;
    if (q->type == MX_DNS_A || q->type == MX_DNS_AAAA)
        return is_server_name(names, q->name);
    if (q->type == MX_DNS_MX)
        for (int k = 0; k < q->n_mx; k++)
            if (is_server_name(names, q->mx[k]))
                return true;
    return false;
}

static const char *dns_type_name(uint16_t type)
{
    switch (type) {
    case MX_DNS_A: return "A";
    case MX_DNS_AAAA: return "AAAA";
    case MX_DNS_MX: return "MX";
    case MX_DNS_PTR: return "PTR";
    default: return "query";
    }
}

/* dns_timeout: look-ups about this session that went unanswered or were
 * answered only after seconds, within the 60 s before its first packet
 * or during it.  A warning only: the session's own packets decide its
 * outcome and culprit (DESIGN.md). */
static void note_dns(mx_session *out, const mx_diagnose_ctx *ctx)
{
    const mx_dns_table *t = ctx->dns;
    if (t == NULL || mx_dns_count(t) == 0)
        return;
    char rev_server[80] = "", rev_client[80], resolver[64] = "";
    server_names names = { .n = 0 };
    int64_t now = ctx->capture_end_us;
    uint32_t unanswered = 0, slow = 0, shown = 0;
    GString *detail = g_string_new(NULL);
    /* Newest first, stopping at the window's start: the ring is in the
     * order queries were asked, so a session looks at its own minute only,
     * and at the look-ups that were slow or unanswered only. */
    for (size_t k = mx_dns_count(t); (k = mx_dns_suspect_before(t, k)) != MX_DNS_NONE;) {
        const mx_dns_query *q = mx_dns_get(t, k);
        if (q->asked.ts_us < out->start_us - MX_DNS_WINDOW_US)
            break;
        if (q->asked.ts_us > out->end_us)
            continue;
        int64_t took = q->answered ? q->answer.ts_us - q->asked.ts_us : now - q->asked.ts_us;
        bool lost = !q->answered && took >= MX_DNS_TIMEOUT_US;
        bool late = q->answered && took >= MX_DNS_SLOW_US;
        if (!lost && !late)
            continue;
        if (rev_server[0] == '\0') {   /* the first candidate: what it is matched against */
            mx_dns_reverse_name(&out->server_ip, rev_server, sizeof rev_server);
            mx_dns_reverse_name(&out->client_ip, rev_client, sizeof rev_client);
            names.n = mx_dns_answers_for(t, &out->server_ip, names.by, G_N_ELEMENTS(names.by));
        }
        if (!dns_about_session(&names, q, out, rev_server, rev_client))
            continue;
        unanswered += lost;
        slow += late;
        mx_addr_str(&q->resolver, resolver, sizeof resolver);
        if (shown++ < 3) {
            if (lost)
                mx_verdict_evidence(&out->verdict, &q->asked, "DNS %s %s to %s: no answer", dns_type_name(q->type),
                                    q->name, resolver);
            else
                mx_verdict_evidence(&out->verdict, &q->asked, "DNS %s %s to %s: answered after %.1f s",
                                    dns_type_name(q->type), q->name, resolver, secs(took));
        }
        g_autofree char *item = g_strdup_printf("%s %s %s", dns_type_name(q->type), q->name,
                                                lost ? "unanswered" : "slow");
        if (!strstr(detail->str, item))  /* resolver retries repeat the same look-up */
            g_string_append_printf(detail, "%s%s", detail->len ? "; " : "", item);
    }
    if (unanswered + slow > 0)
        mx_verdict_warn(&out->verdict, MX_WARN_DNS_TIMEOUT, "%u look-up%s about this session unanswered and %u slow "
                        "(resolver %s): %s", unanswered, unanswered == 1 ? "" : "s", slow, resolver, detail->str);
    g_string_free(detail, TRUE);
}

/* A DNS answer in the capture that points a name at the gateway itself. */
static const mx_dns_query *dns_points_at(const mx_dns_table *t, const mx_addr *addr)
{
    for (size_t i = 0, n = t ? mx_dns_count(t) : 0; i < n; i++) {
        const mx_dns_query *q = mx_dns_get(t, i);
        for (int k = 0; q->answered && k < q->n_addrs; k++)
            if (mx_addr_equal(&q->addrs[k], addr))
                return q;
    }
    return NULL;
}

/* The gateway connected to its own address and a DNS answer in the capture
 * points there: the mail comes back to it.  A connection to itself with no
 * such answer is a local relay or content filter (Postfix's
 * 127.0.0.1:10025, amavis), judged like any other session; and a session
 * that delivered or ended cleanly is never a loop (DESIGN.md, mail_loop). */
static bool rule_self_loop(const mx_flow *f, mx_session *out, const mx_diagnose_ctx *ctx)
{
    mx_verdict *v = &out->verdict;
    if (!mx_addr_equal(&f->key.client, &f->key.server) ||
        v->outcome == MX_OUTCOME_DELIVERED || v->outcome == MX_OUTCOME_OK)
        return false;
    const mx_dns_query *q = dns_points_at(ctx->dns, &f->key.client);
    if (!q)
        return false;
    char self[MX_ADDR_BUF];
    mx_addr_str(&f->key.client, self, sizeof self);
    mx_verdict_clear(v);
    mx_verdict_init(v);
    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_MAIL_LOOP, f->synack_count > 0 ? MX_PHASE_GREETING : MX_PHASE_CONNECT,
                   MX_ROLE_DNS, MX_CONFIDENCE_HIGH);
    mx_verdict_culprit_ip(v, &f->key.client, 0);
    mx_verdict_evidence(v, &f->first_frame, "connection from %s to its own address", self);
    mx_verdict_evidence(v, &q->answer, "DNS %s %s answered %s: the gateway's own address",
                        dns_type_name(q->type), q->name, self);
    g_string_printf(v->summary, "Mail loop: DNS (%s %s) points at the gateway's own address %s, so it "
                    "delivers to itself.", dns_type_name(q->type), q->name, self);
    g_string_assign(v->advice, "Fix the destination domain's MX/A records so they do not resolve to the "
                    "gateway's own address.");
    return true;
}

mx_session *mx_diagnose(const mx_flow *f, const mx_diagnose_ctx *ctx)
{
    mx_session *out = mx_session_new();
    mx_verdict *v = &out->verdict;
    const mx_dir_state *s = &f->dir[MX_DIR_S2C];
    int server_hop = server_hop_of(f);
    fill_identity(out, f);
    fill_tcp(out, f, server_hop);
    mx_session_fill_smtp(out, f->smtp);
    if (f->ladder)
        mx_session_fill_ladder(out, f->ladder);

    /* Connected: a SYN-ACK, or the server talks: the capture began
     * mid-session, or lost the SYN-ACK (a busy capture drops frames; a
     * server that answers was reached, whatever the capture missed). */
    /* After a SYN, only server data counts: a bare ACK may be a challenge
     * ACK (RFC 5961) to a SYN that met a stale connection. */
    bool synack_not_captured = f->saw_syn && f->synack_count == 0 && s->first_data.frame != 0;
    bool connected = f->synack_count > 0 || synack_not_captured || (!f->saw_syn && s->packets > s->rst_count);
    if (one_sided(f, MX_DIR_S2C) && f->synack_count > 0) {
        rule_one_sided_server(f, v);
    } else if (connected) {
        judge_session(f, v, server_hop, ctx->capture_end_us);
    } else if (one_sided(f, MX_DIR_C2S)) {
        rule_one_sided(f, v);
    } else if (f->icmp_count > 0) {
        rule_icmp(f, v, MX_PHASE_CONNECT);
    } else if (s->rst.frame != 0 && f->syn_count > 0) {
        out->refusal.refused = true;
        out->refusal.syn = f->syn[0];
        out->refusal.rst = s->rst;
        out->refusal.rst_ttl = s->rst_ttl;
        refusal_evidence(out);
        judge_refused(out, ctx->baselines);
    } else if (f->syn_count > 0) {
        rule_syn_timeout(f, v, ctx);
    } else {
        mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
        g_string_assign(v->summary, "Only the client's side of a session already under way is in the capture.");
        mx_verdict_evidence(v, &f->first_frame, "first packet of the session in the capture");
    }
    if (synack_not_captured && connected)
        mx_verdict_evidence(v, &s->first_data, "the server's first data: it was reached, but its SYN-ACK is not "
                            "in the capture (dropped by the capture, not by the path)");
    rule_self_loop(f, out, ctx);
    if (f->frag_needed.frame)
        mx_verdict_evidence(v, &f->frag_needed, "ICMP fragmentation needed: the path's MTU is %u bytes",
                            f->frag_needed_mtu);
    note_dns(out, ctx);
    const char *name = name_of(ctx->dns, &out->server_ip);
    out->server_name = mx_session_strdup(out, name);
    if (f->synack_count > 0)
        note_path_quality(out, f);
    if (f->evicted)
        mx_verdict_evidence(v, &f->last_frame, "flow table full: judged early on what was seen so far");
    g_array_sort(v->evidence, evidence_cmp);
    return out;
}
