/* SPDX-License-Identifier: BSD-3-Clause */
/* test-source.c — reading captures as tshark does: pcapng interfaces with
 * different snap lengths, pcap seconds past 2038, pcapng rewriting split
 * across reads. */
#include <string.h>
#include <unistd.h>

#include "capture-file.h"
#include "source.h"

static void put32(GByteArray *b, uint32_t v, bool le)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(le ? v >> (8 * i) : v >> (8 * (3 - i)));
    g_byte_array_append(b, x, 4);
}

static void put16(GByteArray *b, uint16_t v, bool le)
{
    uint8_t x[2] = { (uint8_t)(le ? v : v >> 8), (uint8_t)(le ? v >> 8 : v) };
    g_byte_array_append(b, x, 2);
}

/* A 54-byte Ethernet/IPv4/TCP SYN, 198.51.100.10:40000 -> 203.0.113.25:25. */
static const uint8_t syn[54] = {
    0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00,
    0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 198, 51, 100, 10, 203, 0, 113, 25,
    0x9c, 0x40, 0, 25, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};

/* One section: SHB, two IDBs (snap lengths 65535 and 128), one EPB per interface. */
static void pcapng_section(GByteArray *b, bool le, uint64_t ts_us)
{
    put32(b, 0x0A0D0D0A, le); put32(b, 28, le); put32(b, 0x1A2B3C4D, le);
    put16(b, 1, le); put16(b, 0, le); put32(b, 0xffffffff, le); put32(b, 0xffffffff, le); put32(b, 28, le);
    for (int i = 0; i < 2; i++) {
        put32(b, 1, le); put32(b, 20, le); put16(b, 1, le); put16(b, 0, le);
        put32(b, i == 0 ? 65535 : 128, le); put32(b, 20, le);
    }
    for (uint32_t i = 0; i < 2; i++) {
        uint64_t t = ts_us + i * 1000000;
        uint32_t len = 32 + 56;                   /* frame padded to 56 */
        put32(b, 6, le); put32(b, len, le); put32(b, i, le);
        put32(b, (uint32_t)(t >> 32), le); put32(b, (uint32_t)t, le);
        put32(b, sizeof syn, le); put32(b, sizeof syn, le);
        g_byte_array_append(b, syn, sizeof syn);
        g_byte_array_append(b, (const uint8_t[2]){ 0, 0 }, 2);
        put32(b, len, le);
    }
}

static char *write_temp(const GByteArray *b)
{
    GError *err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("mxray-test-source-XXXXXX", &path, &err);
    g_assert_no_error(err);
    g_assert_cmpint(write(fd, b->data, b->len), ==, (ssize_t)b->len);
    close(fd);
    return path;
}

/* Reads every frame; returns their count and the timestamps of the first two. */
static unsigned read_all(const char *path, int64_t ts[2])
{
    GError *err = NULL;
    const char *paths[] = { path };
    mx_source *s = mx_source_open(paths, 1, NULL, &err);
    g_assert_no_error(err);
    mx_raw_frame fr;
    unsigned n = 0;
    while (mx_source_next(s, &fr)) {
        if (n < 2)
            ts[n] = fr.ts_us;
        g_assert_cmpuint(fr.caplen, ==, sizeof syn);
        n++;
    }
    for (guint i = 0; i < mx_source_errors(s)->len; i++)
        g_test_message("%s", (const char *)g_ptr_array_index(mx_source_errors(s), i));
    g_assert_cmpuint(mx_source_errors(s)->len, ==, 0);
    mx_source_free(s);
    return n;
}

/* libpcap 1.10 alone refuses the second interface ("a snapshot length 128
 * different from the snapshot length of the first interface"). */
static void test_pcapng_snaplens(void)
{
    GByteArray *b = g_byte_array_new();
    pcapng_section(b, true, 1700000000000000ULL);
    pcapng_section(b, true, 1700000010000000ULL);    /* a second section: new interfaces */
    char *path = write_temp(b);
    int64_t ts[2];
    g_assert_cmpuint(read_all(path, ts), ==, 4);
    g_assert_cmpint(ts[0], ==, 1700000000000000LL);
    g_assert_cmpint(ts[1], ==, 1700000001000000LL);
    unlink(path);
    g_free(path);
    g_byte_array_unref(b);
}

/* The rewrite gives the same bytes whatever the reads' sizes. */
static void test_pcapng_patch_split(void)
{
    GByteArray *b = g_byte_array_new();
    pcapng_section(b, true, 1);
    pcapng_section(b, false, 2);
    g_autofree uint8_t *whole = g_memdup2(b->data, b->len);
    mx_pcapng_patch st;
    mx_pcapng_patch_init(&st);
    mx_pcapng_patch_bytes(&st, whole, b->len);
    g_assert_false(st.passthrough);
    /* Every IDB's snap length is now 0, nothing else changed. */
    unsigned changed = 0;
    for (guint i = 0; i < b->len; i++)
        changed += whole[i] != b->data[i];
    g_assert_cmpuint(changed, ==, 2 + 2 + 1 + 1);     /* 0xffff, 0x80 in each order */
    for (size_t step = 1; step <= 7; step++) {
        g_autofree uint8_t *split = g_memdup2(b->data, b->len);
        mx_pcapng_patch_init(&st);
        for (size_t off = 0; off < b->len; off += step)
            mx_pcapng_patch_bytes(&st, split + off, off + step <= b->len ? step : b->len - off);
        g_assert_cmpmem(split, b->len, whole, b->len);
    }
    /* A pcap file passes untouched. */
    uint8_t pcap_hdr[8] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 }, copy[8];
    memcpy(copy, pcap_hdr, sizeof copy);
    mx_pcapng_patch_init(&st);
    mx_pcapng_patch_bytes(&st, copy, sizeof copy);
    g_assert_true(st.passthrough);
    g_assert_cmpmem(copy, sizeof copy, pcap_hdr, sizeof pcap_hdr);
    g_byte_array_unref(b);
}

/* pcap seconds are unsigned 32-bit: 2038-08-01 (0x80ff9d80) is read as such. */
static void test_pcap_2038(void)
{
    GByteArray *b = g_byte_array_new();
    put32(b, 0xa1b2c3d4, true); put16(b, 2, true); put16(b, 4, true);
    put32(b, 0, true); put32(b, 0, true); put32(b, 262144, true); put32(b, 1, true);
    const uint32_t secs[2] = { 2164233600u, 4294967295u };   /* 2038-08-01, 2106-02-07 */
    for (int i = 0; i < 2; i++) {
        put32(b, secs[i], true); put32(b, 250000, true);
        put32(b, sizeof syn, true); put32(b, sizeof syn, true);
        g_byte_array_append(b, syn, sizeof syn);
    }
    char *path = write_temp(b);
    int64_t ts[2];
    g_assert_cmpuint(read_all(path, ts), ==, 2);
    g_assert_cmpint(ts[0], ==, 2164233600LL * 1000000 + 250000);
    g_assert_cmpint(ts[1], ==, 4294967295LL * 1000000 + 250000);
    unlink(path);
    g_free(path);
    g_byte_array_unref(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/source/pcapng/different-snaplens", test_pcapng_snaplens);
    g_test_add_func("/source/pcapng/patch-split-reads", test_pcapng_patch_split);
    g_test_add_func("/source/pcap/seconds-past-2038", test_pcap_2038);
    return g_test_run();
}
