/* SPDX-License-Identifier: BSD-3-Clause */
/* capture-file.c — a FILE over a capture's descriptor that evens out pcapng snap lengths. */
#include "capture-file.h"

#include <errno.h>
#include <glib.h>
#include <unistd.h>

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 1u
#define PCAPNG_BOM 0x1A2B3C4Du

void mx_pcapng_patch_init(mx_pcapng_patch *st)
{
    *st = (mx_pcapng_patch){ .first_block = true, .little_endian = true };
}

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* One byte of a block's first 16: learn the block, blank an IDB's snap length. */
static void header_byte(mx_pcapng_patch *st, uint8_t *b)
{
    if (st->off < sizeof st->hdr)
        st->hdr[st->off] = *b;
    else if (st->type == PCAPNG_IDB)
        *b = 0;                                  /* snap length at offsets 12-15 */
    st->off++;
    if (st->first_block && st->off == 4 && rd32(st->hdr, true) != PCAPNG_SHB) {
        st->passthrough = true;                  /* pcap, or not a capture: libpcap judges */
        return;
    }
    if (st->off != sizeof st->hdr)
        return;
    st->first_block = false;
    /* The SHB's type reads the same in both orders; its magic sets the section's order. */
    if (rd32(st->hdr, true) == PCAPNG_SHB)
        st->little_endian = rd32(st->hdr + 8, true) == PCAPNG_BOM;
    st->type = rd32(st->hdr, st->little_endian);
    st->len = rd32(st->hdr + 4, st->little_endian);
    if (st->len < 12 || st->len % 4 != 0)
        st->passthrough = true;                  /* damaged: libpcap says where */
}

void mx_pcapng_patch_bytes(mx_pcapng_patch *st, uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n && !st->passthrough) {
        if (st->off < 16 && (st->len == 0 || st->off < st->len)) {
            header_byte(st, &buf[i++]);
        } else {
            /* The body: skip it whole, no per-byte work. */
            size_t left = st->len - st->off, step = left < n - i ? left : n - i;
            i += step;
            st->off += (uint32_t)step;
        }
        if (st->len != 0 && st->off == st->len) {
            st->off = 0;
            st->len = 0;
            st->type = 0;
        }
    }
}

typedef struct cookie {
    int fd;
    bool close_fd;
    int64_t pos;
    mx_pcapng_patch patch;
} cookie;

static ssize_t cookie_read(void *c_, char *buf, size_t size)
{
    cookie *c = c_;
    ssize_t n;
    do
        n = read(c->fd, buf, size);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        mx_pcapng_patch_bytes(&c->patch, (uint8_t *)buf, (size_t)n);
        c->pos += n;
    }
    return n;
}

/* Only where the stream stands: ftell() asks for it for error messages. */
static int cookie_seek(void *c_, off64_t *offset, int whence)
{
    cookie *c = c_;
    if ((whence == SEEK_CUR && *offset == 0) || (whence == SEEK_SET && *offset == c->pos)) {
        *offset = c->pos;
        return 0;
    }
    errno = ESPIPE;
    return -1;
}

static int cookie_close(void *c_)
{
    cookie *c = c_;
    int rc = c->close_fd ? close(c->fd) : 0;
    g_free(c);
    return rc;
}

FILE *mx_capture_fdopen(int fd, bool close_fd)
{
    cookie *c = g_new0(cookie, 1);
    c->fd = fd;
    c->close_fd = close_fd;
    mx_pcapng_patch_init(&c->patch);
    cookie_io_functions_t io = { .read = cookie_read, .seek = cookie_seek, .close = cookie_close };
    FILE *f = fopencookie(c, "rb", io);
    if (f == NULL)
        g_free(c);
    return f;
}
