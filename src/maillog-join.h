/* SPDX-License-Identifier: BSD-3-Clause */
/* maillog-join.h — each connection the MTA's log names, joined to the session that made it.
 *
 * Takes the log's records (maillog.h) and a short summary of every
 * finished session; produces, per record, the session it is joined to
 * (or why none), and per session whether a log line names it.  Matching
 * is by destination address (and port, where logged) and time: a log
 * line is written after its connection's first packet and at most the
 * MTA's longest wait after its last one.  The log's clock is read in its
 * own zone (or --maillog-tz), its missing year taken from the capture,
 * and its offset from the capture's clock estimated from pairs that
 * match one-to-one (the only attempts and sessions to an address).
 */
#ifndef MX_MAILLOG_JOIN_H
#define MX_MAILLOG_JOIN_H

#include <glib.h>
#include "maillog.h"
#include "session.h"

/* What the join keeps of a session (the session itself is streamed out). */
typedef struct mx_join_session {
    uint64_t id;
    mx_addr server_ip;
    uint16_t server_port;
    int64_t start_us, end_us;
    mx_outcome outcome;
    mx_kind kind;
    mx_phase phase;
    char *summary;
    bool joined;
} mx_join_session;

/* Per log record: its time on the capture's clock and its session. */
typedef struct mx_join_link {
    int64_t log_us;          /* the log's time read in its zone (UTC us) */
    bool unit;               /* names a connection of its own (else shares one or names none) */
    int64_t via;             /* the record whose connection it shares, -1 none */
    int64_t session;         /* index into sessions, -1 none */
    const char *unmatched;   /* static reason when a unit found no session */
    char *finding;           /* log and packets disagree: what each says; or NULL */
} mx_join_link;

typedef struct mx_join {
    const mx_maillog *log;
    GArray *sessions;        /* of mx_join_session, in the order they finished */
    uint64_t sessions_dropped;  /* past MX_MAILLOG_SESSIONS_MAX, not joined */
    /* The zone the log's own stamps lack: from --maillog-tz, else UTC. */
    GTimeZone *tz;
    char *tz_name;
    bool tz_given;
    /* Results of mx_join_run. */
    int year;                /* given to stamps without one; 0 none needed */
    bool year_needed;
    int64_t offset_us;       /* log clock minus capture clock */
    uint32_t offset_pairs;   /* one-to-one pairs it was estimated from; 0: assumed 0 */
    bool offset_from_timeouts; /* only pairs whose log line waits for a timeout: an upper bound */
    GArray *links;           /* of mx_join_link, one per log record */
    uint32_t units, joined_units, findings;
    int64_t capture_first_us, capture_last_us;
} mx_join;

/* tz: "UTC", "+01:00", "Europe/Berlin", or NULL (UTC).  NULL with *error
 * when tz is not a zone. */
mx_join *mx_join_new(const mx_maillog *log, const char *tz, GError **error);
void mx_join_free(mx_join *j);
/* Remembers a finished session (call for every one). */
void mx_join_add_session(mx_join *j, const mx_session *s);
/* Joins every record; call once after the last session. */
void mx_join_run(mx_join *j);

/* The session a record is joined to (through the attempt's lead record
 * for a second recipient), or NULL. */
const mx_join_session *mx_join_session_of(const mx_join *j, guint record);

#endif
