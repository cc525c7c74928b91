/* SPDX-License-Identifier: BSD-3-Clause */
/* test-diagnose.c — connect-phase rules and RST origin, driven through the flow table.
 *
 * Each case plays a short packet story with pb_conv into the analyzer as
 * `mxray read` wires it (the pb_feed fixture) and checks the verdict exactly:
 * outcome, kind, phase, culprit (role, ip, hop, confidence), mta_status,
 * warnings and evidence frames.
 */
#include <string.h>

#include "diagnose.h"
#include "pktbuild.h"

#define CLIENT "198.51.100.10"
#define SERVER "203.0.113.25"
#define CLIENT6 "2001:db8:1::10"
#define SERVER6 "2001:db8:2::25"
#define ROUTER1 "198.51.100.1"
#define ROUTER2 "198.18.0.2"

typedef struct fixture {
    pb_feed feed;
    pb_conv conv;
    mx_session *placeholder;     /* stands in for a missing session once a check failed */
} fixture;

static void setup(fixture *fx, gconstpointer data)
{
    (void)data;
    fx->placeholder = NULL;
    pb_feed_init(&fx->feed, NULL, 0, 0, true);
    pb_conv_init(&fx->conv, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 1000, 5000, pb_feed_emit, &fx->feed);
}

static void setup_v6(fixture *fx, gconstpointer data)
{
    (void)data;
    fx->placeholder = NULL;
    pb_feed_init(&fx->feed, NULL, 0, 0, true);
    pb_conv_init(&fx->conv, PB_LINK_ETH, CLIENT6, 40001, SERVER6, 25, 1000, 5000, pb_feed_emit, &fx->feed);
}

static void teardown(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_feed_clear(&fx->feed);
    mx_session_free(fx->placeholder);
}

/* Assertions are non-fatal (every case reports): lookups that fail hand
 * back an empty session rather than reading past an array. */
static const mx_session *placeholder(fixture *fx)
{
    if (fx->placeholder == NULL)
        fx->placeholder = mx_session_new();
    return fx->placeholder;
}

/* End of input; the one session there is. */
static const mx_session *judge(fixture *fx)
{
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(fx->feed.sessions->len, ==, 1);
    return fx->feed.sessions->len ? g_ptr_array_index(fx->feed.sessions, 0) : placeholder(fx);
}

static void assert_verdict(const mx_session *s, mx_outcome outcome, mx_kind kind, mx_phase phase,
                           mx_role role, mx_confidence confidence)
{
    const mx_verdict *v = &s->verdict;
    g_assert_cmpstr(mx_outcome_name(v->outcome), ==, mx_outcome_name(outcome));
    g_assert_cmpstr(mx_kind_name(v->kind), ==, mx_kind_name(kind));
    g_assert_cmpstr(mx_phase_name(v->phase), ==, mx_phase_name(phase));
    g_assert_cmpstr(mx_role_name(v->culprit.role), ==, mx_role_name(role));
    g_assert_cmpstr(mx_confidence_name(v->culprit.confidence), ==, mx_confidence_name(confidence));
}

/* ip NULL: no culprit address.  hops 0: unknown. */
static void assert_culprit(const mx_session *s, const char *ip, int hops)
{
    const mx_culprit *c = &s->verdict.culprit;
    if (ip) {
        char buf[64];
        g_assert_true(c->has_ip);
        g_assert_cmpstr(mx_addr_str(&c->ip, buf, sizeof buf), ==, ip);
    } else {
        g_assert_false(c->has_ip);
    }
    g_assert_cmpint(c->hops_from_client, ==, hops);
}

static void assert_evidence_frames(const mx_session *s, const uint64_t *frames, guint n)
{
    const GArray *ev = s->verdict.evidence;
    GString *got = g_string_new(NULL);
    for (guint i = 0; i < ev->len; i++)
        g_string_append_printf(got, "%s%" G_GUINT64_FORMAT, i ? "," : "", g_array_index(ev, mx_evidence, i).at.frame);
    GString *want = g_string_new(NULL);
    for (guint i = 0; i < n; i++)
        g_string_append_printf(want, "%s%" G_GUINT64_FORMAT, i ? "," : "", frames[i]);
    g_assert_cmpstr(got->str, ==, want->str);
    g_string_free(got, TRUE);
    g_string_free(want, TRUE);
}

