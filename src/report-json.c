/* SPDX-License-Identifier: BSD-3-Clause */
/* report-json.c — the DESIGN.md JSON contract (schema version 1), built with json-glib. */
#include "report-json.h"
#include "report-queue.h"

#include <json-glib/json-glib.h>
#include <string.h>
#include <time.h>

#define ADDR_BUF 64

static void add_time(JsonBuilder *b, const char *member, int64_t us)
{
    char t[MX_REPORT_TIME_LEN];
    json_builder_set_member_name(b, member);
    json_builder_add_string_value(b, mx_report_time_rfc3339(us, t, sizeof t));
}

/* name: a DNS name for the address seen in the capture (omitted when none). */
static void add_endpoint(JsonBuilder *b, const char *member, const mx_addr *ip, uint16_t port, const char *name)
{
    char buf[ADDR_BUF];
    json_builder_set_member_name(b, member);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ip");
    json_builder_add_string_value(b, mx_addr_str(ip, buf, sizeof buf));
    json_builder_set_member_name(b, "port");
    json_builder_add_int_value(b, port);
    if (name) {
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, name);
    }
    json_builder_end_object(b);
}

static void add_string_or_null(JsonBuilder *b, const char *member, const char *value)
{
    json_builder_set_member_name(b, member);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void add_int_or_null(JsonBuilder *b, const char *member, bool present, gint64 value)
{
    json_builder_set_member_name(b, member);
    if (present)
        json_builder_add_int_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void add_culprit(JsonBuilder *b, const mx_culprit *c)
{
    char buf[ADDR_BUF];
    json_builder_set_member_name(b, "culprit");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "role");
    json_builder_add_string_value(b, mx_role_name(c->role));
    add_string_or_null(b, "ip", c->has_ip ? mx_addr_str(&c->ip, buf, sizeof buf) : NULL);
    add_int_or_null(b, "hops_from_client", c->hops_from_client > 0, c->hops_from_client);
    json_builder_set_member_name(b, "confidence");
    json_builder_add_string_value(b, mx_confidence_name(c->confidence));
    json_builder_end_object(b);
}

static void add_tcp(JsonBuilder *b, const mx_session *s)
{
    json_builder_set_member_name(b, "tcp");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "history");
    json_builder_add_string_value(b, s->tcp.history);
    json_builder_set_member_name(b, "syn_count");
    json_builder_add_int_value(b, s->tcp.syn_count);
    json_builder_set_member_name(b, "rtt_ms");
    if (s->tcp.has_rtt)
        json_builder_add_double_value(b, s->tcp.rtt_ms);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "retransmits");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "client");
    json_builder_add_int_value(b, s->tcp.retransmits_client);
    json_builder_set_member_name(b, "server");
    json_builder_add_int_value(b, s->tcp.retransmits_server);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "ttl");
    json_builder_begin_object(b);
    add_int_or_null(b, "client", s->tcp.ttl_client >= 0, s->tcp.ttl_client);
    add_int_or_null(b, "server", s->tcp.ttl_server >= 0, s->tcp.ttl_server);
    json_builder_end_object(b);
    add_int_or_null(b, "server_hop", s->tcp.server_hop > 0, s->tcp.server_hop);
    json_builder_end_object(b);
}

