/* SPDX-License-Identifier: BSD-3-Clause */
/* test-flow.c — the flow table: direction, handshake, retransmissions, close, history,
 * ICMP matching, port reuse, eviction, expiry, byte counts.
 *
 * Every test drives the table with pb_conv through the pb_feed fixture
 * (decode + table), then reads the live flow or the copies taken when
 * flows finished.  Frame numbers are the order of feeding, from 1.
 */
#include <string.h>

#include "pktbuild.h"

#define CLIENT "198.51.100.10"
#define SERVER "203.0.113.25"
#define CLIENT6 "2001:db8:1::10"
#define SERVER6 "2001:db8:2::25"
#define ROUTER "198.18.0.2"

typedef struct fixture {
    pb_feed feed;
    pb_conv conv;
} fixture;

static void setup(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_feed_init(&fx->feed, NULL, 0, 0, false);
    pb_conv_init(&fx->conv, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 1000, 5000, pb_feed_emit, &fx->feed);
}

static void setup_small_table(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_feed_init(&fx->feed, NULL, 0, 2, false);
    pb_conv_init(&fx->conv, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 1000, 5000, pb_feed_emit, &fx->feed);
}

static void teardown(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_feed_clear(&fx->feed);
}

static mx_flow *finished(fixture *fx, guint i)
{
    g_assert_cmpuint(i, <, fx->feed.finished->len);
    return &g_array_index(fx->feed.finished, mx_flow, i);
}

/* Finishes everything and returns the one flow there was. */
static mx_flow *finish_one(fixture *fx)
{
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    return finished(fx, 0);
}

static void assert_addr(const mx_addr *a, const char *text)
{
    char buf[64];
    g_assert_cmpstr(mx_addr_str(a, buf, sizeof buf), ==, text);
}

/* ---- direction -------------------------------------------------------------------- */

static void test_direction_by_port(fixture *fx, gconstpointer data)
{
    (void)data;
    /* The server speaks first (mid-session): still the server. */
    fx->conv.syn_sent[0] = fx->conv.syn_sent[1] = true;
    fx->conv.next_seq[0] = 1001, fx->conv.next_seq[1] = 5001;
    pb_conv_send(&fx->conv, PB_S2C, 0, "250 2.1.0 Ok\r\n");
    mx_flow *f = finish_one(fx);
    assert_addr(&f->key.client, CLIENT);
    assert_addr(&f->key.server, SERVER);
    g_assert_cmpuint(f->key.client_port, ==, 40001);
    g_assert_cmpuint(f->key.server_port, ==, 25);
    g_assert_cmpuint(f->dir[MX_DIR_S2C].packets, ==, 1);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].packets, ==, 0);
    g_assert_false(f->saw_syn);
}

static void test_untracked_port(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv c;
    pb_conv_init(&c, PB_LINK_ETH, CLIENT, 40001, SERVER, 80, 1, 2, pb_feed_emit, &fx->feed);
    pb_conv_handshake(&c, 0, PB_MS(10));
    g_assert_cmpuint(mx_flow_table_active(fx->feed.table), ==, 0);
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->flows, ==, 0);
}

static void test_extra_ports(void)
{
    static const uint16_t ports[] = { 25, 587 };
    pb_feed feed;
    pb_feed_init(&feed, ports, 2, 0, false);
    g_assert_true(mx_flow_table_port_tracked(feed.table, 587));
    g_assert_false(mx_flow_table_port_tracked(feed.table, 465));
    pb_conv c;
    pb_conv_init(&c, PB_LINK_ETH, CLIENT, 40001, SERVER, 587, 1, 2, pb_feed_emit, &feed);
    pb_conv_syn(&c, 0);
    g_assert_cmpuint(mx_flow_table_active(feed.table), ==, 1);
    pb_feed_finish(&feed);
    g_assert_cmpuint(g_array_index(feed.finished, mx_flow, 0).key.server_port, ==, 587);
    pb_feed_clear(&feed);
}

/* ---- handshake ---------------------------------------------------------------------- */

