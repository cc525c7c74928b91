/* SPDX-License-Identifier: BSD-3-Clause */
/* hops.h — the hop model: how far from the client a packet's sender is.
 *
 * Hops are numbered as traceroute numbers them: the first router is hop 1,
 * a server behind two routers is hop 3.  A sender is at hop
 * initial TTL - observed TTL + 1, where the initial TTL is the next of
 * 32, 64, 128, 255 at or above the observed value.
 */
#ifndef MX_HOPS_H
#define MX_HOPS_H

#include <stdbool.h>
#include <stdint.h>

/* The initial TTL a sender most likely used for a packet seen with ttl. */
int mx_initial_ttl(uint8_t ttl);

/* The sender's hop number for a packet arriving with ttl (>= 1). */
int mx_hop_of_ttl(uint8_t ttl);


/* IP ID behaviour of a sender from its genuine packets: mostly small
 * steps (a per-connection or global counter), all zero, or neither. */
typedef enum mx_ipid_kind { MX_IPID_UNKNOWN, MX_IPID_ZERO, MX_IPID_COUNTER, MX_IPID_RANDOM } mx_ipid_kind;
mx_ipid_kind mx_ipid_classify(uint32_t samples, uint32_t zero, uint32_t small_steps);

/* ---- per-server baselines across sessions ----------------------------
 * A RST that answers a SYN has no packet of the server's own in its
 * session to compare with: the hop of the server's SYN-ACKs in other
 * sessions of the same capture stands in. */
#include "verdict.h"

typedef struct mx_hop_baselines mx_hop_baselines;

mx_hop_baselines *mx_hop_baselines_new(void);
void mx_hop_baselines_free(mx_hop_baselines *b);
/* The server answered with a SYN-ACK (or data) from hop, in frame at. */
void mx_hop_baselines_note(mx_hop_baselines *b, const mx_addr *server, int hop, const mx_frame_ref *at);
/* The server's usual hop; false when the capture shows none. */
bool mx_hop_baselines_get(const mx_hop_baselines *b, const mx_addr *server, int *hop, mx_frame_ref *at);
/* Servers not kept because MX_MAX_BASELINES were known already. */
uint64_t mx_hop_baselines_full(const mx_hop_baselines *b);

#endif
