/* SPDX-License-Identifier: BSD-3-Clause */
/* test-decode.c — decode: every link type, IP options and extension headers, TCP options,
 * snap-length cuts, ICMP errors and hostile input, with exact values.
 *
 * Frames come from pktbuild (libnet); hostile ones are valid frames with
 * one field broken, so each case names exactly what it breaks.
 */
#include <arpa/inet.h>
#include <string.h>

#include "decode.h"
#include "pktbuild.h"

#define CLIENT "198.51.100.10"
#define SERVER "203.0.113.25"
#define CLIENT6 "2001:db8:1::10"
#define SERVER6 "2001:db8:2::25"

static const char smtp_line[] = "EHLO gw.example.org\r\n";

/* The SYN every link case carries: all four options with known values. */
static pb_tcp syn_spec(bool v6)
{
    return (pb_tcp){
        .ip = { .src = v6 ? CLIENT6 : CLIENT, .dst = v6 ? SERVER6 : SERVER, .ttl = 61, .id = 0x4242, .df = true },
        .sport = 40001, .dport = 25, .seq = 0x1a2b3c4d, .ack = 0, .flags = MX_TCP_SYN,
        .window = 29200, .mss = 1460, .has_wscale = true, .wscale = 7, .sack_ok = true,
        .timestamps = true, .ts_val = 123456789, .ts_ecr = 0,
    };
}

static pb_tcp data_spec(bool v6)
{
    return (pb_tcp){
        .ip = { .src = v6 ? CLIENT6 : CLIENT, .dst = v6 ? SERVER6 : SERVER, .ttl = 64, .id = 7 },
        .sport = 40001, .dport = 25, .seq = 1001, .ack = 5001, .flags = MX_TCP_PSH | MX_TCP_ACK,
        .payload = smtp_line, .payload_len = sizeof smtp_line - 1,
    };
}

static void assert_addr(const mx_addr *a, const char *text)
{
    char buf[64];
    g_assert_cmpstr(mx_addr_str(a, buf, sizeof buf), ==, text);
}

/* ---- link types ---------------------------------------------------------------- */

typedef struct link_case {
    const char *path;
    pb_link link;
    bool v6;
} link_case;

static const link_case link_cases[] = {
    { "/decode/link/ethernet/ipv4", PB_LINK_ETH, false },
    { "/decode/link/ethernet/ipv6", PB_LINK_ETH, true },
    { "/decode/link/vlan/ipv4", PB_LINK_VLAN, false },
    { "/decode/link/vlan/ipv6", PB_LINK_VLAN, true },
    { "/decode/link/qinq/ipv4", PB_LINK_QINQ, false },
    { "/decode/link/qinq/ipv6", PB_LINK_QINQ, true },
    { "/decode/link/etag/ipv4", PB_LINK_ETAG, false },
    { "/decode/link/etag/ipv6", PB_LINK_ETAG, true },
    { "/decode/link/sll/ipv4", PB_LINK_SLL, false },
    { "/decode/link/sll/ipv6", PB_LINK_SLL, true },
    { "/decode/link/sll2/ipv4", PB_LINK_SLL2, false },
    { "/decode/link/sll2/ipv6", PB_LINK_SLL2, true },
    { "/decode/link/raw/ipv4", PB_LINK_RAW, false },
    { "/decode/link/raw/ipv6", PB_LINK_RAW, true },
    { "/decode/link/dlt-ipv4", PB_LINK_IPV4, false },
    { "/decode/link/dlt-ipv6", PB_LINK_IPV6, true },
    { "/decode/link/null/ipv4", PB_LINK_NULL, false },
    { "/decode/link/null/ipv6", PB_LINK_NULL, true },
    { "/decode/link/null-swapped/ipv4", PB_LINK_NULL_SWAPPED, false },
    { "/decode/link/null-swapped/ipv6", PB_LINK_NULL_SWAPPED, true },
    { "/decode/link/loop/ipv4", PB_LINK_LOOP, false },
    { "/decode/link/loop/ipv6", PB_LINK_LOOP, true },
};

static void test_link(gconstpointer data)
{
    const link_case *lc = data;
    pb_tcp spec = syn_spec(lc->v6);
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, lc->link, &spec));
    g_assert_true(mx_decode_link_supported(f.dlt));
    pb_decode(&f, &pkt);

    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_false(pkt.snapped);
    g_assert_cmpuint(pkt.ip_version, ==, lc->v6 ? 6 : 4);
    assert_addr(&pkt.src, lc->v6 ? CLIENT6 : CLIENT);
    assert_addr(&pkt.dst, lc->v6 ? SERVER6 : SERVER);
    g_assert_cmpuint(pkt.ttl, ==, 61);
    g_assert_cmpuint(pkt.has_ip_id, ==, !lc->v6);
    g_assert_cmpuint(pkt.ip_id, ==, lc->v6 ? 0 : 0x4242);
    g_assert_cmpuint(pkt.df, ==, !lc->v6);
    g_assert_cmpuint(pkt.proto, ==, 6);
    /* 20 + 20 options: MSS 4, SACK-permitted 2, timestamps 10, NOP 1, wscale 3. */
    g_assert_cmpuint(pkt.ip_len, ==, (lc->v6 ? 40 : 20) + 40);
    g_assert_cmpuint(pkt.sport, ==, 40001);
    g_assert_cmpuint(pkt.dport, ==, 25);
    g_assert_cmpuint(pkt.seq, ==, 0x1a2b3c4d);
    g_assert_cmpuint(pkt.ack, ==, 0);
    g_assert_cmpuint(pkt.tcp_flags, ==, MX_TCP_SYN);
    g_assert_cmpuint(pkt.window, ==, 29200);
    g_assert_cmpuint(pkt.mss, ==, 1460);
    g_assert_cmpint(pkt.wscale, ==, 7);
    g_assert_true(pkt.sack_ok);
    g_assert_true(pkt.has_timestamps);
    g_assert_cmpuint(pkt.ts_val, ==, 123456789);
    g_assert_cmpuint(pkt.ts_ecr, ==, 0);
    g_assert_cmpuint(pkt.payload_len, ==, 0);
    g_assert_cmpuint(pkt.payload_caplen, ==, 0);
    g_assert_cmpuint(pkt.caplen, ==, f.len);
    g_assert_cmpuint(pkt.wirelen, ==, f.len);
}

