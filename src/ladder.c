/* SPDX-License-Identifier: BSD-3-Clause */
/* ladder.c — a head plus a tail ring: the start of a session and how it ended. */
#include "ladder.h"

void mx_ladder_add(mx_ladder *l, const mx_ladder_step *step)
{
    l->total++;
    if (l->n_head < MX_LADDER_HEAD) {
        l->head[l->n_head++] = *step;
        return;
    }
    l->tail[l->n_tail % MX_LADDER_TAIL] = *step;
    l->n_tail++;
}

uint32_t mx_ladder_walk(const mx_ladder *l, mx_ladder_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < l->n_head; i++)
        fn(&l->head[i], ctx);
    uint32_t kept = l->n_tail < MX_LADDER_TAIL ? l->n_tail : MX_LADDER_TAIL;
    uint32_t first = l->n_tail - kept;
    for (uint32_t i = 0; i < kept; i++)
        fn(&l->tail[(first + i) % MX_LADDER_TAIL], ctx);
    return l->n_tail - kept;
}
