/* SPDX-License-Identifier: BSD-3-Clause */
/* gencap.c — writes large, realistic, deterministic captures for the benchmark (issue 8).
 *
 * Usage:
 *   bench-gencap --packets N [--concurrency C] [--seed S] [--stats] OUT.pcap
 *   bench-gencap --flood N [--seed S] OUT.pcap
 *
 * The first form simulates a mail gateway's uplink seen from the gateway:
 * C SMTP sessions open at once (a new one starts as soon as one ends),
 * mostly clean deliveries with MSS-sized DATA segments, the odd
 * retransmission and reordered pair, and a mix of failures (SYN timeouts,
 * refused connections, ICMP unreachables, no greeting, EHLO unanswered,
 * policy rejections, resets, data stalls), over Ethernet, 802.1Q and IPv6,
 * alongside HTTPS and DNS traffic that mxray must filter out.  The file
 * ends after exactly N frames (sessions still open then are cut, as in
 * any real capture).
 *
 * The second form writes N SYNs to port 25, each from a distinct address
 * and port, for the flow-table cap: none is ever answered or closed.
 *
 * Deterministic: the same arguments give the same bytes (its own PRNG,
 * a fixed epoch; nothing from the clock or the environment).
 * Packets are built by hand into one buffer: nothing is allocated per
 * packet, so 10M frames take seconds, not minutes.  Checksums are right.
 *
 * Addresses are documentation ranges only (RFC 5737, RFC 2544, RFC 3849):
 * gateways 198.51.100.10-13 / 2001:db8:1::10-13, MX hosts 203.0.113.0/24,
 * 198.19.0.0/20 and 2001:db8:2::/64, routers 198.18.0.0/24, web servers
 * 198.18.128.0/17 and 2001:db8:443::/64, the resolver 198.51.100.53,
 * flood sources all of 198.18.0.0/15.
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH_US (1700000000LL * 1000000)
#define MS(x) ((int64_t)(x) * 1000)
#define SEC(x) ((int64_t)(x) * 1000000)
#define FRAME_MAX 2048
#define MTU 1500
#define BODY_MAX (512 * 1024)

enum { C2S = 0, S2C = 1 };
enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

/* ---- PRNG: splitmix64 (deterministic across platforms) ------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t rnd_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static bool chance(unsigned per_mille)
{
    return rnd() % 1000 < per_mille;
}

/* ---- the script of one conversation -------------------------------------- */

typedef enum { P_NONE, P_TEXT, P_BODY, P_NOISE } payload_kind;
typedef enum { E_TCP, E_ICMP, E_UDP } ent_type;

/* One packet to emit, time relative to the conversation's start. */
typedef struct ent {
    int64_t t;
    uint32_t order;          /* tie-break: script order */
    uint8_t type;            /* ent_type */
    uint8_t dir;             /* C2S / S2C */
    uint8_t flags;           /* TCP flags */
    uint8_t payload;         /* payload_kind */
    uint8_t ttl;             /* 0: the side's own */
    uint32_t seq, ack;
    uint32_t len;
    uint32_t off;            /* text arena offset, body offset or noise offset */
} ent;

typedef enum {
    K_DELIVERED, K_RCPT_REJECTED, K_MAIL_REJECTED, K_GREETING_REJECTED, K_SYN_TIMEOUT,
    K_REFUSED, K_ICMP, K_NO_GREETING, K_EHLO_NO_REPLY, K_RESET, K_DATA_STALL,
    K_SMTP_COUNT,
    K_HTTPS = K_SMTP_COUNT, K_DNS, K_COUNT
} conv_kind;

static const char *const kind_names[K_COUNT] = {
    "delivered", "rcpt_rejected", "mail_rejected", "greeting_rejected", "syn_timeout",
    "connect_refused", "icmp_unreachable", "no_greeting", "ehlo_no_reply", "reset", "data_stall",
    "https (background)", "dns (background)",
};

/* Per mille of SMTP sessions of each kind. */
static const unsigned kind_weight[K_SMTP_COUNT] = {
    [K_DELIVERED] = 710, [K_RCPT_REJECTED] = 60, [K_MAIL_REJECTED] = 10, [K_GREETING_REJECTED] = 20,
    [K_SYN_TIMEOUT] = 40, [K_REFUSED] = 30, [K_ICMP] = 30, [K_NO_GREETING] = 20,
    [K_EHLO_NO_REPLY] = 20, [K_RESET] = 30, [K_DATA_STALL] = 30,
};

typedef struct conv {
    conv_kind kind;
    bool background;
    int64_t t0;              /* absolute start (capture time offset) */
    ent *e;
    size_t n, cap, pos;
    char *text;              /* payload arena of this conversation */
    size_t text_len, text_cap;

    /* Addresses and link framing */
    bool v6, vlan;
    uint16_t vlan_id;
    uint8_t ip[2][16];       /* client, server */
    uint8_t router[16];      /* ICMP sender */
    uint8_t router_ttl;
    uint16_t port[2];
    uint8_t ttl[2];
    uint16_t ip_id[2];
    uint8_t proto;           /* 6 or 17 */

    /* TCP */
    uint32_t isn[2], nxt[2];
    bool synd[2];
    uint32_t ts_base[2];
    uint16_t mss;            /* payload per full segment (MSS minus timestamps) */
    uint32_t body_len;       /* SMTP message bytes, ".\r\n" included */
} conv;

static void conv_reset(conv *c)
{
    c->n = c->pos = 0;
    c->text_len = 0;
}

