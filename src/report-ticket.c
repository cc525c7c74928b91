/* SPDX-License-Identifier: BSD-3-Clause */
/* report-ticket.c — answer paragraph, failure groups and shared phrases of the ticket reports. */
#include "report-ticket.h"
#include "caps.h"
#include "evidence.h"

#include <string.h>
#include <time.h>

#define ADDR_BUF 64

bool mx_ticket_listed(const mx_session *s)
{
    return mx_session_failed(s) || s->verdict.warnings->len > 0 || s->verdict.outcome == MX_OUTCOME_INCOMPLETE;
}

struct mx_ticket_rows {
    GHashTable *by_server;   /* mx_addr* (in a session) -> GPtrArray of const mx_session* */
    GPtrArray *empty;
};

mx_ticket_rows *mx_ticket_rows_new(const mx_report *r)
{
    /* One pass over the sessions: a long capture has thousands of
     * destinations, and walking every session for each was quadratic. */
    mx_ticket_rows *t = g_new0(mx_ticket_rows, 1);
    t->by_server = g_hash_table_new_full(mx_addr_hash, mx_addr_equal_key, NULL, (GDestroyNotify)g_ptr_array_unref);
    t->empty = g_ptr_array_new();
    for (guint j = 0; j < r->sessions->len; j++) {
        const mx_session *s = g_ptr_array_index(r->sessions, j);
        GPtrArray *rows = g_hash_table_lookup(t->by_server, &s->server_ip);
        if (!rows) {
            rows = g_ptr_array_new();
            g_hash_table_insert(t->by_server, (gpointer)&s->server_ip, rows);
        }
        if (rows->len < MX_TICKET_SESSION_ROWS)
            g_ptr_array_add(rows, (gpointer)s);
    }
    return t;
}

const GPtrArray *mx_ticket_rows_for(const mx_ticket_rows *t, const mx_destination *d, guint *more)
{
    const GPtrArray *rows = g_hash_table_lookup(t->by_server, &d->ip);
    if (!rows)
        rows = t->empty;
    *more = d->attempts > rows->len ? d->attempts - rows->len : 0;
    return rows;
}

void mx_ticket_rows_free(mx_ticket_rows *t)
{
    if (!t)
        return;
    g_hash_table_destroy(t->by_server);
    g_ptr_array_unref(t->empty);
    g_free(t);
}

static gint uint_cmp(const guint *a, const guint *b)
{
    return *a < *b ? -1 : *a > *b;
}

char *mx_ticket_unlisted(const mx_report *r)
{
    if (r->sessions_unlisted == 0)
        return NULL;
    return g_strdup_printf("This report lists %u of the %" G_GUINT64_FORMAT " sessions (a ticket keeps at most %d, "
                           "failures first); the other %" G_GUINT64_FORMAT " are in the counts and the destinations "
                           "table only: `mxray read --format jsonl` writes every one.",
                           r->sessions->len, r->stats.smtp_sessions, MX_TICKET_SESSIONS_KEPT, r->sessions_unlisted);
}

GArray *mx_ticket_destinations(const mx_report *r, guint *more)
{
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(guint));
    guint n = r->destinations->len;
    /* Two passes, failing rows then the rest, each in table order. */
    for (int pass = 0; pass < 2; pass++)
        for (guint i = 0; i < n && rows->len < MX_TICKET_DESTINATION_ROWS; i++)
            if ((g_array_index(r->destinations, mx_destination, i).failed > 0) == (pass == 0))
                g_array_append_val(rows, i);
    g_array_sort(rows, (GCompareFunc)uint_cmp);
    *more = n - rows->len;
    return rows;
}

char *mx_ticket_destinations_unlisted(const mx_report *r, guint more)
{
    uint64_t dropped = r->stats.destination_sessions_dropped;
    if (more == 0 && dropped == 0)
        return NULL;
    GString *s = g_string_new(NULL);
    if (more)
        g_string_append_printf(s, "%u more destination%s not listed (a ticket lists at most %d, failing ones first; "
                               "`mxray read --format json` has every row).", more, more == 1 ? "" : "s",
                               MX_TICKET_DESTINATION_ROWS);
    if (dropped)
        g_string_append_printf(s, "%s%" G_GUINT64_FORMAT " session%s went to servers past the first %d, which have no "
                               "row (they are in the counts).", s->len ? " " : "", dropped, dropped == 1 ? "" : "s",
                               MX_MAX_DESTINATIONS);
    return g_string_free(s, FALSE);
}

/* Similar failures: same kind, same culprit (role and address, or hop
 * when there is no address), same server.  A warned session that did not
 * fail adds its first warning, so that masked banners and lossy paths are
 * not one group. */
static char *group_key(const mx_session *s)
{
    const mx_verdict *v = &s->verdict;
    char ip[ADDR_BUF] = "", server[ADDR_BUF];
    if (v->culprit.has_ip)
        mx_addr_str(&v->culprit.ip, ip, sizeof ip);
    mx_addr_str(&s->server_ip, server, sizeof server);
    const char *warn = v->kind == MX_KIND_OK && v->warnings->len
                           ? mx_warning_name(g_array_index(v->warnings, mx_warning, 0).kind) : "";
    return g_strdup_printf("%s|%s|%s|%d|%s|%s", mx_kind_name(v->kind), mx_role_name(v->culprit.role), ip,
                           v->culprit.has_ip ? 0 : v->culprit.hops_from_client, server, warn);
}

