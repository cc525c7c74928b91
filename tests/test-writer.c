/* SPDX-License-Identifier: BSD-3-Clause */
/* test-writer.c — the writer thread: every session written once, in the
 * order given, on a thread other than the caller's, and all of them freed
 * (the sanitizer build's leak check sees a lost one). */
#include "writer.h"

typedef struct seen {
    GArray *ids;
    GThread *caller;
    bool other_thread;
} seen;

static void record(void *ctx, const mx_session *s)
{
    seen *w = ctx;
    g_array_append_val(w->ids, s->id);
    if (g_thread_self() != w->caller)
        w->other_thread = true;
}

static void write_n(guint n)
{
    seen w = { .ids = g_array_new(FALSE, FALSE, sizeof(uint64_t)), .caller = g_thread_self() };
    mx_writer *wr = mx_writer_new(record, &w);
    for (guint i = 0; i < n; i++) {
        mx_session *s = mx_session_new();
        s->id = 1000 + i;
        mx_writer_session(wr, s);
    }
    mx_writer_finish(wr);
    g_assert_cmpuint(w.ids->len, ==, n);
    for (guint i = 0; i < n; i++)
        g_assert_cmpuint(g_array_index(w.ids, uint64_t, i), ==, 1000 + i);
    if (n > 0)
        g_assert_true(w.other_thread);
    g_array_free(w.ids, TRUE);
}

/* None, fewer than a batch, exactly the batches in flight, and many more
 * than that (the reader waits for the writer and reuses batches). */
static void test_none(void) { write_n(0); }
static void test_part_batch(void) { write_n(MX_WRITER_BATCH - 1); }
static void test_all_batches(void) { write_n(MX_WRITER_BATCH * MX_WRITER_BATCHES); }
static void test_many(void) { write_n(MX_WRITER_BATCH * MX_WRITER_BATCHES * 40 + 7); }

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/writer/none", test_none);
    g_test_add_func("/writer/part-batch", test_part_batch);
    g_test_add_func("/writer/all-batches", test_all_batches);
    g_test_add_func("/writer/many", test_many);
    return g_test_run();
}