static ent *push(conv *c, int64_t t)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->e = realloc(c->e, c->cap * sizeof *c->e);
        if (!c->e) {
            perror("bench-gencap");
            exit(2);
        }
    }
    ent *e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->t = t;
    e->order = (uint32_t)c->n++;
    return e;
}

static uint32_t text_put(conv *c, const void *data, size_t len)
{
    if (c->text_len + len > c->text_cap) {
        while (c->text_len + len > c->text_cap)
            c->text_cap = c->text_cap ? c->text_cap * 2 : 4096;
        c->text = realloc(c->text, c->text_cap);
        if (!c->text) {
            perror("bench-gencap");
            exit(2);
        }
    }
    memcpy(c->text + c->text_len, data, len);
    uint32_t off = (uint32_t)c->text_len;
    c->text_len += len;
    return off;
}

/* A segment from side dir at its next sequence number; ACKs the peer once
 * the peer's SYN was seen.  Returns it for tweaks. */
static ent *seg(conv *c, int64_t t, int dir, uint8_t flags, payload_kind pk, uint32_t off, uint32_t len)
{
    ent *e = push(c, t);
    e->type = E_TCP;
    e->dir = (uint8_t)dir;
    if (c->synd[!dir])
        flags |= F_ACK;
    e->flags = flags;
    e->seq = c->nxt[dir];
    e->ack = (flags & F_ACK) ? c->nxt[!dir] : 0;
    e->payload = (uint8_t)pk;
    e->off = off;
    e->len = len;
    c->nxt[dir] += len + ((flags & (F_SYN | F_FIN)) ? 1 : 0);
    if (flags & F_SYN)
        c->synd[dir] = true;
    return e;
}

static void say(conv *c, int64_t t, int dir, const char *text)
{
    size_t len = strlen(text);
    seg(c, t, dir, F_PSH, P_TEXT, text_put(c, text, len), (uint32_t)len);
}

/* SYN (again, for a retransmission: same ISN). */
static void syn(conv *c, int64_t t)
{
    c->nxt[C2S] = c->isn[C2S];
    c->synd[C2S] = false;
    seg(c, t, C2S, F_SYN, P_NONE, 0, 0);
}

static void synack(conv *c, int64_t t)
{
    c->nxt[S2C] = c->isn[S2C];
    seg(c, t, S2C, F_SYN | F_ACK, P_NONE, 0, 0);
}

static void ack(conv *c, int64_t t, int dir)
{
    seg(c, t, dir, F_ACK, P_NONE, 0, 0);
}

/* SYN at t, SYN-ACK at t + rtt, ACK right after. */
static int64_t handshake(conv *c, int64_t t, int64_t rtt)
{
    syn(c, t);
    synack(c, t + rtt);
    ack(c, t + rtt + 60, C2S);
    return t + rtt + 60;
}

/* The client's command at t, the server's reply one RTT plus think time
 * later (a slow server ACKs the command first); returns the reply time. */
static int64_t exchange(conv *c, int64_t t, const char *cmd, const char *reply, int64_t rtt, int64_t think)
{
    if (cmd)
        say(c, t, C2S, cmd);
    if (cmd && think > MS(40))
        ack(c, t + rtt + MS(40), S2C);
    int64_t tr = t + rtt + think;
    say(c, tr, S2C, reply);
    return tr;
}

static void close_both(conv *c, int64_t t, int64_t rtt)
{
    seg(c, t, S2C, F_FIN, P_NONE, 0, 0);
    seg(c, t + 80, C2S, F_FIN, P_NONE, 0, 0);
    ack(c, t + rtt, S2C);
}

/* ---- message bodies and noise ------------------------------------------ */

static char body_text[BODY_MAX + 256];
static size_t body_header_len;
#define BODY_LINE 76
static uint8_t noise[256 * 1024];

static void init_payloads(void)
{
    size_t n = (size_t)snprintf(body_text, sizeof body_text,
                                "From: <alice@example.org>\r\nTo: <bob@example.net>\r\n"
                                "Subject: quarterly report\r\nMessage-ID: <bench@gw.example.org>\r\n"
                                "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n");
    body_header_len = n;
    for (unsigned line = 0; n + BODY_LINE <= BODY_MAX; line++) {
        int w = snprintf(body_text + n, BODY_LINE + 1, "%08u the quick brown fox jumps over the lazy dog 0123456789 abcdefg", line);
        memset(body_text + n + w, '.', BODY_LINE - 2 - (size_t)w);
        body_text[n + BODY_LINE - 2] = '\r';
        body_text[n + BODY_LINE - 1] = '\n';
        n += BODY_LINE;
    }
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)(rnd() >> 56);
}

/* Message size: most mail is a few KB, some carries attachments. */
static uint32_t pick_body_len(void)
{
    uint32_t want;
    unsigned r = (unsigned)(rnd() % 100);
    if (r < 70)
        want = (uint32_t)rnd_range(1500, 20000);
    else if (r < 95)
        want = (uint32_t)rnd_range(20000, 100000);
    else
        want = (uint32_t)rnd_range(100000, BODY_MAX - 1024);
    uint32_t lines = (uint32_t)((want - body_header_len) / BODY_LINE);
    return (uint32_t)body_header_len + lines * BODY_LINE + 3;   /* + ".\r\n" */
}

