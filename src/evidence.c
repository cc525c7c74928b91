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
#include "source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <string.h>

/* The client stream rebuilt per session for redaction, at most this many
 * bytes: beyond it, client payload is blanked whole (safe side). */
#define EVIDENCE_STREAM_MAX (64u * 1024 * 1024)
/* Server replies are only read for their codes (and echoed addresses). */
#define EVIDENCE_REPLY_STREAM_MAX (4u * 1024 * 1024)
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

typedef struct stream_buf {
    GByteArray *bytes;
    GByteArray *have;        /* 1 where a segment supplied the byte */
    bool base_known;
    uint32_t base;           /* sequence number of stream offset 0 */
} stream_buf;

typedef struct patch {
    uint64_t offset;
    uint32_t len;
    char *text;              /* NULL: fill with FILLER (line ends kept) */
} patch;

typedef struct redactor {
    const mx_evidence_options *opt;
    GHashTable *locals;      /* local part -> placeholder */
    uint32_t next_placeholder;
} redactor;

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

/* ---- redaction ---------------------------------------------------------- */

static void stream_init(stream_buf *b)
{
    b->bytes = g_byte_array_new();
    b->have = g_byte_array_new();
    b->base_known = false;
}

static void stream_clear(stream_buf *b)
{
    g_byte_array_free(b->bytes, TRUE);
    g_byte_array_free(b->have, TRUE);
}

static void stream_put(stream_buf *b, uint64_t off, const uint8_t *p, uint32_t n, uint32_t cap)
{
    if (off >= cap)
        return;
    n = (uint32_t)MIN((uint64_t)n, cap - off);
    if (b->bytes->len < off + n) {
        guint old = b->have->len;
        g_byte_array_set_size(b->bytes, (guint)(off + n));
        g_byte_array_set_size(b->have, (guint)(off + n));
        memset(b->have->data + old, 0, b->have->len - old);
    }
    memcpy(b->bytes->data + off, p, n);
    memset(b->have->data + off, 1, n);
}

/* One segment's place in its direction's stream. */
typedef struct seg {
    guint frame_index;
    int dir;                 /* MX_DIR_C2S / MX_DIR_S2C */
    uint32_t seq;
    size_t payload_at;       /* offset of the payload in the frame's bytes */
    uint32_t payload_caplen;
} seg;

/* Final reply codes in order, from the server stream. */
static GArray *reply_codes(const stream_buf *b)
{
    GArray *codes = g_array_new(FALSE, FALSE, sizeof(int));
    const uint8_t *d = b->bytes->data;
    size_t n = b->bytes->len, pos = 0;
    while (pos < n) {
        size_t end = pos;
        while (end < n && d[end] != '\n' && b->have->data[end])
            end++;
        if (end - pos >= 3 && g_ascii_isdigit(d[pos]) && g_ascii_isdigit(d[pos + 1]) && g_ascii_isdigit(d[pos + 2]) &&
            (end - pos == 3 || d[pos + 3] != '-') && end < n && d[end] == '\n') {
            int code = (d[pos] - '0') * 100 + (d[pos + 1] - '0') * 10 + (d[pos + 2] - '0');
            g_array_append_val(codes, code);
        }
        pos = end + 1;
    }
    return codes;
}

static void add_fill(GArray *patches, uint64_t from, uint64_t to)
{
    if (to <= from)
        return;
    patch p = { .offset = from, .len = (uint32_t)(to - from) };
    g_array_append_val(patches, p);
}

static const char *placeholder(redactor *rd, const char *local)
{
    const char *known = g_hash_table_lookup(rd->locals, local);
    if (known)
        return known;
    size_t len = strlen(local);
    uint32_t n = ++rd->next_placeholder;
    char *ph = g_strdup_printf("user%u", n);
    if (strlen(ph) <= len) {
        char *padded = g_strnfill(len, 'x');
        memcpy(padded, ph, strlen(ph));
        g_free(ph);
        ph = padded;
    } else {
        /* Too short for "userN": base 36, the last len digits. */
        g_free(ph);
        ph = g_strnfill(len, '0');
        for (size_t i = len; i > 0 && n; i--, n /= 36)
            ph[i - 1] = "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36];
    }
    g_hash_table_insert(rd->locals, g_strdup(local), ph);
    return ph;
}

