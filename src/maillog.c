/* SPDX-License-Identifier: BSD-3-Clause */
/* maillog.c — Postfix, Exim and Sendmail log lines into delivery records.
 *
 * One line at a time, a straight line of guarded steps: the timestamp
 * (traditional syslog "Dec  3 08:00:01", RFC 3339 "2026-12-03T08:00:01.5+01:00",
 * Exim's "2026-12-03 08:00:01 [+0100]"), then the program, then its
 * fields.  The formats are the MTAs' own:
 *   Postfix  smtp(8)/qmgr(8): "QID: to=<r>, relay=name[ip]:port, delay=d,
 *            delays=a/b/c/d, dsn=x.y.z, status=word (text)", and the notes
 *            of one attempt "connect to name[ip]:port: text",
 *            "QID: host name[ip] said: text", "QID: lost connection with ...".
 *   Exim     mainlog: "MSGID => r R=router T=transport H=name [ip]:port C="250 ..."",
 *            "== r ... defer (errno): text", "** r ...: text", and the
 *            connection line "MSGID name [ip] Connection refused".
 *   Sendmail "QID: to=<r>, delay=, xdelay=, mailer=, relay=name. [ip], dsn=, stat=text".
 */
#include "maillog.h"
#include "caps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

const char *mx_mta_name(mx_mta mta)
{
    switch (mta) {
    case MX_MTA_POSTFIX: return "postfix";
    case MX_MTA_EXIM: return "exim";
    case MX_MTA_SENDMAIL: return "sendmail";
    }
    return "?";
}

void mx_logrec_clear(mx_logrec *rec)
{
    g_clear_pointer(&rec->recipient, g_free);
    g_clear_pointer(&rec->relay_name, g_free);
    g_clear_pointer(&rec->text, g_free);
}

static char *dup_text(const char *s, size_t len)
{
    return g_strndup(s, MIN(len, (size_t)MX_MAILLOG_TEXT_MAX));
}

/* ---- timestamps -------------------------------------------------------------- */