static void body_copy(const conv *c, uint8_t *dst, uint32_t off, uint32_t len)
{
    uint32_t text_end = c->body_len - 3;
    uint32_t head = off >= text_end ? 0 : (len < text_end - off ? len : text_end - off);
    memcpy(dst, body_text + off, head);
    for (uint32_t i = head; i < len; i++)
        dst[i] = (uint8_t)".\r\n"[off + i - text_end];
}

/* The body from the client in MSS segments, the server ACKing every
 * second one an RTT later.  A few segments are retransmitted (after an
 * RTO) and a few pairs leave in swapped order.  stall_at: segment from
 * which the path drops everything (UINT32_MAX: none).  Returns the time
 * the last byte was ACKed, or, for a stall, when the client gave up. */
static int64_t send_body(conv *c, int64_t t, int64_t rtt, uint32_t stall_at)
{
    uint32_t base = c->nxt[C2S];
    uint32_t n_segs = (c->body_len + c->mss - 1) / c->mss;
    int64_t gap = 120;                       /* ~100 Mbit/s serialisation */
    int64_t last_ack = t;
    uint32_t i = 0;
    while (i < n_segs) {
        if (i > 0 && i % 40 == 0 && stall_at == UINT32_MAX)
            t += rtt;                        /* window full: wait for ACKs */
        bool swap = i + 1 < n_segs && i + 1 != stall_at && chance(5);
        uint32_t order[2] = { i, i + 1 };
        if (swap) {
            order[0] = i + 1;
            order[1] = i;
        }
        for (int k = 0; k < (swap ? 2 : 1); k++) {
            uint32_t s = order[k];
            uint32_t off = s * c->mss;
            uint32_t len = off + c->mss <= c->body_len ? c->mss : c->body_len - off;
            ent *e = seg(c, t, C2S, s + 1 == n_segs ? F_PSH : 0, P_BODY, off, len);
            e->seq = base + off;
            t += gap;
            if (s >= stall_at)
                continue;
            bool lost = chance(5);            /* lost beyond the capture point: sent again */
            if (lost) {
                ent *r = seg(c, t + rtt + MS(200), C2S, 0, P_BODY, off, len);
                r->seq = base + off;
            }
            if (s % 2 == 1 || s + 1 == n_segs) {
                int64_t ta = t + rtt + (lost ? MS(200) + rtt : 0);
                ent *a = seg(c, ta, S2C, F_ACK, P_NONE, 0, 0);
                uint32_t upto = off + len;
                a->ack = base + upto;
                if (ta > last_ack)
                    last_ack = ta;
            }
        }
        i += swap ? 2 : 1;
    }
    c->nxt[C2S] = base + c->body_len;
    if (stall_at != UINT32_MAX) {
        /* RTO backoff on the first lost segment, then the client gives up. */
        uint32_t off = stall_at * c->mss;
        uint32_t len = off + c->mss <= c->body_len ? c->mss : c->body_len - off;
        int64_t rto = MS(200) + rtt;
        for (int k = 0; k < 7; k++) {
            t += rto;
            ent *r = seg(c, t, C2S, 0, P_BODY, off, len);
            r->seq = base + off;
            rto *= 2;
        }
        return t + rto;
    }
    return last_ack;
}

/* ---- addresses ------------------------------------------------------------ */

static void v4(uint8_t *a, unsigned x0, unsigned x1, unsigned x2, unsigned x3)
{
    memset(a, 0, 16);
    a[0] = (uint8_t)x0, a[1] = (uint8_t)x1, a[2] = (uint8_t)x2, a[3] = (uint8_t)x3;
}

static void v6(uint8_t *a, uint16_t w2, uint16_t w3, uint32_t host)
{
    memset(a, 0, 16);
    a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
    a[4] = (uint8_t)(w2 >> 8), a[5] = (uint8_t)w2;
    a[6] = (uint8_t)(w3 >> 8), a[7] = (uint8_t)w3;
    a[12] = (uint8_t)(host >> 24), a[13] = (uint8_t)(host >> 16);
    a[14] = (uint8_t)(host >> 8), a[15] = (uint8_t)host;
}

static uint16_t next_port[4] = { 32768, 40000, 47000, 54000 };

static uint16_t ephemeral(unsigned gw)
{
    uint16_t p = next_port[gw & 3]++;
    if (next_port[gw & 3] > 60999)
        next_port[gw & 3] = 32768;
    return p;
}

/* Common set-up of a TCP conversation. */
static void conv_tcp(conv *c, bool v6_, uint16_t server_port)
{
    c->v6 = v6_;
    c->proto = 6;
    c->vlan = chance(300);
    c->vlan_id = (uint16_t)(c->vlan ? 100 + rnd() % 4 : 0);
    c->port[C2S] = 0;
    c->port[S2C] = server_port;
    c->isn[C2S] = (uint32_t)rnd();
    c->isn[S2C] = (uint32_t)rnd();
    c->nxt[C2S] = c->isn[C2S];
    c->nxt[S2C] = c->isn[S2C];
    c->synd[C2S] = c->synd[S2C] = false;
    c->ts_base[C2S] = (uint32_t)rnd();
    c->ts_base[S2C] = (uint32_t)rnd();
    c->ip_id[C2S] = (uint16_t)rnd();
    c->ip_id[S2C] = (uint16_t)rnd();
    c->ttl[C2S] = 64;
    c->mss = v6_ ? 1440 - 12 : 1460 - 12;
}

/* ---- SMTP sessions ---------------------------------------------------------- */