static void test_handshake(fixture *fx, gconstpointer data)
{
    (void)data;
    fx->conv.mss[PB_S2C] = 1400;
    pb_conv_handshake(&fx->conv, PB_S(1), PB_MS(20));
    mx_flow *f = finish_one(fx);
    g_assert_true(f->saw_syn);
    g_assert_cmpuint(f->syn_count, ==, 1);
    g_assert_cmpuint(f->syn[0].frame, ==, 1);
    g_assert_cmpint(f->syn[0].ts_us, ==, PB_S(1));
    g_assert_cmpuint(f->syn_ttl, ==, 64);
    g_assert_cmpuint(f->synack_count, ==, 1);
    g_assert_cmpuint(f->synack.frame, ==, 2);
    g_assert_cmpuint(f->synack_ttl, ==, 62);
    g_assert_cmpuint(f->established.frame, ==, 3);
    g_assert_cmpint(f->rtt_us, ==, PB_MS(20));
    g_assert_cmpuint(f->dir[MX_DIR_C2S].isn, ==, 1000);
    g_assert_cmpuint(f->dir[MX_DIR_S2C].isn, ==, 5000);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].mss, ==, 1460);
    g_assert_cmpuint(f->dir[MX_DIR_S2C].mss, ==, 1400);
    g_assert_cmpint(f->dir[MX_DIR_C2S].wscale, ==, 7);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].retransmits, ==, 0);
    g_assert_cmpstr(f->history, ==, "ShA");
    g_assert_cmpint(f->first_ts, ==, PB_S(1));
    g_assert_cmpint(f->last_ts, ==, PB_S(1) + PB_MS(20) + 100);
    g_assert_cmpuint(f->first_frame.frame, ==, 1);
    g_assert_cmpuint(f->last_frame.frame, ==, 3);
    g_assert_false(f->closed);
    g_assert_cmpuint(f->id, ==, 1);
    /* Hop-model inputs: the server's own packets. */
    g_assert_true(f->dir[MX_DIR_S2C].ttl_known);
    g_assert_cmpuint(f->dir[MX_DIR_S2C].ttl_first, ==, 62);
}

static void test_syn_retransmissions(fixture *fx, gconstpointer data)
{
    (void)data;
    static const int64_t at[] = { 0, PB_S(1), PB_S(3), PB_S(7) };
    for (size_t i = 0; i < G_N_ELEMENTS(at); i++)
        pb_conv_syn(&fx->conv, at[i]);
    mx_flow *f = finish_one(fx);
    g_assert_cmpuint(f->syn_count, ==, 4);
    for (size_t i = 0; i < G_N_ELEMENTS(at); i++) {
        g_assert_cmpuint(f->syn[i].frame, ==, i + 1);
        g_assert_cmpint(f->syn[i].ts_us, ==, at[i]);
    }
    g_assert_cmpuint(f->dir[MX_DIR_C2S].retransmits, ==, 3);
    g_assert_cmpuint(f->synack_count, ==, 0);
    g_assert_cmpint(f->rtt_us, ==, -1);
    g_assert_cmpstr(f->history, ==, "S");
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->flows, ==, 1);
}

/* More SYNs than MX_SYN_TIMES_MAX: counted, the first ones kept. */
static void test_syn_times_cap(fixture *fx, gconstpointer data)
{
    (void)data;
    for (int i = 0; i < MX_SYN_TIMES_MAX + 4; i++)
        pb_conv_syn(&fx->conv, PB_S(i));
    mx_flow *f = finish_one(fx);
    g_assert_cmpuint(f->syn_count, ==, MX_SYN_TIMES_MAX + 4);
    g_assert_cmpint(f->syn[MX_SYN_TIMES_MAX - 1].ts_us, ==, PB_S(MX_SYN_TIMES_MAX - 1));
}

/* The RTT is measured from the SYN the SYN-ACK answers: the last one. */
static void test_rtt_after_retransmission(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_syn(&fx->conv, PB_S(1));
    pb_conv_synack(&fx->conv, PB_S(1) + PB_MS(35));
    mx_flow *f = finish_one(fx);
    g_assert_cmpint(f->rtt_us, ==, PB_MS(35));
    g_assert_cmpstr(f->history, ==, "Sh");
}

/* ---- data, retransmissions, byte counts ------------------------------------------------ */

static void test_data_retransmission(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_send(&fx->conv, PB_S2C, PB_MS(20), "220 mx ESMTP\r\n");
    uint32_t seq = fx->conv.next_seq[PB_C2S];
    pb_conv_send(&fx->conv, PB_C2S, PB_MS(30), "EHLO gw.example.org\r\n");     /* frame 5 */
    pb_conv_resend(&fx->conv, PB_C2S, PB_MS(230), seq, "EHLO gw.example.org\r\n");   /* frame 6 */
    pb_conv_resend(&fx->conv, PB_C2S, PB_MS(630), seq, "EHLO gw.example.org\r\n");   /* frame 7 */
    mx_flow *f = finish_one(fx);
    const mx_dir_state *c = &f->dir[MX_DIR_C2S];
    g_assert_cmpuint(c->retransmits, ==, 2);
    g_assert_cmpuint(c->last_retransmit.frame, ==, 7);
    g_assert_cmpuint(c->first_data.frame, ==, 5);
    g_assert_cmpuint(c->last_data.frame, ==, 7);
    g_assert_cmpuint(c->max_segment, ==, 21);
    g_assert_cmpuint(c->max_retransmitted, ==, 21);
    g_assert_cmpuint(c->payload_bytes, ==, 63);
    g_assert_cmpuint(mx_flow_sent_bytes(f, MX_DIR_C2S), ==, 21);
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_C2S), ==, 0);
    g_assert_cmpuint(mx_flow_sent_bytes(f, MX_DIR_S2C), ==, 14);
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_S2C), ==, 14);
    /* Zeek: a retransmission letter at the 1st, 10th, 100th... */
    g_assert_cmpstr(f->history, ==, "ShAdDT");
}

