/* SPDX-License-Identifier: BSD-3-Clause */
/* report-html.c — the support-ticket report as one self-contained HTML file.
 *
 * The same content as the Markdown report (report-markdown.c): answer,
 * destinations, one collapsible section per group of similar failures
 * with its worked example's ladder drawn as inline SVG.  No scripts,
 * fonts, images or links to load: it works offline and as an e-mail
 * attachment.  The output is well-formed XML as well as HTML (void
 * elements closed, attributes quoted, no named entities but XML's own),
 * so it can be checked with any XML parser.  Every piece of text taken
 * from the capture goes through g_markup_escape_text (server greetings
 * are attacker-controlled).
 */
#include "report.h"
#include "report-queue.h"
#include "evidence.h"
#include "report-ladder.h"
#include "report-ticket.h"

#include <string.h>

#define ADDR_BUF 64

/* Characters of a ladder line's text drawn in the SVG; the whole text is
 * in its <title> (shown on hover). */
#define SVG_TEXT_MAX 64

static const char CSS[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
    "max-width:1180px;margin:1.5em auto;padding:0 1em;color:#1f2328;line-height:1.45}\n"
    "h1{font-size:1.6em;margin:0 0 .2em}\n"
    "h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}\n"
    ".meta{color:#59636e;margin:0 0 1em}\n"
    ".answer{background:#fff4e5;border-left:6px solid #e8590c;padding:.8em 1em;font-size:1.1em;margin:1em 0}\n"
    ".answer.clean{background:#ebfbee;border-left-color:#2f9e44}\n"
    "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.95em}\n"
    "th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}\n"
    "th{background:#f6f8fa}\n"
    "td.n{text-align:right}\n"
    "table.facts th{width:12em}\n"
    "code,.mono{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.92em}\n"
    ".failed,.rejected{color:#c92a2a;font-weight:600}\n"
    ".delivered,.ok{color:#2b8a3e}\n"
    ".incomplete{color:#9c6500}\n"
    "details{border:1px solid #d0d7de;border-radius:6px;margin:1em 0;padding:0 1em .4em}\n"
    "details>summary{cursor:pointer;font-weight:600;padding:.6em 0;font-size:1.08em}\n"
    "details[open]>summary{border-bottom:1px solid #d0d7de;margin-bottom:.6em}\n"
    ".advice{background:#e7f5ff;border-left:5px solid #1971c2;padding:.6em .9em;margin:.8em 0}\n"
    ".warn{background:#fff9db;border-left:5px solid #f08c00;padding:.4em .9em;margin:.8em 0}\n"
    ".ladder{overflow-x:auto;margin:.6em 0}\n"
    ".ladder svg text{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:11px}\n"
    ".legend{color:#59636e;font-size:.9em}\n"
    "footer{color:#59636e;font-size:.85em;margin-top:2em;border-top:1px solid #d0d7de;padding-top:.5em}\n"
    "@media print{body{max-width:none;margin:0;font-size:10pt}"
    "details{border:none;padding:0;break-inside:auto}details>summary{list-style:none}"
    "details::details-content{content-visibility:visible;display:block}"
    ".ladder{overflow:visible}.ladder svg{max-width:100%;height:auto}"
    "h2,summary{break-after:avoid}tr,svg{break-inside:avoid}"
    ".answer,.advice,.warn{print-color-adjust:exact;-webkit-print-color-adjust:exact}}\n";

/* Escaped text, appended. */
static void esc(GString *out, const char *text)
{
    g_autofree char *e = g_markup_escape_text(text ? text : "", -1);
    g_string_append(out, e);
}

static void outcome_span(GString *out, mx_outcome o)
{
    g_string_append_printf(out, "<span class=\"%s\">%s</span>", mx_outcome_name(o), mx_outcome_name(o));
}

/* ---- the ladder as SVG ------------------------------------------------- */

#define ROW_H 24
#define TOP 64
#define COL_W 460

static void svg_text(GString *out, double x, double y, const char *anchor, const char *attrs, const char *text,
                     size_t max)
{
    g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y, anchor,
                           attrs && *attrs ? " " : "", attrs ? attrs : "");
    if (strlen(text) > max) {
        g_autofree char *cut = g_strndup(text, max - 3);
        esc(out, cut);
        g_string_append(out, "...<title>");
        esc(out, text);
        g_string_append(out, "</title>");
    } else {
        esc(out, text);
    }
    g_string_append(out, "</text>");
}

