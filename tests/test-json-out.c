/* SPDX-License-Identifier: BSD-3-Clause */
/* test-json-out.c — the streaming JSON writer: misuse refused, json-glib
 * 1.6's layout kept byte for byte, every byte a string can hold escaped.
 *
 * `test-json-out --roundtrip N SEED` prints N lines "HEX<TAB>JSON-STRING"
 * of random bytes (biased to control bytes, NUL and broken UTF-8), then
 * two documents (compact, pretty) each after a 0x1e, for
 * tests/json-out-check.py, which parses each with Python's json module
 * and compares it with the bytes decoded with errors="replace". */
#include "json-out.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static char *text_of(mx_json_out *w)
{
    g_assert_null(mx_json_out_error(w));
    char *t = g_strdup(mx_json_out_text(w, NULL));
    mx_json_out_free(w);
    return t;
}

/* ---- misuse --------------------------------------------------------------- */

typedef void (*misuse_fn)(mx_json_out *w);

static void key_at_root(mx_json_out *w) { mx_json_key(w, "k"); }
static void key_in_array(mx_json_out *w) { mx_json_begin_array(w); mx_json_key(w, "k"); }
static void value_without_key(mx_json_out *w) { mx_json_begin_object(w); mx_json_int(w, 1); }
static void object_without_key(mx_json_out *w) { mx_json_begin_object(w); mx_json_begin_array(w); }
static void key_after_key(mx_json_out *w) { mx_json_begin_object(w); mx_json_key(w, "a"); mx_json_key(w, "b"); }
static void close_after_key(mx_json_out *w) { mx_json_begin_object(w); mx_json_key(w, "a"); mx_json_end_object(w); }
static void close_object_as_array(mx_json_out *w) { mx_json_begin_object(w); mx_json_end_array(w); }
static void close_array_as_object(mx_json_out *w) { mx_json_begin_array(w); mx_json_end_object(w); }
static void close_at_root(mx_json_out *w) { mx_json_end_object(w); }
static void raw_inside(mx_json_out *w) { mx_json_begin_array(w); mx_json_raw(w, "\n"); }
static void too_deep(mx_json_out *w)
{
    for (int i = 0; i <= MX_JSON_MAX_DEPTH; i++)
        mx_json_begin_array(w);
}

static const struct { const char *name; misuse_fn fn; } misuses[] = {
    { "key-at-root", key_at_root },
    { "key-in-array", key_in_array },
    { "value-without-key", value_without_key },
    { "object-without-key", object_without_key },
    { "key-after-key", key_after_key },
    { "close-after-key", close_after_key },
    { "close-object-as-array", close_object_as_array },
    { "close-array-as-object", close_array_as_object },
    { "close-at-root", close_at_root },
    { "raw-inside", raw_inside },
    { "too-deep", too_deep },
};

/* The misuse is refused and flagged, and nothing is written after it. */
static void test_misuse(gconstpointer data)
{
    misuse_fn fn = (misuse_fn)data;
    mx_json_out *w = mx_json_out_new(NULL, false);
    fn(w);
    g_assert_nonnull(mx_json_out_error(w));
    size_t before, after;
    mx_json_out_text(w, &before);
    mx_json_null(w);
    mx_json_begin_object(w);
    mx_json_out_text(w, &after);
    g_assert_cmpuint(before, ==, after);
    mx_json_out_reset(w);
    g_assert_null(mx_json_out_error(w));
    mx_json_out_free(w);
}

static void test_balanced(void)
{
    mx_json_out *w = mx_json_out_new(NULL, false);
    mx_json_begin_object(w);
    g_assert_cmpint(mx_json_out_depth(w), ==, 1);
    mx_json_key(w, "a");
    mx_json_begin_array(w);
    g_assert_cmpint(mx_json_out_depth(w), ==, 2);
    mx_json_end_array(w);
    mx_json_end_object(w);
    g_assert_cmpint(mx_json_out_depth(w), ==, 0);
    g_autofree char *t = text_of(w);
    g_assert_cmpstr(t, ==, "{\"a\":[]}");
}

/* ---- layout --------------------------------------------------------------- */

/* What json-glib 1.6.6 printed for this tree (pretty with indent 1, and
 * compact), taken from its output. */
static void layout_tree(mx_json_out *w)
{
    mx_json_begin_object(w);
    mx_json_key(w, "ea");
    mx_json_begin_array(w);
    mx_json_end_array(w);
    mx_json_key(w, "eo");
    mx_json_begin_object(w);
    mx_json_end_object(w);
    mx_json_key(w, "t");
    mx_json_bool(w, true);
    mx_json_key(w, "f");
    mx_json_bool(w, false);
    mx_json_key(w, "d");
    mx_json_double(w, 5.0);
    mx_json_key(w, "k\x01\"y");
    mx_json_string(w, NULL);
    mx_json_key(w, "a");
    mx_json_begin_array(w);
    mx_json_begin_object(w);
    mx_json_end_object(w);
    mx_json_begin_array(w);
    mx_json_int(w, -3);
    mx_json_int(w, INT64_MIN);
    mx_json_double(w, 0.1);
    mx_json_end_array(w);
    mx_json_end_array(w);
    mx_json_end_object(w);
}