static bool digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!g_ascii_isdigit(p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* ".123456" after the seconds: any number of digits, kept to microseconds. */
static const char *fraction(const char *p, int *usec)
{
    *usec = 0;
    if (*p != '.' && *p != ',')
        return p;
    p++;
    int scale = 100000;
    while (g_ascii_isdigit(*p)) {
        *usec += (*p - '0') * scale;
        scale /= 10;
        p++;
    }
    return p;
}

/* "Z", "+01:00", "+0100". */
static const char *zone(const char *p, mx_logtime *t)
{
    if (*p == 'Z') {
        t->has_zone = true;
        t->zone_s = 0;
        return p + 1;
    }
    int h, m;
    if ((*p == '+' || *p == '-') && digits(p + 1, 2, &h)) {
        const char *q = p + 3;
        if (*q == ':')
            q++;
        if (!digits(q, 2, &m))
            return p;
        t->has_zone = true;
        t->zone_s = (h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
        return q + 2;
    }
    return p;
}

static bool valid_time(const mx_logtime *t)
{
    return t->month >= 1 && t->month <= 12 && t->day >= 1 && t->day <= 31 && t->hour < 24 && t->minute < 60 &&
           t->second <= 60;
}

/* "Dec  3 08:00:01[.123]": traditional syslog, no year, no zone. */
static const char *syslog_time(const char *p, mx_logtime *t)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (strlen(p) < 15)
        return NULL;
    const char *m = NULL;
    for (int i = 0; i < 12; i++)
        if (strncmp(p, months + 3 * i, 3) == 0)
            m = months + 3 * i;
    if (m == NULL || p[3] != ' ')
        return NULL;
    memset(t, 0, sizeof *t);
    t->month = (int)(m - months) / 3 + 1;
    const char *d = p + 4;
    if (*d == ' ')
        d++;
    int day;
    if (digits(d, 2, &day))
        d += 2;
    else if (digits(d, 1, &day))
        d += 1;
    else
        return NULL;
    t->day = day;
    if (*d != ' ' || !digits(d + 1, 2, &t->hour) || d[3] != ':' || !digits(d + 4, 2, &t->minute) || d[6] != ':' ||
        !digits(d + 7, 2, &t->second))
        return NULL;
    d = fraction(d + 9, &t->usec);
    return valid_time(t) ? d : NULL;
}

/* "2026-12-03T08:00:01.5+01:00" (sep 'T') or Exim's "2026-12-03 08:00:01[.123] [+0100]" (sep ' '). */
static const char *iso_time(const char *p, char *sep, mx_logtime *t)
{
    memset(t, 0, sizeof *t);
    if (strlen(p) < 19 || !digits(p, 4, &t->year) || p[4] != '-' || !digits(p + 5, 2, &t->month) || p[7] != '-' ||
        !digits(p + 8, 2, &t->day) || (p[10] != 'T' && p[10] != ' ') || !digits(p + 11, 2, &t->hour) ||
        p[13] != ':' || !digits(p + 14, 2, &t->minute) || p[16] != ':' || !digits(p + 17, 2, &t->second))
        return NULL;
    *sep = p[10];
    const char *q = fraction(p + 19, &t->usec);
    if (*sep == 'T')
        q = zone(q, t);
    else if (q[0] == ' ' && (q[1] == '+' || q[1] == '-')) {
        const char *z = zone(q + 1, t);
        if (z != q + 1)
            q = z;
    }
    return valid_time(t) ? q : NULL;
}

int64_t mx_logtime_us(const mx_logtime *t, int year, int zone_s)
{
    g_autoptr(GDateTime) dt = g_date_time_new_utc(t->year ? t->year : year, t->month, t->day, t->hour, t->minute,
                                                 t->second);
    if (dt == NULL)
        return 0;
    int z = t->has_zone ? t->zone_s : zone_s;
    return g_date_time_to_unix(dt) * 1000000 + t->usec - (int64_t)z * 1000000;
}

/* ---- hosts and fields --------------------------------------------------------- */

/* "name[ip]:port" (Postfix), "name. [ip]" (Sendmail), "name [ip]:port" (Exim),
 * "[ip]", or a bare name ("none", "local").  Fills relay_name, ip, port. */
static void parse_host(const char *s, size_t len, mx_logrec *rec)
{
    const char *open = memchr(s, '[', len);
    const char *close = open ? memchr(open, ']', len - (size_t)(open - s)) : NULL;
    size_t name_len = open && close ? (size_t)(open - s) : len;
    while (name_len > 0 && s[name_len - 1] == ' ')
        name_len--;
    g_free(rec->relay_name);
    rec->relay_name = name_len ? dup_text(s, name_len) : NULL;
    if (!open || !close || close - open - 1 >= 64)
        return;
    char ip[64];
    memcpy(ip, open + 1, (size_t)(close - open - 1));
    ip[close - open - 1] = '\0';
    /* Postfix writes IPv6 as [ipv6:2001:db8::25] in some places. */
    const char *ipp = g_ascii_strncasecmp(ip, "ipv6:", 5) == 0 ? ip + 5 : ip;
    rec->has_ip = mx_addr_parse(ipp, &rec->ip);
    const char *after = close + 1;
    /* A port only with an address: alone it names no connection. */
    if (rec->has_ip && (size_t)(after - s) < len && *after == ':' && g_ascii_isdigit(after[1])) {
        unsigned long port = strtoul(after + 1, NULL, 10);
        if (port > 0 && port < 65536)
            rec->port = (uint16_t)port;
    }
}

/* The destination named inside a status text: "connect to name[ip]:port: ...",
 * "host name[ip] said: ...", "... with name[ip] while ...". */
static void host_from_text(const char *text, mx_logrec *rec)
{
    static const char *const leads[] = { "connect to ", "host ", "with " };
    for (size_t i = 0; i < G_N_ELEMENTS(leads) && !rec->has_ip; i++) {
        const char *p = strstr(text, leads[i]);
        if (p == NULL)
            continue;
        p += strlen(leads[i]);
        const char *end = strchr(p, ']');
        if (end == NULL || memchr(p, ' ', (size_t)(end - p)))
            continue;
        end++;
        if (*end == ':' && g_ascii_isdigit(end[1]))
            while (*++end && g_ascii_isdigit(*end))
                ;
        char *saved = rec->relay_name;
        rec->relay_name = NULL;
        parse_host(p, (size_t)(end - p), rec);
        /* relay=none: the name in the text says more. */
        if (saved && strcmp(saved, "none") != 0) {
            g_free(rec->relay_name);
            rec->relay_name = saved;
        } else {
            g_free(saved);
        }
    }
}

/* Copies one "key=value" value (to ", " or the end) for the fields below. */
static size_t field_len(const char *v)
{
    const char *e = strstr(v, ", ");
    return e ? (size_t)(e - v) : strlen(v);
}

static void copy_field(char *dst, size_t size, const char *v, size_t len)
{
    len = MIN(len, size - 1);
    memcpy(dst, v, len);
    dst[len] = '\0';
}

/* "<bob@example.net>" or "<a@x>,<b@y>" -> "bob@example.net", "a@x,b@y";
 * replaces *dst (a damaged line may say to= twice). */
static void address_list(char **dst, const char *v, size_t len)
{
    GString *out = g_string_new(NULL);
    for (size_t i = 0; i < len && out->len < MX_MAILLOG_TEXT_MAX; i++)
        if (v[i] != '<' && v[i] != '>')
            g_string_append_c(out, v[i]);
    g_free(*dst);
    *dst = g_string_free(out, FALSE);
}

/* Sendmail's "00:00:05" or "1+17:52:54", in seconds. */
static bool hms_delay(const char *v, double *out)
{
    int d = 0, h, m, s;
    const char *plus = strchr(v, '+');
    if (plus && plus - v < 4) {
        d = atoi(v);
        v = plus + 1;
    }
    if (!digits(v, 2, &h) || v[2] != ':' || !digits(v + 3, 2, &m) || v[5] != ':' || !digits(v + 6, 2, &s))
        return false;
    *out = d * 86400.0 + h * 3600 + m * 60 + s;
    return true;
}

/* A queue id (Postfix short or long, Sendmail) followed by ": ". */
static const char *queue_id(const char *p, mx_logrec *rec)
{
    size_t n = 0;
    while (g_ascii_isalnum(p[n]))
        n++;
    if (n < 5 || n >= sizeof rec->queue_id || p[n] != ':' || p[n + 1] != ' ')
        return NULL;
    memcpy(rec->queue_id, p, n);
    rec->queue_id[n] = '\0';
    return p + n + 2;
}

/* ---- Postfix -------------------------------------------------------------------- */

/* Walks "key=value, key=value, ..." (Postfix and Sendmail), calling
 * field() for each key before `last`, whose value runs to the end of the
 * line and is returned (NULL when the line has none).  A value ends at
 * ", ": Sendmail's "to=<a>,<b>, delay=..." keeps its recipients. */
typedef void (*field_fn)(const char *key, size_t klen, const char *v, size_t vl, mx_logrec *rec);
static const char *walk_fields(const char *p, const char *last, field_fn field, mx_logrec *rec)
{
    size_t last_len = strlen(last);
    while (*p) {
        const char *eq = strchr(p, '=');
        if (eq == NULL)
            break;
        size_t klen = (size_t)(eq - p);
        const char *v = eq + 1;
        if (klen == last_len && strncmp(p, last, klen) == 0)
            return v;
        size_t vl = field_len(v);
        field(p, klen, v, vl, rec);
        p = v + vl;
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
    return NULL;
}

static bool is_key(const char *key, size_t klen, const char *name)
{
    return klen == strlen(name) && strncmp(key, name, klen) == 0;
}

static void postfix_field(const char *key, size_t klen, const char *v, size_t vl, mx_logrec *rec)
{
    if (is_key(key, klen, "to")) {
        address_list(&rec->recipient, v, vl);
    } else if (is_key(key, klen, "relay")) {
        parse_host(v, vl, rec);
    } else if (is_key(key, klen, "delay")) {
        char *end;
        rec->delay = g_ascii_strtod(v, &end);
        rec->has_delay = end != v;
    } else if (is_key(key, klen, "delays")) {
        /* a/b/c/d: before qmgr, in qmgr, connection setup, transmission. */
        const char *q = v;
        int i = 0;
        for (; i < 4; i++) {
            char *end;
            rec->delays[i] = g_ascii_strtod(q, &end);
            if (end == q)
                break;
            q = end;
            if (i < 3 && *q++ != '/')
                break;
        }
        rec->has_delays = i == 4 || (i == 3 && q > v);
    } else if (is_key(key, klen, "dsn")) {
        copy_field(rec->dsn, sizeof rec->dsn, v, vl);
    }
}

/* A "to=" line; "status=word (text)" ends it. */
static mx_line_result postfix_delivery(const char *p, mx_logrec *rec)
{
    const char *v = walk_fields(p, "status", postfix_field, rec);
    size_t w = 0;
    while (v && v[w] && v[w] != ' ' && v[w] != ',')
        w++;
    if (w == 0 || rec->recipient == NULL || rec->recipient[0] == '\0')
        return MX_LINE_DAMAGED;
    copy_field(rec->status, sizeof rec->status, v, w);
    const char *t = v + w;
    while (*t == ' ' || *t == ',')
        t++;
    size_t tl = strlen(t);
    if (tl >= 2 && t[0] == '(' && t[tl - 1] == ')') {
        t++;
        tl -= 2;
    }
    rec->text = dup_text(t, tl);
    rec->type = MX_LOGREC_DELIVERY;
    if (!rec->has_ip)
        host_from_text(rec->text, rec);   /* relay=none: the status names where it tried */
    return MX_LINE_RECORD;
}

static mx_line_result postfix_line(const char *service, const char *p, mx_logrec *rec)
{
    rec->mta = MX_MTA_POSTFIX;
    const char *slash = strrchr(service, '/');
    const char *daemon = slash ? slash + 1 : service;
    bool smtp = strcmp(daemon, "smtp") == 0 || strcmp(daemon, "lmtp") == 0;
    /* "connect to name[ip]:port: text", logged without a queue id. */
    if (smtp && strncmp(p, "connect to ", 11) == 0) {
        const char *end = strstr(p + 11, "]:");
        if (end == NULL)
            return MX_LINE_DAMAGED;
        const char *colon = strchr(end + 2, ':');
        size_t hlen = colon ? (size_t)(colon - (p + 11)) : strlen(p + 11);
        parse_host(p + 11, hlen, rec);
        if (!rec->has_ip)
            return MX_LINE_DAMAGED;
        const char *t = colon ? colon + 1 : "";
        while (*t == ' ')
            t++;
        rec->text = dup_text(t, strlen(t));
        rec->type = MX_LOGREC_CONNECTION;
        return MX_LINE_RECORD;
    }
    const char *body = queue_id(p, rec);
    if (body == NULL)
        return MX_LINE_IGNORED;
    if (strncmp(body, "to=", 3) == 0)
        return postfix_delivery(body, rec);
    if (smtp && (strncmp(body, "host ", 5) == 0 || strncmp(body, "lost connection with ", 21) == 0 ||
                 strncmp(body, "conversation with ", 18) == 0)) {
        rec->text = dup_text(body, strlen(body));
        host_from_text(body, rec);
        if (!rec->has_ip)
            return MX_LINE_DAMAGED;
        rec->type = MX_LOGREC_CONNECTION;
        return MX_LINE_RECORD;
    }
    return MX_LINE_IGNORED;
}

/* ---- Sendmail ------------------------------------------------------------------- */

static void sendmail_field(const char *key, size_t klen, const char *v, size_t vl, mx_logrec *rec)
{
    if (is_key(key, klen, "to"))
        address_list(&rec->recipient, v, vl);
    else if (is_key(key, klen, "relay"))
        parse_host(v, vl, rec);
    else if (is_key(key, klen, "delay"))
        rec->has_delay = hms_delay(v, &rec->delay);
    else if (is_key(key, klen, "dsn"))
        copy_field(rec->dsn, sizeof rec->dsn, v, vl);
}

static mx_line_result sendmail_line(const char *p, mx_logrec *rec)
{
    rec->mta = MX_MTA_SENDMAIL;
    const char *body = queue_id(p, rec);
    if (body == NULL || strncmp(body, "to=", 3) != 0)
        return MX_LINE_IGNORED;
    const char *v = walk_fields(body, "stat", sendmail_field, rec);
    if (v == NULL || rec->recipient == NULL || rec->recipient[0] == '\0')
        return MX_LINE_DAMAGED;
    /* "Sent (...)", "Deferred: text", "User unknown": the word is the status.
     * relay= is "name." with no address when the connection failed
     * ("Connection timed out with name."): then no connection is named. */
    size_t w = 0;
    while (v[w] && g_ascii_isalpha(v[w]))
        w++;
    char word[16];
    copy_field(word, sizeof word, v, w);
    const char *status = g_ascii_strcasecmp(word, "Sent") == 0       ? "sent"
                         : g_ascii_strcasecmp(word, "Deferred") == 0 ? "deferred"
                                                                     : "bounced";
    g_strlcpy(rec->status, status, sizeof rec->status);
    rec->text = dup_text(v, strlen(v));
    rec->type = MX_LOGREC_DELIVERY;
    return MX_LINE_RECORD;
}

/* ---- Exim ----------------------------------------------------------------------- */

/* Exim message ids: 6-6-2 before 4.97, 6-11-4 since ("1rABCD-0001XY-AB", "1rABCD-000000000A-Abcd"). */
static const char *exim_id(const char *p, mx_logrec *rec)
{
    size_t n = 0, dashes = 0;
    while (g_ascii_isalnum(p[n]) || p[n] == '-') {
        dashes += p[n] == '-';
        n++;
    }
    if (dashes != 2 || n < 16 || n >= sizeof rec->queue_id || p[n] != ' ' || p[6] != '-')
        return NULL;
    memcpy(rec->queue_id, p, n);
    rec->queue_id[n] = '\0';
    return p + n + 1;
}

/* "H=name [ip]:port" anywhere in the line, to the next field. */
static void exim_host(const char *p, mx_logrec *rec)
{
    const char *h = strstr(p, " H=");
    if (h == NULL)
        return;
    h += 3;
    const char *close = strchr(h, ']');
    if (close == NULL)
        return;
    size_t len = (size_t)(close + 1 - h);
    if (close[1] == ':' && g_ascii_isdigit(close[2])) {
        len++;
        while (g_ascii_isdigit(h[len]))
            len++;
    }
    parse_host(h, len, rec);
}

static mx_line_result exim_line(const char *p, mx_logrec *rec)
{
    rec->mta = MX_MTA_EXIM;
    const char *body = exim_id(p, rec);
    if (body == NULL)
        return MX_LINE_IGNORED;      /* daemon lines, SMTP connections in */
    rec->process = g_str_hash(rec->queue_id) | 1ull << 40;
    const char *status = NULL;
    bool flag = body[0] && body[1] && (body[2] == ' ' || body[2] == '\0');
    if (flag && (strncmp(body, "=>", 2) == 0 || strncmp(body, "->", 2) == 0))
        status = "sent";
    else if (flag && strncmp(body, "==", 2) == 0)
        status = "deferred";
    else if (flag && strncmp(body, "**", 2) == 0)
        status = "bounced";
    if (status == NULL) {
        /* The connection line: "name [ip]:port text" or "H=name [ip]:port text". */
        const char *h = strncmp(body, "H=", 2) == 0 ? body + 2 : body;
        const char *sp = strchr(h, ' ');
        const char *close = sp ? strchr(sp, ']') : NULL;
        if (sp == NULL || sp[1] != '[' || close == NULL)
            return MX_LINE_IGNORED;  /* "<=", "Completed", "Frozen", ... */
        const char *t = close + 1;
        if (*t == ':' && g_ascii_isdigit(t[1]))
            while (g_ascii_isdigit(*++t))
                ;
        parse_host(h, (size_t)(t - h), rec);
        if (!rec->has_ip)
            return MX_LINE_DAMAGED;
        while (*t == ' ' || *t == ':')
            t++;
        rec->text = dup_text(t, strlen(t));
        rec->type = MX_LOGREC_CONNECTION;
        return MX_LINE_RECORD;
    }
    g_strlcpy(rec->status, status, sizeof rec->status);
    const char *a = body[2] ? body + 3 : body + 2;
    size_t alen = strcspn(a, " ");
    if (alen == 0)
        return MX_LINE_DAMAGED;
    address_list(&rec->recipient, a, alen);
    exim_host(a + alen, rec);
    const char *text = "";
    if (status[0] == 's') {
        const char *c = strstr(a, " C=\"");
        if (c) {
            text = c + 4;
            const char *q = strrchr(text, '"');
            rec->text = dup_text(text, q && q > text ? (size_t)(q - text) : strlen(text));
        }
    } else {
        /* "defer (110): text", "defer (-44) H=name [ip]: SMTP error ...", "** r ...: text". */
        const char *d = strstr(a, " defer (");
        const char *from = d ? d + 1 : a + alen;
        const char *colon = strstr(from, ": ");
        if (d)
            text = d + 1;
        else if (colon)
            text = colon + 2;
        else
            return MX_LINE_DAMAGED;
        rec->text = dup_text(text, strlen(text));
    }
    if (rec->text == NULL)
        rec->text = g_strdup("");
    rec->type = MX_LOGREC_DELIVERY;
    return MX_LINE_RECORD;
}

/* ---- one line ------------------------------------------------------------------- */

/* BusyBox syslogd (the syslog of Alpine and OpenWrt based gateways) writes
 * "facility.level" between the host and the program: "gw mail.info
 * postfix/smtp[12]: ...".  Length of such a word and its space, else 0. */
static size_t facility_level(const char *p)
{
    static const char *const fac[] = { "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
                                       "uucp", "cron", "authpriv", "ftp", "local0", "local1", "local2",
                                       "local3", "local4", "local5", "local6", "local7" };
    static const char *const lev[] = { "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug" };
    const char *dot = strchr(p, '.'), *sp = strchr(p, ' ');
    if (dot == NULL || sp == NULL || dot > sp)
        return 0;
    bool f = false, l = false;
    for (size_t i = 0; i < G_N_ELEMENTS(fac) && !f; i++)
        f = strlen(fac[i]) == (size_t)(dot - p) && strncmp(p, fac[i], (size_t)(dot - p)) == 0;
    for (size_t i = 0; i < G_N_ELEMENTS(lev) && !l; i++)
        l = strlen(lev[i]) == (size_t)(sp - dot - 1) && strncmp(dot + 1, lev[i], (size_t)(sp - dot - 1)) == 0;
    return f && l ? (size_t)(sp - p) + 1 : 0;
}

/* "host program[pid]: " after a syslog or RFC 3339 timestamp: program into
 * service, pid into rec->process; returns the message. */
static const char *syslog_program(const char *p, char *service, size_t size, mx_logrec *rec)
{
    const char *sp = strchr(p, ' ');      /* after the host name */
    if (sp == NULL)
        return NULL;
    p = sp + 1;
    p += facility_level(p);
    size_t n = strcspn(p, "[: ");
    if (n == 0 || n >= size)
        return NULL;
    memcpy(service, p, n);
    service[n] = '\0';
    p += n;
    if (*p == '[') {
        char *end;
        rec->process = strtoull(p + 1, &end, 10);
        if (*end != ']')
            return NULL;
        p = end + 1;
    }
    if (p[0] != ':' || p[1] != ' ')
        return NULL;
    return p + 2;
}

mx_line_result mx_maillog_parse_line(const char *line, mx_logrec *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->attempt = -1;
    char sep = 0;
    const char *p = syslog_time(line, &rec->when);
    if (p == NULL)
        p = iso_time(line, &sep, &rec->when);
    if (p == NULL || *p != ' ')
        return MX_LINE_UNKNOWN;
    p++;
    mx_line_result r;
    if (sep == ' ') {
        /* Exim's own log, maybe with "[pid] " (log_selector +pid). */
        if (*p == '[') {
            const char *e = strchr(p, ']');
            if (e && e[1] == ' ')
                p = e + 2;
        }
        r = exim_line(p, rec);
    } else {
        char service[64];
        const char *msg = syslog_program(p, service, sizeof service, rec);
        if (msg == NULL)
            return MX_LINE_UNKNOWN;
        mx_logtime inner;
        char inner_sep = 0;
        const char *q;
        if (g_str_has_prefix(service, "postfix"))
            r = postfix_line(service, msg, rec);
        else if (strcmp(service, "sendmail") == 0 || strcmp(service, "sm-mta") == 0 ||
                 strcmp(service, "sm-msp-queue") == 0)
            r = sendmail_line(msg, rec);
        else if (g_str_has_prefix(service, "exim") && (q = iso_time(msg, &inner_sep, &inner)) && inner_sep == ' ' &&
                 *q == ' ') {
            /* Exim through syslog (log_file_path = syslog) keeps its own stamp. */
            uint64_t pid = rec->process;
            r = exim_line(q + 1, rec);
            if (rec->process == 0)
                rec->process = pid;
            rec->when = inner;
        } else
            return MX_LINE_UNKNOWN;
    }
    if (r != MX_LINE_RECORD)
        mx_logrec_clear(rec);
    return r;
}

/* ---- files ------------------------------------------------------------------------ */

mx_maillog *mx_maillog_new(void)
{
    mx_maillog *m = g_new0(mx_maillog, 1);
    m->records = g_array_new(FALSE, TRUE, sizeof(mx_logrec));
    m->files = g_array_new(FALSE, TRUE, sizeof(mx_maillog_file_stats));
    m->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify)g_array_unref);
    return m;
}

