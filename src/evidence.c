/* SPDX-License-Identifier: BSD-3-Clause */
/* evidence.c — second pass over the inputs: select, redact and write the proving packets.
 *
 * Selection is by each chosen session's tuple (either direction) inside
 * its time range, ICMP errors whose quoted header names the tuple, and
 * the frames the verdicts' evidence names.  Redaction works on the
 * session's own client stream rebuilt from the kept segments: the SMTP
 * commands are read again (replies matched in order, as PIPELINING
 * keeps them) to find body, BDAT chunk and AUTH byte ranges; every kept
 * segment overlapping a range is rewritten in place.  The segments stay
 * where they were and as long as they were, so the evidence file reads
 * like the original for TCP analysis (and for mxray).
 */
#include "evidence.h"
#include "decode.h"
#include "flow.h"
#include "redact.h"
#include "smtp.h"
#include "source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <string.h>

/* Kept bytes (command and reply lines) remembered per session direction
 * to compare the copies of a segment; past it they blank (safe side). */
#define EVIDENCE_KEPT_MAX (16u * 1024 * 1024)
#define FILLER 'X'

typedef struct kept_frame {
    uint8_t *data;
    uint32_t caplen, wirelen;
    int64_t ts_us;
    uint64_t frame;
    uint32_t file_index;
    int dlt;
} kept_frame;

typedef struct target {
    const mx_session *s;
    bool comparison;
    uint64_t cutoff_frame;   /* comparison: the last frame taken (its first replies) */
    GArray *frames;          /* of guint, indexes into the kept frames */
} target;

static guint64 frame_key(uint32_t file_index, uint64_t frame)
{
    return ((guint64)file_index << 40) | (frame & ((G_GUINT64_CONSTANT(1) << 40) - 1));
}

static void map_put(GHashTable *map, uint32_t file_index, uint64_t frame, uint64_t value)
{
    gint64 *k = g_new(gint64, 1), *v = g_new(gint64, 1);
    *k = (gint64)frame_key(file_index, frame);
    *v = (gint64)value;
    g_hash_table_insert(map, k, v);
}

uint64_t mx_evidence_frame(const mx_evidence_file *ev, const mx_frame_ref *at)
{
    if (ev == NULL || at->frame == 0)
        return 0;
    gint64 k = (gint64)frame_key(at->file_index, at->frame);
    const gint64 *v = g_hash_table_lookup(ev->map, &k);
    return v ? (uint64_t)*v : 0;
}

/* ---- selection ---------------------------------------------------------- */

static bool tuple_is(const mx_session *s, const mx_addr *src, uint16_t sport, const mx_addr *dst, uint16_t dport)
{
    return (mx_addr_equal(src, &s->client_ip) && sport == s->client_port && mx_addr_equal(dst, &s->server_ip) &&
            dport == s->server_port) ||
           (mx_addr_equal(src, &s->server_ip) && sport == s->server_port && mx_addr_equal(dst, &s->client_ip) &&
            dport == s->client_port);
}

/* The frame of a clean session up to which it is worth comparing: the
 * reply to EHLO/HELO, else the greeting, else the handshake. */
static uint64_t comparison_cutoff(const mx_session *s)
{
    uint64_t greeting = 0;
    for (guint i = 0; i < s->smtp.replies->len; i++) {
        const mx_reply_rec *r = &g_array_index(s->smtp.replies, mx_reply_rec, i);
        if (r->command && (strcmp(r->command, "EHLO") == 0 || strcmp(r->command, "HELO") == 0))
            return r->at.frame;
        if (r->command == NULL && greeting == 0)
            greeting = r->at.frame;
    }
    if (greeting)
        return greeting;
    guint n = s->ladder->len;
    return n ? g_array_index(s->ladder, mx_ladder_step, MIN(n - 1, 2u)).at.frame : s->first_frame.frame;
}

static bool clean(const mx_session *s)
{
    return (s->verdict.outcome == MX_OUTCOME_DELIVERED || s->verdict.outcome == MX_OUTCOME_OK) &&
           s->verdict.warnings->len == 0;
}

