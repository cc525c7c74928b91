/* SPDX-License-Identifier: BSD-3-Clause */
/* live.h — `mxray live`: capture on an interface and judge each session as it ends.
 *
 * Takes: a configuration (interface and filter, privileges to drop,
 * packet files to write, timers, output).  Produces: verdicts streamed as
 * soon as they are final, periodic statistics, and the exit status (0
 * after SIGINT/SIGTERM, 2 when start-up fails).  Owns: the capture loop,
 * its wall-clock timers and the process's signal dispositions while it runs.
 *
 * A session is final when its flow closed (FIN/RST) and lingered, when an
 * ICMP error ended it, or when it stayed quiet longer than its phase
 * allows (live-timers.h); timers run on wall-clock time, so a silent
 * link still yields verdicts.  Signal handlers only set flags.
 */
#ifndef MX_LIVE_H
#define MX_LIVE_H

#include "live-capture.h"
#include "live-dump.h"
#include "live-output.h"
#include "live-timers.h"

typedef struct mx_live_config {
    mx_capture_opts capture;
    const char *drop_user;       /* -Z; NULL: keep the identity */
    mx_dump_opts dump;           /* dump.pattern NULL: no -w */
    mx_live_timers timers;
    mx_live_format format;
    const char *output_path;     /* -o; NULL: stdout */
    bool use_syslog;
    int stats_interval;          /* seconds; 0: only on SIGUSR1 and at exit */
    size_t max_flows;
    const char *maillog_path;    /* --maillog; NULL: none */
    const char *maillog_tz;      /* --maillog-tz; NULL: UTC */
    int64_t maillog_wait_us;     /* --maillog-wait */
} mx_live_config;

int mx_live_run(const mx_live_config *c);

#endif
