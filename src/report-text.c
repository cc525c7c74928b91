/* SPDX-License-Identifier: BSD-3-Clause */
/* report-text.c — the report a mail administrator pastes into a ticket.
 *
 * Header (inputs and counts), one block per failed or warned session
 * (who, when, verdict, culprit hop, evidence frames, advice), then one
 * line per destination.  Clean sessions are counted, not listed, unless -v.
 * `read` streams it (mx_text_doc_*): blocks in the order sessions finish.
 */
#include "report.h"
#include "report-queue.h"
#include "report-ticket.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <time.h>
#include <unistd.h>

#define ADDR_BUF 64



static void print_session(const mx_session *s, const mx_report *r, FILE *out)
{
    const mx_verdict *v = &s->verdict;
    char client[80], server[80], start[40], end[40], ip[ADDR_BUF];
    mx_addr_endpoint(&s->client_ip, s->client_port, client, sizeof client);
    mx_addr_endpoint(&s->server_ip, s->server_port, server, sizeof server);
    mx_report_time(s->start_us, start, sizeof start);
    mx_report_time(s->end_us, end, sizeof end);

    g_autofree char *outcome = g_ascii_strup(mx_outcome_name(v->outcome), -1);
    fprintf(out, "#%" G_GUINT64_FORMAT " %s %s (phase %s)  %s -> %s\n", s->id, outcome,
            mx_kind_name(v->kind), mx_phase_name(v->phase), client, server);
    fprintf(out, "   when:     %s UTC, %.1f s\n", start, (double)(s->end_us - s->start_us) / 1e6);
    fprintf(out, "   what:     %s\n", v->summary->str);
    if (v->culprit.role != MX_ROLE_NONE) {
        fprintf(out, "   culprit:  %s", mx_role_name(v->culprit.role));
        if (v->culprit.has_ip)
            fprintf(out, " %s", mx_addr_str(&v->culprit.ip, ip, sizeof ip));
        if (v->culprit.hops_from_client > 0)
            fprintf(out, ", hop %d from the gateway", v->culprit.hops_from_client);
        fprintf(out, " (confidence %s)\n", mx_confidence_name(v->culprit.confidence));
    }
    if (v->mta_status->len)
        fprintf(out, "   status:   %s\n", v->mta_status->str);
    for (guint i = 0; i < v->warnings->len; i++) {
        const mx_warning *w = &g_array_index(v->warnings, mx_warning, i);
        fprintf(out, "   warning:  %s: %s\n", mx_warning_name(w->kind), w->detail);
    }
    if (v->evidence->len)
        fprintf(out, "   evidence:\n");
    for (guint i = 0; i < v->evidence->len; i++) {
        const mx_evidence *e = &g_array_index(v->evidence, mx_evidence, i);
        char t[40];
        mx_report_time(e->at.ts_us, t, sizeof t);
        if (r->inputs->len > 1 && e->at.file_index < r->inputs->len)
            fprintf(out, "     %s frame %-6" G_GUINT64_FORMAT " %s  %s\n",
                    (const char *)g_ptr_array_index(r->inputs, e->at.file_index), e->at.frame, t + 11, e->fact);
        else
            fprintf(out, "     frame %-6" G_GUINT64_FORMAT " %s  %s\n", e->at.frame, t + 11, e->fact);
    }
    if (v->advice->len)
        fprintf(out, "   advice:   %s\n", v->advice->str);
    fputc('\n', out);
}

/* Prints s's block when the report lists it (failed, rejected, warned or
 * incomplete, as the ticket reports; every session with -v); true if so. */
static bool list_session(const mx_session *s, const mx_report *r, FILE *out)
{
    if (!r->verbose && !mx_ticket_listed(s))
        return false;
    print_session(s, r, out);
    return true;
}

void mx_report_text_session(const mx_session *s, const mx_report *r, FILE *out)
{
    print_session(s, r, out);
    fflush(out);
}

