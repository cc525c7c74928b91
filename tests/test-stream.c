/* SPDX-License-Identifier: BSD-3-Clause */
/* test-stream.c — /stream/...: reassembly of one TCP direction.
 *
 * Each case is a list of segments (offset from base_seq, bytes, captured
 * length) and the stream it must produce, holes written as <gap OFF+LEN>.
 */
#include <glib.h>
#include <string.h>

#include "stream.h"

typedef struct seg {
    int64_t off;             /* relative to base_seq (may be negative) */
    const char *data;
    int caplen;              /* -1: all captured */
} seg;

typedef struct stream_case {
    const char *path;
    uint32_t base_seq;
    seg segs[8];
    const char *want;
    uint64_t want_held, want_gaps, want_gap_bytes;
} stream_case;

typedef struct sink {
    GString *out;
    uint64_t pos;            /* next offset the stream owes us */
    int calls;
} sink;

static void on_data(void *ctx, int dir, const uint8_t *data, size_t len, uint64_t offset, const mx_packet *pkt)
{
    sink *k = ctx;
    g_assert_cmpint(dir, ==, 0);
    g_assert_nonnull(pkt);
    g_assert_cmpuint(offset, ==, k->pos);   /* in order, once each */
    g_string_append_len(k->out, (const char *)data, (gssize)len);
    k->pos += len;
    k->calls++;
}