static GArray *choose_targets(const mx_report *r, GHashTable *evidence_frames, uint32_t *n_sessions,
                              uint32_t *n_comparisons)
{
    GArray *targets = g_array_new(FALSE, TRUE, sizeof(target));
    g_autoptr(GPtrArray) servers = g_ptr_array_new();
    for (guint i = 0; i < r->sessions->len; i++) {
        const mx_session *s = g_ptr_array_index(r->sessions, i);
        if (!mx_session_failed(s) && s->verdict.warnings->len == 0)
            continue;
        target t = { .s = s, .frames = g_array_new(FALSE, FALSE, sizeof(guint)) };
        g_array_append_val(targets, t);
        (*n_sessions)++;
        for (guint e = 0; e < s->verdict.evidence->len; e++) {
            const mx_evidence *ev = &g_array_index(s->verdict.evidence, mx_evidence, e);
            if (ev->at.frame)
                g_hash_table_add(evidence_frames, g_memdup2(&(gint64){ (gint64)frame_key(ev->at.file_index, ev->at.frame) },
                                                            sizeof(gint64)));
        }
        bool seen = false;
        for (guint k = 0; k < servers->len && !seen; k++)
            seen = mx_addr_equal(g_ptr_array_index(servers, k), &s->server_ip);
        if (!seen)
            g_ptr_array_add(servers, (gpointer)&s->server_ip);
    }
    /* One clean session per such server, for comparison. */
    for (guint k = 0; k < servers->len; k++) {
        const mx_addr *server = g_ptr_array_index(servers, k);
        for (guint i = 0; i < r->sessions->len; i++) {
            const mx_session *s = g_ptr_array_index(r->sessions, i);
            if (!clean(s) || !mx_addr_equal(&s->server_ip, server))
                continue;
            target t = { .s = s, .comparison = true, .cutoff_frame = comparison_cutoff(s),
                         .frames = g_array_new(FALSE, FALSE, sizeof(guint)) };
            g_array_append_val(targets, t);
            (*n_comparisons)++;
            break;
        }
    }
    return targets;
}

/* The target a TCP segment or an ICMP error's quote belongs to, or -1. */
static int match_target(GArray *targets, const mx_packet *p)
{
    for (guint i = 0; i < targets->len; i++) {
        const target *t = &g_array_index(targets, target, i);
        const mx_session *s = t->s;
        if (p->ts_us < s->start_us || p->ts_us > s->end_us)
            continue;
        if (p->l4 == MX_L4_TCP) {
            if (!tuple_is(s, &p->src, p->sport, &p->dst, p->dport))
                continue;
            if (t->comparison && (p->file_index != s->first_frame.file_index || p->frame > t->cutoff_frame))
                continue;
            return (int)i;
        }
        if (p->l4 == MX_L4_ICMP_ERROR && !t->comparison && p->quoted.has_ports &&
            tuple_is(s, &p->quoted.src, p->quoted.sport, &p->quoted.dst, p->quoted.dport))
            return (int)i;
    }
    return -1;
}

/* ---- redaction ----------------------------------------------------------
 *
 * An allowlist: a payload byte of a tracked flow is kept only when it lies
 * in a range smtp.c read for sure as a command or reply line (or a TLS
 * record header), mx_session.keep; every other byte becomes FILLER.  Each
 * copy of a segment is judged by its own sequence range, and a kept byte
 * must read the same in every copy of it (a retransmission whose copies
 * differ blanks there: the parser read only one of them).
 */

/* One direction of one target: the kept ranges and what every copy of
 * their bytes said. */
typedef struct dir_keep {
    bool known;
    uint32_t base;
    const GArray *spans;     /* of mx_smtp_span; NULL: nothing kept */
    uint64_t *start;         /* per span: index of its first byte in ref */
    GByteArray *ref;         /* the span bytes as the first copy read */
    GByteArray *out;         /* the same, redacted (addresses) */
    GByteArray *state;       /* 0 unseen, 1 every copy agrees, 2 copies differ */
    bool have_last;
    uint64_t last;           /* stream offset of the last segment: unwraps seq */
} dir_keep;

enum { BYTE_UNSEEN = 0, BYTE_AGREED = 1, BYTE_DIFFERS = 2 };