static conv_kind pick_smtp_kind(void)
{
    unsigned r = (unsigned)(rnd() % 1000), acc = 0;
    for (int k = 0; k < K_SMTP_COUNT; k++) {
        acc += kind_weight[k];
        if (r < acc)
            return (conv_kind)k;
    }
    return K_DELIVERED;
}

static void smtp_script(conv *c)
{
    char buf[256];
    unsigned gw = (unsigned)(rnd() % 4);
    unsigned mx = (unsigned)(rnd() % 4350);
    bool is6 = chance(200);
    conv_tcp(c, is6, 25);
    c->port[C2S] = ephemeral(gw);
    if (is6) {
        v6(c->ip[C2S], 1, 0, 0x10 + gw);
        v6(c->ip[S2C], 2, 0, 1 + mx);
    } else {
        v4(c->ip[C2S], 198, 51, 100, 10 + gw);
        if (mx < 254)
            v4(c->ip[S2C], 203, 0, 113, 1 + mx);
        else
            v4(c->ip[S2C], 198, 19, (mx - 254) / 256, (mx - 254) % 256);
    }
    /* Each MX host has its own distance: hop 3..14 (TTL 62..51). */
    unsigned hops = 3 + (mx * 2654435761u >> 16) % 12;
    c->ttl[S2C] = (uint8_t)(64 - hops + 1);
    unsigned rhop = 1 + (unsigned)(rnd() % (hops - 1));
    if (is6)
        v6(c->router, 0xff, 0, rhop);
    else
        v4(c->router, 198, 18, 0, rhop);
    c->router_ttl = (uint8_t)(255 - rhop + 1);

    int64_t rtt = rnd_range(MS(5), MS(150));
    int64_t think = rnd_range(MS(1), MS(30));
    conv_kind k = c->kind = pick_smtp_kind();
    int64_t t = 0;

    if (k == K_SYN_TIMEOUT) {
        /* Linux: retries 1, 2, 4, 8 s apart; Postfix gives up at 30 s. */
        int64_t at[] = { 0, SEC(1), SEC(3), SEC(7), SEC(15) };
        for (int i = 0; i < 5; i++)
            syn(c, at[i]);
        return;
    }
    if (k == K_REFUSED) {
        syn(c, 0);
        ent *r = seg(c, rtt, S2C, F_RST | F_ACK, P_NONE, 0, 0);
        r->seq = 0;
        r->ack = c->isn[C2S] + 1;
        return;
    }
    if (k == K_ICMP) {
        syn(c, 0);
        ent *e = push(c, rtt / 2);
        e->type = E_ICMP;
        e->dir = S2C;
        e->flags = (uint8_t)(chance(500) ? 13 : 1);   /* admin prohibited / host unreachable */
        return;
    }

    t = handshake(c, 0, rtt);
    if (k == K_NO_GREETING) {
        int64_t give_up = t + SEC(30);
        seg(c, give_up, C2S, F_FIN, P_NONE, 0, 0);
        ack(c, give_up + rtt, S2C);
        return;
    }
    int64_t greet_delay = chance(20) ? SEC(5) + rnd_range(0, MS(300)) : rnd_range(MS(5), MS(200));
    snprintf(buf, sizeof buf, "220 mx%u.example.net ESMTP Postfix\r\n", mx);
    if (k == K_GREETING_REJECTED)
        snprintf(buf, sizeof buf, chance(500) ? "554 5.7.1 mx%u.example.net ESMTP not accepting messages\r\n"
                                              : "421 4.7.0 mx%u.example.net Too many connections, try later\r\n", mx);
    t = exchange(c, t, NULL, buf, 0, greet_delay);
    if (k == K_GREETING_REJECTED) {
        t = exchange(c, t + 200, "QUIT\r\n", "221 2.0.0 Bye\r\n", rtt, think);
        close_both(c, t + 100, rtt);
        return;
    }
    if (k == K_EHLO_NO_REPLY) {
        say(c, t + 200, C2S, "EHLO gw.example.org\r\n");
        ack(c, t + 200 + rtt, S2C);
        int64_t give_up = t + SEC(30);
        seg(c, give_up, C2S, F_FIN, P_NONE, 0, 0);
        ack(c, give_up + rtt, S2C);
        return;
    }
    snprintf(buf, sizeof buf, "250-mx%u.example.net\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
                              "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n", mx);
    t = exchange(c, t + 200, "EHLO gw.example.org\r\n", buf, rtt, think);
    c->body_len = pick_body_len();
    snprintf(buf, sizeof buf, "MAIL FROM:<alice@example.org> SIZE=%u\r\n", c->body_len);
    if (k == K_RESET) {
        say(c, t + 200, C2S, buf);
        ent *r = seg(c, t + 200 + rtt, S2C, F_RST | F_ACK, P_NONE, 0, 0);
        if (chance(500))
            r->ttl = (uint8_t)(c->ttl[S2C] + 1 + rnd() % (hops - 2));   /* forged nearer */
        return;
    }
    t = exchange(c, t + 200, buf,
                 k == K_MAIL_REJECTED ? "554 5.7.1 Client host rejected: listed at zen.example.net\r\n"
                                      : "250 2.1.0 Ok\r\n", rtt, think);
    if (k != K_MAIL_REJECTED) {
        unsigned rcpts = 1 + (unsigned)(rnd() % 3);
        for (unsigned i = 0; i < rcpts; i++) {
            snprintf(buf, sizeof buf, "RCPT TO:<user%u@mx%u.example.net>\r\n", (unsigned)(rnd() % 100000), mx);
            const char *reply = "250 2.1.5 Ok\r\n";
            if (k == K_RCPT_REJECTED && i + 1 == rcpts)
                reply = chance(500) ? "450 4.2.0 Recipient address rejected: Greylisted, see http://example.net/grey\r\n"
                                    : "550 5.1.1 Recipient address rejected: User unknown in local recipient table\r\n";
            t = exchange(c, t + 200, buf, reply, rtt, think);
        }
    }
    if (k == K_MAIL_REJECTED || k == K_RCPT_REJECTED) {
        t = exchange(c, t + 200, "QUIT\r\n", "221 2.0.0 Bye\r\n", rtt, think);
        close_both(c, t + 100, rtt);
        return;
    }
    t = exchange(c, t + 200, "DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n", rtt, think);
    uint32_t n_segs = (c->body_len + c->mss - 1) / c->mss;
    if (k == K_DATA_STALL) {
        uint32_t stall_at = (uint32_t)(rnd() % n_segs);
        t = send_body(c, t + 200, rtt, stall_at);
        ent *r = seg(c, t, C2S, F_RST | F_ACK, P_NONE, 0, 0);
        r->seq = c->nxt[C2S];
        return;
    }
    t = send_body(c, t + 200, rtt, UINT32_MAX);
    snprintf(buf, sizeof buf, "250 2.0.0 Ok: queued as %08" PRIX64 "\r\n", rnd() & 0xffffffffu);
    t = exchange(c, t, NULL, buf, 0, think + MS(20));
    t = exchange(c, t + 300, "QUIT\r\n", "221 2.0.0 Bye\r\n", rtt, think);
    close_both(c, t + 100, rtt);
}

