/* SPDX-License-Identifier: BSD-3-Clause */
/* live-timers.h — how long `live` waits on a quiet connection before judging it.
 *
 * Takes: an open flow (its TCP handshake and SMTP state).  Produces: the
 * phase the client is waiting in and that phase's idle limit.  Owns: the
 * per-phase table, whose defaults are the sending MTA's own timers, and
 * its parsing from --idle-timeout.  A flow closed by FIN/RST waits
 * linger_us instead, for late retransmissions and injected packets.
 */
#ifndef MX_LIVE_TIMERS_H
#define MX_LIVE_TIMERS_H

#include <glib.h>
#include "flow.h"
#include "verdict.h"

typedef struct mx_live_timers {
    int64_t idle_us[MX_PHASE_COUNT];  /* per phase the client waits in */
    int64_t linger_us;                /* after FIN/RST */
    int64_t min_idle_us;              /* least of idle_us: bounds the expiry scan */
} mx_live_timers;

void mx_live_timers_default(mx_live_timers *t);

/* "SECONDS" sets every phase; "connect=40,data_end=660" sets some.
 * Limits above the flow table's own (caps.h MX_FLOW_IDLE_US) are refused:
 * the table would finish the flow first. */
gboolean mx_live_timers_parse(mx_live_timers *t, const char *text, GError **error);
gboolean mx_live_timers_set_linger(mx_live_timers *t, double seconds, GError **error);

/* The phase an open flow's client is waiting in. */
mx_phase mx_live_flow_phase(const mx_flow *f);

/* mx_flow_idle_fn: ctx is the mx_live_timers. */
int64_t mx_live_idle_limit(const mx_flow *f, void *ctx);

#endif