static void dir_keep_init(dir_keep *k, const mx_session *s, int dir)
{
    memset(k, 0, sizeof *k);
    k->known = s->keep[dir].known;
    k->base = s->keep[dir].base_seq;
    k->spans = s->keep[dir].spans;
    uint64_t total = 0;
    guint n = k->spans ? k->spans->len : 0;
    k->start = g_new0(uint64_t, n + 1);
    for (guint i = 0; i < n; i++) {
        const mx_smtp_span *sp = &g_array_index(k->spans, mx_smtp_span, i);
        k->start[i] = total;
        total += sp->to - sp->from;
    }
    k->start[n] = total;
    /* The kept ranges are command and reply lines: small, but bounded
     * here too, by the streams the old parser read (past it: blank). */
    if (total > EVIDENCE_KEPT_MAX)
        total = EVIDENCE_KEPT_MAX;
    k->ref = g_byte_array_sized_new((guint)total);
    g_byte_array_set_size(k->ref, (guint)total);
    k->state = g_byte_array_sized_new((guint)total);
    g_byte_array_set_size(k->state, (guint)total);
    if (total)
        memset(k->state->data, BYTE_UNSEEN, total);
    k->out = NULL;
}

static void dir_keep_clear(dir_keep *k)
{
    g_free(k->start);
    g_byte_array_free(k->ref, TRUE);
    g_byte_array_free(k->state, TRUE);
    if (k->out)
        g_byte_array_free(k->out, TRUE);
}

/* The 64-bit stream offset of sequence number seq: the one nearest the
 * last segment's (the 32-bit space wraps on long streams). */
static uint64_t stream_offset(dir_keep *k, uint32_t seq)
{
    uint64_t off = (uint32_t)(seq - k->base);
    if (k->have_last) {
        off += k->last & ~G_GUINT64_CONSTANT(0xffffffff);
        if (off + 0x80000000u < k->last)
            off += G_GUINT64_CONSTANT(1) << 32;
        else if (off > k->last + 0x80000000u && off >= (G_GUINT64_CONSTANT(1) << 32))
            off -= G_GUINT64_CONSTANT(1) << 32;
    }
    k->have_last = true;
    k->last = off;
    return off;
}

/* Index in ref of stream offset o, or -1 when o is in no kept range. */
static int64_t kept_index(const dir_keep *k, uint64_t o)
{
    if (!k->spans)
        return -1;
    guint lo = 0, hi = k->spans->len;
    while (lo < hi) {        /* the first span ending after o */
        guint mid = (lo + hi) / 2;
        if (g_array_index(k->spans, mx_smtp_span, mid).to <= o)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == k->spans->len)
        return -1;
    const mx_smtp_span *sp = &g_array_index(k->spans, mx_smtp_span, lo);
    if (o < sp->from)
        return -1;
    uint64_t idx = k->start[lo] + (o - sp->from);
    return idx < k->ref->len ? (int64_t)idx : -1;
}

/* One segment's place in its direction's stream. */
typedef struct seg {
    guint frame_index;
    int dir;                 /* MX_DIR_C2S / MX_DIR_S2C */
    uint64_t offset;         /* stream offset of its first payload byte */
    bool offset_known;
    size_t payload_at;       /* offset of the payload in the frame's bytes */
    uint32_t payload_caplen;
} seg;

/* Ones' complement sum (RFC 1071) of n bytes, added to sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Recomputes the checksum of a TCP segment or an ICMP/ICMPv6 message
 * (at byte csum_at of the transport header) when the frame holds all of
 * it; returns false when it cannot (snapped), leaving it as it was. */
static bool fix_checksum(kept_frame *kf, const mx_packet *p, size_t csum_at, bool pseudo)
{
    size_t t = (size_t)(p->transport - kf->data);
    if (p->transport == NULL || t + p->transport_len > kf->caplen || p->transport_len < csum_at + 2)
        return false;
    uint8_t *h = kf->data + t;
    h[csum_at] = h[csum_at + 1] = 0;
    uint32_t sum = 0;
    if (pseudo) {
        size_t alen = p->ip_version == 4 ? 4 : 16;
        sum = csum_add(sum, p->src.bytes, alen);
        sum = csum_add(sum, p->dst.bytes, alen);
        sum += p->proto;
        sum += p->transport_len & 0xffff;
        sum += p->transport_len >> 16;
    }
    sum = csum_add(sum, h, p->transport_len);
    uint16_t c = csum_fold(sum);
    h[csum_at] = (uint8_t)(c >> 8);
    h[csum_at + 1] = (uint8_t)c;
    return true;
}