static const char *evidence_fact(const mx_session *s, guint i)
{
    g_assert_cmpuint(i, <, s->verdict.evidence->len);
    return i < s->verdict.evidence->len ? g_array_index(s->verdict.evidence, mx_evidence, i).fact : "";
}

static const mx_session *session_on_port(fixture *fx, uint16_t port)
{
    for (guint i = 0; i < fx->feed.sessions->len; i++)
        if (pb_feed_session(&fx->feed, i)->client_port == port)
            return pb_feed_session(&fx->feed, i);
    g_test_fail_printf("no session from client port %u", port);
    return placeholder(fx);
}

#define FRAMES(...) (const uint64_t[]){ __VA_ARGS__ }, G_N_ELEMENTS(((const uint64_t[]){ __VA_ARGS__ }))

/* ---- SYN timeouts ----------------------------------------------------------------------- */

static void test_syn_timeout_linux(fixture *fx, gconstpointer data)
{
    (void)data;
    static const int secs[] = { 0, 1, 3, 7 };
    for (size_t i = 0; i < G_N_ELEMENTS(secs); i++)
        pb_conv_syn(&fx->conv, PB_S(secs[i]));
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_SYN_TIMEOUT, MX_PHASE_CONNECT, MX_ROLE_PATH, MX_CONFIDENCE_MEDIUM);
    assert_culprit(s, NULL, 0);
    g_assert_cmpstr(s->verdict.mta_status->str, ==, "450 4.4.1 Connection timed out");
    g_assert_cmpstr(s->verdict.summary->str, ==,
                    "No answer to 4 SYNs over 7 s: something between the gateway and 203.0.113.25 "
                    "drops connections to port 25.");
    assert_evidence_frames(s, FRAMES(1, 4));
    g_assert_cmpstr(evidence_fact(s, 0), ==, "SYN to 203.0.113.25:25 (TTL 64)");
    g_assert_cmpstr(evidence_fact(s, 1), ==,
                    "SYN #4 (retries at 1, 3, 7 s: Linux default backoff (1, 3, 7, 15 s)); nothing came back");
    g_assert_cmpuint(s->verdict.warnings->len, ==, 0);
    g_assert_cmpuint(s->tcp.syn_count, ==, 4);
    g_assert_cmpstr(s->tcp.history, ==, "S");
    g_assert_true(mx_session_failed(s));
}

static void test_syn_timeout_flat(fixture *fx, gconstpointer data)
{
    (void)data;
    for (int i = 0; i <= 4; i++)
        pb_conv_syn(&fx->conv, PB_S(i));
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_SYN_TIMEOUT, MX_PHASE_CONNECT, MX_ROLE_PATH, MX_CONFIDENCE_MEDIUM);
    assert_evidence_frames(s, FRAMES(1, 5));
    g_assert_cmpstr(evidence_fact(s, 1), ==,
                    "SYN #5 (retries at 1, 2, 3, 4 s: Linux >= 6.5 retries 1 s apart (tcp_syn_linear_timeouts)); "
                    "nothing came back");
    g_assert_cmpstr(s->verdict.mta_status->str, ==, "450 4.4.1 Connection timed out");
}

/* IPv6 endpoints in facts need brackets: "2001:db8:2::25:25" reads as an address. */
static void test_syn_timeout_v6_endpoint(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_syn(&fx->conv, PB_S(1));
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_SYN_TIMEOUT, MX_PHASE_CONNECT, MX_ROLE_PATH, MX_CONFIDENCE_MEDIUM);
    g_assert_cmpstr(evidence_fact(s, 0), ==, "SYN to [2001:db8:2::25]:25 (TTL 64)");
}

/* The capture lost the SYN-ACK (a busy capture drops frames) but the server
 * greets and the message is accepted: it was reached, no SYN timed out. */
static void drop_frame(void *ctx, const pb_frame *f, int64_t ts_us)
{
    (void)ctx, (void)f, (void)ts_us;
}