void mx_maillog_free(mx_maillog *m)
{
    if (m == NULL)
        return;
    for (guint i = 0; i < m->records->len; i++)
        mx_logrec_clear(&g_array_index(m->records, mx_logrec, i));
    for (guint i = 0; i < m->files->len; i++) {
        mx_maillog_file_stats *f = &g_array_index(m->files, mx_maillog_file_stats, i);
        g_free(f->name);
        g_free(f->error);
    }
    g_array_unref(m->records);
    g_array_unref(m->files);
    g_hash_table_unref(m->pending);
    g_free(m);
}

/* Ties a record to the attempt it belongs to (see mx_logrec.attempt):
 * notes wait per process for the next delivery line; the recipients of one
 * attempt follow each other from one process within the same second. */
static void tie(mx_maillog *m, int64_t index)
{
    mx_logrec *rec = &g_array_index(m->records, mx_logrec, index);
    if (rec->process == 0)
        return;
    GArray *waiting = g_hash_table_lookup(m->pending, &rec->process);
    if (waiting == NULL) {
        int64_t *key = g_new(int64_t, 1);
        *key = (int64_t)rec->process;
        waiting = g_array_new(FALSE, FALSE, sizeof(int64_t));
        g_hash_table_insert(m->pending, key, waiting);
    }
    if (rec->type == MX_LOGREC_CONNECTION) {
        /* A note after a delivery line starts the next attempt. */
        if (waiting->len == 1) {
            const mx_logrec *first = &g_array_index(m->records, mx_logrec, g_array_index(waiting, int64_t, 0));
            if (first->type == MX_LOGREC_DELIVERY)
                g_array_set_size(waiting, 0);
        }
        if (waiting->len < 64)
            g_array_append_val(waiting, index);
        return;
    }
    rec->attempt = index;
    if (waiting->len == 1) {
        const mx_logrec *prev = &g_array_index(m->records, mx_logrec, g_array_index(waiting, int64_t, 0));
        if (prev->type == MX_LOGREC_DELIVERY && strcmp(prev->queue_id, rec->queue_id) == 0 &&
            prev->when.second == rec->when.second && prev->when.minute == rec->when.minute &&
            g_strcmp0(prev->relay_name, rec->relay_name) == 0) {
            rec->attempt = prev->attempt;
            return;
        }
    }
    for (guint i = 0; i < waiting->len; i++) {
        mx_logrec *note = &g_array_index(m->records, mx_logrec, g_array_index(waiting, int64_t, i));
        if (note->type == MX_LOGREC_CONNECTION && (note->queue_id[0] == '\0' || strcmp(note->queue_id, rec->queue_id) == 0))
            note->attempt = index;
    }
    g_array_set_size(waiting, 0);
    g_array_append_val(waiting, index);
}

