/* SPDX-License-Identifier: BSD-3-Clause */
/* maillog-join.c — log records to sessions: clock, offset, match, disagreements. */
#include "maillog-join.h"
#include "caps.h"

#include <stdlib.h>
#include <string.h>

mx_join *mx_join_new(const mx_maillog *log, const char *tz, GError **error)
{
    GTimeZone *zone = NULL;
    if (tz) {
        zone = g_time_zone_new_identifier(tz);
        if (zone == NULL) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--maillog-tz: '%s' is not a time zone (UTC, +01:00, Europe/Berlin)", tz);
            return NULL;
        }
    }
    mx_join *j = g_new0(mx_join, 1);
    j->log = log;
    j->sessions = g_array_new(FALSE, TRUE, sizeof(mx_join_session));
    j->links = g_array_new(FALSE, TRUE, sizeof(mx_join_link));
    j->tz = zone ? zone : g_time_zone_new_utc();
    j->tz_name = g_strdup(tz ? tz : "UTC");
    j->tz_given = tz != NULL;
    return j;
}

void mx_join_free(mx_join *j)
{
    if (j == NULL)
        return;
    for (guint i = 0; i < j->sessions->len; i++)
        g_free(g_array_index(j->sessions, mx_join_session, i).summary);
    for (guint i = 0; i < j->links->len; i++)
        g_free(g_array_index(j->links, mx_join_link, i).finding);
    g_array_unref(j->sessions);
    g_array_unref(j->links);
    g_time_zone_unref(j->tz);
    g_free(j->tz_name);
    g_free(j);
}

void mx_join_add_session(mx_join *j, const mx_session *s)
{
    if (j->sessions->len >= MX_MAILLOG_SESSIONS_MAX) {
        j->sessions_dropped++;
        return;
    }
    mx_join_session js = {
        .id = s->id,
        .server_ip = s->server_ip,
        .server_port = s->server_port,
        .start_us = s->start_us,
        .end_us = s->end_us,
        .outcome = s->verdict.outcome,
        .kind = s->verdict.kind,
        .phase = s->verdict.phase,
        .summary = g_strdup(s->verdict.summary->str),
    };
    g_array_append_val(j->sessions, js);
}

static const mx_logrec *rec_at(const mx_join *j, guint i)
{
    return &g_array_index(j->log->records, mx_logrec, i);
}

static mx_join_link *link_at(const mx_join *j, guint i)
{
    return &g_array_index(j->links, mx_join_link, i);
}

/* ---- the log's clock ---------------------------------------------------------------- */

/* The year for stamps without one: the capture's, minus one when the
 * log's month lies more than half a year after the capture's (a December
 * log line read with a January capture). */
static int year_for(const mx_join *j, int month)
{
    g_autoptr(GDateTime) first = g_date_time_new_from_unix_utc(j->capture_first_us / 1000000);
    int year = first ? g_date_time_get_year(first) : 1970;
    int cmonth = first ? g_date_time_get_month(first) : 1;
    return month - cmonth > 6 ? year - 1 : month - cmonth < -6 ? year + 1 : year;
}

static int64_t log_time(mx_join *j, const mx_logtime *t)
{
    int year = t->year;
    if (year == 0) {
        year = year_for(j, t->month);
        j->year_needed = true;
        j->year = year;
    }
    if (t->has_zone)
        return mx_logtime_us(t, year, 0);
    g_autoptr(GDateTime) dt = g_date_time_new(j->tz, year, t->month, t->day, t->hour, t->minute, t->second);
    if (dt == NULL)
        return 0;
    return g_date_time_to_unix(dt) * 1000000 + t->usec;
}

/* ---- which records name a connection of their own ----------------------------------- */

/* Key of a connection within an attempt: the attempt's record and the address. */
static char *attempt_key(int64_t attempt, const mx_addr *ip)
{
    char buf[64];
    return g_strdup_printf("%" G_GINT64_FORMAT "/%s", attempt, mx_addr_str(ip, buf, sizeof buf));
}

/* Which records name a connection of their own (units), and which share
 * one (via): a further recipient of the same attempt shares its lead's;
 * a status line quoting a note's connection ("connect to X[ip]:25:
 * Connection timed out", then "status=deferred (connect to X[ip]:25: ...)")
 * shares the note's. */
