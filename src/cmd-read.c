/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd-read.c — `mxray read`: its command line, then one run (read-run.c) over the captures.
 *
 * The driver's steps, in order: options parsed and checked, input names
 * told from the BPF expression, the maillog read, the captures opened,
 * the run (read-run.h states its own steps), then input errors last. */
#include "config.h"
#include "caps.h"
#include "cmd.h"
#include "maillog.h"
#include "maillog-join.h"
#include "read-run.h"
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The command line as given, before it is checked. */
typedef struct read_cli {
    char *format, *ports_text, *evidence_path, *maillog_tz;
    gboolean verbose, numeric, keep_payload, redact_addresses;
    gint max_flows;
    char **maillogs;
} read_cli;

/* What the driver opens, freed on every way out. */
typedef struct read_inputs {
    GArray *ports;
    int first_expr;          /* argv index of the BPF expression (argc: none) */
    char *expr;
    mx_maillog *maillog;
    mx_join *join;           /* handed to the run, which frees it */
    mx_source *src;
} read_inputs;

#define PARSED (-1)          /* a step's "no usage error: go on" */

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

static int parse_command_line(int *argc, char ***argv, read_cli *c)
{
    GOptionEntry entries[] = {
        { "format", 'f', 0, G_OPTION_ARG_STRING, &c->format, "Output: text (default), json, jsonl, markdown or html", "FORMAT" },
        { "ports", 'p', 0, G_OPTION_ARG_STRING, &c->ports_text, "SMTP ports to track (default 25)", "25,587" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &c->verbose, "List clean sessions too", NULL },
        { "numeric", 'n', 0, G_OPTION_ARG_NONE, &c->numeric, "No DNS look-ups (always the case; accepted for tcpdump habits)", NULL },
        { "max-flows", 0, 0, G_OPTION_ARG_INT, &c->max_flows, "Flows tracked at once before the oldest is evicted", "N" },
        { "evidence", 0, 0, G_OPTION_ARG_FILENAME, &c->evidence_path,
          "Write the packets that prove the findings to FILE (pcap), message bodies and AUTH redacted", "FILE.pcap" },
        { "keep-payload", 0, 0, G_OPTION_ARG_NONE, &c->keep_payload, "--evidence: keep message bodies and AUTH as captured", NULL },
        { "redact-addresses", 0, 0, G_OPTION_ARG_NONE, &c->redact_addresses,
          "Replace the local parts of mail addresses by pseudonyms in the report and the evidence", NULL },
        { "maillog", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &c->maillogs,
          "The MTA's log (Postfix, Exim, Sendmail; plain or gzip; repeat for rotated files): the report leads with the queue", "FILE" },
        { "maillog-tz", 0, 0, G_OPTION_ARG_STRING, &c->maillog_tz,
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
    if (!g_option_context_parse(octx, argc, argv, &error)) {
        fprintf(stderr, "mxray read: %s (try --help)\n", error->message);
        return MX_EXIT_USAGE;
    }
    return PARSED;
}

static bool parse_format(const char *name, mx_read_format *format)
{
    static const struct { const char *name; mx_read_format format; } names[] = {
        { "text", MX_READ_TEXT }, { "json", MX_READ_JSON }, { "jsonl", MX_READ_JSONL },
        { "markdown", MX_READ_MARKDOWN }, { "md", MX_READ_MARKDOWN }, { "html", MX_READ_HTML },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(name, names[i].name) == 0) {
            *format = names[i].format;
            return true;
        }
    }
    return false;
}

/* The options that go together, into the run's options. */
static int check_options(const read_cli *c, read_inputs *in, mx_read_options *o)
{
    if (!parse_format(c->format ? c->format : "text", &o->format)) {
        fprintf(stderr, "mxray read: unknown format '%s' (text, json, jsonl, markdown or html)\n", c->format);
        return MX_EXIT_USAGE;
    }
    const char *problem = NULL;
    if (c->keep_payload && !c->evidence_path)
        problem = "--keep-payload goes with --evidence FILE.pcap";
    else if (c->keep_payload && c->redact_addresses)
        /* Kept payload holds addresses in bodies no parser reads for sure. */
        problem = "--redact-addresses cannot hold with --keep-payload (bodies keep their addresses): choose one";
    else if (c->evidence_path && strcmp(c->evidence_path, "-") == 0)
        /* The report goes to standard output: a pcap there would be mixed into it. */
        problem = "--evidence needs a file name: standard output carries the report";
    else if (c->evidence_path && o->format == MX_READ_JSONL)
        problem = "--evidence needs the sessions kept: use --format text, json, markdown or html";
    else if (c->max_flows < 1)
        problem = "--max-flows must be at least 1";
    if (problem) {
        fprintf(stderr, "mxray read: %s\n", problem);
        return MX_EXIT_USAGE;
    }
    g_autoptr(GError) error = NULL;
    if (!mx_parse_ports(c->ports_text ? c->ports_text : "25", in->ports, &error)) {
        fprintf(stderr, "mxray read: %s\n", error->message);
        return MX_EXIT_USAGE;
    }
    o->verbose = c->verbose;
    o->ports = (const uint16_t *)in->ports->data;
    o->n_ports = in->ports->len;
    o->max_flows = (size_t)c->max_flows;
    o->evidence_path = c->evidence_path;
    o->keep_payload = c->keep_payload;
    o->redact_addresses = c->redact_addresses;
    o->out = stdout;
    return PARSED;
}

static bool is_input_name(const char *arg)
{
    struct stat st;
    return strcmp(arg, "-") == 0 || stat(arg, &st) == 0;
}

/* argv[0] is "read"; then files while they exist, then the expression. */
static int split_inputs(int argc, char **argv, const read_cli *c, read_inputs *in)
{
    if (argc < 2) {
        fprintf(stderr, "mxray read: no capture file given (try --help)\n");
        return MX_EXIT_USAGE;
    }
    in->first_expr = 2;
    while (in->first_expr < argc && is_input_name(argv[in->first_expr]))
        in->first_expr++;
    in->expr = in->first_expr < argc ? g_strjoinv(" ", argv + in->first_expr) : NULL;
    for (int i = 1; c->evidence_path && i < in->first_expr; i++) {
        if (strcmp(argv[i], "-") == 0) {
            fprintf(stderr, "mxray read: --evidence needs capture files to read a second time, not standard input: "
                            "save it to a file first (e.g. tcpdump -w trace.pcap)\n");
            return MX_EXIT_USAGE;
        }
    }
    return PARSED;
}

static int open_maillog(const read_cli *c, read_inputs *in)
{
    if (c->maillog_tz && !c->maillogs) {
        fprintf(stderr, "mxray read: --maillog-tz goes with --maillog FILE\n");
        return MX_EXIT_USAGE;
    }
    if (!c->maillogs)
        return PARSED;
    in->maillog = mx_maillog_new();
    for (char **m = c->maillogs; *m; m++) {
        g_autoptr(GError) log_error = NULL;
        if (!mx_maillog_read_file(in->maillog, *m, &log_error)) {
            fprintf(stderr, "mxray: --maillog %s\n", log_error->message);
            return MX_EXIT_USAGE;
        }
    }
    g_autoptr(GError) tz_error = NULL;
    in->join = mx_join_new(in->maillog, c->maillog_tz, &tz_error);
    if (in->join == NULL) {
        fprintf(stderr, "mxray read: %s\n", tz_error->message);
        return MX_EXIT_USAGE;
    }
    return PARSED;
}

static int open_source(char **argv, read_inputs *in)
{
    g_autoptr(GError) open_error = NULL;
    in->src = mx_source_open((const char *const *)argv + 1, (size_t)(in->first_expr - 1), in->expr, &open_error);
    if (in->src == NULL) {
        fprintf(stderr, "mxray: %s\n", open_error->message);
        return MX_EXIT_USAGE;
    }
    return PARSED;
}

/* Errors last, after what was read before the damage is reported.
 * Returns whether there were any. */
static bool report_input_errors(const read_inputs *in)
{
    const GPtrArray *errors = mx_source_errors(in->src);
    for (guint i = 0; i < errors->len; i++)
        fprintf(stderr, "mxray: %s\n", (const char *)g_ptr_array_index(errors, i));
    bool log_failed = false;
    for (guint i = 0; in->maillog && i < in->maillog->files->len; i++) {
        const char *e = g_array_index(in->maillog->files, mx_maillog_file_stats, i).error;
        if (e) {
            fprintf(stderr, "mxray: --maillog %s\n", e);
            log_failed = true;
        }
    }
    return errors->len > 0 || log_failed;
}

static void free_inputs(read_inputs *in, read_cli *c)
{
    mx_source_free(in->src);
    mx_join_free(in->join);
    mx_maillog_free(in->maillog);
    g_free(in->expr);
    g_array_free(in->ports, TRUE);
    g_free(c->format);
    g_free(c->ports_text);
    g_free(c->evidence_path);
    g_free(c->maillog_tz);
    g_strfreev(c->maillogs);
}

int mx_cmd_read(int argc, char **argv)
{
    read_cli cli = { .max_flows = MX_MAX_FLOWS };
    read_inputs in = { .ports = g_array_new(FALSE, FALSE, sizeof(uint16_t)) };
    mx_read_options opt = {0};
    int status = parse_command_line(&argc, &argv, &cli);
    if (status == PARSED)
        status = check_options(&cli, &in, &opt);
    if (status == PARSED)
        status = split_inputs(argc, argv, &cli, &in);
    if (status == PARSED)
        status = open_maillog(&cli, &in);
    if (status == PARSED)
        status = open_source(argv, &in);
    if (status == PARSED) {
        bool any_failed = false;
        mx_join *join = in.join;
        in.join = NULL;   /* the run frees it */
        bool written = mx_read_source(&opt, in.src, join, &any_failed);
        bool input_failed = report_input_errors(&in);
        status = input_failed || !written ? MX_EXIT_USAGE : any_failed ? MX_EXIT_FAILURES : MX_EXIT_OK;
    }
    free_inputs(&in, &cli);
    return status;
}