gboolean mx_maillog_read_file(mx_maillog *m, const char *path, GError **error)
{
    /* gzopen reads plain files as they are: one reader for both. */
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                    errno ? g_strerror(errno) : "cannot open");
        return FALSE;
    }
    gzbuffer(gz, 65536);
    mx_maillog_file_stats st = { .name = g_strdup(path) };
    uint32_t file_index = m->files->len;
    g_hash_table_remove_all(m->pending);     /* processes do not go on across files */
    char *buf = g_malloc(MX_MAILLOG_LINE_MAX);
    /* The buffer is zeroed before each read so that the newline shows
     * where the line ends even when a NUL byte comes before it. */
    memset(buf, 0, MX_MAILLOG_LINE_MAX);
    while (gzgets(gz, buf, MX_MAILLOG_LINE_MAX) != NULL) {
        const char *nl = memchr(buf, '\n', MX_MAILLOG_LINE_MAX - 1);
        size_t len = nl ? (size_t)(nl - buf) + 1 : strlen(buf);
        bool whole = nl != NULL;
        for (size_t i = 0; i < len; i++)
            if (buf[i] == '\0')
                buf[i] = '?';          /* a damaged line is still a line, counted */
        if (!whole && !gzeof(gz)) {
            /* Longer than the cap: parse its start, skip the rest. */
            char rest[1024];
            while (gzgets(gz, rest, sizeof rest) != NULL && rest[strlen(rest) - 1] != '\n')
                ;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        st.lines++;
        if (len == 0) {
            memset(buf, 0, MX_MAILLOG_LINE_MAX);
            continue;
        }
        mx_logrec rec;
        switch (mx_maillog_parse_line(buf, &rec)) {
        case MX_LINE_RECORD:
            if (m->records->len >= MX_MAILLOG_RECORDS_MAX) {
                m->dropped++;
                mx_logrec_clear(&rec);
                break;
            }
            rec.file = file_index;
            rec.line = st.lines;
            g_array_append_val(m->records, rec);
            tie(m, (int64_t)m->records->len - 1);
            st.records++;
            break;
        case MX_LINE_IGNORED:
            st.ignored++;
            break;
        case MX_LINE_UNKNOWN:
            if (st.unknown++ == 0)
                st.first_unknown = st.lines;
            break;
        case MX_LINE_DAMAGED:
            if (st.damaged++ == 0)
                st.first_damaged = st.lines;
            break;
        }
        memset(buf, 0, MX_MAILLOG_LINE_MAX);
    }
    int zerr = Z_OK;
    const char *msg = gzerror(gz, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END)
        st.error = g_strdup_printf("%s: read error after line %" G_GUINT64_FORMAT ": %s", path, st.lines,
                                   zerr == Z_ERRNO ? g_strerror(errno) : msg);
    gzclose(gz);
    g_free(buf);
    g_array_append_val(m->files, st);
    return TRUE;
}
