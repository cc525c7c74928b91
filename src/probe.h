/* SPDX-License-Identifier: BSD-3-Clause */
/* probe.h — what `mxray probe` measures: the TTL ladder and the path verdict (its limits: caps.h).
 *
 * The probe has four stages, one file each:
 *   probe-ladder.c   TCP SYNs with rising TTL (libnet) and their answers (libpcap) -> mx_probe_ladder
 *   probe-path.c     mx_probe_ladder -> mx_probe_path (open, closed, forged_rst, ...)
 *   probe-smtp.c     an ordinary SMTP dialogue, captured and run through the analyzer -> mx_session
 *   probe-report.c   ladder + path + session -> text or JSON (probe-v1 schema)
 * cmd-probe.c resolves the target, picks the source and runs them in that order.
 *
 * Hops are numbered as traceroute numbers them (DESIGN.md, Hop model): the
 * first router is hop 1, a server behind two routers is hop 3.
 */
#ifndef MX_PROBE_H
#define MX_PROBE_H

#include <glib.h>
#include "caps.h"
#include "packet.h"

/* ---- errors: missing rights are told apart (exit status 2, said clearly) -- */

#define MX_PROBE_ERROR (mx_probe_error_quark())
typedef enum mx_probe_error_code {
    MX_PROBE_ERROR_RIGHTS,       /* no raw sockets or capture: not root, no CAP_NET_RAW */
    MX_PROBE_ERROR_SETUP,        /* an interface, address or filter that does not work */
} mx_probe_error_code;
GQuark mx_probe_error_quark(void);

/* ---- the ladder ----------------------------------------------------------- */

typedef enum mx_probe_reply_type {
    MX_PROBE_NONE,               /* no answer within the wait */
    MX_PROBE_TIME_EXCEEDED,      /* ICMP 11 / ICMPv6 3 from a router */
    MX_PROBE_UNREACHABLE,        /* ICMP 3 / ICMPv6 1, with its code */
    MX_PROBE_SYNACK,             /* the port is open */
    MX_PROBE_RST,                /* a RST in the target's name */
    MX_PROBE_REPLY_TYPE_COUNT
} mx_probe_reply_type;

/* The answer to one probe (the first one; duplicates are ignored). */
typedef struct mx_probe_reply {
    mx_probe_reply_type type;
    mx_addr ip;                  /* who answered; family 0 for none */
    int code;                    /* ICMP code; -1 when not ICMP */
    double rtt_ms;               /* < 0 for none */
    int reply_ttl;               /* TTL / hop limit the answer arrived with; -1 for none */
    int64_t ts_us;               /* capture time of the answer; 0 for none */
} mx_probe_reply;

/* One rung: the probes sent with one TTL, one reply slot per probe, in
 * the order they were sent. */
typedef struct mx_probe_step {
    int ttl;
    GArray *replies;             /* of mx_probe_reply */
} mx_probe_step;

typedef struct mx_probe_ladder {
    mx_addr target, source;
    uint16_t dport, sport;
    GArray *steps;               /* of mx_probe_step, TTL 1 upwards */
    bool stopped_by_gap;         /* MX_PROBE_GAP_LIMIT silent steps in a row */
    bool stopped_by_budget;      /* MX_PROBE_LADDER_BUDGET_US ran out */
    int max_ttl;                 /* the --max-ttl it was allowed */
} mx_probe_ladder;

void mx_probe_ladder_init(mx_probe_ladder *l);
void mx_probe_ladder_clear(mx_probe_ladder *l);
/* Appends a step for ttl with n unanswered reply slots; returns it. */
mx_probe_step *mx_probe_ladder_add_step(mx_probe_ladder *l, int ttl, guint n);

const char *mx_probe_reply_type_name(mx_probe_reply_type t);
/* The responder's hop from its reply's TTL (Hop model); 0 for none. */
int mx_probe_reply_hop(const mx_probe_reply *r);
/* True for ICMP unreachable codes that mean "a filter said no":
 * IPv4 9, 10, 13 (RFC 1812); ICMPv6 1 (RFC 4443). */
bool mx_probe_code_admin_prohibited(uint8_t family, int code);

/* ---- the path verdict ------------------------------------------------------ */

typedef enum mx_path_verdict {
    MX_PATH_OPEN,                /* SYN-ACK from the target */
    MX_PATH_CLOSED,              /* RST from the target itself, at its own distance */
    MX_PATH_FORGED_RST,          /* RST in the target's name from a nearer hop */
    MX_PATH_ADMIN_PROHIBITED,    /* ICMP administratively prohibited */
    MX_PATH_UNREACHABLE,         /* any other ICMP unreachable */
    MX_PATH_SILENT,              /* nothing answers beyond last_answering_hop */
    MX_PATH_VERDICT_COUNT
} mx_path_verdict;

typedef struct mx_probe_path {
    mx_path_verdict verdict;
    int hop;                     /* the hop the verdict names; 0 = unknown (null) */
    bool has_ip;
    mx_addr ip;                  /* that hop's address, when known */
    int last_answering_hop;      /* 0: nothing answered */
    int server_hop;              /* lowest TTL that drew an answer in the target's name; 0 = none */
    GString *summary;
    GString *advice;
} mx_probe_path;

const char *mx_path_verdict_name(mx_path_verdict v);

void mx_probe_path_init(mx_probe_path *p);
void mx_probe_path_clear(mx_probe_path *p);

/* Judges the path from the ladder.  server_hop_hint: the server's hop as
 * its own packets in the SMTP dialogue showed it (its SYN-ACK), 0 when
 * unknown; it is the baseline a RST is measured against. */
void mx_probe_path_judge(const mx_probe_ladder *l, int server_hop_hint, mx_probe_path *out);

#endif
