/* SPDX-License-Identifier: BSD-3-Clause */
/* source.h — capture input: pcap/pcapng files or stdin, several merged in time order.
 *
 * Takes: file names ("-" = stdin) and an optional BPF expression.
 * Produces: raw frames in time order across files, each with its file's
 * link type and its 1-based frame number within that file (as Wireshark
 * numbers it: every record counts, matched by the filter or not).
 * Owns: the pcap handles.  A file that cannot be opened or read to its
 * end is recorded as an error (one line naming the file and, where
 * libpcap can tell, the byte offset) while the other files go on.
 */
#ifndef MX_SOURCE_H
#define MX_SOURCE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct mx_raw_frame {
    const uint8_t *data;
    uint32_t caplen, wirelen;
    int64_t ts_us;
    uint64_t frame;          /* 1-based within its file */
    uint32_t file_index;
    int dlt;
} mx_raw_frame;

typedef struct mx_source mx_source;

/* Opens every file; returns NULL and sets *error when none can be used
 * (or the filter does not compile).  Files that fail to open are listed
 * by mx_source_errors() and skipped. */
mx_source *mx_source_open(const char *const *paths, size_t n_paths, const char *bpf_expr, GError **error);
void mx_source_free(mx_source *s);

/* Next frame in time order that passes the filter; false at the end. */
bool mx_source_next(mx_source *s, mx_raw_frame *out);

/* One-line messages for files that failed (NULL-terminated, owned by s). */
const GPtrArray *mx_source_errors(const mx_source *s);
size_t mx_source_file_count(const mx_source *s);
const char *mx_source_file_name(const mx_source *s, uint32_t file_index);
uint64_t mx_source_frames_read(const mx_source *s);
uint64_t mx_source_bytes_read(const mx_source *s);

#endif
