/* SPDX-License-Identifier: BSD-3-Clause */
/* dns.c — parses DNS queries and responses (RFC 1035) enough for evidence.
 *
 * Only the question and the A, AAAA, MX and PTR answers matter; names are
 * read with compression pointers followed a bounded number of times, so a
 * hostile message can neither loop nor read outside the packet.
 */
#include "dns.h"
#include "cursor.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Each record in the ring names at most MX_DNS_ADDRS_MAX addresses, so
 * no more index entries than that are ever live; twice as many in the
 * pool means a sweep of the dead ones always frees half of it. */
#define INDEX_POOL (2 * MX_DNS_QUERIES * MX_DNS_ADDRS_MAX)

/* The look-ups (by seq, newest first) whose answers gave one address. */
typedef struct addr_index {
    mx_addr addr;                          /* the key */
    uint8_t n;
    uint64_t seq[MX_DNS_NAMES_PER_ADDR];
    struct addr_index *next_free;
} addr_index;

G_STATIC_ASSERT(MX_DNS_QUERIES % 64 == 0);

struct mx_dns_table {
    mx_dns_query *ring;      /* MX_DNS_QUERIES records, allocated once */
    uint64_t total;          /* records ever added; the ring holds the last ones */
    /* One bit per ring slot: unanswered, or answered slowly.  Nearly all
     * look-ups are answered at once, so the evidence search skips 64
     * records a word. */
    uint64_t suspect[MX_DNS_QUERIES / 64];
    GHashTable *by_addr;     /* mx_addr -> addr_index, entries from the pool */
    addr_index *pool, *free_list;
};

mx_dns_table *mx_dns_table_new(void)
{
    mx_dns_table *t = g_new0(mx_dns_table, 1);
    t->ring = g_new0(mx_dns_query, MX_DNS_QUERIES);
    t->by_addr = g_hash_table_new(mx_addr_hash, mx_addr_equal_key);
    return t;
}

void mx_dns_table_free(mx_dns_table *t)
{
    if (!t)
        return;
    g_hash_table_destroy(t->by_addr);
    g_free(t->pool);
    g_free(t->ring);
    g_free(t);
}

uint64_t mx_dns_overwritten(const mx_dns_table *t)
{
    return t->total > MX_DNS_QUERIES ? t->total - MX_DNS_QUERIES : 0;
}

size_t mx_dns_count(const mx_dns_table *t)
{
    return t->total < MX_DNS_QUERIES ? (size_t)t->total : MX_DNS_QUERIES;
}

const mx_dns_query *mx_dns_get(const mx_dns_table *t, size_t i)
{
    uint64_t first = t->total - mx_dns_count(t);
    return &t->ring[(first + i) % MX_DNS_QUERIES];
}

static void set_suspect(mx_dns_table *t, uint64_t seq, bool on)
{
    size_t slot = seq % MX_DNS_QUERIES;
    uint64_t bit = 1ULL << (slot % 64);
    if (on)
        t->suspect[slot / 64] |= bit;
    else
        t->suspect[slot / 64] &= ~bit;
}

size_t mx_dns_suspect_before(const mx_dns_table *t, size_t k)
{
    uint64_t first = t->total - mx_dns_count(t);
    while (k > 0) {
        size_t j = k - 1;
        size_t slot = (first + j) % MX_DNS_QUERIES;
        unsigned bit = slot % 64;
        /* Bits 0..bit of this word are the records j - bit .. j; those
         * before index 0 are not in the ring's order (wrapped or unused). */
        uint64_t w = t->suspect[slot / 64] & (bit == 63 ? ~0ULL : (1ULL << (bit + 1)) - 1);
        if (j < bit)
            w &= ~((1ULL << (bit - j)) - 1);
        if (w)
            return j - (bit - (63u - (unsigned)__builtin_clzll(w)));
        if (j <= bit)
            return MX_DNS_NONE;
        k = j - bit;
    }
    return MX_DNS_NONE;
}

/* ---- the address index ------------------------------------------------------ */

static bool seq_live(const mx_dns_table *t, uint64_t seq)
{
    return t->total - seq <= MX_DNS_QUERIES;
}

static gboolean index_dead(gpointer key, gpointer value, gpointer user_data)
{
    (void)key;
    mx_dns_table *t = user_data;
    addr_index *e = value;
    if (e->n > 0 && seq_live(t, e->seq[0]))
        return FALSE;
    e->next_free = t->free_list;
    t->free_list = e;
    return TRUE;
}