static void test_synack_not_captured(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    fx->conv.emit = drop_frame;
    pb_conv_synack(&fx->conv, PB_MS(10));
    fx->conv.emit = pb_feed_emit;
    pb_conv_ack(&fx->conv, PB_C2S, PB_MS(11));
    pb_conv_send(&fx->conv, PB_S2C, PB_MS(20), "220 mx.example.net ESMTP\r\n");
    pb_conv_exchange(&fx->conv, PB_MS(30), "EHLO gw.example.com\r\n", "250 mx.example.net\r\n", PB_MS(1));
    pb_conv_exchange(&fx->conv, PB_MS(40), "QUIT\r\n", "221 2.0.0 Bye\r\n", PB_MS(1));
    pb_conv_fin(&fx->conv, PB_S2C, PB_MS(50));
    pb_conv_fin(&fx->conv, PB_C2S, PB_MS(51));
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_OK, MX_KIND_OK, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_HIGH);
    g_assert_cmpuint(s->verdict.mta_status->len, ==, 0);
    g_assert_cmpstr(evidence_fact(s, 0), ==, "the server's first data: it was reached, but its SYN-ACK is not "
                    "in the capture (dropped by the capture, not by the path)");
    assert_evidence_frames(s, FRAMES(3));
}

/* One SYN and the capture ends: too early to say. */
static void test_single_syn_at_end(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, PB_S(5));
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_CONNECT, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    assert_culprit(s, NULL, 0);
    assert_evidence_frames(s, FRAMES(1));
    g_assert_false(mx_session_failed(s));
    g_assert_cmpuint(s->verdict.mta_status->len, ==, 0);
}

/* One SYN, and the capture goes on for 5 s more with no answer: a timeout,
 * and the summary must not claim it waited 0 s. */
static void test_single_syn_then_silence(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv other;
    pb_conv_init(&other, PB_LINK_ETH, CLIENT, 40002, "203.0.113.26", 25, 9, 10, pb_feed_emit, &fx->feed);
    pb_conv_syn(&other, PB_S(5));
    pb_conv_synack(&other, PB_S(5) + PB_MS(10));
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(fx->feed.sessions->len, ==, 2);
    const mx_session *s = session_on_port(fx, 40001);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_SYN_TIMEOUT, MX_PHASE_CONNECT, MX_ROLE_PATH, MX_CONFIDENCE_MEDIUM);
    assert_evidence_frames(s, FRAMES(1));
    g_assert_null(strstr(s->verdict.summary->str, "over 0 s"));
}

/* ---- refused ---------------------------------------------------------------------------- */

/* A lone refusal: no packet the server surely sent, so who sent the RST is uncertain. */
static void test_connect_refused(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_rst(&fx->conv, PB_S2C, PB_MS(21), 0);
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_CONNECT_REFUSED, MX_PHASE_CONNECT, MX_ROLE_SERVER, MX_CONFIDENCE_LOW);
    assert_culprit(s, SERVER, 3);
    g_assert_cmpstr(s->verdict.mta_status->str, ==, "450 4.4.1 Connection refused");
    assert_evidence_frames(s, FRAMES(1, 2));
    g_assert_cmpstr(evidence_fact(s, 1), ==, "RST from 203.0.113.25 (TTL 62: hop 3)");
    g_assert_cmpstr(s->tcp.history, ==, "Sr");
    g_assert_false(mx_verdict_has_warning(&s->verdict, MX_WARN_FORGED_PACKET));
}

/* Another session to the same server shows its own distance (SYN-ACK at
 * TTL 62: hop 3).  rst_ttl 62: the server refused; 63: a firewall at hop 2
 * forged the refusal.  later: the baseline session comes after the refusal. */