static void test_link_unsupported(void)
{
    g_assert_false(mx_decode_link_supported(105));   /* IEEE 802.11 */
    g_assert_false(mx_decode_link_supported(127));   /* radiotap */
    pb_tcp spec = syn_spec(false);
    pb_frame f;
    mx_packet pkt = {0};
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    mx_decode(105, f.data, f.len, f.len, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_LINK);
    g_assert_cmpint(pkt.l4, ==, MX_L4_NONE);
}

/* ARP, LLDP and unknown families are links we skip, not malformed packets. */
static void test_link_not_ip(void)
{
    pb_tcp spec = syn_spec(false);
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    f.data[12] = 0x08, f.data[13] = 0x06;           /* ARP */
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_LINK);

    g_assert_true(pb_build_tcp(&f, PB_LINK_SLL2, &spec));
    f.data[0] = 0x88, f.data[1] = 0xcc;             /* LLDP */
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_LINK);

    g_assert_true(pb_build_tcp(&f, PB_LINK_LOOP, &spec));
    f.data[3] = 7;                                   /* AF 7: not an IP family */
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_LINK);
}

/* Each frame's file magic aside, the same IP packet behind every link
 * header gives the same decoded packet, byte for byte of payload. */
static void test_link_payload_pointer(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(link_cases); i++) {
        pb_tcp spec = data_spec(link_cases[i].v6);
        pb_frame f;
        mx_packet pkt;
        g_assert_true(pb_build_tcp(&f, link_cases[i].link, &spec));
        pb_decode(&f, &pkt);
        g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
        g_assert_true(pkt.payload == f.data + f.l4 + 20);
        g_assert_cmpuint(pkt.payload_len, ==, sizeof smtp_line - 1);
        g_assert_cmpuint(pkt.payload_caplen, ==, sizeof smtp_line - 1);
        g_assert_cmpmem(pkt.payload, pkt.payload_caplen, smtp_line, sizeof smtp_line - 1);
        g_assert_cmpuint(pkt.tcp_flags, ==, MX_TCP_PSH | MX_TCP_ACK);
        g_assert_cmpuint(pkt.ack, ==, 5001);
        g_assert_cmpuint(pkt.mss, ==, 0);
        g_assert_cmpint(pkt.wscale, ==, -1);
        g_assert_false(pkt.sack_ok);
        g_assert_false(pkt.has_timestamps);
    }
}

/* Ethernet pads frames to 60 bytes: the IP length, not the capture, ends the packet. */
static void test_ethernet_padding(void)
{
    pb_tcp spec = data_spec(false);
    spec.payload = NULL, spec.payload_len = 0;
    spec.flags = MX_TCP_ACK;
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    g_assert_cmpuint(f.len, ==, 54);
    memset(f.data + 54, 0, 6);
    f.len = 60;
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_cmpuint(pkt.payload_len, ==, 0);
    g_assert_cmpuint(pkt.payload_caplen, ==, 0);
}

/* ---- IPv4 options and fragments ---------------------------------------------------- */

static void test_ipv4_options(void)
{
    /* Router alert (4 bytes) + record route with room for one address (7) + EOL. */
    static const uint8_t opts[12] = { 0x94, 0x04, 0x00, 0x00, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00 };
    pb_tcp spec = data_spec(false);
    spec.ip.options = opts;
    spec.ip.options_len = sizeof opts;
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    g_assert_cmpuint(f.data[14], ==, 0x48);            /* IHL 8: 32 bytes */
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_cmpuint(pkt.ip_len, ==, 32 + 20 + sizeof smtp_line - 1);
    g_assert_cmpuint(pkt.sport, ==, 40001);
    g_assert_cmpuint(pkt.seq, ==, 1001);
    g_assert_true(pkt.payload == f.data + 14 + 32 + 20);
    g_assert_cmpuint(pkt.payload_len, ==, sizeof smtp_line - 1);
}

typedef struct frag_case {
    const char *path;
    bool v6;
    bool v6_hop_by_hop;
    uint16_t offset;
    bool more;
    mx_skip_reason skip;
    mx_l4 l4;
} frag_case;

static const frag_case frag_cases[] = {
    { "/decode/ipv4/first-fragment", false, false, 0, true, MX_SKIP_NONE, MX_L4_TCP },
    { "/decode/ipv4/later-fragment", false, false, 185, true, MX_SKIP_FRAGMENT, MX_L4_NONE },
    { "/decode/ipv4/last-fragment", false, false, 370, false, MX_SKIP_FRAGMENT, MX_L4_NONE },
    { "/decode/ipv6/first-fragment", true, false, 0, true, MX_SKIP_NONE, MX_L4_TCP },
    { "/decode/ipv6/later-fragment", true, false, 185, false, MX_SKIP_FRAGMENT, MX_L4_NONE },
    { "/decode/ipv6/hop-by-hop-then-first-fragment", true, true, 0, true, MX_SKIP_NONE, MX_L4_TCP },
    { "/decode/ipv6/hop-by-hop-then-later-fragment", true, true, 2, false, MX_SKIP_FRAGMENT, MX_L4_NONE },
};

