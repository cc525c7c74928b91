/* report-text.c — the report a mail administrator pastes into a ticket.
 *
 * Header (inputs and counts), one block per failed or warned session
 * (who, when, verdict, culprit hop, evidence frames, advice), then one
 * line per destination.  Clean sessions are counted, not listed, unless -v.
 */
#include "report.h"

#include <time.h>

#define ADDR_BUF 64


static bool worth_listing(const mx_session *s, bool verbose)
{
    return verbose || mx_session_failed(s) || s->verdict.warnings->len > 0 ||
           s->verdict.outcome == MX_OUTCOME_INCOMPLETE;
}

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

void mx_report_text_session(const mx_session *s, const mx_report *r, FILE *out)
{
    print_session(s, r, out);
    fflush(out);
}

void mx_report_text(const mx_report *r, FILE *out)
{
    uint32_t count[MX_OUTCOME_COUNT] = {0};
    for (guint i = 0; i < r->sessions->len; i++)
        count[((mx_session *)g_ptr_array_index(r->sessions, i))->verdict.outcome]++;

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
    fputc('\n', out);

    /* The answer first: one sentence per destination that failed. */
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

    guint listed = 0;
    for (guint i = 0; i < r->sessions->len; i++) {
        const mx_session *s = g_ptr_array_index(r->sessions, i);
        if (worth_listing(s, r->verbose)) {
            print_session(s, r, out);
            listed++;
        }
    }
    if (listed == 0 && r->sessions->len > 0)
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