static void refused_with_baseline(fixture *fx, uint8_t rst_ttl, bool later)
{
    pb_conv ok;
    pb_conv_init(&ok, PB_LINK_ETH, CLIENT, 40002, SERVER, 25, 9, 10, pb_feed_emit, &fx->feed);
    int64_t t_ok = later ? PB_S(10) : 0, t_refused = later ? 0 : PB_S(10);
    if (!later)
        pb_conv_handshake(&ok, t_ok, PB_MS(20));      /* frames 1-3 */
    pb_conv_syn(&fx->conv, t_refused);
    pb_conv_rst(&fx->conv, PB_S2C, t_refused + PB_MS(2), rst_ttl);
    if (later)
        pb_conv_handshake(&ok, t_ok, PB_MS(20));      /* frames 3-5 */
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(fx->feed.sessions->len, ==, 2);
}

static void test_refused_by_server(fixture *fx, gconstpointer data)
{
    (void)data;
    refused_with_baseline(fx, 62, false);
    const mx_session *s = session_on_port(fx, 40001);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_CONNECT_REFUSED, MX_PHASE_CONNECT, MX_ROLE_SERVER, MX_CONFIDENCE_HIGH);
    assert_culprit(s, SERVER, 3);
    g_assert_false(mx_verdict_has_warning(&s->verdict, MX_WARN_FORGED_PACKET));
    assert_evidence_frames(s, FRAMES(2, 4, 5));
}

static void test_refused_forged(fixture *fx, gconstpointer data)
{
    (void)data;
    refused_with_baseline(fx, 63, false);
    const mx_session *s = session_on_port(fx, 40001);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_CONNECT_REFUSED, MX_PHASE_CONNECT, MX_ROLE_FIREWALL, MX_CONFIDENCE_HIGH);
    assert_culprit(s, NULL, 2);
    g_assert_true(mx_verdict_has_warning(&s->verdict, MX_WARN_FORGED_PACKET));
    assert_evidence_frames(s, FRAMES(2, 4, 5));
    g_assert_cmpstr(evidence_fact(s, 2), ==, "RST from 203.0.113.25 (TTL 63: hop 2)");
}

static void test_refused_forged_baseline_later(fixture *fx, gconstpointer data)
{
    (void)data;
    refused_with_baseline(fx, 63, true);
    const mx_session *s = session_on_port(fx, 40001);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_CONNECT_REFUSED, MX_PHASE_CONNECT, MX_ROLE_FIREWALL, MX_CONFIDENCE_HIGH);
    assert_culprit(s, NULL, 2);
    g_assert_true(mx_verdict_has_warning(&s->verdict, MX_WARN_FORGED_PACKET));
    assert_evidence_frames(s, FRAMES(1, 2, 4));
}

/* ---- ICMP -------------------------------------------------------------------------------- */

typedef struct icmp_case {
    const char *path;
    bool v6;
    const char *from;            /* NULL: the server itself */
    uint8_t ttl, type, code;
    int64_t after_syn;
    mx_role role;
    mx_confidence confidence;
    int hop;
    const char *mta_status;
} icmp_case;