static void test_fragment(gconstpointer data)
{
    const frag_case *fc = data;
    pb_tcp spec = data_spec(fc->v6);
    spec.ip.frag_offset = fc->offset;
    spec.ip.more_fragments = fc->more;
    spec.ip.v6_fragment = fc->v6;
    spec.ip.v6_hop_by_hop = fc->v6_hop_by_hop;
    spec.ip.id = 0x77;
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, fc->skip);
    g_assert_cmpint(pkt.l4, ==, fc->l4);
    g_assert_cmpuint(pkt.ip_version, ==, fc->v6 ? 6 : 4);
    g_assert_cmpuint(pkt.proto, ==, 6);
    assert_addr(&pkt.src, fc->v6 ? CLIENT6 : CLIENT);
    if (fc->l4 == MX_L4_TCP) {
        g_assert_cmpuint(pkt.sport, ==, 40001);
        g_assert_cmpuint(pkt.seq, ==, 1001);
        g_assert_true(pkt.payload == f.data + f.l4 + 20);
        g_assert_cmpuint(pkt.payload_len, ==, sizeof smtp_line - 1);
    } else {
        g_assert_cmpuint(pkt.sport, ==, 0);
    }
}

static void test_ipv6_hop_by_hop(void)
{
    pb_tcp spec = syn_spec(true);
    spec.ip.v6_hop_by_hop = true;
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, PB_LINK_RAW, &spec));
    g_assert_cmpuint(f.data[6], ==, 0);                /* next header: hop-by-hop */
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_cmpuint(pkt.proto, ==, 6);
    g_assert_cmpuint(pkt.ip_len, ==, 40 + 8 + 40);
    g_assert_cmpuint(pkt.mss, ==, 1460);
    g_assert_cmpuint(pkt.ts_val, ==, 123456789);
}

/* ---- segmentation offload ----------------------------------------------------------- */

/* TSO / IPv4 BIG TCP: total length 0; the frame's length on the wire is the
 * packet's (as tshark takes it), even where the snap length cut the frame. */
static void test_offload_ipv4(void)
{
    pb_frame f;
    mx_packet pkt;
    pb_tcp spec = data_spec(false);
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    f.data[16] = f.data[17] = 0;
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_true(pkt.offload_len);
    g_assert_cmpuint(pkt.ip_len, ==, f.len - 14);
    g_assert_cmpuint(pkt.payload_len, ==, sizeof smtp_line - 1);
    g_assert_false(pkt.snapped);

    /* Cut after 5 payload bytes of a 100,000-byte super-segment. */
    mx_packet cut = { 0 };
    mx_decode(DLT_EN10MB, f.data, 14 + 20 + 20 + 5, 100000, &cut);
    g_assert_cmpint(cut.l4, ==, MX_L4_TCP);
    g_assert_true(cut.offload_len);
    g_assert_cmpuint(cut.ip_len, ==, 100000 - 14);
    g_assert_cmpuint(cut.payload_len, ==, 100000 - 14 - 40);
    g_assert_cmpuint(cut.payload_caplen, ==, 5);
    g_assert_true(cut.snapped);

    /* Length 0 with nothing after the header stays malformed. */
    mx_decode(DLT_EN10MB, f.data, 14 + 20, 14 + 20, &cut);
    g_assert_cmpint(cut.skip, ==, MX_SKIP_MALFORMED);
}

/* IPv6 BIG TCP: payload length 0 and the length in a Jumbo Payload
 * option (RFC 2675); without that option, length 0 means no payload. */
static void test_offload_ipv6_jumbo(void)
{
    pb_tcp spec = data_spec(true);
    spec.ip.v6_hop_by_hop = true;
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, PB_LINK_RAW, &spec));
    g_assert_cmpuint(f.data[6], ==, 0);
    f.data[4] = f.data[5] = 0;
    static const uint8_t jumbo[6] = { 0xc2, 4, 0x00, 0x01, 0x86, 0xa0 };   /* 100,000 */
    memcpy(f.data + 42, jumbo, sizeof jumbo);
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_true(pkt.offload_len);
    g_assert_cmpuint(pkt.ip_len, ==, 40 + 100000);
    g_assert_cmpuint(pkt.payload_len, ==, 100000 - 8 - 20);
    g_assert_cmpuint(pkt.payload_caplen, ==, sizeof smtp_line - 1);
    g_assert_true(pkt.snapped);

    f.data[42] = 1;                                     /* PadN instead of the jumbo option */
    pb_decode(&f, &pkt);
    g_assert_false(pkt.offload_len);
    g_assert_cmpint(pkt.skip, !=, MX_SKIP_NONE);        /* no room for the extension header */
}

/* ---- TCP options ----------------------------------------------------------------------- */

typedef struct opt_case {
    const char *path;
    uint8_t bytes[40];
    uint32_t len;
    uint16_t mss;
    int8_t wscale;
    bool sack_ok, ts;
    uint32_t ts_val, ts_ecr;
} opt_case;

