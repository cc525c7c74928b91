/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-report.c — the probe's text and JSON reports. */
#include "config.h"
#include "probe-report.h"
#include "report-json.h"
#include "report-text.h"

#include "json-out.h"

#include <string.h>

void mx_probe_result_init(mx_probe_result *r)
{
    *r = (mx_probe_result){0};
    mx_probe_ladder_init(&r->ladder);
    mx_probe_path_init(&r->path);
    mx_dialogue_init(&r->dialogue);
}

void mx_probe_result_clear(mx_probe_result *r)
{
    mx_probe_ladder_clear(&r->ladder);
    mx_probe_path_clear(&r->path);
    mx_dialogue_clear(&r->dialogue);
}

/* The dialogue is clean when the analyzer says ok, or when the only
 * "fault" is ours: with --starttls mxray closes after the 220 (it has no
 * TLS library), which the analyzer rightly sees as an unfinished TLS start. */
static bool dialogue_clean(const mx_probe_result *r)
{
    const mx_session *s = r->dialogue.session;
    if (!r->dialogue_run)
        return true;
    if (!s || !r->dialogue.connected)
        return false;
    if (r->dialogue.starttls_accepted && s->verdict.phase == MX_PHASE_TLS)
        return true;
    return !mx_session_failed(s) && s->verdict.outcome != MX_OUTCOME_INCOMPLETE;
}

bool mx_probe_result_failed(const mx_probe_result *r)
{
    return r->path.verdict != MX_PATH_OPEN || !dialogue_clean(r);
}

static char *ladder_end(const mx_probe_ladder *l, const mx_probe_path *p)
{
    if (l->stopped_by_gap)
        return g_strdup_printf("%d silent steps in a row", MX_PROBE_GAP_LIMIT);
    if (l->stopped_by_budget)
        return g_strdup_printf("time budget of %lld s spent", (long long)(MX_PROBE_LADDER_BUDGET_US / 1000000));
    if (p->verdict == MX_PATH_SILENT)
        return g_strdup_printf("--max-ttl %d reached", l->max_ttl);
    return g_strdup("answered");
}

/* ---- text --------------------------------------------------------------- */

static const char *unreach_mark(const mx_probe_reply *r)
{
    /* traceroute's annotations */
    if (mx_probe_code_admin_prohibited(r->ip.family, r->code))
        return "!X";
    if (r->ip.family == 6)
        return r->code == 0 ? "!N" : r->code == 3 ? "!H" : r->code == 4 ? "!p" : "!?";
    switch (r->code) {
    case 0: case 6: return "!N";
    case 1: case 7: return "!H";
    case 2: return "!P";
    case 3: return "!p";
    case 4: return "!F";
    case 5: return "!S";
    default: return "!?";
    }
}

static void print_step(const mx_probe_step *st, FILE *out)
{
    char ip[MX_ADDR_BUF];
    const mx_addr *shown = NULL;
    const mx_probe_reply *far = NULL;    /* an answer in the target's name or an unreachable */
    fprintf(out, "%3d ", st->ttl);
    for (guint j = 0; j < st->replies->len; j++) {
        const mx_probe_reply *r = &g_array_index(st->replies, mx_probe_reply, j);
        if (r->type == MX_PROBE_NONE) {
            fprintf(out, " *");
            continue;
        }
        if (!shown || !mx_addr_equal(shown, &r->ip)) {
            fprintf(out, " %s", mx_addr_str(&r->ip, ip, sizeof ip));
            shown = &r->ip;
        }
        fprintf(out, "  %.3f ms", r->rtt_ms);
        if (r->type == MX_PROBE_SYNACK)
            fprintf(out, " [open]");
        else if (r->type == MX_PROBE_RST)
            fprintf(out, " [rst]");
        else if (r->type == MX_PROBE_UNREACHABLE)
            fprintf(out, " %s", unreach_mark(r));
        if (r->type != MX_PROBE_TIME_EXCEEDED && !far)
            far = r;
    }
    /* Where the answer really came from: the Hop model on its TTL. */
    if (far)
        fprintf(out, "   (reply TTL %d: hop %d)", far->reply_ttl, mx_probe_reply_hop(far));
    fputc('\n', out);
}

