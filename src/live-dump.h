/* SPDX-License-Identifier: BSD-3-Clause */
/* live-dump.h — `live -w`: the captured packets written to pcap files, rotated as tcpdump does.
 *
 * Takes: every captured frame.  Produces: pcap files (pcap_dump), a new one
 * when the current one passes -C megabytes (1,000,000 bytes, as tcpdump
 * counts them) or when -G seconds have passed; the name is the -w pattern
 * through strftime(3) (with -G) plus a count (with -C): the same names
 * tcpdump gives, so `mxray read` merges them back.  Tells the caller each
 * frame's file and 1-based number in it, so evidence points into the files.
 * Owns: the open dump file.
 */
#ifndef MX_LIVE_DUMP_H
#define MX_LIVE_DUMP_H

#include <glib.h>
#include <pcap/pcap.h>
#include <stdint.h>

typedef struct mx_dump_opts {
    const char *pattern;       /* -w */
    int64_t rotate_bytes;      /* -C in bytes; 0: no size rotation */
    int rotate_secs;           /* -G; 0: no time rotation */
    int max_files;             /* -W with -C: reuse names in a ring of this many; 0: no limit */
} mx_dump_opts;

typedef struct mx_dump mx_dump;

mx_dump *mx_dump_open(pcap_t *capture, const mx_dump_opts *o, GError **error);
void mx_dump_close(mx_dump *d);

/* Writes one frame (rotating first when due); *file_index counts the
 * files opened so far (0 first), *frame is the frame's number in it. */
gboolean mx_dump_write(mx_dump *d, const struct pcap_pkthdr *h, const u_char *data,
                       uint32_t *file_index, uint64_t *frame, GError **error);
void mx_dump_flush(mx_dump *d);

/* SIGHUP: when the file was moved away (logrotate), a new one is opened
 * under its name; else nothing changes. */
gboolean mx_dump_reopen(mx_dump *d, GError **error);

/* Name of file number i (as counted by mx_dump_write). */
const char *mx_dump_file_name(const mx_dump *d, uint32_t file_index);
uint32_t mx_dump_file_count(const mx_dump *d);

#endif
