/* SPDX-License-Identifier: BSD-3-Clause */
/* hops.c — TTL arithmetic of the hop model (DESIGN.md, Hop model). */
#include "hops.h"

int mx_initial_ttl(uint8_t ttl)
{
    /* The initial TTLs stacks use: 32 (old Windows), 64 (Linux, BSD,
     * macOS), 128 (Windows), 255 (Cisco, Solaris). */
    if (ttl <= 32)
        return 32;
    if (ttl <= 64)
        return 64;
    if (ttl <= 128)
        return 128;
    return 255;
}

mx_ipid_kind mx_ipid_classify(uint32_t samples, uint32_t zero, uint32_t small_steps)
{
    /* Three packets are the least that show a pattern.  Linux gives the
     * SYN-ACK ID 0 and counts from there per connection, so one zero
     * among counted IDs is normal. */
    if (samples < 3)
        return MX_IPID_UNKNOWN;
    if (zero == samples)
        return MX_IPID_ZERO;
    if (small_steps * 10 >= (samples - 1 - (zero > 0)) * 8)
        return MX_IPID_COUNTER;
    return MX_IPID_RANDOM;
}

int mx_hop_of_ttl(uint8_t ttl)
{
    return mx_initial_ttl(ttl) - ttl + 1;
}

#include "caps.h"
#include <glib.h>
#include <string.h>

typedef struct baseline {
    mx_addr server;
    int hop;
    mx_frame_ref at;
} baseline;

struct mx_hop_baselines {
    GHashTable *by_server;   /* baseline* keyed on its own server address */
    uint64_t full;           /* notes refused at MX_MAX_BASELINES */
};

mx_hop_baselines *mx_hop_baselines_new(void)
{
    mx_hop_baselines *b = g_new0(mx_hop_baselines, 1);
    b->by_server = g_hash_table_new_full(mx_addr_hash, mx_addr_equal_key, NULL, g_free);
    return b;
}

void mx_hop_baselines_free(mx_hop_baselines *b)
{
    if (!b)
        return;
    g_hash_table_destroy(b->by_server);
    g_free(b);
}

void mx_hop_baselines_note(mx_hop_baselines *b, const mx_addr *server, int hop, const mx_frame_ref *at)
{
    if (hop <= 0)
        return;
    baseline *known = g_hash_table_lookup(b->by_server, server);
    if (known) {
        /* The farthest genuine answer wins: a nearer one could be a
         * middlebox answering in the server's name. */
        if (hop > known->hop) {
            known->hop = hop;
            known->at = *at;
        }
        return;
    }
    if (g_hash_table_size(b->by_server) >= MX_MAX_BASELINES) {
        b->full++;
        return;
    }
    baseline *fresh = g_new0(baseline, 1);
    fresh->server = *server;
    fresh->hop = hop;
    fresh->at = *at;
    g_hash_table_insert(b->by_server, &fresh->server, fresh);
}

bool mx_hop_baselines_get(const mx_hop_baselines *b, const mx_addr *server, int *hop, mx_frame_ref *at)
{
    const baseline *known = b ? g_hash_table_lookup(b->by_server, server) : NULL;
    if (!known)
        return false;
    *hop = known->hop;
    if (at)
        *at = known->at;
    return true;
}

uint64_t mx_hop_baselines_full(const mx_hop_baselines *b)
{
    return b ? b->full : 0;
}
