/* SPDX-License-Identifier: BSD-3-Clause */
/* pktbuild.h — packets for tests: frames built with libnet, captures written with libpcap,
 * and the fixture that feeds them through mxray's decode and flow table.
 *
 * Three layers, each usable alone:
 *   1. pb_build_tcp/udp/icmp: one frame from a spec (designated initialisers;
 *      zero means "the usual": TTL 64, window 64240, no options).  The IP packet
 *      and transport header come from libnet (LIBNET_NONE: no root, nothing
 *      sent); link headers libnet has no builder for (QinQ, Linux cooked,
 *      BSD null) are written here byte by byte.
 *   2. pb_conv: one TCP connection seen from the client's capture point, with
 *      sequence numbers, ACKs, TTLs and IP IDs kept consistent, so a test
 *      says "SYN at 0 s, SYN-ACK at 20 ms, EHLO ..." and nothing else.
 *   3. pb_feed: decode + flow table, the sink tests use instead of repeating
 *      packet-to-flow boilerplate; with diagnosis, the analyzer `mxray read`
 *      judges with (mx_read_analyzer_new); pb_pcap: the sink gencap uses.
 */
#ifndef MX_TESTS_PKTBUILD_H
#define MX_TESTS_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "analyzer.h"
#include "flow.h"
#include "read-run.h"
#include "session.h"

/* Longest frame a test builds (a jumbo frame is more than any test needs). */
#define PB_FRAME_MAX 9200

/* A fixed epoch for every generated capture: 2023-11-14T22:13:20Z. */
#define PB_EPOCH_US (1700000000LL * 1000000)
#define PB_MS(x) ((int64_t)(x) * 1000)
#define PB_S(x) ((int64_t)(x) * 1000000)

typedef enum pb_link {
    PB_LINK_ETH,             /* Ethernet II */
    PB_LINK_VLAN,            /* Ethernet + one 802.1Q tag */
    PB_LINK_QINQ,            /* Ethernet + 802.1ad outer tag + 802.1Q inner tag */
    PB_LINK_SLL,             /* Linux cooked v1 (tcpdump -i any before libpcap 1.10) */
    PB_LINK_SLL2,            /* Linux cooked v2 */
    PB_LINK_RAW,             /* DLT_RAW: the IP header first */
    PB_LINK_IPV4,            /* DLT_IPV4 */
    PB_LINK_IPV6,            /* DLT_IPV6 */
    PB_LINK_NULL,            /* BSD loopback, family in this host's byte order */
    PB_LINK_NULL_SWAPPED,    /* BSD loopback written by a host of the other byte order */
    PB_LINK_LOOP,            /* DLT_LOOP: family in network byte order (OpenBSD) */
    PB_LINK_ETAG,            /* Ethernet + IEEE 802.1BR E-Tag (0x893f) + 802.1Q tag */
    PB_LINK_COUNT
} pb_link;

int pb_link_dlt(pb_link link);
const char *pb_link_name(pb_link link);
/* Bytes of link header before the IP header. */
uint32_t pb_link_header_len(pb_link link);

typedef struct pb_frame {
    uint8_t data[PB_FRAME_MAX];
    uint32_t len;            /* whole frame */
    uint32_t l3;             /* offset of the IP header */
    uint32_t l4;             /* offset of the transport header (after IPv4 options / IPv6 extensions) */
    int dlt;
} pb_frame;

/* The IP layer of every spec. */
typedef struct pb_ip {
    const char *src, *dst;   /* "198.51.100.10" or "2001:db8::10": the family follows */
    uint8_t ttl;             /* 0: 64 */
    uint16_t id;             /* IPv4 ID; IPv6 fragment header identification */
    bool df;
    uint16_t frag_offset;    /* in 8-byte units (IPv4, or the IPv6 fragment header) */
    bool more_fragments;
    const uint8_t *options;  /* IPv4 options (a multiple of 4 bytes) */
    uint32_t options_len;
    bool v6_hop_by_hop;      /* IPv6: an 8-byte hop-by-hop header (PadN) first */
    bool v6_fragment;        /* IPv6: a fragment header (frag_offset, more_fragments, id) */
} pb_ip;

