/* SPDX-License-Identifier: BSD-3-Clause */
/* live-maillog.c — follow the MTA's log; hold each session until a line names it. */
#include "live-maillog.h"
#include "caps.h"
#include "json-out.h"
#include "maillog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a log line says about one connection, once its status is known. */
typedef struct live_rec {
    int64_t t_us;
    mx_addr ip;
    uint16_t port;
    uint64_t process;
    bool complete;           /* queue id, recipient and status known */
    char queue_id[32];
    char recipient[256];
    char status[16];
    char dsn[16];
    char text[256];
} live_rec;

typedef struct held {
    mx_session *s;
    int64_t since_us;
} held;

struct mx_live_maillog {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t offset;
    GString *partial;        /* a line not yet ended */
    bool partial_cut;        /* ... longer than MX_MAILLOG_LINE_MAX: the rest is dropped */
    GTimeZone *tz;
    int64_t wait_us;
    mx_live_output *out;
    live_rec ring[MX_LIVE_MAILLOG_RECORDS];
    uint32_t ring_next, ring_len;
    GQueue *held;            /* of held*, oldest first */
    uint64_t lines, unknown, damaged, held_dropped;
};

static void open_log(mx_live_maillog *m)
{
    int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;              /* not there (yet): looked for again on the next tick */
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return;
    }
    m->fd = fd;
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->offset = 0;
}

mx_live_maillog *mx_live_maillog_new(const char *path, const char *tz, int64_t wait_us, mx_live_output *out,
                                     GError **error)
{
    GTimeZone *zone = tz ? g_time_zone_new_identifier(tz) : g_time_zone_new_utc();
    if (zone == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--maillog-tz: '%s' is not a time zone (UTC, +01:00, Europe/Berlin)", tz);
        return NULL;
    }
    mx_live_maillog *m = g_new0(mx_live_maillog, 1);
    m->path = g_strdup(path);
    m->fd = -1;
    m->tz = zone;
    m->wait_us = wait_us;
    m->out = out;
    m->partial = g_string_new(NULL);
    m->held = g_queue_new();
    open_log(m);
    if (m->fd < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "--maillog %s: %s", path, g_strerror(errno));
        mx_live_maillog_free(m);
        return NULL;
    }
    /* Follow from the end, as tail -F: what the log said before is not about these sessions. */
    m->offset = lseek(m->fd, 0, SEEK_END);
    return m;
}

/* ---- the log's records ------------------------------------------------------------ */

static int64_t rec_time(const mx_live_maillog *m, const mx_logtime *t)
{
    if (t->has_zone)
        return mx_logtime_us(t, t->year, 0);
    g_autoptr(GDateTime) now = g_date_time_new_now(m->tz);
    int year = t->year ? t->year : g_date_time_get_year(now);
    /* A December line read in January is last year's. */
    if (!t->year && t->month - g_date_time_get_month(now) > 6)
        year--;
    g_autoptr(GDateTime) dt = g_date_time_new(m->tz, year, t->month, t->day, t->hour, t->minute, t->second);
    return dt ? g_date_time_to_unix(dt) * 1000000 + t->usec : 0;
}

static live_rec *ring_push(mx_live_maillog *m)
{
    live_rec *r = &m->ring[m->ring_next];
    memset(r, 0, sizeof *r);
    m->ring_next = (m->ring_next + 1) % MX_LIVE_MAILLOG_RECORDS;
    if (m->ring_len < MX_LIVE_MAILLOG_RECORDS)
        m->ring_len++;
    return r;
}

static void complete(live_rec *r, const mx_logrec *d)
{
    r->complete = true;
    g_strlcpy(r->queue_id, d->queue_id, sizeof r->queue_id);
    g_strlcpy(r->recipient, d->recipient ? d->recipient : "", sizeof r->recipient);
    g_strlcpy(r->status, d->status, sizeof r->status);
    g_strlcpy(r->dsn, d->dsn, sizeof r->dsn);
    g_strlcpy(r->text, d->text ? d->text : "", sizeof r->text);
}

/* A connection note waits for the status line of its process; a status
 * line names its own connection too (unless a note named the same one). */
static void take_line(mx_live_maillog *m, const char *line)
{
    m->lines++;
    mx_logrec d;
    mx_line_result res = mx_maillog_parse_line(line, &d);
    if (res == MX_LINE_UNKNOWN)
        m->unknown++;
    if (res == MX_LINE_DAMAGED)
        m->damaged++;
    if (res != MX_LINE_RECORD)
        return;
    int64_t t = rec_time(m, &d.when);
    if (d.type == MX_LOGREC_CONNECTION) {
        live_rec *r = ring_push(m);
        r->t_us = t;
        r->ip = d.ip;
        r->port = d.port;
        r->process = d.process;
    } else {
        bool noted = false;
        for (uint32_t k = 0; k < m->ring_len; k++) {
            live_rec *r = &m->ring[(m->ring_next + MX_LIVE_MAILLOG_RECORDS - 1 - k) % MX_LIVE_MAILLOG_RECORDS];
            if (r->process != d.process || r->t_us < t - MX_MAILLOG_AFTER_US)
                continue;
            if (r->complete && strcmp(r->queue_id, d.queue_id) != 0)
                break;       /* the process's previous attempt */
            if (!r->complete)
                complete(r, &d);
            noted |= d.has_ip && mx_addr_equal(&r->ip, &d.ip);
        }
        if (d.has_ip && !noted) {
            live_rec *r = ring_push(m);
            r->t_us = t;
            r->ip = d.ip;
            r->port = d.port;
            r->process = d.process;
            complete(r, &d);
        }
    }
    mx_logrec_clear(&d);
}