static uint32_t fill(uint8_t *p, uint32_t n)
{
    uint32_t changed = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p[i] != FILLER) {
            p[i] = FILLER;
            changed++;
        }
    }
    return changed;
}

static void count_change(mx_evidence_file *ev, uint32_t n_changed, bool fixed)
{
    if (!n_changed)
        return;
    ev->segments_changed++;
    ev->bytes_changed += n_changed;
    if (fixed)
        ev->checksums_fixed++;
    else
        ev->checksums_left++;
}

/* An ICMP/ICMPv6 error quoting a target's segment: the quoted IP and TCP
 * headers stay (they tie it to the flow), the quoted payload blanks. */
static void redact_icmp(kept_frame *kf, mx_evidence_file *ev)
{
    mx_packet p = { 0 };
    mx_decode(kf->dlt, kf->data, kf->caplen, kf->wirelen, &p);
    if (p.l4 != MX_L4_ICMP_ERROR || p.transport == NULL) {
        /* Not what it was when chosen: blank everything past the IP header. */
        size_t from = p.transport ? (size_t)(p.transport - kf->data) : p.net ? (size_t)(p.net - kf->data) : 0;
        count_change(ev, fill(kf->data + from, kf->caplen - (uint32_t)from), false);
        return;
    }
    size_t keep_to = (size_t)(p.transport - kf->data) + 8;   /* the ICMP header */
    if (p.quoted.transport) {
        size_t q = (size_t)(p.quoted.transport - kf->data);
        size_t hl = 8;       /* ports and sequence number at least */
        if (p.quoted.proto == 6 && q + 13 <= kf->caplen && (kf->data[q + 12] >> 4) * 4u >= 20)
            hl = (kf->data[q + 12] >> 4) * 4u;
        else if (p.quoted.proto == 17)
            hl = 8;
        keep_to = q + hl;
    }
    if (keep_to > kf->caplen)
        keep_to = kf->caplen;
    uint32_t n = fill(kf->data + keep_to, kf->caplen - (uint32_t)keep_to);
    if (n)
        count_change(ev, n, fix_checksum(kf, &p, 2, p.ip_version == 6));
}

