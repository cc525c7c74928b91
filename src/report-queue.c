/* SPDX-License-Identifier: BSD-3-Clause */
/* report-queue.c — the queue as the MTA's log names it, with mxray's verdict of each attempt.
 *
 * Per queue ID and recipient: the log's status of every attempt and the
 * session(s) it made, with their verdicts; where the log and the packets
 * disagree, the finding; then what the join could not pair (log lines
 * without a session, sessions without a log line) and the lines the
 * parser did not know.  Text and JSON here; the other reports call these.
 */
#include "report-queue.h"
#include "caps.h"

#include "json-out.h"
#include <stdlib.h>
#include <string.h>

/* ---- the model: entries (queue id + recipient), attempts, connections ----------- */

typedef struct queue_entry {
    const char *queue_id, *recipient;
    GArray *attempts;            /* of guint: DELIVERY record indices, in time order */
} queue_entry;

struct mx_queue {
    const mx_join *join;
    GPtrArray *entries;          /* of queue_entry*, by first attempt's time */
    GHashTable *notes;           /* attempt record -> GArray of note record indices */
    GArray *unjoined_sessions;   /* of uint64_t session ids */
};

static const mx_logrec *rec(const mx_queue *q, guint i)
{
    return &g_array_index(q->join->log->records, mx_logrec, i);
}

static int64_t log_us(const mx_queue *q, guint i)
{
    return g_array_index(q->join->links, mx_join_link, i).log_us;
}

static void entry_free(gpointer p)
{
    queue_entry *e = p;
    g_array_unref(e->attempts);
    g_free(e);
}

static gint cmp_attempt(gconstpointer a, gconstpointer b, gpointer data)
{
    int64_t x = log_us(data, *(const guint *)a), y = log_us(data, *(const guint *)b);
    return x < y ? -1 : x > y;
}

static gint cmp_entry(gconstpointer a, gconstpointer b, gpointer data)
{
    const queue_entry *x = *(queue_entry *const *)a, *y = *(queue_entry *const *)b;
    return cmp_attempt(&g_array_index(x->attempts, guint, 0), &g_array_index(y->attempts, guint, 0), data);
}

mx_queue *mx_queue_new(const mx_join *j)
{
    mx_queue *q = g_new0(mx_queue, 1);
    q->join = j;
    q->entries = g_ptr_array_new_with_free_func(entry_free);
    q->notes = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_array_unref);
    g_autoptr(GHashTable) by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const GArray *recs = j->log->records;
    for (guint i = 0; i < recs->len; i++) {
        const mx_logrec *r = rec(q, i);
        if (r->type == MX_LOGREC_CONNECTION) {
            if (r->attempt < 0)
                continue;
            gpointer key = GUINT_TO_POINTER((guint)r->attempt + 1);
            GArray *list = g_hash_table_lookup(q->notes, key);
            if (list == NULL) {
                list = g_array_new(FALSE, FALSE, sizeof(guint));
                g_hash_table_insert(q->notes, key, list);
            }
            g_array_append_val(list, i);
            continue;
        }
        g_autofree char *key = g_strdup_printf("%s\n%s", r->queue_id, r->recipient);
        queue_entry *e = g_hash_table_lookup(by_key, key);
        if (e == NULL) {
            e = g_new0(queue_entry, 1);
            e->queue_id = r->queue_id;
            e->recipient = r->recipient;
            e->attempts = g_array_new(FALSE, FALSE, sizeof(guint));
            g_hash_table_insert(by_key, g_steal_pointer(&key), e);
            g_ptr_array_add(q->entries, e);
        }
        g_array_append_val(e->attempts, i);
    }
    for (guint k = 0; k < q->entries->len; k++) {
        queue_entry *e = g_ptr_array_index(q->entries, k);
        g_array_sort_with_data(e->attempts, cmp_attempt, q);
    }
    g_ptr_array_sort_with_data(q->entries, cmp_entry, q);
    q->unjoined_sessions = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint s = 0; s < j->sessions->len; s++) {
        const mx_join_session *js = &g_array_index(j->sessions, mx_join_session, s);
        if (!js->joined)
            g_array_append_val(q->unjoined_sessions, js->id);
    }
    return q;
}

void mx_queue_free(mx_queue *q)
{
    if (q == NULL)
        return;
    g_ptr_array_free(q->entries, TRUE);
    g_hash_table_unref(q->notes);
    g_array_unref(q->unjoined_sessions);
    g_free(q);
}

