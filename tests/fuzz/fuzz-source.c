/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-source.c — libFuzzer target: damaged capture files through source.c into the analyzer.
 *
 * The input is cut in two at a point its first byte chooses (0: one file
 * only); each part becomes a capture file (a memfd, opened by its
 * /proc/self/fd path as mxray opens files) and both are read merged in
 * time order, as rotated files are, into the analyzer.  What it exercises:
 * source.c's handling of what libpcap refuses (bad magic, truncated
 * records, unsupported link types, pcapng blocks) and the frames it does
 * hand over, with their odd lengths and timestamps.  libpcap itself is
 * not instrumented: faults in it are not this target's to find.
 */
#include "analyzer.h"
#include "source.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_session(mx_session *s, void *ctx)
{
    (void)ctx;
    mx_session_free(s);
}

static int memfile(const uint8_t *data, size_t len, char *path, size_t path_len)
{
    int fd = memfd_create("fuzz-capture", 0);
    if (fd < 0)
        return -1;
    if (len && write(fd, data, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    snprintf(path, path_len, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t body = size - 1;
    size_t cut = data[0] == 0 ? body : body * data[0] / 256;
    char paths[2][64];
    int fds[2] = { -1, -1 };
    const char *names[2];
    size_t n = 0;
    fds[0] = memfile(data + 1, cut, paths[0], sizeof paths[0]);
    if (fds[0] >= 0)
        names[n++] = paths[0];
    if (cut < body) {
        fds[1] = memfile(data + 1 + cut, body - cut, paths[1], sizeof paths[1]);
        if (fds[1] >= 0)
            names[n++] = paths[1];
    }
    GError *error = NULL;
    mx_source *src = n ? mx_source_open(names, n, NULL, &error) : NULL;
    if (src) {
        static const uint16_t ports[] = { 25 };
        mx_analyzer *an = mx_analyzer_new(ports, 1, 16, on_session, NULL);
        mx_raw_frame frame;
        while (mx_source_next(src, &frame))
            mx_analyzer_frame(an, &frame);
        mx_analyzer_finish(an);
        mx_analyzer_free(an);
        mx_source_free(src);
    }
    g_clear_error(&error);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}
