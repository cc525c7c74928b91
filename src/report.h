/* SPDX-License-Identifier: BSD-3-Clause */
/* report.h — what every renderer is given: the run's inputs, stats, sessions and destinations.
 *
 * One model, several renderers (report-text.h, report-json.h,
 * report-markdown.h, report-html.h): they read the same mx_report and
 * cannot disagree.
 */
#ifndef MX_REPORT_H
#define MX_REPORT_H

#include <glib.h>
#include <stdio.h>
#include "analyzer.h"
#include "session.h"

/* One row per server address: attempts and counts per kind. */
typedef struct mx_destination {
    mx_addr ip;
    /* In the report's string chunk, cut at 63 bytes; "" none (never NULL).
     * Pointers, not arrays: 65,536 rows of two 64-byte arrays were 8 MB,
     * mostly empty. */
    const char *name;            /* a DNS name for it seen in the capture */
    const char *mx_domain;       /* the domain whose MX answer named it */
    uint32_t attempts;
    uint32_t kinds[MX_KIND_COUNT];
    uint32_t outcomes[MX_OUTCOME_COUNT];
    uint32_t failed;             /* failed or rejected */
    uint32_t forged;             /* sessions with a forged_packet warning */
    mx_kind main_failure;        /* the most frequent failing kind */
    mx_culprit culprit;          /* of the latest session with main_failure */
    int64_t first_us;
} mx_destination;

typedef struct mx_report {
    const char *version;
    GPtrArray *inputs;       /* of char*, file names as given */
    mx_run_stats stats;
    GPtrArray *sessions;     /* of mx_session*, ordered by id */
    GArray *destinations;    /* of mx_destination, in order of first attempt */
    GHashTable *dest_index;  /* mx_addr* (in the row) -> row index + 1; until mx_report_sort */
    GStringChunk *dest_strings; /* the rows' names and MX domains */
    uint32_t dest_delivering;/* rows with a delivered or ok session */
    uint32_t outcomes[MX_OUTCOME_COUNT]; /* every session counted, kept or not */
    uint32_t warned[MX_WARN_COUNT];      /* sessions that did not fail, per warning */
    uint64_t sessions_unlisted;          /* counted, not kept (ticket formats' cap) */
    /* Built by mx_report_sort: delivering rows by DNS name and family, and
     * by MX domain, so a row's verdict finds its twin and its sibling MX
     * host without comparing every row with every other. */
    GHashTable *twin_index;  /* "family name" -> row index + 1 (the last delivering one) */
    GHashTable *domain_index;/* mx_domain -> (first delivering row + 1) | (first with another name + 1) << 32 */
    bool verbose;
    const struct mx_queue *queue;        /* --maillog: the queue the reports lead with, or NULL */
} mx_report;

void mx_report_init(mx_report *r);
void mx_report_clear(mx_report *r);
/* Counts a finished session into its destination row. */
void mx_report_count(mx_report *r, const mx_session *s);
/* "2026-03-02 09:14:05.120044" (UTC, microseconds), as every report prints
 * times; buf >= 32 bytes.  Returns buf. */
const char *mx_report_time(int64_t us, char *buf, size_t len);
/* The same in RFC 3339 UTC ("2023-11-14T22:13:20.026190Z"), as the JSON
 * schema's pattern wants.  buf: MX_REPORT_TIME_LEN bytes. */
const char *mx_report_time_rfc3339(int64_t us, char *buf, size_t len);
#define MX_REPORT_TIME_LEN 40

/* Gives each destination with a DNS name the domain it is an MX host of,
 * from a host -> domain table (mx_dns_mx_domains), so that a failing MX
 * host's verdict can say when another MX host of the domain delivered. */
void mx_report_set_mx_domains(mx_report *r, GHashTable *host_to_domain);

/* Orders sessions by id (the order of their first packet). */
void mx_report_sort(mx_report *r);

/* One sentence across the destination's sessions ("all 12 attempts to
 * 203.0.113.25 time out at SYN while 4 other destinations deliver: ..."),
 * or NULL when it delivered every time.  Caller frees. */
char *mx_report_destination_verdict(const mx_report *r, const mx_destination *d);

#endif
