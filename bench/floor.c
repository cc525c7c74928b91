/* SPDX-License-Identifier: BSD-3-Clause */
/* floor.c — the floor of the benchmark: libpcap reading every record, nothing else.
 *
 * Usage: bench-floor [--buffer BYTES] FILE
 *
 * Reads every frame with pcap_next_ex() (as mxray's source.c does) and
 * touches a few bytes of each (the EtherType and the first byte after
 * it) so the record is really fetched, then prints the frame count and
 * a checksum of what it touched.  No decoding, no state: whatever mxray
 * spends above this is the cost of its own pipeline.
 *
 * The floor is libpcap as it opens a file (stdio's 4 KiB buffer, a read()
 * each).  --buffer gives the FILE a buffer of that size first, as mxray
 * does (1 MiB): the same loop with mxray's I/O, to show how much of the
 * difference is the buffer alone.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    size_t buffer = 0;
    if (argc == 4 && strcmp(argv[1], "--buffer") == 0) {
        buffer = strtoul(argv[2], NULL, 10);
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: bench-floor [--buffer BYTES] FILE\n");
        return 2;
    }
    pcap_t *p;
    char *buf = NULL;
    if (buffer > 0) {
        FILE *f = fopen(argv[1], "rb");
        buf = malloc(buffer);
        if (!f || !buf) {
            perror(argv[1]);
            return 2;
        }
        setvbuf(f, buf, _IOFBF, buffer);
        p = pcap_fopen_offline(f, errbuf);
    } else {
        p = pcap_open_offline(argv[1], errbuf);
    }
    if (!p) {
        fprintf(stderr, "bench-floor: %s\n", errbuf);
        return 2;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t frames = 0, bytes = 0, touched = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        frames++;
        bytes += h->len;
        if (h->caplen >= 15)
            touched += (uint64_t)d[12] << 16 | (uint64_t)d[13] << 8 | d[14];
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "bench-floor: %s: %s\n", argv[1], pcap_geterr(p));
        return 2;
    }
    printf("%" PRIu64 " frames, %" PRIu64 " bytes, touched %" PRIx64 "\n", frames, bytes, touched);
    pcap_close(p);
    free(buf);
    return 0;
}