/* MAIL FROM:<local@domain> / RCPT TO:<local@domain>: the local part's range. */
static void address_patch(redactor *rd, const uint8_t *d, size_t from, size_t to, GArray *patches)
{
    const uint8_t *colon = memchr(d + from, ':', to - from);
    if (!colon)
        return;
    size_t p = (size_t)(colon - d) + 1;
    while (p < to && d[p] == ' ')
        p++;
    if (p < to && d[p] == '<')
        p++;
    size_t at = p;
    while (at < to && d[at] != '@' && d[at] != '>' && d[at] != ' ')
        at++;
    if (at >= to || d[at] != '@' || at == p)
        return;
    g_autofree char *local = g_strndup((const char *)d + p, at - p);
    patch pt = { .offset = p, .len = (uint32_t)(at - p), .text = g_strdup(placeholder(rd, local)) };
    g_array_append_val(patches, pt);
}

static bool verb_is(const uint8_t *d, size_t from, size_t to, const char *verb)
{
    size_t n = strlen(verb);
    return to - from >= n && g_ascii_strncasecmp((const char *)d + from, verb, n) == 0 &&
           (to - from == n || d[from + n] == ' ' || d[from + n] == '\r');
}

/* Reads the client's commands again and lists what to overwrite. */
static GArray *client_patches(redactor *rd, const stream_buf *c, const GArray *codes)
{
    GArray *patches = g_array_new(FALSE, TRUE, sizeof(patch));
    const uint8_t *d = c->bytes->data;
    size_t n = c->bytes->len, pos = 0;
    guint reply = 1;         /* the greeting took the first reply */
    bool in_auth = false;
    bool blank = !rd->opt->keep_payload;
    while (pos < n) {
        const uint8_t *lf = memchr(d + pos, '\n', n - pos);
        size_t line_end = lf ? (size_t)(lf - d) : n;          /* index of the LF */
        size_t content_end = line_end > pos && d[line_end - 1] == '\r' ? line_end - 1 : line_end;
        int code = reply < codes->len ? g_array_index(codes, int, reply) : 0;   /* 0: not seen */
        reply++;
        if (in_auth) {
            /* A line answering a 334: credentials. */
            if (blank)
                add_fill(patches, pos, content_end);
            in_auth = code == 334 || code == 0;
        } else if (verb_is(d, pos, content_end, "AUTH")) {
            /* "AUTH PLAIN <initial response>": the mechanism stays, the rest goes. */
            size_t mech = pos + 5, sp = mech;
            while (sp < content_end && d[sp] != ' ')
                sp++;
            if (blank && sp < content_end)
                add_fill(patches, sp + 1, content_end);
            in_auth = code == 334 || code == 0;
        } else if (verb_is(d, pos, content_end, "DATA") && (code == 354 || code == 0) && lf) {
            /* The body: from the first byte after DATA's line to the final dot
             * (CRLF.CRLF; a bare LF ends lines too, as Postfix accepts). */
            size_t body = line_end + 1, dot = n, next = n;
            for (size_t i = line_end; i + 1 < n; i++) {
                if (d[i] == '\n' && d[i + 1] == '.' &&
                    ((i + 2 < n && d[i + 2] == '\n') || (i + 3 < n && d[i + 2] == '\r' && d[i + 3] == '\n'))) {
                    dot = i + 1;
                    next = d[i + 2] == '\n' ? i + 3 : i + 4;
                    break;
                }
            }
            if (blank)
                add_fill(patches, body, dot);
            reply++;         /* the reply to the end of data */
            pos = next;
            continue;
        } else if (verb_is(d, pos, content_end, "BDAT") && lf) {
            char num[32] = "";
            size_t numlen = MIN(sizeof num - 1, content_end > pos + 5 ? content_end - pos - 5 : 0);
            memcpy(num, d + pos + 5, numlen);
            num[numlen] = '\0';
            uint64_t size = g_ascii_strtoull(num, NULL, 10);
            size_t chunk = line_end + 1;
            size_t end = (size_t)MIN((uint64_t)n, chunk + size);
            if (blank)
                add_fill(patches, chunk, end);
            pos = end;
            continue;
        } else if (verb_is(d, pos, content_end, "STARTTLS") && (code == 220 || code == 0)) {
            break;           /* the rest is TLS records */
        } else if (rd->opt->redact_addresses &&
                   (verb_is(d, pos, content_end, "MAIL") || verb_is(d, pos, content_end, "RCPT"))) {
            address_patch(rd, d, pos, content_end, patches);
        }
        if (!lf)
            break;
        pos = line_end + 1;
    }
    return patches;
}