static void on_gap(void *ctx, int dir, uint64_t offset, uint64_t missing, const mx_packet *pkt)
{
    sink *k = ctx;
    g_assert_cmpuint(offset, ==, k->pos);
    g_string_append_printf(k->out, "<gap %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT ">", offset, missing);
    k->pos += missing;
}

static void put(struct mx_stream *st, uint32_t base, int64_t off, const char *data, int caplen, uint64_t frame)
{
    mx_packet p = { 0 };
    p.frame = frame;
    p.ts_us = (int64_t)frame * 1000;
    p.seq = base + (uint32_t)off;
    p.payload = (const uint8_t *)data;
    p.payload_len = (uint32_t)strlen(data);
    p.payload_caplen = caplen < 0 ? p.payload_len : (uint32_t)caplen;
    mx_stream_segment(st, &p);
}

static const stream_case cases[] = {
    { "/stream/in-order", 1000, { { 0, "EHLO ", -1 }, { 5, "gw\r\n", -1 } }, "EHLO gw\r\n", 0, 0, 0 },
    { "/stream/retransmit-identical", 1000, { { 0, "ABCD", -1 }, { 0, "ABCD", -1 }, { 4, "EF", -1 } },
      "ABCDEF", 0, 0, 0 },
    { "/stream/overlap", 1000, { { 0, "ABCD", -1 }, { 2, "CDEF", -1 } }, "ABCDEF", 0, 0, 0 },
    { "/stream/out-of-order", 1000, { { 4, "EF", -1 }, { 0, "ABCD", -1 } }, "ABCDEF", 1, 0, 0 },
    { "/stream/out-of-order-overlapping-held", 1000,
      { { 6, "GHIJ", -1 }, { 4, "EFGH", -1 }, { 0, "ABCD", -1 } }, "ABCDEFGHIJ", 2, 0, 0 },
    { "/stream/out-of-order-duplicate-held", 1000,
      { { 4, "EF", -1 }, { 4, "EF", -1 }, { 0, "ABCD", -1 } }, "ABCDEF", 1, 0, 0 },
    { "/stream/gap-at-finish", 1000, { { 0, "AB", -1 }, { 4, "EF", -1 } }, "AB<gap 2+2>EF", 1, 1, 2 },
    { "/stream/snapped", 1000, { { 0, "ABCD", 2 }, { 4, "EF", -1 } }, "AB<gap 2+2>EF", 0, 1, 2 },
    { "/stream/snapped-retransmission-of-cut-part", 1000, { { 0, "ABCD", 2 }, { 2, "CD", -1 }, { 4, "E", -1 } },
      "AB<gap 2+2>E", 0, 1, 2 },
    { "/stream/wraparound", 0xfffffffeu, { { 0, "ABCD", -1 }, { 4, "EF", -1 } }, "ABCDEF", 0, 0, 0 },
    { "/stream/wraparound-out-of-order", 0xfffffffcu, { { 4, "EF", -1 }, { 0, "ABCD", -1 } }, "ABCDEF", 1, 0, 0 },
    { "/stream/before-base", 1000, { { -2, "xxAB", -1 }, { 2, "CD", -1 } }, "ABCD", 0, 0, 0 },
};

static void test_case(gconstpointer data)
{
    const stream_case *c = data;
    sink k = { g_string_new(NULL), 0, 0 };
    struct mx_stream *st = mx_stream_new(0, c->base_seq, on_data, on_gap, &k);
    for (int i = 0; i < 8 && c->segs[i].data; i++)
        put(st, c->base_seq, c->segs[i].off, c->segs[i].data, c->segs[i].caplen, (uint64_t)i + 1);
    mx_stream_finish(st);
    g_assert_cmpstr(k.out->str, ==, c->want);
    const mx_stream_stats *ss = mx_stream_get_stats(st);
    g_assert_cmpuint(ss->ooo_held, ==, c->want_held);
    g_assert_cmpuint(ss->gaps, ==, c->want_gaps);
    g_assert_cmpuint(ss->gap_bytes, ==, c->want_gap_bytes);
    mx_stream_free(st);
    g_string_free(k.out, TRUE);
}

/* Many wraps of the 32-bit space: offsets keep counting past 4 GB. */
static void test_offset_64bit(void)
{
    sink k = { g_string_new(NULL), 0, 0 };
    struct mx_stream *st = mx_stream_new(0, 7, on_data, on_gap, &k);
    static char block[60000];
    memset(block, 'x', sizeof block - 1);
    uint64_t sent = 0;
    uint64_t frame = 1;
    /* 5 GB in 60 kB segments, without storing it: count only. */
    while (sent < 5ull * 1024 * 1024 * 1024) {
        put(st, 7, (int64_t)(uint32_t)sent, block, -1, frame++);
        sent += sizeof block - 1;
        g_string_truncate(k.out, 0);
    }
    g_assert_cmpuint(mx_stream_next_offset(st), ==, sent);
    g_assert_cmpuint(k.pos, ==, sent);
    mx_stream_free(st);
    g_string_free(k.out, TRUE);
}

/* The holding area is bounded: past the cap the hole is given up and counted. */
static void test_cap(void)
{
    sink k = { g_string_new(NULL), 0, 0 };
    struct mx_stream *st = mx_stream_new(0, 1, on_data, on_gap, &k);
    char one[2] = "a";
    put(st, 1, 0, "S", -1, 1);
    /* Hole at offset 1; hold MX_STREAM_OOO_SEGMENTS one-byte segments after it. */
    for (int i = 0; i < MX_STREAM_OOO_SEGMENTS; i++) {
        one[0] = (char)('a' + i % 26);
        put(st, 1, 2 + i, one, -1, (uint64_t)i + 2);
    }
    g_assert_cmpuint(mx_stream_get_stats(st)->ooo_held, ==, MX_STREAM_OOO_SEGMENTS);
    g_assert_cmpuint(k.pos, ==, 1);
    put(st, 1, 2 + MX_STREAM_OOO_SEGMENTS, "z", -1, 100);
    const mx_stream_stats *ss = mx_stream_get_stats(st);
    g_assert_cmpuint(ss->cap_hits, ==, 1);
    g_assert_cmpuint(ss->gaps, ==, 1);
    g_assert_cmpuint(ss->gap_bytes, ==, 1);
    g_assert_cmpstr(k.out->str, ==, "S<gap 1+1>abcdefghijklmnopz");
    /* The late original of the hole is old news now. */
    put(st, 1, 1, "H", -1, 101);
    g_assert_cmpuint(ss->old_bytes, ==, 1);
    mx_stream_free(st);
    g_string_free(k.out, TRUE);
}

/* The peer ACKing past a hole proves capture loss: report it at once. */
static void test_acked_hole(void)
{
    sink k = { g_string_new(NULL), 0, 0 };
    struct mx_stream *st = mx_stream_new(0, 100, on_data, on_gap, &k);
    put(st, 100, 0, "AB", -1, 1);
    put(st, 100, 4, "EF", -1, 2);
    mx_stream_acked(st, 100 + 3);        /* not past the hole yet */
    g_assert_cmpstr(k.out->str, ==, "AB");
    mx_stream_acked(st, 100 + 6);
    g_assert_cmpstr(k.out->str, ==, "AB<gap 2+2>EF");
    mx_stream_acked(st, 100 + 7);        /* FIN's sequence number: no hole */
    mx_stream_finish(st);
    g_assert_cmpstr(k.out->str, ==, "AB<gap 2+2>EF");
    mx_stream_free(st);
    g_string_free(k.out, TRUE);
}

/* In-order data is passed from the packet itself, not copied. */
static const uint8_t *zc_seen;
static void on_data_ptr(void *ctx, int dir, const uint8_t *data, size_t len, uint64_t offset, const mx_packet *pkt)
{
    zc_seen = data;
}

static void test_zero_copy(void)
{
    const char *data = "HELO x\r\n";
    struct mx_stream *st = mx_stream_new(0, 5, on_data_ptr, NULL, NULL);
    mx_packet p = { .frame = 1, .seq = 5, .payload = (const uint8_t *)data, .payload_len = 8, .payload_caplen = 8 };
    mx_stream_segment(st, &p);
    g_assert_true(zc_seen == (const uint8_t *)data);
    mx_stream_free(st);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        g_test_add_data_func(cases[i].path, &cases[i], test_case);
    g_test_add_func("/stream/offset-64bit", test_offset_64bit);
    g_test_add_func("/stream/cap", test_cap);
    g_test_add_func("/stream/acked-hole", test_acked_hole);
    g_test_add_func("/stream/zero-copy", test_zero_copy);
    return g_test_run();
}