static addr_index *index_entry(mx_dns_table *t, const mx_addr *addr)
{
    addr_index *e = g_hash_table_lookup(t->by_addr, addr);
    if (e)
        return e;
    if (t->pool == NULL) {
        t->pool = g_new0(addr_index, INDEX_POOL);
        for (size_t i = INDEX_POOL; i-- > 0;) {
            t->pool[i].next_free = t->free_list;
            t->free_list = &t->pool[i];
        }
    }
    if (t->free_list == NULL)
        g_hash_table_foreach_remove(t->by_addr, index_dead, t);
    e = t->free_list;
    t->free_list = e->next_free;
    e->addr = *addr;
    e->n = 0;
    g_hash_table_insert(t->by_addr, &e->addr, e);
    return e;
}

/* q was just answered: it is now the newest look-up for each of its
 * addresses, replacing an older one of the same name (resolver retries). */
static void index_answer(mx_dns_table *t, const mx_dns_query *q)
{
    for (int i = 0; i < q->n_addrs; i++) {
        addr_index *e = index_entry(t, &q->addrs[i]);
        uint8_t kept = 0;
        uint64_t seq[MX_DNS_NAMES_PER_ADDR];
        seq[kept++] = q->seq;
        for (uint8_t k = 0; k < e->n && kept < MX_DNS_NAMES_PER_ADDR; k++) {
            const mx_dns_query *old = &t->ring[e->seq[k] % MX_DNS_QUERIES];
            if (seq_live(t, e->seq[k]) && e->seq[k] != q->seq && strcmp(old->name, q->name) != 0)
                seq[kept++] = e->seq[k];
        }
        memcpy(e->seq, seq, kept * sizeof seq[0]);
        e->n = kept;
    }
}

size_t mx_dns_answers_for(const mx_dns_table *t, const mx_addr *addr, const mx_dns_query **out, size_t max)
{
    const addr_index *e = t ? g_hash_table_lookup(t->by_addr, addr) : NULL;
    size_t n = 0;
    for (uint8_t k = 0; e && k < e->n && n < max; k++)
        if (seq_live(t, e->seq[k]))
            out[n++] = &t->ring[e->seq[k] % MX_DNS_QUERIES];
    return n;
}

GHashTable *mx_dns_mx_domains(const mx_dns_table *t)
{
    GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (size_t i = 0, n = t ? mx_dns_count(t) : 0; i < n; i++) {
        const mx_dns_query *q = mx_dns_get(t, i);
        for (uint8_t k = 0; q->answered && q->type == MX_DNS_MX && k < q->n_mx; k++)
            g_hash_table_replace(map, g_strdup(q->mx[k]), g_strdup(q->name));
    }
    return map;
}

/* Reads a possibly compressed name at offset *pos of msg into out (lower
 * case, dot-separated); advances *pos past the name as it stands in place. */
static bool read_name(const uint8_t *msg, size_t len, size_t *pos, char *out, size_t out_len)
{
    size_t p = *pos, o = 0;
    bool jumped = false;
    int pointers = 0;
    out[0] = '\0';
    for (;;) {
        if (p >= len)
            return false;
        uint8_t l = msg[p];
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++pointers > MX_DNS_POINTERS_MAX)
                return false;
            size_t target = ((size_t)(l & 0x3f) << 8) | msg[p + 1];
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = target;
            continue;
        }
        if (l & 0xc0)
            return false;            /* 0x40/0x80 label types are obsolete */
        if (l == 0) {
            if (!jumped)
                *pos = p + 1;
            break;
        }
        if (p + 1 + l > len)
            return false;
        for (size_t i = 0; i < l; i++) {
            if (o + 2 >= out_len)
                return false;
            if (o > 0 && i == 0)
                out[o++] = '.';
            char c = (char)msg[p + 1 + i];
            out[o++] = g_ascii_isprint(c) ? g_ascii_tolower(c) : '?';
        }
        p += 1 + l;
    }
    out[o] = '\0';
    return true;
}

static mx_dns_query *find_open_query(mx_dns_table *t, const mx_packet *pkt, uint16_t id)
{
    size_t n = mx_dns_count(t), window = n < MX_DNS_MATCH_WINDOW ? n : MX_DNS_MATCH_WINDOW;
    for (size_t k = 0; k < window; k++) {
        mx_dns_query *q = (mx_dns_query *)mx_dns_get(t, n - 1 - k);
        if (!q->answered && q->id == id && q->client_port == pkt->dport &&
            mx_addr_equal(&q->client, &pkt->dst) && mx_addr_equal(&q->resolver, &pkt->src))
            return q;
    }
    return NULL;
}