static void redact_target(mx_redactor *rd, const mx_evidence_options *opt, target *t, GPtrArray *kept,
                          mx_evidence_file *ev)
{
    const mx_session *s = t->s;
    dir_keep dk[2];
    dir_keep_init(&dk[0], s, MX_DIR_C2S);
    dir_keep_init(&dk[1], s, MX_DIR_S2C);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(seg));

    /* Pass 1: place every copy and note what it says in the kept ranges. */
    for (guint i = 0; i < t->frames->len; i++) {
        guint fi = g_array_index(t->frames, guint, i);
        kept_frame *kf = g_ptr_array_index(kept, fi);
        mx_packet p = { .frame = kf->frame, .file_index = kf->file_index, .ts_us = kf->ts_us };
        mx_decode(kf->dlt, kf->data, kf->caplen, kf->wirelen, &p);
        if (p.l4 == MX_L4_ICMP_ERROR) {
            if (!opt->keep_payload)
                redact_icmp(kf, ev);
            continue;
        }
        if (p.l4 != MX_L4_TCP || p.payload_caplen == 0)
            continue;
        int d = mx_addr_equal(&p.src, &s->client_ip) && p.sport == s->client_port ? MX_DIR_C2S : MX_DIR_S2C;
        dir_keep *k = &dk[d];
        seg sg = { .frame_index = fi, .dir = d, .payload_at = (size_t)(p.payload - kf->data),
                   .payload_caplen = p.payload_caplen };
        /* A SYN's data (TCP Fast Open) is outside the stream's ranges. */
        if (k->known && !(p.tcp_flags & MX_TCP_SYN)) {
            sg.offset = stream_offset(k, p.seq);
            sg.offset_known = true;
            for (uint32_t j = 0; j < sg.payload_caplen; j++) {
                int64_t idx = kept_index(k, sg.offset + j);
                if (idx < 0)
                    continue;
                uint8_t b = p.payload[j];
                uint8_t *st = &k->state->data[idx];
                if (*st == BYTE_UNSEEN) {
                    k->ref->data[idx] = b;
                    *st = BYTE_AGREED;
                } else if (k->ref->data[idx] != b) {
                    *st = BYTE_DIFFERS;
                }
            }
        }
        g_array_append_val(segs, sg);
    }
    for (int d = 0; d < 2; d++) {
        dk[d].out = g_byte_array_sized_new(dk[d].ref->len);
        g_byte_array_append(dk[d].out, dk[d].ref->data, dk[d].ref->len);
        /* Addresses, per kept range (whole lines: an address never spans two). */
        for (guint i = 0; rd && dk[d].spans && i < dk[d].spans->len; i++) {
            uint64_t a = dk[d].start[i], b = MIN(dk[d].start[i + 1], (uint64_t)dk[d].out->len);
            if (b > a)
                mx_redact_bytes(rd, dk[d].out->data + a, (size_t)(b - a));
        }
    }

    /* Pass 2: rewrite each copy. */
    for (guint i = 0; i < segs->len; i++) {
        const seg *sg = &g_array_index(segs, seg, i);
        kept_frame *kf = g_ptr_array_index(kept, sg->frame_index);
        uint8_t *payload = kf->data + sg->payload_at;
        dir_keep *k = &dk[sg->dir];
        uint32_t n_changed = 0;
        for (uint32_t j = 0; j < sg->payload_caplen; j++) {
            int64_t idx = sg->offset_known ? kept_index(k, sg->offset + j) : -1;
            uint8_t want;
            if (idx >= 0 && k->state->data[idx] == BYTE_AGREED)
                want = k->out->data[idx];
            else if (opt->keep_payload)
                continue;
            else
                want = FILLER;
            if (payload[j] != want) {
                payload[j] = want;
                n_changed++;
            }
        }
        if (n_changed) {
            mx_packet p = { 0 };
            mx_decode(kf->dlt, kf->data, kf->caplen, kf->wirelen, &p);
            count_change(ev, n_changed, p.l4 == MX_L4_TCP && fix_checksum(kf, &p, 16, true));
        }
    }
    for (int d = 0; d < 2; d++) {
        ev->spans_dropped += s->keep[d].dropped;
        dir_keep_clear(&dk[d]);
    }
}

/* ---- the file ------------------------------------------------------------ */

static void kept_free(gpointer p)
{
    kept_frame *k = p;
    g_free(k->data);
    g_free(k);
}

static const char *dlt_name(int dlt)
{
    const char *n = pcap_datalink_val_to_name(dlt);
    return n ? n : "unknown";
}

