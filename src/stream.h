/* SPDX-License-Identifier: BSD-3-Clause */
/* stream.h — TCP stream reassembly of one direction of one flow.
 *
 * Takes: the TCP segments of one direction that carry payload, in capture
 * order.  Produces: the stream's bytes in order, once each, through the
 * deliver callback, and every hole it had to give up on through the gap
 * callback.  Owns: copies of out-of-order segments only (the rare path).
 *
 * Offsets are 64-bit, counted from base_seq (the first data byte), so the
 * 32-bit sequence space may wrap any number of times.  In-order data is
 * delivered straight from the packet: no copy, no allocation.
 */
#ifndef MX_STREAM_H
#define MX_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "packet.h"

struct mx_stream;

/* data points into pkt's payload (or into a held copy, in which case pkt is
 * the held segment's own packet header with payload pointing at the copy).
 * Valid only during the call. */
typedef void (*mx_stream_deliver_fn)(void *ctx, int dir, const uint8_t *data, size_t len,
                                     uint64_t offset, const mx_packet *pkt);
/* Bytes [offset, offset + missing) will never be delivered; pkt is the
 * segment that made the hole known (the first one after it). */
typedef void (*mx_stream_gap_fn)(void *ctx, int dir, uint64_t offset, uint64_t missing,
                                 const mx_packet *pkt);

/* Counters for the stats (every cap hit is counted, never silent). */
typedef struct mx_stream_stats {
    uint64_t segments;       /* segments given to mx_stream_segment */
    uint64_t ooo_held;       /* segments held because they came before the bytes ahead of them */
    uint64_t cap_hits;       /* times the out-of-order cap was full: the hole was given up on early */
    uint64_t gaps;           /* holes reported through the gap callback */
    uint64_t gap_bytes;      /* bytes in those holes (snap-length cuts included) */
    uint64_t snapped;        /* segments whose payload the snap length cut */
    uint64_t old_bytes;      /* bytes received again after delivery (retransmissions, overlaps) */
} mx_stream_stats;

/* base_seq: sequence number of the first data byte (ISN+1 when the SYN was
 * seen, else the first segment's seq).  dir is passed back to callbacks. */
struct mx_stream *mx_stream_new(int dir, uint32_t base_seq, mx_stream_deliver_fn deliver,
                                mx_stream_gap_fn gap, void *ctx);

/* One TCP segment of this direction with payload_len > 0. */
void mx_stream_segment(struct mx_stream *s, const mx_packet *pkt);

/* The peer acknowledged every byte before ack (absolute sequence number):
 * data it acknowledged that the capture never showed will not come again
 * (capture loss), so holes below ack are reported now rather than at the
 * end.  Optional; without it such holes wait for the cap or for finish. */
void mx_stream_acked(struct mx_stream *s, uint32_t ack);

/* End of flow: reports each remaining hole and delivers what is held. */
void mx_stream_finish(struct mx_stream *s);

void mx_stream_free(struct mx_stream *s);

const mx_stream_stats *mx_stream_get_stats(const struct mx_stream *s);

/* Stream offset of the next byte expected (= bytes delivered + gap bytes). */
uint64_t mx_stream_next_offset(const struct mx_stream *s);

#endif
