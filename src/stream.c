/* SPDX-License-Identifier: BSD-3-Clause */
/* stream.c — in-order delivery of one TCP direction, with bounded out-of-order holding.
 *
 * The common case (the next expected bytes arrive) is delivered straight
 * from the packet.  A segment from beyond a hole is copied and held, sorted
 * by offset, until the hole fills; when the holding area is full, or the
 * peer ACKs past the hole, or the flow ends, the hole is reported as a gap
 * and what follows it is delivered.
 */
#include "stream.h"

#include <glib.h>
#include <string.h>

/* A held out-of-order segment: one allocation holding the packet header
 * (so callbacks get the segment's own frame and time) and its bytes. */
typedef struct held {
    uint64_t off;            /* stream offset of data[0] */
    uint32_t caplen;         /* bytes present (captured) */
    uint32_t wirelen;        /* bytes the segment carried on the wire */
    mx_packet pkt;           /* header copy; pkt.payload points at data */
    uint8_t data[];
} held;

struct mx_stream {
    int dir;
    uint32_t base_seq;       /* sequence number of offset 0 */
    uint64_t next;           /* offset of the next byte to deliver */
    mx_stream_deliver_fn deliver;
    mx_stream_gap_fn gap;
    void *ctx;
    held *held[MX_STREAM_OOO_SEGMENTS]; /* sorted by off, n_held used */
    unsigned n_held;
    size_t held_bytes;
    mx_stream_stats stats;
};

struct mx_stream *mx_stream_new(int dir, uint32_t base_seq, mx_stream_deliver_fn deliver,
                                mx_stream_gap_fn gap, void *ctx)
{
    struct mx_stream *s = g_new0(struct mx_stream, 1);
    s->dir = dir;
    s->base_seq = base_seq;
    s->deliver = deliver;
    s->gap = gap;
    s->ctx = ctx;
    return s;
}

void mx_stream_free(struct mx_stream *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n_held; i++)
        g_free(s->held[i]);
    g_free(s);
}

const mx_stream_stats *mx_stream_get_stats(const struct mx_stream *s)
{
    return &s->stats;
}

uint64_t mx_stream_next_offset(const struct mx_stream *s)
{
    return s->next;
}

/* Signed distance from the next expected byte to seq.  Sequence numbers
 * are compared modulo 2^32 (RFC 793 3.3): anything within 2 GB ahead is
 * ahead, so the 64-bit offset survives any number of wraps. */
static int64_t offset_of(const struct mx_stream *s, uint32_t seq)
{
    uint32_t next_seq = s->base_seq + (uint32_t)s->next;
    int32_t delta = (int32_t)(seq - next_seq);
    return (int64_t)s->next + delta;
}

static void report_gap(struct mx_stream *s, uint64_t upto, const mx_packet *pkt)
{
    if (upto <= s->next)
        return;
    uint64_t missing = upto - s->next;
    s->stats.gaps++;
    s->stats.gap_bytes += missing;
    if (s->gap)
        s->gap(s->ctx, s->dir, s->next, missing, pkt);
    s->next = upto;
}

/* Delivers the part of [off, off + wirelen) not yet delivered; off <= next.
 * Bytes beyond caplen were cut by the snap length: a gap. */
static void take(struct mx_stream *s, uint64_t off, const uint8_t *data, uint32_t caplen,
                 uint32_t wirelen, const mx_packet *pkt)
{
    uint64_t end = off + wirelen;
    if (end <= s->next) {
        s->stats.old_bytes += wirelen;
        return;
    }
    uint64_t skip = s->next - off;
    s->stats.old_bytes += skip;
    if (skip < caplen) {
        size_t n = caplen - (size_t)skip;
        uint64_t at = s->next;
        s->next += n;        /* before the callback, so it sees the new state */
        if (s->deliver)
            s->deliver(s->ctx, s->dir, data + skip, n, at, pkt);
    }
    report_gap(s, end, pkt);
}

static void drain(struct mx_stream *s)
{
    while (s->n_held > 0 && s->held[0]->off <= s->next) {
        held *h = s->held[0];
        s->n_held--;
        memmove(&s->held[0], &s->held[1], s->n_held * sizeof s->held[0]);
        s->held_bytes -= h->caplen;
        take(s, h->off, h->data, h->caplen, h->wirelen, &h->pkt);
        g_free(h);
    }
}