/* Raw option bytes, patched into a SYN with a 40-byte option area. */
static const opt_case opt_cases[] = {
    { "/decode/tcp-options/linux-syn", { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3, 1, 3, 3, 7 }, 20,
      1460, 7, true, true, 9, 3 },
    { "/decode/tcp-options/windows-syn", { 2, 4, 0x05, 0x8c, 1, 3, 3, 8, 1, 1, 4, 2 }, 12, 1420, 8, true, false, 0, 0 },
    { "/decode/tcp-options/wscale-capped-at-14", { 1, 3, 3, 15 }, 4, 0, 14, false, false, 0, 0 },
    { "/decode/tcp-options/eol-ends-list", { 2, 4, 0x02, 0x18, 0, 3, 3, 7 }, 8, 536, -1, false, false, 0, 0 },
    { "/decode/tcp-options/length-zero-stops", { 2, 4, 0x05, 0xb4, 30, 0, 3, 3, 7, 1, 1, 1 }, 12, 1460, -1, false, false, 0, 0 },
    { "/decode/tcp-options/length-one-stops", { 4, 1, 2, 4, 0x05, 0xb4, 1, 1 }, 8, 0, -1, false, false, 0, 0 },
    { "/decode/tcp-options/length-past-area", { 2, 4, 0x05, 0xb4, 8, 40, 0, 0, 0, 0, 0, 0 }, 12, 1460, -1, false, false, 0, 0 },
    { "/decode/tcp-options/mss-wrong-length-ignored", { 2, 3, 0x05, 1, 3, 3, 2, 1 }, 8, 0, 2, false, false, 0, 0 },
    { "/decode/tcp-options/timestamps-wrong-length", { 8, 6, 0, 0, 0, 1, 1, 1 }, 8, 0, -1, false, false, 0, 0 },
    { "/decode/tcp-options/unknown-kinds-skipped", { 30, 4, 1, 2, 34, 2, 2, 4, 0x23, 0x28, 1, 1 }, 12, 9000, -1, false, false, 0, 0 },
};

static void test_tcp_options(gconstpointer data)
{
    const opt_case *oc = data;
    pb_tcp spec = syn_spec(false);
    spec.mss = 0, spec.has_wscale = false, spec.sack_ok = false, spec.timestamps = false;
    spec.payload = "XXXX";                 /* payload right after the options */
    spec.payload_len = 4;
    pb_frame f;
    g_assert_true(pb_build_tcp(&f, PB_LINK_RAW, &spec));
    /* Rebuild the header with the option area: data offset covers it. */
    uint8_t frame[200];
    uint32_t pad = (oc->len + 3) & ~3u;
    memcpy(frame, f.data, 40);
    memset(frame + 40, 0, pad);
    memcpy(frame + 40, oc->bytes, oc->len);
    memcpy(frame + 40 + pad, "XXXX", 4);
    uint32_t total = 40 + pad + 4;
    frame[2] = (uint8_t)(total >> 8), frame[3] = (uint8_t)total;
    frame[32] = (uint8_t)(((20 + pad) / 4) << 4);
    mx_packet pkt = {0};
    mx_decode(f.dlt, frame, total, total, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_cmpuint(pkt.mss, ==, oc->mss);
    g_assert_cmpint(pkt.wscale, ==, oc->wscale);
    g_assert_cmpuint(pkt.sack_ok, ==, oc->sack_ok);
    g_assert_cmpuint(pkt.has_timestamps, ==, oc->ts);
    g_assert_cmpuint(pkt.ts_val, ==, oc->ts_val);
    g_assert_cmpuint(pkt.ts_ecr, ==, oc->ts_ecr);
    /* However broken the options, the payload is where the data offset says. */
    g_assert_true(pkt.payload == frame + 40 + pad);
    g_assert_cmpuint(pkt.payload_len, ==, 4);
}

/* ---- UDP ------------------------------------------------------------------------------- */

static void test_udp(void)
{
    static const char query[] = "\x12\x34\x01\x00\x00\x01";
    pb_udp spec = { .ip = { .src = CLIENT, .dst = "198.18.0.53" }, .sport = 53001, .dport = 53,
                    .payload = query, .payload_len = 6 };
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_udp(&f, PB_LINK_SLL, &spec));
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.l4, ==, MX_L4_UDP);
    g_assert_cmpuint(pkt.proto, ==, 17);
    g_assert_cmpuint(pkt.sport, ==, 53001);
    g_assert_cmpuint(pkt.dport, ==, 53);
    g_assert_cmpuint(pkt.payload_len, ==, 6);
    g_assert_cmpuint(pkt.payload_caplen, ==, 6);
    g_assert_true(pkt.payload == f.data + f.l4 + 8);
}

/* ---- snap length -------------------------------------------------------------------------- */

