/* hops.h — the hop model: how far from the client a packet's sender is.
 *
 * Hops are numbered as traceroute numbers them: the first router is hop 1,
 * a server behind two routers is hop 3.  A sender is at hop
 * initial TTL - observed TTL + 1, where the initial TTL is the next of
 * 32, 64, 128, 255 at or above the observed value.
 */
#ifndef MX_HOPS_H
#define MX_HOPS_H

#include <stdint.h>

/* The initial TTL a sender most likely used for a packet seen with ttl. */
int mx_initial_ttl(uint8_t ttl);

/* The sender's hop number for a packet arriving with ttl (>= 1). */
int mx_hop_of_ttl(uint8_t ttl);

#endif
