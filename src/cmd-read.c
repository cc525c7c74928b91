/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd-read.c — `mxray read`: captures in, report out. */
#include "config.h"
#include "analyzer.h"
#include "caps.h"
#include "dns.h"
#include "evidence.h"
#include "redact.h"
#include "cmd.h"
#include "maillog.h"
#include "maillog-join.h"
#include "report-queue.h"
#include "report.h"
#include "report-ticket.h"
#include "source.h"
#include "writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_JSONL, FORMAT_MARKDOWN, FORMAT_HTML } output_format;

typedef struct read_run {
    mx_report report;
    output_format format;
    bool any_failed;
    mx_json_doc *stream;     /* json, jsonl: sessions written as they finish */
    mx_writer *writer;       /* ... by this thread */
    mx_text_doc *text;       /* text: the same, blocks held in a temporary file */
    GQueue *clean_kept;      /* markdown, html: clean sessions kept, oldest first */
    mx_join *join;           /* --maillog: every session remembered for the join, or NULL */
    bool ticket;             /* markdown, html without --evidence */
    mx_redactor *redactor;   /* --redact-addresses: every output's pseudonyms */
} read_run;

static void write_session(void *doc, const mx_session *s)
{
    mx_json_doc_session(doc, s);
}

/* Hands a finished session to the streamed report, which owns it then. */
static void emit(read_run *run, mx_session *s)
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
static void keep_for_ticket(read_run *run, mx_session *s)
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

static void on_session(mx_session *s, void *ctx)
{
    read_run *run = ctx;
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
    /* Streamed as it finishes: memory stays flat however long the capture.
     * Refusals arrive judged again already (mx_analyzer_hold_refusals). */
    if (run->stream || run->text) {
        emit(run, s);
        return;
    }
    g_ptr_array_add(run->report.sessions, s);
}

gboolean mx_parse_ports(const char *text, GArray *ports, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    for (char **p = parts; *p; p++) {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(*p, &end, 10);
        if (**p == '\0' || *end != '\0' || errno || v == 0 || v > 65535) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--ports: '%s' is not a port number (1-65535)", *p);
            return FALSE;
        }
        uint16_t port = (uint16_t)v;
        g_array_append_val(ports, port);
    }
    if (ports->len == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--ports: no port given");
        return FALSE;
    }
    return TRUE;
}

static bool is_input_name(const char *arg)
{
    struct stat st;
    return strcmp(arg, "-") == 0 || stat(arg, &st) == 0;
}