static void test_snaplen_payload(void)
{
    pb_tcp spec = data_spec(false);
    pb_frame f;
    mx_packet pkt = {0};
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    uint32_t caplen = f.l4 + 20 + 5;              /* "EHLO " survives */
    mx_decode(f.dlt, f.data, caplen, f.len, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_true(pkt.snapped);
    g_assert_cmpuint(pkt.caplen, ==, caplen);
    g_assert_cmpuint(pkt.wirelen, ==, f.len);
    g_assert_cmpuint(pkt.payload_len, ==, sizeof smtp_line - 1);
    g_assert_cmpuint(pkt.payload_caplen, ==, 5);
    g_assert_cmpmem(pkt.payload, 5, "EHLO ", 5);
    g_assert_cmpuint(pkt.seq, ==, 1001);
}

static void test_snaplen_options(void)
{
    pb_tcp spec = syn_spec(false);
    pb_frame f;
    mx_packet pkt = {0};
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    uint32_t caplen = f.l4 + 20 + 6;               /* MSS and SACK-permitted only */
    mx_decode(f.dlt, f.data, caplen, f.len, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
    g_assert_true(pkt.snapped);
    g_assert_cmpuint(pkt.tcp_flags, ==, MX_TCP_SYN);
    g_assert_cmpuint(pkt.mss, ==, 1460);
    g_assert_true(pkt.sack_ok);
    g_assert_false(pkt.has_timestamps);
    g_assert_cmpint(pkt.wscale, ==, -1);
    g_assert_cmpuint(pkt.payload_caplen, ==, 0);
}

/* Every prefix of a frame decodes without reading past it: shorter than
 * the TCP fixed header is TRUNCATED; from there on it is TCP, snapped
 * until the whole frame is there. */
static void test_every_prefix(void)
{
    for (pb_link link = 0; link < PB_LINK_COUNT; link++) {
        for (int v6 = 0; v6 <= 1; v6++) {
            if ((link == PB_LINK_IPV4 && v6) || (link == PB_LINK_IPV6 && !v6))
                continue;
            pb_tcp spec = syn_spec(v6);
            spec.payload = smtp_line, spec.payload_len = sizeof smtp_line - 1;
            pb_frame f;
            g_assert_true(pb_build_tcp(&f, link, &spec));
            for (uint32_t cut = 0; cut <= f.len; cut++) {
                uint8_t *copy = g_memdup2(f.data, cut ? cut : 1);   /* exact-size buffer: ASan sees overreads */
                mx_packet pkt = {0};
                mx_decode(f.dlt, copy, cut, f.len, &pkt);
                if (cut < f.l4 + 20) {
                    g_assert_cmpint(pkt.skip, ==, MX_SKIP_TRUNCATED);
                    g_assert_cmpint(pkt.l4, ==, MX_L4_NONE);
                } else {
                    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
                    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
                    g_assert_cmpuint(pkt.snapped, ==, cut < f.len);
                    g_assert_cmpuint(pkt.payload_caplen, ==, cut > f.l4 + 40 ? cut - f.l4 - 40 : 0);
                }
                g_free(copy);
            }
        }
    }
}

/* ---- ICMP errors -------------------------------------------------------------------------- */

typedef struct icmp_case {
    const char *path;
    bool v6;
    const char *router;
    uint8_t ttl, type, code;
    uint16_t mtu;
    uint32_t quote_len;          /* 0: the RFC default */
    bool has_seq;
} icmp_case;

static const icmp_case icmp_cases[] = {
    { "/decode/icmp/v4-admin-prohibited", false, "198.18.0.2", 63, 3, 13, 0, 0, true },
    { "/decode/icmp/v4-net-unreachable", false, "198.51.100.1", 64, 3, 0, 0, 0, true },
    { "/decode/icmp/v4-frag-needed", false, "198.18.0.2", 253, 3, 4, 1400, 0, true },
    { "/decode/icmp/v4-time-exceeded", false, "198.18.0.2", 254, 11, 0, 0, 0, true },
    { "/decode/icmp/v4-quote-ports-only", false, "198.18.0.2", 63, 3, 1, 0, 24, false },
    { "/decode/icmp/v6-admin-prohibited", true, "2001:db8:ff::2", 63, 1, 1, 0, 0, true },
    { "/decode/icmp/v6-packet-too-big", true, "2001:db8:ff::2", 63, 2, 0, 1280, 0, true },
    { "/decode/icmp/v6-address-unreachable", true, "2001:db8:ff::2", 63, 1, 3, 0, 0, true },
    { "/decode/icmp/v6-quote-ports-only", true, "2001:db8:ff::2", 63, 1, 4, 0, 44, false },
};

static void test_icmp(gconstpointer data)
{
    const icmp_case *ic = data;
    pb_tcp syn = syn_spec(ic->v6);
    pb_frame quoted, f;
    g_assert_true(pb_build_tcp(&quoted, PB_LINK_RAW, &syn));
    pb_icmp spec = { .ip = { .src = ic->router, .dst = ic->v6 ? CLIENT6 : CLIENT, .ttl = ic->ttl },
                     .type = ic->type, .code = ic->code, .mtu = ic->mtu, .quote = &quoted,
                     .quote_len = ic->quote_len };
    mx_packet pkt;
    g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_ICMP_ERROR);
    g_assert_cmpuint(pkt.proto, ==, ic->v6 ? 58 : 1);
    assert_addr(&pkt.src, ic->router);
    g_assert_cmpuint(pkt.ttl, ==, ic->ttl);
    g_assert_cmpuint(pkt.icmp_type, ==, ic->type);
    g_assert_cmpuint(pkt.icmp_code, ==, ic->code);
    g_assert_cmpuint(pkt.icmp_mtu, ==, ic->mtu);
    assert_addr(&pkt.quoted.src, ic->v6 ? CLIENT6 : CLIENT);
    assert_addr(&pkt.quoted.dst, ic->v6 ? SERVER6 : SERVER);
    g_assert_cmpuint(pkt.quoted.proto, ==, 6);
    g_assert_true(pkt.quoted.has_ports);
    g_assert_cmpuint(pkt.quoted.sport, ==, 40001);
    g_assert_cmpuint(pkt.quoted.dport, ==, 25);
    g_assert_cmpuint(pkt.quoted.has_seq, ==, ic->has_seq);
    g_assert_cmpuint(pkt.quoted.seq, ==, ic->has_seq ? 0x1a2b3c4d : 0);
}

/* An ICMP error quoting a later fragment has no ports to match. */
static void test_icmp_quoting_fragment(void)
{
    pb_tcp frag = data_spec(false);
    frag.ip.frag_offset = 185;
    pb_frame quoted, f;
    g_assert_true(pb_build_tcp(&quoted, PB_LINK_RAW, &frag));
    pb_icmp spec = { .ip = { .src = "198.18.0.2", .dst = CLIENT, .ttl = 63 }, .type = 3, .code = 13, .quote = &quoted };
    mx_packet pkt;
    g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.l4, ==, MX_L4_ICMP_ERROR);
    g_assert_false(pkt.quoted.has_ports);
    g_assert_false(pkt.quoted.has_seq);
    assert_addr(&pkt.quoted.dst, SERVER);
}

