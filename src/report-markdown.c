/* SPDX-License-Identifier: BSD-3-Clause */
/* report-markdown.c — the support-ticket report in Markdown (GitLab, GitHub, Jira).
 *
 * The answer first (one paragraph), then a table of destinations and one
 * of each destination's sessions, then one section per group of similar
 * failures: verdict, culprit hop, MTA status, advice, evidence and the
 * worked example's ladder as a fenced code block, then the other sessions
 * of the group.  Text taken from the capture is escaped for Markdown
 * (server greetings are attacker-controlled).
 */
#include "report.h"
#include "report-queue.h"
#include "evidence.h"
#include "report-ladder.h"
#include "report-ticket.h"

#include <string.h>

#define ADDR_BUF 64

/* Markdown-safe inline text: HTML specials as entities, Markdown
 * punctuation backslash-escaped, line ends flattened. */
static char *md(const char *text)
{
    GString *s = g_string_new(NULL);
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '&': g_string_append(s, "&amp;"); break;
        case '<': g_string_append(s, "&lt;"); break;
        case '>': g_string_append(s, "&gt;"); break;
        case '\r': case '\n': g_string_append_c(s, ' '); break;
        case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '#': case '!': case '~':
            g_string_append_c(s, '\\');
            g_string_append_c(s, *p);
            break;
        default:
            g_string_append_c(s, *p);
        }
    }
    return g_string_free(s, FALSE);
}

/* A fence longer than any run of backticks in the block. */
static char *fence_for(const char *block)
{
    size_t run = 0, longest = 0;
    for (const char *p = block; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        longest = MAX(longest, run);
    }
    return g_strnfill(MAX((gsize)3, longest + 1), '`');
}

static char *decisive_frames(const mx_session *s, const mx_report *r, const mx_evidence_file *ev)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < s->verdict.evidence->len; i++) {
        const mx_evidence *e = &g_array_index(s->verdict.evidence, mx_evidence, i);
        g_autofree char *name = mx_ticket_frame_name(&e->at, r->inputs, ev);
        g_string_append_printf(out, "%s%s", out->len ? ", " : "", name);
    }
    return g_string_free(out, FALSE);
}

static void destinations(const mx_report *r, const mx_evidence_file *ev, FILE *out)
{
    if (r->destinations->len == 0)
        return;
    fprintf(out, "## Destinations\n\n| Server | Attempts | Failed | Kinds | Verdict |\n|---|---:|---:|---|---|\n");
    guint more;
    g_autoptr(GArray) listed = mx_ticket_destinations(r, &more);
    for (guint li = 0; li < listed->len; li++) {
        const mx_destination *d = &g_array_index(r->destinations, mx_destination, g_array_index(listed, guint, li));
        char ip[ADDR_BUF];
        GString *kinds = g_string_new(NULL);
        for (int k = 0; k < MX_KIND_COUNT; k++)
            if (d->kinds[k])
                g_string_append_printf(kinds, "%s`%s` %u", kinds->len ? ", " : "", mx_kind_name((mx_kind)k), d->kinds[k]);
        g_autofree char *verdict = mx_report_destination_verdict(r, d);
        g_autofree char *v = md(verdict ? verdict : "delivered every time");
        fprintf(out, "| %s | %u | %u | %s | %s |\n", mx_addr_str(&d->ip, ip, sizeof ip), d->attempts, d->failed,
                kinds->str, v);
        g_string_free(kinds, TRUE);
    }
    fputc('\n', out);
    g_autofree char *unlisted = mx_ticket_destinations_unlisted(r, more);
    if (unlisted) {
        g_autofree char *u = md(unlisted);
        fprintf(out, "%s\n\n", u);
    }

    g_autoptr(mx_ticket_rows) index = mx_ticket_rows_new(r);
    for (guint li = 0; li < listed->len; li++) {
        const mx_destination *d = &g_array_index(r->destinations, mx_destination, g_array_index(listed, guint, li));
        char ip[ADDR_BUF];
        fprintf(out, "### Sessions to %s\n\n| # | Start (UTC) | Client | Outcome | Kind | Phase | Culprit | Frames |\n"
                "|---:|---|---|---|---|---|---|---|\n", mx_addr_str(&d->ip, ip, sizeof ip));
        guint more_rows;
        const GPtrArray *rows = mx_ticket_rows_for(index, d, &more_rows);
        for (guint j = 0; j < rows->len; j++) {
            const mx_session *s = g_ptr_array_index(rows, j);
            char t[40], client[80];
            mx_report_time(s->start_us, t, sizeof t);
            mx_addr_endpoint(&s->client_ip, s->client_port, client, sizeof client);
            g_autofree char *culprit = mx_ticket_culprit(&s->verdict.culprit);
            g_autofree char *first = mx_ticket_frame_name(&s->first_frame, r->inputs, ev);
            fprintf(out, "| %" G_GUINT64_FORMAT " | %s | %s | %s | `%s` | `%s` | %s | %s |\n", s->id, t, client,
                    mx_outcome_name(s->verdict.outcome), mx_kind_name(s->verdict.kind),
                    mx_phase_name(s->verdict.phase), culprit, first);
        }
        if (more_rows)
            fprintf(out, "\n(%u more session%s to this server not listed.)\n", more_rows, more_rows == 1 ? "" : "s");
        fputc('\n', out);
    }
}