void mx_probe_report_text(const mx_probe_result *r, FILE *out)
{
    const mx_probe_ladder *l = &r->ladder;
    const mx_probe_path *p = &r->path;
    char target[MX_ADDR_BUF], source[MX_ADDR_BUF], ip[MX_ADDR_BUF];
    mx_addr_str(&l->target, target, sizeof target);
    mx_addr_str(&l->source, source, sizeof source);
    fprintf(out, "mxray probe %s%s%s%s port %u from %s port %u, %d probe%s per hop, max %d hops\n", target,
            r->host ? " (" : "", r->host ? r->host : "", r->host ? ")" : "", l->dport, source, l->sport,
            r->per_hop, r->per_hop == 1 ? "" : "s", l->max_ttl);
    for (guint i = 0; i < l->steps->len; i++)
        print_step(&g_array_index(l->steps, mx_probe_step, i), out);
    g_autofree char *end = ladder_end(l, p);
    fprintf(out, "(ladder ended: %s)\n\n", end);

    fprintf(out, "Path: %s", mx_path_verdict_name(p->verdict));
    if (p->hop > 0)
        fprintf(out, " at hop %d", p->hop);
    if (p->has_ip)
        fprintf(out, " (%s)", mx_addr_str(&p->ip, ip, sizeof ip));
    fprintf(out, "; last answering hop %d", p->last_answering_hop);
    if (p->server_hop > 0)
        fprintf(out, "; server answered at hop %d", p->server_hop);
    fprintf(out, "\n   what:     %s\n   advice:   %s\n\n", p->summary->str, p->advice->str);

    if (!r->dialogue_run)
        return;
    const mx_dialogue *d = &r->dialogue;
    fprintf(out, "SMTP dialogue from port %u:\n", d->sport);
    for (guint i = 0; i < d->transcript->len; i++)
        fprintf(out, "   %s\n", (const char *)g_ptr_array_index(d->transcript, i));
    if (d->capture_cut)
        fprintf(out, "   (capture cut after %d frames)\n", MX_PROBE_CAPTURE_MAX_FRAMES);
    fputc('\n', out);
    if (!d->session) {
        fprintf(out, "Session: the capture holds no packet of the connection.\n");
        return;
    }
    mx_report rep;
    mx_report_init(&rep);
    rep.version = PACKAGE_VERSION;
    g_ptr_array_add(rep.inputs, g_strdup(r->capture_file ? r->capture_file : "(probe capture)"));
    fprintf(out, "Session, as `mxray read` judges the dialogue's capture%s%s:\n",
            r->capture_file ? " " : "", r->capture_file ? r->capture_file : "");
    mx_report_text_session(d->session, &rep, out);
    mx_report_clear(&rep);
}

/* ---- JSON ----------------------------------------------------------------- */

static void member_int_or_null(mx_json_out *w, const char *name, bool present, gint64 v)
{
    mx_json_key(w, name);
    if (present)
        mx_json_int(w, v);
    else
        mx_json_null(w);
}

static void member_addr_or_null(mx_json_out *w, const char *name, const mx_addr *a)
{
    char buf[MX_ADDR_BUF];
    mx_json_key(w, name);
    if (a && a->family)
        mx_json_string(w, mx_addr_str(a, buf, sizeof buf));
    else
        mx_json_null(w);
}

static void add_ladder(mx_json_out *w, const mx_probe_ladder *l)
{
    mx_json_key(w, "ladder");
    mx_json_begin_array(w);
    for (guint i = 0; i < l->steps->len; i++) {
        const mx_probe_step *st = &g_array_index(l->steps, mx_probe_step, i);
        mx_json_begin_object(w);
        mx_json_key(w, "ttl");
        mx_json_int(w, st->ttl);
        mx_json_key(w, "replies");
        mx_json_begin_array(w);
        for (guint j = 0; j < st->replies->len; j++) {
            const mx_probe_reply *r = &g_array_index(st->replies, mx_probe_reply, j);
            bool answered = r->type != MX_PROBE_NONE;
            mx_json_begin_object(w);
            member_addr_or_null(w, "ip", answered ? &r->ip : NULL);
            mx_json_key(w, "type");
            mx_json_string(w, mx_probe_reply_type_name(r->type));
            member_int_or_null(w, "code", answered && r->code >= 0, r->code);
            mx_json_key(w, "rtt_ms");
            if (answered)
                mx_json_double(w, r->rtt_ms);
            else
                mx_json_null(w);
            member_int_or_null(w, "reply_ttl", answered, r->reply_ttl);
            member_int_or_null(w, "hop", answered, mx_probe_reply_hop(r));
            mx_json_end_object(w);
        }
        mx_json_end_array(w);
        mx_json_end_object(w);
    }
    mx_json_end_array(w);
}

