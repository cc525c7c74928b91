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

int mx_hop_of_ttl(uint8_t ttl)
{
    return mx_initial_ttl(ttl) - ttl + 1;
}