/* Header, then the answer first: one sentence per destination that failed. */
static void write_head(const mx_report *r, FILE *out)
{
    const uint32_t *count = r->outcomes;
    fprintf(out, "mxray %s: ", r->version);
    for (guint i = 0; i < r->inputs->len; i++)
        fprintf(out, "%s%s", i ? ", " : "", (const char *)g_ptr_array_index(r->inputs, i));
    fprintf(out, "\n%" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " SMTP session%s: "
            "%u delivered, %u ok, %u rejected, %u failed, %u incomplete\n",
            r->stats.packets, r->stats.smtp_sessions, r->stats.smtp_sessions == 1 ? "" : "s", count[MX_OUTCOME_DELIVERED], count[MX_OUTCOME_OK],
            count[MX_OUTCOME_REJECTED], count[MX_OUTCOME_FAILED], count[MX_OUTCOME_INCOMPLETE]);
    if (r->stats.skipped || r->stats.truncated || r->stats.evicted)
        fprintf(out, "(%" G_GUINT64_FORMAT " packets skipped, %" G_GUINT64_FORMAT " cut by the snap length, %"
                G_GUINT64_FORMAT " flows evicted)\n", r->stats.skipped, r->stats.truncated, r->stats.evicted);
    if (r->stats.destination_sessions_dropped)
        fprintf(out, "(%" G_GUINT64_FORMAT " sessions went to servers past the first %d, which have no destination "
                "row)\n", r->stats.destination_sessions_dropped, MX_MAX_DESTINATIONS);
    if (r->stats.offload_length)
        fprintf(out, "(%" G_GUINT64_FORMAT " segmentation-offload packet%s with IP length 0: length taken from the "
                "frame)\n", r->stats.offload_length, r->stats.offload_length == 1 ? "" : "s");
    fputc('\n', out);
    if (r->queue)
        mx_queue_text(r->queue, out);

    guint verdicts = 0;
    for (guint i = 0; i < r->destinations->len; i++) {
        g_autofree char *line = mx_report_destination_verdict(r, &g_array_index(r->destinations, mx_destination, i));
        if (line) {
            fprintf(out, "* %s\n", line);
            verdicts++;
        }
    }
    if (verdicts)
        fputc('\n', out);
}

static void write_tail(const mx_report *r, guint listed, FILE *out)
{
    if (listed == 0 && r->destinations->len > 0)
        fprintf(out, "No failed session.\n\n");
    if (r->destinations->len)
        fprintf(out, "Destinations:\n");
    for (guint i = 0; i < r->destinations->len; i++) {
        const mx_destination *d = &g_array_index(r->destinations, mx_destination, i);
        char ip[ADDR_BUF];
        fprintf(out, "  %-39s %u attempt%s, %u failed:", mx_addr_str(&d->ip, ip, sizeof ip), d->attempts,
                d->attempts == 1 ? "" : "s", d->failed);
        for (int k = 0; k < MX_KIND_COUNT; k++)
            if (d->kinds[k])
                fprintf(out, " %s %u", mx_kind_name((mx_kind)k), d->kinds[k]);
        fputc('\n', out);
    }
}

void mx_report_text(const mx_report *r, FILE *out)
{
    write_head(r, out);
    guint listed = 0;
    for (guint i = 0; i < r->sessions->len; i++)
        listed += list_session(g_ptr_array_index(r->sessions, i), r, out);
    write_tail(r, listed, out);
}

/* ---- the report written as sessions finish --------------------------------
 *
 * The header needs every count, so the listed sessions' blocks wait in an
 * unlinked temporary file (TMPDIR, else /tmp) until the end: memory does
 * not grow with the number of sessions, only the file does, as stdout
 * would. */

struct mx_text_doc {
    const mx_report *r;
    FILE *out;
    FILE *spool;
    guint listed;
};

mx_text_doc *mx_text_doc_begin(const mx_report *r, FILE *out, GError **error)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("mxray-report-XXXXXX", &path, error);
    if (fd < 0)
        return NULL;
    g_unlink(path);
    FILE *spool = fdopen(fd, "w+");
    if (!spool) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "temporary file %s: %s", path,
                    g_strerror(errno));
        close(fd);
        return NULL;
    }
    mx_text_doc *d = g_new0(mx_text_doc, 1);
    d->r = r;
    d->out = out;
    d->spool = spool;
    return d;
}

void mx_text_doc_session(mx_text_doc *d, const mx_session *s)
{
    d->listed += list_session(s, d->r, d->spool);
}

gboolean mx_text_doc_end(mx_text_doc *d, GError **error)
{
    gboolean ok = fflush(d->spool) == 0 && !ferror(d->spool);
    if (!ok)
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "the report's temporary file: %s (is TMPDIR full?)", g_strerror(errno));
    write_head(d->r, d->out);
    rewind(d->spool);
    char buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, d->spool)) > 0)
        fwrite(buf, 1, n, d->out);
    if (ok && ferror(d->spool)) {
        ok = FALSE;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    "the report's temporary file: cannot read it back: %s", g_strerror(errno));
    }
    write_tail(d->r, d->listed, d->out);
    fclose(d->spool);
    g_free(d);
    return ok;
}