/* The connections of one attempt (record a): its notes, then itself
 * unless it shares a note's connection.  Fills out (record indices). */
static void connections(const mx_queue *q, guint a, GArray *out)
{
    g_array_set_size(out, 0);
    const mx_logrec *r = rec(q, a);
    guint lead = r->attempt >= 0 ? (guint)r->attempt : a;
    const GArray *notes = g_hash_table_lookup(q->notes, GUINT_TO_POINTER(lead + 1));
    for (guint k = 0; notes && k < notes->len; k++)
        g_array_append_val(out, g_array_index(notes, guint, k));
    const mx_join_link *l = &g_array_index(q->join->links, mx_join_link, a);
    if (r->has_ip && l->via < 0)
        g_array_append_val(out, a);
    else if (r->has_ip && l->via >= 0 && rec(q, (guint)l->via)->type == MX_LOGREC_DELIVERY) {
        guint via = (guint)l->via;
        g_array_append_val(out, via);
    }
}

/* The link that decides a connection record's session (itself or the one it shares). */
static const mx_join_link *decisive_link(const mx_queue *q, guint i)
{
    const mx_join_link *l = &g_array_index(q->join->links, mx_join_link, i);
    return l->via >= 0 ? &g_array_index(q->join->links, mx_join_link, l->via) : l;
}

static const char *file_name(const mx_queue *q, const mx_logrec *r)
{
    return g_array_index(q->join->log->files, mx_maillog_file_stats, r->file).name;
}

static const char *offset_basis(const mx_join *j)
{
    return j->offset_pairs == 0 ? "none" : j->offset_from_timeouts ? "timeouts" : "immediate";
}

/* ---- text -------------------------------------------------------------------------------- */

static void text_time(const mx_queue *q, guint i, char *buf, size_t len)
{
    mx_report_time(log_us(q, i) - q->join->offset_us, buf, len);
}

void mx_queue_text(const mx_queue *q, FILE *out)
{
    const mx_join *j = q->join;
    const GArray *files = j->log->files;
    uint64_t lines = 0, unknown = 0, damaged = 0;
    for (guint f = 0; f < files->len; f++) {
        const mx_maillog_file_stats *st = &g_array_index(files, mx_maillog_file_stats, f);
        lines += st->lines;
        unknown += st->unknown;
        damaged += st->damaged;
    }
    fprintf(out, "Queue (from %u mail log file%s, %" G_GUINT64_FORMAT " lines; ", files->len,
            files->len == 1 ? "" : "s", lines);
    if (j->offset_pairs)
        fprintf(out, "log clock %+.0f s from the capture's, from %u one-to-one pair%s%s; ", (double)j->offset_us / 1e6,
                j->offset_pairs, j->offset_pairs == 1 ? "" : "s",
                j->offset_from_timeouts ? ", an upper bound (timeouts only)" : "");
    else
        fprintf(out, "no one-to-one pair: log clock taken as the capture's; ");
    fprintf(out, "stamps without a zone read in %s%s):\n", j->tz_name, j->tz_given ? "" : " (--maillog-tz)");
    if (q->entries->len == 0)
        fprintf(out, "  no delivery attempt in the log\n");
    g_autoptr(GArray) conns = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = 0; k < q->entries->len; k++) {
        const queue_entry *e = g_ptr_array_index(q->entries, k);
        const mx_logrec *last = rec(q, g_array_index(e->attempts, guint, e->attempts->len - 1));
        fprintf(out, "  %s to %s: %s%s%s (%s, %u attempt%s)\n", e->queue_id, e->recipient, last->status,
                last->dsn[0] ? " " : "", last->dsn, mx_mta_name(last->mta), e->attempts->len,
                e->attempts->len == 1 ? "" : "s");
        for (guint a = 0; a < e->attempts->len; a++) {
            guint ai = g_array_index(e->attempts, guint, a);
            const mx_logrec *r = rec(q, ai);
            char t[40];
            text_time(q, ai, t, sizeof t);
            /* Whole seconds as the log wrote them: no ".000000". */
            char *frac = strchr(t, '.');
            if (frac && strcmp(frac, ".000000") == 0)
                *frac = '\0';
            fprintf(out, "    %s %s%s%s: %s\n", t + 11, r->status, r->dsn[0] ? " " : "", r->dsn,
                    r->text ? r->text : "");
            connections(q, ai, conns);
            if (conns->len == 0)
                fprintf(out, "      (the log names no connection)\n");
            for (guint c = 0; c < conns->len; c++) {
                guint ci = g_array_index(conns, guint, c);
                const mx_logrec *cr = rec(q, ci);
                const mx_join_link *l = decisive_link(q, ci);
                const mx_join_session *s = mx_join_session_of(j, ci);
                /* The port only where the log names it (Exim's H= has none by default). */
                char ep[80];
                if (cr->port)
                    mx_addr_endpoint(&cr->ip, cr->port, ep, sizeof ep);
                else
                    mx_addr_str(&cr->ip, ep, sizeof ep);
                if (s)
                    fprintf(out, "      %s -> session #%" G_GUINT64_FORMAT " %s: %s\n", ep, s->id,
                            mx_kind_name(s->kind), s->summary);
                else
                    fprintf(out, "      %s -> no session: %s\n", ep, l->unmatched ? l->unmatched : "not joined");
                if (l->finding)
                    fprintf(out, "      FINDING: %s\n", l->finding);
            }
        }
    }
    if (q->unjoined_sessions->len) {
        fprintf(out, "  Sessions no log line names:");
        for (guint i = 0; i < q->unjoined_sessions->len; i++)
            fprintf(out, " #%" G_GUINT64_FORMAT, g_array_index(q->unjoined_sessions, uint64_t, i));
        fprintf(out, " (another MTA or host, or a log file not given)\n");
    }
    for (guint f = 0; f < files->len; f++) {
        const mx_maillog_file_stats *st = &g_array_index(files, mx_maillog_file_stats, f);
        if (st->unknown)
            fprintf(out, "  %s: %" G_GUINT64_FORMAT " line%s of no known MTA (first: line %" G_GUINT64_FORMAT ")\n",
                    st->name, st->unknown, st->unknown == 1 ? "" : "s", st->first_unknown);
        if (st->damaged)
            fprintf(out, "  %s: %" G_GUINT64_FORMAT " damaged delivery line%s (first: line %" G_GUINT64_FORMAT ")\n",
                    st->name, st->damaged, st->damaged == 1 ? "" : "s", st->first_damaged);
        if (st->error)
            fprintf(out, "  %s\n", st->error);
    }
    (void)unknown;
    (void)damaged;
    if (j->log->dropped)
        fprintf(out, "  %" G_GUINT64_FORMAT " log records past the cap of %d, not joined\n", j->log->dropped,
                MX_MAILLOG_RECORDS_MAX);
    fputc('\n', out);
}