static void find_units(mx_join *j)
{
    guint n = j->log->records->len;
    g_autoptr(GHashTable) by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < n; i++) {
        const mx_logrec *r = rec_at(j, i);
        if (r->type == MX_LOGREC_CONNECTION && r->has_ip) {
            link_at(j, i)->unit = true;
            if (r->attempt >= 0)
                g_hash_table_insert(by_key, attempt_key(r->attempt, &r->ip), GUINT_TO_POINTER(i + 1));
        }
    }
    for (guint i = 0; i < n; i++) {
        const mx_logrec *r = rec_at(j, i);
        if (r->type != MX_LOGREC_DELIVERY || !r->has_ip)
            continue;
        g_autofree char *key = attempt_key(r->attempt, &r->ip);
        guint via = GPOINTER_TO_UINT(g_hash_table_lookup(by_key, key));
        if (via) {
            link_at(j, i)->via = (int64_t)via - 1;
        } else if (r->attempt == (int64_t)i) {
            link_at(j, i)->unit = true;
            g_hash_table_insert(by_key, g_steal_pointer(&key), GUINT_TO_POINTER(i + 1));
        }
    }
    for (guint i = 0; i < n; i++)
        j->units += link_at(j, i)->unit;
}

static bool same_destination(const mx_logrec *r, const mx_join_session *s)
{
    return mx_addr_equal(&r->ip, &s->server_ip) && (r->port == 0 || r->port == s->server_port);
}

/* Sessions whose log line is written at once (the status is the packets'
 * last word): their log time minus their last packet is the offset. */
static bool immediate(const mx_join_session *s)
{
    switch (s->kind) {
    case MX_KIND_CONNECT_REFUSED:
    case MX_KIND_GREETING_REJECTED:
    case MX_KIND_EHLO_REJECTED:
    case MX_KIND_MAIL_REJECTED:
    case MX_KIND_RCPT_REJECTED:
    case MX_KIND_DATA_REJECTED:
    case MX_KIND_RESET:
        return true;
    default:
        return s->outcome == MX_OUTCOME_DELIVERED || s->outcome == MX_OUTCOME_OK;
    }
}

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Units and sessions of one destination, each in time order. */
typedef struct dest_group {
    GArray *units;           /* of guint record index */
    GArray *sessions;        /* of guint session index */
} dest_group;

static gint cmp_unit_time(gconstpointer a, gconstpointer b, gpointer data)
{
    const mx_join *j = data;
    return cmp_int64(&link_at(j, *(const guint *)a)->log_us, &link_at(j, *(const guint *)b)->log_us);
}

static gint cmp_session_start(gconstpointer a, gconstpointer b, gpointer data)
{
    const mx_join *j = data;
    const mx_join_session *x = &g_array_index(j->sessions, mx_join_session, *(const guint *)a);
    const mx_join_session *y = &g_array_index(j->sessions, mx_join_session, *(const guint *)b);
    return cmp_int64(&x->start_us, &y->start_us);
}

static const char *disagreement(const mx_logrec *r, const mx_join_session *s);

/* The offset from destinations where the log names as many connections
 * as the capture shows: those pair in order, one to one.  Pairs written
 * at once give the offset itself (their median); with none, the smallest
 * gap of the others is an upper bound (their log line waited for a
 * timeout after the last packet). */
static void estimate_offset(mx_join *j, GHashTable *by_ip)
{
    GHashTable *groups = g_hash_table_new(mx_addr_hash, mx_addr_equal_key);
    GPtrArray *all = g_ptr_array_new();
    for (guint i = 0; i < j->links->len; i++) {
        if (!link_at(j, i)->unit)
            continue;
        const mx_logrec *r = rec_at(j, i);
        dest_group *g = g_hash_table_lookup(groups, &r->ip);
        if (g == NULL) {
            g = g_new0(dest_group, 1);
            g->units = g_array_new(FALSE, FALSE, sizeof(guint));
            g->sessions = g_array_new(FALSE, FALSE, sizeof(guint));
            g_hash_table_insert(groups, (gpointer)&r->ip, g);
            g_ptr_array_add(all, g);
            const GArray *to_ip = g_hash_table_lookup(by_ip, &r->ip);
            for (guint k = 0; to_ip && k < to_ip->len; k++) {
                guint s = g_array_index(to_ip, guint, k);
                if (same_destination(r, &g_array_index(j->sessions, mx_join_session, s)))
                    g_array_append_val(g->sessions, s);
            }
        }
        g_array_append_val(g->units, i);
    }
    GArray *now = g_array_new(FALSE, FALSE, sizeof(int64_t));
    GArray *later = g_array_new(FALSE, FALSE, sizeof(int64_t));
    for (guint gi = 0; gi < all->len; gi++) {
        dest_group *g = g_ptr_array_index(all, gi);
        if (g->units->len == g->sessions->len) {
            g_array_sort_with_data(g->units, cmp_unit_time, j);
            g_array_sort_with_data(g->sessions, cmp_session_start, j);
            for (guint k = 0; k < g->units->len; k++) {
                const mx_join_session *s =
                    &g_array_index(j->sessions, mx_join_session, g_array_index(g->sessions, guint, k));
                /* A pair whose log and packets disagree tells nothing of
                 * the clocks: a RST that came after the MTA had given up
                 * ("timed out") is no moment the log line was written at. */
                guint u = g_array_index(g->units, guint, k);
                if (disagreement(rec_at(j, u), s))
                    continue;
                int64_t gap = link_at(j, u)->log_us - s->end_us;
                g_array_append_val(immediate(s) ? now : later, gap);
            }
        }
        g_array_unref(g->units);
        g_array_unref(g->sessions);
        g_free(g);
    }
    if (now->len) {
        g_array_sort(now, cmp_int64);
        j->offset_us = g_array_index(now, int64_t, now->len / 2);
        j->offset_pairs = now->len;
    } else if (later->len) {
        g_array_sort(later, cmp_int64);
        j->offset_us = g_array_index(later, int64_t, 0);
        j->offset_pairs = later->len;
        j->offset_from_timeouts = true;
    }
    /* Whole seconds: the log's resolution (a smaller offset is noise). */
    if (j->offset_us > -1500000 && j->offset_us < 1500000)
        j->offset_us = 0;
    g_array_unref(now);
    g_array_unref(later);
    g_ptr_array_free(all, TRUE);
    g_hash_table_unref(groups);
}