int mx_cmd_read(int argc, char **argv)
{
    g_autofree char *format = NULL;
    g_autofree char *ports_text = NULL;
    gboolean verbose = FALSE, numeric = FALSE;
    gint max_flows = MX_MAX_FLOWS;
    g_autofree char *evidence_path = NULL;
    gboolean keep_payload = FALSE, redact_addresses = FALSE;
    g_auto(GStrv) maillogs = NULL;
    g_autofree char *maillog_tz = NULL;
    GOptionEntry entries[] = {
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "Output: text (default), json, jsonl, markdown or html", "FORMAT" },
        { "ports", 'p', 0, G_OPTION_ARG_STRING, &ports_text, "SMTP ports to track (default 25)", "25,587" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "List clean sessions too", NULL },
        { "numeric", 'n', 0, G_OPTION_ARG_NONE, &numeric, "No DNS look-ups (always the case; accepted for tcpdump habits)", NULL },
        { "max-flows", 0, 0, G_OPTION_ARG_INT, &max_flows, "Flows tracked at once before the oldest is evicted", "N" },
        { "evidence", 0, 0, G_OPTION_ARG_FILENAME, &evidence_path,
          "Write the packets that prove the findings to FILE (pcap), message bodies and AUTH redacted", "FILE.pcap" },
        { "keep-payload", 0, 0, G_OPTION_ARG_NONE, &keep_payload, "--evidence: keep message bodies and AUTH as captured", NULL },
        { "redact-addresses", 0, 0, G_OPTION_ARG_NONE, &redact_addresses,
          "Replace the local parts of mail addresses by pseudonyms in the report and the evidence", NULL },
        { "maillog", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &maillogs,
          "The MTA's log (Postfix, Exim, Sendmail; plain or gzip; repeat for rotated files): the report leads with the queue", "FILE" },
        { "maillog-tz", 0, 0, G_OPTION_ARG_STRING, &maillog_tz,
          "Zone of log stamps that name none (traditional syslog): UTC (default), +01:00, Europe/Berlin", "ZONE" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("FILE... [BPF EXPRESSION] - explain SMTP failures in captures");
    g_option_context_set_summary(octx,
        "Reads pcap/pcapng captures (several files are merged in time order; - is stdin)\n"
        "and reports, for every SMTP session, which hop failed and why.\n"
        "Exit status: 0 no failure, 1 a session failed or was rejected, 2 usage or input error.");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(octx, &argc, &argv, &error)) {
        fprintf(stderr, "mxray read: %s (try --help)\n", error->message);
        return MX_EXIT_USAGE;
    }

    read_run run = {0};
    if (!format || strcmp(format, "text") == 0)
        run.format = FORMAT_TEXT;
    else if (strcmp(format, "json") == 0)
        run.format = FORMAT_JSON;
    else if (strcmp(format, "jsonl") == 0)
        run.format = FORMAT_JSONL;
    else if (strcmp(format, "markdown") == 0 || strcmp(format, "md") == 0)
        run.format = FORMAT_MARKDOWN;
    else if (strcmp(format, "html") == 0)
        run.format = FORMAT_HTML;
    else {
        fprintf(stderr, "mxray read: unknown format '%s' (text, json, jsonl, markdown or html)\n", format);
        return MX_EXIT_USAGE;
    }
    if (keep_payload && !evidence_path) {
        fprintf(stderr, "mxray read: --keep-payload goes with --evidence FILE.pcap\n");
        return MX_EXIT_USAGE;
    }
    if (keep_payload && redact_addresses) {
        /* Kept payload holds addresses in bodies no parser reads for sure. */
        fprintf(stderr, "mxray read: --redact-addresses cannot hold with --keep-payload (bodies keep their "
                        "addresses): choose one\n");
        return MX_EXIT_USAGE;
    }
    if (evidence_path && strcmp(evidence_path, "-") == 0) {
        /* The report goes to standard output: a pcap there would be mixed into it. */
        fprintf(stderr, "mxray read: --evidence needs a file name: standard output carries the report\n");
        return MX_EXIT_USAGE;
    }
    if (evidence_path && run.format == FORMAT_JSONL) {
        fprintf(stderr, "mxray read: --evidence needs the sessions kept: use --format text, json, markdown or html\n");
        return MX_EXIT_USAGE;
    }
    if (max_flows < 1) {
        fprintf(stderr, "mxray read: --max-flows must be at least 1\n");
        return MX_EXIT_USAGE;
    }
    g_autoptr(GArray) ports = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    if (!mx_parse_ports(ports_text ? ports_text : "25", ports, &error)) {
        fprintf(stderr, "mxray read: %s\n", error->message);
        return MX_EXIT_USAGE;
    }

    /* argv[0] is "read"; then files while they exist, then the expression. */
    if (argc < 2) {
        fprintf(stderr, "mxray read: no capture file given (try --help)\n");
        return MX_EXIT_USAGE;
    }
    int first_expr = 2;
    while (first_expr < argc && is_input_name(argv[first_expr]))
        first_expr++;
    g_autofree char *expr = first_expr < argc ? g_strjoinv(" ", argv + first_expr) : NULL;
    for (int i = 1; evidence_path && i < first_expr; i++) {
        if (strcmp(argv[i], "-") == 0) {
            fprintf(stderr, "mxray read: --evidence needs capture files to read a second time, not standard input: "
                            "save it to a file first (e.g. tcpdump -w trace.pcap)\n");
            return MX_EXIT_USAGE;
        }
    }

    if (maillog_tz && !maillogs) {
        fprintf(stderr, "mxray read: --maillog-tz goes with --maillog FILE\n");
        return MX_EXIT_USAGE;
    }
    mx_maillog *maillog = NULL;
    if (maillogs) {
        maillog = mx_maillog_new();
        for (char **m = maillogs; *m; m++) {
            g_autoptr(GError) log_error = NULL;
            if (!mx_maillog_read_file(maillog, *m, &log_error)) {
                fprintf(stderr, "mxray: --maillog %s\n", log_error->message);
                mx_maillog_free(maillog);
                return MX_EXIT_USAGE;
            }
        }
        g_autoptr(GError) tz_error = NULL;
        run.join = mx_join_new(maillog, maillog_tz, &tz_error);
        if (run.join == NULL) {
            fprintf(stderr, "mxray read: %s\n", tz_error->message);
            mx_maillog_free(maillog);
            return MX_EXIT_USAGE;
        }
    }

    g_autoptr(GError) open_error = NULL;
    mx_source *src = mx_source_open((const char *const *)argv + 1, (size_t)(first_expr - 1), expr, &open_error);
    if (src == NULL) {
        fprintf(stderr, "mxray: %s\n", open_error->message);
        mx_join_free(run.join);
        mx_maillog_free(maillog);
        return MX_EXIT_USAGE;
    }

    mx_report_init(&run.report);
    run.report.version = PACKAGE_VERSION;
    run.report.verbose = verbose;
    for (size_t i = 0; i < mx_source_file_count(src); i++)
        g_ptr_array_add(run.report.inputs, g_strdup(mx_source_file_name(src, (uint32_t)i)));

    /* --evidence needs every session before any report is written (it
     * picks comparison sessions): then the document is written at the end. */
    if (run.format == FORMAT_JSONL)
        run.stream = mx_json_lines_begin(&run.report, stdout);
    else if (run.format == FORMAT_JSON && !evidence_path)
        run.stream = mx_json_doc_begin(&run.report, stdout);
    if (run.stream)
        run.writer = mx_writer_new(write_session, run.stream);
    if (run.format == FORMAT_TEXT && !evidence_path) {
        g_autoptr(GError) text_error = NULL;
        run.text = mx_text_doc_begin(&run.report, stdout, &text_error);
        /* No temporary file: the report still comes out, from sessions
         * kept in memory as before streaming (say so: memory grows). */
        if (!run.text)
            fprintf(stderr, "mxray: %s: keeping the sessions in memory for the report\n", text_error->message);
    }

    /* --evidence picks its packets from every session: then all are kept. */
    if ((run.format == FORMAT_MARKDOWN || run.format == FORMAT_HTML) && !evidence_path) {
        run.clean_kept = g_queue_new();
        run.ticket = true;
    }

    if (redact_addresses)
        run.redactor = mx_redactor_new();
    mx_analyzer *an = mx_analyzer_new((const uint16_t *)ports->data, ports->len, (size_t)max_flows, on_session, &run);
    mx_analyzer_hold_refusals(an);
    if (run.stream || run.text)
        mx_analyzer_skip_ladders(an);   /* JSON and text have no ladder */
    mx_raw_frame frame;
    while (mx_source_next(src, &frame))
        mx_analyzer_frame(an, &frame);
    mx_analyzer_finish(an);
    uint64_t dest_dropped = run.report.stats.destination_sessions_dropped;   /* counted by the report */
    mx_analyzer_stats(an, &run.report.stats);
    run.report.stats.destination_sessions_dropped = dest_dropped;
    if (run.clean_kept) {
        for (mx_session *s; (s = g_queue_pop_head(run.clean_kept)) != NULL;)
            g_ptr_array_add(run.report.sessions, s);
        g_queue_free(run.clean_kept);
        run.clean_kept = NULL;
    }
    /* The log joined once every session is judged; the reports lead with the queue. */
    mx_queue *queue = NULL;
    if (run.join) {
        for (guint i = 0; !run.ticket && i < run.report.sessions->len; i++)
            mx_join_add_session(run.join, g_ptr_array_index(run.report.sessions, i));
        mx_join_run(run.join);
        queue = mx_queue_new(run.join);
        run.report.queue = queue;
    }
    g_autoptr(GHashTable) mx_hosts = mx_dns_mx_domains(mx_analyzer_dns(an));
    mx_report_set_mx_domains(&run.report, mx_hosts);
    mx_analyzer_free(an);

    mx_report_sort(&run.report);
    if (run.writer) {
        /* Nothing else is written before the writer thread is done. */
        mx_writer_finish(run.writer);
        run.writer = NULL;
    }
    /* The evidence capture first: the ticket reports name its frames. */
    mx_evidence_file *ev = NULL;
    bool evidence_failed = false, output_failed = false;
    if (evidence_path) {
        mx_evidence_options eopt = { .keep_payload = keep_payload, .redact_addresses = redact_addresses,
                                     .redactor = run.redactor };
        g_autoptr(GError) ev_error = NULL;
        ev = mx_evidence_write(&run.report, evidence_path, &eopt, &ev_error);
        if (ev == NULL) {
            fprintf(stderr, "mxray: %s\n", ev_error->message);
            evidence_failed = true;
        }
    }
    if (run.stream) {
        mx_json_doc_end(run.stream);
        run.stream = NULL;
    } else if (run.text) {
        g_autoptr(GError) text_error = NULL;
        if (!mx_text_doc_end(run.text, &text_error)) {
            fprintf(stderr, "mxray: %s\n", text_error->message);
            output_failed = true;
        }
        run.text = NULL;
    } else if (run.format == FORMAT_JSON)
        mx_report_json(&run.report, stdout);
    else if (run.format == FORMAT_TEXT)
        mx_report_text(&run.report, stdout);
    else if (run.format == FORMAT_MARKDOWN)
        mx_report_markdown(&run.report, ev, stdout);
    else if (run.format == FORMAT_HTML)
        mx_report_html(&run.report, ev, stdout);
    fflush(stdout);
    if (ev && (run.format == FORMAT_TEXT || run.format == FORMAT_JSON)) {
        /* The ticket formats carry the whole note; here one line says where the file went. */
        fprintf(stderr, "mxray: evidence: %" G_GUINT64_FORMAT " frames written to %s (%s)\n", ev->frames, ev->path,
                ev->redacted ? "payload blanked but SMTP commands and replies, checksums recomputed" : "payload kept");
    }
    mx_evidence_file_free(ev);

    /* Errors last, after what was read before the damage is reported. */
    const GPtrArray *errors = mx_source_errors(src);
    for (guint i = 0; i < errors->len; i++)
        fprintf(stderr, "mxray: %s\n", (const char *)g_ptr_array_index(errors, i));
    bool log_failed = false;
    for (guint i = 0; maillog && i < maillog->files->len; i++) {
        const char *e = g_array_index(maillog->files, mx_maillog_file_stats, i).error;
        if (e) {
            fprintf(stderr, "mxray: --maillog %s\n", e);
            log_failed = true;
        }
    }
    mx_queue_free(queue);
    mx_join_free(run.join);
    mx_maillog_free(maillog);
    int status = errors->len || log_failed || evidence_failed || output_failed ? MX_EXIT_USAGE : run.any_failed ? MX_EXIT_FAILURES : MX_EXIT_OK;
    mx_source_free(src);
    mx_report_clear(&run.report);
    mx_redactor_free(run.redactor);
    return status;
}