mx_evidence_file *mx_evidence_write(const mx_report *r, const char *path, const mx_evidence_options *opt,
                                    GError **error)
{
    for (guint i = 0; i < r->inputs->len; i++) {
        if (strcmp(g_ptr_array_index(r->inputs, i), "-") == 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "--evidence needs capture files to read a second time; standard input cannot be: "
                        "save it to a file first (e.g. tcpdump -w trace.pcap) and read that");
            return NULL;
        }
    }
    g_autoptr(GHashTable) evidence_frames = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    mx_evidence_file *ev = g_new0(mx_evidence_file, 1);
    ev->path = g_strdup(path);
    ev->map = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    ev->redacted = !opt->keep_payload;
    ev->addresses_redacted = opt->redact_addresses;
    ev->dlt = -1;
    GArray *targets = choose_targets(r, evidence_frames, &ev->sessions, &ev->comparisons);
    g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func(kept_free);

    g_autoptr(GError) open_error = NULL;
    mx_source *src = mx_source_open((const char *const *)r->inputs->pdata, r->inputs->len, NULL, &open_error);
    bool ok = src != NULL;
    if (!ok)
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "--evidence: reading the input again: %s",
                    open_error->message);
    else if (mx_source_file_count(src) != r->inputs->len) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "--evidence: %s could not be opened again", (const char *)g_ptr_array_index(mx_source_errors(src), 0));
        ok = false;
    }

    /* The second pass: keep what proves the findings, in time order. */
    uint32_t snaplen = 0;
    int other_dlt = -1;
    uint32_t dlt_file = 0, other_file = 0;
    mx_raw_frame f;
    while (ok && mx_source_next(src, &f)) {
        mx_packet p = { .frame = f.frame, .file_index = f.file_index, .ts_us = f.ts_us };
        mx_decode(f.dlt, f.data, f.caplen, f.wirelen, &p);
        gint64 key = (gint64)frame_key(f.file_index, f.frame);
        int t = p.l4 == MX_L4_TCP || p.l4 == MX_L4_ICMP_ERROR ? match_target(targets, &p) : -1;
        if (t < 0 && !g_hash_table_contains(evidence_frames, &key))
            continue;
        /* A frame a verdict names outside the chosen sessions: DNS (UDP)
         * as it is; TCP and ICMP errors only blanked below; nothing else. */
        if (t < 0 && p.l4 != MX_L4_UDP && p.l4 != MX_L4_TCP && p.l4 != MX_L4_ICMP_ERROR)
            continue;
        if (ev->dlt < 0) {
            ev->dlt = f.dlt;
            dlt_file = f.file_index;
        } else if (f.dlt != ev->dlt && other_dlt < 0) {
            other_dlt = f.dlt;
            other_file = f.file_index;
        }
        kept_frame *k = g_new0(kept_frame, 1);
        *k = (kept_frame){ .data = g_memdup2(f.data, f.caplen), .caplen = f.caplen, .wirelen = f.wirelen,
                           .ts_us = f.ts_us, .frame = f.frame, .file_index = f.file_index, .dlt = f.dlt };
        g_ptr_array_add(kept, k);
        snaplen = MAX(snaplen, f.caplen);
        if (t >= 0) {
            guint idx = kept->len - 1;
            g_array_append_val(g_array_index(targets, target, t).frames, idx);
        } else if (!opt->keep_payload && p.l4 == MX_L4_ICMP_ERROR) {
            redact_icmp(k, ev);
        } else if (!opt->keep_payload && p.l4 == MX_L4_TCP && p.payload_caplen) {
            /* No session's ranges cover it: all of its payload blanks. */
            uint32_t n = fill(k->data + (p.payload - f.data), p.payload_caplen);
            if (n) {
                mx_packet q = { 0 };
                mx_decode(k->dlt, k->data, k->caplen, k->wirelen, &q);
                count_change(ev, n, fix_checksum(k, &q, 16, true));
            }
        }
    }
    if (ok && mx_source_errors(src)->len) {
        /* The first pass reported it; the evidence holds what could be read. */
    }
    if (src)
        mx_source_free(src);

    if (ok && other_dlt >= 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "--evidence: the packets to keep come from inputs of different link types (%s in %s, %s in %s) "
                    "and one pcap file holds one link type: run mxray read --evidence once per input",
                    dlt_name(ev->dlt), (const char *)g_ptr_array_index(r->inputs, dlt_file), dlt_name(other_dlt),
                    (const char *)g_ptr_array_index(r->inputs, other_file));
        ok = false;
    }

    if (ok && (!opt->keep_payload || opt->redactor)) {
        for (guint i = 0; i < targets->len; i++)
            redact_target(opt->redactor, opt, &g_array_index(targets, target, i), kept, ev);
        /* Frames named by a verdict outside the sessions (DNS): their
         * payloads are not SMTP, so nothing of them needs blanking. */
    }

    if (ok) {
        pcap_t *dead = pcap_open_dead(ev->dlt >= 0 ? ev->dlt : DLT_EN10MB, snaplen ? (int)MAX(snaplen, 65535u) : 65535);
        pcap_dumper_t *dump = dead ? pcap_dump_open(dead, path) : NULL;
        if (dump == NULL) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "--evidence: %s: %s", path,
                        dead ? pcap_geterr(dead) : "cannot create a pcap handle");
            ok = false;
        } else {
            for (guint i = 0; i < kept->len; i++) {
                const kept_frame *k = g_ptr_array_index(kept, i);
                struct pcap_pkthdr h = { .caplen = k->caplen, .len = k->wirelen };
                h.ts.tv_sec = (time_t)(k->ts_us / 1000000);
                h.ts.tv_usec = (suseconds_t)(k->ts_us % 1000000);
                pcap_dump((u_char *)dump, &h, k->data);
                map_put(ev->map, k->file_index, k->frame, i + 1);
            }
            ev->frames = kept->len;
            /* pcap_dump() reports nothing: a full disk shows in the stream's
             * error flag, and in the flush and close. */
            FILE *fp = pcap_dump_file(dump);
            errno = 0;
            bool failed = pcap_dump_flush(dump) != 0 || ferror(fp);
            int saved = errno;
            if (fclose(fp) != 0 && !failed) {
                failed = true;
                saved = errno;
            }
            if (failed) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "--evidence: %s: write failed: %s", path,
                            saved ? g_strerror(saved) : "I/O error");
                ok = false;
            }
            /* No pcap_dump_close(): it only fclose()s the same FILE, done above
             * to see its error. */
        }
        if (dead)
            pcap_close(dead);
    }

    for (guint i = 0; i < targets->len; i++)
        g_array_free(g_array_index(targets, target, i).frames, TRUE);
    g_array_free(targets, TRUE);
    if (!ok) {
        mx_evidence_file_free(ev);
        return NULL;
    }
    if (ev->dlt < 0)
        ev->dlt = DLT_EN10MB;
    return ev;
}

