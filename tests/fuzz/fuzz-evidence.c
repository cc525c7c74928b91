/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-evidence.c — libFuzzer target: the evidence writer keeps only what smtp.c classified.
 *
 * Input: records of [control: 1 byte][length: 1 byte][bytes] making one
 * SMTP session over IPv4 (gateway 198.51.100.10 -> 203.0.113.25:25).  The
 * control's bits:
 *   0  direction (0 client, 1 server), for a raw segment of the bytes;
 *   1  the segment is sent (sequence numbers advance) but not captured;
 *   2  a second copy follows with the same sequence number, bytes reversed;
 *   3  instead: a message, DATA / 354 / a body holding a secret / "." / 250;
 *   4  instead: AUTH LOGIN / 334 / a credential holding a secret / 535;
 *   5  (first record only) no handshake: the capture begins mid-session.
 * A server RST ends it (a failed session, so the evidence covers it).
 * Secrets are "ZQZQ"; raw bytes have every 'Z' turned to 'z' so that no
 * secret is made any other way, and a body has no '.' (it ends where the
 * generator ends it).
 *
 * The capture is written to a temporary file, read by the analyzer, and
 * mx_evidence_write() writes the evidence.  Invariants (abort on breach):
 *   - every payload byte of the evidence that is not the filler lies in a
 *     range the session's smtp.c classified (mx_session.keep) and reads as
 *     in the capture;
 *   - no secret survives anywhere in the evidence file.
 */
#include "analyzer.h"
#include "decode.h"
#include "evidence.h"
#include "flow.h"
#include "report.h"
#include "smtp.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "ZQZQ"
#define CPORT 40000
#define MAX_FRAMES 512

typedef struct gen {
    pcap_dumper_t *dump;
    uint32_t seq[2];
    int64_t ts_us;
    unsigned frames;
} gen;

static void put(gen *g, int dir, uint8_t flags, uint32_t seq, const uint8_t *p, size_t n)
{
    static const uint8_t gw[4] = { 198, 51, 100, 10 }, mx[4] = { 203, 0, 113, 25 };
    uint8_t f[14 + 20 + 20 + 600];
    if (n > 600 || g->frames >= MAX_FRAMES)
        return;
    memset(f, 0, 54);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *tcp = ip + 20;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((40 + n) >> 8);
    ip[3] = (uint8_t)(40 + n);
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, dir == MX_DIR_C2S ? gw : mx, 4);
    memcpy(ip + 16, dir == MX_DIR_C2S ? mx : gw, 4);
    uint16_t sp = dir == MX_DIR_C2S ? CPORT : 25, dp = dir == MX_DIR_C2S ? 25 : CPORT;
    uint32_t ack = g->seq[!dir];
    tcp[0] = (uint8_t)(sp >> 8), tcp[1] = (uint8_t)sp, tcp[2] = (uint8_t)(dp >> 8), tcp[3] = (uint8_t)dp;
    for (int i = 0; i < 4; i++) {
        tcp[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        tcp[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14] = 0xfa;
    if (n)
        memcpy(tcp + 20, p, n);
    struct pcap_pkthdr h = { .caplen = (bpf_u_int32)(54 + n), .len = (bpf_u_int32)(54 + n) };
    g->ts_us += 1000;
    h.ts.tv_sec = (time_t)(1700000000 + g->ts_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(g->ts_us % 1000000);
    pcap_dump((u_char *)g->dump, &h, f);
    g->frames++;
}

/* One segment of payload; captured unless dropped; a differing second copy on request. */
static void send_seg(gen *g, int dir, const uint8_t *p, size_t n, bool drop, bool twice)
{
    if (n == 0)
        return;
    uint32_t seq = g->seq[dir];
    if (!drop)
        put(g, dir, 0x18, seq, p, n);
    if (twice) {
        uint8_t r[256];
        size_t m = n < sizeof r ? n : sizeof r;
        for (size_t i = 0; i < m; i++)
            r[i] = p[m - 1 - i];
        put(g, dir, 0x18, seq, r, m);
    }
    g->seq[dir] += (uint32_t)n;
}

static void send_str(gen *g, int dir, const char *s, bool drop)
{
    send_seg(g, dir, (const uint8_t *)s, strlen(s), drop, false);
}

static size_t sanitize(const uint8_t *in, size_t n, uint8_t *out, bool body)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (c == 'Z')
            c = 'z';
        if (body && c == '.')
            c = ',';
        if (!body && (c == '\r' || c == '\n'))
            continue;
        out[o++] = c;
    }
    return o;
}

/* Stream offset of seq in direction k, nearest the stream start. */
static bool kept_offset(const mx_session *s, int dir, uint32_t seq, uint32_t j)
{
    if (!s->keep[dir].known || !s->keep[dir].spans)
        return false;
    uint64_t o = (uint32_t)(seq - s->keep[dir].base_seq) + (uint64_t)j;
    const GArray *sp = s->keep[dir].spans;
    for (guint i = 0; i < sp->len; i++) {
        const mx_smtp_span *r = &g_array_index(sp, mx_smtp_span, i);
        if (o >= r->from && o < r->to)
            return true;
    }
    return false;
}