/* ---- background: HTTPS downloads and DNS look-ups ------------------------- */

static void https_script(conv *c)
{
    bool is6 = chance(250);
    unsigned host = (unsigned)(rnd() % 20000);
    unsigned client = (unsigned)(rnd() % 80);
    conv_tcp(c, is6, 443);
    c->port[C2S] = ephemeral(client);
    if (is6) {
        v6(c->ip[C2S], 1, 0, 0x100 + client);
        v6(c->ip[S2C], 0x443, 0, 1 + host);
    } else {
        v4(c->ip[C2S], 198, 51, 100, 20 + client);
        v4(c->ip[S2C], 198, 18, 128 + host / 256 % 128, host % 256);
    }
    c->ttl[S2C] = (uint8_t)(57 - host % 8);
    int64_t rtt = rnd_range(MS(2), MS(80));
    int64_t t = handshake(c, rnd_range(0, MS(500)), rtt);
    seg(c, t + 100, C2S, F_PSH, P_NOISE, (uint32_t)(rnd() % 1024), 517);        /* ClientHello */
    t += 100 + rtt;
    uint32_t total = (uint32_t)rnd_range(4000, 120000);
    uint32_t sent = 0, n = 0;
    while (sent < total) {
        uint32_t len = total - sent < c->mss ? total - sent : c->mss;
        seg(c, t, S2C, 0, P_NOISE, (uint32_t)(rnd() % (sizeof noise - 2048)), len);
        sent += len;
        t += 120;
        if (++n % 2 == 0 || sent == total)
            ack(c, t + rtt, C2S);
        if (n % 30 == 0)
            t += rtt;
    }
    t += rtt;
    seg(c, t, C2S, F_PSH, P_NOISE, 5, 24);                       /* close_notify */
    close_both(c, t + rtt, rtt);
}

static void dns_name(uint8_t *q, size_t *n, const char *dotted)
{
    while (*dotted) {
        const char *dot = strchr(dotted, '.');
        size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
        q[(*n)++] = (uint8_t)len;
        memcpy(q + *n, dotted, len);
        *n += len;
        dotted += len + (dot ? 1 : 0);
    }
    q[(*n)++] = 0;
}

/* A few look-ups from the gateway to its resolver; one in fifty is never
 * answered and asked again 5 s later (glibc RES_TIMEOUT). */
