/* SPDX-License-Identifier: BSD-3-Clause */
/* report-json.c — the DESIGN.md JSON contract (schema version 1), one function per object, written by json-out.c. */
#include "report-json.h"
#include "report-queue.h"

#include "json-out.h"

#include <limits.h>
#include <string.h>
#include <time.h>

static void add_time(mx_json_out *w, const char *member, int64_t us)
{
    char t[MX_REPORT_TIME_LEN];
    mx_json_key(w, member);
    mx_json_string(w, mx_report_time_rfc3339(us, t, sizeof t));
}

/* name: a DNS name for the address seen in the capture (omitted when none). */
static void add_endpoint(mx_json_out *w, const char *member, const mx_addr *ip, uint16_t port, const char *name)
{
    char buf[MX_ADDR_BUF];
    mx_json_key(w, member);
    mx_json_begin_object(w);
    mx_json_key(w, "ip");
    mx_json_string(w, mx_addr_str(ip, buf, sizeof buf));
    mx_json_key(w, "port");
    mx_json_int(w, port);
    if (name) {
        mx_json_key(w, "name");
        mx_json_string(w, name);
    }
    mx_json_end_object(w);
}

static void add_string_or_null(mx_json_out *w, const char *member, const char *value)
{
    mx_json_key(w, member);
    if (value)
        mx_json_string(w, value);
    else
        mx_json_null(w);
}

static void add_int_or_null(mx_json_out *w, const char *member, bool present, gint64 value)
{
    mx_json_key(w, member);
    if (present)
        mx_json_int(w, value);
    else
        mx_json_null(w);
}

static void add_culprit(mx_json_out *w, const mx_culprit *c)
{
    char buf[MX_ADDR_BUF];
    mx_json_key(w, "culprit");
    mx_json_begin_object(w);
    mx_json_key(w, "role");
    mx_json_string(w, mx_role_name(c->role));
    add_string_or_null(w, "ip", c->has_ip ? mx_addr_str(&c->ip, buf, sizeof buf) : NULL);
    add_int_or_null(w, "hops_from_client", c->hops_from_client > 0, c->hops_from_client);
    mx_json_key(w, "confidence");
    mx_json_string(w, mx_confidence_name(c->confidence));
    mx_json_end_object(w);
}

static void add_tcp(mx_json_out *w, const mx_session *s)
{
    mx_json_key(w, "tcp");
    mx_json_begin_object(w);
    mx_json_key(w, "history");
    mx_json_string(w, s->tcp.history);
    mx_json_key(w, "syn_count");
    mx_json_int(w, s->tcp.syn_count);
    mx_json_key(w, "rtt_ms");
    if (s->tcp.has_rtt)
        mx_json_double(w, s->tcp.rtt_ms);
    else
        mx_json_null(w);
    mx_json_key(w, "retransmits");
    mx_json_begin_object(w);
    mx_json_key(w, "client");
    mx_json_int(w, s->tcp.retransmits_client);
    mx_json_key(w, "server");
    mx_json_int(w, s->tcp.retransmits_server);
    mx_json_end_object(w);
    mx_json_key(w, "ttl");
    mx_json_begin_object(w);
    add_int_or_null(w, "client", s->tcp.ttl_client >= 0, s->tcp.ttl_client);
    add_int_or_null(w, "server", s->tcp.ttl_server >= 0, s->tcp.ttl_server);
    mx_json_end_object(w);
    add_int_or_null(w, "server_hop", s->tcp.server_hop > 0, s->tcp.server_hop);
    mx_json_end_object(w);
}

static void add_smtp(mx_json_out *w, const mx_session *s)
{
    mx_json_key(w, "smtp");
    mx_json_begin_object(w);
    add_string_or_null(w, "greeting", s->smtp.greeting);
    add_string_or_null(w, "helo", s->smtp.helo);
    mx_json_key(w, "extensions");
    mx_json_begin_array(w);
    for (guint i = 0; i < s->smtp.extensions->len; i++)
        mx_json_string(w, g_ptr_array_index(s->smtp.extensions, i));
    mx_json_end_array(w);
    mx_json_key(w, "messages");
    mx_json_int(w, s->smtp.messages);
    mx_json_key(w, "replies");
    mx_json_begin_array(w);
    for (guint i = 0; i < s->smtp.replies->len; i++) {
        const mx_reply_rec *r = &g_array_index(s->smtp.replies, mx_reply_rec, i);
        mx_json_begin_object(w);
        add_string_or_null(w, "command", r->command);
        mx_json_key(w, "code");
        mx_json_int(w, r->code);
        mx_json_key(w, "latency_ms");
        if (r->has_latency)
            mx_json_double(w, r->latency_ms);
        else
            mx_json_null(w);
        mx_json_end_object(w);
    }
    mx_json_end_array(w);
    add_string_or_null(w, "tls", s->smtp.tls);
    mx_json_end_object(w);
}

