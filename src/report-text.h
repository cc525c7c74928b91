/* SPDX-License-Identifier: BSD-3-Clause */
/* report-text.h — the text report (report-text.c): whole, written as sessions finish, or one session (live). */
#ifndef MX_REPORT_TEXT_H
#define MX_REPORT_TEXT_H

#include <stdio.h>
#include "report.h"

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
/* One session's text block, flushed (live). */
void mx_report_text_session(const mx_session *s, const mx_report *r, FILE *out);

#endif
