/* SPDX-License-Identifier: BSD-3-Clause */
/* writer.h — writes finished sessions on a second thread.
 *
 * Takes: sessions as the analyzer finishes them, and a function that
 * writes one.  Produces: the same calls, in the same order, on a thread
 * of their own, so formatting the report runs beside packet reading
 * instead of after it.
 * Owns: the sessions it is given (freed once written) and a bounded
 * number of batches, so a slow writer holds the reader back rather than
 * letting memory grow.
 */
#ifndef MX_WRITER_H
#define MX_WRITER_H

#include "session.h"

typedef void (*mx_writer_fn)(void *ctx, const mx_session *s);

typedef struct mx_writer mx_writer;

/* write(ctx, s) is called on the writer thread only, for each session in
 * turn; nothing else may use what it writes to until mx_writer_finish(). */
mx_writer *mx_writer_new(mx_writer_fn write, void *ctx);

/* Hands s over: it is written, then freed.  Blocks while
 * MX_WRITER_BATCHES batches wait to be written. */
void mx_writer_session(mx_writer *w, mx_session *s);

/* Writes what is left, stops the thread and frees the writer. */
void mx_writer_finish(mx_writer *w);

#endif