static void add_path(mx_json_out *w, const mx_probe_result *r)
{
    const mx_probe_path *p = &r->path;
    mx_json_key(w, "path");
    mx_json_begin_object(w);
    mx_json_key(w, "verdict");
    mx_json_string(w, mx_path_verdict_name(p->verdict));
    member_int_or_null(w, "hop", p->hop > 0, p->hop);
    member_addr_or_null(w, "ip", p->has_ip ? &p->ip : NULL);
    member_int_or_null(w, "last_answering_hop", true, p->last_answering_hop);
    member_int_or_null(w, "server_hop", p->server_hop > 0, p->server_hop);
    mx_json_key(w, "summary");
    mx_json_string(w, p->summary->str);
    mx_json_key(w, "advice");
    mx_json_string(w, p->advice->str);
    g_autofree char *end = ladder_end(&r->ladder, p);
    mx_json_key(w, "ladder_end");
    mx_json_string(w, end);
    mx_json_end_object(w);
}

/* What the dialogue said, beyond the session object: the transcript and
 * the things only the prober knows (its port, whether it stopped at
 * STARTTLS on purpose, where the capture was kept). */
static void add_dialogue(mx_json_out *w, const mx_probe_result *r)
{
    const mx_dialogue *d = &r->dialogue;
    mx_json_key(w, "dialogue");
    mx_json_begin_object(w);
    mx_json_key(w, "source_port");
    mx_json_int(w, d->sport);
    mx_json_key(w, "connected");
    mx_json_bool(w, d->connected);
    mx_json_key(w, "starttls_accepted");
    mx_json_bool(w, d->starttls_accepted);
    mx_json_key(w, "frames");
    mx_json_int(w, (gint64)d->frames);
    mx_json_key(w, "capture");
    if (r->capture_file)
        mx_json_string(w, r->capture_file);
    else
        mx_json_null(w);
    mx_json_key(w, "transcript");
    mx_json_begin_array(w);
    for (guint i = 0; i < d->transcript->len; i++)
        mx_json_string(w, g_ptr_array_index(d->transcript, i));
    mx_json_end_array(w);
    mx_json_end_object(w);
}


void mx_probe_report_json(const mx_probe_result *r, bool pretty, FILE *out)
{
    const mx_probe_ladder *l = &r->ladder;
    mx_json_out *w = mx_json_out_new(out, pretty);
    mx_json_begin_object(w);
    mx_json_key(w, "tool");
    mx_json_string(w, "mxray");
    mx_json_key(w, "version");
    mx_json_string(w, PACKAGE_VERSION);

    mx_json_key(w, "target");
    mx_json_begin_object(w);
    mx_json_key(w, "host");
    if (r->host)
        mx_json_string(w, r->host);
    else
        mx_json_null(w);
    member_addr_or_null(w, "ip", &l->target);
    mx_json_key(w, "port");
    mx_json_int(w, l->dport);
    mx_json_end_object(w);

    mx_json_key(w, "source");
    mx_json_begin_object(w);
    member_addr_or_null(w, "ip", &l->source);
    mx_json_key(w, "port");
    mx_json_int(w, l->sport);
    mx_json_end_object(w);

    add_ladder(w, l);
    add_path(w, r);
    if (r->dialogue_run) {
        add_dialogue(w, r);
        if (r->dialogue.session) {
            mx_json_key(w, "session");
            mx_report_json_session(w, r->dialogue.session, NULL);
        }
    }
    mx_json_end_object(w);
    mx_json_raw(w, "\n");
    if (mx_json_out_error(w))
        g_critical("JSON writer: %s", mx_json_out_error(w));
    mx_json_out_flush(w);
    mx_json_out_free(w);
}
