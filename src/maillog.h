/* SPDX-License-Identifier: BSD-3-Clause */
/* maillog.h — an MTA's own log, read into delivery records (Postfix, Exim, Sendmail).
 *
 * Takes log files (plain or gzip, rotated files in any order) and produces
 * one record per line that names a delivery attempt or a connection the
 * MTA made: when (as the log wrote it: local time, maybe no year), which
 * queue entry and recipient, which destination, and the status and text
 * the MTA logged.  Lines this file does not know are counted (and the
 * first one of each file named), never fatal.  Matching records to the
 * capture's sessions is maillog-join.c's job.
 */
#ifndef MX_MAILLOG_H
#define MX_MAILLOG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include "packet.h"

typedef enum mx_mta { MX_MTA_POSTFIX, MX_MTA_EXIM, MX_MTA_SENDMAIL } mx_mta;

/* What a record says happened. */
typedef enum mx_logrec_type {
    MX_LOGREC_DELIVERY,      /* a recipient's status: sent, deferred, bounced, ... */
    MX_LOGREC_CONNECTION,    /* one connection of an attempt, no recipient
                              * (Postfix "connect to X[ip]:25: ...", "host X[ip]
                              * said: ...", Exim "X [ip] Connection refused") */
} mx_logrec_type;

/* The time as the log wrote it.  Traditional syslog has no year and no
 * zone; RFC 3339 and Exim with log_timezone have both. */
typedef struct mx_logtime {
    int year;                /* 0: not in the log */
    int month, day, hour, minute, second;
    int usec;
    bool has_zone;
    int zone_s;              /* east of UTC, when has_zone */
} mx_logtime;

typedef struct mx_logrec {
    mx_mta mta;
    mx_logrec_type type;
    mx_logtime when;
    uint32_t file;           /* index into mx_maillog.files */
    uint64_t line;           /* 1-based within that file */
    uint64_t process;        /* pid (Postfix, Sendmail), a hash of the message id (Exim); 0 none */
    char queue_id[32];       /* "" when the line names none (Postfix connect notes) */
    char *recipient;         /* DELIVERY: the address, without <>; else NULL */
    char *relay_name;        /* "mx.example.net", "none", ...; NULL when not logged */
    bool has_ip;
    mx_addr ip;
    uint16_t port;           /* 0: not logged (the session's port decides) */
    bool has_delay, has_delays;
    double delay;            /* seconds in the queue in all */
    double delays[4];        /* Postfix a/b/c/d: before qmgr, in qmgr, connection setup, transmission */
    char dsn[16];            /* "4.4.1", "" none */
    char status[16];         /* "sent", "deferred", "bounced", "expired", ... ; CONNECTION: "" */
    char *text;              /* the status's text / the note's text, cut at MX_MAILLOG_TEXT_MAX */
    /* Which attempt a record belongs to, as an index into records: for a
     * CONNECTION, the DELIVERY logged next by the same process (-1 when
     * none came); for a DELIVERY, the first recipient's record of the same
     * attempt (itself when it is the first): one connection, several
     * recipients. */
    int64_t attempt;
} mx_logrec;

typedef struct mx_maillog_file_stats {
    char *name;
    uint64_t lines, records, ignored, unknown, damaged;
    uint64_t first_unknown, first_damaged;   /* line numbers, 0 none */
    char *error;             /* could not be read to its end, or NULL */
} mx_maillog_file_stats;

typedef struct mx_maillog {
    GArray *records;         /* of mx_logrec, in file order, files in time order */
    GArray *files;           /* of mx_maillog_file_stats, as given */
    uint64_t dropped;        /* records past MX_MAILLOG_RECORDS_MAX, counted only */
    GHashTable *pending;     /* process -> first note (index + 1) waiting for its delivery line */
} mx_maillog;

mx_maillog *mx_maillog_new(void);
void mx_maillog_free(mx_maillog *m);

/* Reads one file (gzip or plain, by content).  False with *error when it
 * cannot be opened; a read error part-way is kept in the file's stats
 * (what was read counts). */
gboolean mx_maillog_read_file(mx_maillog *m, const char *path, GError **error);

/* Records stay in the order read: rotated files (mail.log.2.gz,
 * mail.log.1, mail.log) may come in any order, as everything after this
 * file orders attempts by their time. */

/* Parses one line (no newline) into rec; the result says what it was.
 * rec's strings are allocated only for MX_LINE_RECORD (mx_logrec_clear). */
typedef enum mx_line_result {
    MX_LINE_RECORD,          /* a delivery or connection record */
    MX_LINE_IGNORED,         /* an MTA line that names no delivery (smtpd, cleanup, "<=" ...) */
    MX_LINE_UNKNOWN,         /* no MTA's line */
    MX_LINE_DAMAGED,         /* an MTA's delivery line with a field missing or broken */
} mx_line_result;
mx_line_result mx_maillog_parse_line(const char *line, mx_logrec *rec);
void mx_logrec_clear(mx_logrec *rec);

const char *mx_mta_name(mx_mta mta);

/* The log time in microseconds since the epoch, reading it in zone_s
 * seconds east of UTC unless the log named its zone, and in year unless
 * the log named one. */
int64_t mx_logtime_us(const mx_logtime *t, int year, int zone_s);

#endif