static void test_retransmission_letters_repeat(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    uint32_t seq = fx->conv.next_seq[PB_C2S];
    pb_conv_send(&fx->conv, PB_C2S, PB_MS(30), "EHLO gw\r\n");
    for (int i = 0; i < 10; i++)
        pb_conv_resend(&fx->conv, PB_C2S, PB_MS(100 * (i + 1)), seq, "EHLO gw\r\n");
    mx_flow *f = finish_one(fx);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].retransmits, ==, 10);
    g_assert_cmpstr(f->history, ==, "ShADTT");
}

static void test_acked_bytes(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_exchange(&fx->conv, PB_MS(20), NULL, "220 mx.example.net ESMTP\r\n", 0);
    pb_conv_send(&fx->conv, PB_C2S, PB_MS(30), "EHLO gw.example.org\r\n");
    /* Not ACKed yet. */
    pb_feed_finish(&fx->feed);
    mx_flow *f = finished(fx, 0);
    g_assert_cmpuint(mx_flow_sent_bytes(f, MX_DIR_C2S), ==, 21);
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_C2S), ==, 0);
    g_assert_cmpuint(mx_flow_sent_bytes(f, MX_DIR_S2C), ==, 26);
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_S2C), ==, 26);
    g_assert_cmpuint(f->dir[MX_DIR_S2C].max_acked_segment, ==, 26);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].max_acked_segment, ==, 0);
}

static void test_acked_bytes_after_ack(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_send(&fx->conv, PB_C2S, PB_MS(30), "EHLO gw.example.org\r\n");
    pb_conv_ack(&fx->conv, PB_S2C, PB_MS(40));
    mx_flow *f = finish_one(fx);
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_C2S), ==, 21);
    g_assert_cmpuint(mx_flow_sent_bytes(f, MX_DIR_C2S), ==, 21);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].max_acked_segment, ==, 21);
    g_assert_cmpstr(f->history, ==, "ShADa");
}

/* ---- what crosses beyond a hole (PMTU black hole evidence) ------------------------- */

/* Client sends 1448, 1448 and 600 bytes after the EHLO; the server's ACK
 * stays at the EHLO's end.  Returns the client sequence number the server's
 * ACK stays at; frames: 1448 #1 at 9, #2 at 10, the 600 at 11. */
static uint32_t lost_flight(fixture *fx)
{
    static char big[1448], small[600];
    memset(big, 'x', sizeof big);
    memset(small, 'y', sizeof small);
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_exchange(&fx->conv, PB_MS(20), NULL, "220 mx.example.net ESMTP\r\n", 0);
    pb_conv_exchange(&fx->conv, PB_MS(30), "EHLO gw.example.org\r\n", "250 mx.example.net\r\n", PB_MS(10));
    uint32_t hole = fx->conv.next_seq[PB_C2S];
    pb_conv_segment(&fx->conv, PB_C2S, PB_MS(50), MX_TCP_ACK, big, sizeof big, 0);
    pb_conv_segment(&fx->conv, PB_C2S, PB_MS(51), MX_TCP_ACK, big, sizeof big, 0);
    pb_conv_segment(&fx->conv, PB_C2S, PB_MS(52), MX_TCP_PSH | MX_TCP_ACK, small, sizeof small, 0);
    g_assert_cmpuint(fx->conv.frames, ==, 11);
    return hole;
}

/* The server's ACK at the hole, with SACK blocks (n of them) as given. */
static void server_ack(fixture *fx, int64_t t, uint32_t ack, int n, const uint32_t (*blocks)[2])
{
    pb_tcp spec = {
        .ip = { .src = SERVER, .dst = CLIENT, .ttl = 62 },
        .sport = 25, .dport = 40001, .seq = fx->conv.next_seq[PB_S2C], .ack = ack, .flags = MX_TCP_ACK,
        .sack_blocks = (uint8_t)n,
    };
    for (int b = 0; b < n; b++) {
        spec.sack[b][0] = blocks[b][0];
        spec.sack[b][1] = blocks[b][1];
    }
    pb_frame f;
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    fx->conv.frames++;
    pb_feed_frame(&fx->feed, &f, t);
}

/* A SACK block covering the 600-byte segment beyond the hole. */
static void test_through_sack(fixture *fx, gconstpointer data)
{
    (void)data;
    uint32_t hole = lost_flight(fx);
    const uint32_t blocks[1][2] = { { hole + 2896, hole + 3496 } };
    server_ack(fx, PB_MS(60), hole, 1, blocks);
    pb_conv_resend(&fx->conv, PB_C2S, PB_MS(300), hole, "x");
    mx_flow *f = finish_one(fx);
    const mx_dir_state *c = &f->dir[MX_DIR_C2S];
    g_assert_nonnull(c->through);
    g_assert_cmpuint(c->through->len, ==, 600);
    g_assert_true(c->through->by_sack);
    g_assert_cmpuint(c->through->seg.frame, ==, 11);
    g_assert_cmpuint(c->through->ack.frame, ==, 12);
}

