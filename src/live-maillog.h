/* SPDX-License-Identifier: BSD-3-Clause */
/* live-maillog.h — `live --maillog`: follow the MTA's log and name each session's queue entry.
 *
 * Takes: the log's path (followed as `tail -F` does: rotation by rename or
 * by truncation is noticed, the old file read to its end first) and the
 * finished sessions.  Produces: each session written by live-output once a
 * log line names its connection (with the queue ID, recipients and the
 * log's status), or after a bounded wait without one.  Owns: the open
 * log file, the recent log records (a ring) and the sessions held.
 */
#ifndef MX_LIVE_MAILLOG_H
#define MX_LIVE_MAILLOG_H

#include <glib.h>
#include "live-output.h"

typedef struct mx_live_maillog mx_live_maillog;

/* tz as for read --maillog-tz (NULL: UTC); wait_us: how long a session
 * waits for its log line.  NULL with *error when tz is not a zone. */
mx_live_maillog *mx_live_maillog_new(const char *path, const char *tz, int64_t wait_us, mx_live_output *out,
                                     GError **error);
/* Writes the sessions still held (without a log line), closes the log. */
void mx_live_maillog_free(mx_live_maillog *m);
/* mx_session_fn: holds a finished session until its log line comes. */
void mx_live_maillog_session(mx_session *s, void *ctx);
/* Reads what the log gained, releases the sessions it names and those
 * that waited long enough.  Call on every timer tick. */
void mx_live_maillog_tick(mx_live_maillog *m, int64_t now_us);

#endif
