/* SPDX-License-Identifier: BSD-3-Clause */
/* ladder.c — a head plus a tail ring: the start of a session and how it ended. */
#include "ladder.h"

#include <glib.h>

/* Room for step number `used` (0-based): doubles, at most to the full size. */
static void reserve(mx_ladder *l, uint32_t used)
{
    if (used < l->cap)
        return;
    if (l->cap == 0) {
        l->steps = l->inline_steps;
        l->cap = MX_LADDER_INLINE;
        return;
    }
    uint32_t cap = MIN(l->cap * 2, MX_LADDER_HEAD + MX_LADDER_TAIL);
    if (l->steps == l->inline_steps)
        l->steps = g_memdup2(l->inline_steps, sizeof l->inline_steps);
    l->steps = g_renew(mx_ladder_step, l->steps, cap);
    l->cap = cap;
}

void mx_ladder_add(mx_ladder *l, const mx_ladder_step *step)
{
    l->total++;
    if (l->n_head < MX_LADDER_HEAD) {
        reserve(l, l->n_head);
        l->steps[l->n_head++] = *step;
        return;
    }
    uint32_t slot = MX_LADDER_HEAD + l->n_tail % MX_LADDER_TAIL;
    reserve(l, slot);
    l->steps[slot] = *step;
    l->n_tail++;
}

void mx_ladder_clear(mx_ladder *l)
{
    if (l->steps != l->inline_steps)
        g_free(l->steps);
    l->steps = NULL;
    l->cap = 0;
}

uint32_t mx_ladder_walk(const mx_ladder *l, mx_ladder_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < l->n_head; i++)
        fn(&l->steps[i], ctx);
    uint32_t kept = l->n_tail < MX_LADDER_TAIL ? l->n_tail : MX_LADDER_TAIL;
    uint32_t first = l->n_tail - kept;
    for (uint32_t i = 0; i < kept; i++)
        fn(&l->steps[MX_LADDER_HEAD + (first + i) % MX_LADDER_TAIL], ctx);
    return l->n_tail - kept;
}