/* No SACK: a duplicate ACK answers the latest segment beyond the hole. */
static void test_through_dup_ack(fixture *fx, gconstpointer data)
{
    (void)data;
    uint32_t hole = lost_flight(fx);
    server_ack(fx, PB_MS(60), hole, 0, NULL);
    mx_flow *f = finish_one(fx);
    const mx_dir_state *c = &f->dir[MX_DIR_C2S];
    g_assert_nonnull(c->through);
    g_assert_cmpuint(c->through->len, ==, 600);
    g_assert_false(c->through->by_sack);
    g_assert_cmpuint(c->through->seg.frame, ==, 11);
}

/* Nothing answers beyond the hole, and an ACK that fills it clears the evidence. */
static void test_through_none_and_filled(fixture *fx, gconstpointer data)
{
    (void)data;
    uint32_t hole = lost_flight(fx);
    const uint32_t blocks[1][2] = { { hole + 2896, hole + 3496 } };
    server_ack(fx, PB_MS(60), hole, 1, blocks);
    server_ack(fx, PB_MS(70), hole + 3496, 0, NULL);
    mx_flow *f = finish_one(fx);
    g_assert_nonnull(f->dir[MX_DIR_C2S].through);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].through->len, ==, 0);
}

/* ---- close -------------------------------------------------------------------------- */

/* The brief's example: client data, server ACK, server data, FINs. */
static void test_history_exact(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_send(&fx->conv, PB_C2S, PB_MS(20), "EHLO x\r\n");
    pb_conv_ack(&fx->conv, PB_S2C, PB_MS(30));
    pb_conv_send(&fx->conv, PB_S2C, PB_MS(40), "250 x\r\n");
    pb_conv_fin(&fx->conv, PB_C2S, PB_MS(50));
    pb_conv_fin(&fx->conv, PB_S2C, PB_MS(60));
    pb_conv_ack(&fx->conv, PB_C2S, PB_MS(70));
    mx_flow *f = finish_one(fx);
    g_assert_cmpstr(f->history, ==, "ShADadFf");
    g_assert_true(f->closed);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].fin.frame, ==, 7);
    g_assert_cmpuint(f->dir[MX_DIR_S2C].fin.frame, ==, 8);
    g_assert_cmpuint(mx_flow_sent_bytes(f, MX_DIR_C2S), ==, 9);     /* 8 bytes + FIN */
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_C2S), ==, 9);
}

static void test_one_fin_not_closed(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_fin(&fx->conv, PB_C2S, PB_MS(50));
    g_assert_cmpuint(mx_flow_table_active(fx->feed.table), ==, 1);
    mx_flow *f = finish_one(fx);
    g_assert_false(f->closed);
    g_assert_cmpstr(f->history, ==, "ShAF");
}

static void test_rst_closes(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_send(&fx->conv, PB_C2S, PB_MS(20), "EHLO x\r\n");
    pb_conv_rst(&fx->conv, PB_S2C, PB_MS(22), 63);
    /* Still in the table (lingering for late packets) until the end. */
    g_assert_cmpuint(mx_flow_table_active(fx->feed.table), ==, 1);
    mx_flow *f = finish_one(fx);
    g_assert_true(f->closed);
    const mx_dir_state *s = &f->dir[MX_DIR_S2C];
    g_assert_cmpuint(s->rst.frame, ==, 5);
    g_assert_cmpint(s->rst.ts_us, ==, PB_MS(22));
    g_assert_cmpuint(s->rst_ttl, ==, 63);
    g_assert_cmpuint(s->rst_count, ==, 1);
    g_assert_true(s->rst_has_ip_id);
    g_assert_cmpuint(s->rst_seq, ==, 5001);
    /* A RST is no baseline for the hop model: TTL range stays the SYN-ACK's. */
    g_assert_cmpuint(s->ttl_min, ==, 62);
    g_assert_cmpuint(s->ttl_max, ==, 62);
    g_assert_cmpstr(f->history, ==, "ShADr");
}

/* A closed flow lingers MX_FLOW_CLOSED_LINGER_US, then finishes when time moves on. */
static void test_closed_linger(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_rst(&fx->conv, PB_S2C, PB_MS(20), 0);
    pb_conv c2;
    pb_conv_init(&c2, PB_LINK_ETH, CLIENT, 40002, SERVER, 25, 7, 8, pb_feed_emit, &fx->feed);
    pb_conv_syn(&c2, PB_MS(20) + MX_FLOW_CLOSED_LINGER_US - PB_MS(1));
    g_assert_cmpuint(fx->feed.finished->len, ==, 0);
    pb_conv_syn(&c2, PB_MS(20) + MX_FLOW_CLOSED_LINGER_US + PB_S(1));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    g_assert_cmpuint(finished(fx, 0)->key.client_port, ==, 40001);
    g_assert_false(finished(fx, 0)->evicted);
}