static void group_section(const mx_failure_group *g, guint n, const mx_report *r, const mx_evidence_file *ev,
                          FILE *out)
{
    const mx_session *s = g->example;
    const mx_verdict *v = &s->verdict;
    char server[80], client[80], start[40], ip[ADDR_BUF];
    mx_addr_endpoint(&s->server_ip, s->server_port, server, sizeof server);
    mx_addr_endpoint(&s->client_ip, s->client_port, client, sizeof client);
    mx_report_time(s->start_us, start, sizeof start);

    fprintf(out, "## %u. `%s` in phase `%s` — %s, server %s\n\n", n, mx_kind_name(v->kind), mx_phase_name(v->phase),
            mx_role_name(v->culprit.role), mx_addr_str(&s->server_ip, ip, sizeof ip));
    g_autofree char *summary = md(v->summary->str);
    fprintf(out, "%s\n\n", summary);
    guint total = 1 + g->others->len;
    fprintf(out, "%u session%s of this kind%s; the worked example is session #%" G_GUINT64_FORMAT ".\n\n", total,
            total == 1 ? "" : "s", total == 1 ? "" : " with the same culprit and server", s->id);

    fprintf(out, "| | |\n|---|---|\n");
    fprintf(out, "| Verdict | %s · `%s` · phase `%s` |\n", mx_outcome_name(v->outcome), mx_kind_name(v->kind),
            mx_phase_name(v->phase));
    fprintf(out, "| Culprit role | %s |\n", mx_role_name(v->culprit.role));
    fprintf(out, "| Culprit address | %s |\n", v->culprit.has_ip ? mx_addr_str(&v->culprit.ip, ip, sizeof ip) : "unknown");
    if (v->culprit.hops_from_client > 0)
        fprintf(out, "| Hops from the client | %d |\n", v->culprit.hops_from_client);
    else
        fprintf(out, "| Hops from the client | unknown |\n");
    fprintf(out, "| Confidence | %s |\n", mx_confidence_name(v->culprit.confidence));
    if (v->mta_status->len) {
        g_autofree char *st = md(v->mta_status->str);
        fprintf(out, "| MTA queue status | %s |\n", st);
    }
    fprintf(out, "| Session | #%" G_GUINT64_FORMAT " %s → %s, %s UTC, %.1f s |\n", s->id, client, server, start,
            (double)(s->end_us - s->start_us) / 1e6);
    fprintf(out, "| TCP history | `%s` |\n\n", s->tcp.history);

    if (v->advice->len) {
        g_autofree char *advice = md(v->advice->str);
        fprintf(out, "**Advice:** %s\n\n", advice);
    }
    if (v->warnings->len) {
        fprintf(out, "**Warnings:**\n\n");
        for (guint i = 0; i < v->warnings->len; i++) {
            const mx_warning *w = &g_array_index(v->warnings, mx_warning, i);
            g_autofree char *detail = md(w->detail);
            fprintf(out, "- `%s`: %s\n", mx_warning_name(w->kind), detail);
        }
        fputc('\n', out);
    }
    if (v->evidence->len) {
        fprintf(out, "**Evidence:**\n\n| Frame | Time (UTC) | Fact |\n|---|---|---|\n");
        for (guint i = 0; i < v->evidence->len; i++) {
            const mx_evidence *e = &g_array_index(v->evidence, mx_evidence, i);
            char t[40];
            g_autofree char *name = mx_ticket_frame_name(&e->at, r->inputs, ev);
            g_autofree char *fact = md(e->fact);
            fprintf(out, "| %s | %s | %s |\n", name, mx_report_time(e->at.ts_us, t, sizeof t) + 11, fact);
        }
        fputc('\n', out);
    }

    mx_ladder_view *lv = mx_ladder_view_new(s, ev);
    if (lv->lines->len) {
        g_autofree char *drawing = mx_ladder_view_text(lv, ev != NULL);
        g_autofree char *fence = fence_for(drawing);
        fprintf(out, "**Ladder** of session #%" G_GUINT64_FORMAT " (frame numbers as Wireshark counts them%s; "
                "`*` and `===` mark the decisive packets, those in the evidence):\n\n",
                s->id, ev ? "; evid: the frame in the evidence capture" : "");
        fprintf(out, "%stext\n%s%s\n\n", fence, drawing, fence);
        if (lv->decisive_elsewhere->len) {
            fprintf(out, "Decisive frames not drawn above:");
            for (guint i = 0; i < lv->decisive_elsewhere->len; i++) {
                g_autofree char *name = mx_ticket_frame_name(&g_array_index(lv->decisive_elsewhere, mx_frame_ref, i),
                                                             r->inputs, ev);
                fprintf(out, "%s %s", i ? "," : "", name);
            }
            fprintf(out, ".\n\n");
        }
    }
    mx_ladder_view_free(lv);

    if (g->others->len) {
        fprintf(out, "**Other sessions in this group:**\n\n| # | Start (UTC) | Client | Decisive frames |\n|---:|---|---|---|\n");
        for (guint i = 0; i < g->others->len; i++) {
            const mx_session *o = g_ptr_array_index(g->others, i);
            char t[40];
            mx_addr_endpoint(&o->client_ip, o->client_port, client, sizeof client);
            g_autofree char *frames = decisive_frames(o, r, ev);
            fprintf(out, "| %" G_GUINT64_FORMAT " | %s | %s | %s |\n", o->id, mx_report_time(o->start_us, t, sizeof t),
                    client, frames);
        }
        fputc('\n', out);
    }
}

