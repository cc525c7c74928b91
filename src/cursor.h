/* SPDX-License-Identifier: BSD-3-Clause */
/* cursor.h — bounds-checked reads: the only way decode touches packet bytes.
 *
 * A cursor is a pointer and the bytes left.  Every take_* fails (returns
 * false and leaves the cursor unchanged) when the capture is shorter than
 * asked, so a short or hostile packet can only end decoding early.
 */
#ifndef MX_CURSOR_H
#define MX_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct mx_cursor {
    const uint8_t *p;
    size_t left;
} mx_cursor;

static inline mx_cursor mx_cursor_make(const uint8_t *p, size_t len)
{
    mx_cursor c = { p, len };
    return c;
}

static inline bool mx_take_u8(mx_cursor *c, uint8_t *v)
{
    if (c->left < 1)
        return false;
    *v = c->p[0];
    c->p += 1;
    c->left -= 1;
    return true;
}

static inline bool mx_take_be16(mx_cursor *c, uint16_t *v)
{
    if (c->left < 2)
        return false;
    *v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    c->left -= 2;
    return true;
}

static inline bool mx_take_be32(mx_cursor *c, uint32_t *v)
{
    if (c->left < 4)
        return false;
    *v = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) |
         ((uint32_t)c->p[2] << 8) | (uint32_t)c->p[3];
    c->p += 4;
    c->left -= 4;
    return true;
}

static inline bool mx_take_le32(mx_cursor *c, uint32_t *v)
{
    if (c->left < 4)
        return false;
    *v = ((uint32_t)c->p[3] << 24) | ((uint32_t)c->p[2] << 16) |
         ((uint32_t)c->p[1] << 8) | (uint32_t)c->p[0];
    c->p += 4;
    c->left -= 4;
    return true;
}

static inline bool mx_take_bytes(mx_cursor *c, void *dst, size_t n)
{
    if (c->left < n)
        return false;
    memcpy(dst, c->p, n);
    c->p += n;
    c->left -= n;
    return true;
}

static inline bool mx_skip(mx_cursor *c, size_t n)
{
    if (c->left < n)
        return false;
    c->p += n;
    c->left -= n;
    return true;
}

/* A sub-cursor over the next n bytes (fewer when the capture is short). */
static inline mx_cursor mx_sub(const mx_cursor *c, size_t n)
{
    mx_cursor s = { c->p, n < c->left ? n : c->left };
    return s;
}

#endif