/* Replies that echo an address ("<sender@...>: Sender address rejected"). */
static GArray *server_patches(redactor *rd, const stream_buf *sv)
{
    GArray *patches = g_array_new(FALSE, TRUE, sizeof(patch));
    if (!rd->opt->redact_addresses)
        return patches;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, rd->locals);
    const uint8_t *d = sv->bytes->data;
    size_t n = sv->bytes->len;
    while (g_hash_table_iter_next(&it, &k, &v)) {
        size_t len = strlen(k);
        for (size_t i = 1; i + len < n; i++) {
            if (d[i + len] == '@' && memcmp(d + i, k, len) == 0 && strchr("<: ", d[i - 1])) {
                patch p = { .offset = i, .len = (uint32_t)len, .text = g_strdup(v) };
                g_array_append_val(patches, p);
            }
        }
    }
    return patches;
}

/* Applies patches to the stream copy; returns the mask of changed bytes. */
static GByteArray *apply_patches(stream_buf *b, GArray *patches)
{
    GByteArray *changed = g_byte_array_sized_new(b->bytes->len);
    g_byte_array_set_size(changed, b->bytes->len);
    if (changed->len)     /* an empty array's data is NULL: memset(NULL, 0, 0) is undefined */
        memset(changed->data, 0, changed->len);
    for (guint i = 0; i < patches->len; i++) {
        patch *p = &g_array_index(patches, patch, i);
        for (uint32_t j = 0; j < p->len && p->offset + j < b->bytes->len; j++) {
            uint8_t *c = &b->bytes->data[p->offset + j];
            if (p->text) {
                *c = (uint8_t)p->text[j];
            } else if (*c != '\r' && *c != '\n') {
                *c = FILLER;
            } else {
                continue;
            }
            changed->data[p->offset + j] = 1;
        }
        g_free(p->text);
    }
    return changed;
}

/* An ICMP error quotes the packet it answers, and a frag-needed answering
 * a data segment quotes message bytes: keep the quoted IP and TCP headers
 * (they name the session), blank what follows. */
static void blank_quoted_data(kept_frame *kf, const mx_packet *p, mx_evidence_file *ev)
{
    const uint8_t *q = p->payload;
    uint32_t n = p->payload_caplen, keep;
    if (q == NULL || n == 0)
        return;
    keep = (q[0] >> 4) == 4 ? (q[0] & 0x0fu) * 4u : 40u;
    if (p->quoted.proto == 6 && n > keep + 12)
        keep += (q[keep + 12] >> 4) * 4u;
    else
        keep += 8;                       /* RFC 792's 8 bytes: ports (and the TCP sequence number) */
    uint8_t *w = kf->data + (q - kf->data);
    uint32_t changed = 0;
    for (uint32_t j = keep; j < n; j++) {
        if (w[j] != FILLER) {
            w[j] = FILLER;
            changed++;
        }
    }
    if (changed) {
        ev->segments_changed++;
        ev->bytes_changed += changed;
    }
}