static void test_pretty(void)
{
    mx_json_out *w = mx_json_out_new(NULL, true);
    layout_tree(w);
    g_autofree char *t = text_of(w);
    g_assert_cmpstr(t, ==,
                    "{\n"
                    " \"ea\" : [],\n"
                    " \"eo\" : {},\n"
                    " \"t\" : true,\n"
                    " \"f\" : false,\n"
                    " \"d\" : 5,\n"
                    " \"k\\u0001\\\"y\" : null,\n"
                    " \"a\" : [\n"
                    "  {},\n"
                    "  [\n"
                    "   -3,\n"
                    "   -9223372036854775808,\n"
                    "   0.1\n"
                    "  ]\n"
                    " ]\n"
                    "}");
}

static void test_compact(void)
{
    mx_json_out *w = mx_json_out_new(NULL, false);
    layout_tree(w);
    g_autofree char *t = text_of(w);
    g_assert_cmpstr(t, ==,
                    "{\"ea\":[],\"eo\":{},\"t\":true,\"f\":false,\"d\":5,\"k\\u0001\\\"y\":null,"
                    "\"a\":[{},[-3,-9223372036854775808,0.1]]}");
}

/* mxray's document: pretty, each session compact on its own line. */
static void test_compact_depth(void)
{
    mx_json_out *w = mx_json_out_new(NULL, true);
    mx_json_out_set_compact_depth(w, 2);
    mx_json_begin_object(w);
    mx_json_key(w, "sessions");
    mx_json_begin_array(w);
    for (int i = 0; i < 2; i++) {
        mx_json_begin_object(w);
        mx_json_key(w, "id");
        mx_json_int(w, i);
        mx_json_key(w, "x");
        mx_json_begin_array(w);
        mx_json_int(w, 1);
        mx_json_end_array(w);
        mx_json_end_object(w);
    }
    mx_json_end_array(w);
    mx_json_end_object(w);
    g_autofree char *t = text_of(w);
    g_assert_cmpstr(t, ==, "{\n \"sessions\" : [\n  {\"id\":0,\"x\":[1]},\n  {\"id\":1,\"x\":[1]}\n ]\n}");
}

/* A FILE writer: nothing lost across the 64 KiB flushes. */
static void test_file(void)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    mx_json_out *w = mx_json_out_new(f, false);
    mx_json_begin_array(w);
    for (int i = 0; i < 100000; i++)
        mx_json_string(w, "abcdefgh");
    mx_json_end_array(w);
    mx_json_raw(w, "\n");
    g_assert_null(mx_json_out_error(w));
    mx_json_out_flush(w);
    mx_json_out_free(w);
    fclose(f);
    g_assert_cmpuint(len, ==, 100000 * 11 - 1 + 2 + 1);   /* "abcdefgh", brackets, newline */
    g_assert_cmpmem(mem, 12, "[\"abcdefgh\",", 12);
    g_assert_cmpmem(mem + len - 13, 13, ",\"abcdefgh\"]\n", 13);
    free(mem);
}

/* ---- the escaper ------------------------------------------------------------- */

static char *escaped(const char *s, size_t len)
{
    mx_json_out *w = mx_json_out_new(NULL, false);
    mx_json_string_len(w, s, len);
    return text_of(w);
}

