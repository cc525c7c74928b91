/* SPDX-License-Identifier: BSD-3-Clause */
/* read-run.h — one `mxray read` run once its command line is understood:
 * frames in, the report (and the evidence capture) out.
 *
 * Takes: the run's options, its input names, frames, and (--maillog) a
 * log join.  Produces: the report on options.out in the chosen format,
 * the evidence capture, whether any session failed.  Owns: the analyzer,
 * the report model, the streaming writers (writer thread, text spool),
 * the redactor and the join of one run.
 *
 * The steps run in this order, and only here (mx_read_source runs them
 * over a source; tests run the same steps over frames they build):
 *   1. mx_read_begin        report, streamed outputs begun, analyzer made
 *   2. mx_read_frame        every frame, in order
 *   3. mx_read_end_of_input every flow finished and judged (held refusals
 *                           judged again before anything counts them),
 *                           stats, kept sessions, the maillog join, sort
 *   4. mx_read_write        the evidence capture, then the report
 */
#ifndef MX_READ_RUN_H
#define MX_READ_RUN_H

#include <stdio.h>

#include "analyzer.h"
#include "report.h"
#include "source.h"

struct mx_join;

typedef enum { MX_READ_TEXT, MX_READ_JSON, MX_READ_JSONL, MX_READ_MARKDOWN, MX_READ_HTML } mx_read_format;

typedef struct mx_read_options {
    mx_read_format format;
    bool verbose;                /* list clean sessions too */
    const uint16_t *ports;       /* tracked SMTP ports */
    size_t n_ports;
    size_t max_flows;
    const char *evidence_path;   /* NULL: no evidence capture */
    bool keep_payload;           /* evidence: bodies and AUTH as captured */
    bool redact_addresses;       /* pseudonyms for local parts, in every output */
    FILE *out;                   /* where the report goes */
} mx_read_options;

typedef struct mx_read_run mx_read_run;

/* join: --maillog's join (the run owns it from here), or NULL. */
mx_read_run *mx_read_begin(const mx_read_options *o, const char *const *inputs, size_t n_inputs,
                           struct mx_join *join);
void mx_read_frame(mx_read_run *r, const mx_raw_frame *frame);
void mx_read_end_of_input(mx_read_run *r);
/* Returns false when the evidence capture or the report could not be
 * written (said on stderr). */
bool mx_read_write(mx_read_run *r);
void mx_read_free(mx_read_run *r);

/* The report as counted (after mx_read_end_of_input: complete). */
const mx_report *mx_read_report(const mx_read_run *r);
/* A session failed or was rejected (exit status 1). */
bool mx_read_any_failed(const mx_read_run *r);

/* The analyzer as `read` judges with (step 1 makes it so): refusals held
 * until the whole input's hop baselines are known.  Tests that want
 * sessions judged as `read` judges them make theirs here. */
mx_analyzer *mx_read_analyzer_new(const uint16_t *ports, size_t n_ports, size_t max_flows,
                                  mx_session_fn session_fn, void *ctx);

/* Steps 1-4 over every frame of src, then the run is freed.  Returns
 * mx_read_write's answer; *any_failed: as mx_read_any_failed. */
bool mx_read_source(const mx_read_options *o, mx_source *src, struct mx_join *join, bool *any_failed);

#endif