static void group_free(gpointer p)
{
    mx_failure_group *g = p;
    g_ptr_array_free(g->others, TRUE);
    g_free(g);
}

GPtrArray *mx_ticket_groups(const mx_report *r)
{
    GPtrArray *groups = g_ptr_array_new_with_free_func(group_free);
    g_autoptr(GHashTable) by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < r->sessions->len; i++) {
        const mx_session *s = g_ptr_array_index(r->sessions, i);
        if (!mx_ticket_listed(s))
            continue;
        char *key = group_key(s);
        mx_failure_group *g = g_hash_table_lookup(by_key, key);
        if (g) {
            g_ptr_array_add(g->others, (gpointer)s);
            g_free(key);
            continue;
        }
        g = g_new0(mx_failure_group, 1);
        g->example = s;
        g->others = g_ptr_array_new();
        g_hash_table_insert(by_key, key, g);
        g_ptr_array_add(groups, g);
    }
    return groups;
}

char *mx_ticket_counts(const mx_report *r)
{
    const uint32_t *count = r->outcomes;
    GString *s = g_string_new(NULL);
    g_string_printf(s, "%" G_GUINT64_FORMAT " SMTP session%s", r->stats.smtp_sessions,
                    r->stats.smtp_sessions == 1 ? "" : "s");
    bool first = true;
    for (int o = 0; o < MX_OUTCOME_COUNT; o++) {
        if (count[o] == 0)
            continue;
        g_string_append_printf(s, "%s %u %s", first ? ":" : ",", count[o], mx_outcome_name((mx_outcome)o));
        first = false;
    }
    return g_string_free(s, FALSE);
}

char *mx_ticket_answer(const mx_report *r)
{
    GString *s = g_string_new(NULL);
    guint said = 0, more = 0;
    for (guint i = 0; i < r->destinations->len; i++) {
        const mx_destination *d = &g_array_index(r->destinations, mx_destination, i);
        if (d->failed && said >= MX_TICKET_ANSWER_DESTINATIONS) {
            more++;          /* counted, not phrased: one sentence each made 7 MB for 65k servers */
            continue;
        }
        g_autofree char *line = mx_report_destination_verdict(r, d);
        if (line) {
            g_string_append_printf(s, "%s%s", s->len ? " " : "", line);
            said++;
        }
    }
    if (more)
        g_string_append_printf(s, " %u more destination%s failed (see the destinations table).", more,
                               more == 1 ? "" : "s");
    if (s->len == 0) {
        g_autofree char *counts = mx_ticket_counts(r);
        g_string_append_printf(s, "No session failed (%s).", counts);
    }
    /* Warnings of sessions that did not fail: named, counted. */
    const uint32_t *warned = r->warned;
    bool first = true;
    for (int w = 0; w < MX_WARN_COUNT; w++) {
        if (!warned[w])
            continue;
        g_string_append_printf(s, "%s%s (%u)", first ? " Warnings on sessions that did not fail: " : ", ",
                               mx_warning_name((mx_warning_kind)w), warned[w]);
        first = false;
    }
    if (!first)
        g_string_append_c(s, '.');
    return g_string_free(s, FALSE);
}

char *mx_ticket_culprit(const mx_culprit *c)
{
    if (c->role == MX_ROLE_NONE)
        return g_strdup("none");
    GString *s = g_string_new(mx_role_name(c->role));
    char ip[ADDR_BUF];
    if (c->has_ip)
        g_string_append_printf(s, " %s", mx_addr_str(&c->ip, ip, sizeof ip));
    if (c->hops_from_client > 0)
        g_string_append_printf(s, ", hop %d from the gateway", c->hops_from_client);
    g_string_append_printf(s, " (confidence %s)", mx_confidence_name(c->confidence));
    return g_string_free(s, FALSE);
}

char *mx_ticket_frame_name(const mx_frame_ref *at, const GPtrArray *inputs, const mx_evidence_file *ev)
{
    GString *s = g_string_new(NULL);
    if (inputs && inputs->len > 1 && at->file_index < inputs->len)
        g_string_append_printf(s, "%s ", (const char *)g_ptr_array_index(inputs, at->file_index));
    g_string_append_printf(s, "frame %" G_GUINT64_FORMAT, at->frame);
    uint64_t e = mx_evidence_frame(ev, at);
    if (e)
        g_string_append_printf(s, " (evidence frame %" G_GUINT64_FORMAT ")", e);
    return g_string_free(s, FALSE);
}


guint mx_ticket_groups_shown(const GPtrArray *groups)
{
    return MIN(groups->len, (guint)MX_TICKET_GROUP_SECTIONS);
}

char *mx_ticket_groups_unlisted(const GPtrArray *groups)
{
    guint shown = mx_ticket_groups_shown(groups);
    if (shown == groups->len)
        return NULL;
    uint64_t sessions = 0;
    for (guint i = shown; i < groups->len; i++)
        sessions += 1 + ((const mx_failure_group *)g_ptr_array_index(groups, i))->others->len;
    return g_strdup_printf("%u more failure group%s (%" G_GUINT64_FORMAT " session%s) not written: a ticket writes "
                           "the first %d; the destinations table and `mxray read --format json` have them.",
                           groups->len - shown, groups->len - shown == 1 ? "" : "s", sessions,
                           sessions == 1 ? "" : "s", MX_TICKET_GROUP_SECTIONS);
}