static const icmp_case icmp_cases[] = {
    { "/diagnose/icmp/admin-prohibited-hop2", false, ROUTER2, 63, 3, 13, PB_MS(2),
      MX_ROLE_FIREWALL, MX_CONFIDENCE_HIGH, 2, "450 4.4.1 No route to host" },
    { "/diagnose/icmp/host-admin-prohibited", false, ROUTER2, 254, 3, 10, PB_MS(2),
      MX_ROLE_FIREWALL, MX_CONFIDENCE_HIGH, 2, "450 4.4.1 No route to host" },
    { "/diagnose/icmp/net-unreachable-hop1", false, ROUTER1, 64, 3, 0, 400,
      MX_ROLE_PATH, MX_CONFIDENCE_HIGH, 1, "450 4.4.1 Network is unreachable" },
    { "/diagnose/icmp/net-unreachable-cisco-hop1", false, ROUTER1, 255, 3, 0, 400,
      MX_ROLE_PATH, MX_CONFIDENCE_HIGH, 1, "450 4.4.1 Network is unreachable" },
    { "/diagnose/icmp/host-unreachable-immediate", false, ROUTER2, 63, 3, 1, PB_MS(2),
      MX_ROLE_FIREWALL, MX_CONFIDENCE_MEDIUM, 2, "450 4.4.1 No route to host" },
    { "/diagnose/icmp/host-unreachable-after-arp", false, ROUTER2, 63, 3, 1, PB_MS(3050),
      MX_ROLE_SERVER, MX_CONFIDENCE_MEDIUM, 2, "450 4.4.1 No route to host" },
    { "/diagnose/icmp/port-unreachable-from-server", false, NULL, 62, 3, 3, PB_MS(20),
      MX_ROLE_SERVER, MX_CONFIDENCE_HIGH, 3, "450 4.4.1 Connection refused" },
    { "/diagnose/icmp/v6-admin-prohibited", true, "2001:db8:ff::2", 63, 1, 1, PB_MS(2),
      MX_ROLE_FIREWALL, MX_CONFIDENCE_HIGH, 2, "450 4.4.1 No route to host" },
    { "/diagnose/icmp/v6-no-route-hop1", true, "2001:db8:1::1", 64, 1, 0, 300,
      MX_ROLE_PATH, MX_CONFIDENCE_HIGH, 1, "450 4.4.1 Network is unreachable" },
    { "/diagnose/icmp/v6-address-unreachable-after-nd", true, "2001:db8:ff::2", 63, 1, 3, PB_MS(3020),
      MX_ROLE_SERVER, MX_CONFIDENCE_MEDIUM, 2, "450 4.4.1 No route to host" },
    { "/diagnose/icmp/v6-port-unreachable-from-server", true, NULL, 62, 1, 4, PB_MS(20),
      MX_ROLE_SERVER, MX_CONFIDENCE_HIGH, 3, "450 4.4.1 Connection refused" },
};

static void test_icmp(fixture *fx, gconstpointer data)
{
    const icmp_case *ic = data;
    const char *server = ic->v6 ? SERVER6 : SERVER;
    const char *from = ic->from ? ic->from : server;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_icmp(&fx->conv, ic->after_syn, from, ic->ttl, ic->type, ic->code);
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_ICMP_UNREACHABLE, MX_PHASE_CONNECT, ic->role, ic->confidence);
    /* DESIGN.md: an ICMP error's culprit.ip is its source. */
    assert_culprit(s, from, ic->hop);
    g_assert_cmpstr(s->verdict.mta_status->str, ==, ic->mta_status);
    assert_evidence_frames(s, FRAMES(1, 2));
    g_autofree char *ttl_fact = g_strdup_printf("(TTL %u: hop %d)", ic->ttl, ic->hop);
    g_assert_nonnull(strstr(evidence_fact(s, 1), ttl_fact));
    g_assert_nonnull(strstr(evidence_fact(s, 1), from));
}

static void test_icmp_admin_summary(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_icmp(&fx->conv, PB_MS(2), ROUTER2, 63, 3, 13);
    const mx_session *s = judge(fx);
    g_assert_cmpstr(s->verdict.summary->str, ==,
                    "A firewall at 198.18.0.2 (hop 2) rejects connections to 203.0.113.25 port 25: "
                    "ICMP communication administratively prohibited.");
    g_assert_cmpstr(evidence_fact(s, 0), ==, "SYN to 203.0.113.25:25");
    g_assert_cmpstr(evidence_fact(s, 1), ==,
                    "ICMP communication administratively prohibited from 198.18.0.2 (TTL 63: hop 2) "
                    "quoting the connection's packet");
}

/* An ICMP error wins over the SYN timeout it ends. */
static void test_icmp_after_retries(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_syn(&fx->conv, PB_S(1));
    pb_conv_syn(&fx->conv, PB_S(3));
    pb_conv_icmp(&fx->conv, PB_MS(3002), ROUTER2, 63, 3, 13);
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_ICMP_UNREACHABLE, MX_PHASE_CONNECT, MX_ROLE_FIREWALL, MX_CONFIDENCE_HIGH);
    assert_evidence_frames(s, FRAMES(1, 4));
}

/* ---- resets after the handshake -------------------------------------------------------------- */