static void svg_ladder(GString *out, const mx_ladder_view *v, int server_hop, bool with_ev)
{
    double xf = 46, xe = 96, xt = with_ev ? 170 : 120;
    double xc = xt + 40, xs = xc + COL_W;
    double xm = xc + COL_W * 0.5;
    if (v->has_middle && server_hop > v->middle_hop)
        xm = xc + COL_W * (double)v->middle_hop / server_hop;
    double xttl = xs + 34, xhop = xs + 66, xtext = xs + 84;
    double width = xtext + SVG_TEXT_MAX * 6.7 + 10;
    guint rows = v->lines->len + (v->skipped ? 1 : 0);
    double height = TOP + rows * ROW_H + 16;

    g_string_append_printf(out, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
                           "style=\"max-width:100%%;height:auto\">", width, height, width, height);
    g_string_append(out, "<title>Ladder diagram</title>");
    /* Column heads. */
    svg_text(out, xc, 16, "middle", "font-weight=\"bold\"", "client", 40);
    svg_text(out, xc, 30, "middle", NULL, v->client_label, 40);
    svg_text(out, xs, 16, "middle", "font-weight=\"bold\"", "server", 40);
    svg_text(out, xs, 30, "middle", NULL, v->server_label, 40);
    if (v->has_middle)
        svg_text(out, xm, 30, "middle", "fill=\"#c2255c\"", v->middle_label, 48);
    svg_text(out, xf, 52, "end", "fill=\"#59636e\"", "frame", 10);
    if (with_ev)
        svg_text(out, xe, 52, "end", "fill=\"#59636e\"", "evid.", 10);
    svg_text(out, xt, 52, "end", "fill=\"#59636e\"", "time (s)", 10);
    svg_text(out, xttl, 52, "end", "fill=\"#59636e\"", "TTL", 10);
    svg_text(out, xhop, 52, "end", "fill=\"#59636e\"", "hop", 10);
    svg_text(out, xtext, 52, "start", "fill=\"#59636e\"", "SMTP / detail", 20);

    /* Decisive rows get a band behind them, drawn first. */
    double y = TOP;
    for (guint i = 0; i < v->lines->len; i++) {
        if (i == v->skipped_before && v->skipped)
            y += ROW_H;
        const mx_ladder_line *l = &g_array_index(v->lines, mx_ladder_line, i);
        if (l->decisive)
            g_string_append_printf(out, "<rect x=\"2\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"#fff0f6\"/>",
                                   y - 2, width - 4, ROW_H);
        y += ROW_H;
    }
    g_string_append_printf(out, "<line x1=\"%.1f\" y1=\"38\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#343a40\" stroke-width=\"2\"/>",
                           xc, xc, height - 6);
    g_string_append_printf(out, "<line x1=\"%.1f\" y1=\"38\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#343a40\" stroke-width=\"2\"/>",
                           xs, xs, height - 6);
    if (v->has_middle)
        g_string_append_printf(out, "<line x1=\"%.1f\" y1=\"38\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c2255c\" "
                               "stroke-width=\"1.5\" stroke-dasharray=\"4,4\"/>", xm, xm, height - 6);

    y = TOP;
    for (guint i = 0; i < v->lines->len; i++) {
        if (i == v->skipped_before && v->skipped) {
            g_autofree char *gap = g_strdup_printf("... %u packet%s left out ...", v->skipped, v->skipped == 1 ? "" : "s");
            g_string_append_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"#ffffff\"/>",
                                   xc - 3, y - 2, xs - xc + 6, ROW_H - 6);
            svg_text(out, (xc + xs) / 2, y + 12, "middle", "fill=\"#59636e\" font-style=\"italic\"", gap, 60);
            y += ROW_H;
        }
        const mx_ladder_line *l = &g_array_index(v->lines, mx_ladder_line, i);
        double ay = y + 14;
        double x1 = l->from == MX_COL_CLIENT ? xc : l->from == MX_COL_MIDDLE ? xm : xs;
        double x2 = l->to == MX_COL_CLIENT ? xc : l->to == MX_COL_MIDDLE ? xm : xs;
        const char *color = l->decisive ? "#d6336c" : l->icmp ? "#1971c2" : "#495057";
        double sw = l->decisive ? 2.6 : 1.3;
        double dirn = x2 > x1 ? 1 : -1;
        double tip = x2 - dirn * 2, base = tip - dirn * 9;

        g_string_append(out, "<g>");
        g_string_append_printf(out, "<title>frame %" G_GUINT64_FORMAT, l->at.frame);
        if (l->evidence_frame)
            g_string_append_printf(out, " (evidence frame %" G_GUINT64_FORMAT ")", l->evidence_frame);
        g_string_append(out, ": ");
        esc(out, l->flags);
        g_string_append(out, " ");
        esc(out, l->text);
        g_string_append(out, "</title>");
        g_string_append_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                               "stroke-width=\"%.1f\"%s/>", x1, ay, base, ay, color, sw,
                               l->icmp ? " stroke-dasharray=\"6,3\"" : "");
        g_string_append_printf(out, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\"/>", tip, ay, base,
                               ay - 4.5, base, ay + 4.5, color);
        /* Flags over the arrow's middle. */
        g_autofree char *fattr = g_strdup_printf("fill=\"%s\"%s", color, l->decisive ? " font-weight=\"bold\"" : "");
        svg_text(out, (x1 + x2) / 2, ay - 4, "middle", fattr, l->flags, 40);

        char num[32];
        g_snprintf(num, sizeof num, "%s%" G_GUINT64_FORMAT, l->decisive ? "\xe2\x97\x86 " : "", l->at.frame);
        svg_text(out, xf, ay + 4, "end", l->decisive ? "fill=\"#d6336c\" font-weight=\"bold\"" : NULL, num, 30);
        if (with_ev) {
            g_snprintf(num, sizeof num, "%" G_GUINT64_FORMAT, l->evidence_frame);
            svg_text(out, xe, ay + 4, "end", "fill=\"#59636e\"", l->evidence_frame ? num : "-", 30);
        }
        g_snprintf(num, sizeof num, "%.6f", l->t);
        svg_text(out, xt, ay + 4, "end", NULL, num, 30);
        g_snprintf(num, sizeof num, "%d", l->ttl);
        svg_text(out, xttl, ay + 4, "end", NULL, num, 10);
        g_snprintf(num, sizeof num, l->hop > 0 ? "%d" : "-", l->hop);
        svg_text(out, xhop, ay + 4, "end", l->from == MX_COL_MIDDLE ? "fill=\"#c2255c\" font-weight=\"bold\"" : NULL,
                 num, 10);
        svg_text(out, xtext, ay + 4, "start", l->decisive ? "font-weight=\"bold\"" : NULL, l->text, SVG_TEXT_MAX);
        g_string_append(out, "</g>");
        y += ROW_H;
    }
    g_string_append(out, "</svg>");
}

