/* SPDX-License-Identifier: BSD-3-Clause */
/* json-out.c — the streaming JSON writer and its string escaper (json-out.h). */
#include "json-out.h"

#include <glib.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define FLUSH_AT (64 * 1024)

typedef struct {
    bool object;        /* else an array */
    bool has_items;
    bool key_pending;   /* object: a key was written, its value is due */
} level;

struct mx_json_out {
    char *buf;
    size_t len, cap;
    FILE *out;
    bool pretty;
    int compact_depth;
    int depth;
    const char *error;
    level stack[MX_JSON_MAX_DEPTH];
};

mx_json_out *mx_json_out_new(FILE *out, bool pretty)
{
    mx_json_out *w = g_new0(mx_json_out, 1);
    w->cap = out ? FLUSH_AT * 2 : 256;      /* a memory writer grows as it needs */
    w->buf = g_malloc(w->cap);
    w->out = out;
    w->pretty = pretty;
    w->compact_depth = INT_MAX;
    return w;
}

void mx_json_out_free(mx_json_out *w)
{
    if (w == NULL)
        return;
    g_free(w->buf);
    g_free(w);
}

void mx_json_out_set_compact_depth(mx_json_out *w, int depth)
{
    w->compact_depth = depth;
}

const char *mx_json_out_error(const mx_json_out *w)
{
    return w->error;
}

int mx_json_out_depth(const mx_json_out *w)
{
    return w->depth;
}

void mx_json_out_flush(mx_json_out *w)
{
    if (w->out && w->len) {
        fwrite(w->buf, 1, w->len, w->out);
        w->len = 0;
    }
}

const char *mx_json_out_text(const mx_json_out *w, size_t *len)
{
    w->buf[w->len] = '\0';        /* room kept by reserve() */
    if (len)
        *len = w->len;
    return w->buf;
}

void mx_json_out_reset(mx_json_out *w)
{
    w->len = 0;
    w->depth = 0;
    w->error = NULL;
}

/* Room for n more bytes and a NUL. */
static inline char *reserve(mx_json_out *w, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        while (w->len + n + 1 > w->cap)
            w->cap *= 2;
        w->buf = g_realloc(w->buf, w->cap);
    }
    return w->buf + w->len;
}

static inline void put(mx_json_out *w, const char *s, size_t n)
{
    memcpy(reserve(w, n), s, n);
    w->len += n;
}

static inline void putc1(mx_json_out *w, char c)
{
    *reserve(w, 1) = c;
    w->len++;
}

/* After a complete value: the FILE gets the text in 64 KiB pieces. */
static inline void value_done(mx_json_out *w)
{
    if (w->out && w->len >= FLUSH_AT)
        mx_json_out_flush(w);
}

static void fail(mx_json_out *w, const char *why)
{
    if (w->error == NULL)
        w->error = why;
}

/* Pretty layout for the insides of the container at depth d-1. */
static inline bool pretty_inside(const mx_json_out *w, int d)
{
    return w->pretty && d - 1 < w->compact_depth;
}

/* Comma, newline and indent before an item of the innermost container. */
static inline void separate(mx_json_out *w)
{
    level *l = &w->stack[w->depth - 1];
    bool pretty = pretty_inside(w, w->depth);
    char *p = reserve(w, 2 + (size_t)w->depth);
    size_t n = 0;
    if (l->has_items)
        p[n++] = ',';
    if (pretty) {
        p[n++] = '\n';
        memset(p + n, ' ', (size_t)w->depth);
        n += (size_t)w->depth;
    }
    w->len += n;
    l->has_items = true;
}

/* Whether a value may come now; writes what goes before it. */
static inline bool before_value(mx_json_out *w)
{
    if (w->error)
        return false;
    if (w->depth == 0)
        return true;
    level *l = &w->stack[w->depth - 1];
    if (l->object) {
        if (!l->key_pending) {
            fail(w, "value in an object where a key is due");
            return false;
        }
        l->key_pending = false;
        return true;
    }
    separate(w);
    return true;
}

void mx_json_key(mx_json_out *w, const char *key)
{
    if (w->error)
        return;
    if (w->depth == 0 || !w->stack[w->depth - 1].object) {
        fail(w, "key outside an object");
        return;
    }
    level *l = &w->stack[w->depth - 1];
    if (l->key_pending) {
        fail(w, "key where a value is due");
        return;
    }
    separate(w);
    mx_json_escape(w, key, strlen(key));
    if (pretty_inside(w, w->depth))
        put(w, " : ", 3);
    else
        putc1(w, ':');
    l->key_pending = true;
}

static void begin(mx_json_out *w, bool object)
{
    if (!before_value(w))
        return;
    if (w->depth == MX_JSON_MAX_DEPTH) {
        fail(w, "nested too deep");
        return;
    }
    w->stack[w->depth++] = (level){ .object = object };
    putc1(w, object ? '{' : '[');
}

static void end(mx_json_out *w, bool object)
{
    if (w->error)
        return;
    if (w->depth == 0 || w->stack[w->depth - 1].object != object) {
        fail(w, object ? "end of an object that is not open" : "end of an array that is not open");
        return;
    }
    level *l = &w->stack[w->depth - 1];
    if (l->key_pending) {
        fail(w, "object closed after a key with no value");
        return;
    }
    if (l->has_items && pretty_inside(w, w->depth)) {
        int indent = w->depth - 1;
        char *p = reserve(w, 1 + (size_t)indent);
        p[0] = '\n';
        memset(p + 1, ' ', (size_t)indent);
        w->len += 1 + (size_t)indent;
    }
    w->depth--;
    putc1(w, object ? '}' : ']');
    value_done(w);
}