/* Echo requests and replies are not errors: nothing to match. */
static void test_icmp_not_error(void)
{
    pb_tcp syn = syn_spec(false);
    pb_frame quoted, f;
    g_assert_true(pb_build_tcp(&quoted, PB_LINK_RAW, &syn));
    for (int v6 = 0; v6 <= 1; v6++) {
        syn = syn_spec(v6);
        g_assert_true(pb_build_tcp(&quoted, PB_LINK_RAW, &syn));
        pb_icmp spec = { .ip = { .src = v6 ? SERVER6 : SERVER, .dst = v6 ? CLIENT6 : CLIENT },
                         .type = v6 ? 129 : 0, .code = 0, .quote = &quoted };
        mx_packet pkt;
        g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
        pb_decode(&f, &pkt);
        g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
        g_assert_cmpint(pkt.l4, ==, MX_L4_OTHER);
        g_assert_cmpuint(pkt.icmp_type, ==, v6 ? 129 : 0);
    }
}

/* ---- hostile input ------------------------------------------------------------------------- */

typedef struct hostile_case {
    const char *path;
    pb_link link;
    bool v6;
    /* Where to write, relative to the IP header (or the frame start when
     * from_frame), and what. */
    bool from_frame;
    int32_t offset;
    uint8_t bytes[4];
    uint32_t n_bytes;
    int32_t caplen;              /* < 0: the whole frame */
    mx_skip_reason skip;
} hostile_case;

static const hostile_case hostile_cases[] = {
    { "/decode/hostile/ihl-4", PB_LINK_ETH, false, false, 0, { 0x44 }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/ihl-0", PB_LINK_ETH, false, false, 0, { 0x40 }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/ihl-15-eats-tcp-header", PB_LINK_ETH, false, false, 0, { 0x4f }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/total-length-below-ihl", PB_LINK_ETH, false, false, 2, { 0x00, 0x0a }, 2, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/total-length-no-tcp-room", PB_LINK_ETH, false, false, 2, { 0x00, 0x1e }, 2, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/ip-version-5", PB_LINK_ETH, false, false, 0, { 0x55 }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/tcp-offset-past-segment", PB_LINK_ETH, false, false, 20 + 12, { 0xf0 }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/tcp-offset-inside-header", PB_LINK_ETH, false, false, 20 + 12, { 0x40 }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/tcp-offset-zero", PB_LINK_ETH, false, false, 20 + 12, { 0x00 }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/ipv6-payload-length-zero", PB_LINK_ETH, true, false, 4, { 0x00, 0x00 }, 2, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/tcp-offset-past-segment-v6", PB_LINK_ETH, true, false, 40 + 12, { 0xf0 }, 1, -1, MX_SKIP_MALFORMED },
    { "/decode/hostile/zero-length", PB_LINK_ETH, false, true, 0, { 0 }, 0, 0, MX_SKIP_TRUNCATED },
    { "/decode/hostile/one-byte-ethernet", PB_LINK_ETH, false, true, 0, { 0 }, 0, 1, MX_SKIP_TRUNCATED },
    { "/decode/hostile/one-byte-sll", PB_LINK_SLL, false, true, 0, { 0 }, 0, 1, MX_SKIP_TRUNCATED },
    { "/decode/hostile/one-byte-sll2", PB_LINK_SLL2, false, true, 0, { 0 }, 0, 1, MX_SKIP_TRUNCATED },
    { "/decode/hostile/one-byte-raw", PB_LINK_RAW, false, true, 0, { 0 }, 0, 1, MX_SKIP_TRUNCATED },
    { "/decode/hostile/one-byte-null", PB_LINK_NULL, false, true, 0, { 0 }, 0, 1, MX_SKIP_TRUNCATED },
    { "/decode/hostile/ethernet-header-only", PB_LINK_ETH, false, true, 0, { 0 }, 0, 14, MX_SKIP_TRUNCATED },
    { "/decode/hostile/vlan-tag-cut", PB_LINK_VLAN, false, true, 0, { 0 }, 0, 16, MX_SKIP_TRUNCATED },
    { "/decode/hostile/ipv4-header-cut", PB_LINK_ETH, false, true, 0, { 0 }, 0, 24, MX_SKIP_TRUNCATED },
    { "/decode/hostile/ipv6-header-cut", PB_LINK_ETH, true, true, 0, { 0 }, 0, 14 + 39, MX_SKIP_TRUNCATED },
    { "/decode/hostile/raw-not-ip", PB_LINK_RAW, false, false, 0, { 0x00 }, 1, -1, MX_SKIP_MALFORMED },
};