static void check_evidence(const char *path, const mx_session *s)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p)
        abort();
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (memmem(d, h->caplen, SECRET, strlen(SECRET)) != NULL)
            abort();         /* a secret survived */
        mx_packet pk = { 0 };
        mx_decode(DLT_EN10MB, d, h->caplen, h->len, &pk);
        if (pk.l4 != MX_L4_TCP || s == NULL)
            continue;
        int dir = pk.sport == CPORT ? MX_DIR_C2S : MX_DIR_S2C;
        for (uint32_t j = 0; j < pk.payload_caplen; j++)
            if (pk.payload[j] != 'X' && !kept_offset(s, dir, pk.seq, j))
                abort();     /* kept a byte smtp.c never classified */
    }
    pcap_close(p);
}

static void on_session(mx_session *s, void *ctx)
{
    mx_report *r = ctx;
    mx_report_count(r, s);
    g_ptr_array_add(r->sessions, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir_template[] = "/tmp/fuzz-evidence-XXXXXX";
    if (!mkdtemp(dir_template))
        return 0;
    g_autofree char *cap = g_build_filename(dir_template, "in.pcap", NULL);
    g_autofree char *out = g_build_filename(dir_template, "ev.pcap", NULL);

    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    gen g = { .dump = pcap_dump_open(dead, cap), .seq = { 1000, 50000 } };
    if (!g.dump)
        abort();
    bool midstream = size > 0 && (data[0] & 32);
    if (!midstream) {
        put(&g, MX_DIR_C2S, 0x02, g.seq[0] - 1, NULL, 0);
        put(&g, MX_DIR_S2C, 0x12, g.seq[1] - 1, NULL, 0);
        put(&g, MX_DIR_C2S, 0x10, g.seq[0], NULL, 0);
    }
    size_t at = 0;
    uint8_t buf[300];
    while (at + 2 <= size) {
        uint8_t ctl = data[at];
        size_t len = data[at + 1];
        at += 2;
        if (len > size - at)
            len = size - at;
        const uint8_t *b = data + at;
        at += len;
        bool drop = ctl & 2;
        if (ctl & 8) {
            send_str(&g, MX_DIR_C2S, "DATA\r\n", false);
            send_str(&g, MX_DIR_S2C, "354 go ahead\r\n", drop);
            memcpy(buf, SECRET, 4);
            size_t n = 4 + sanitize(b, len, buf + 4, true);
            send_seg(&g, MX_DIR_C2S, buf, n, false, ctl & 4);
            send_str(&g, MX_DIR_C2S, "\r\n.\r\n", false);
            send_str(&g, MX_DIR_S2C, "250 2.0.0 Ok\r\n", false);
        } else if (ctl & 16) {
            send_str(&g, MX_DIR_C2S, "AUTH LOGIN\r\n", false);
            send_str(&g, MX_DIR_S2C, "334 VXNlcm5hbWU6\r\n", drop);
            memcpy(buf, SECRET, 4);
            size_t n = 4 + sanitize(b, len, buf + 4, false);
            buf[n++] = '\r';
            buf[n++] = '\n';
            send_seg(&g, MX_DIR_C2S, buf, n, false, ctl & 4);
            send_str(&g, MX_DIR_S2C, "535 5.7.8 no\r\n", false);
        } else {
            /* Raw bytes keep their line ends; no 'Z', so no secret. */
            size_t m = 0;
            for (size_t i = 0; i < len; i++)
                buf[m++] = b[i] == 'Z' ? 'z' : b[i];
            send_seg(&g, ctl & 1 ? MX_DIR_S2C : MX_DIR_C2S, buf, m, drop, ctl & 4);
        }
    }
    put(&g, MX_DIR_S2C, 0x04, g.seq[1], NULL, 0);
    pcap_dump_close(g.dump);
    pcap_close(dead);

    mx_report r;
    mx_report_init(&r);
    r.version = "fuzz";
    g_ptr_array_add(r.inputs, g_strdup(cap));
    static const uint16_t ports[] = { 25 };
    mx_analyzer *an = mx_analyzer_new(ports, 1, 64, on_session, &r);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *in = pcap_open_offline(cap, err);
    if (!in)
        abort();
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t frame = 0;
    while (pcap_next_ex(in, &h, &d) == 1) {
        mx_raw_frame f = { .data = d, .caplen = h->caplen, .wirelen = h->len, .frame = ++frame,
                           .ts_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec, .dlt = DLT_EN10MB };
        mx_analyzer_frame(an, &f);
    }
    pcap_close(in);
    mx_analyzer_finish(an);
    mx_analyzer_free(an);

    mx_evidence_options opt = { 0 };
    mx_evidence_file *ev = mx_evidence_write(&r, out, &opt, NULL);
    if (ev) {
        /* One flow, one session at most (a second one on the same tuple
         * would be a port reuse this generator does not make). */
        const mx_session *s = r.sessions->len == 1 ? g_ptr_array_index(r.sessions, 0) : NULL;
        check_evidence(out, s);
        mx_evidence_file_free(ev);
    }
    mx_report_clear(&r);
    unlink(cap);
    unlink(out);
    rmdir(dir_template);
    return 0;
}