/* ---- log and packets disagree ------------------------------------------------------ */

typedef enum log_says { SAYS_OTHER, SAYS_SENT, SAYS_REPLY, SAYS_TIMEOUT, SAYS_REFUSED, SAYS_UNREACHABLE } log_says;

static log_says classify(const mx_logrec *r)
{
    if (r->type == MX_LOGREC_DELIVERY && strcmp(r->status, "sent") == 0)
        return SAYS_SENT;
    const char *t = r->text ? r->text : "";
    /* A server's reply quoted in the text decides before the words in it. */
    if (strstr(t, " said: ") || strstr(t, "SMTP error") || strncmp(t, "host ", 5) == 0)
        return SAYS_REPLY;
    if (strstr(t, "timed out") || strstr(t, "defer (110)"))
        return SAYS_TIMEOUT;
    if (strstr(t, "Connection refused") || strstr(t, "defer (111)"))
        return SAYS_REFUSED;
    if (strstr(t, "No route to host") || strstr(t, "Network is unreachable") || strstr(t, "defer (113)") ||
        strstr(t, "defer (101)"))
        return SAYS_UNREACHABLE;
    return SAYS_OTHER;
}

/* What the packets show where the log says otherwise, or NULL. */
static const char *disagreement(const mx_logrec *r, const mx_join_session *s)
{
    const char *packets = NULL;
    switch (classify(r)) {
    case SAYS_SENT:
        if (s->outcome != MX_OUTCOME_DELIVERED && s->outcome != MX_OUTCOME_INCOMPLETE)
            packets = "no message accepted";
        break;
    case SAYS_TIMEOUT:
        if (s->kind == MX_KIND_CONNECT_REFUSED || s->kind == MX_KIND_RESET)
            packets = "a RST";
        else if (s->kind == MX_KIND_ICMP_UNREACHABLE)
            packets = "an ICMP error";
        break;
    case SAYS_REFUSED:
        if (s->kind == MX_KIND_SYN_TIMEOUT)
            packets = "SYNs unanswered, no RST";
        break;
    case SAYS_UNREACHABLE:
        if (s->kind == MX_KIND_SYN_TIMEOUT)
            packets = "SYNs unanswered, no ICMP error";
        else if (s->kind == MX_KIND_CONNECT_REFUSED)
            packets = "a RST, no ICMP error";
        break;
    default:
        break;
    }
    if (packets == NULL && r->type == MX_LOGREC_DELIVERY && strcmp(r->status, "sent") != 0 &&
        s->outcome == MX_OUTCOME_DELIVERED && r->relay_name && strcmp(r->relay_name, "none") != 0)
        packets = "the message accepted";
    return packets;
}

static char *finding(const mx_logrec *r, const mx_join_session *s)
{
    const char *packets = disagreement(r, s);
    if (packets == NULL)
        return NULL;
    return g_strdup_printf("the log says \"%s%s%s\" but the packets of session #%" G_GUINT64_FORMAT
                           " show %s (%s: %s)",
                           r->type == MX_LOGREC_DELIVERY ? r->status : "", r->type == MX_LOGREC_DELIVERY ? ": " : "",
                           r->text ? r->text : "", s->id, packets, mx_kind_name(s->kind), s->summary);
}

/* ---- matching ------------------------------------------------------------------------ */

/* Log stamps are whole seconds. */
#define MX_MAILLOG_RESOLUTION_US (1LL * 1000000)