static void add_session(mx_json_out *w, const mx_session *s, const mx_report *r)
{
    const mx_verdict *v = &s->verdict;
    mx_json_begin_object(w);
    mx_json_key(w, "id");
    mx_json_int(w, (gint64)s->id);
    add_endpoint(w, "client", &s->client_ip, s->client_port, NULL);
    add_endpoint(w, "server", &s->server_ip, s->server_port, s->server_name);
    add_time(w, "start", s->start_us);
    add_time(w, "end", s->end_us);
    mx_json_key(w, "outcome");
    mx_json_string(w, mx_outcome_name(v->outcome));
    mx_json_key(w, "kind");
    mx_json_string(w, mx_kind_name(v->kind));
    mx_json_key(w, "phase");
    mx_json_string(w, mx_phase_name(v->phase));
    add_culprit(w, &v->culprit);
    mx_json_key(w, "summary");
    mx_json_string(w, v->summary->str);
    mx_json_key(w, "advice");
    mx_json_string(w, v->advice->str);
    add_string_or_null(w, "mta_status", v->mta_status->len ? v->mta_status->str : NULL);

    mx_json_key(w, "warnings");
    mx_json_begin_array(w);
    for (guint i = 0; i < v->warnings->len; i++) {
        const mx_warning *wn = &g_array_index(v->warnings, mx_warning, i);
        mx_json_begin_object(w);
        mx_json_key(w, "kind");
        mx_json_string(w, mx_warning_name(wn->kind));
        mx_json_key(w, "detail");
        mx_json_string(w, wn->detail);
        mx_json_end_object(w);
    }
    mx_json_end_array(w);

    mx_json_key(w, "evidence");
    mx_json_begin_array(w);
    for (guint i = 0; i < v->evidence->len; i++) {
        const mx_evidence *e = &g_array_index(v->evidence, mx_evidence, i);
        mx_json_begin_object(w);
        mx_json_key(w, "frame");
        mx_json_int(w, (gint64)e->at.frame);
        add_time(w, "time", e->at.ts_us);
        mx_json_key(w, "fact");
        mx_json_string(w, e->fact);
        /* With several inputs a frame number needs its file. */
        if (r && r->inputs->len > 1 && e->at.file_index < r->inputs->len) {
            mx_json_key(w, "file");
            mx_json_string(w, g_ptr_array_index(r->inputs, e->at.file_index));
        }
        mx_json_end_object(w);
    }
    mx_json_end_array(w);

    add_tcp(w, s);
    add_smtp(w, s);
    mx_json_end_object(w);
}

static void add_stats(mx_json_out *w, const mx_run_stats *st)
{
    mx_json_key(w, "stats");
    mx_json_begin_object(w);
#define STAT(name) mx_json_key(w, #name); mx_json_int(w, (gint64)st->name)
    STAT(packets);
    STAT(bytes);
    STAT(tcp_flows);
    STAT(smtp_sessions);
    STAT(skipped);
    STAT(truncated);
    STAT(evicted);
    if (st->destination_sessions_dropped) {
        STAT(destination_sessions_dropped);
    }
    /* Only when there are any: most captures are taken with offloads off. */
    if (st->offload_length) {
        STAT(offload_length);
    }
#undef STAT
    /* Limits met, and two gauges: only when not 0 (docs/verdicts.md). */
#define STAT_IF(name) if (st->name) { mx_json_key(w, #name); mx_json_int(w, (gint64)st->name); }
    STAT_IF(cap_hits);
    STAT_IF(lines_cut);
    STAT_IF(pending_dropped);
    STAT_IF(replies_dropped);
    STAT_IF(extensions_dropped);
    STAT_IF(ooo_cap_hits);
    STAT_IF(baselines_full);
    STAT_IF(evidence_dropped);
    STAT_IF(refusals_judged_early);
    STAT_IF(syn_times_dropped);
    STAT_IF(helos_dropped);
    STAT_IF(evidence_spans_dropped);
    STAT_IF(dns_overwritten);
    STAT_IF(icmp_unmatched);
    if (st->evicted)   /* what the table held at most, beside what it had to let go */
        STAT_IF(active_max);
#undef STAT_IF
    if (st->skipped > 0) {
        /* Why frames were skipped: the counts add up to skipped. */
        mx_json_key(w, "skipped_reasons");
        mx_json_begin_object(w);
        mx_json_key(w, "fragment");
        mx_json_int(w, (gint64)st->skipped_fragment);
        mx_json_key(w, "malformed");
        mx_json_int(w, (gint64)st->skipped_malformed);
        mx_json_key(w, "truncated");
        mx_json_int(w, (gint64)st->skipped_truncated);
        mx_json_end_object(w);
    }
    mx_json_end_object(w);
}

