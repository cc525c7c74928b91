/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-report.c — the probe's text and JSON reports. */
#include "config.h"
#include "probe-report.h"
#include "report-json.h"
#include "report-text.h"

#include <json-glib/json-glib.h>
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

static void member_int_or_null(JsonBuilder *b, const char *name, bool present, gint64 v)
{
    json_builder_set_member_name(b, name);
    if (present)
        json_builder_add_int_value(b, v);
    else
        json_builder_add_null_value(b);
}

static void member_addr_or_null(JsonBuilder *b, const char *name, const mx_addr *a)
{
    char buf[MX_ADDR_BUF];
    json_builder_set_member_name(b, name);
    if (a && a->family)
        json_builder_add_string_value(b, mx_addr_str(a, buf, sizeof buf));
    else
        json_builder_add_null_value(b);
}

static void add_ladder(JsonBuilder *b, const mx_probe_ladder *l)
{
    json_builder_set_member_name(b, "ladder");
    json_builder_begin_array(b);
    for (guint i = 0; i < l->steps->len; i++) {
        const mx_probe_step *st = &g_array_index(l->steps, mx_probe_step, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "ttl");
        json_builder_add_int_value(b, st->ttl);
        json_builder_set_member_name(b, "replies");
        json_builder_begin_array(b);
        for (guint j = 0; j < st->replies->len; j++) {
            const mx_probe_reply *r = &g_array_index(st->replies, mx_probe_reply, j);
            bool answered = r->type != MX_PROBE_NONE;
            json_builder_begin_object(b);
            member_addr_or_null(b, "ip", answered ? &r->ip : NULL);
            json_builder_set_member_name(b, "type");
            json_builder_add_string_value(b, mx_probe_reply_type_name(r->type));
            member_int_or_null(b, "code", answered && r->code >= 0, r->code);
            json_builder_set_member_name(b, "rtt_ms");
            if (answered)
                json_builder_add_double_value(b, r->rtt_ms);
            else
                json_builder_add_null_value(b);
            member_int_or_null(b, "reply_ttl", answered, r->reply_ttl);
            member_int_or_null(b, "hop", answered, mx_probe_reply_hop(r));
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void add_path(JsonBuilder *b, const mx_probe_result *r)
{
    const mx_probe_path *p = &r->path;
    json_builder_set_member_name(b, "path");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "verdict");
    json_builder_add_string_value(b, mx_path_verdict_name(p->verdict));
    member_int_or_null(b, "hop", p->hop > 0, p->hop);
    member_addr_or_null(b, "ip", p->has_ip ? &p->ip : NULL);
    member_int_or_null(b, "last_answering_hop", true, p->last_answering_hop);
    member_int_or_null(b, "server_hop", p->server_hop > 0, p->server_hop);
    json_builder_set_member_name(b, "summary");
    json_builder_add_string_value(b, p->summary->str);
    json_builder_set_member_name(b, "advice");
    json_builder_add_string_value(b, p->advice->str);
    g_autofree char *end = ladder_end(&r->ladder, p);
    json_builder_set_member_name(b, "ladder_end");
    json_builder_add_string_value(b, end);
    json_builder_end_object(b);
}

/* What the dialogue said, beyond the session object: the transcript and
 * the things only the prober knows (its port, whether it stopped at
 * STARTTLS on purpose, where the capture was kept). */
static void add_dialogue(JsonBuilder *b, const mx_probe_result *r)
{
    const mx_dialogue *d = &r->dialogue;
    json_builder_set_member_name(b, "dialogue");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "source_port");
    json_builder_add_int_value(b, d->sport);
    json_builder_set_member_name(b, "connected");
    json_builder_add_boolean_value(b, d->connected);
    json_builder_set_member_name(b, "starttls_accepted");
    json_builder_add_boolean_value(b, d->starttls_accepted);
    json_builder_set_member_name(b, "frames");
    json_builder_add_int_value(b, (gint64)d->frames);
    json_builder_set_member_name(b, "capture");
    if (r->capture_file)
        json_builder_add_string_value(b, r->capture_file);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "transcript");
    json_builder_begin_array(b);
    for (guint i = 0; i < d->transcript->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(d->transcript, i));
    json_builder_end_array(b);
    json_builder_end_object(b);
}


void mx_probe_report_json(const mx_probe_result *r, bool pretty, FILE *out)
{
    const mx_probe_ladder *l = &r->ladder;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "tool");
    json_builder_add_string_value(b, "mxray");
    json_builder_set_member_name(b, "version");
    json_builder_add_string_value(b, PACKAGE_VERSION);

    json_builder_set_member_name(b, "target");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "host");
    if (r->host)
        json_builder_add_string_value(b, r->host);
    else
        json_builder_add_null_value(b);
    member_addr_or_null(b, "ip", &l->target);
    json_builder_set_member_name(b, "port");
    json_builder_add_int_value(b, l->dport);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "source");
    json_builder_begin_object(b);
    member_addr_or_null(b, "ip", &l->source);
    json_builder_set_member_name(b, "port");
    json_builder_add_int_value(b, l->sport);
    json_builder_end_object(b);

    add_ladder(b, l);
    add_path(b, r);
    if (r->dialogue_run) {
        add_dialogue(b, r);
        if (r->dialogue.session) {
            json_builder_set_member_name(b, "session");
            json_builder_add_value(b, mx_report_session_node(r->dialogue.session, NULL));
        }
    }
    json_builder_end_object(b);

    mx_json_write(b, pretty, out);
}
