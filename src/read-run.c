/* SPDX-License-Identifier: BSD-3-Clause */
/* read-run.c — the steps of one `mxray read` run, from frames to the written report. */
#include "config.h"
#include "read-run.h"
#include "caps.h"
#include "dns.h"
#include "evidence.h"
#include "maillog-join.h"
#include "redact.h"
#include "report-html.h"
#include "report-json.h"
#include "report-markdown.h"
#include "report-queue.h"
#include "report-text.h"
#include "report-ticket.h"
#include "writer.h"

struct mx_read_run {
    mx_read_options opt;
    mx_report report;
    mx_analyzer *an;
    bool any_failed;
    mx_json_doc *stream;     /* json, jsonl: sessions written as they finish */
    mx_writer *writer;       /* ... by this thread */
    mx_text_doc *text;       /* text: the same, blocks held in a temporary file */
    GQueue *clean_kept;      /* markdown, html: clean sessions kept, oldest first */
    mx_join *join;           /* --maillog: every session remembered for the join, or NULL */
    mx_queue *queue;         /* --maillog: the joined queue the reports lead with */
    bool ticket;             /* markdown, html without --evidence */
    mx_redactor *redactor;   /* --redact-addresses: every output's pseudonyms */
};

static void write_session(void *doc, const mx_session *s)
{
    mx_json_doc_session(doc, s);
}

/* Hands a finished session to the streamed report, which owns it then. */
static void emit(mx_read_run *run, mx_session *s)
{
    if (run->join)
        mx_join_add_session(run->join, s);
    if (run->writer) {
        mx_writer_session(run->writer, s);
    } else {
        mx_text_doc_session(run->text, s);
        mx_session_free(s);
    }
}

/* A ticket keeps MX_TICKET_SESSIONS_KEPT sessions, failures first: past
 * the cap a failure takes the place of the oldest clean session kept, and
 * what cannot be kept is only counted. */
static void keep_for_ticket(mx_read_run *run, mx_session *s)
{
    mx_report *r = &run->report;
    bool listed = mx_ticket_listed(s);
    if (r->sessions->len + run->clean_kept->length >= MX_TICKET_SESSIONS_KEPT) {
        r->sessions_unlisted++;
        if (!listed || g_queue_is_empty(run->clean_kept)) {
            mx_session_free(s);
            return;
        }
        mx_session_free(g_queue_pop_head(run->clean_kept));
    }
    if (listed)
        g_ptr_array_add(r->sessions, s);
    else
        g_queue_push_tail(run->clean_kept, s);
}

/* Every session once judged for good (refusals judged again already:
 * mx_analyzer_hold_refusals), so that what is counted is what is written. */
static void on_session(mx_session *s, void *ctx)
{
    mx_read_run *run = ctx;
    mx_redact_session(run->redactor, s);
    mx_report_count(&run->report, s);
    if (mx_session_failed(s))
        run->any_failed = true;
    if (run->clean_kept) {
        if (run->join)
            mx_join_add_session(run->join, s);
        keep_for_ticket(run, s);
        return;
    }
    /* Streamed as it finishes: memory stays flat however long the capture. */
    if (run->stream || run->text) {
        emit(run, s);
        return;
    }
    g_ptr_array_add(run->report.sessions, s);
}

/* Step 1, streamed outputs: JSON lines, a JSON document and text are
 * written as sessions finish, unless --evidence needs every session
 * before anything is written (it picks comparison sessions); the ticket
 * formats keep failures first. */
static void begin_outputs(mx_read_run *run)
{
    const mx_read_options *o = &run->opt;
    if (o->format == MX_READ_JSONL)
        run->stream = mx_json_lines_begin(&run->report, o->out);
    else if (o->format == MX_READ_JSON && !o->evidence_path)
        run->stream = mx_json_doc_begin(&run->report, o->out);
    if (run->stream)
        run->writer = mx_writer_new(write_session, run->stream);
    if (o->format == MX_READ_TEXT && !o->evidence_path) {
        g_autoptr(GError) text_error = NULL;
        run->text = mx_text_doc_begin(&run->report, o->out, &text_error);
        /* No temporary file: the report still comes out, from sessions
         * kept in memory as before streaming (say so: memory grows). */
        if (!run->text)
            fprintf(stderr, "mxray: %s: keeping the sessions in memory for the report\n", text_error->message);
    }
    if ((o->format == MX_READ_MARKDOWN || o->format == MX_READ_HTML) && !o->evidence_path) {
        run->clean_kept = g_queue_new();
        run->ticket = true;
    }
}

mx_analyzer *mx_read_analyzer_new(const uint16_t *ports, size_t n_ports, size_t max_flows,
                                  mx_session_fn session_fn, void *ctx)
{
    mx_analyzer *an = mx_analyzer_new(ports, n_ports, max_flows, session_fn, ctx);
    mx_analyzer_hold_refusals(an);
    return an;
}

mx_read_run *mx_read_begin(const mx_read_options *o, const char *const *inputs, size_t n_inputs,
                           struct mx_join *join)
{
    mx_read_run *run = g_new0(mx_read_run, 1);
    run->opt = *o;
    run->join = join;
    mx_report_init(&run->report);
    run->report.version = PACKAGE_VERSION;
    run->report.verbose = o->verbose;
    for (size_t i = 0; i < n_inputs; i++)
        g_ptr_array_add(run->report.inputs, g_strdup(inputs[i]));
    begin_outputs(run);
    if (o->redact_addresses)
        run->redactor = mx_redactor_new();
    run->an = mx_read_analyzer_new(o->ports, o->n_ports, o->max_flows, on_session, run);
    if (run->stream || run->text)
        mx_analyzer_skip_ladders(run->an);   /* JSON and text have no ladder */
    return run;
}