static void redact_target(redactor *rd, target *t, GPtrArray *kept, mx_evidence_file *ev)
{
    const mx_session *s = t->s;
    stream_buf dir[2];
    stream_init(&dir[0]);
    stream_init(&dir[1]);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(seg));

    /* Stream bases: the SYN (and SYN-ACK) sequence number plus one, else
     * the lowest sequence number that carried data. */
    for (guint i = 0; i < t->frames->len; i++) {
        guint fi = g_array_index(t->frames, guint, i);
        kept_frame *kf = g_ptr_array_index(kept, fi);
        mx_packet p = { .frame = kf->frame, .file_index = kf->file_index, .ts_us = kf->ts_us };
        mx_decode(kf->dlt, kf->data, kf->caplen, kf->wirelen, &p);
        if (p.l4 == MX_L4_ICMP_ERROR && !rd->opt->keep_payload) {
            blank_quoted_data(kf, &p, ev);
            continue;
        }
        if (p.l4 != MX_L4_TCP)
            continue;
        int d = mx_addr_equal(&p.src, &s->client_ip) && p.sport == s->client_port ? MX_DIR_C2S : MX_DIR_S2C;
        if (p.tcp_flags & MX_TCP_SYN) {
            dir[d].base = p.seq + 1;
            dir[d].base_known = true;
            continue;
        }
        if (p.payload_caplen == 0)
            continue;
        seg sg = { .frame_index = fi, .dir = d, .seq = p.seq, .payload_at = (size_t)(p.payload - kf->data),
                   .payload_caplen = p.payload_caplen };
        g_array_append_val(segs, sg);
    }
    /* No SYN kept (the capture began mid-session): the lowest sequence number. */
    bool from_syn[2] = { dir[0].base_known, dir[1].base_known };
    for (guint i = 0; i < segs->len; i++) {
        const seg *sg = &g_array_index(segs, seg, i);
        stream_buf *b = &dir[sg->dir];
        if (from_syn[sg->dir])
            continue;
        if (!b->base_known || (int32_t)(sg->seq - b->base) < 0)
            b->base = sg->seq;
        b->base_known = true;
    }
    for (guint i = 0; i < segs->len; i++) {
        const seg *sg = &g_array_index(segs, seg, i);
        kept_frame *kf = g_ptr_array_index(kept, sg->frame_index);
        stream_put(&dir[sg->dir], (uint32_t)(sg->seq - dir[sg->dir].base), kf->data + sg->payload_at,
                   sg->payload_caplen, sg->dir == MX_DIR_C2S ? EVIDENCE_STREAM_MAX : EVIDENCE_REPLY_STREAM_MAX);
    }

    g_autoptr(GArray) codes = reply_codes(&dir[MX_DIR_S2C]);
    g_autoptr(GArray) cp = client_patches(rd, &dir[MX_DIR_C2S], codes);
    g_autoptr(GArray) sp = server_patches(rd, &dir[MX_DIR_S2C]);
    GByteArray *changed[2] = { apply_patches(&dir[MX_DIR_C2S], cp), apply_patches(&dir[MX_DIR_S2C], sp) };

    for (guint i = 0; i < segs->len; i++) {
        const seg *sg = &g_array_index(segs, seg, i);
        kept_frame *kf = g_ptr_array_index(kept, sg->frame_index);
        uint8_t *payload = kf->data + sg->payload_at;
        uint64_t off = (uint32_t)(sg->seq - dir[sg->dir].base);
        uint32_t n_changed = 0;
        for (uint32_t j = 0; j < sg->payload_caplen; j++) {
            uint64_t o = off + j;
            if (o < changed[sg->dir]->len) {
                if (changed[sg->dir]->data[o] && payload[j] != dir[sg->dir].bytes->data[o]) {
                    payload[j] = dir[sg->dir].bytes->data[o];
                    n_changed++;
                }
            } else if (sg->dir == MX_DIR_C2S && !rd->opt->keep_payload && o >= EVIDENCE_STREAM_MAX &&
                       payload[j] != '\r' && payload[j] != '\n') {
                payload[j] = FILLER;     /* beyond what was read again: blanked whole */
                n_changed++;
            }
        }
        if (n_changed) {
            ev->segments_changed++;
            ev->bytes_changed += n_changed;
        }
    }
    g_byte_array_free(changed[0], TRUE);
    g_byte_array_free(changed[1], TRUE);
    stream_clear(&dir[0]);
    stream_clear(&dir[1]);
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

    if (ok && (!opt->keep_payload || opt->redact_addresses)) {
        redactor rd = { .opt = opt, .locals = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free) };
        for (guint i = 0; i < targets->len; i++)
            redact_target(&rd, &g_array_index(targets, target, i), kept, ev);
        g_hash_table_destroy(rd.locals);
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
            if (pcap_dump_flush(dump) != 0) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "--evidence: %s: write failed: %s", path,
                            g_strerror(errno));
                ok = false;
            }
            pcap_dump_close(dump);
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
        g_string_append(s, " Message bodies (DATA content up to the final dot, BDAT chunks) and AUTH exchanges were "
                           "overwritten with 'X' of the same length, line ends kept, so sequence numbers, lengths and "
                           "the SMTP dialogue are unchanged.");
    else
        g_string_append(s, " Payloads were kept as captured (--keep-payload): the file holds message bodies and "
                           "credentials if there were any.");
    if (ev->addresses_redacted)
        g_string_append(s, " The local parts of MAIL FROM and RCPT TO addresses (and their echoes in replies) were "
                           "replaced by placeholders of the same length, one per address.");
    if (ev->segments_changed)
        g_string_append_printf(s, " %u segment%s (%" G_GUINT64_FORMAT " bytes) were changed; their TCP "
                               "checksums were left as they were, so Wireshark reports them as bad only when checksum "
                               "validation is turned on.", ev->segments_changed, ev->segments_changed == 1 ? "" : "s",
                               ev->bytes_changed);
    else
        g_string_append(s, " No segment needed changing.");
    return g_string_free(s, FALSE);
}
