/* SPDX-License-Identifier: BSD-3-Clause */
/* flow.c — per-connection TCP state for SMTP-port flows, and the table that bounds it.
 *
 * A packet is looked up by its canonical tuple (client, server, ports; the
 * server is the side on a tracked port), then updates the state of its
 * direction: sequence space, ACKs, retransmissions, TTL and IP ID (hop
 * model inputs), handshake, RST/FIN, and the Zeek history string.
 * Payload goes to the flow's stream reassembly, which feeds SMTP.
 * Lookups use a key on the stack: nothing is allocated per packet, only
 * per flow.
 */
#include "flow.h"
#include "smtp.h"
#include "stream.h"

#include <string.h>

typedef struct flow_list {
    mx_flow *head, *tail;
} flow_list;

struct mx_flow_table {
    GHashTable *flows;       /* mx_flow_key* (inside the flow) -> mx_flow* */
    bool skip_ladders;
    uint16_t *ports;
    size_t n_ports;
    size_t max_flows;
    /* Every flow is on one list, least recently active first: closed
     * (lingering), unanswered (SYNs only, nothing back yet) or open. */
    flow_list open, unanswered, closed;
    uint64_t lru_clock;      /* stamps each move to a list's tail (mx_flow.lru_seq) */
    mx_flow_finish_fn finish;
    void *ctx;
    mx_flow_stats stats;
    uint64_t next_id;
    int64_t last_expire_us;
};

/* ---- sequence arithmetic (RFC 1982 style, 32-bit wrap) ---------------- */

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* ---- hashing ------------------------------------------------------------ */

/* In live mode the tuples are chosen by whoever sends packets past the
 * gateway: the table's hash is keyed with a per-run random key (SipHash-1-3,
 * as Rust's HashMap and CPython use), so nobody can aim collisions at one
 * bucket.  Nothing iterates the table: every order the reports show comes
 * from the LRU lists and flow ids, so outputs do not depend on the key. */
static uint64_t hash_key[2];

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                 \
    do {                                                                         \
        v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);            \
        v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;                                 \
        v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;                                 \
        v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);            \
    } while (0)

static uint64_t siphash13(const uint8_t *in, size_t len, uint64_t k0, uint64_t k1)
{
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = 0;
        for (int b = 7; b >= 0; b--)
            m = m << 8 | in[i + (size_t)b];
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)len << 56;
    for (size_t i = full; i < len; i++)
        last |= (uint64_t)in[i] << (8 * (i - full));
    v3 ^= last;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void mx_flow_hash_key(uint64_t k0, uint64_t k1)
{
    hash_key[0] = k0;
    hash_key[1] = k1;
}

static void seed_hash_once(void)
{
    static gsize seeded = 0;
    if (g_once_init_enter(&seeded)) {
        /* GLib seeds its generator from /dev/urandom. */
        if (hash_key[0] == 0 && hash_key[1] == 0)
            mx_flow_hash_key((uint64_t)g_random_int() << 32 | g_random_int(),
                             (uint64_t)g_random_int() << 32 | g_random_int());
        g_once_init_leave(&seeded, 1);
    }
}

static guint key_hash(gconstpointer p)
{
    const mx_flow_key *k = p;
    /* An IPv4 address is its first 4 bytes (the rest are zero), so only
     * those are hashed for it; on the stack, nothing allocated. */
    uint8_t buf[2 * 16 + 5];
    size_t n = k->client.family == 6 ? 16 : 4, at = 0;
    memcpy(buf + at, k->client.bytes, n);
    at += n;
    memcpy(buf + at, k->server.bytes, n);
    at += n;
    buf[at++] = (uint8_t)(k->client_port >> 8);
    buf[at++] = (uint8_t)k->client_port;
    buf[at++] = (uint8_t)(k->server_port >> 8);
    buf[at++] = (uint8_t)k->server_port;
    buf[at++] = (uint8_t)k->client.family;
    uint64_t h = siphash13(buf, at, hash_key[0], hash_key[1]);
    return (guint)(h ^ h >> 32);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    const mx_flow_key *x = a, *y = b;
    return x->client_port == y->client_port && x->server_port == y->server_port &&
           mx_addr_equal(&x->client, &y->client) && mx_addr_equal(&x->server, &y->server);
}

/* ---- lists -------------------------------------------------------------- */

