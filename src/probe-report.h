/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-report.h — one probe as text (a traceroute-like ladder, the verdict, the SMTP session) or JSON.
 *
 * Takes: what the stages produced for one target.  Produces: the text
 * report or the probe-v1 JSON document (../shared/schema/probe-v1.schema.json);
 * the session object inside it is report-json.c's, so `read` and `probe`
 * print sessions the same way.
 */
#ifndef MX_PROBE_REPORT_H
#define MX_PROBE_REPORT_H

#include <stdio.h>
#include "probe.h"
#include "probe-smtp.h"

typedef struct mx_probe_result {
    const char *host;            /* as given on the command line; NULL for an address */
    mx_probe_ladder ladder;
    mx_probe_path path;
    bool dialogue_run;
    mx_dialogue dialogue;
    const char *capture_file;    /* -w, or NULL */
    int per_hop;
} mx_probe_result;

void mx_probe_result_init(mx_probe_result *r);
void mx_probe_result_clear(mx_probe_result *r);

/* True when the path or the dialogue shows a failure (exit status 1). */
bool mx_probe_result_failed(const mx_probe_result *r);

void mx_probe_report_text(const mx_probe_result *r, FILE *out);
/* pretty: indented (one target); else one line (several MX hosts). */
void mx_probe_report_json(const mx_probe_result *r, bool pretty, FILE *out);

#endif