static void add_destination(mx_json_out *w, const mx_report *r, const mx_destination *d)
{
    char buf[MX_ADDR_BUF];
    {
        mx_json_begin_object(w);
        mx_json_key(w, "ip");
        mx_json_string(w, mx_addr_str(&d->ip, buf, sizeof buf));
        if (d->name[0]) {
            mx_json_key(w, "name");
            mx_json_string(w, d->name);
        }
        mx_json_key(w, "attempts");
        mx_json_int(w, d->attempts);
        mx_json_key(w, "failed");
        mx_json_int(w, d->failed);
        mx_json_key(w, "kinds");
        mx_json_begin_object(w);
        for (int k = 0; k < MX_KIND_COUNT; k++) {
            if (d->kinds[k] == 0)
                continue;
            mx_json_key(w, mx_kind_name((mx_kind)k));
            mx_json_int(w, d->kinds[k]);
        }
        mx_json_end_object(w);
        g_autofree char *verdict = mx_report_destination_verdict(r, d);
        add_string_or_null(w, "verdict", verdict);
        mx_json_end_object(w);
    }
}

/* ---- the document, written as sessions finish ----------------------------
 *
 * One pretty writer for the whole document (tool, version, inputs,
 * sessions, stats, destinations), sessions compact, one a line: the
 * sessions array's elements are at depth 2. */

#define SESSION_DEPTH 2

struct mx_json_doc {
    const mx_report *r;
    mx_json_out *w;
    bool lines;               /* jsonl: sessions only, one a line */
};

static void check_writer(const mx_json_out *w)
{
    /* A misuse is a bug in this file: say so rather than write broken JSON quietly. */
    if (mx_json_out_error(w))
        g_critical("JSON writer: %s", mx_json_out_error(w));
}

mx_json_doc *mx_json_lines_begin(const mx_report *r, FILE *out)
{
    mx_json_doc *d = g_new0(mx_json_doc, 1);
    d->r = r;
    d->w = mx_json_out_new(out, false);
    d->lines = true;
    return d;
}

mx_json_doc *mx_json_doc_begin(const mx_report *r, FILE *out)
{
    mx_json_doc *d = g_new0(mx_json_doc, 1);
    d->r = r;
    mx_json_out *w = d->w = mx_json_out_new(out, true);
    mx_json_out_set_compact_depth(w, SESSION_DEPTH);
    mx_json_begin_object(w);
    mx_json_key(w, "tool");
    mx_json_string(w, "mxray");
    mx_json_key(w, "version");
    mx_json_string(w, r->version);
    mx_json_key(w, "inputs");
    mx_json_begin_array(w);
    for (guint i = 0; i < r->inputs->len; i++)
        mx_json_string(w, g_ptr_array_index(r->inputs, i));
    mx_json_end_array(w);
    mx_json_key(w, "sessions");
    mx_json_begin_array(w);
    return d;
}

void mx_json_doc_session(mx_json_doc *d, const mx_session *s)
{
    add_session(d->w, s, d->r);
    if (d->lines)
        mx_json_raw(d->w, "\n");
}

void mx_json_doc_end(mx_json_doc *d)
{
    mx_json_out *w = d->w;
    if (!d->lines) {
        mx_json_end_array(w);
        mx_json_out_set_compact_depth(w, INT_MAX);
        if (d->r->queue)
            mx_queue_json(w, d->r->queue);
        add_stats(w, &d->r->stats);
        mx_json_key(w, "destinations");
        mx_json_begin_array(w);
        const GArray *dests = d->r->destinations;
        for (guint i = 0; i < dests->len; i++)
            add_destination(w, d->r, &g_array_index(dests, mx_destination, i));
        mx_json_end_array(w);
        mx_json_end_object(w);
        mx_json_raw(w, "\n");
    }
    check_writer(w);
    mx_json_out_flush(w);
    mx_json_out_free(w);
    g_free(d);
}

void mx_report_json(const mx_report *r, FILE *out)
{
    mx_json_doc *d = mx_json_doc_begin(r, out);
    for (guint i = 0; i < r->sessions->len; i++)
        mx_json_doc_session(d, g_ptr_array_index(r->sessions, i));
    mx_json_doc_end(d);
}

void mx_report_json_session(mx_json_out *w, const mx_session *s, const mx_report *r)
{
    add_session(w, s, r);
}

void mx_report_json_line(const mx_session *s, const mx_report *r, FILE *out)
{
    mx_json_out *w = mx_json_out_new(out, false);
    add_session(w, s, r);
    mx_json_raw(w, "\n");
    check_writer(w);
    mx_json_out_flush(w);
    mx_json_out_free(w);
    fflush(out);
}
