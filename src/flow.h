/* SPDX-License-Identifier: BSD-3-Clause */
/* flow.h — the TCP flow table: per-direction state of every SMTP-port connection.
 *
 * Takes: decoded packets (TCP on a tracked port, ICMP errors quoting one).
 * Produces: mx_flow records, handed to the finish callback when the flow
 * closes, idles out, is evicted, or the input ends.  Owns the flows and,
 * through them, each flow's stream reassembly and SMTP state.
 *
 * Client and server are told apart by port: the side on a tracked SMTP
 * port is the server, which holds even when the capture starts mid-session.
 */
#ifndef MX_FLOW_H
#define MX_FLOW_H

#include "caps.h"
#include "packet.h"
#include "ladder.h"

struct mx_stream;
struct mx_smtp;

typedef struct mx_inflight {
    uint32_t seq_end;
    uint16_t len;                 /* 0: free */
    bool resent;
    bool through;                 /* arrived although data before it had not: SACKed or dup-ACKed */
    mx_frame_ref at;
} mx_inflight;

/* The smallest segment that crossed the path beyond a hole: evidence that
 * small packets pass where larger ones vanish (PMTU black hole). */
typedef struct mx_through {
    mx_frame_ref seg, ack;
    uint32_t seq_end;
    uint16_t len;                 /* 0: none (any more) */
    bool by_sack;                 /* false: a duplicate ACK without SACK answered it */
} mx_through;

typedef struct mx_dir_state {
    /* Fields sorted by size: a table of 65,536 flows pays for every
     * padding byte twice per flow. */
    uint64_t packets, bytes;
    uint64_t payload_bytes;       /* payload as claimed by IP lengths */
    int64_t first_ts, last_ts;
    mx_frame_ref first_ack_at, max_ack_at;
    mx_frame_ref first_data, last_data, last_retransmit;
    mx_frame_ref fin;
    mx_frame_ref rst;
    mx_frame_ref after_rst;       /* a packet this side sent after its own RST */

    /* Segments not yet ACKed, in the order sent (a retransmission marks its
     * entry rather than taking a new one, so the flight stays in view).
     * MX_INFLIGHT_RING entries allocated with the first data segment: a
     * direction that sends none (every flood SYN) does not carry 512 bytes. */
    mx_inflight *inflight;        /* NULL: no data sent */
    mx_through *through;          /* allocated when first seen; NULL: none */
    uint8_t inflight_next;

    uint32_t retransmits;         /* segments whose data was sent before (and SYN retries) */
    uint32_t data_segments;       /* segments carrying payload */
    uint32_t isn;                 /* from the SYN; else the first seq seen */
    uint32_t seq_end;             /* highest seq + len sent (absolute) */
    uint32_t max_ack;             /* highest ACK this side sent (absolute) */
    uint32_t first_ack;           /* the first ACK this side sent: the peer's ISN + 1 after a handshake */
    uint32_t window;
    bool seq_known;
    bool ack_known;
    uint8_t flags_seen;           /* OR of every TCP flag byte */
    int8_t wscale;
    uint16_t mss;                 /* from its SYN; 0 = absent */

    /* Hop-model inputs from packets this side really sent. */
    bool ttl_known;
    uint8_t ttl_first, ttl_min, ttl_max;
    uint16_t ip_id_last;
    uint32_t ip_id_samples, ip_id_zero, ip_id_small_step;
    uint16_t max_segment;         /* largest payload sent */
    uint16_t max_retransmitted;   /* largest payload sent again */
    uint16_t max_acked_segment;   /* largest payload the peer ACKed */

    uint8_t rst_ttl;
    bool rst_has_ip_id;
    uint16_t rst_ip_id;
    uint16_t rst_prev_ip_id;      /* IP ID of this side's last genuine packet before the RST */
    uint32_t rst_seq;
    uint32_t rst_expected_seq;    /* this side's next sequence number when the RST came */
    uint32_t rst_prev_samples;    /* genuine packets with an IP ID before the RST */
    uint32_t rst_count;
    uint32_t rst_seq_rising;      /* later RSTs with a higher sequence number (injectors spray a window) */
} mx_dir_state;

/* The table's LRU lists (mx_flow.lru_list). */
enum { MX_FLOW_LIST_OPEN, MX_FLOW_LIST_UNANSWERED, MX_FLOW_LIST_CLOSED };

typedef struct mx_flow_key {
    mx_addr client, server;
    uint16_t client_port, server_port;
} mx_flow_key;