#define PB_WINDOW_ZERO (-1)

typedef struct pb_tcp {
    pb_ip ip;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;           /* MX_TCP_* */
    int window;              /* 0: 64240; PB_WINDOW_ZERO: a zero window */
    uint16_t mss;            /* 0: no option */
    bool has_wscale;
    uint8_t wscale;
    bool sack_ok;
    bool timestamps;
    uint32_t ts_val, ts_ecr;
    uint8_t sack_blocks;     /* SACK option blocks (at most 3 with timestamps) */
    uint32_t sack[4][2];     /* left, right edge */
    const void *payload;
    uint32_t payload_len;
} pb_tcp;

typedef struct pb_udp {
    pb_ip ip;
    uint16_t sport, dport;
    const void *payload;
    uint32_t payload_len;
} pb_udp;

typedef struct pb_icmp {
    pb_ip ip;                /* the router's address and TTL */
    uint8_t type, code;      /* ICMP (v4) or ICMPv6, by the addresses' family */
    uint16_t mtu;            /* frag-needed (3/4) / packet-too-big (v6 type 2) */
    const pb_frame *quote;   /* the packet quoted: its IP header onwards */
    uint32_t quote_len;      /* 0: IP header + 8 bytes (RFC 792) for IPv4, all of it for IPv6 */
} pb_icmp;

/* Each returns false (with a g_test message) when libnet refuses the spec. */
bool pb_build_tcp(pb_frame *f, pb_link link, const pb_tcp *spec);
bool pb_build_udp(pb_frame *f, pb_link link, const pb_udp *spec);
bool pb_build_icmp(pb_frame *f, pb_link link, const pb_icmp *spec);

/* ---- pcap files -------------------------------------------------------- */

typedef struct pb_pcap pb_pcap;

/* snaplen 0: 262144.  Frames longer than snaplen are cut (caplen < len). */
pb_pcap *pb_pcap_open(const char *path, int dlt, uint32_t snaplen);
void pb_pcap_write(pb_pcap *w, const uint8_t *data, uint32_t len, int64_t ts_us);
void pb_pcap_close(pb_pcap *w);

/* ---- sinks --------------------------------------------------------------- */

typedef void (*pb_emit_fn)(void *ctx, const pb_frame *f, int64_t ts_us);

/* ---- one TCP connection ---------------------------------------------------- */

enum { PB_C2S = 0, PB_S2C = 1 };

typedef struct pb_conv {
    pb_link link;
    const char *addr[2];     /* client, server */
    uint16_t port[2];        /* client, server */
    uint32_t isn[2];
    uint32_t next_seq[2];    /* next sequence number each side sends */
    bool syn_sent[2];        /* the side's SYN went out: its peer can ACK it */
    uint8_t ttl[2];          /* TTL each side's packets show at the capture point */
    uint16_t ip_id[2];       /* next IPv4 ID per side (incremented per packet) */
    bool ip_id_zero[2];      /* Linux with DF: IP ID 0 on every packet */
    uint16_t mss[2];         /* SYN / SYN-ACK options (0: none) */
    pb_emit_fn emit;
    void *ctx;
    uint64_t frames;         /* frames emitted so far (the last one's number) */
} pb_conv;

/* Client at hop 0 (capture on the client: TTL 64), server TTL 62 (hop 3),
 * MSS 1460, sequence numbers from the ISNs given. */
void pb_conv_init(pb_conv *c, pb_link link, const char *client, uint16_t client_port,
                  const char *server, uint16_t server_port, uint32_t client_isn, uint32_t server_isn,
                  pb_emit_fn emit, void *ctx);