static void connect_and_mail(pb_conv *c)
{
    pb_conv_handshake(c, 0, PB_MS(20));
    pb_conv_exchange(c, PB_MS(40), NULL, "220 mx.example.net ESMTP Postfix\r\n", 0);
    pb_conv_exchange(c, PB_MS(50), "EHLO gw.example.org\r\n", "250-mx.example.net\r\n250 8BITMIME\r\n", PB_MS(20));
    pb_conv_send(c, PB_C2S, PB_MS(80), "MAIL FROM:<alice@example.org>\r\n");   /* frame 9 */
}

static void test_reset_forged(fixture *fx, gconstpointer data)
{
    (void)data;
    connect_and_mail(&fx->conv);
    pb_conv_rst(&fx->conv, PB_S2C, PB_MS(82), 63);                        /* frame 10 */
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_RESET, MX_PHASE_MAIL, MX_ROLE_FIREWALL, MX_CONFIDENCE_HIGH);
    assert_culprit(s, NULL, 2);
    g_assert_true(mx_verdict_has_warning(&s->verdict, MX_WARN_FORGED_PACKET));
    g_assert_cmpuint(s->verdict.warnings->len, ==, 1);
    const mx_warning *w = &g_array_index(s->verdict.warnings, mx_warning, 0);
    g_assert_true(g_str_has_prefix(w->detail, "RST claiming 203.0.113.25 "));
    g_assert_nonnull(strstr(w->detail, "hop 2"));
    g_assert_nonnull(strstr(w->detail, "hop 3"));
    g_assert_cmpstr(s->verdict.mta_status->str, ==, "451 4.4.2 Connection reset by peer");
    /* The SYN-ACK (the server's baseline) and the RST are the proof. */
    const GArray *ev = s->verdict.evidence;
    bool synack = false, rst = false;
    for (guint i = 0; i < ev->len; i++) {
        uint64_t frame = g_array_index(ev, mx_evidence, i).at.frame;
        synack = synack || frame == 2;
        rst = rst || frame == 10;
    }
    g_assert_true(synack);
    g_assert_true(rst);
    g_assert_cmpint(s->tcp.server_hop, ==, 3);
}

static void test_reset_genuine(fixture *fx, gconstpointer data)
{
    (void)data;
    connect_and_mail(&fx->conv);
    pb_conv_rst(&fx->conv, PB_S2C, PB_MS(100), 0);
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_FAILED, MX_KIND_RESET, MX_PHASE_MAIL, MX_ROLE_SERVER, MX_CONFIDENCE_MEDIUM);
    assert_culprit(s, SERVER, 3);
    g_assert_false(mx_verdict_has_warning(&s->verdict, MX_WARN_FORGED_PACKET));
    g_assert_cmpstr(s->verdict.mta_status->str, ==, "451 4.4.2 Connection reset by peer");
}

/* ---- the SYN schedule text --------------------------------------------------------------- */

typedef struct schedule_case {
    const char *path;
    int64_t offsets_ms[8];
    size_t n;
    const char *text;
} schedule_case;

static const schedule_case schedule_cases[] = {
    { "/diagnose/syn-schedule/none", { 0 }, 0, "" },
    { "/diagnose/syn-schedule/one-retry", { 1000 }, 1, "retries at 1 s: Linux default backoff (1, 3, 7, 15 s)" },
    { "/diagnose/syn-schedule/linux-classic", { 1000, 3000, 7000, 15000 }, 4,
      "retries at 1, 3, 7, 15 s: Linux default backoff (1, 3, 7, 15 s)" },
    { "/diagnose/syn-schedule/linux-classic-jitter", { 1010, 3030, 7070 }, 3,
      "retries at 1, 3, 7 s: Linux default backoff (1, 3, 7, 15 s)" },
    { "/diagnose/syn-schedule/linux-linear", { 1000, 2000, 3000, 4000 }, 4,
      "retries at 1, 2, 3, 4 s: Linux >= 6.5 retries 1 s apart (tcp_syn_linear_timeouts)" },
    { "/diagnose/syn-schedule/linux-linear-then-backoff", { 1000, 2000, 3000, 4000, 5000, 7000 }, 6,
      "retries at 1, 2, 3, 4, 5, 7 s: Linux >= 6.5 (1 s apart, then exponential backoff)" },
    { "/diagnose/syn-schedule/windows", { 3000, 9000 }, 2, "retries at 3, 9 s: Windows backoff (3, 9 s)" },
    { "/diagnose/syn-schedule/unknown", { 5000, 10000, 15000 }, 3, "retries at 5, 10, 15 s" },
};