static void dns_script(conv *c)
{
    c->v6 = false;
    c->proto = 17;
    c->vlan = false;
    v4(c->ip[C2S], 198, 51, 100, 10 + (unsigned)(rnd() % 4));
    v4(c->ip[S2C], 198, 51, 100, 53);
    c->port[C2S] = (uint16_t)rnd_range(1024, 65535);
    c->port[S2C] = 53;
    c->ttl[C2S] = 64;
    c->ttl[S2C] = 64;
    int64_t t = rnd_range(0, MS(300));
    unsigned queries = 1 + (unsigned)(rnd() % 3);
    for (unsigned i = 0; i < queries; i++) {
        uint8_t msg[512];
        char name[96];
        unsigned mx = (unsigned)(rnd() % 4350);
        uint16_t qtype = (uint16_t)(i == 0 ? 15 : (rnd() % 2 ? 1 : 28));
        snprintf(name, sizeof name, qtype == 15 ? "example%u.net" : "mx%u.example.net", mx);
        uint16_t id = (uint16_t)rnd();
        size_t n = 12;
        memset(msg, 0, 12);
        msg[0] = (uint8_t)(id >> 8), msg[1] = (uint8_t)id;
        msg[2] = 0x01;                         /* RD */
        msg[5] = 1;                            /* QDCOUNT */
        dns_name(msg, &n, name);
        msg[n++] = 0, msg[n++] = (uint8_t)qtype, msg[n++] = 0, msg[n++] = 1;
        bool lost = chance(20);
        for (int attempt = 0; attempt < (lost ? 2 : 1); attempt++) {
            ent *q = push(c, t);
            q->type = E_UDP;
            q->dir = C2S;
            q->payload = P_TEXT;
            q->off = text_put(c, msg, n);
            q->len = (uint32_t)n;
            if (lost && attempt == 0)
                t += SEC(5);
        }
        /* The answer: same question, one record. */
        size_t qend = n;
        msg[2] = 0x81, msg[3] = 0x80;          /* QR RD RA */
        msg[7] = 1;                            /* ANCOUNT */
        msg[n++] = 0xc0, msg[n++] = 12;        /* name: pointer to the question */
        msg[n++] = 0, msg[n++] = (uint8_t)qtype, msg[n++] = 0, msg[n++] = 1;
        msg[n++] = 0, msg[n++] = 0, msg[n++] = 0x0e, msg[n++] = 0x10;   /* TTL 3600 */
        if (qtype == 1) {
            msg[n++] = 0, msg[n++] = 4;
            msg[n++] = 203, msg[n++] = 0, msg[n++] = 113, msg[n++] = (uint8_t)(1 + mx % 254);
        } else if (qtype == 28) {
            msg[n++] = 0, msg[n++] = 16;
            v6(msg + n, 2, 0, 1 + mx);
            n += 16;
        } else {
            char target[64];
            size_t rd = n + 2;
            snprintf(target, sizeof target, "mx%u.example.net", mx);
            n += 2;
            msg[n++] = 0, msg[n++] = 10;        /* preference */
            dns_name(msg, &n, target);
            msg[rd - 2] = (uint8_t)((n - rd) >> 8), msg[rd - 1] = (uint8_t)(n - rd);
        }
        (void)qend;
        int64_t tr = t + rnd_range(MS(1), MS(40));
        ent *r = push(c, tr);
        r->type = E_UDP;
        r->dir = S2C;
        r->payload = P_TEXT;
        r->off = text_put(c, msg, n);
        r->len = (uint32_t)n;
        t = tr + rnd_range(100, MS(5));
    }
}

static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* A new conversation in slot c, starting at t0. */
static void conv_start(conv *c, bool background, int64_t t0)
{
    conv_reset(c);
    c->background = background;
    c->t0 = t0;
    if (!background) {
        smtp_script(c);
    } else if (chance(750)) {
        c->kind = K_HTTPS;
        https_script(c);
    } else {
        c->kind = K_DNS;
        dns_script(c);
    }
    qsort(c->e, c->n, sizeof *c->e, ent_cmp);
}

/* ---- frames -------------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
    for (; n >= 2; p += 2, n -= 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (n)
        sum += (uint32_t)(p[0] << 8);
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }

/* Ethernet (+ 802.1Q) header; returns its length. */
static size_t put_link(uint8_t *f, const conv *c, int dir, bool v6_)
{
    static const uint8_t mac[2][6] = { { 0x02, 0, 0, 0, 0, 0x01 }, { 0x02, 0, 0, 0, 0, 0xfe } };
    memcpy(f, mac[!dir], 6);                 /* destination */
    memcpy(f + 6, mac[dir], 6);
    size_t n = 12;
    if (c->vlan) {
        put16(f + n, 0x8100);
        put16(f + n + 2, c->vlan_id);
        n += 4;
    }
    put16(f + n, v6_ ? 0x86dd : 0x0800);
    return n + 2;
}

/* IP header for payload_len bytes of proto; returns its length. */
static size_t put_ip(uint8_t *p, bool v6_, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                     uint8_t ttl, uint16_t id, size_t payload_len)
{
    if (v6_) {
        put32(p, 0x60000000);
        put16(p + 4, (uint16_t)payload_len);
        p[6] = proto;
        p[7] = ttl;
        memcpy(p + 8, src, 16);
        memcpy(p + 24, dst, 16);
        return 40;
    }
    p[0] = 0x45, p[1] = 0;
    put16(p + 2, (uint16_t)(20 + payload_len));
    put16(p + 4, id);
    put16(p + 6, 0x4000);                    /* DF */
    p[8] = ttl, p[9] = proto;
    put16(p + 10, 0);
    memcpy(p + 12, src, 4);
    memcpy(p + 16, dst, 4);
    put16(p + 10, fold(sum16(p, 20, 0)));
    return 20;
}

static uint32_t pseudo_sum(bool v6_, const uint8_t *src, const uint8_t *dst, uint8_t proto, size_t len)
{
    uint32_t s = sum16(src, v6_ ? 16 : 4, 0);
    s = sum16(dst, v6_ ? 16 : 4, s);
    return s + proto + (uint32_t)len;
}

static void fill_payload(const conv *c, const ent *e, uint8_t *dst)
{
    switch (e->payload) {
    case P_TEXT:
        memcpy(dst, c->text + e->off, e->len);
        break;
    case P_BODY:
        body_copy(c, dst, e->off, e->len);
        break;
    case P_NOISE:
        memcpy(dst, noise + e->off, e->len);
        break;
    default:
        break;
    }
}