void mx_json_begin_object(mx_json_out *w) { begin(w, true); }
void mx_json_end_object(mx_json_out *w) { end(w, true); }
void mx_json_begin_array(mx_json_out *w) { begin(w, false); }
void mx_json_end_array(mx_json_out *w) { end(w, false); }

void mx_json_string_len(mx_json_out *w, const char *s, size_t len)
{
    if (!before_value(w))
        return;
    mx_json_escape(w, s, len);
    value_done(w);
}

void mx_json_string(mx_json_out *w, const char *s)
{
    if (s == NULL)
        mx_json_null(w);
    else
        mx_json_string_len(w, s, strlen(s));
}

void mx_json_int(mx_json_out *w, int64_t v)
{
    if (!before_value(w))
        return;
    char tmp[24];
    size_t n = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--n] = '-';
    put(w, tmp + n, sizeof tmp - n);
    value_done(w);
}

/* %.15g of v when v is a whole number of thousandths (milliseconds from
 * microseconds: what mxray's doubles are): k/1000 has at most 15
 * significant digits, the double nearest it is within 2^-53 of it, so
 * printf's rounding to 15 digits gives k/1000's own digits back.  Returns
 * the length, or 0 (not such a number: ask printf). */
static size_t format_thousandths(double v, char *out)
{
    if (!(v > -1e11 && v < 1e11) || v == 0)
        return 0;                           /* -0 and 0 by printf, huge ones too */
    double scaled = v * 1000.0;
    int64_t k = (int64_t)(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    if ((double)k / 1000.0 != v)
        return 0;
    size_t n = 0;
    uint64_t u = k < 0 ? (uint64_t)-k : (uint64_t)k;
    char tmp[24];
    size_t t = sizeof tmp;
    unsigned frac = (unsigned)(u % 1000);
    uint64_t whole = u / 1000;
    do {
        tmp[--t] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    if (k < 0)
        out[n++] = '-';
    memcpy(out + n, tmp + t, sizeof tmp - t);
    n += sizeof tmp - t;
    if (frac) {
        out[n++] = '.';
        out[n++] = (char)('0' + frac / 100);
        out[n++] = (char)('0' + frac / 10 % 10);
        out[n++] = (char)('0' + frac % 10);
        while (out[n - 1] == '0')
            n--;
    }
    return n;
}

void mx_json_double(mx_json_out *w, double v)
{
    if (!before_value(w))
        return;
    char tmp[G_ASCII_DTOSTR_BUF_SIZE];
    size_t n = format_thousandths(v, tmp);
    if (n == 0 && isfinite(v)) {
        g_ascii_formatd(tmp, sizeof tmp, "%.15g", v);
        n = strlen(tmp);
    }
    if (n)
        put(w, tmp, n);
    else
        put(w, "null", 4);                  /* NaN and infinities are not JSON */
    value_done(w);
}

void mx_json_bool(mx_json_out *w, bool v)
{
    if (!before_value(w))
        return;
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
    value_done(w);
}

void mx_json_null(mx_json_out *w)
{
    if (!before_value(w))
        return;
    put(w, "null", 4);
    value_done(w);
}

void mx_json_raw(mx_json_out *w, const char *text)
{
    if (w->error)
        return;
    if (w->depth != 0) {
        fail(w, "raw text inside a value");
        return;
    }
    put(w, text, strlen(text));
    value_done(w);
}

/* ---- the escaper ----------------------------------------------------------- */

/* 0: copied as it is; 1: escaped; 2: the first byte of a UTF-8 sequence
 * (or not: checked). */
static const uint8_t byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,     /* 0x7f */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* The UTF-8 sequence at p (RFC 3629 / Unicode table 3-7: no overlong
 * forms, no surrogates, nothing past U+10FFFF): its length when valid;
 * else 0, and *skip is its maximal subpart (the lead byte and the
 * continuation bytes that could still follow it), which becomes one
 * U+FFFD as Unicode's "best practice" and WHATWG's decoder (and Python's
 * errors="replace") have it. */
static size_t utf8_sequence(const uint8_t *p, size_t left, size_t *skip)
{
    uint8_t c = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;      /* the second byte's range */
    *skip = 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (i >= left || p[i] < lo || p[i] > hi) {
            *skip = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xbf;
    }
    return n;
}

void mx_json_escape(mx_json_out *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* Most strings need no escape at all: copied in one pass with both
     * quotes, room reserved once. */
    char *o = reserve(w, len + 2);
    size_t i = 0;
    o[0] = '"';
    while (i < len && byte_class[(uint8_t)s[i]] == 0) {
        o[1 + i] = s[i];
        i++;
    }
    if (i == len) {
        o[1 + len] = '"';
        w->len += len + 2;
        return;
    }
    w->len += 1 + i;
    const uint8_t *p = (const uint8_t *)s + i, *end = (const uint8_t *)s + len;
    while (p < end) {
        const uint8_t *run = p;
        while (p < end && byte_class[*p] == 0)
            p++;
        if (p > run)
            put(w, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        uint8_t c = *p;
        if (byte_class[c] == 2) {
            size_t skip, n = utf8_sequence(p, (size_t)(end - p), &skip);
            if (n) {
                put(w, (const char *)p, n);
                p += n;
            } else {
                put(w, "\xef\xbf\xbd", 3);      /* U+FFFD */
                p += skip;
            }
            continue;
        }
        char esc[6] = { '\\', 0 };
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put(w, esc, n);
        p++;
    }
    putc1(w, '"');
}
