/* SPDX-License-Identifier: BSD-3-Clause */
/* verdict.h — the DESIGN.md vocabulary as one set of enums, and the verdict a rule produces.
 *
 * verdict.c holds the one table that maps each enum to its JSON string and
 * to its default summary, advice and MTA queue status, so that every report
 * says the same thing and adding a kind is adding a row.
 */
#ifndef MX_VERDICT_H
#define MX_VERDICT_H

#include <glib.h>
#include "packet.h"
#include "caps.h"

typedef enum mx_outcome {
    MX_OUTCOME_DELIVERED,
    MX_OUTCOME_OK,
    MX_OUTCOME_REJECTED,
    MX_OUTCOME_FAILED,
    MX_OUTCOME_INCOMPLETE,
    MX_OUTCOME_COUNT
} mx_outcome;

typedef enum mx_kind {
    MX_KIND_OK,
    MX_KIND_SYN_TIMEOUT,
    MX_KIND_CONNECT_REFUSED,
    MX_KIND_ICMP_UNREACHABLE,
    MX_KIND_NO_GREETING,
    MX_KIND_GREETING_REJECTED,
    MX_KIND_EHLO_NO_REPLY,
    MX_KIND_EHLO_REJECTED,
    MX_KIND_MAIL_LOOP,
    MX_KIND_MAIL_REJECTED,
    MX_KIND_RCPT_REJECTED,
    MX_KIND_DATA_REJECTED,
    MX_KIND_REPLY_TIMEOUT,
    MX_KIND_DATA_STALL,
    MX_KIND_RESET,
    MX_KIND_TLS_STRIPPED,
    MX_KIND_TLS_FAILED,
    MX_KIND_CLIENT_ABORT,
    MX_KIND_INCOMPLETE,
    MX_KIND_COUNT
} mx_kind;

typedef enum mx_phase {
    MX_PHASE_CONNECT,
    MX_PHASE_GREETING,
    MX_PHASE_EHLO,
    MX_PHASE_TLS,
    MX_PHASE_MAIL,
    MX_PHASE_RCPT,
    MX_PHASE_DATA,
    MX_PHASE_DATA_END,
    MX_PHASE_QUIT,
    MX_PHASE_NONE,
    MX_PHASE_COUNT
} mx_phase;

typedef enum mx_role {
    MX_ROLE_CLIENT,
    MX_ROLE_PATH,
    MX_ROLE_FIREWALL,
    MX_ROLE_SERVER,
    MX_ROLE_DNS,
    MX_ROLE_NONE,
    MX_ROLE_COUNT
} mx_role;

typedef enum mx_confidence {
    MX_CONFIDENCE_HIGH,
    MX_CONFIDENCE_MEDIUM,
    MX_CONFIDENCE_LOW,
    MX_CONFIDENCE_COUNT
} mx_confidence;

typedef enum mx_warning_kind {
    MX_WARN_SMTP_INSPECTION,
    MX_WARN_PMTU_BLACKHOLE,
    MX_WARN_FORGED_PACKET,
    MX_WARN_SLOW_PATH,
    MX_WARN_RETRANSMISSIONS,
    MX_WARN_SLOW_GREETING,
    MX_WARN_DNS_TIMEOUT,
    MX_WARN_ONE_SIDED_CAPTURE,   /* only one direction of the session is in the capture */
    MX_WARN_COUNT
} mx_warning_kind;

/* A frame in the input: frame 0 means "none". */
typedef struct mx_frame_ref {
    uint64_t frame;          /* 1-based, as Wireshark counts in that file */
    uint32_t file_index;
    int64_t ts_us;
} mx_frame_ref;

typedef struct mx_evidence {
    mx_frame_ref at;
    char *fact;              /* owned */
} mx_evidence;

typedef struct mx_warning {
    mx_warning_kind kind;
    char *detail;            /* owned */
} mx_warning;

typedef struct mx_culprit {
    mx_role role;
    bool has_ip;
    mx_addr ip;
    int hops_from_client;    /* 0 = unknown; the first router is hop 1 */
    mx_confidence confidence;
} mx_culprit;

typedef struct mx_verdict {
    mx_outcome outcome;
    mx_kind kind;
    mx_phase phase;
    mx_culprit culprit;
    GString *summary;
    GString *advice;
    GString *mta_status;     /* empty = null in JSON */
    GArray *warnings;        /* of mx_warning */
    GArray *evidence;        /* of mx_evidence, in frame order of addition */
    uint32_t evidence_dropped; /* facts about new frames past MX_EVIDENCE_MAX */
} mx_verdict;

/* The vocabulary, exactly as DESIGN.md spells it. */
const char *mx_outcome_name(mx_outcome o);
const char *mx_kind_name(mx_kind k);
const char *mx_phase_name(mx_phase p);
const char *mx_role_name(mx_role r);
const char *mx_confidence_name(mx_confidence c);
const char *mx_warning_name(mx_warning_kind w);

/* Default MTA queue status and advice for a kind (may be ""), for rules
 * that have nothing more precise to say. */
const char *mx_kind_default_mta_status(mx_kind k);
const char *mx_kind_default_advice(mx_kind k);

void mx_verdict_init(mx_verdict *v);
void mx_verdict_clear(mx_verdict *v);

/* Sets outcome, kind, phase and culprit role/confidence in one call. */
void mx_verdict_set(mx_verdict *v, mx_outcome outcome, mx_kind kind, mx_phase phase,
                    mx_role role, mx_confidence confidence);
void mx_verdict_culprit_ip(mx_verdict *v, const mx_addr *ip, int hops_from_client);
void mx_verdict_evidence(mx_verdict *v, const mx_frame_ref *at, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void mx_verdict_warn(mx_verdict *v, mx_warning_kind kind, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
bool mx_verdict_has_warning(const mx_verdict *v, mx_warning_kind kind);

#endif