static void test_controls(void)
{
    static const char *named[32] = { [8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r" };
    for (int c = 0; c < 0x20; c++) {
        char in = (char)c, want[16];
        if (named[c])
            g_snprintf(want, sizeof want, "\"%s\"", named[c]);
        else
            g_snprintf(want, sizeof want, "\"\\u%04x\"", c);
        g_autofree char *t = escaped(&in, 1);
        g_assert_cmpstr(t, ==, want);
    }
    g_autofree char *del = escaped("\x7f", 1);
    g_assert_cmpstr(del, ==, "\"\\u007f\"");
    g_autofree char *q = escaped("a\"b\\c/", 6);
    g_assert_cmpstr(q, ==, "\"a\\\"b\\\\c/\"");
    /* Everything printable but '"' and '\\' as it is. */
    for (int c = 0x20; c < 0x7f; c++) {
        if (c == '"' || c == '\\')
            continue;
        char in = (char)c, want[4] = { '"', (char)c, '"', 0 };
        g_autofree char *t = escaped(&in, 1);
        g_assert_cmpstr(t, ==, want);
    }
}

static void test_nul(void)
{
    g_autofree char *t = escaped("a\0b\0", 4);
    g_assert_cmpstr(t, ==, "\"a\\u0000b\\u0000\"");
}

#define FFFD "\xef\xbf\xbd"

static const struct { const char *in; size_t len; const char *out; } utf8_cases[] = {
    { "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },                      /* valid: kept */
    { "\xe2\x82\xac\xf0\x9f\x98\x80", 7, "\"\xe2\x82\xac\xf0\x9f\x98\x80\"" },
    { "\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7, "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"" }, /* U+FFFF, U+10FFFF */
    { "\x80", 1, "\"" FFFD "\"" },                                 /* lone continuation */
    { "\xc0\xaf", 2, "\"" FFFD FFFD "\"" },                        /* overlong '/' */
    { "\xc1\xbf", 2, "\"" FFFD FFFD "\"" },
    { "\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\"" },               /* overlong, 3 bytes */
    { "\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\"" },               /* surrogate U+D800 */
    { "\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\"" },      /* past U+10FFFF */
    { "\xf5\x80", 2, "\"" FFFD FFFD "\"" },
    { "\xe2\x82", 2, "\"" FFFD "\"" },                             /* cut short: one */
    { "\xe2\x82x", 3, "\"" FFFD "x\"" },
    { "\xf0\x9f\x98", 3, "\"" FFFD "\"" },
    { "\xf0\x9f\x98\xe2\x82\xac", 6, "\"" FFFD "\xe2\x82\xac\"" },
    { "\xfe\xff", 2, "\"" FFFD FFFD "\"" },
    { "a\xc3\"", 3, "\"a" FFFD "\\\"\"" },                         /* the quote still escaped */
};

static void test_utf8(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(utf8_cases); i++) {
        g_autofree char *t = escaped(utf8_cases[i].in, utf8_cases[i].len);
        g_assert_cmpstr(t, ==, utf8_cases[i].out);
    }
}

/* ---- for json-out-check.py ------------------------------------------------------ */

static int roundtrip(int n, guint32 seed)
{
    static const uint8_t interesting[] = { 0, 1, 0x1f, 0x7f, '"', '\\', '\n', 0x80, 0xbf, 0xc0, 0xc2, 0xdf,
                                           0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x8f, 0x90 };
    GRand *rand = g_rand_new_with_seed(seed);
    mx_json_out *w = mx_json_out_new(stdout, false);
    for (int i = 0; i < n; i++) {
        uint8_t buf[64];
        int len = g_rand_int_range(rand, 0, sizeof buf);
        for (int k = 0; k < len; k++)
            buf[k] = g_rand_boolean(rand) ? interesting[g_rand_int_range(rand, 0, sizeof interesting)]
                                          : (uint8_t)g_rand_int_range(rand, 0, 256);
        char hex[2 * sizeof buf + 2];
        for (int k = 0; k < len; k++)
            g_snprintf(hex + 2 * k, 3, "%02x", buf[k]);
        hex[2 * len] = '\t';
        hex[2 * len + 1] = '\0';
        mx_json_raw(w, hex);
        mx_json_string_len(w, (const char *)buf, (size_t)len);
        mx_json_raw(w, "\n");
    }
    /* And a document of every kind of value, pretty and compact. */
    for (int pretty = 0; pretty < 2; pretty++) {
        mx_json_out *d = mx_json_out_new(NULL, pretty);
        layout_tree(d);
        mx_json_raw(w, "\x1e");       /* never in JSON text: escaped in strings */
        mx_json_raw(w, mx_json_out_text(d, NULL));
        mx_json_out_free(d);
    }
    int rc = mx_json_out_error(w) ? 1 : 0;
    mx_json_out_flush(w);
    mx_json_out_free(w);
    g_rand_free(rand);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--roundtrip") == 0)
        return roundtrip(atoi(argv[2]), (guint32)strtoul(argv[3], NULL, 10));
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(misuses); i++) {
        g_autofree char *path = g_strdup_printf("/json-out/misuse/%s", misuses[i].name);
        g_test_add_data_func(path, (gconstpointer)misuses[i].fn, test_misuse);
    }
    g_test_add_func("/json-out/balanced", test_balanced);
    g_test_add_func("/json-out/layout/pretty", test_pretty);
    g_test_add_func("/json-out/layout/compact", test_compact);
    g_test_add_func("/json-out/layout/compact-depth", test_compact_depth);
    g_test_add_func("/json-out/file", test_file);
    g_test_add_func("/json-out/escape/controls", test_controls);
    g_test_add_func("/json-out/escape/nul", test_nul);
    g_test_add_func("/json-out/escape/utf8", test_utf8);
    return g_test_run();
}