/* Gives up on the first hole: reports it and delivers what follows it. */
static void skip_first_hole(struct mx_stream *s)
{
    if (s->n_held == 0)
        return;
    report_gap(s, s->held[0]->off, &s->held[0]->pkt);
    drain(s);
}

static bool held_covers(const struct mx_stream *s, uint64_t off, uint32_t wirelen)
{
    for (unsigned i = 0; i < s->n_held; i++)
        if (s->held[i]->off <= off && s->held[i]->off + s->held[i]->wirelen >= off + wirelen)
            return true;
    return false;
}

static void hold(struct mx_stream *s, uint64_t off, const uint8_t *data, uint32_t caplen,
                 uint32_t wirelen, const mx_packet *pkt)
{
    held *h = g_malloc(sizeof *h + caplen);
    h->off = off;
    h->caplen = caplen;
    h->wirelen = wirelen;
    h->pkt = *pkt;
    if (caplen)
        memcpy(h->data, data, caplen);
    h->pkt.payload = h->data;
    h->pkt.payload_caplen = caplen;
    h->pkt.payload_len = wirelen;

    unsigned i = s->n_held;
    while (i > 0 && s->held[i - 1]->off > off)
        i--;
    memmove(&s->held[i + 1], &s->held[i], (s->n_held - i) * sizeof s->held[0]);
    s->held[i] = h;
    s->n_held++;
    s->held_bytes += caplen;
    s->stats.ooo_held++;
}

void mx_stream_segment(struct mx_stream *s, const mx_packet *pkt)
{
    uint32_t wirelen = pkt->payload_len;
    uint32_t caplen = pkt->payload_caplen < wirelen ? pkt->payload_caplen : wirelen;
    const uint8_t *data = pkt->payload;
    if (wirelen == 0)
        return;
    if (!data)
        caplen = 0;
    s->stats.segments++;
    if (caplen < wirelen)
        s->stats.snapped++;

    int64_t off = offset_of(s, pkt->seq);
    if (off < 0) {
        /* Starts before the first byte we know of (a capture that began
         * mid-session, then an older retransmission): keep only the rest. */
        uint64_t before = (uint64_t)-off;
        if (before >= wirelen) {
            s->stats.old_bytes += wirelen;
            return;
        }
        uint32_t cut = (uint32_t)before;
        uint32_t capcut = cut < caplen ? cut : caplen;
        data += capcut;
        caplen -= capcut;
        wirelen -= cut;
        s->stats.old_bytes += cut;
        off = 0;
    }
    uint64_t uoff = (uint64_t)off;

    if (uoff <= s->next) {
        take(s, uoff, data, caplen, wirelen, pkt);
        drain(s);
        return;
    }

    if (held_covers(s, uoff, wirelen)) {
        s->stats.old_bytes += wirelen;
        return;
    }
    if (s->n_held < MX_STREAM_OOO_SEGMENTS && s->held_bytes + caplen <= MX_STREAM_OOO_BYTES) {
        hold(s, uoff, data, caplen, wirelen, pkt);
        return;
    }

    /* Holding area full: the hole is not going to fill in time.  Give up
     * on every hole before this segment, then deliver it from the packet. */
    s->stats.cap_hits++;
    while (s->n_held > 0 && s->held[0]->off < uoff)
        skip_first_hole(s);
    report_gap(s, uoff, pkt);
    take(s, uoff, data, caplen, wirelen, pkt);
    drain(s);
}

void mx_stream_acked(struct mx_stream *s, uint32_t ack)
{
    int64_t acked = offset_of(s, ack);
    /* Only holes with held data after them: the peer ACKing past such a
     * hole proves the bytes were sent and received, just not captured.
     * (An ACK one past the last byte is only the FIN's sequence number.) */
    while (s->n_held > 0 && acked > 0 && s->held[0]->off <= (uint64_t)acked)
        skip_first_hole(s);
}

void mx_stream_finish(struct mx_stream *s)
{
    while (s->n_held > 0)
        skip_first_hole(s);
}