/* A client that gave up on a silent server (its FIN, the server's ACK and
 * nothing more) is not closed, but lingers like a closed flow instead of
 * waiting MX_FLOW_IDLE_US; the server's late answer would still reach it. */
static void test_half_closed_linger(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_fin(&fx->conv, PB_C2S, PB_S(30));
    pb_conv c2;
    pb_conv_init(&c2, PB_LINK_ETH, CLIENT, 40002, SERVER, 25, 7, 8, pb_feed_emit, &fx->feed);
    pb_conv_syn(&c2, PB_S(30) + MX_FLOW_CLOSED_LINGER_US - PB_S(1));
    g_assert_cmpuint(fx->feed.finished->len, ==, 0);
    pb_conv_syn(&c2, PB_S(30) + MX_FLOW_CLOSED_LINGER_US + PB_S(2));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    mx_flow *f = finished(fx, 0);
    g_assert_cmpuint(f->key.client_port, ==, 40001);
    g_assert_false(f->closed);
    g_assert_false(f->evicted);
    g_assert_cmpstr(f->history, ==, "ShAF");
}

/* ---- ICMP ---------------------------------------------------------------------------- */

static void test_icmp_matched_v4(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_icmp(&fx->conv, PB_MS(3), ROUTER, 63, 3, 13);
    mx_flow *f = finish_one(fx);
    g_assert_cmpuint(f->icmp_count, ==, 1);
    g_assert_cmpuint(f->icmp.frame, ==, 2);
    g_assert_cmpint(f->icmp.ts_us, ==, PB_MS(3));
    assert_addr(&f->icmp_src, ROUTER);
    g_assert_cmpuint(f->icmp_type, ==, 3);
    g_assert_cmpuint(f->icmp_code, ==, 13);
    g_assert_cmpuint(f->icmp_ttl, ==, 63);
    g_assert_false(f->icmp_v6);
    g_assert_cmpuint(f->frag_needed.frame, ==, 0);
    g_assert_cmpuint(f->last_frame.frame, ==, 2);
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->icmp_unmatched, ==, 0);
}

/* A SYN a router answered with an unreachable is given up by the client:
 * the flow ends after MX_FLOW_SYN_IDLE_US like an unanswered one, not
 * after the open flows' MX_FLOW_IDLE_US. */
static void test_icmp_syn_idle(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    pb_conv_icmp(&fx->conv, PB_MS(3), ROUTER, 63, 3, 1);
    pb_conv c2;
    pb_conv_init(&c2, PB_LINK_ETH, CLIENT, 40002, SERVER, 25, 7, 8, pb_feed_emit, &fx->feed);
    pb_conv_syn(&c2, PB_MS(3) + MX_FLOW_SYN_IDLE_US - PB_S(1));
    g_assert_cmpuint(fx->feed.finished->len, ==, 0);
    pb_conv_syn(&c2, PB_MS(3) + MX_FLOW_SYN_IDLE_US + PB_S(2));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    g_assert_cmpuint(finished(fx, 0)->key.client_port, ==, 40001);
    g_assert_cmpuint(finished(fx, 0)->icmp_count, ==, 1);
}

static void test_icmp_matched_v6(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_init(&fx->conv, PB_LINK_ETH, CLIENT6, 40001, SERVER6, 25, 1000, 5000, pb_feed_emit, &fx->feed);
    pb_conv_syn(&fx->conv, 0);
    pb_conv_icmp(&fx->conv, PB_MS(3), "2001:db8:ff::2", 63, 1, 1);
    pb_conv_icmp(&fx->conv, PB_MS(4), "2001:db8:ff::3", 62, 1, 3);
    mx_flow *f = finish_one(fx);
    g_assert_cmpuint(f->icmp_count, ==, 2);
    g_assert_cmpuint(f->icmp.frame, ==, 2);            /* the first one is kept */
    assert_addr(&f->icmp_src, "2001:db8:ff::2");
    g_assert_cmpuint(f->icmp_type, ==, 1);
    g_assert_cmpuint(f->icmp_code, ==, 1);
    g_assert_true(f->icmp_v6);
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->icmp_unmatched, ==, 0);
}

static void test_icmp_frag_needed(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_tcp big = { .ip = { .src = CLIENT, .dst = SERVER, .df = true }, .sport = 40001, .dport = 25,
                   .seq = 1001, .ack = 5001, .flags = MX_TCP_ACK };
    pb_frame quoted, f;
    g_assert_true(pb_build_tcp(&quoted, PB_LINK_RAW, &big));
    pb_icmp spec = { .ip = { .src = ROUTER, .dst = CLIENT, .ttl = 63 }, .type = 3, .code = 4, .mtu = 1400, .quote = &quoted };
    g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
    pb_feed_frame(&fx->feed, &f, PB_MS(50));
    mx_flow *fl = finish_one(fx);
    g_assert_cmpuint(fl->icmp_count, ==, 0);           /* PMTU discovery, not a failure */
    g_assert_cmpuint(fl->frag_needed.frame, ==, 4);
    g_assert_cmpuint(fl->frag_needed_mtu, ==, 1400);
}