void mx_report_markdown(const mx_report *r, const mx_evidence_file *ev, FILE *out)
{
    fprintf(out, "# mxray report\n\n");
    g_autofree char *answer = mx_ticket_answer(r);
    g_autofree char *answer_md = md(answer);
    fprintf(out, "**Answer:** %s\n\n", answer_md);

    g_autofree char *counts = mx_ticket_counts(r);
    fprintf(out, "Read by mxray %s from ", r->version);
    for (guint i = 0; i < r->inputs->len; i++) {
        g_autofree char *name = md(g_ptr_array_index(r->inputs, i));
        fprintf(out, "%s%s", i ? ", " : "", name);
    }
    fprintf(out, ": %" G_GUINT64_FORMAT " packets, %s.", r->stats.packets, counts);
    if (r->stats.skipped || r->stats.truncated || r->stats.evicted)
        fprintf(out, " (%" G_GUINT64_FORMAT " packets skipped, %" G_GUINT64_FORMAT " cut by the snap length, %"
                G_GUINT64_FORMAT " flows evicted.)", r->stats.skipped, r->stats.truncated, r->stats.evicted);
    fprintf(out, "\n\n");
    g_autofree char *unlisted = mx_ticket_unlisted(r);
    if (unlisted) {
        g_autofree char *unlisted_md = md(unlisted);
        fprintf(out, "%s\n\n", unlisted_md);
    }

    if (r->queue) {
        /* The log's lines as they are: a fenced block keeps them literal. */
        g_autofree char *queue = mx_queue_text_string(r->queue);
        fprintf(out, "## Queue (from the MTA's log)\n\n~~~~\n%s~~~~\n\n", queue);
    }
    destinations(r, ev, out);

    g_autoptr(GPtrArray) groups = mx_ticket_groups(r);
    if (groups->len == 0)
        fprintf(out, "No failed session.\n\n");
    for (guint i = 0; i < mx_ticket_groups_shown(groups); i++)
        group_section(g_ptr_array_index(groups, i), i + 1, r, ev, out);
    g_autofree char *groups_unlisted = mx_ticket_groups_unlisted(groups);
    if (groups_unlisted) {
        g_autofree char *u = md(groups_unlisted);
        fprintf(out, "%s\n\n", u);
    }

    if (ev) {
        g_autofree char *note = mx_evidence_note(ev);
        g_autofree char *note_md = md(note);
        fprintf(out, "## Evidence capture\n\n%s\n", note_md);
    }
}
