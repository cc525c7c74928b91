/* SPDX-License-Identifier: BSD-3-Clause */
/* report-queue.h — the queue (from the MTA's log, joined to the sessions) in every report.
 *
 * Built once from a finished join; the text, JSON, Markdown and HTML
 * reports lead with it when `read --maillog` gave a log.
 */
#ifndef MX_REPORT_QUEUE_H
#define MX_REPORT_QUEUE_H

#include <stdio.h>
#include "maillog-join.h"
#include "report.h"

typedef struct mx_queue mx_queue;
/* j must outlive the queue. */
mx_queue *mx_queue_new(const mx_join *j);
void mx_queue_free(mx_queue *q);

/* The queue section of the text report (also Markdown's, in a code block). */
void mx_queue_text(const mx_queue *q, FILE *out);
/* The same as a string (Markdown and HTML quote it as a block).  Caller frees. */
char *mx_queue_text_string(const mx_queue *q);
/* Writes the members "maillog" and "queue" into the object w is writing. */
struct mx_json_out;
void mx_queue_json(struct mx_json_out *w, const mx_queue *q);

#endif
