/* SPDX-License-Identifier: BSD-3-Clause */
/* report-html.h — the support-ticket report in HTML with SVG ladders (report-html.c). */
#ifndef MX_REPORT_HTML_H
#define MX_REPORT_HTML_H

#include <stdio.h>
#include "report.h"

/* Support-ticket reports (report-markdown.c, report-html.c): the answer,
 * destinations, one section per group of similar failures with a ladder
 * diagram.  ev: the evidence capture written for this run, or NULL (its
 * frame numbers are then named next to the input's). */
struct mx_evidence_file;
void mx_report_html(const mx_report *r, const struct mx_evidence_file *ev, FILE *out);

#endif