void mx_read_frame(mx_read_run *r, const mx_raw_frame *frame)
{
    mx_analyzer_frame(r->an, frame);
}

/* Step 3, the maillog: joined once every session is judged; the reports
 * lead with the queue. */
static void join_maillog(mx_read_run *run)
{
    for (guint i = 0; !run->ticket && i < run->report.sessions->len; i++)
        mx_join_add_session(run->join, g_ptr_array_index(run->report.sessions, i));
    mx_join_run(run->join);
    run->queue = mx_queue_new(run->join);
    run->report.queue = run->queue;
}

void mx_read_end_of_input(mx_read_run *run)
{
    mx_analyzer_finish(run->an);
    uint64_t dest_dropped = run->report.stats.destination_sessions_dropped;   /* counted by the report */
    mx_analyzer_stats(run->an, &run->report.stats);
    run->report.stats.destination_sessions_dropped = dest_dropped;
    if (run->clean_kept) {
        for (mx_session *s; (s = g_queue_pop_head(run->clean_kept)) != NULL;)
            g_ptr_array_add(run->report.sessions, s);
        g_queue_free(run->clean_kept);
        run->clean_kept = NULL;
    }
    if (run->join)
        join_maillog(run);
    g_autoptr(GHashTable) mx_hosts = mx_dns_mx_domains(mx_analyzer_dns(run->an));
    mx_report_set_mx_domains(&run->report, mx_hosts);
    mx_analyzer_free(run->an);
    run->an = NULL;

    mx_report_sort(&run->report);
    if (run->writer) {
        /* Nothing else is written before the writer thread is done. */
        mx_writer_finish(run->writer);
        run->writer = NULL;
    }
}

/* Step 4, the report itself, streamed or rendered from what was kept. */
static bool write_report(mx_read_run *run, const mx_evidence_file *ev)
{
    FILE *out = run->opt.out;
    bool ok = true;
    if (run->stream) {
        mx_json_doc_end(run->stream);
        run->stream = NULL;
    } else if (run->text) {
        g_autoptr(GError) text_error = NULL;
        if (!mx_text_doc_end(run->text, &text_error)) {
            fprintf(stderr, "mxray: %s\n", text_error->message);
            ok = false;
        }
        run->text = NULL;
    } else if (run->opt.format == MX_READ_JSON)
        mx_report_json(&run->report, out);
    else if (run->opt.format == MX_READ_TEXT)
        mx_report_text(&run->report, out);
    else if (run->opt.format == MX_READ_MARKDOWN)
        mx_report_markdown(&run->report, ev, out);
    else if (run->opt.format == MX_READ_HTML)
        mx_report_html(&run->report, ev, out);
    fflush(out);
    return ok;
}

bool mx_read_write(mx_read_run *run)
{
    const mx_read_options *o = &run->opt;
    /* The evidence capture first: the ticket reports name its frames. */
    mx_evidence_file *ev = NULL;
    bool evidence_failed = false;
    if (o->evidence_path) {
        mx_evidence_options eopt = { .keep_payload = o->keep_payload, .redact_addresses = o->redact_addresses,
                                     .redactor = run->redactor };
        g_autoptr(GError) ev_error = NULL;
        ev = mx_evidence_write(&run->report, o->evidence_path, &eopt, &ev_error);
        if (ev == NULL) {
            fprintf(stderr, "mxray: %s\n", ev_error->message);
            evidence_failed = true;
        }
    }
    bool output_ok = write_report(run, ev);
    if (ev && (o->format == MX_READ_TEXT || o->format == MX_READ_JSON)) {
        /* The ticket formats carry the whole note; here one line says where the file went. */
        fprintf(stderr, "mxray: evidence: %" G_GUINT64_FORMAT " frames written to %s (%s)\n", ev->frames, ev->path,
                ev->redacted ? "payload blanked but SMTP commands and replies, checksums recomputed" : "payload kept");
    }
    mx_evidence_file_free(ev);
    return output_ok && !evidence_failed;
}

void mx_read_free(mx_read_run *run)
{
    if (!run)
        return;
    mx_analyzer_free(run->an);   /* NULL once the input ended */
    mx_queue_free(run->queue);
    mx_join_free(run->join);
    mx_report_clear(&run->report);
    mx_redactor_free(run->redactor);
    g_free(run);
}

const mx_report *mx_read_report(const mx_read_run *r) { return &r->report; }
bool mx_read_any_failed(const mx_read_run *r) { return r->any_failed; }

bool mx_read_source(const mx_read_options *o, mx_source *src, struct mx_join *join, bool *any_failed)
{
    size_t n = mx_source_file_count(src);
    g_autofree const char **inputs = g_new(const char *, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        inputs[i] = mx_source_file_name(src, (uint32_t)i);
    mx_read_run *run = mx_read_begin(o, inputs, n, join);
    mx_raw_frame frame;
    while (mx_source_next(src, &frame))
        mx_read_frame(run, &frame);
    mx_read_end_of_input(run);
    bool ok = mx_read_write(run);
    *any_failed = run->any_failed;
    mx_read_free(run);
    return ok;
}