static void add_smtp(JsonBuilder *b, const mx_session *s)
{
    json_builder_set_member_name(b, "smtp");
    json_builder_begin_object(b);
    add_string_or_null(b, "greeting", s->smtp.greeting);
    add_string_or_null(b, "helo", s->smtp.helo);
    json_builder_set_member_name(b, "extensions");
    json_builder_begin_array(b);
    for (guint i = 0; i < s->smtp.extensions->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(s->smtp.extensions, i));
    json_builder_end_array(b);
    json_builder_set_member_name(b, "messages");
    json_builder_add_int_value(b, s->smtp.messages);
    json_builder_set_member_name(b, "replies");
    json_builder_begin_array(b);
    for (guint i = 0; i < s->smtp.replies->len; i++) {
        const mx_reply_rec *r = &g_array_index(s->smtp.replies, mx_reply_rec, i);
        json_builder_begin_object(b);
        add_string_or_null(b, "command", r->command);
        json_builder_set_member_name(b, "code");
        json_builder_add_int_value(b, r->code);
        json_builder_set_member_name(b, "latency_ms");
        if (r->has_latency)
            json_builder_add_double_value(b, r->latency_ms);
        else
            json_builder_add_null_value(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    add_string_or_null(b, "tls", s->smtp.tls);
    json_builder_end_object(b);
}

static void add_session(JsonBuilder *b, const mx_session *s, const mx_report *r)
{
    const mx_verdict *v = &s->verdict;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, (gint64)s->id);
    add_endpoint(b, "client", &s->client_ip, s->client_port, NULL);
    add_endpoint(b, "server", &s->server_ip, s->server_port, s->server_name);
    add_time(b, "start", s->start_us);
    add_time(b, "end", s->end_us);
    json_builder_set_member_name(b, "outcome");
    json_builder_add_string_value(b, mx_outcome_name(v->outcome));
    json_builder_set_member_name(b, "kind");
    json_builder_add_string_value(b, mx_kind_name(v->kind));
    json_builder_set_member_name(b, "phase");
    json_builder_add_string_value(b, mx_phase_name(v->phase));
    add_culprit(b, &v->culprit);
    json_builder_set_member_name(b, "summary");
    json_builder_add_string_value(b, v->summary->str);
    json_builder_set_member_name(b, "advice");
    json_builder_add_string_value(b, v->advice->str);
    add_string_or_null(b, "mta_status", v->mta_status->len ? v->mta_status->str : NULL);

    json_builder_set_member_name(b, "warnings");
    json_builder_begin_array(b);
    for (guint i = 0; i < v->warnings->len; i++) {
        const mx_warning *w = &g_array_index(v->warnings, mx_warning, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "kind");
        json_builder_add_string_value(b, mx_warning_name(w->kind));
        json_builder_set_member_name(b, "detail");
        json_builder_add_string_value(b, w->detail);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "evidence");
    json_builder_begin_array(b);
    for (guint i = 0; i < v->evidence->len; i++) {
        const mx_evidence *e = &g_array_index(v->evidence, mx_evidence, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "frame");
        json_builder_add_int_value(b, (gint64)e->at.frame);
        add_time(b, "time", e->at.ts_us);
        json_builder_set_member_name(b, "fact");
        json_builder_add_string_value(b, e->fact);
        /* With several inputs a frame number needs its file. */
        if (r && r->inputs->len > 1 && e->at.file_index < r->inputs->len) {
            json_builder_set_member_name(b, "file");
            json_builder_add_string_value(b, g_ptr_array_index(r->inputs, e->at.file_index));
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    add_tcp(b, s);
    add_smtp(b, s);
    json_builder_end_object(b);
}

JsonNode *mx_report_session_node(const mx_session *s, const mx_report *r)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    add_session(b, s, r);
    return json_builder_get_root(b);
}

static void add_stats(JsonBuilder *b, const mx_run_stats *st)
{
    json_builder_set_member_name(b, "stats");
    json_builder_begin_object(b);
#define STAT(name) json_builder_set_member_name(b, #name); json_builder_add_int_value(b, (gint64)st->name)
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
#define STAT_IF(name) if (st->name) { json_builder_set_member_name(b, #name); json_builder_add_int_value(b, (gint64)st->name); }
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
        json_builder_set_member_name(b, "skipped_reasons");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "fragment");
        json_builder_add_int_value(b, (gint64)st->skipped_fragment);
        json_builder_set_member_name(b, "malformed");
        json_builder_add_int_value(b, (gint64)st->skipped_malformed);
        json_builder_set_member_name(b, "truncated");
        json_builder_add_int_value(b, (gint64)st->skipped_truncated);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
}

static void add_destination(JsonBuilder *b, const mx_report *r, const mx_destination *d)
{
    char buf[ADDR_BUF];
    {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "ip");
        json_builder_add_string_value(b, mx_addr_str(&d->ip, buf, sizeof buf));
        if (d->name[0]) {
            json_builder_set_member_name(b, "name");
            json_builder_add_string_value(b, d->name);
        }
        json_builder_set_member_name(b, "attempts");
        json_builder_add_int_value(b, d->attempts);
        json_builder_set_member_name(b, "failed");
        json_builder_add_int_value(b, d->failed);
        json_builder_set_member_name(b, "kinds");
        json_builder_begin_object(b);
        for (int k = 0; k < MX_KIND_COUNT; k++) {
            if (d->kinds[k] == 0)
                continue;
            json_builder_set_member_name(b, mx_kind_name((mx_kind)k));
            json_builder_add_int_value(b, d->kinds[k]);
        }
        json_builder_end_object(b);
        g_autofree char *verdict = mx_report_destination_verdict(r, d);
        add_string_or_null(b, "verdict", verdict);
        json_builder_end_object(b);
    }
}

