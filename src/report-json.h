/* SPDX-License-Identifier: BSD-3-Clause */
/* report-json.h — the JSON document and JSON lines (report-json.c), whole or written as sessions finish. */
#ifndef MX_REPORT_JSON_H
#define MX_REPORT_JSON_H

#include <stdio.h>
#include "report.h"

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
void mx_json_doc_end(mx_json_doc *d);

/* One session as a JSON object (as in "sessions") written by w where a
 * value is due, for documents that embed it (probe); r may be NULL. */
struct mx_json_out;
void mx_report_json_session(struct mx_json_out *w, const mx_session *s, const mx_report *r);
/* One session as one line of JSON (jsonl, and live). */
void mx_report_json_line(const mx_session *s, const mx_report *r, FILE *out);

#endif