char *mx_queue_text_string(const mx_queue *q)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return g_strdup("");
    mx_queue_text(q, f);
    fclose(f);
    char *copy = g_strndup(buf, len);
    free(buf);
    return copy;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void member_string(mx_json_out *w, const char *name, const char *value)
{
    mx_json_key(w, name);
    mx_json_string(w, value);           /* NULL writes null */
}

static void member_int(mx_json_out *w, const char *name, gint64 value)
{
    mx_json_key(w, name);
    mx_json_int(w, value);
}

static void member_time(mx_json_out *w, const char *name, int64_t us)
{
    char t[MX_REPORT_TIME_LEN];
    member_string(w, name, mx_report_time_rfc3339(us, t, sizeof t));
}

static void relay_json(mx_json_out *w, const mx_logrec *r)
{
    char ip[MX_ADDR_BUF];
    mx_json_key(w, "relay");
    if (!r->relay_name && !r->has_ip) {
        mx_json_null(w);
        return;
    }
    mx_json_begin_object(w);
    member_string(w, "name", r->relay_name);
    member_string(w, "ip", r->has_ip ? mx_addr_str(&r->ip, ip, sizeof ip) : NULL);
    mx_json_key(w, "port");
    if (r->port)
        mx_json_int(w, r->port);
    else
        mx_json_null(w);
    mx_json_end_object(w);
}

static void connection_json(mx_json_out *w, const mx_queue *q, guint ci)
{
    const mx_logrec *r = rec(q, ci);
    const mx_join_link *l = decisive_link(q, ci);
    const mx_join_session *s = mx_join_session_of(q->join, ci);
    mx_json_begin_object(w);
    member_int(w, "line", (gint64)r->line);
    relay_json(w, r);
    member_string(w, "text", r->text);
    mx_json_key(w, "session");
    if (s)
        mx_json_int(w, (gint64)s->id);
    else
        mx_json_null(w);
    member_string(w, "kind", s ? mx_kind_name(s->kind) : NULL);
    member_string(w, "outcome", s ? mx_outcome_name(s->outcome) : NULL);
    member_string(w, "summary", s ? s->summary : NULL);
    member_string(w, "unmatched", s ? NULL : l->unmatched ? l->unmatched : "not joined");
    member_string(w, "finding", l->finding);
    mx_json_end_object(w);
}