/* %.15g of the double whose %.17g text (as json-glib prints it) is
 * tok[0..len), worked out on the digits: the 17-digit text is the double
 * rounded, and rounding it again to 15 digits gives the same digits as
 * rounding the double unless its last two digits are exactly "50" (a tie
 * only the double itself can break).  Returns the length written to out,
 * or 0 when the text is not plain "-ddd.ddd" or is that tie: the caller
 * then asks printf. */
static size_t shorten_double(const char *tok, size_t len, char *out)
{
    char digits[24];
    size_t n = 0, i = 0;
    int point = -1, leading = 0;     /* point: digits before the decimal point */
    bool negative = tok[0] == '-';
    if (negative)
        i++;
    for (; i < len; i++) {
        char c = tok[i];
        if (c == '.' && point < 0) {
            point = (int)n + leading;
        } else if (g_ascii_isdigit(c)) {
            if (n == 0 && c == '0')
                leading++;               /* zeros before the first significant digit */
            else if (n < sizeof digits)
                digits[n++] = c;
            else
                return 0;
        } else {
            return 0;                    /* an exponent: leave it to printf */
        }
    }
    if (n == 0 || n > 17)
        return 0;
    if (point < 0)
        point = (int)n + leading;
    int exp10 = point - leading;         /* value = 0.digits x 10^exp10 */
    if (n > 15) {
        if (digits[15] == '5' && (n == 16 || (n == 17 && digits[16] == '0')))
            return 0;
        bool up = digits[15] >= '5';
        n = 15;
        for (size_t k = n; up && k-- > 0;) {
            if (digits[k] == '9') {
                digits[k] = '0';
            } else {
                digits[k]++;
                up = false;
            }
        }
        if (up) {                        /* 9.99...9 became 10 */
            digits[0] = '1';
            n = 1;
            exp10++;
        }
    }
    while (n > 1 && digits[n - 1] == '0')
        n--;
    if (exp10 - 1 >= 15 || exp10 - 1 < -4)
        return 0;                        /* %g would use an exponent */
    size_t o = 0;
    if (negative)
        out[o++] = '-';
    if (exp10 <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int z = exp10; z < 0; z++)
            out[o++] = '0';
        memcpy(out + o, digits, n);
        return o + n;
    }
    for (int k = 0; k < exp10; k++)
        out[o++] = (size_t)k < n ? digits[k] : '0';
    if ((size_t)exp10 < n) {
        out[o++] = '.';
        memcpy(out + o, digits + exp10, n - (size_t)exp10);
        o += n - (size_t)exp10;
    }
    return o;
}

/* json-glib prints doubles with 17 significant digits (0.1 becomes
 * 0.10000000000000001); rewrite each fractional number outside strings
 * with 15, which round-trips every value mxray computes.  Appends to out;
 * runs between such numbers are copied whole. */