static void test_icmp_unmatched(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_syn(&fx->conv, 0);
    /* Quoting another client port: no such flow. */
    pb_conv other;
    pb_conv_init(&other, PB_LINK_ETH, CLIENT, 40999, SERVER, 25, 1, 2, pb_feed_emit, &fx->feed);
    pb_conv_icmp(&other, PB_MS(1), ROUTER, 63, 3, 13);
    /* Quoting UDP (a DNS query): never a tracked flow. */
    pb_udp dns = { .ip = { .src = CLIENT, .dst = "198.18.0.53" }, .sport = 53001, .dport = 53, .payload = "q", .payload_len = 1 };
    pb_frame quoted, f;
    g_assert_true(pb_build_udp(&quoted, PB_LINK_RAW, &dns));
    pb_icmp spec = { .ip = { .src = "198.18.0.53", .dst = CLIENT, .ttl = 63 }, .type = 3, .code = 3, .quote = &quoted };
    g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
    pb_feed_frame(&fx->feed, &f, PB_MS(2));
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->icmp_unmatched, ==, 2);
    mx_flow *fl = finish_one(fx);
    g_assert_cmpuint(fl->icmp_count, ==, 0);
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void test_midsession(fixture *fx, gconstpointer data)
{
    (void)data;
    fx->conv.syn_sent[0] = fx->conv.syn_sent[1] = true;
    fx->conv.next_seq[0] = 700000, fx->conv.next_seq[1] = 900000;
    pb_conv_send(&fx->conv, PB_C2S, 0, "RCPT TO:<bob@example.net>\r\n");
    pb_conv_send(&fx->conv, PB_S2C, PB_MS(20), "250 2.1.5 Ok\r\n");
    pb_conv_ack(&fx->conv, PB_C2S, PB_MS(21));
    mx_flow *f = finish_one(fx);
    g_assert_false(f->saw_syn);
    g_assert_cmpuint(f->syn_count, ==, 0);
    g_assert_cmpuint(f->dir[MX_DIR_C2S].isn, ==, 699999);
    g_assert_cmpuint(f->dir[MX_DIR_S2C].isn, ==, 899999);
    g_assert_cmpuint(mx_flow_sent_bytes(f, MX_DIR_C2S), ==, 27);
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_C2S), ==, 27);
    g_assert_cmpuint(mx_flow_acked_bytes(f, MX_DIR_S2C), ==, 14);
    g_assert_cmpint(f->rtt_us, ==, -1);
    g_assert_cmpstr(f->history, ==, "DdA");
}

static void test_port_reuse_after_close(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_fin(&fx->conv, PB_C2S, PB_MS(20));
    pb_conv_fin(&fx->conv, PB_S2C, PB_MS(21));
    pb_conv_ack(&fx->conv, PB_C2S, PB_MS(22));
    /* Same four-tuple, new ISN, 2 s later (well inside the linger time). */
    pb_conv c2;
    pb_conv_init(&c2, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 77777, 88888, pb_feed_emit, &fx->feed);
    pb_conv_handshake(&c2, PB_S(2), PB_MS(10));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    mx_flow *old = finished(fx, 0);
    g_assert_cmpuint(old->id, ==, 1);
    g_assert_true(old->closed);
    g_assert_cmpstr(old->history, ==, "ShAFf");
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(fx->feed.finished->len, ==, 2);
    mx_flow *fresh = finished(fx, 1);
    g_assert_cmpuint(fresh->id, ==, 2);
    g_assert_cmpuint(fresh->dir[MX_DIR_C2S].isn, ==, 77777);
    g_assert_cmpuint(fresh->syn[0].frame, ==, 7);
    g_assert_cmpstr(fresh->history, ==, "ShA");
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->flows, ==, 2);
}

/* A SYN with a new ISN on an established, never-closed tuple: a new connection too. */
static void test_port_reuse_new_isn(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv c2;
    pb_conv_init(&c2, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 424242, 1, pb_feed_emit, &fx->feed);
    pb_conv_syn(&c2, PB_S(60));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    /* A retransmitted SYN (same ISN) is not. */
    pb_conv_syn(&c2, PB_S(61));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(finished(fx, 1)->syn_count, ==, 2);
}