/* TCP segment (IP header onwards) of entry e at absolute time t. */
static size_t put_tcp_ip(uint8_t *p, const conv *c, const ent *e, int64_t t, uint16_t ip_id)
{
    int dir = e->dir;
    const uint8_t *src = c->ip[dir], *dst = c->ip[!dir];
    uint8_t ttl = e->ttl ? e->ttl : c->ttl[dir];
    bool syn_ = e->flags & F_SYN, rst = e->flags & F_RST;
    size_t opt = rst ? 0 : syn_ ? 20 : 12;
    size_t tcp_len = 20 + opt + e->len;
    size_t ipn = put_ip(p, c->v6, src, dst, 6, ttl, rst ? 0 : ip_id, tcp_len);
    uint8_t *h = p + ipn;
    put16(h, c->port[dir]);
    put16(h + 2, c->port[!dir]);
    put32(h + 4, e->seq);
    put32(h + 8, e->ack);
    h[12] = (uint8_t)(((20 + opt) / 4) << 4);
    h[13] = e->flags;
    put16(h + 14, rst ? 0 : 64240);
    put16(h + 16, 0);
    put16(h + 18, 0);
    uint8_t *o = h + 20;
    uint32_t tsval = c->ts_base[dir] + (uint32_t)(t / 1000);
    uint32_t tsecr = (e->flags & F_ACK) ? c->ts_base[!dir] + (uint32_t)(t / 1000) - 1 : 0;
    if (syn_) {
        o[0] = 2, o[1] = 4;
        put16(o + 2, (uint16_t)(c->mss + 12));
        o[4] = 4, o[5] = 2;                  /* SACK permitted */
        o[6] = 8, o[7] = 10;
        put32(o + 8, tsval);
        put32(o + 12, tsecr);
        o[16] = 1;                           /* NOP */
        o[17] = 3, o[18] = 3, o[19] = 7;     /* window scale 7 */
    } else if (opt) {
        o[0] = 1, o[1] = 1, o[2] = 8, o[3] = 10;
        put32(o + 4, tsval);
        put32(o + 8, tsecr);
    }
    fill_payload(c, e, h + 20 + opt);
    put16(h + 16, fold(sum16(h, tcp_len, pseudo_sum(c->v6, src, dst, 6, tcp_len))));
    return ipn + tcp_len;
}

static size_t build_frame(uint8_t *f, conv *c, const ent *e, int64_t t)
{
    int dir = e->dir;
    if (e->type == E_TCP) {
        size_t l = put_link(f, c, dir, c->v6);
        return l + put_tcp_ip(f + l, c, e, t, c->ip_id[dir]++);
    }
    if (e->type == E_UDP) {
        size_t l = put_link(f, c, dir, c->v6);
        const uint8_t *src = c->ip[dir], *dst = c->ip[!dir];
        size_t udp_len = 8 + e->len;
        size_t ipn = put_ip(f + l, c->v6, src, dst, 17, c->ttl[dir], (uint16_t)rnd(), udp_len);
        uint8_t *u = f + l + ipn;
        put16(u, c->port[dir]);
        put16(u + 2, c->port[!dir]);
        put16(u + 4, (uint16_t)udp_len);
        put16(u + 6, 0);
        fill_payload(c, e, u + 8);
        uint16_t ck = fold(sum16(u, udp_len, pseudo_sum(c->v6, src, dst, 17, udp_len)));
        put16(u + 6, ck ? ck : 0xffff);
        return l + ipn + udp_len;
    }
    /* ICMP error from the router to the client, quoting the client's SYN. */
    uint8_t quote[256];
    ent synent = { .type = E_TCP, .dir = C2S, .flags = F_SYN, .seq = c->isn[C2S] };
    size_t qlen = put_tcp_ip(quote, c, &synent, t, (uint16_t)(c->ip_id[C2S] - 1));
    if (!c->v6 && qlen > 28)
        qlen = 28;                           /* RFC 792: IP header + 8 bytes */
    size_t l = put_link(f, c, S2C, c->v6);
    size_t icmp_len = 8 + qlen;
    size_t ipn = put_ip(f + l, c->v6, c->router, c->ip[C2S], c->v6 ? 58 : 1, c->router_ttl, (uint16_t)rnd(), icmp_len);
    uint8_t *m = f + l + ipn;
    m[0] = c->v6 ? 1 : 3;
    m[1] = c->v6 ? (e->flags == 13 ? 1 : 3) : e->flags;
    put16(m + 2, 0);
    put32(m + 4, 0);
    memcpy(m + 8, quote, qlen);
    uint32_t s = c->v6 ? pseudo_sum(true, c->router, c->ip[C2S], 58, icmp_len) : 0;
    put16(m + 2, fold(sum16(m, icmp_len, s)));
    return l + ipn + icmp_len;
}

/* ---- the schedule: a min-heap of conversations by next packet time ------ */

typedef struct slot_heap {
    conv **v;
    size_t n;
} slot_heap;

static int64_t next_time(const conv *c)
{
    return c->t0 + c->e[c->pos].t;
}

static bool heap_less(conv *a, conv *b)
{
    int64_t ta = next_time(a), tb = next_time(b);
    return ta < tb || (ta == tb && a < b);
}

static void heap_push(slot_heap *h, conv *c)
{
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(c, h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = c;
}

static conv *heap_pop(slot_heap *h)
{
    conv *top = h->v[0];
    conv *last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        conv *mv = last;
        if (l < h->n && heap_less(h->v[l], mv))
            m = l, mv = h->v[l];
        if (r < h->n && heap_less(h->v[r], mv))
            m = r;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-gencap --packets N [--concurrency C] [--seed S] [--stats] OUT.pcap\n"
                    "       bench-gencap --flood N [--seed S] OUT.pcap\n");
    exit(2);
}

static uint64_t parse_count(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || v < 1)
        usage();
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M' || *end == 'm')
        v *= 1e6, end++;
    if (*end)
        usage();
    return (uint64_t)v;
}