static void list_remove(flow_list *l, mx_flow *f)
{
    if (f->lru_prev)
        f->lru_prev->lru_next = f->lru_next;
    else
        l->head = f->lru_next;
    if (f->lru_next)
        f->lru_next->lru_prev = f->lru_prev;
    else
        l->tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void list_append(mx_flow_table *t, flow_list *l, mx_flow *f)
{
    f->lru_seq = ++t->lru_clock;
    f->lru_prev = l->tail;
    f->lru_next = NULL;
    if (l->tail)
        l->tail->lru_next = f;
    else
        l->head = f;
    l->tail = f;
}

/* Unanswered: the client sent SYNs only, and the server sent nothing
 * (at most a router's ICMP error came back).  Such a flow ends sooner
 * than an open one (MX_FLOW_SYN_IDLE_US): the client stops retrying SYNs,
 * and after an ICMP unreachable it stops at once. */
static bool unanswered(const mx_flow *f)
{
    return f->saw_syn && f->dir[MX_DIR_S2C].packets == 0 &&
           !(f->dir[MX_DIR_C2S].flags_seen & (MX_TCP_ACK | MX_TCP_FIN | MX_TCP_RST));
}

/* Closing: a side sent its FIN, so it has said all it will (a client
 * giving up on a silent server closes its half and nothing follows).  Such
 * a flow lingers like a closed one instead of waiting MX_FLOW_IDLE_US: the
 * other side's last words, if any, come at once. */
static bool closing(const mx_flow *f)
{
    return f->closed || f->dir[MX_DIR_C2S].fin.frame != 0 || f->dir[MX_DIR_S2C].fin.frame != 0;
}

/* The list f's state belongs on (it is moved there after each packet). */
static uint8_t list_for_state(const mx_flow *f)
{
    return closing(f) ? MX_FLOW_LIST_CLOSED : unanswered(f) ? MX_FLOW_LIST_UNANSWERED : MX_FLOW_LIST_OPEN;
}

static flow_list *list_named(mx_flow_table *t, uint8_t which)
{
    return which == MX_FLOW_LIST_CLOSED ? &t->closed : which == MX_FLOW_LIST_UNANSWERED ? &t->unanswered : &t->open;
}

/* f leaves the list it is on (as stored, whatever its state says now). */
static void list_leave(mx_flow_table *t, mx_flow *f)
{
    list_remove(list_named(t, f->lru_list), f);
}

/* f joins the tail of list which: the most recently active there. */
static void list_join(mx_flow_table *t, mx_flow *f, uint8_t which)
{
    f->lru_list = which;
    list_append(t, list_named(t, which), f);
}

/* The least recently active flow not closed. */
static mx_flow *oldest_not_closed(mx_flow_table *t)
{
    mx_flow *a = t->unanswered.head, *b = t->open.head;
    return !a ? b : !b ? a : a->lru_seq < b->lru_seq ? a : b;
}

/* ---- table -------------------------------------------------------------- */

mx_flow_table *mx_flow_table_new(const uint16_t *ports, size_t n_ports, size_t max_flows,
                                 mx_flow_finish_fn finish, void *ctx)
{
    seed_hash_once();
    mx_flow_table *t = g_new0(mx_flow_table, 1);
    t->flows = g_hash_table_new(key_hash, key_equal);
    t->ports = g_memdup2(ports, n_ports * sizeof *ports);
    t->n_ports = n_ports;
    t->max_flows = max_flows ? max_flows : MX_MAX_FLOWS;
    t->finish = finish;
    t->ctx = ctx;
    return t;
}

void mx_flow_table_skip_ladders(mx_flow_table *t)
{
    t->skip_ladders = true;
}

static void flow_free(mx_flow *f)
{
    for (int d = 0; d < 2; d++) {
        if (f->stream[d])
            mx_stream_free(f->stream[d]);
        g_free(f->dir[d].inflight);
        g_free(f->dir[d].through);
    }
    if (f->syn != &f->syn_one)
        g_free(f->syn);
    if (f->ladder)
        mx_ladder_clear(f->ladder);
    if (f->smtp)
        mx_smtp_free(f->smtp);
    g_free(f);
}

/* Hands a flow to the finish callback, then forgets it. */
static void flow_finish(mx_flow_table *t, mx_flow *f)
{
    g_hash_table_remove(t->flows, &f->key);
    list_leave(t, f);
    for (int d = 0; d < 2; d++)
        if (f->stream[d])
            mx_stream_finish(f->stream[d]);
    if (f->smtp)
        mx_smtp_finish(f->smtp);
    if (t->finish)
        t->finish(f, t->ctx);
    flow_free(f);
}

void mx_flow_table_finish_all(mx_flow_table *t)
{
    /* Repeatedly the lower id of the two oldest: the least recently active
     * closed flow and the least recently active other one.  (Sessions
     * still open at the end mostly come out in id order; the hop baselines
     * and destination rows they feed depend on this order, so it stays.) */
    for (;;) {
        mx_flow *a = t->closed.head, *b = oldest_not_closed(t);
        if (!a && !b)
            break;
        flow_finish(t, !a ? b : !b ? a : (a->id < b->id ? a : b));
    }
}

void mx_flow_table_free(mx_flow_table *t)
{
    if (!t)
        return;
    while (t->open.head) {
        mx_flow *f = t->open.head;
        list_remove(&t->open, f);
        flow_free(f);
    }
    while (t->unanswered.head) {
        mx_flow *f = t->unanswered.head;
        list_remove(&t->unanswered, f);
        flow_free(f);
    }
    while (t->closed.head) {
        mx_flow *f = t->closed.head;
        list_remove(&t->closed, f);
        flow_free(f);
    }
    g_hash_table_destroy(t->flows);
    g_free(t->ports);
    g_free(t);
}

bool mx_flow_table_port_tracked(const mx_flow_table *t, uint16_t port)
{
    for (size_t i = 0; i < t->n_ports; i++)
        if (t->ports[i] == port)
            return true;
    return false;
}

void mx_flow_table_expire(mx_flow_table *t, int64_t now_us)
{
    while (t->closed.head && t->closed.head->last_ts + MX_FLOW_CLOSED_LINGER_US < now_us)
        flow_finish(t, t->closed.head);
    while (t->unanswered.head && t->unanswered.head->last_ts + MX_FLOW_SYN_IDLE_US < now_us)
        flow_finish(t, t->unanswered.head);
    while (t->open.head && t->open.head->last_ts + MX_FLOW_IDLE_US < now_us)
        flow_finish(t, t->open.head);
}

void mx_flow_table_expire_timed(mx_flow_table *t, int64_t now_us, int64_t linger_us,
                                int64_t min_idle_us, mx_flow_idle_fn idle, void *ctx)
{
    while (t->closed.head && t->closed.head->last_ts + linger_us < now_us)
        flow_finish(t, t->closed.head);
    /* The open list runs from least to most recently active: past the
     * first flow quieter than the shortest limit, none can have expired. */
    flow_list *lists[2] = { &t->unanswered, &t->open };
    for (int i = 0; i < 2; i++) {
        mx_flow *next;
        for (mx_flow *f = lists[i]->head; f && f->last_ts + min_idle_us < now_us; f = next) {
            next = f->lru_next;
            if (f->last_ts + idle(f, ctx) < now_us)
                flow_finish(t, f);
        }
    }
}

const mx_flow_stats *mx_flow_table_stats(const mx_flow_table *t) { return &t->stats; }
size_t mx_flow_table_active(const mx_flow_table *t) { return g_hash_table_size(t->flows); }

uint32_t mx_flow_acked_bytes(const mx_flow *f, int dir)
{
    const mx_dir_state *d = &f->dir[dir], *peer = &f->dir[!dir];
    if (!d->seq_known || !peer->ack_known || seq_lt(peer->max_ack, d->isn + 1))
        return 0;
    return peer->max_ack - (d->isn + 1);
}

uint32_t mx_flow_sent_bytes(const mx_flow *f, int dir)
{
    const mx_dir_state *d = &f->dir[dir];
    if (!d->seq_known || seq_lt(d->seq_end, d->isn + 1))
        return 0;
    return d->seq_end - (d->isn + 1);
}

/* ---- history (Zeek conn.log letters) ------------------------------------ */

static void history_put(mx_flow *f, char letter)
{
    if (f->history_len < MX_HISTORY_MAX) {
        f->history[f->history_len++] = letter;
        f->history[f->history_len] = '\0';
    }
}

/* Zeek records most letters once per direction, upper case for the
 * originator (our client). */
static void history_add(mx_flow *f, int dir, char lower)
{
    uint64_t bit = 1ull << ((lower - 'a') + (dir == MX_DIR_C2S ? 0 : 32));
    if (f->history_once & bit)
        return;
    f->history_once |= bit;
    history_put(f, dir == MX_DIR_C2S ? (char)(lower - 'a' + 'A') : lower);
}

/* Retransmissions repeat their letter at 1, 10, 100, ... occurrences, as
 * Zeek does, so the history shows their order of magnitude. */
static void history_add_repeat(mx_flow *f, int dir, char lower, uint32_t count)
{
    uint32_t *mark = &f->history_repeat_mark[dir];
    if (*mark == 0)
        *mark = 1;
    if (count < *mark)
        return;
    *mark = *mark >= 1000000000u ? UINT32_MAX : *mark * 10;
    history_put(f, dir == MX_DIR_C2S ? (char)(lower - 'a' + 'A') : lower);
}

/* ---- per-packet update ------------------------------------------------ */

static mx_flow *flow_create(mx_flow_table *t, const mx_flow_key *key, const mx_packet *pkt)
{
    if (g_hash_table_size(t->flows) >= t->max_flows) {
        /* Full: the least recently active flow is judged on what it has. */
        mx_flow *victim = t->closed.head ? t->closed.head : oldest_not_closed(t);
        if (victim) {
            victim->evicted = true;
            t->stats.evicted++;
            flow_finish(t, victim);
        }
    }
    /* The ladder's head, when kept, shares the flow's allocation (its steps do not). */
    mx_flow *f = g_malloc0(sizeof *f + (t->skip_ladders ? 0 : sizeof(mx_ladder)));
    if (!t->skip_ladders)
        f->ladder = (mx_ladder *)(f + 1);
    f->key = *key;
    f->id = ++t->next_id;
    f->rtt_us = -1;
    f->first_ts = f->last_ts = pkt->ts_us;
    f->first_frame = mx_frame_of(pkt);
    f->dir[0].wscale = f->dir[1].wscale = -1;
    g_hash_table_insert(t->flows, &f->key, f);
    list_join(t, f, MX_FLOW_LIST_OPEN);
    t->stats.flows++;
    if (g_hash_table_size(t->flows) > t->stats.active_max)
        t->stats.active_max = g_hash_table_size(t->flows);
    return f;
}

/* A packet of f: it leaves its list before the update and joins the tail
 * of the list its new state belongs to after it (touch_end). */
static void touch_begin(mx_flow_table *t, mx_flow *f, const mx_packet *pkt)
{
    list_leave(t, f);
    if (pkt->ts_us > f->last_ts)
        f->last_ts = pkt->ts_us;
    f->last_frame = mx_frame_of(pkt);
}

static void touch_end(mx_flow_table *t, mx_flow *f)
{
    list_join(t, f, list_for_state(f));
}

/* Called between touch_begin and touch_end. */
static void mark_closed(mx_flow_table *t, mx_flow *f)
{
    (void)t;
    if (f->closed)
        return;
    f->closed = true;
    /* Only late retransmissions and RSTs are expected now. */
    if (f->smtp)
        mx_smtp_trim(f->smtp);
}

/* TTL and IP ID of packets a side really sent (never RSTs, which a
 * middlebox may forge): the baseline of the hop model. */
static void note_sender(mx_dir_state *d, const mx_packet *pkt)
{
    if (!d->ttl_known) {
        d->ttl_known = true;
        d->ttl_first = d->ttl_min = d->ttl_max = pkt->ttl;
    } else {
        if (pkt->ttl < d->ttl_min)
            d->ttl_min = pkt->ttl;
        if (pkt->ttl > d->ttl_max)
            d->ttl_max = pkt->ttl;
    }
    if (pkt->has_ip_id) {
        if (pkt->ip_id == 0)
            d->ip_id_zero++;
        else if (d->ip_id_samples > 0) {
            uint16_t step = (uint16_t)(pkt->ip_id - d->ip_id_last);
            if (step >= 1 && step <= MX_IPID_STEP_MAX)
                d->ip_id_small_step++;
        }
        d->ip_id_samples++;
        d->ip_id_last = pkt->ip_id;
    }
}

/* The client's SYN (a retry too): its frame, while MX_SYN_TIMES_MAX last. */
static void note_syn(mx_flow *f, const mx_frame_ref *at)
{
    if (f->syn_count >= MX_SYN_TIMES_MAX)
        return;
    if (f->syn_cap == 0) {
        f->syn = &f->syn_one;
        f->syn_cap = 1;
    } else if (f->syn_count == f->syn_cap) {
        f->syn_cap = MIN(f->syn_cap * 2, MX_SYN_TIMES_MAX);
        f->syn = f->syn == &f->syn_one ? g_memdup2(&f->syn_one, sizeof f->syn_one) : f->syn;
        f->syn = g_renew(mx_frame_ref, f->syn, f->syn_cap);
    }
    f->syn[f->syn_count] = *at;
}

static void note_inflight(mx_dir_state *d, uint32_t seq_end, uint32_t len, bool resent, const mx_frame_ref *at)
{
    if (d->inflight == NULL)
        d->inflight = g_new0(mx_inflight, MX_INFLIGHT_RING);
    if (resent) {
        for (int i = 0; i < MX_INFLIGHT_RING; i++) {
            if (d->inflight[i].len != 0 && d->inflight[i].seq_end == seq_end) {
                d->inflight[i].resent = true;
                return;
            }
        }
    }
    d->inflight[d->inflight_next].seq_end = seq_end;
    d->inflight[d->inflight_next].len = (uint16_t)(len > 0xffff ? 0xffff : len);
    d->inflight[d->inflight_next].resent = resent;
    d->inflight[d->inflight_next].through = false;
    d->inflight[d->inflight_next].at = *at;
    d->inflight_next = (uint8_t)((d->inflight_next + 1) % MX_INFLIGHT_RING);
}

/* The peer's ACK reached ack: segments it covers were delivered. */
static void note_acked(mx_dir_state *d, uint32_t ack)
{
    for (int i = 0; d->inflight && i < MX_INFLIGHT_RING; i++) {
        if (d->inflight[i].len == 0 || seq_gt(d->inflight[i].seq_end, ack))
            continue;
        if (d->inflight[i].len > d->max_acked_segment)
            d->max_acked_segment = d->inflight[i].len;
        d->inflight[i].len = 0;
    }
    /* The hole before it filled: that segment no longer shows what crosses. */
    if (d->through && d->through->len != 0 && !seq_gt(d->through->seq_end, ack))
        d->through->len = 0;
}

/* Ring entry i of d got through while data before it had not. */
static void note_through(mx_dir_state *d, int i, bool by_sack, const mx_frame_ref *ack_at)
{
    d->inflight[i].through = true;
    if (d->through == NULL)
        d->through = g_new0(mx_through, 1);
    mx_through *t = d->through;
    if (t->len == 0 || d->inflight[i].len < t->len) {
        t->len = d->inflight[i].len;
        t->seq_end = d->inflight[i].seq_end;
        t->by_sack = by_sack;
        t->seg = d->inflight[i].at;
        t->ack = *ack_at;
    }
}

/* An ACK from the peer of d that does not move the cumulative ACK: its SACK
 * blocks (RFC 2018) name the segments beyond the hole that arrived; with no
 * blocks, a duplicate ACK (RFC 5681: no data, same window, data outstanding)
 * answers one arrival, taken to be the latest segment sent beyond the hole. */
static void note_beyond_hole(mx_dir_state *d, const mx_packet *pkt, bool duplicate, const mx_frame_ref *here)
{
    uint32_t ack = pkt->ack;
    if (d->inflight == NULL)
        return;
    if (pkt->sack_blocks > 0) {
        for (int i = 0; i < MX_INFLIGHT_RING; i++) {
            uint32_t end = d->inflight[i].seq_end, start = end - d->inflight[i].len;
            if (d->inflight[i].len == 0 || d->inflight[i].through || !seq_gt(start, ack))
                continue;
            for (int b = 0; b < pkt->sack_blocks; b++) {
                if (!seq_lt(start, pkt->sack[b][0]) && !seq_gt(end, pkt->sack[b][1])) {
                    note_through(d, i, true, here);
                    break;
                }
            }
        }
        return;
    }
    if (!duplicate)
        return;
    for (int k = 1; k <= MX_INFLIGHT_RING; k++) {
        int i = (d->inflight_next + MX_INFLIGHT_RING - k) % MX_INFLIGHT_RING;
        uint32_t start = d->inflight[i].seq_end - d->inflight[i].len;
        if (d->inflight[i].len == 0 || d->inflight[i].through || !seq_gt(start, ack))
            continue;
        note_through(d, i, false, here);
        return;
    }
}

static void deliver_to_smtp(void *ctx, int dir, const uint8_t *data, size_t len, uint64_t offset,
                            const mx_packet *pkt)
{
    mx_flow *f = ctx;
    mx_smtp_data(f->smtp, dir, data, len, offset, pkt);
}

static void gap_to_smtp(void *ctx, int dir, uint64_t offset, uint64_t missing, const mx_packet *pkt)
{
    mx_flow *f = ctx;
    history_add(f, dir, 'g');
    mx_smtp_gap(f->smtp, dir, offset, missing, pkt);
}

static void ladder_tcp(mx_flow *f, int dir, const mx_packet *pkt)
{
    if (f->ladder == NULL)
        return;
    const mx_dir_state *d = &f->dir[dir], *peer = &f->dir[!dir];
    mx_ladder_step step = {
        .at = mx_frame_of(pkt), .kind = MX_STEP_TCP, .dir = (uint8_t)dir, .tcp_flags = pkt->tcp_flags,
        .ttl = pkt->ttl, .payload_len = (uint16_t)(pkt->payload_len > 0xffff ? 0xffff : pkt->payload_len),
        .rel_seq = d->seq_known ? pkt->seq - d->isn : 0,
        .rel_ack = peer->seq_known && (pkt->tcp_flags & MX_TCP_ACK) ? pkt->ack - peer->isn : 0,
    };
    mx_ladder_add(f->ladder, &step);
}

/* ---- one TCP segment, event by event ---------------------------------- */

/* Counters every packet of a side updates, whatever it carries. */
static void on_packet(mx_dir_state *d, const mx_packet *pkt)
{
    d->packets++;
    d->bytes += pkt->ip_len;
    d->payload_bytes += pkt->payload_len;
    if (d->packets == 1)
        d->first_ts = pkt->ts_us;
    d->last_ts = pkt->ts_us;
    d->flags_seen |= pkt->tcp_flags;
    d->window = pkt->window;
}

/* A RST (maybe forged: it is kept apart from the sender's baseline, and
 * what the side had sent before it is remembered for the hop model). */
static void on_rst(mx_flow_table *t, mx_flow *f, int dir, const mx_packet *pkt)
{
    mx_dir_state *d = &f->dir[dir];
    if (d->rst.frame == 0) {
        d->rst = mx_frame_of(pkt);
        d->rst_ttl = pkt->ttl;
        d->rst_has_ip_id = pkt->has_ip_id;
        d->rst_ip_id = pkt->ip_id;
        d->rst_seq = pkt->seq;
        d->rst_expected_seq = d->seq_end;
        d->rst_prev_ip_id = d->ip_id_last;
        d->rst_prev_samples = d->ip_id_samples;
    } else if (seq_gt(pkt->seq, d->rst_seq)) {
        d->rst_seq_rising++;
    }
    d->rst_count++;
    history_add(f, dir, (pkt->tcp_flags & MX_TCP_SYN) ? 'i' : 'r');
    mark_closed(t, f);
}

/* The client's SYN (a second one is a retry). */
static void on_syn(mx_flow *f, int dir, const mx_packet *pkt)
{
    if (dir == MX_DIR_C2S) {
        mx_frame_ref here = mx_frame_of(pkt);
        note_syn(f, &here);
        if (f->syn_count == 0)
            f->syn_ttl = pkt->ttl;
        else
            f->dir[dir].retransmits++;
        f->syn_count++;
        f->saw_syn = true;
    }
    history_add(f, dir, 's');
}

/* The server's SYN-ACK: the first one gives the handshake round trip. */
static void on_synack(mx_flow *f, int dir, const mx_packet *pkt)
{
    if (f->synack_count == 0) {
        f->synack = mx_frame_of(pkt);
        f->synack_ttl = pkt->ttl;
        if (f->syn_count > 0) {
            int last = (int)(f->syn_count < MX_SYN_TIMES_MAX ? f->syn_count : MX_SYN_TIMES_MAX) - 1;
            f->rtt_us = pkt->ts_us - f->syn[last].ts_us;
        }
    }
    f->synack_count++;
    history_add(f, dir, 'h');
}

/* Where the side's sequence space starts: its SYN, or (capture began
 * mid-session) the first sequence number seen, standing in for ISN + 1. */
static void note_isn(mx_dir_state *d, const mx_packet *pkt)
{
    if (pkt->tcp_flags & MX_TCP_SYN) {
        d->seq_known = true;
        d->isn = pkt->seq;
        d->seq_end = pkt->seq + 1;
        if (pkt->mss)
            d->mss = pkt->mss;
        d->wscale = pkt->wscale;
    } else if (!d->seq_known) {
        d->seq_known = true;
        d->isn = pkt->seq - 1;
        d->seq_end = pkt->seq;
    }
}

/* An ACK: a new cumulative ACK delivers the peer's segments; one that
 * repeats it may show segments beyond a hole (prev_window: the side's
 * window before this packet, for the duplicate-ACK test). */
static void on_ack(mx_flow *f, int dir, const mx_packet *pkt, uint32_t prev_window)
{
    mx_dir_state *d = &f->dir[dir], *peer = &f->dir[!dir];
    uint8_t flags = pkt->tcp_flags;
    mx_frame_ref here = mx_frame_of(pkt);
    if (!d->ack_known || seq_gt(pkt->ack, d->max_ack)) {
        if (!d->ack_known) {
            d->first_ack = pkt->ack;
            d->first_ack_at = here;
        }
        d->ack_known = true;
        d->max_ack = pkt->ack;
        d->max_ack_at = here;
        note_acked(peer, pkt->ack);
        /* Data the peer acknowledged but the capture never showed will
         * not come again: let reassembly give up on that hole now. */
        if (f->stream[!dir])
            mx_stream_acked(f->stream[!dir], pkt->ack);
    } else if (pkt->ack == d->max_ack && seq_lt(pkt->ack, peer->seq_end)) {
        bool duplicate = pkt->payload_len == 0 && !(flags & (MX_TCP_SYN | MX_TCP_FIN)) &&
                         pkt->window == prev_window;
        note_beyond_hole(peer, pkt, duplicate, &here);
    }
    if (dir == MX_DIR_C2S && f->synack.frame != 0 && f->established.frame == 0 &&
        !(flags & MX_TCP_SYN) && pkt->ack == f->dir[MX_DIR_S2C].isn + 1) {
        f->established = here;
    }
    if (pkt->payload_len == 0 && !(flags & (MX_TCP_SYN | MX_TCP_FIN)))
        history_add(f, dir, 'a');
}

/* A segment with payload: new data or a retransmission, then on to
 * reassembly (the flow's stream and SMTP state start with its first). */
static void on_data(mx_flow *f, int dir, const mx_packet *pkt)
{
    mx_dir_state *d = &f->dir[dir];
    mx_frame_ref here = mx_frame_of(pkt);
    uint16_t len16 = (uint16_t)(pkt->payload_len > 0xffff ? 0xffff : pkt->payload_len);
    uint32_t end = pkt->seq + pkt->payload_len;
    bool resent = seq_lt(pkt->seq, d->seq_end);
    d->data_segments++;
    if (resent) {
        /* Data below what was already sent: a retransmission (keep-alive
         * probes carry one old byte and count too, as in Zeek). */
        d->retransmits++;
        d->last_retransmit = here;
        if (pkt->payload_len > d->max_retransmitted)
            d->max_retransmitted = len16;
        history_add_repeat(f, dir, 't', d->retransmits);
    } else {
        history_add(f, dir, 'd');
    }
    if (seq_gt(end, d->seq_end))
        d->seq_end = end;
    if (pkt->payload_len > d->max_segment)
        d->max_segment = len16;
    note_inflight(d, end, pkt->payload_len, resent, &here);
    if (d->first_data.frame == 0)
        d->first_data = here;
    d->last_data = here;

    if (f->smtp == NULL)
        f->smtp = mx_smtp_new();
    if (f->stream[dir] == NULL) {
        f->stream[dir] = mx_stream_new(dir, d->isn + 1, deliver_to_smtp, gap_to_smtp, f);
        mx_smtp_stream_base(f->smtp, dir, d->isn + 1, (d->flags_seen & MX_TCP_SYN) != 0);
    }
    mx_stream_segment(f->stream[dir], pkt);
}

/* A FIN: the side has said all it will; both FINs close the flow. */
static void on_fin(mx_flow_table *t, mx_flow *f, int dir, const mx_packet *pkt)
{
    mx_dir_state *d = &f->dir[dir];
    uint32_t fin_end = pkt->seq + pkt->payload_len + 1;
    if (seq_gt(fin_end, d->seq_end))
        d->seq_end = fin_end;
    if (d->fin.frame == 0)
        d->fin = mx_frame_of(pkt);
    history_add(f, dir, 'f');
    if (f->dir[!dir].fin.frame != 0)
        mark_closed(t, f);
}

/* One TCP segment of f from side dir, its events in the order TCP gives
 * them meaning: RST (nothing else in it counts), SYN or SYN-ACK, ACK,
 * data, FIN. */
static void update_tcp(mx_flow_table *t, mx_flow *f, int dir, const mx_packet *pkt)
{
    mx_dir_state *d = &f->dir[dir];
    uint8_t flags = pkt->tcp_flags;
    uint32_t prev_window = d->window;

    on_packet(d, pkt);
    if (flags & MX_TCP_RST) {
        on_rst(t, f, dir, pkt);
        ladder_tcp(f, dir, pkt);
        return;
    }
    if (d->rst.frame != 0 && d->after_rst.frame == 0)
        d->after_rst = mx_frame_of(pkt);   /* a sender talking after its own RST: one of the two was injected */
    note_sender(d, pkt);

    if ((flags & (MX_TCP_SYN | MX_TCP_ACK)) == MX_TCP_SYN)
        on_syn(f, dir, pkt);
    else if (flags & MX_TCP_SYN)
        on_synack(f, dir, pkt);
    note_isn(d, pkt);
    if (flags & MX_TCP_ACK)
        on_ack(f, dir, pkt, prev_window);
    if (pkt->window == 0 && !(flags & MX_TCP_SYN))
        history_add(f, dir, 'w');
    if (pkt->payload_len > 0 && !(flags & MX_TCP_SYN))
        on_data(f, dir, pkt);
    if (flags & MX_TCP_FIN)
        on_fin(t, f, dir, pkt);
    ladder_tcp(f, dir, pkt);
}

static void update_icmp(mx_flow_table *t, const mx_packet *pkt)
{
    const mx_quoted *q = &pkt->quoted;
    if (!q->has_ports || q->proto != MX_IPPROTO_TCP) {
        t->stats.icmp_unmatched++;
        return;
    }
    /* The quoted packet is one the client sent (its SYN, usually); an
     * error about a server's packet would quote the reverse tuple. */
    mx_flow_key key = { .client = q->src, .server = q->dst, .client_port = q->sport, .server_port = q->dport };
    mx_flow *f = g_hash_table_lookup(t->flows, &key);
    if (f == NULL) {
        mx_flow_key rev = { .client = q->dst, .server = q->src, .client_port = q->dport, .server_port = q->sport };
        f = g_hash_table_lookup(t->flows, &rev);
    }
    if (f == NULL) {
        t->stats.icmp_unmatched++;
        return;
    }
    touch_begin(t, f, pkt);
    bool v6 = pkt->ip_version == 6;
    bool too_big = v6 ? pkt->icmp_type == MX_ICMP6_PACKET_TOO_BIG
                       : (pkt->icmp_type == MX_ICMP_UNREACH && pkt->icmp_code == MX_ICMP_UNREACH_NEEDFRAG);
    if (too_big) {
        /* Fragmentation needed is path MTU discovery at work, not a failure. */
        if (f->frag_needed.frame == 0) {
            f->frag_needed = mx_frame_of(pkt);
            f->frag_needed_mtu = pkt->icmp_mtu;
        }
    } else {
        if (f->icmp_count == 0) {
            f->icmp = mx_frame_of(pkt);
            f->icmp_src = pkt->src;
            f->icmp_type = pkt->icmp_type;
            f->icmp_code = pkt->icmp_code;
            f->icmp_ttl = pkt->ttl;
            f->icmp_v6 = v6;
        }
        f->icmp_count++;
    }
    if (f->ladder) {
        mx_ladder_step step = { .at = mx_frame_of(pkt), .kind = MX_STEP_ICMP, .dir = MX_DIR_S2C,
                                .tcp_flags = pkt->icmp_type, .icmp_code = pkt->icmp_code, .ttl = pkt->ttl };
        mx_ladder_add(f->ladder, &step);
    }
    touch_end(t, f);
}

mx_flow *mx_flow_table_packet(mx_flow_table *t, const mx_packet *pkt)
{
    if (pkt->ts_us - t->last_expire_us >= 1000000 || pkt->ts_us < t->last_expire_us) {
        mx_flow_table_expire(t, pkt->ts_us);
        t->last_expire_us = pkt->ts_us;
    }
    if (pkt->l4 == MX_L4_ICMP_ERROR) {
        update_icmp(t, pkt);
        return NULL;
    }
    if (pkt->l4 != MX_L4_TCP)
        return NULL;

    int dir;
    mx_flow_key key;
    if (mx_flow_table_port_tracked(t, pkt->dport)) {
        dir = MX_DIR_C2S;
        key = (mx_flow_key){ .client = pkt->src, .server = pkt->dst, .client_port = pkt->sport, .server_port = pkt->dport };
    } else if (mx_flow_table_port_tracked(t, pkt->sport)) {
        dir = MX_DIR_S2C;
        key = (mx_flow_key){ .client = pkt->dst, .server = pkt->src, .client_port = pkt->dport, .server_port = pkt->sport };
    } else {
        return NULL;
    }

    mx_flow *f = g_hash_table_lookup(t->flows, &key);
    bool fresh_syn = dir == MX_DIR_C2S && (pkt->tcp_flags & (MX_TCP_SYN | MX_TCP_ACK | MX_TCP_RST)) == MX_TCP_SYN;
    if (f && fresh_syn && (f->closed || (f->dir[MX_DIR_C2S].seq_known && f->saw_syn &&
                                         pkt->seq != f->dir[MX_DIR_C2S].isn &&
                                         f->synack_count > 0))) {
        /* The client reuses the port for a new connection. */
        flow_finish(t, f);
        f = NULL;
    }
    if (f == NULL)
        f = flow_create(t, &key, pkt);
    touch_begin(t, f, pkt);
    update_tcp(t, f, dir, pkt);
    touch_end(t, f);
    return f;
}