/* Reads what the file gained; on rotation (another file at the path) or
 * truncation, the old file is read to its end first, then the new one
 * from its start. */
static void read_log(mx_live_maillog *m)
{
    if (m->fd < 0)
        open_log(m);
    for (int round = 0; round < 2 && m->fd >= 0; round++) {
        char buf[65536];
        size_t budget = 16u << 20;   /* per tick: a burst does not stall the capture */
        ssize_t n;
        while (budget > 0 && (n = pread(m->fd, buf, sizeof buf, m->offset)) > 0) {
            m->offset += n;
            budget -= MIN(budget, (size_t)n);
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                    take_line(m, m->partial->str);
                    g_string_truncate(m->partial, 0);
                    m->partial_cut = false;
                } else if (m->partial->len < MX_MAILLOG_LINE_MAX) {
                    g_string_append_c(m->partial, buf[i] ? buf[i] : '?');
                } else {
                    m->partial_cut = true;
                }
            }
        }
        struct stat now, cur;
        bool rotated = stat(m->path, &now) == 0 && (now.st_ino != m->ino || now.st_dev != m->dev);
        bool truncated = fstat(m->fd, &cur) == 0 && cur.st_size < m->offset;
        if (truncated) {
            m->offset = 0;
            g_string_truncate(m->partial, 0);
        } else if (rotated) {
            close(m->fd);
            m->fd = -1;
            g_string_truncate(m->partial, 0);
            open_log(m);
        } else {
            break;
        }
    }
}

/* ---- sessions held ---------------------------------------------------------------- */

/* The newest complete record naming s's connection, or NULL. */
static const live_rec *match(const mx_live_maillog *m, const mx_session *s)
{
    for (uint32_t k = 0; k < m->ring_len; k++) {
        const live_rec *r = &m->ring[(m->ring_next + MX_LIVE_MAILLOG_RECORDS - 1 - k) % MX_LIVE_MAILLOG_RECORDS];
        if (r->complete && mx_addr_equal(&r->ip, &s->server_ip) && (r->port == 0 || r->port == s->server_port) &&
            r->t_us >= s->start_us - MX_MAILLOG_SLACK_US && r->t_us <= s->end_us + MX_MAILLOG_AFTER_US)
            return r;
    }
    return NULL;
}

/* The "maillog" member of the session's line: the queue entries that
 * connection served (several recipients of one attempt are one line each
 * in the log, one entry here). */
static char *maillog_json(const mx_live_maillog *m, const live_rec *first)
{
    mx_json_out *w = mx_json_out_new(NULL, false);
    mx_json_begin_object(w);
    mx_json_key(w, "queue_id");
    mx_json_string(w, first->queue_id);
    mx_json_key(w, "recipients");
    mx_json_begin_array(w);
    for (uint32_t k = 0; k < m->ring_len; k++) {
        const live_rec *r = &m->ring[(m->ring_next + MX_LIVE_MAILLOG_RECORDS - 1 - k) % MX_LIVE_MAILLOG_RECORDS];
        if (r->complete && r->process == first->process && r->t_us == first->t_us &&
            strcmp(r->queue_id, first->queue_id) == 0 && mx_addr_equal(&r->ip, &first->ip))
            mx_json_string(w, r->recipient);
    }
    mx_json_end_array(w);
    mx_json_key(w, "status");
    mx_json_string(w, first->status);
    mx_json_key(w, "dsn");
    mx_json_string(w, first->dsn[0] ? first->dsn : NULL);
    mx_json_key(w, "text");
    mx_json_string(w, first->text);
    mx_json_end_object(w);
    char *json = g_strdup(mx_json_out_text(w, NULL));
    mx_json_out_free(w);
    return json;
}

static void release(mx_live_maillog *m, held *h, const live_rec *r)
{
    if (r) {
        g_autofree char *json = maillog_json(m, r);
        g_autofree char *text = g_strdup_printf("%s to %s: %s%s%s (%s)", r->queue_id, r->recipient, r->status,
                                                r->dsn[0] ? " " : "", r->dsn, r->text);
        mx_live_output_session_logged(m->out, h->s, json, text);
    } else {
        mx_live_output_session(h->s, m->out);
    }
    g_free(h);
}

void mx_live_maillog_session(mx_session *s, void *ctx)
{
    mx_live_maillog *m = ctx;
    held *h = g_new(held, 1);
    h->s = s;
    h->since_us = g_get_real_time();
    /* Bounded: past the cap the oldest goes out without waiting longer. */
    if (g_queue_get_length(m->held) >= MX_LIVE_MAILLOG_HELD) {
        m->held_dropped++;
        held *oldest = g_queue_pop_head(m->held);
        release(m, oldest, match(m, oldest->s));
    }
    g_queue_push_tail(m->held, h);
}

void mx_live_maillog_tick(mx_live_maillog *m, int64_t now_us)
{
    read_log(m);
    for (GList *l = m->held->head; l;) {
        GList *next = l->next;
        held *h = l->data;
        const live_rec *r = match(m, h->s);
        if (r || now_us - h->since_us >= m->wait_us) {
            g_queue_delete_link(m->held, l);
            release(m, h, r);
        }
        l = next;
    }
}

void mx_live_maillog_free(mx_live_maillog *m)
{
    if (m == NULL)
        return;
    if (m->held) {
        if (m->fd >= 0)
            read_log(m);
        for (held *h; (h = g_queue_pop_head(m->held)) != NULL;)
            release(m, h, match(m, h->s));
        g_queue_free(m->held);
    }
    if (m->fd >= 0)
        close(m->fd);
    g_string_free(m->partial, TRUE);
    g_time_zone_unref(m->tz);
    g_free(m->path);
    g_free(m);
}
