/* SPDX-License-Identifier: BSD-3-Clause */
/* writer.c — a second thread that writes sessions, fed in batches.
 *
 * Sessions travel in batches of MX_WRITER_BATCH so the threads meet (a
 * lock and a wake-up) once per batch, not per session; batches come back
 * through a second queue and are reused, so none is allocated once
 * MX_WRITER_BATCHES exist.  A written batch's sessions are freed by the
 * reader when it reuses the batch: memory goes back to the allocator
 * arena of the thread that took it, without the two threads contending
 * for one arena's lock.
 */
#include "writer.h"
#include "caps.h"

#include <glib.h>

typedef struct batch {
    guint n;
    mx_session *sessions[MX_WRITER_BATCH];
} batch;

struct mx_writer {
    mx_writer_fn write;
    void *ctx;
    GThread *thread;
    GAsyncQueue *todo;       /* batches to write, then the stop marker */
    GAsyncQueue *done;       /* written batches, ready for reuse */
    GPtrArray *batches;      /* every batch allocated, to free at the end */
    batch *filling;          /* the batch the reader is adding to */
    batch stop;              /* its address tells the thread to end */
};

static gpointer writer_main(gpointer data)
{
    mx_writer *w = data;
    for (;;) {
        batch *b = g_async_queue_pop(w->todo);
        if (b == &w->stop)
            return NULL;
        for (guint i = 0; i < b->n; i++)
            w->write(w->ctx, b->sessions[i]);
        g_async_queue_push(w->done, b);
    }
}

mx_writer *mx_writer_new(mx_writer_fn write, void *ctx)
{
    mx_writer *w = g_new0(mx_writer, 1);
    w->write = write;
    w->ctx = ctx;
    w->todo = g_async_queue_new();
    w->done = g_async_queue_new();
    w->batches = g_ptr_array_new_with_free_func(g_free);
    w->thread = g_thread_new("mxray-writer", writer_main, w);
    return w;
}

static void free_sessions(batch *b)
{
    for (guint i = 0; i < b->n; i++)
        mx_session_free(b->sessions[i]);
    b->n = 0;
}

static batch *free_batch(mx_writer *w)
{
    if (w->batches->len < MX_WRITER_BATCHES) {
        batch *b = g_new0(batch, 1);
        g_ptr_array_add(w->batches, b);
        return b;
    }
    batch *b = g_async_queue_pop(w->done);   /* waits for the writer to catch up */
    free_sessions(b);
    return b;
}

void mx_writer_session(mx_writer *w, mx_session *s)
{
    if (w->filling == NULL)
        w->filling = free_batch(w);
    w->filling->sessions[w->filling->n++] = s;
    if (w->filling->n == MX_WRITER_BATCH) {
        g_async_queue_push(w->todo, w->filling);
        w->filling = NULL;
    }
}

void mx_writer_finish(mx_writer *w)
{
    if (w->filling && w->filling->n > 0)
        g_async_queue_push(w->todo, w->filling);
    g_async_queue_push(w->todo, &w->stop);
    g_thread_join(w->thread);
    for (guint i = 0; i < w->batches->len; i++)
        free_sessions(g_ptr_array_index(w->batches, i));
    g_async_queue_unref(w->todo);
    g_async_queue_unref(w->done);
    g_ptr_array_free(w->batches, TRUE);
    g_free(w);
}
