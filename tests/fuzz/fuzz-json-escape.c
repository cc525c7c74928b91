/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-json-escape.c — libFuzzer target: src/json-out.c's escaper and writer.
 *
 * Input: [flags: 1 byte][8 bytes: an int64][8 bytes: a double][string
 * bytes...] (shorter inputs are zero-padded).  Flags bit 0: pretty.  The
 * string (NUL, control bytes and broken UTF-8 included) is written as a
 * key, as a value and inside an array, with the int and the double
 * (NaN and infinities too).  The text must parse with the strict RFC 8259
 * parser below (UTF-8 checked, no raw control bytes, surrogate pairs), and
 * every string must read back as the input mapped as json-out.h documents
 * (invalid UTF-8 as one U+FFFD per maximal subpart), worked out here by a
 * reference of its own (code point arithmetic, not json-out.c's table);
 * the int must read back exactly.  A difference aborts: libFuzzer keeps it.
 */
#include "json-out.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the reference mapping ----------------------------------------------- */

/* The code point of the n-byte sequence p, or -1 when it is not valid
 * UTF-8 (bad continuation, overlong, surrogate, past U+10FFFF). */
static long decode_strict(const uint8_t *p, size_t n)
{
    static const long min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    long cp;
    if (n == 1)
        return p[0] < 0x80 ? p[0] : -1;
    if (n == 2 && (p[0] & 0xe0) == 0xc0)
        cp = p[0] & 0x1f;
    else if (n == 3 && (p[0] & 0xf0) == 0xe0)
        cp = p[0] & 0x0f;
    else if (n == 4 && (p[0] & 0xf8) == 0xf0)
        cp = p[0] & 0x07;
    else
        return -1;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    return cp;
}

/* Whether p[0..m) can still become a valid n-byte sequence: the ranges
 * are intervals, so filling with the lowest or the highest continuation
 * byte finds a completion when there is one. */
static bool extendable(const uint8_t *p, size_t m, size_t n)
{
    uint8_t buf[4];
    for (int fill = 0; fill < 2; fill++) {
        memcpy(buf, p, m);
        memset(buf + m, fill ? 0xbf : 0x80, n - m);
        if (decode_strict(buf, n) >= 0)
            return true;
    }
    return false;
}

static GString *reference(const uint8_t *s, size_t len)
{
    GString *out = g_string_new(NULL);
    size_t i = 0;
    while (i < len) {
        size_t n = 1;
        for (size_t k = 2; k <= 4 && i + k <= len; k++)
            if (decode_strict(s + i, k) >= 0)
                n = k;
        if (decode_strict(s + i, n) >= 0) {
            g_string_append_len(out, (const char *)s + i, (gssize)n);
            i += n;
            continue;
        }
        /* The longest prefix some valid sequence starts with, at least 1. */
        size_t skip = 1;
        for (size_t want = 2; want <= 4; want++)
            for (size_t m = 2; m < want && i + m <= len; m++)
                if (extendable(s + i, m, want) && m > skip)
                    skip = m;
        g_string_append(out, "\xef\xbf\xbd");
        i += skip;
    }
    return out;
}

/* ---- a strict JSON parser that keeps what it read -------------------------- */

typedef struct {
    const uint8_t *p, *end;
    GPtrArray *strings;     /* GString*, in document order (keys too) */
    GArray *ints;           /* int64 of numbers without fraction or exponent */
} parser;

static void ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool lit(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static int hex4(parser *ps)
{
    if (ps->end - ps->p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value((char)ps->p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    ps->p += 4;
    return v;
}

static bool string(parser *ps)
{
    if (ps->p >= ps->end || *ps->p != '"')
        return false;
    ps->p++;
    GString *s = g_string_new(NULL);
    g_ptr_array_add(ps->strings, s);
    while (ps->p < ps->end) {
        uint8_t c = *ps->p;
        if (c == '"') {
            ps->p++;
            return true;
        }
        if (c < 0x20)
            return false;                       /* raw control byte */
        if (c == '\\') {
            if (ps->end - ps->p < 2)
                return false;
            uint8_t e = ps->p[1];
            ps->p += 2;
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char to[] = "\"\\/\b\f\n\r\t";
                g_string_append_c(s, to[simple - "\"\\/bfnrt"]);
                continue;
            }
            if (e != 'u')
                return false;
            long cp = hex4(ps);
            if (cp < 0)
                return false;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return false;                   /* lone low surrogate */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (!lit(ps, "\\u"))
                    return false;
                long lo = hex4(ps);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return false;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            g_string_append_unichar(s, (gunichar)cp);
            continue;
        }
        size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if ((size_t)(ps->end - ps->p) < n || decode_strict(ps->p, n) < 0)
            return false;                       /* not UTF-8 */
        g_string_append_len(s, (const char *)ps->p, (gssize)n);
        ps->p += n;
    }
    return false;
}

static bool number(parser *ps)
{
    const uint8_t *start = ps->p;
    bool integral = true;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '0')
        ps->p++;
    else if (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9')
        while (ps->p < ps->end && g_ascii_isdigit(*ps->p))
            ps->p++;
    else
        return false;
    if (ps->p < ps->end && *ps->p == '.') {
        integral = false;
        ps->p++;
        if (ps->p >= ps->end || !g_ascii_isdigit(*ps->p))
            return false;
        while (ps->p < ps->end && g_ascii_isdigit(*ps->p))
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        integral = false;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || !g_ascii_isdigit(*ps->p))
            return false;
        while (ps->p < ps->end && g_ascii_isdigit(*ps->p))
            ps->p++;
    }
    if (integral) {
        char buf[32];
        size_t n = (size_t)(ps->p - start);
        if (n >= sizeof buf)
            return false;
        memcpy(buf, start, n);
        buf[n] = '\0';
        gint64 v = g_ascii_strtoll(buf, NULL, 10);
        g_array_append_val(ps->ints, v);
    }
    return true;
}

static bool value(parser *ps, int depth);

static bool container(parser *ps, int depth, bool object)
{
    if (depth > MX_JSON_MAX_DEPTH)
        return false;
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
        ps->p++;
        return true;
    }
    for (;;) {
        ws(ps);
        if (object) {
            if (!string(ps))
                return false;
            ws(ps);
            if (!lit(ps, ":"))
                return false;
        }
        if (!value(ps, depth + 1))
            return false;
        ws(ps);
        if (lit(ps, ","))
            continue;
        return lit(ps, object ? "}" : "]");
    }
}

static bool value(parser *ps, int depth)
{
    ws(ps);
    if (ps->p >= ps->end)
        return false;
    switch (*ps->p) {
    case '{': return container(ps, depth, true);
    case '[': return container(ps, depth, false);
    case '"': return string(ps);
    case 't': return lit(ps, "true");
    case 'f': return lit(ps, "false");
    case 'n': return lit(ps, "null");
    default: return number(ps);
    }
}

/* ---- the target ------------------------------------------------------------------ */

static void check(bool ok, const char *what, const char *text)
{
    if (!ok) {
        fprintf(stderr, "fuzz-json-escape: %s in: %s\n", what, text);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t head[17] = { 0 };
    memcpy(head, data, MIN(size, sizeof head));
    const uint8_t *str = size > sizeof head ? data + sizeof head : data + size;
    size_t len = size > sizeof head ? size - sizeof head : 0;
    int64_t iv;
    double dv;
    memcpy(&iv, head + 1, sizeof iv);
    memcpy(&dv, head + 9, sizeof dv);

    /* The key is a C string: it stops at the first NUL. */
    size_t keylen = strnlen((const char *)str, len);
    char *key = g_strndup((const char *)str, keylen);
    mx_json_out *w = mx_json_out_new(NULL, head[0] & 1);
    mx_json_begin_object(w);
    mx_json_key(w, key);
    mx_json_string_len(w, (const char *)str, len);
    mx_json_key(w, "a");
    mx_json_begin_array(w);
    mx_json_string_len(w, (const char *)str, len);
    mx_json_int(w, iv);
    mx_json_double(w, dv);
    mx_json_bool(w, head[0] & 2);
    mx_json_null(w);
    mx_json_end_array(w);
    mx_json_end_object(w);
    size_t tlen;
    const char *text = mx_json_out_text(w, &tlen);
    check(mx_json_out_error(w) == NULL && mx_json_out_depth(w) == 0, "writer refused a valid sequence", text);

    parser ps = { (const uint8_t *)text, (const uint8_t *)text + tlen, g_ptr_array_new_with_free_func(NULL),
                  g_array_new(FALSE, FALSE, sizeof(gint64)) };
    bool ok = value(&ps, 0);
    ws(&ps);
    check(ok && ps.p == ps.end, "not JSON", text);
    check(ps.strings->len == 4 && ps.ints->len >= 1, "not the values written", text);
    GString *want_key = reference((const uint8_t *)key, keylen), *want = reference(str, len);
    const GString *got[4];
    for (int i = 0; i < 4; i++)
        got[i] = g_ptr_array_index(ps.strings, i);
    check(g_string_equal(got[0], want_key), "key does not read back", text);
    check(g_string_equal(got[1], want) && g_string_equal(got[3], want), "string does not read back", text);
    check(strcmp(got[2]->str, "a") == 0, "key a does not read back", text);
    check(g_array_index(ps.ints, gint64, 0) == iv, "int does not read back", text);

    for (guint i = 0; i < ps.strings->len; i++)
        g_string_free(g_ptr_array_index(ps.strings, i), TRUE);
    g_ptr_array_free(ps.strings, TRUE);
    g_array_free(ps.ints, TRUE);
    g_string_free(want_key, TRUE);
    g_string_free(want, TRUE);
    mx_json_out_free(w);
    g_free(key);
    return 0;
}