static FILE *open_out(const char *path, pcap_dumper_t **dumper)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "bench-gencap: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_MICRO);
    *dumper = pcap_dump_fopen(dead, f);
    if (!*dumper) {
        fprintf(stderr, "bench-gencap: %s: %s\n", path, pcap_geterr(dead));
        exit(2);
    }
    return f;
}

static void write_frame(pcap_dumper_t *d, const uint8_t *f, size_t len, int64_t t)
{
    struct pcap_pkthdr h;
    int64_t abs = EPOCH_US + t;
    h.ts.tv_sec = (time_t)(abs / 1000000);
    h.ts.tv_usec = (suseconds_t)(abs % 1000000);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)d, &h, f);
}

/* N SYNs to 203.0.113.25:25 from distinct sources in 198.18.0.0/15, 1 µs apart. */
static void flood(const char *path, uint64_t n)
{
    pcap_dumper_t *d;
    open_out(path, &d);
    conv c;
    memset(&c, 0, sizeof c);
    uint8_t f[FRAME_MAX];
    v4(c.ip[S2C], 203, 0, 113, 25);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t host = (uint32_t)(i % 131072), round = (uint32_t)(i / 131072);
        conv_tcp(&c, false, 25);
        c.vlan = false;
        v4(c.ip[C2S], 198, 18 + host / 65536, host / 256 % 256, host % 256);
        c.port[C2S] = (uint16_t)(1024 + (round * 7919 + host) % 64000);
        c.ttl[C2S] = (uint8_t)(40 + rnd() % 20);
        ent e = { .type = E_TCP, .dir = C2S, .flags = F_SYN, .seq = c.isn[C2S] };
        size_t len = build_frame(f, &c, &e, (int64_t)i);
        write_frame(d, f, len, (int64_t)i);
    }
    pcap_dump_close(d);
    fprintf(stderr, "bench-gencap: %s: %" PRIu64 " SYNs from %" PRIu64 " distinct sources\n", path, n, n);
}

int main(int argc, char **argv)
{
    uint64_t packets = 0, flood_n = 0, seed = 1;
    unsigned concurrency = 500;
    bool stats = false;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--packets") == 0 && i + 1 < argc)
            packets = parse_count(argv[++i]);
        else if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc)
            concurrency = (unsigned)parse_count(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--flood") == 0 && i + 1 < argc)
            flood_n = parse_count(argv[++i]);
        else if (strcmp(argv[i], "--stats") == 0)
            stats = true;
        else if (argv[i][0] != '-' && !out)
            out = argv[i];
        else
            usage();
    }
    if (!out || (!packets && !flood_n) || concurrency < 1)
        usage();
    rng_state = seed;
    init_payloads();
    if (flood_n) {
        flood(out, flood_n);
        return 0;
    }

    pcap_dumper_t *d;
    open_out(out, &d);
    /* One background slot (HTTPS or DNS) per ten SMTP slots; a background
     * slot idles between conversations so web traffic stays a minority. */
    unsigned bg = concurrency / 10 ? concurrency / 10 : 1;
    size_t slots = concurrency + bg;
    conv *convs = calloc(slots, sizeof *convs);
    slot_heap heap = { calloc(slots, sizeof(conv *)), 0 };
    if (!convs || !heap.v) {
        perror("bench-gencap");
        return 2;
    }
    for (size_t i = 0; i < slots; i++) {
        bool background = i >= concurrency;
        /* Staggered starts over the first few seconds. */
        conv_start(&convs[i], background, rnd_range(0, SEC(3)));
        heap_push(&heap, &convs[i]);
    }
    uint64_t started[K_COUNT] = {0}, frames[2] = {0}, bytes = 0;
    for (size_t i = 0; i < slots; i++)
        started[convs[i].kind]++;
    uint8_t f[FRAME_MAX];
    int64_t now = 0;
    for (uint64_t written = 0; written < packets; written++) {
        conv *c = heap_pop(&heap);
        const ent *e = &c->e[c->pos++];
        now = c->t0 + e->t;
        size_t len = build_frame(f, c, e, now);
        write_frame(d, f, len, now);
        frames[c->background]++;
        bytes += len;
        if (c->pos == c->n) {
            int64_t idle = c->background ? rnd_range(MS(100), SEC(2)) : rnd_range(MS(1), MS(50));
            conv_start(c, c->background, now + idle);
            started[c->kind]++;
        }
        heap_push(&heap, c);
    }
    pcap_dump_close(d);
    if (stats) {
        uint64_t smtp = 0;
        for (int k = 0; k < K_SMTP_COUNT; k++)
            smtp += started[k];
        fprintf(stderr, "bench-gencap: %s: %" PRIu64 " frames (%" PRIu64 " SMTP/ICMP, %" PRIu64
                " background), %" PRIu64 " bytes, %.1f s of capture, %u SMTP sessions open at once\n",
                out, packets, frames[0], frames[1], bytes, (double)now / 1e6, concurrency);
        fprintf(stderr, "bench-gencap: conversations started: %" PRIu64 " SMTP (the last %u cut by the end)\n",
                smtp, concurrency);
        for (int k = 0; k < K_COUNT; k++)
            fprintf(stderr, "  %-20s %" PRIu64 "\n", kind_names[k], started[k]);
    }
    for (size_t i = 0; i < slots; i++) {
        free(convs[i].e);
        free(convs[i].text);
    }
    free(convs);
    free(heap.v);
    return 0;
}