typedef struct mx_flow {
    mx_flow_key key;
    uint64_t id;                  /* 1-based, in order of first packet */
    mx_dir_state dir[2];          /* MX_DIR_C2S, MX_DIR_S2C */

    /* Handshake */
    bool saw_syn;                 /* false: the capture began mid-session */
    uint32_t syn_count;
    mx_frame_ref *syn;            /* min(syn_count, MX_SYN_TIMES_MAX) of them: `syn_one`
                                   * for the first, allocated as retries come */
    uint32_t syn_cap;
    mx_frame_ref syn_one;
    uint8_t syn_ttl;
    uint32_t synack_count;
    mx_frame_ref synack;
    uint8_t synack_ttl;
    mx_frame_ref established;     /* client's ACK of the SYN-ACK */
    int64_t rtt_us;               /* last SYN to SYN-ACK: the full round trip seen from the gateway; -1 unknown */

    /* Zeek conn.log history letters, upper case for the client. */
    char history[MX_HISTORY_MAX + 1];
    uint8_t history_len;
    uint64_t history_once;        /* letters already recorded: bit (letter - a), +32 for the server */
    uint32_t history_repeat_mark[2]; /* next retransmission count that earns another t/T */

    /* ICMP errors quoting this flow's packets */
    uint32_t icmp_count;
    mx_frame_ref icmp;
    mx_addr icmp_src;
    uint8_t icmp_type, icmp_code, icmp_ttl;
    bool icmp_v6;
    mx_frame_ref frag_needed;     /* ICMP frag-needed / packet-too-big */
    uint16_t frag_needed_mtu;

    /* Life cycle */
    int64_t first_ts, last_ts;
    mx_frame_ref first_frame, last_frame;
    bool closed;                  /* both FINs, or a RST */
    bool evicted;                 /* finished early because the table was full */

    mx_ladder *ladder;            /* first and last packets, for reports; NULL when
                                   * no report draws them (mx_flow_table_skip_ladders) */

    struct mx_stream *stream[2];  /* created with the first payload */
    struct mx_smtp *smtp;

    /* Position in the table's open, unanswered or closed list, least
     * recently active first; lru_seq orders flows across the lists. */
    struct mx_flow *lru_prev, *lru_next;
    uint64_t lru_seq;
    uint8_t lru_list;             /* MX_FLOW_LIST_*: the list it is on, kept, not recomputed */
} mx_flow;

typedef void (*mx_flow_finish_fn)(mx_flow *flow, void *ctx);

typedef struct mx_flow_stats {
    uint64_t flows;               /* flows created */
    uint64_t evicted;             /* finished early: table full */
    uint64_t icmp_unmatched;      /* ICMP errors quoting no tracked flow */
    uint64_t active_max;          /* most flows tracked at once */
} mx_flow_stats;

typedef struct mx_flow_table mx_flow_table;

/* ports: tracked SMTP server ports (n of them). */
mx_flow_table *mx_flow_table_new(const uint16_t *ports, size_t n_ports, size_t max_flows,
                                 mx_flow_finish_fn finish, void *ctx);
void mx_flow_table_free(mx_flow_table *t);
/* New flows keep no ladder (JSON has none): 1.3 KB less a flow, and no
 * step recorded per packet. */
void mx_flow_table_skip_ladders(mx_flow_table *t);

bool mx_flow_table_port_tracked(const mx_flow_table *t, uint16_t port);

/* One decoded packet; returns the flow it belonged to, or NULL. */
mx_flow *mx_flow_table_packet(mx_flow_table *t, const mx_packet *pkt);

/* Finishes flows idle at the capture time now (call as time advances). */
void mx_flow_table_expire(mx_flow_table *t, int64_t now_us);

/* Idle limit of one open flow, chosen by the caller (live: per phase). */
typedef int64_t (*mx_flow_idle_fn)(const mx_flow *f, void *ctx);

/* Live capture's timers on wall-clock time: finishes closed flows quiet
 * for linger_us and open flows quiet for idle(f).  min_idle_us is the
 * least idle() returns: flows quieter than that are not asked. */
void mx_flow_table_expire_timed(mx_flow_table *t, int64_t now_us, int64_t linger_us,
                                int64_t min_idle_us, mx_flow_idle_fn idle, void *ctx);

/* The flow hash's key: random per run unless set before the first table
 * is made (tests: the outputs must not depend on it). */
void mx_flow_hash_key(uint64_t k0, uint64_t k1);

/* Finishes every flow still open (end of input). */
void mx_flow_table_finish_all(mx_flow_table *t);

const mx_flow_stats *mx_flow_table_stats(const mx_flow_table *t);
size_t mx_flow_table_active(const mx_flow_table *t);

/* Bytes of this direction's stream the peer has acknowledged (relative to ISN+1). */
uint32_t mx_flow_acked_bytes(const mx_flow *f, int dir);
/* Bytes this direction has sent (relative to ISN+1). */
uint32_t mx_flow_sent_bytes(const mx_flow *f, int dir);

#endif