static void test_hostile(gconstpointer data)
{
    const hostile_case *hc = data;
    pb_tcp spec = data_spec(hc->v6);
    pb_frame f;
    g_assert_true(pb_build_tcp(&f, hc->link, &spec));
    uint32_t at = (hc->from_frame ? 0 : f.l3) + (uint32_t)hc->offset;
    memcpy(f.data + at, hc->bytes, hc->n_bytes);
    uint32_t caplen = hc->caplen < 0 ? f.len : (uint32_t)hc->caplen;
    uint8_t *copy = g_memdup2(f.data, caplen ? caplen : 1);
    mx_packet pkt = {0};
    mx_decode(f.dlt, copy, caplen, f.len, &pkt);
    g_assert_cmpint(pkt.skip, ==, hc->skip);
    g_assert_cmpint(pkt.l4, ==, MX_L4_NONE);
    g_free(copy);
}

/* More 802.1Q tags than any real frame has. */
static void test_hostile_vlan_stack(void)
{
    pb_tcp spec = data_spec(false);
    pb_frame f;
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    uint8_t frame[PB_FRAME_MAX];
    memcpy(frame, f.data, 12);
    uint32_t n = 12;
    for (int i = 0; i < 5; i++) {
        frame[n++] = 0x81, frame[n++] = 0x00, frame[n++] = 0x00, frame[n++] = (uint8_t)(i + 1);
    }
    memcpy(frame + n, f.data + 12, f.len - 12);
    n += f.len - 12;
    mx_packet pkt = {0};
    mx_decode(f.dlt, frame, n, n, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_MALFORMED);

    /* Four tags are still decoded. */
    memmove(frame + 12, frame + 16, n - 16);
    n -= 4;
    memset(&pkt, 0, sizeof pkt);
    mx_decode(f.dlt, frame, n, n, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_NONE);
    g_assert_cmpint(pkt.l4, ==, MX_L4_TCP);
}

/* An IPv6 extension header claiming more bytes than the payload holds. */
static void test_hostile_ipv6_ext_length(void)
{
    pb_tcp spec = data_spec(true);
    spec.ip.v6_hop_by_hop = true;
    pb_frame f;
    g_assert_true(pb_build_tcp(&f, PB_LINK_RAW, &spec));
    f.data[41] = 200;                                  /* hdr ext len: 1608 bytes */
    mx_packet pkt;
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_MALFORMED);

    /* A chain of nine hop-by-hop headers (each pointing at another). */
    uint8_t frame[40 + 9 * 8 + 20];
    memcpy(frame, f.data, 40);
    frame[6] = 0;
    for (int i = 0; i < 9; i++) {
        uint8_t *h = frame + 40 + i * 8;
        memset(h, 0, 8);
        h[0] = i == 8 ? 6 : 0;
        h[2] = 1, h[3] = 4;
    }
    memcpy(frame + 40 + 72, f.data + f.l4, 20);
    frame[4] = 0, frame[5] = 72 + 20;
    memset(&pkt, 0, sizeof pkt);
    mx_decode(f.dlt, frame, sizeof frame, sizeof frame, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_MALFORMED);
}

/* ICMP errors whose quote is missing or nonsense. */
static void test_hostile_icmp(void)
{
    pb_tcp syn = syn_spec(false);
    pb_frame quoted, f;
    g_assert_true(pb_build_tcp(&quoted, PB_LINK_RAW, &syn));
    pb_icmp spec = { .ip = { .src = "198.18.0.2", .dst = CLIENT, .ttl = 63 }, .type = 3, .code = 13,
                     .quote = &quoted, .quote_len = 1 };
    mx_packet pkt;
    g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
    pb_decode(&f, &pkt);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_TRUNCATED);
    g_assert_cmpint(pkt.l4, ==, MX_L4_NONE);

    /* Quoted IHL 3: nonsense, whichever of the two it is called. */
    spec.quote_len = 0;
    g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
    f.data[f.l4 + 8] = 0x43;
    pb_decode(&f, &pkt);
    g_assert_true(pkt.skip == MX_SKIP_TRUNCATED || pkt.skip == MX_SKIP_MALFORMED);
    g_assert_cmpint(pkt.l4, ==, MX_L4_NONE);

    /* ICMP header itself cut */
    g_assert_true(pb_build_icmp(&f, PB_LINK_ETH, &spec));
    mx_packet cut = {0};
    mx_decode(f.dlt, f.data, f.l4 + 5, f.len, &cut);
    g_assert_cmpint(cut.skip, ==, MX_SKIP_TRUNCATED);
}