void mx_evidence_file_free(mx_evidence_file *ev)
{
    if (!ev)
        return;
    g_free(ev->path);
    g_hash_table_destroy(ev->map);
    g_free(ev);
}

char *mx_evidence_note(const mx_evidence_file *ev)
{
    GString *s = g_string_new(NULL);
    g_string_printf(s, "The evidence capture %s (link type %s) holds %" G_GUINT64_FORMAT " frame%s: ", ev->path,
                    dlt_name(ev->dlt), ev->frames, ev->frames == 1 ? "" : "s");
    if (ev->sessions == 0)
        g_string_append(s, "no session failed or carried a warning, so it holds nothing of the input.");
    else
        g_string_append_printf(s, "the packets of the %u failed or warned session%s, the ICMP errors quoting them "
                               "and the frames their evidence names", ev->sessions, ev->sessions == 1 ? "" : "s");
    if (ev->comparisons)
        g_string_append_printf(s, ", and the handshake and first replies of %u clean session%s to the same server%s "
                               "for comparison", ev->comparisons, ev->comparisons == 1 ? "" : "s",
                               ev->comparisons == 1 ? "" : "s");
    if (ev->sessions)
        g_string_append(s, ".");
    g_string_append(s, " Frames keep their original time stamps; the reports name each frame in both files "
                       "(\"frame N (evidence frame M)\").");
    if (ev->redacted)
        g_string_append(s, " Payload was redacted by allowlist: every byte became 'X' (same length, so sequence "
                           "numbers and lengths are unchanged) except the SMTP command and reply lines the analyzer "
                           "read for sure outside message bodies and AUTH exchanges (AUTH keeps its mechanism name, "
                           "a 334 its code) and TLS record headers; bytes it could not be sure of (a capture that "
                           "starts mid-session, gaps, copies of a segment that differ) are blanked too, and ICMP "
                           "errors keep only the quoted IP and TCP headers.");
    else
        g_string_append(s, " Payloads were kept as captured (--keep-payload): the file holds message bodies and "
                           "credentials if there were any.");
    if (ev->spans_dropped)
        g_string_append_printf(s, " %u kept range%s past the per-session cap blanked as well.", ev->spans_dropped,
                               ev->spans_dropped == 1 ? "" : "s");
    if (ev->addresses_redacted)
        g_string_append(s, " The local parts of mail addresses in what was kept were replaced by pseudonyms of the "
                           "same length, one per address, the same as in the report; domains and IP addresses were "
                           "not changed.");
    if (ev->segments_changed) {
        g_string_append_printf(s, " %u packet%s (%" G_GUINT64_FORMAT " bytes) were changed", ev->segments_changed,
                               ev->segments_changed == 1 ? "" : "s", ev->bytes_changed);
        if (ev->checksums_left)
            g_string_append_printf(s, "; their checksums were recomputed, except in %u frame%s cut by the snap "
                                   "length, whose checksums were left as they were", ev->checksums_left,
                                   ev->checksums_left == 1 ? "" : "s");
        else
            g_string_append(s, " and their checksums recomputed");
        g_string_append(s, ".");
    } else {
        g_string_append(s, " No packet needed changing.");
    }
    return g_string_free(s, FALSE);
}
