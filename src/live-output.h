/* SPDX-License-Identifier: BSD-3-Clause */
/* live-output.h — where `live` sends what it finds: verdicts, statistics, syslog.
 *
 * Takes: finished sessions (and owns them from then on: each is written,
 * counted and freed at once, so memory stays flat over days) and
 * statistics lines.  Produces: one JSON line or one text block per
 * session on stdout or -o FILE, flushed; with --syslog also one line per
 * failed session to syslog/journald (facility mail); statistics on
 * stderr or syslog.  Owns: the output file (reopened on SIGHUP), the
 * report model the renderers read, and the counts per kind and outcome.
 */
#ifndef MX_LIVE_OUTPUT_H
#define MX_LIVE_OUTPUT_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include "report.h"

typedef enum { MX_LIVE_JSONL, MX_LIVE_TEXT } mx_live_format;

typedef struct mx_live_output {
    mx_live_format format;
    char *path;               /* -o; NULL: stdout */
    FILE *out;
    bool syslog;
    mx_report report;         /* inputs: the interface, or the -w files */
    uint64_t kinds[MX_KIND_COUNT];
    uint64_t outcomes[MX_OUTCOME_COUNT];
    uint64_t sessions;
} mx_live_output;

gboolean mx_live_output_open(mx_live_output *o, mx_live_format format, const char *path, bool use_syslog,
                             GError **error);
void mx_live_output_close(mx_live_output *o);
/* SIGHUP: -o FILE is opened again (appending), for log rotation. */
gboolean mx_live_output_reopen(mx_live_output *o, GError **error);

/* mx_session_fn: writes, counts and frees one finished session. */
void mx_live_output_session(mx_session *s, void *ctx);
/* The same with what the MTA's log said of it (live --maillog): json is
 * the value of the line's "maillog" member, text a line of the text block. */
void mx_live_output_session_logged(mx_live_output *o, mx_session *s, const char *json, const char *text);

/* A statistics or status line: stderr, or syslog (info) with --syslog. */
void mx_live_output_notice(const mx_live_output *o, const char *line);
/* "ok 12, syn_timeout 2" (kinds seen so far, in vocabulary order). */
char *mx_live_output_kind_counts(const mx_live_output *o);

#endif