static void read_answers(mx_dns_query *q, const uint8_t *msg, size_t len, size_t pos, uint16_t ancount)
{
    char name[MX_DNS_NAME_MAX];
    for (uint16_t i = 0; i < ancount; i++) {
        if (!read_name(msg, len, &pos, name, sizeof name))
            return;
        mx_cursor c = mx_cursor_make(msg + pos, len - pos);
        uint16_t type, klass, rdlen;
        uint32_t ttl;
        if (!mx_take_be16(&c, &type) || !mx_take_be16(&c, &klass) || !mx_take_be32(&c, &ttl) ||
            !mx_take_be16(&c, &rdlen) || c.left < rdlen)
            return;
        size_t rdata = pos + 10;
        if (type == MX_DNS_A && rdlen == 4 && q->n_addrs < MX_DNS_ADDRS_MAX) {
            mx_addr *a = &q->addrs[q->n_addrs++];
            memset(a, 0, sizeof *a);
            a->family = 4;
            memcpy(a->bytes, msg + rdata, 4);
        } else if (type == MX_DNS_AAAA && rdlen == 16 && q->n_addrs < MX_DNS_ADDRS_MAX) {
            mx_addr *a = &q->addrs[q->n_addrs++];
            a->family = 6;
            memcpy(a->bytes, msg + rdata, 16);
        } else if (type == MX_DNS_MX && rdlen > 2 && q->n_mx < MX_DNS_MX_MAX) {
            size_t at = rdata + 2;
            if (read_name(msg, rdata + rdlen, &at, name, sizeof name))
                g_strlcpy(q->mx[q->n_mx++], name, MX_DNS_MX_NAME_MAX);
        }
        pos = rdata + rdlen;
    }
}

void mx_dns_packet(mx_dns_table *t, const mx_packet *pkt)
{
    const uint8_t *msg = pkt->payload;
    size_t len = pkt->payload_caplen;
    mx_cursor c = mx_cursor_make(msg, len);
    uint16_t id, flags, qdcount, ancount;
    if (!mx_take_be16(&c, &id) || !mx_take_be16(&c, &flags) || !mx_take_be16(&c, &qdcount) ||
        !mx_take_be16(&c, &ancount) || !mx_skip(&c, 4) || qdcount != 1)
        return;
    size_t pos = 12;
    char name[MX_DNS_NAME_MAX];
    if (!read_name(msg, len, &pos, name, sizeof name) || pos + 4 > len)
        return;
    uint16_t qtype = (uint16_t)((msg[pos] << 8) | msg[pos + 1]);
    pos += 4;
    mx_frame_ref here = mx_frame_of(pkt);
    bool response = (flags & 0x8000) != 0;

    if (!response) {
        if (pkt->dport != 53)
            return;
        mx_dns_query *q = &t->ring[t->total % MX_DNS_QUERIES];
        memset(q, 0, sizeof *q);
        g_strlcpy(q->name, name, sizeof q->name);
        q->type = qtype;
        q->id = id;
        q->client = pkt->src;
        q->client_port = pkt->sport;
        q->resolver = pkt->dst;
        q->asked = here;
        q->seq = t->total;
        set_suspect(t, q->seq, true);
        t->total++;
        return;
    }
    if (pkt->sport != 53)
        return;
    mx_dns_query *q = find_open_query(t, pkt, id);
    if (q == NULL || strcmp(q->name, name) != 0)
        return;
    q->answered = true;
    q->answer = here;
    if (here.ts_us - q->asked.ts_us < MX_DNS_SLOW_US)
        set_suspect(t, q->seq, false);
    q->rcode = flags & 0x000f;
    read_answers(q, msg, len, pos, ancount);
    index_answer(t, q);
}

void mx_dns_reverse_name(const mx_addr *a, char *buf, size_t len)
{
    if (a->family == 4) {
        g_snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a->bytes[3], a->bytes[2], a->bytes[1], a->bytes[0]);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    GString *s = g_string_sized_new(72);
    for (int i = 15; i >= 0; i--) {
        g_string_append_c(s, hex[a->bytes[i] & 0x0f]);
        g_string_append_c(s, '.');
        g_string_append_c(s, hex[a->bytes[i] >> 4]);
        g_string_append_c(s, '.');
    }
    g_string_append(s, "ip6.arpa");
    g_strlcpy(buf, s->str, len);
    g_string_free(s, TRUE);
}
