/* SPDX-License-Identifier: BSD-3-Clause */
/* analyzer.h — the pipeline in one object: frame -> decode -> flow table -> diagnose -> session.
 *
 * Takes: raw frames (from a file source or a live capture).  Produces:
 * finished sessions, handed to the caller's callback as soon as their
 * flow finishes (the callback owns them).  Owns: the flow table and the
 * counters behind the report's stats.
 */
#ifndef MX_ANALYZER_H
#define MX_ANALYZER_H

#include "flow.h"
#include "session.h"
#include "source.h"

/* What a run counted, for the report's stats. */
typedef struct mx_run_stats {
    uint64_t packets, bytes;
    uint64_t tcp_flows, smtp_sessions;
    uint64_t skipped, truncated;
    /* skipped, by reason (they add up to it) */
    uint64_t skipped_fragment, skipped_malformed, skipped_truncated;
    uint64_t evicted;
    /* Limits met (caps.h): written to JSON only when not 0, so a run that
     * hit none reads as before.  cap_hits is their sum, lines_cut aside. */
    uint64_t cap_hits;
    uint64_t lines_cut;          /* SMTP lines cut: past MX_SMTP_LINE_MAX or by the snap length */
    uint64_t pending_dropped;    /* commands past MX_SMTP_PENDING_MAX awaiting replies */
    uint64_t replies_dropped;    /* replies past MX_SMTP_REPLIES_MAX */
    uint64_t extensions_dropped; /* EHLO keywords past MX_SMTP_EXTENSIONS_MAX */
    uint64_t ooo_cap_hits;       /* out-of-order holds given up (MX_STREAM_OOO_*) */
    uint64_t baselines_full;     /* servers' hops not kept (MX_MAX_BASELINES) */
    uint64_t evidence_dropped;   /* evidence entries past MX_EVIDENCE_MAX */
    uint64_t refusals_judged_early; /* held refusals released past MX_HELD_REFUSALS */
    uint64_t syn_times_dropped;  /* SYN retries past MX_SYN_TIMES_MAX whose times were not kept */
    uint64_t helos_dropped;      /* EHLO/HELO commands past MX_SMTP_HELO_MAX */
    uint64_t evidence_spans_dropped; /* stream ranges past MX_SMTP_KEEP_SPANS: blank in --evidence */
    uint64_t dns_overwritten;    /* DNS look-ups overwritten in the ring (MX_DNS_QUERIES) */
    /* Not limits, also only when not 0. */
    uint64_t icmp_unmatched;     /* ICMP errors quoting no tracked flow */
    uint64_t active_max;         /* most flows tracked at once */
    uint64_t destination_sessions_dropped; /* sessions to servers past MX_MAX_DESTINATIONS rows (report.c) */
    uint64_t offload_length; /* IP length 0 (segmentation offload): length taken from the frame */
} mx_run_stats;

typedef void (*mx_session_fn)(mx_session *s, void *ctx);

typedef struct mx_analyzer mx_analyzer;

mx_analyzer *mx_analyzer_new(const uint16_t *ports, size_t n_ports, size_t max_flows,
                             mx_session_fn on_session, void *ctx);
void mx_analyzer_free(mx_analyzer *a);
/* Sessions carry their packet ladder (for the text, Markdown and HTML
 * reports and --evidence) unless told here that no report draws it. */
void mx_analyzer_skip_ladders(mx_analyzer *a);

/* `read`: a refusal judged before its server's own hop was known is held
 * back and judged again (mx_diagnose_refine) with the baselines of the
 * whole input before the callback gets it, so that what is counted and
 * what is written agree.  Held: at most MX_HELD_REFUSALS; released at
 * mx_analyzer_finish in session order.  Live does not hold: it writes
 * what it knew when each session ended. */
void mx_analyzer_hold_refusals(mx_analyzer *a);

void mx_analyzer_frame(mx_analyzer *a, const mx_raw_frame *frame);
/* End of input: every open flow is finished and judged; held refusals
 * are judged again and handed over. */
void mx_analyzer_finish(mx_analyzer *a);

/* Live capture: wall-clock time now_us passes even with no packet.
 * Sessions are judged as of now_us from here on; flows whose timers ran
 * out are finished (see mx_flow_table_expire_timed). */
void mx_analyzer_expire(mx_analyzer *a, int64_t now_us, int64_t linger_us, int64_t min_idle_us,
                        mx_flow_idle_fn idle, void *ctx);
size_t mx_analyzer_open_flows(const mx_analyzer *a);

void mx_analyzer_stats(const mx_analyzer *a, mx_run_stats *out);

/* The DNS look-ups seen (the last MX_DNS_QUERIES of them). */
struct mx_dns_table;
const struct mx_dns_table *mx_analyzer_dns(const mx_analyzer *a);

/* Each server's hop as its own packets showed it, over the whole input. */
struct mx_hop_baselines;
const struct mx_hop_baselines *mx_analyzer_baselines(const mx_analyzer *a);

#endif