static void test_eviction_lru(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv a, b, c;
    pb_conv_init(&a, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 1, 2, pb_feed_emit, &fx->feed);
    pb_conv_init(&b, PB_LINK_ETH, CLIENT, 40002, SERVER, 25, 3, 4, pb_feed_emit, &fx->feed);
    pb_conv_init(&c, PB_LINK_ETH, CLIENT, 40003, SERVER, 25, 5, 6, pb_feed_emit, &fx->feed);
    pb_conv_syn(&a, 0);
    pb_conv_syn(&b, PB_MS(1));
    pb_conv_syn(&a, PB_MS(2));          /* a is now the more recently active */
    pb_conv_syn(&c, PB_MS(3));          /* table of 2 is full: b goes */
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    mx_flow *victim = finished(fx, 0);
    g_assert_cmpuint(victim->key.client_port, ==, 40002);
    g_assert_true(victim->evicted);
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->evicted, ==, 1);
    g_assert_cmpuint(mx_flow_table_stats(fx->feed.table)->active_max, ==, 2);
    g_assert_cmpuint(mx_flow_table_active(fx->feed.table), ==, 2);
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(fx->feed.finished->len, ==, 3);
    /* End of input: oldest first, none of them evicted. */
    g_assert_cmpuint(finished(fx, 1)->key.client_port, ==, 40001);
    g_assert_cmpuint(finished(fx, 2)->key.client_port, ==, 40003);
    g_assert_false(finished(fx, 1)->evicted);
    g_assert_false(finished(fx, 2)->evicted);
}

/* A closed flow is evicted before any open one, however recent. */
static void test_eviction_prefers_closed(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv a, b, c;
    pb_conv_init(&a, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 1, 2, pb_feed_emit, &fx->feed);
    pb_conv_init(&b, PB_LINK_ETH, CLIENT, 40002, SERVER, 25, 3, 4, pb_feed_emit, &fx->feed);
    pb_conv_init(&c, PB_LINK_ETH, CLIENT, 40003, SERVER, 25, 5, 6, pb_feed_emit, &fx->feed);
    pb_conv_syn(&a, 0);
    pb_conv_syn(&b, PB_MS(1));
    pb_conv_rst(&b, PB_S2C, PB_MS(2), 0);
    pb_conv_syn(&c, PB_MS(3));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    g_assert_cmpuint(finished(fx, 0)->key.client_port, ==, 40002);
}

static void test_idle_expiry(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv other;
    pb_conv_init(&other, PB_LINK_ETH, CLIENT, 40002, SERVER, 25, 3, 4, pb_feed_emit, &fx->feed);
    int64_t last = PB_MS(10) + 100;
    pb_conv_syn(&other, last + MX_FLOW_IDLE_US - PB_S(1));
    g_assert_cmpuint(fx->feed.finished->len, ==, 0);
    pb_conv_syn(&other, last + MX_FLOW_IDLE_US + PB_S(2));
    g_assert_cmpuint(fx->feed.finished->len, ==, 1);
    g_assert_cmpuint(finished(fx, 0)->key.client_port, ==, 40001);
    g_assert_false(finished(fx, 0)->evicted);
    g_assert_cmpuint(mx_flow_table_active(fx->feed.table), ==, 1);
}

/* Finish-all hands flows over in order of first packet. */
static void test_finish_order(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv a, b;
    pb_conv_init(&a, PB_LINK_ETH, CLIENT, 40001, SERVER, 25, 1, 2, pb_feed_emit, &fx->feed);
    pb_conv_init(&b, PB_LINK_ETH, CLIENT, 40002, "203.0.113.26", 25, 3, 4, pb_feed_emit, &fx->feed);
    pb_conv_syn(&a, 0);
    pb_conv_syn(&b, PB_MS(1));
    pb_conv_rst(&b, PB_S2C, PB_MS(2), 0);       /* b closed, a open */
    pb_conv_syn(&a, PB_MS(3));
    pb_feed_finish(&fx->feed);
    g_assert_cmpuint(fx->feed.finished->len, ==, 2);
    g_assert_cmpuint(finished(fx, 0)->id, ==, 1);
    g_assert_cmpuint(finished(fx, 1)->id, ==, 2);
    g_assert_cmpuint(mx_flow_table_active(fx->feed.table), ==, 0);
}

/* 300 flows through a table of 64 (eviction, closing, lingering, end of
 * input) with the hash keyed k0, k1: the order flows finish in, as
 * "port:evicted" items. */
static GString *finish_order_keyed(uint64_t k0, uint64_t k1)
{
    mx_flow_hash_key(k0, k1);
    pb_feed feed;
    pb_feed_init(&feed, NULL, 0, 64, false);
    char server[32];
    for (int i = 0; i < 300; i++) {
        pb_conv c;
        g_snprintf(server, sizeof server, "203.0.113.%d", 1 + i % 7);
        pb_conv_init(&c, PB_LINK_ETH, CLIENT, (uint16_t)(20000 + i), server, 25, (uint32_t)i, 7, pb_feed_emit, &feed);
        int64_t t = PB_MS(10) * i;
        if (i % 3 == 0) {
            pb_conv_syn(&c, t);
        } else if (i % 3 == 1) {
            pb_conv_syn(&c, t);
            pb_conv_rst(&c, PB_S2C, t + 100, 0);
        } else {
            pb_conv_handshake(&c, t, 1000);
        }
    }
    pb_feed_finish(&feed);
    GString *order = g_string_new(NULL);
    for (guint i = 0; i < feed.finished->len; i++) {
        const mx_flow *f = &g_array_index(feed.finished, mx_flow, i);
        g_string_append_printf(order, "%u:%d ", f->key.client_port, f->evicted);
    }
    g_assert_cmpuint(feed.finished->len, ==, 300);
    pb_feed_clear(&feed);
    return order;
}