/* Any segment from side dir; seq is the side's next_seq, ack the peer's
 * (when the peer's SYN was seen); data advances next_seq.  ttl 0: the side's. */
void pb_conv_segment(pb_conv *c, int dir, int64_t t, uint8_t flags, const void *data, uint32_t len, uint8_t ttl);
void pb_conv_syn(pb_conv *c, int64_t t);            /* client SYN (again: a retransmission) */
void pb_conv_synack(pb_conv *c, int64_t t);
void pb_conv_ack(pb_conv *c, int dir, int64_t t);
void pb_conv_send(pb_conv *c, int dir, int64_t t, const char *text);
/* The same bytes again at the same sequence numbers (a retransmission). */
void pb_conv_resend(pb_conv *c, int dir, int64_t t, uint32_t seq, const char *text);
void pb_conv_fin(pb_conv *c, int dir, int64_t t);
/* RST|ACK claiming side dir, arriving with ttl (0: the side's own). */
void pb_conv_rst(pb_conv *c, int dir, int64_t t, uint8_t ttl);
/* An ICMP error from router `from` (arriving with ttl) quoting the client's SYN. */
void pb_conv_icmp(pb_conv *c, int64_t t, const char *from, uint8_t ttl, uint8_t type, uint8_t code);
/* SYN at t, SYN-ACK at t + rtt, ACK at t + rtt + 0.1 ms. */
void pb_conv_handshake(pb_conv *c, int64_t t, int64_t rtt);
/* Client line at t (ACKed with the reply at t + delay), reply, client ACK. */
void pb_conv_exchange(pb_conv *c, int64_t t, const char *command, const char *reply, int64_t delay);

/* ---- the pipeline fixture -------------------------------------------------- */

typedef struct pb_feed {
    mx_flow_table *table;    /* without diagnosis: the flow table alone */
    mx_analyzer *an;         /* with it: the analyzer `read` judges with (refusals held) */
    GArray *finished;        /* of mx_flow: a copy of each finished flow, taken in the
                              * finish callback (the table frees the flow right after
                              * it): stream/smtp/ladder pointers cleared, SYN times and
                              * in-flight rings copied (pb_feed_clear frees them) */
    GPtrArray *sessions;     /* of mx_session*, with diagnosis, as the analyzer hands them over */
    mx_packet last;          /* the last decoded packet */
    uint64_t frames;         /* frames fed: the next frame number - 1 */
    uint64_t skipped;        /* frames decode did not take to a transport header */
} pb_feed;

/* ports NULL: port 25 only; max_flows 0: MX_MAX_FLOWS.  diagnose: frames
 * go through mx_analyzer (sessions, no flow copies), else through the
 * flow table alone (flow copies, no sessions). */
void pb_feed_init(pb_feed *feed, const uint16_t *ports, size_t n_ports, size_t max_flows, bool diagnose);
void pb_feed_clear(pb_feed *feed);
/* Decodes one frame (numbered in order of feeding) and hands it to the
 * table (returning its flow) or to the analyzer (returning NULL). */
mx_flow *pb_feed_frame(pb_feed *feed, const pb_frame *f, int64_t ts_us);
/* End of input: every open flow finishes (with diagnosis: mx_analyzer_finish,
 * held refusals judged again with every server's baseline). */
void pb_feed_finish(pb_feed *feed);
/* pb_emit_fn for pb_conv: ctx is a pb_feed. */
void pb_feed_emit(void *ctx, const pb_frame *f, int64_t ts_us);
mx_session *pb_feed_session(pb_feed *feed, guint i);

/* A built frame as a source hands it to the analyzer (file 0). */
mx_raw_frame pb_raw_frame(const pb_frame *f, int64_t ts_us, uint64_t frame);

/* Decodes a frame into pkt (frame number 1, time 0). */
void pb_decode(const pb_frame *f, mx_packet *pkt);

/* "198.51.100.10" -> mx_addr (asserts it parses). */
mx_addr pb_addr(const char *text);

#endif