static void attempt_json(mx_json_out *w, const mx_queue *q, guint ai, GArray *conns)
{
    const mx_logrec *r = rec(q, ai);
    mx_json_begin_object(w);
    member_time(w, "time", log_us(q, ai) - q->join->offset_us);
    member_string(w, "file", file_name(q, r));
    member_int(w, "line", (gint64)r->line);
    member_string(w, "status", r->status);
    member_string(w, "dsn", r->dsn[0] ? r->dsn : NULL);
    member_string(w, "text", r->text);
    mx_json_key(w, "delay");
    if (r->has_delay)
        mx_json_double(w, r->delay);
    else
        mx_json_null(w);
    mx_json_key(w, "delays");
    if (r->has_delays) {
        mx_json_begin_array(w);
        for (int i = 0; i < 4; i++)
            mx_json_double(w, r->delays[i]);
        mx_json_end_array(w);
    } else
        mx_json_null(w);
    relay_json(w, r);
    mx_json_key(w, "connections");
    mx_json_begin_array(w);
    connections(q, ai, conns);
    for (guint c = 0; c < conns->len; c++)
        connection_json(w, q, g_array_index(conns, guint, c));
    mx_json_end_array(w);
    mx_json_end_object(w);
}

void mx_queue_json(mx_json_out *w, const mx_queue *q)
{
    const mx_join *j = q->join;
    mx_json_key(w, "maillog");
    mx_json_begin_object(w);
    mx_json_key(w, "files");
    mx_json_begin_array(w);
    for (guint f = 0; f < j->log->files->len; f++) {
        const mx_maillog_file_stats *st = &g_array_index(j->log->files, mx_maillog_file_stats, f);
        mx_json_begin_object(w);
        member_string(w, "name", st->name);
        member_int(w, "lines", (gint64)st->lines);
        member_int(w, "records", (gint64)st->records);
        member_int(w, "ignored", (gint64)st->ignored);
        member_int(w, "unknown", (gint64)st->unknown);
        member_int(w, "damaged", (gint64)st->damaged);
        mx_json_key(w, "first_unknown");
        st->first_unknown ? mx_json_int(w, (gint64)st->first_unknown) : mx_json_null(w);
        mx_json_key(w, "first_damaged");
        st->first_damaged ? mx_json_int(w, (gint64)st->first_damaged) : mx_json_null(w);
        member_string(w, "error", st->error);
        mx_json_end_object(w);
    }
    mx_json_end_array(w);
    member_string(w, "time_zone", j->tz_name);
    mx_json_key(w, "year");
    j->year_needed ? mx_json_int(w, j->year) : mx_json_null(w);
    mx_json_key(w, "clock_offset_s");
    mx_json_double(w, (double)j->offset_us / 1e6);
    member_int(w, "offset_pairs", j->offset_pairs);
    member_string(w, "offset_basis", offset_basis(j));
    member_int(w, "records_dropped", (gint64)j->log->dropped);
    member_int(w, "sessions_dropped", (gint64)j->sessions_dropped);
    member_int(w, "findings", j->findings);
    mx_json_key(w, "sessions_without_log");
    mx_json_begin_array(w);
    for (guint i = 0; i < q->unjoined_sessions->len; i++)
        mx_json_int(w, (gint64)g_array_index(q->unjoined_sessions, uint64_t, i));
    mx_json_end_array(w);
    mx_json_end_object(w);

    mx_json_key(w, "queue");
    mx_json_begin_array(w);
    g_autoptr(GArray) conns = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint k = 0; k < q->entries->len; k++) {
        const queue_entry *e = g_ptr_array_index(q->entries, k);
        const mx_logrec *last = rec(q, g_array_index(e->attempts, guint, e->attempts->len - 1));
        mx_json_begin_object(w);
        member_string(w, "queue_id", e->queue_id);
        member_string(w, "recipient", e->recipient);
        member_string(w, "mta", mx_mta_name(last->mta));
        member_string(w, "status", last->status);
        member_string(w, "dsn", last->dsn[0] ? last->dsn : NULL);
        mx_json_key(w, "attempts");
        mx_json_begin_array(w);
        for (guint a = 0; a < e->attempts->len; a++)
            attempt_json(w, q, g_array_index(e->attempts, guint, a), conns);
        mx_json_end_array(w);
        mx_json_end_object(w);
    }
    mx_json_end_array(w);
}
