/* SPDX-License-Identifier: BSD-3-Clause */
/* evidence.h — the evidence capture: only the packets that prove the findings, redacted.
 *
 * Takes: the finished report (sessions with verdicts) and the input file
 * names; reads the inputs a second time (mx_source_open, no filter).
 * Produces: one pcap file in the inputs' link type holding
 *   - every packet of the failed, rejected and warned sessions (by tuple and
 *     time range), the ICMP errors quoting them, and every frame their
 *     evidence names (DNS queries among them);
 *   - for comparison, the handshake and first replies of one clean session
 *     to each such server, when the capture has one;
 * and the map from input frames to evidence frames, for the reports.
 *
 * Redaction (unless keep_payload) is an allowlist: every payload byte of
 * the sessions' segments becomes 'X' (same length, so sequence numbers and
 * lengths stay) unless it lies in a range smtp.c read for sure as a command
 * or reply line outside message bodies and AUTH exchanges, or a TLS record
 * header (mx_session.keep); each copy of a segment is judged by its own
 * sequence range, and a kept byte must read the same in every copy.  ICMP
 * errors keep the quoted IP and transport headers, the quoted payload
 * blanks.  Checksums of changed segments are recomputed when the frame
 * holds the whole segment (counted when it does not).  With a redactor,
 * the local parts of mail addresses in the kept bytes are replaced by its
 * pseudonyms (redact.h), the same as in the reports.
 */
#ifndef MX_EVIDENCE_H
#define MX_EVIDENCE_H

#include <glib.h>
#include "report.h"

typedef struct mx_evidence_options {
    bool keep_payload;
    bool redact_addresses;
    struct mx_redactor *redactor; /* redact_addresses: the run's pseudonyms, shared with the reports */
} mx_evidence_options;

typedef struct mx_evidence_file {
    char *path;
    int dlt;
    uint64_t frames;              /* frames written */
    uint32_t sessions;            /* failed/warned sessions covered */
    uint32_t comparisons;         /* clean sessions added for comparison */
    bool redacted;                /* bodies and AUTH blanked (not --keep-payload) */
    bool addresses_redacted;
    uint32_t segments_changed;    /* segments (and ICMP errors) whose payload was rewritten */
    uint64_t bytes_changed;
    uint32_t checksums_fixed;     /* of those, checksums recomputed */
    uint32_t checksums_left;      /* snapped frames: the checksum could not be recomputed */
    uint32_t spans_dropped;       /* kept ranges past MX_SMTP_KEEP_SPANS (their bytes blanked) */
    GHashTable *map;              /* (file_index, frame) key -> evidence frame */
} mx_evidence_file;

/* Writes the evidence capture for r's sessions to path.  Returns NULL and
 * sets *error (one line naming the problem) when it cannot. */
mx_evidence_file *mx_evidence_write(const mx_report *r, const char *path, const mx_evidence_options *opt,
                                    GError **error);
void mx_evidence_file_free(mx_evidence_file *ev);

/* The evidence frame holding input frame at; 0 when it is not there (or ev is NULL). */
uint64_t mx_evidence_frame(const mx_evidence_file *ev, const mx_frame_ref *at);

/* One paragraph for the reports: what the file holds and how it was
 * redacted (checksums included).  Caller frees. */
char *mx_evidence_note(const mx_evidence_file *ev);

#endif