static void test_schedule(gconstpointer data)
{
    const schedule_case *sc = data;
    int64_t us[8];
    for (size_t i = 0; i < sc->n; i++)
        us[i] = sc->offsets_ms[i] * 1000;
    g_autofree char *text = mx_describe_syn_schedule(us, sc->n);
    g_assert_cmpstr(text, ==, sc->text);
}

/* A capture of the client's direction only (SPAN of one direction,
 * asymmetric routing): the server's frames are never fed.  Frame numbers
 * still count them, as the conversation numbers its own frames. */
static void emit_client_only(void *ctx, const pb_frame *f, int64_t ts_us)
{
    if (f->data[f->l3 + 12] == 198)      /* IPv4 source 198.51.100.10: the client */
        pb_feed_emit(ctx, f, ts_us);
}

static void test_one_sided(fixture *fx, gconstpointer data)
{
    (void)data;
    fx->conv.emit = emit_client_only;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_exchange(&fx->conv, PB_MS(20), NULL, "220 mx.example.net ESMTP\r\n", 0);
    pb_conv_exchange(&fx->conv, PB_MS(30), "EHLO gw.example.org\r\n", "250 mx.example.net\r\n", PB_MS(10));
    pb_conv_exchange(&fx->conv, PB_MS(50), "MAIL FROM:<a@gw.example.org>\r\n", "250 2.1.0 Ok\r\n", PB_MS(10));
    const mx_session *s = judge(fx);
    assert_verdict(s, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_MAIL, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    g_assert_true(mx_verdict_has_warning(&s->verdict, MX_WARN_ONE_SIDED_CAPTURE));
    g_assert_nonnull(strstr(s->verdict.summary->str, "sent 60 bytes"));   /* 26 + 20 + 14 */
    g_assert_null(strstr(s->verdict.summary->str, "SYN"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* One wrong field should not hide the other cases' results. */
    g_test_set_nonfatal_assertions();
#define ADD(path, fn) g_test_add(path, fixture, NULL, setup, fn, teardown)
    ADD("/diagnose/syn-timeout/linux-backoff", test_syn_timeout_linux);
    ADD("/diagnose/one-sided/client-only", test_one_sided);
    ADD("/diagnose/syn-timeout/linux-linear", test_syn_timeout_flat);
    g_test_add("/diagnose/syn-timeout/ipv6-endpoint", fixture, NULL, setup_v6, test_syn_timeout_v6_endpoint, teardown);
    ADD("/diagnose/syn-timeout/single-syn-at-capture-end", test_single_syn_at_end);
    ADD("/diagnose/syn-timeout/single-syn-then-silence", test_single_syn_then_silence);
    ADD("/diagnose/syn-timeout/synack-not-captured", test_synack_not_captured);
    ADD("/diagnose/refused/no-baseline", test_connect_refused);
    ADD("/diagnose/refused/server-at-its-own-hop", test_refused_by_server);
    ADD("/diagnose/refused/forged-one-hop-closer", test_refused_forged);
    ADD("/diagnose/refused/forged-baseline-later", test_refused_forged_baseline_later);
    for (size_t i = 0; i < G_N_ELEMENTS(icmp_cases); i++)
        g_test_add(icmp_cases[i].path, fixture, &icmp_cases[i], icmp_cases[i].v6 ? setup_v6 : setup, test_icmp, teardown);
    ADD("/diagnose/icmp/admin-prohibited-words", test_icmp_admin_summary);
    ADD("/diagnose/icmp/after-syn-retries", test_icmp_after_retries);
    ADD("/diagnose/reset/forged-one-hop-closer", test_reset_forged);
    ADD("/diagnose/reset/genuine", test_reset_genuine);
#undef ADD
    for (size_t i = 0; i < G_N_ELEMENTS(schedule_cases); i++)
        g_test_add_data_func(schedule_cases[i].path, &schedule_cases[i], test_schedule);
    return g_test_run();
}