/* ---- sections ------------------------------------------------------------ */

static void destinations(GString *out, const mx_report *r, const mx_evidence_file *ev)
{
    if (r->destinations->len == 0)
        return;
    g_string_append(out, "<h2>Destinations</h2>\n<table><thead><tr><th>Server</th><th>Attempts</th><th>Failed</th>"
                         "<th>Kinds</th><th>Verdict</th></tr></thead><tbody>\n");
    guint more;
    g_autoptr(GArray) listed = mx_ticket_destinations(r, &more);
    for (guint li = 0; li < listed->len; li++) {
        const mx_destination *d = &g_array_index(r->destinations, mx_destination, g_array_index(listed, guint, li));
        char ip[ADDR_BUF];
        g_string_append_printf(out, "<tr><td class=\"mono\">%s</td><td class=\"n\">%u</td><td class=\"n\">%u</td><td>",
                               mx_addr_str(&d->ip, ip, sizeof ip), d->attempts, d->failed);
        bool first = true;
        for (int k = 0; k < MX_KIND_COUNT; k++) {
            if (!d->kinds[k])
                continue;
            g_string_append_printf(out, "%s<code>%s</code>&#160;%u", first ? "" : ", ", mx_kind_name((mx_kind)k), d->kinds[k]);
            first = false;
        }
        g_autofree char *verdict = mx_report_destination_verdict(r, d);
        g_string_append(out, "</td><td>");
        esc(out, verdict ? verdict : "delivered every time");
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</tbody></table>\n");
    g_autofree char *unlisted = mx_ticket_destinations_unlisted(r, more);
    if (unlisted) {
        g_string_append(out, "<p>");
        esc(out, unlisted);
        g_string_append(out, "</p>\n");
    }

    g_autoptr(mx_ticket_rows) index = mx_ticket_rows_new(r);
    for (guint li = 0; li < listed->len; li++) {
        const mx_destination *d = &g_array_index(r->destinations, mx_destination, g_array_index(listed, guint, li));
        char ip[ADDR_BUF];
        g_string_append_printf(out, "<details open=\"open\"><summary>Sessions to %s (%u)</summary>\n",
                               mx_addr_str(&d->ip, ip, sizeof ip), d->attempts);
        g_string_append(out, "<table><thead><tr><th>#</th><th>Start (UTC)</th><th>Client</th><th>Outcome</th>"
                             "<th>Kind</th><th>Phase</th><th>Culprit</th><th>Frames</th></tr></thead><tbody>\n");
        guint more_rows;
        const GPtrArray *rows = mx_ticket_rows_for(index, d, &more_rows);
        for (guint j = 0; j < rows->len; j++) {
            const mx_session *s = g_ptr_array_index(rows, j);
            char t[40], client[80];
            mx_addr_endpoint(&s->client_ip, s->client_port, client, sizeof client);
            g_autofree char *culprit = mx_ticket_culprit(&s->verdict.culprit);
            g_autofree char *first = mx_ticket_frame_name(&s->first_frame, r->inputs, ev);
            g_string_append_printf(out, "<tr><td class=\"n\">%" G_GUINT64_FORMAT "</td><td class=\"mono\">%s</td>"
                                   "<td class=\"mono\">%s</td><td>", s->id, mx_report_time(s->start_us, t, sizeof t), client);
            outcome_span(out, s->verdict.outcome);
            g_string_append_printf(out, "</td><td><code>%s</code></td><td><code>%s</code></td><td>",
                                   mx_kind_name(s->verdict.kind), mx_phase_name(s->verdict.phase));
            esc(out, culprit);
            g_string_append(out, "</td><td>");
            esc(out, first);
            g_string_append(out, "</td></tr>\n");
        }
        g_string_append(out, "</tbody></table>\n");
        if (more_rows)
            g_string_append_printf(out, "<p>%u more session%s to this server not listed.</p>\n", more_rows,
                                   more_rows == 1 ? "" : "s");
        g_string_append(out, "</details>\n");
    }
}

static void fact_row(GString *out, const char *name, const char *value, bool code)
{
    g_string_append_printf(out, "<tr><th>%s</th><td>%s", name, code ? "<code>" : "");
    esc(out, value);
    g_string_append_printf(out, "%s</td></tr>\n", code ? "</code>" : "");
}

static void group_section(GString *out, const mx_failure_group *g, guint n, const mx_report *r,
                          const mx_evidence_file *ev)
{
    const mx_session *s = g->example;
    const mx_verdict *v = &s->verdict;
    char server[80], client[80], start[40], ip[ADDR_BUF], buf[160];
    mx_addr_endpoint(&s->server_ip, s->server_port, server, sizeof server);
    mx_addr_endpoint(&s->client_ip, s->client_port, client, sizeof client);
    mx_report_time(s->start_us, start, sizeof start);
    guint total = 1 + g->others->len;

    g_string_append_printf(out, "<details open=\"open\" id=\"failure-%u\"><summary>%u. <code>%s</code> in phase "
                           "<code>%s</code> — %s, server %s (%u session%s)</summary>\n", n, n, mx_kind_name(v->kind),
                           mx_phase_name(v->phase), mx_role_name(v->culprit.role),
                           mx_addr_str(&s->server_ip, ip, sizeof ip), total, total == 1 ? "" : "s");
    g_string_append(out, "<p>");
    esc(out, v->summary->str);
    g_string_append(out, "</p>\n");
    g_string_append_printf(out, "<p>%u session%s of this kind%s; the worked example is session #%" G_GUINT64_FORMAT ".</p>\n",
                           total, total == 1 ? "" : "s", total == 1 ? "" : " with the same culprit and server", s->id);

    g_string_append(out, "<table class=\"facts\"><tbody>\n");
    g_string_append_printf(out, "<tr><th>Verdict</th><td>");
    outcome_span(out, v->outcome);
    g_string_append_printf(out, " · <code>%s</code> · phase <code>%s</code></td></tr>\n", mx_kind_name(v->kind),
                           mx_phase_name(v->phase));
    fact_row(out, "Culprit role", mx_role_name(v->culprit.role), false);
    fact_row(out, "Culprit address", v->culprit.has_ip ? mx_addr_str(&v->culprit.ip, ip, sizeof ip) : "unknown", true);
    g_snprintf(buf, sizeof buf, "%d", v->culprit.hops_from_client);
    fact_row(out, "Hops from the client", v->culprit.hops_from_client > 0 ? buf : "unknown", false);
    fact_row(out, "Confidence", mx_confidence_name(v->culprit.confidence), false);
    if (v->mta_status->len)
        fact_row(out, "MTA queue status", v->mta_status->str, true);
    g_snprintf(buf, sizeof buf, "#%" G_GUINT64_FORMAT " %s → %s, %s UTC, %.1f s", s->id, client, server, start,
               (double)(s->end_us - s->start_us) / 1e6);
    fact_row(out, "Session", buf, false);
    fact_row(out, "TCP history", s->tcp.history, true);
    g_string_append(out, "</tbody></table>\n");

    if (v->advice->len) {
        g_string_append(out, "<div class=\"advice\"><strong>Advice:</strong> ");
        esc(out, v->advice->str);
        g_string_append(out, "</div>\n");
    }
    if (v->warnings->len) {
        g_string_append(out, "<div class=\"warn\"><strong>Warnings:</strong><ul>\n");
        for (guint i = 0; i < v->warnings->len; i++) {
            const mx_warning *w = &g_array_index(v->warnings, mx_warning, i);
            g_string_append_printf(out, "<li><code>%s</code>: ", mx_warning_name(w->kind));
            esc(out, w->detail);
            g_string_append(out, "</li>\n");
        }
        g_string_append(out, "</ul></div>\n");
    }
    if (v->evidence->len) {
        g_string_append(out, "<h3>Evidence</h3>\n<table><thead><tr><th>Frame</th><th>Time (UTC)</th><th>Fact</th>"
                             "</tr></thead><tbody>\n");
        for (guint i = 0; i < v->evidence->len; i++) {
            const mx_evidence *e = &g_array_index(v->evidence, mx_evidence, i);
            char t[40];
            g_autofree char *name = mx_ticket_frame_name(&e->at, r->inputs, ev);
            g_string_append(out, "<tr><td>");
            esc(out, name);
            g_string_append_printf(out, "</td><td class=\"mono\">%s</td><td>", mx_report_time(e->at.ts_us, t, sizeof t) + 11);
            esc(out, e->fact);
            g_string_append(out, "</td></tr>\n");
        }
        g_string_append(out, "</tbody></table>\n");
    }

    mx_ladder_view *lv = mx_ladder_view_new(s, ev);
    if (lv->lines->len) {
        g_string_append_printf(out, "<h3>Ladder of session #%" G_GUINT64_FORMAT "</h3>\n<div class=\"ladder\">", s->id);
        svg_ladder(out, lv, s->tcp.server_hop, ev != NULL);
        g_string_append(out, "</div>\n<p class=\"legend\">Frame numbers as Wireshark counts them");
        if (ev)
            g_string_append(out, " (evid.: the frame in the evidence capture)");
        g_string_append(out, ". Thick red arrows marked \xe2\x97\x86 are the decisive packets, those in the evidence; "
                             "dashed blue arrows are ICMP errors");
        if (lv->has_middle)
            g_string_append(out, "; the dashed middle line is the hop the verdict names, and packets whose TTL "
                                 "places their sender there start from it");
        g_string_append(out, ".");
        if (lv->decisive_elsewhere->len) {
            g_string_append(out, " Decisive frames not drawn:");
            for (guint i = 0; i < lv->decisive_elsewhere->len; i++) {
                g_autofree char *name = mx_ticket_frame_name(&g_array_index(lv->decisive_elsewhere, mx_frame_ref, i),
                                                             r->inputs, ev);
                g_string_append(out, i ? ", " : " ");
                esc(out, name);
            }
            g_string_append(out, ".");
        }
        g_string_append(out, "</p>\n");
    }
    mx_ladder_view_free(lv);

    if (g->others->len) {
        g_string_append(out, "<h3>Other sessions in this group</h3>\n<table><thead><tr><th>#</th><th>Start (UTC)</th>"
                             "<th>Client</th><th>Decisive frames</th></tr></thead><tbody>\n");
        for (guint i = 0; i < g->others->len; i++) {
            const mx_session *o = g_ptr_array_index(g->others, i);
            char t[40];
            mx_addr_endpoint(&o->client_ip, o->client_port, client, sizeof client);
            g_string_append_printf(out, "<tr><td class=\"n\">%" G_GUINT64_FORMAT "</td><td class=\"mono\">%s</td>"
                                   "<td class=\"mono\">%s</td><td>", o->id, mx_report_time(o->start_us, t, sizeof t), client);
            for (guint e = 0; e < o->verdict.evidence->len; e++) {
                g_autofree char *name = mx_ticket_frame_name(&g_array_index(o->verdict.evidence, mx_evidence, e).at,
                                                             r->inputs, ev);
                g_string_append(out, e ? ", " : "");
                esc(out, name);
            }
            g_string_append(out, "</td></tr>\n");
        }
        g_string_append(out, "</tbody></table>\n");
    }
    g_string_append(out, "</details>\n");
}

void mx_report_html(const mx_report *r, const mx_evidence_file *ev, FILE *out_file)
{
    GString *out = g_string_new(NULL);
    g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
                         "<meta name=\"generator\" content=\"mxray\"/>\n<title>mxray report: ");
    for (guint i = 0; i < r->inputs->len; i++) {
        g_string_append(out, i ? ", " : "");
        esc(out, g_ptr_array_index(r->inputs, i));
    }
    g_string_append_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>mxray report</h1>\n", CSS);

    g_autofree char *counts = mx_ticket_counts(r);
    g_string_append_printf(out, "<p class=\"meta\">Read by mxray %s from ", r->version);
    for (guint i = 0; i < r->inputs->len; i++) {
        g_string_append(out, i ? ", " : "");
        g_string_append(out, "<code>");
        esc(out, g_ptr_array_index(r->inputs, i));
        g_string_append(out, "</code>");
    }
    g_string_append_printf(out, ": %" G_GUINT64_FORMAT " packets, ", r->stats.packets);
    esc(out, counts);
    g_string_append(out, ".");
    if (r->stats.skipped || r->stats.truncated || r->stats.evicted)
        g_string_append_printf(out, " (%" G_GUINT64_FORMAT " packets skipped, %" G_GUINT64_FORMAT
                               " cut by the snap length, %" G_GUINT64_FORMAT " flows evicted.)",
                               r->stats.skipped, r->stats.truncated, r->stats.evicted);
    g_string_append(out, "</p>\n");
    g_autofree char *unlisted = mx_ticket_unlisted(r);
    if (unlisted) {
        g_string_append(out, "<p class=\"meta\">");
        esc(out, unlisted);
        g_string_append(out, "</p>\n");
    }

    bool any_failed = false;
    for (guint i = 0; i < r->destinations->len; i++)
        any_failed |= g_array_index(r->destinations, mx_destination, i).failed > 0;
    g_autofree char *answer = mx_ticket_answer(r);
    g_string_append_printf(out, "<p class=\"answer%s\"><strong>Answer:</strong> ", any_failed ? "" : " clean");
    esc(out, answer);
    g_string_append(out, "</p>\n");

    if (r->queue) {
        g_autofree char *queue = mx_queue_text_string(r->queue);
        g_string_append(out, "<h2>Queue (from the MTA's log)</h2>\n<pre class=\"queue\">");
        esc(out, queue);
        g_string_append(out, "</pre>\n");
    }
    destinations(out, r, ev);

    g_autoptr(GPtrArray) groups = mx_ticket_groups(r);
    g_string_append(out, "<h2>Failures</h2>\n");
    if (groups->len == 0)
        g_string_append(out, "<p>No failed session.</p>\n");
    for (guint i = 0; i < mx_ticket_groups_shown(groups); i++)
        group_section(out, g_ptr_array_index(groups, i), i + 1, r, ev);
    g_autofree char *groups_unlisted = mx_ticket_groups_unlisted(groups);
    if (groups_unlisted) {
        g_string_append(out, "<p>");
        esc(out, groups_unlisted);
        g_string_append(out, "</p>\n");
    }

    if (ev) {
        g_autofree char *note = mx_evidence_note(ev);
        g_string_append(out, "<h2>Evidence capture</h2>\n<p>");
        esc(out, note);
        g_string_append(out, "</p>\n");
    }
    g_string_append_printf(out, "<footer>Generated by mxray %s. Frame numbers count every record of the input file "
                                "from 1, as Wireshark does.</footer>\n</body>\n</html>\n", r->version);
    fwrite(out->str, 1, out->len, out_file);
    g_string_free(out, TRUE);
}
