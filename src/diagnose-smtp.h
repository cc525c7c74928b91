/* SPDX-License-Identifier: BSD-3-Clause */
/* diagnose-smtp.h — the SMTP-phase rules: from a connected flow's SMTP state to a verdict.
 *
 * Takes: a finished mx_flow whose TCP handshake completed (or that began
 * mid-session), with its struct mx_smtp (may be NULL: no payload at all).
 * Produces: outcome, kind, phase, culprit role/confidence, summary,
 * advice, mta_status, evidence and the smtp_inspection / slow_greeting
 * warnings.  Connect-phase kinds, ICMP and RST origin stay in diagnose.c,
 * which may refine a failed/incomplete verdict afterwards (a server RST).
 */
#ifndef MX_DIAGNOSE_SMTP_H
#define MX_DIAGNOSE_SMTP_H

#include <stdbool.h>

#include "flow.h"
#include "verdict.h"


/* Decides the SMTP-phase verdict; capture_end_us is when the input ended
 * (or now, live), the time a still-connected client has waited until.
 * Returns true when it set a verdict
 * (always, except for a mid-session capture that shows nothing decisive). */
bool mx_diagnose_smtp(const mx_flow *f, int64_t capture_end_us, mx_verdict *v);

/* "matches RFC 5321 4.5.3.2 (5 min) and Postfix smtp_helo_timeout (300 s)"
 * for a client wait of waited_us in phase; NULL when no usual timer fits. */
char *mx_describe_smtp_timer(mx_phase phase, int64_t waited_us);

#endif
