/* SPDX-License-Identifier: BSD-3-Clause */
/* ladder.h — the packets of one session kept for a ladder diagram, bounded.
 *
 * Takes: every packet of a flow (TCP both ways, ICMP errors about it).
 * Produces: the first MX_LADDER_HEAD and the last MX_LADDER_TAIL steps,
 * and how many were left out between them, so a report can draw the
 * session's story without storing the session.  The first MX_LADDER_INLINE
 * steps live in the struct; past them the steps are allocated, doubling up
 * to MX_LADDER_HEAD + MX_LADDER_TAIL (a few allocations a flow, none past
 * that): a flow of one SYN keeps one step, not 32 (a table full of flood
 * SYNs was 85 MB of empty ladders), and allocates nothing.
 */
#ifndef MX_LADDER_H
#define MX_LADDER_H

#include "caps.h"
#include "packet.h"

typedef enum mx_step_kind { MX_STEP_TCP, MX_STEP_ICMP } mx_step_kind;

typedef struct mx_ladder_step {
    mx_frame_ref at;
    uint8_t kind;            /* mx_step_kind */
    uint8_t dir;             /* MX_DIR_C2S / MX_DIR_S2C (ICMP: towards the client) */
    uint8_t tcp_flags;       /* TCP flags; ICMP: type */
    uint8_t ttl;
    uint8_t icmp_code;
    uint16_t payload_len;
    uint32_t rel_seq, rel_ack; /* relative to each side's ISN, as Wireshark shows them */
} mx_ladder_step;

#define MX_LADDER_INLINE 1

typedef struct mx_ladder {
    mx_ladder_step *steps;   /* head in [0, MX_LADDER_HEAD), then the tail ring;
                              * `inline_steps` until more are needed */
    uint32_t cap;            /* steps in `steps` */
    uint32_t n_head;
    uint32_t n_tail;         /* steps written to the tail ring in all */
    uint32_t total;          /* steps seen */
    mx_ladder_step inline_steps[MX_LADDER_INLINE];
} mx_ladder;

/* A zeroed mx_ladder is empty (it points into itself once used: never
 * copied); mx_ladder_clear frees its steps. */
void mx_ladder_add(mx_ladder *l, const mx_ladder_step *step);
void mx_ladder_clear(mx_ladder *l);

/* The kept steps in order (head, then the tail ring oldest first): calls
 * fn for each; skipped tells how many were left out before the tail. */
typedef void (*mx_ladder_fn)(const mx_ladder_step *step, void *ctx);
uint32_t mx_ladder_walk(const mx_ladder *l, mx_ladder_fn fn, void *ctx);

#endif