static const char *why_unmatched(const mx_join *j, const GArray *to_ip, const mx_logrec *r, int64_t t)
{
    bool any = false;
    for (guint k = 0; to_ip && k < to_ip->len && !any; k++)
        any = same_destination(r, &g_array_index(j->sessions, mx_join_session, g_array_index(to_ip, guint, k)));
    if (j->sessions->len == 0 || t < j->capture_first_us - MX_MAILLOG_SLACK_US ||
        t > j->capture_last_us + MX_MAILLOG_AFTER_US)
        return "outside the capture's time window";
    if (!any)
        return "no session to this address in the capture: a capture filter, another interface, "
               "or a connection the capture missed";
    return "no session to this address at this time (its sessions are joined to other log lines, "
           "or the clock offset is larger than estimated)";
}

void mx_join_run(mx_join *j)
{
    const GArray *recs = j->log->records;
    j->capture_first_us = INT64_MAX;
    j->capture_last_us = INT64_MIN;
    for (guint s = 0; s < j->sessions->len; s++) {
        const mx_join_session *js = &g_array_index(j->sessions, mx_join_session, s);
        j->capture_first_us = MIN(j->capture_first_us, js->start_us);
        j->capture_last_us = MAX(j->capture_last_us, js->end_us);
    }
    if (j->sessions->len == 0)
        j->capture_first_us = j->capture_last_us = g_get_real_time();
    g_array_set_size(j->links, recs->len);
    for (guint i = 0; i < recs->len; i++) {
        mx_join_link *l = link_at(j, i);
        l->log_us = log_time(j, &rec_at(j, i)->when);
        l->session = l->via = -1;
    }
    find_units(j);
    /* Sessions by server address, in the order they finished. */
    g_autoptr(GHashTable) by_ip = g_hash_table_new_full(mx_addr_hash, mx_addr_equal_key, NULL, (GDestroyNotify)g_array_unref);
    for (guint s = 0; s < j->sessions->len; s++) {
        mx_join_session *js = &g_array_index(j->sessions, mx_join_session, s);
        GArray *list = g_hash_table_lookup(by_ip, &js->server_ip);
        if (list == NULL) {
            list = g_array_new(FALSE, FALSE, sizeof(guint));
            g_hash_table_insert(by_ip, &js->server_ip, list);
        }
        g_array_append_val(list, s);
    }
    estimate_offset(j, by_ip);

    /* Units in time order; each takes the latest session to its
     * destination that started before it and ended not too long before
     * it, one not taken yet if there is one, and of those one that had
     * ended by the line's time (give or take the log's second): with the
     * slack for that second, a session that started just after the line
     * would otherwise take it from the one it names (two messages a
     * second apart, the second's session joined to the first's line). */
    GArray *order = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < recs->len; i++)
        if (link_at(j, i)->unit)
            g_array_append_val(order, i);
    g_array_sort_with_data(order, cmp_unit_time, j);
    for (guint k = 0; k < order->len; k++) {
        guint i = g_array_index(order, guint, k);
        const mx_logrec *r = rec_at(j, i);
        mx_join_link *l = link_at(j, i);
        int64_t t = l->log_us - j->offset_us;
        int64_t best = -1, best_free = -1, best_ended = -1;
        const GArray *to_ip = g_hash_table_lookup(by_ip, &r->ip);
        for (guint n = 0; to_ip && n < to_ip->len; n++) {
            guint s = g_array_index(to_ip, guint, n);
            const mx_join_session *js = &g_array_index(j->sessions, mx_join_session, s);
            if (!same_destination(r, js) || js->start_us > t + MX_MAILLOG_SLACK_US ||
                js->end_us + MX_MAILLOG_AFTER_US < t)
                continue;
            if (best < 0 || js->start_us > g_array_index(j->sessions, mx_join_session, best).start_us)
                best = s;
            if (!js->joined &&
                (best_free < 0 || js->start_us > g_array_index(j->sessions, mx_join_session, best_free).start_us))
                best_free = s;
            if (!js->joined && js->end_us <= t + MX_MAILLOG_RESOLUTION_US &&
                (best_ended < 0 || js->start_us > g_array_index(j->sessions, mx_join_session, best_ended).start_us))
                best_ended = s;
        }
        l->session = best_ended >= 0 ? best_ended : best_free >= 0 ? best_free : best;
        if (l->session < 0) {
            l->unmatched = why_unmatched(j, to_ip, r, t);
            continue;
        }
        mx_join_session *js = &g_array_index(j->sessions, mx_join_session, l->session);
        js->joined = true;
        j->joined_units++;
        l->finding = finding(r, js);
        j->findings += l->finding != NULL;
    }
    g_array_unref(order);
}

const mx_join_session *mx_join_session_of(const mx_join *j, guint record)
{
    if (record >= j->links->len)
        return NULL;
    const mx_join_link *l = link_at(j, record);
    if (l->via >= 0)
        l = link_at(j, (guint)l->via);
    return l->session >= 0 ? &g_array_index(j->sessions, mx_join_session, l->session) : NULL;
}
