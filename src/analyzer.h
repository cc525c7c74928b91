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
#include "report.h"
#include "source.h"

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
