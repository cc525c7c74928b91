/* SPDX-License-Identifier: BSD-3-Clause */
/* capture-file.h — the stream libpcap reads a capture from.
 *
 * Takes: an open file descriptor.  Produces: a FILE that reads it and, in
 * a pcapng file, sets every interface's snap length to 0 ("no limit") on
 * the way.  libpcap 1.10 refuses a pcapng whose interfaces have different
 * snap lengths; tshark reads it, and each record's own captured length is
 * all the later stages use.  Other formats pass through untouched.
 */
#ifndef MX_CAPTURE_FILE_H
#define MX_CAPTURE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* fclose() closes fd too when close_fd is true.  NULL on failure (errno set). */
FILE *mx_capture_fdopen(int fd, bool close_fd);

/* The rewriting state, exposed for the unit test. */
typedef struct mx_pcapng_patch {
    bool passthrough;        /* not pcapng, or a block length that makes no sense */
    bool first_block;
    bool little_endian;      /* the current section's byte order */
    uint32_t type, len;      /* current block; len 0 until known */
    uint32_t off;            /* bytes of the current block seen */
    uint8_t hdr[12];         /* its first 12 bytes: type, length, SHB magic */
} mx_pcapng_patch;

void mx_pcapng_patch_init(mx_pcapng_patch *st);
/* Rewrites buf (the next n bytes of the file) in place. */
void mx_pcapng_patch_bytes(mx_pcapng_patch *st, uint8_t *buf, size_t n);

#endif
