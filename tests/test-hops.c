/* SPDX-License-Identifier: BSD-3-Clause */
/* test-hops.c — /hops/... and /ladder/...: the hop model's TTL arithmetic at
 * every initial-TTL boundary, IP ID classes, per-server baselines, and the
 * ladder's head plus tail ring (hops.c, ladder.c).
 */
#include <glib.h>
#include <string.h>

#include "hops.h"
#include "ladder.h"

/* Observed TTL -> initial TTL and hop (DESIGN.md: hop = initial - observed + 1,
 * initial = the next of 32, 64, 128, 255 at or above the observed value). */
static void test_ttl_boundaries(void)
{
    static const struct { uint8_t ttl; int initial, hop; } rows[] = {
        { 1, 32, 32 },  { 31, 32, 2 },  { 32, 32, 1 },
        { 33, 64, 32 }, { 62, 64, 3 },  { 63, 64, 2 }, { 64, 64, 1 },
        { 65, 128, 64 }, { 127, 128, 2 }, { 128, 128, 1 },
        { 129, 255, 127 }, { 254, 255, 2 }, { 255, 255, 1 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_test_message("TTL %u", rows[i].ttl);
        g_assert_cmpint(mx_initial_ttl(rows[i].ttl), ==, rows[i].initial);
        g_assert_cmpint(mx_hop_of_ttl(rows[i].ttl), ==, rows[i].hop);
    }
    /* Every TTL gives a hop of at least 1 (the sender itself is never hop 0). */
    for (int t = 1; t <= 255; t++)
        g_assert_cmpint(mx_hop_of_ttl((uint8_t)t), >=, 1);
}

static void test_ipid_classes(void)
{
    /* Fewer than three packets show no pattern. */
    g_assert_cmpint(mx_ipid_classify(0, 0, 0), ==, MX_IPID_UNKNOWN);
    g_assert_cmpint(mx_ipid_classify(2, 2, 1), ==, MX_IPID_UNKNOWN);
    /* All zero: Linux with DF set. */
    g_assert_cmpint(mx_ipid_classify(3, 3, 0), ==, MX_IPID_ZERO);
    g_assert_cmpint(mx_ipid_classify(50, 50, 49), ==, MX_IPID_ZERO);
    /* A counter: at least 80 % of the steps small.  10 samples, 9 steps:
     * 8 small is 88 %, 7 small is 77 %. */
    g_assert_cmpint(mx_ipid_classify(10, 0, 9), ==, MX_IPID_COUNTER);
    g_assert_cmpint(mx_ipid_classify(10, 0, 8), ==, MX_IPID_COUNTER);
    g_assert_cmpint(mx_ipid_classify(10, 0, 7), ==, MX_IPID_RANDOM);
    /* One zero (the SYN-ACK's) among counted IDs is normal: that step is
     * not held against the counter (8 steps, 7 small = 87 %). */
    g_assert_cmpint(mx_ipid_classify(10, 1, 7), ==, MX_IPID_COUNTER);
    g_assert_cmpint(mx_ipid_classify(10, 1, 6), ==, MX_IPID_RANDOM);
    g_assert_cmpint(mx_ipid_classify(3, 0, 2), ==, MX_IPID_COUNTER);
    g_assert_cmpint(mx_ipid_classify(3, 0, 0), ==, MX_IPID_RANDOM);
}

static void test_baselines(void)
{
    mx_hop_baselines *b = mx_hop_baselines_new();
    mx_addr s1, s2;
    g_assert_true(mx_addr_parse("203.0.113.25", &s1));
    g_assert_true(mx_addr_parse("2001:db8::25", &s2));
    mx_frame_ref f4 = { 4, 0, 100 }, f9 = { 9, 0, 200 }, f12 = { 12, 1, 300 }, got = { 0 };
    int hop = 0;
    g_assert_false(mx_hop_baselines_get(b, &s1, &hop, &got));
    g_assert_false(mx_hop_baselines_get(NULL, &s1, &hop, &got));
    mx_hop_baselines_note(b, &s1, 0, &f4);               /* unknown hop: ignored */
    g_assert_false(mx_hop_baselines_get(b, &s1, &hop, &got));
    mx_hop_baselines_note(b, &s1, 2, &f4);
    mx_hop_baselines_note(b, &s1, 3, &f9);               /* farther: the server's own */
    mx_hop_baselines_note(b, &s1, 2, &f12);              /* nearer: a middlebox's, ignored */
    g_assert_true(mx_hop_baselines_get(b, &s1, &hop, &got));
    g_assert_cmpint(hop, ==, 3);
    g_assert_cmpuint(got.frame, ==, 9);
    g_assert_false(mx_hop_baselines_get(b, &s2, &hop, NULL));
    mx_hop_baselines_note(b, &s2, 5, &f12);
    g_assert_true(mx_hop_baselines_get(b, &s2, &hop, NULL));
    g_assert_cmpint(hop, ==, 5);
    mx_hop_baselines_free(b);
}

/* ---- ladder ---------------------------------------------------------------- */

typedef struct walked {
    uint64_t frames[MX_LADDER_HEAD + MX_LADDER_TAIL + 1];
    size_t n;
} walked;

static void collect(const mx_ladder_step *step, void *ctx)
{
    walked *w = ctx;
    g_assert_cmpuint(w->n, <, G_N_ELEMENTS(w->frames));
    w->frames[w->n++] = step->at.frame;
}

/* Adds steps for frames 1..n and walks: the first MX_LADDER_HEAD, then the
 * last min(n - HEAD, TAIL) in order; returns how many were left out. */
static void ladder_of(uint64_t n)
{
    mx_ladder l;
    memset(&l, 0, sizeof l);
    for (uint64_t i = 1; i <= n; i++) {
        mx_ladder_step st = { .at = { .frame = i } };
        mx_ladder_add(&l, &st);
    }
    walked w = { .n = 0 };
    uint32_t skipped = mx_ladder_walk(&l, collect, &w);
    uint64_t head = n < MX_LADDER_HEAD ? n : MX_LADDER_HEAD;
    uint64_t rest = n - head;
    uint64_t tail = rest < MX_LADDER_TAIL ? rest : MX_LADDER_TAIL;
    g_test_message("%" G_GUINT64_FORMAT " steps", n);
    g_assert_cmpuint(l.total, ==, n);
    g_assert_cmpuint(skipped, ==, rest - tail);
    g_assert_cmpuint(w.n, ==, head + tail);
    for (uint64_t i = 0; i < head; i++)
        g_assert_cmpuint(w.frames[i], ==, i + 1);
    for (uint64_t i = 0; i < tail; i++)
        g_assert_cmpuint(w.frames[head + i], ==, n - tail + 1 + i);
    g_assert_cmpuint(l.cap, <=, MX_LADDER_HEAD + MX_LADDER_TAIL);
    mx_ladder_clear(&l);
}

static void test_ladder_ring(void)
{
    /* Empty, inside the head, the head just full, the tail filling, the
     * ring exactly full, one past it (the first overwrite), and many
     * times round (including the ring's index passing MX_LADDER_TAIL
     * at every phase). */
    const uint64_t H = MX_LADDER_HEAD, T = MX_LADDER_TAIL;
    const uint64_t sizes[] = { 0, 1, H - 1, H, H + 1, H + T - 1, H + T, H + T + 1, H + 2 * T, H + 2 * T + 1,
                               H + 7 * T + 5, 1000, 65537 };
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++)
        ladder_of(sizes[i]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hops/ttl-boundaries", test_ttl_boundaries);
    g_test_add_func("/hops/ipid-classes", test_ipid_classes);
    g_test_add_func("/hops/baselines", test_baselines);
    g_test_add_func("/ladder/ring-wrap", test_ladder_ring);
    return g_test_run();
}
