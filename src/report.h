/* SPDX-License-Identifier: BSD-3-Clause */
/* report.h — what every renderer is given: the run's inputs, stats, sessions and destinations.
 *
 * One model, several renderers (report-text.c, report-json.c): they read
 * the same mx_report and cannot disagree.
 */
#ifndef MX_REPORT_H
#define MX_REPORT_H

#include <glib.h>
#include <stdio.h>
#include "session.h"

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
    /* Not limits, also only when not 0. */
    uint64_t icmp_unmatched;     /* ICMP errors quoting no tracked flow */
    uint64_t active_max;         /* most flows tracked at once */
    uint64_t destination_sessions_dropped; /* sessions to servers past MX_MAX_DESTINATIONS rows (report.c) */
    uint64_t offload_length; /* IP length 0 (segmentation offload): length taken from the frame */
} mx_run_stats;

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

/* The whole text report from r->sessions (in their order). */
void mx_report_text(const mx_report *r, FILE *out);
/* The same report written as sessions finish (`read`): begin creates the
 * temporary file the blocks wait in while the header cannot be written;
 * each session is listed or only counted (counts come from
 * mx_report_count, not from here); end (after mx_report_sort) writes
 * header, blocks and destinations, and frees d.  end fails when the
 * temporary file could not be written (the report is then cut). */
typedef struct mx_text_doc mx_text_doc;
mx_text_doc *mx_text_doc_begin(const mx_report *r, FILE *out, GError **error);
void mx_text_doc_session(mx_text_doc *d, const mx_session *s);
gboolean mx_text_doc_end(mx_text_doc *d, GError **error);
/* The whole document from r->sessions (in their order). */
void mx_report_json(const mx_report *r, FILE *out);

/* The same document written as sessions finish, so that memory does not
 * grow with them: begin writes tool, version and inputs and opens the
 * sessions array; each session is one line of it; end closes it and adds
 * stats and destinations (call after mx_report_sort).  r must outlive d. */
typedef struct mx_json_doc mx_json_doc;
mx_json_doc *mx_json_doc_begin(const mx_report *r, FILE *out);
/* jsonl: the same writer without head or tail, one session a line. */
mx_json_doc *mx_json_lines_begin(const mx_report *r, FILE *out);
void mx_json_doc_session(mx_json_doc *d, const mx_session *s);
/* Renders stats and destinations (after mx_report_sort) for end to write;
 * safe while another thread still calls mx_json_doc_session. */
void mx_json_doc_prepare_end(mx_json_doc *d);
void mx_json_doc_end(mx_json_doc *d);
/* One session's text block, flushed (live). */
void mx_report_text_session(const mx_session *s, const mx_report *r, FILE *out);
/* One session as a JSON object (as in "sessions"), for documents that
 * embed it (probe); r may be NULL.  The caller owns the node. */
struct _JsonNode *mx_report_session_node(const mx_session *s, const mx_report *r);

/* Writes a builder's document (and a newline), numbers with 15 significant
 * digits: json-glib alone prints 0.1 as 0.10000000000000001. */
struct _JsonBuilder;
void mx_json_write(struct _JsonBuilder *b, bool pretty, FILE *out);
/* One session as one line of JSON (jsonl, and live). */
void mx_report_json_line(const mx_session *s, const mx_report *r, FILE *out);

/* Support-ticket reports (report-markdown.c, report-html.c): the answer,
 * destinations, one section per group of similar failures with a ladder
 * diagram.  ev: the evidence capture written for this run, or NULL (its
 * frame numbers are then named next to the input's). */
struct mx_evidence_file;
void mx_report_markdown(const mx_report *r, const struct mx_evidence_file *ev, FILE *out);
void mx_report_html(const mx_report *r, const struct mx_evidence_file *ev, FILE *out);

#endif