static void tidy_numbers(GString *out, const char *text, gsize len)
{
    gsize i = 0, copied = 0;
    while (i < len) {
        char c = text[i];
        if (c == '"') {
            /* Skip the string (digits in it are text) to a quote not
             * escaped by an odd run of backslashes. */
            const char *q = text + i;
            for (;;) {
                q = memchr(q + 1, '"', len - (gsize)(q + 1 - text));
                if (q == NULL) {
                    i = len;
                    break;
                }
                const char *b = q;
                while (b > text + i && b[-1] == '\\')
                    b--;
                if ((q - b) % 2 == 0) {
                    i = (gsize)(q - text) + 1;
                    break;
                }
            }
            continue;
        }
        if (c != '-' && !g_ascii_isdigit(c)) {
            i++;
            continue;
        }
        gsize j = i;
        bool fractional = false;
        while (j < len && (g_ascii_isdigit(text[j]) || text[j] == '+' || text[j] == '-' || text[j] == '.' ||
                           text[j] == 'e' || text[j] == 'E')) {
            fractional |= text[j] == '.' || text[j] == 'e' || text[j] == 'E';
            j++;
        }
        if (fractional) {
            char token[64], buf[G_ASCII_DTOSTR_BUF_SIZE];
            gsize tlen = MIN(sizeof token - 1, j - i);
            g_string_append_len(out, text + copied, (gssize)(i - copied));
            size_t short_len = shorten_double(text + i, tlen, buf);
            if (short_len > 0) {
                g_string_append_len(out, buf, (gssize)short_len);
            } else {
                memcpy(token, text + i, tlen);
                token[tlen] = '\0';
                g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.15g", g_ascii_strtod(token, NULL)));
            }
            copied = j;
        }
        i = j;
    }
    g_string_append_len(out, text + copied, (gssize)(len - copied));
}

/* Generates node into out (appended), numbers tidied; scratch is reused. */
static void node_to_gstring(JsonGenerator *gen, JsonNode *node, GString *scratch, GString *out)
{
    json_generator_set_root(gen, node);
    g_string_truncate(scratch, 0);
    json_generator_to_gstring(gen, scratch);
    tidy_numbers(out, scratch->str, scratch->len);
}

void mx_json_write(JsonBuilder *b, bool pretty, FILE *out)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, pretty);
    json_generator_set_indent(gen, 1);
    GString *scratch = g_string_new(NULL), *tidy = g_string_new(NULL);
    node_to_gstring(gen, root, scratch, tidy);
    g_string_append_c(tidy, '\n');
    fwrite(tidy->str, 1, tidy->len, out);
    g_string_free(scratch, TRUE);
    g_string_free(tidy, TRUE);
}

/* ---- the document, written as sessions finish ----------------------------
 *
 * json-glib writes every value; only the top-level object is put together
 * here, from pretty-printed pieces: the head object without its closing
 * brace, the sessions (compact, one a line), and the tail object without
 * its opening brace.  The reader sees one document with members tool,
 * version, inputs, sessions, stats, destinations. */

struct mx_json_doc {
    const mx_report *r;
    FILE *out;
    JsonBuilder *builder;
    JsonGenerator *compact;   /* sessions (the writer thread's) */
    JsonGenerator *pretty;    /* head and tail (the reader's) */
    GString *scratch, *line;
    GString *tail;            /* stats and destinations, once rendered */
    guint64 sessions;
    bool lines;               /* jsonl: sessions only, one a line */
};

/* Appends a pretty object's members only (no braces, no final newline). */
static void members_to_gstring(JsonGenerator *pretty, JsonBuilder *b, GString *out)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    GString *scratch = g_string_new(NULL), *text = g_string_new(NULL);
    node_to_gstring(pretty, root, scratch, text);
    /* "{\n" members "\n}" */
    const char *s = text->str;
    gsize len = text->len;
    g_assert(len >= 2 && s[0] == '{' && s[len - 1] == '}');
    gsize from = 1, to = len - 1;
    while (from < to && s[from] == '\n')
        from++;
    while (to > from && s[to - 1] == '\n')
        to--;
    g_string_append_len(out, s + from, (gssize)(to - from));
    g_string_free(scratch, TRUE);
    g_string_free(text, TRUE);
}

static mx_json_doc *doc_new(const mx_report *r, FILE *out)
{
    mx_json_doc *d = g_new0(mx_json_doc, 1);
    d->r = r;
    d->out = out;
    d->builder = json_builder_new();
    d->compact = json_generator_new();
    d->pretty = json_generator_new();
    json_generator_set_pretty(d->pretty, TRUE);
    json_generator_set_indent(d->pretty, 1);
    d->scratch = g_string_sized_new(8192);
    d->line = g_string_sized_new(8192);
    return d;
}

