/* SPDX-License-Identifier: BSD-3-Clause */
/* report-ticket.h — what the support-ticket reports (Markdown, HTML) share beyond the ladder.
 *
 * Takes: the report model.  Produces: the one-paragraph answer (from the
 * destination verdicts and counts), the failures grouped so that similar
 * ones are shown once (kind + culprit role + culprit address or hop +
 * server), and the phrases both renderers print the same way (culprit,
 * frame names in the input and the evidence capture).  No wording of its
 * own about causes: summaries, advice and statuses come from the verdicts.
 */
#ifndef MX_REPORT_TICKET_H
#define MX_REPORT_TICKET_H

#include <glib.h>
#include "report.h"

struct mx_evidence_file;

/* Sessions a ticket shows in full: failed, rejected, warned, incomplete. */
bool mx_ticket_listed(const mx_session *s);

typedef struct mx_failure_group {
    const mx_session *example;   /* the worked example: the group's first session */
    GPtrArray *others;           /* of const mx_session*, the rest, in order */
} mx_failure_group;

/* Groups of the listed sessions in order of their first session (of
 * mx_failure_group*, the array frees them). */
GPtrArray *mx_ticket_groups(const mx_report *r);
/* How many groups a ticket writes (MX_TICKET_GROUP_SECTIONS at most), and
 * the sentence for the rest ("N more failure groups ..."), or NULL. */
guint mx_ticket_groups_shown(const GPtrArray *groups);
char *mx_ticket_groups_unlisted(const GPtrArray *groups);

/* The answer: one sentence per failing destination, or the counts when
 * nothing failed, then the warnings in a few words.  Caller frees. */
char *mx_ticket_answer(const mx_report *r);

/* "delivered 3, ok 0, rejected 0, failed 1, incomplete 0"-style counts:
 * "N SMTP sessions: 3 delivered, 1 failed". Caller frees. */
char *mx_ticket_counts(const mx_report *r);

/* Each destination's table rows, found in one pass over the sessions
 * (which must outlive it). */
typedef struct mx_ticket_rows mx_ticket_rows;
mx_ticket_rows *mx_ticket_rows_new(const mx_report *r);
/* The sessions to d that a ticket's per-destination table lists, in
 * order: at most MX_TICKET_SESSION_ROWS; *more: how many other attempts
 * to d there were (past the rows, or not kept at all). */
const GPtrArray *mx_ticket_rows_for(const mx_ticket_rows *t, const mx_destination *d, guint *more);
void mx_ticket_rows_free(mx_ticket_rows *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mx_ticket_rows, mx_ticket_rows_free)

/* The sentence saying that sessions past MX_TICKET_SESSIONS_KEPT were
 * counted but not kept, or NULL when every session is listed.  Caller frees. */
char *mx_ticket_unlisted(const mx_report *r);

/* The destination rows a ticket lists, as row indexes in table order: the
 * failing ones first, at most MX_TICKET_DESTINATION_ROWS; *more gets how
 * many are left out.  Caller frees (g_array_unref). */
GArray *mx_ticket_destinations(const mx_report *r, guint *more);
/* "N more destinations not listed ..." and the sessions the table had no
 * row for (MX_MAX_DESTINATIONS), or NULL when nothing was left out. */
char *mx_ticket_destinations_unlisted(const mx_report *r, guint more);

/* "firewall 198.18.0.2, hop 2 from the gateway (confidence high)", as the
 * text report words it; "none" for no culprit. Caller frees. */
char *mx_ticket_culprit(const mx_culprit *c);

/* "frame 22", "frame 22 (evidence frame 9)", with the file name first
 * when the run had several inputs. Caller frees. */
char *mx_ticket_frame_name(const mx_frame_ref *at, const GPtrArray *inputs, const struct mx_evidence_file *ev);

#endif
