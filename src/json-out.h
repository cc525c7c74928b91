/* SPDX-License-Identifier: BSD-3-Clause */
/* json-out.h — the one streaming JSON writer (as Wireshark's json_dumper).
 *
 * Takes: keys and values in document order.  Produces: JSON text, compact
 * or pretty-printed (indent 1, "key" : value, empty containers as {} and
 * [], as json-glib 1.6 prints them, so mxray's documents kept their bytes
 * when json-glib went), into a growable buffer flushed to a FILE* at value
 * boundaries.  Owns: the buffer and a nesting-state stack that refuses
 * misuse (a key outside an object, a value where a key is due, a close
 * that does not match): the call writes nothing and sets the error that
 * mx_json_out_error() returns, so tests and callers can check it.
 *
 * Strings go through one escaper (mx_json_escape): '"' and '\\' escaped,
 * \b \t \n \f \r by name, every other byte below 0x20 and 0x7f as \u00xx
 * (lowercase hex, NUL included), valid UTF-8 as it is, and invalid UTF-8
 * (overlong forms, surrogates and code points past U+10FFFF included) as
 * U+FFFD, one for each maximal subpart of a sequence (Unicode's best
 * practice, WHATWG's decoder, Python's errors="replace": "\xe2\x82" is one
 * U+FFFD, "\xc0\xaf" two).  json-glib wrote 0x1f and
 * invalid UTF-8 raw, which is not JSON; no string taken from packets holds
 * either (SMTP text is \xNN-escaped and DNS names are printable ASCII
 * before they get here), so there the two are byte for byte the same.  An
 * MTA log's text (read --maillog) is as the log has it and may hold both:
 * there json-glib's document did not parse, this one does.
 */
#ifndef MX_JSON_OUT_H
#define MX_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MX_JSON_MAX_DEPTH 32

typedef struct mx_json_out mx_json_out;

/* out: where the text goes (flushed when the buffer passes 64 KiB and on
 * mx_json_out_flush), or NULL to keep it in memory (mx_json_out_text).
 * pretty: json-glib's pretty layout; else compact. */
mx_json_out *mx_json_out_new(FILE *out, bool pretty);
void mx_json_out_free(mx_json_out *w);

/* Containers opened at this depth or deeper (the root value is depth 0)
 * are written compact inside a pretty document: mxray's document keeps a
 * session a line.  Default: never. */
void mx_json_out_set_compact_depth(mx_json_out *w, int depth);

void mx_json_begin_object(mx_json_out *w);
void mx_json_end_object(mx_json_out *w);
void mx_json_begin_array(mx_json_out *w);
void mx_json_end_array(mx_json_out *w);
void mx_json_key(mx_json_out *w, const char *key);
void mx_json_string(mx_json_out *w, const char *s);      /* NULL writes null */
void mx_json_string_len(mx_json_out *w, const char *s, size_t len);
void mx_json_int(mx_json_out *w, int64_t v);
void mx_json_double(mx_json_out *w, double v);          /* %.15g (round-trips what mxray computes); NaN, inf: null */
void mx_json_bool(mx_json_out *w, bool v);
void mx_json_null(mx_json_out *w);

/* Text between top-level values (a newline after each jsonl line): only
 * at depth 0, never inside a value. */
void mx_json_raw(mx_json_out *w, const char *text);

/* The first misuse ("value in an object where a key is due" ...), or NULL;
 * after it the writer writes nothing more. */
const char *mx_json_out_error(const mx_json_out *w);
/* Depth now: 0 when every container opened was closed. */
int mx_json_out_depth(const mx_json_out *w);

/* Writes the buffer to the FILE (no fflush); a memory writer keeps it. */
void mx_json_out_flush(mx_json_out *w);
/* A memory writer's text so far (NUL-terminated), and its length. */
const char *mx_json_out_text(const mx_json_out *w, size_t *len);
/* Forgets the text (a memory writer reused) and any error; depth 0. */
void mx_json_out_reset(mx_json_out *w);

/* The escaper alone: s[0..len) as a JSON string with its quotes, appended
 * to w (used by the writer; the fuzz target calls it directly). */
void mx_json_escape(mx_json_out *w, const char *s, size_t len);

#endif