mx_json_doc *mx_json_lines_begin(const mx_report *r, FILE *out)
{
    mx_json_doc *d = doc_new(r, out);
    d->lines = true;
    return d;
}

mx_json_doc *mx_json_doc_begin(const mx_report *r, FILE *out)
{
    mx_json_doc *d = doc_new(r, out);
    JsonBuilder *b = d->builder;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "tool");
    json_builder_add_string_value(b, "mxray");
    json_builder_set_member_name(b, "version");
    json_builder_add_string_value(b, r->version);
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->inputs->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(r->inputs, i));
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(GString) head = g_string_new("{\n");
    members_to_gstring(d->pretty, b, head);
    fwrite(head->str, 1, head->len, out);
    json_builder_reset(b);
    fputs(",\n \"sessions\" : [", out);
    return d;
}

void mx_json_doc_session(mx_json_doc *d, const mx_session *s)
{
    JsonBuilder *b = d->builder;
    add_session(b, s, d->r);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_builder_reset(b);
    g_string_truncate(d->line, 0);
    if (!d->lines)
        g_string_append(d->line, d->sessions ? ",\n  " : "\n  ");
    d->sessions++;
    node_to_gstring(d->compact, root, d->scratch, d->line);
    if (d->lines)
        g_string_append_c(d->line, '\n');
    fwrite(d->line->str, 1, d->line->len, d->out);
}

void mx_json_doc_prepare_end(mx_json_doc *d)
{
    if (d->lines || d->tail)
        return;
    /* A builder of its own: the writer thread may still be using the
     * document's (and its compact generator; the pretty one is the head's
     * and the tail's only). */
    g_autoptr(JsonBuilder) b = json_builder_new();
    JsonGenerator *pretty = d->pretty;
    json_builder_begin_object(b);
    if (d->r->queue)
        mx_queue_json(b, d->r->queue);
    add_stats(b, &d->r->stats);
    json_builder_end_object(b);
    d->tail = g_string_new(NULL);
    members_to_gstring(pretty, b, d->tail);

    /* The destinations one by one, so that no tree of them all is held:
     * each object is printed alone and indented as the array's element
     * (json-glib indents by depth; only whitespace is added here). */
    const GArray *dests = d->r->destinations;
    g_string_append(d->tail, dests->len ? ",\n \"destinations\" : [" : ",\n \"destinations\" : []");
    GString *scratch = g_string_new(NULL), *text = g_string_new(NULL);
    for (guint i = 0; i < dests->len; i++) {
        json_builder_reset(b);
        add_destination(b, d->r, &g_array_index(dests, mx_destination, i));
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        g_string_truncate(text, 0);
        node_to_gstring(pretty, root, scratch, text);
        g_string_append(d->tail, i ? ",\n  " : "\n  ");
        for (const char *line = text->str, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (nl == NULL) {
                g_string_append(d->tail, line);
                break;
            }
            g_string_append_len(d->tail, line, nl - line + 1);
            g_string_append(d->tail, "  ");
        }
    }
    if (dests->len)
        g_string_append(d->tail, "\n ]");
    g_string_free(scratch, TRUE);
    g_string_free(text, TRUE);
}

void mx_json_doc_end(mx_json_doc *d)
{
    if (!d->lines) {
        mx_json_doc_prepare_end(d);
        fputs(d->sessions ? "\n ],\n" : "],\n", d->out);
        fwrite(d->tail->str, 1, d->tail->len, d->out);
        fputs("\n}\n", d->out);
        g_string_free(d->tail, TRUE);
    }
    g_object_unref(d->builder);
    g_object_unref(d->compact);
    g_object_unref(d->pretty);
    g_string_free(d->scratch, TRUE);
    g_string_free(d->line, TRUE);
    g_free(d);
}

void mx_report_json(const mx_report *r, FILE *out)
{
    mx_json_doc *d = mx_json_doc_begin(r, out);
    for (guint i = 0; i < r->sessions->len; i++)
        mx_json_doc_session(d, g_ptr_array_index(r->sessions, i));
    mx_json_doc_end(d);
}

void mx_report_json_line(const mx_session *s, const mx_report *r, FILE *out)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    add_session(b, s, r);
    mx_json_write(b, false, out);
    fflush(out);
}