/* Random bytes behind every link type: decode must only ever stop. */
static void test_hostile_random(void)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(20231114);
    static const int dlts[] = { 1, 113, 276, 12, 228, 229, 0, 108 };
    uint32_t counts[5] = {0};
    for (int i = 0; i < 20000; i++) {
        uint32_t len = (uint32_t)g_rand_int_range(rand, 0, 120);
        uint8_t *buf = g_malloc(len ? len : 1);
        for (uint32_t j = 0; j < len; j++)
            buf[j] = (uint8_t)g_rand_int(rand);
        /* Half the time, make it look like IP so the deeper steps run. */
        int dlt = dlts[i % G_N_ELEMENTS(dlts)];
        if (len > 0 && (i & 1) && (dlt == 12 || dlt == 228 || dlt == 229))
            buf[0] = (uint8_t)((buf[0] & 0x0f) | ((i & 2) ? 0x60 : 0x40));
        mx_packet pkt = {0};
        mx_decode(dlt, buf, len, len, &pkt);
        g_assert_cmpint(pkt.skip, <=, MX_SKIP_TRUNCATED);
        if (pkt.l4 == MX_L4_TCP || pkt.l4 == MX_L4_UDP)
            g_assert_true(pkt.payload >= buf && pkt.payload + pkt.payload_caplen <= buf + len);
        counts[pkt.skip]++;
        g_free(buf);
    }
    g_test_message("random frames: none %u link %u fragment %u malformed %u truncated %u",
                   counts[0], counts[1], counts[2], counts[3], counts[4]);
    g_assert_cmpuint(counts[MX_SKIP_TRUNCATED], >, 0);
    g_assert_cmpuint(counts[MX_SKIP_MALFORMED], >, 0);
}

/* decode keeps the capture fields and resets everything else. */
static void test_reset_between_packets(void)
{
    pb_tcp spec = syn_spec(false);
    pb_frame f;
    mx_packet pkt;
    g_assert_true(pb_build_tcp(&f, PB_LINK_ETH, &spec));
    pb_decode(&f, &pkt);
    g_assert_cmpuint(pkt.mss, ==, 1460);
    pkt.frame = 77, pkt.file_index = 2, pkt.ts_us = 1234;
    mx_decode(f.dlt, f.data, 1, 1, &pkt);
    g_assert_cmpuint(pkt.frame, ==, 77);
    g_assert_cmpuint(pkt.file_index, ==, 2);
    g_assert_cmpint(pkt.ts_us, ==, 1234);
    g_assert_cmpuint(pkt.mss, ==, 0);
    g_assert_cmpint(pkt.wscale, ==, -1);
    g_assert_cmpuint(pkt.ip_version, ==, 0);
    g_assert_cmpint(pkt.skip, ==, MX_SKIP_TRUNCATED);
}

/* mx_addr_str writes IPv4 by hand: the same text as inet_ntop, every octet
 * width, and "?" rather than a cut address when the buffer is short. */
static void test_addr_str(void)
{
    GRand *rand = g_rand_new_with_seed(19);
    for (int i = 0; i < 100000; i++) {
        mx_addr a = { .family = 4 };
        guint32 v = i < 256 ? (guint32)i * 0x01010101u : g_rand_int(rand);
        memcpy(a.bytes, &v, 4);
        char got[64], want[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, a.bytes, want, sizeof want);
        g_assert_cmpstr(mx_addr_str(&a, got, sizeof got), ==, want);
    }
    mx_addr a = { .family = 4, .bytes = { 255, 255, 255, 255 } };
    char small[8];
    g_assert_cmpstr(mx_addr_str(&a, small, sizeof small), ==, "?");
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* One wrong field should not hide the next case's result. */
    g_test_set_nonfatal_assertions();
    for (size_t i = 0; i < G_N_ELEMENTS(link_cases); i++)
        g_test_add_data_func(link_cases[i].path, &link_cases[i], test_link);
    g_test_add_func("/decode/link/unsupported", test_link_unsupported);
    g_test_add_func("/decode/link/not-ip", test_link_not_ip);
    g_test_add_func("/decode/link/payload-pointer", test_link_payload_pointer);
    g_test_add_func("/decode/link/ethernet-padding", test_ethernet_padding);
    g_test_add_func("/decode/ipv4/options", test_ipv4_options);
    for (size_t i = 0; i < G_N_ELEMENTS(frag_cases); i++)
        g_test_add_data_func(frag_cases[i].path, &frag_cases[i], test_fragment);
    g_test_add_func("/decode/ipv6/hop-by-hop", test_ipv6_hop_by_hop);
    g_test_add_func("/decode/offload/ipv4-length-zero", test_offload_ipv4);
    g_test_add_func("/decode/offload/ipv6-jumbo", test_offload_ipv6_jumbo);
    for (size_t i = 0; i < G_N_ELEMENTS(opt_cases); i++)
        g_test_add_data_func(opt_cases[i].path, &opt_cases[i], test_tcp_options);
    g_test_add_func("/decode/udp", test_udp);
    g_test_add_func("/decode/snaplen/payload", test_snaplen_payload);
    g_test_add_func("/decode/snaplen/options", test_snaplen_options);
    g_test_add_func("/decode/snaplen/every-prefix", test_every_prefix);
    for (size_t i = 0; i < G_N_ELEMENTS(icmp_cases); i++)
        g_test_add_data_func(icmp_cases[i].path, &icmp_cases[i], test_icmp);
    g_test_add_func("/decode/icmp/quoting-fragment", test_icmp_quoting_fragment);
    g_test_add_func("/decode/icmp/not-an-error", test_icmp_not_error);
    for (size_t i = 0; i < G_N_ELEMENTS(hostile_cases); i++)
        g_test_add_data_func(hostile_cases[i].path, &hostile_cases[i], test_hostile);
    g_test_add_func("/decode/hostile/vlan-stack", test_hostile_vlan_stack);
    g_test_add_func("/decode/hostile/ipv6-extension-length", test_hostile_ipv6_ext_length);
    g_test_add_func("/decode/hostile/icmp", test_hostile_icmp);
    g_test_add_func("/decode/hostile/random", test_hostile_random);
    g_test_add_func("/decode/reset-between-packets", test_reset_between_packets);
    g_test_add_func("/decode/addr-str", test_addr_str);
    return g_test_run();
}