/* The flow hash is keyed per run (live tuples are chosen by senders);
 * nothing may depend on the key: the same input finishes in the same order. */
static void test_hash_key_independent(void)
{
    GString *a = finish_order_keyed(1, 2);
    GString *b = finish_order_keyed(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
    GString *c = finish_order_keyed(~0ULL, 42);
    g_assert_cmpstr(a->str, ==, b->str);
    g_assert_cmpstr(a->str, ==, c->str);
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    g_string_free(c, TRUE);
}

/* IP ID and TTL samples for the hop model come from packets really sent. */
static void test_hop_inputs(fixture *fx, gconstpointer data)
{
    (void)data;
    pb_conv_handshake(&fx->conv, 0, PB_MS(10));
    pb_conv_send(&fx->conv, PB_S2C, PB_MS(20), "220 mx\r\n");
    pb_conv_segment(&fx->conv, PB_S2C, PB_MS(30), MX_TCP_ACK, NULL, 0, 61);
    mx_flow *f = finish_one(fx);
    const mx_dir_state *s = &f->dir[MX_DIR_S2C];
    g_assert_cmpuint(s->ttl_first, ==, 62);
    g_assert_cmpuint(s->ttl_min, ==, 61);
    g_assert_cmpuint(s->ttl_max, ==, 62);
    g_assert_cmpuint(s->ip_id_samples, ==, 3);
    g_assert_cmpuint(s->ip_id_small_step, ==, 2);
    g_assert_cmpuint(s->ip_id_zero, ==, 0);
    g_assert_cmpuint(s->ip_id_last, ==, 0x5002);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, fixture, NULL, setup, fn, teardown)
    ADD("/flow/direction/by-port", test_direction_by_port);
    ADD("/flow/direction/untracked-port", test_untracked_port);
    g_test_add_func("/flow/direction/extra-ports", test_extra_ports);
    g_test_add_func("/flow/life/hash-key-independent", test_hash_key_independent);
    ADD("/flow/through/sack", test_through_sack);
    ADD("/flow/through/dup-ack", test_through_dup_ack);
    ADD("/flow/through/hole-filled", test_through_none_and_filled);
    ADD("/flow/handshake/complete", test_handshake);
    ADD("/flow/handshake/syn-retransmissions", test_syn_retransmissions);
    ADD("/flow/handshake/syn-times-cap", test_syn_times_cap);
    ADD("/flow/handshake/rtt-after-retransmission", test_rtt_after_retransmission);
    ADD("/flow/data/retransmission", test_data_retransmission);
    ADD("/flow/data/retransmission-letters-repeat", test_retransmission_letters_repeat);
    ADD("/flow/data/acked-bytes-unacked", test_acked_bytes);
    ADD("/flow/data/acked-bytes", test_acked_bytes_after_ack);
    ADD("/flow/close/history-exact", test_history_exact);
    ADD("/flow/close/one-fin", test_one_fin_not_closed);
    ADD("/flow/close/rst", test_rst_closes);
    ADD("/flow/close/linger", test_closed_linger);
    ADD("/flow/icmp/matched-v4", test_icmp_matched_v4);
    ADD("/flow/icmp/matched-v6", test_icmp_matched_v6);
    ADD("/flow/icmp/frag-needed", test_icmp_frag_needed);
    ADD("/flow/icmp/unmatched", test_icmp_unmatched);
    ADD("/flow/life/midsession", test_midsession);
    ADD("/flow/life/port-reuse-after-close", test_port_reuse_after_close);
    ADD("/flow/life/port-reuse-new-isn", test_port_reuse_new_isn);
    ADD("/flow/life/half-closed-linger", test_half_closed_linger);
    ADD("/flow/life/icmp-syn-idle", test_icmp_syn_idle);
    g_test_add("/flow/life/eviction-lru", fixture, NULL, setup_small_table, test_eviction_lru, teardown);
    g_test_add("/flow/life/eviction-prefers-closed", fixture, NULL, setup_small_table, test_eviction_prefers_closed, teardown);
    ADD("/flow/life/idle-expiry", test_idle_expiry);
    ADD("/flow/life/finish-order", test_finish_order);
    ADD("/flow/hops/inputs", test_hop_inputs);
#undef ADD
    return g_test_run();
}
