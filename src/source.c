/* SPDX-License-Identifier: BSD-3-Clause */
/* source.c — reads captures with libpcap and merges several in time order.
 *
 * Rotated captures (tcpdump -C/-G) are several files of one capture: the
 * merge picks the earliest pending frame across files, so sessions that
 * span a rotation are seen whole.  Filtering is done per frame with
 * pcap_offline_filter(), not pcap_setfilter(), so that frame numbers still
 * count every record in the file.
 */
#include "source.h"
#include "capture-file.h"
#include "decode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio_ext.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct input_file {
    char *name;
    pcap_t *pcap;
    char *read_buffer;       /* the FILE's buffer, freed after pcap_close() */
    int dlt;
    struct bpf_program filter;
    bool has_filter;
    bool classic;            /* pcap, not pcapng: 32-bit unsigned seconds */
    bool done;
    /* The frame read ahead, waiting for its turn in the merge. */
    bool pending;
    long good_end;           /* byte offset just after the last whole record */
    unsigned record_header;  /* classic pcap: bytes before each record's data, once known (else 0) */
    unsigned snapshot;       /* libpcap cuts records longer than this: their end from ftell */
    uint64_t bad_time;       /* records skipped for an impossible timestamp */
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint64_t frame;
} input_file;

struct mx_source {
    GArray *files;           /* of input_file */
    GPtrArray *errors;       /* one-line messages */
    uint64_t frames, bytes;
    int stdin_used;
};

static void add_error(mx_source *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void add_error(mx_source *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(s->errors, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* stdio's default 4 KiB buffer costs a read() per 4 KiB: a large one
 * leaves the kernel little more than the copy. */
#define READ_BUFFER (1 << 20)

/* ftell() answers from stdio's cached position without a system call
 * once the stream has been positioned; a pipe has no position (-1). */
static long file_offset(pcap_t *p)
{
    FILE *f = pcap_file(p);
    return f ? ftell(f) : -1;
}

/* Moves good_end past the record just read.  ftell() through the capture
 * stream costs ~130 instructions a record; a classic pcap record is a
 * header of one size (16 bytes, 24 in the "modified" variants) and caplen
 * bytes, so once ftell has shown the header's size on a record the ends
 * are added up.  pcapng, and records libpcap cut to the snapshot length
 * (it skipped bytes caplen no longer counts), ask ftell. */
static void advance_good_end(input_file *in)
{
    bpf_u_int32 caplen = in->hdr->caplen;
    if (in->record_header && caplen < in->snapshot) {
        in->good_end += (long)(in->record_header + caplen);
        return;
    }
    long end = file_offset(in->pcap);
    if (in->classic && caplen < in->snapshot && end >= 0) {
        long header = end - in->good_end - (long)caplen;
        if (header == 16 || header == 24)
            in->record_header = (unsigned)header;
    }
    in->good_end = end;
}

/* Timestamps from 1970 to the end of year 9999: a pcapng record's 64-bit
 * time can claim any second, and one past ~292,000 years overflows the
 * microseconds every later stage computes with.  Such a record is damaged. */
#define LAST_SECOND 253402300799LL

/* Reads the next frame of one file into its pending slot. */
static void read_ahead(mx_source *s, input_file *in)
{
    while (!in->done) {
        int rc = pcap_next_ex(in->pcap, &in->hdr, &in->data);
        if (rc == 1) {
            if (in->good_end >= 0)
                advance_good_end(in);
            in->frame++;
            s->frames++;
            s->bytes += in->hdr->len;
            /* pcap's seconds are unsigned 32-bit (to 2106); libpcap hands
             * on those past 2038-01-19 as a negative tv_sec. */
            if (in->classic && in->hdr->ts.tv_sec < 0 && in->hdr->ts.tv_sec >= INT32_MIN)
                in->hdr->ts.tv_sec += (time_t)1 << 32;
            if (in->hdr->ts.tv_sec < 0 || in->hdr->ts.tv_sec > LAST_SECOND) {
                in->bad_time++;
                continue;
            }
            if (in->has_filter && !pcap_offline_filter(&in->filter, in->hdr, in->data))
                continue;
            in->pending = true;
            return;
        }
        in->done = true;
        if (in->bad_time)
            add_error(s, "%s: %" G_GUINT64_FORMAT " record%s with a timestamp before 1970 or after 9999 "
                      "(damaged) skipped", in->name, in->bad_time, in->bad_time == 1 ? "" : "s");
        if (rc == PCAP_ERROR) {
            /* The damaged record starts where the last whole one ended. */
            long off = in->good_end;
            if (off >= 0)
                add_error(s, "%s: %s; the damaged record starts at byte %ld (read %" G_GUINT64_FORMAT
                          " frames before it)", in->name, pcap_geterr(in->pcap), off, in->frame);
            else
                add_error(s, "%s: %s (read %" G_GUINT64_FORMAT " frames before it)",
                          in->name, pcap_geterr(in->pcap), in->frame);
        }
    }
}

static bool open_one(mx_source *s, const char *path, const char *bpf_expr, GError **error)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p;
    char *read_buffer = NULL;
    if (strcmp(path, "-") == 0 && s->stdin_used++) {
        add_error(s, "-: standard input given more than once");
        return true;
    }
    /* libpcap reads through capture-file.c's stream, which lets it read
     * pcapng files whose interfaces differ in snap length. */
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    FILE *f = fd < 0 ? NULL : mx_capture_fdopen(fd, fd != STDIN_FILENO);
    if (f == NULL) {
        add_error(s, "%s: %s", path, g_strerror(errno));
        if (fd > STDIN_FILENO)
            close(fd);
        return true;
    }
    /* glibc ignores the size unless it is given the buffer too. */
    read_buffer = g_malloc(READ_BUFFER);
    setvbuf(f, read_buffer, _IOFBF, READ_BUFFER);
    /* One thread reads it: stdio need not lock it per fread/ftell. */
    __fsetlocking(f, FSETLOCKING_BYCALLER);
    fseek(f, 0, SEEK_SET);
    p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (p == NULL) {
        fclose(f);
        g_free(read_buffer);
        read_buffer = NULL;
    }
    if (p == NULL) {
        /* libpcap's messages already say what is wrong; prefix the file once. */
        const char *msg = errbuf;
        size_t plen = strlen(path);
        if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
            msg += plen + 1 + (msg[plen + 1] == ' ');
        add_error(s, "%s: %s", path, msg[0] ? msg : "cannot open");
        return true;
    }
    int dlt = pcap_datalink(p);
    if (!mx_decode_link_supported(dlt)) {
        const char *name = pcap_datalink_val_to_name(dlt);
        add_error(s, "%s: link type %d (%s) is not supported (Ethernet, Linux cooked, raw IP and BSD loopback are)",
                  path, dlt, name ? name : "unknown");
        pcap_close(p);
        g_free(read_buffer);
        return true;
    }
    input_file in = { .name = g_strdup(path), .pcap = p, .read_buffer = read_buffer, .dlt = dlt,
                      .classic = pcap_major_version(p) == 2, .good_end = file_offset(p),
                      .snapshot = (unsigned)pcap_snapshot(p) };
    if (bpf_expr && *bpf_expr) {
        if (pcap_compile(p, &in.filter, bpf_expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "bad filter expression '%s': %s",
                        bpf_expr, pcap_geterr(p));
            pcap_close(p);
            g_free(in.name);
            g_free(read_buffer);
            return false;
        }
        in.has_filter = true;
    }
    g_array_append_val(s->files, in);
    return true;
}

mx_source *mx_source_open(const char *const *paths, size_t n_paths, const char *bpf_expr, GError **error)
{
    mx_source *s = g_new0(mx_source, 1);
    s->files = g_array_new(FALSE, TRUE, sizeof(input_file));
    s->errors = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < n_paths; i++) {
        if (!open_one(s, paths[i], bpf_expr, error)) {
            mx_source_free(s);
            return NULL;
        }
    }
    if (s->files->len == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s",
                    s->errors->len ? (const char *)g_ptr_array_index(s->errors, 0) : "no input");
        mx_source_free(s);
        return NULL;
    }
    return s;
}

void mx_source_free(mx_source *s)
{
    if (!s)
        return;
    for (guint i = 0; i < s->files->len; i++) {
        input_file *in = &g_array_index(s->files, input_file, i);
        if (in->has_filter)
            pcap_freecode(&in->filter);
        pcap_close(in->pcap);
        g_free(in->read_buffer);
        g_free(in->name);
    }
    g_array_free(s->files, TRUE);
    g_ptr_array_free(s->errors, TRUE);
    g_free(s);
}

static int64_t ts_of(const struct pcap_pkthdr *h)
{
    return (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
}

bool mx_source_next(mx_source *s, mx_raw_frame *out)
{
    input_file *best = NULL;
    guint best_index = 0;
    /* The frame handed out last time stays valid until its file is read
     * again, which is now. */
    for (guint i = 0; i < s->files->len; i++) {
        input_file *in = &g_array_index(s->files, input_file, i);
        if (!in->pending && !in->done)
            read_ahead(s, in);
    }
    /* A linear scan: a handful of rotated files, not thousands. */
    for (guint i = 0; i < s->files->len; i++) {
        input_file *in = &g_array_index(s->files, input_file, i);
        if (!in->pending)
            continue;
        if (best == NULL || ts_of(in->hdr) < ts_of(best->hdr)) {
            best = in;
            best_index = i;
        }
    }
    if (best == NULL)
        return false;
    out->data = best->data;
    out->caplen = best->hdr->caplen;
    out->wirelen = best->hdr->len;
    out->ts_us = ts_of(best->hdr);
    out->frame = best->frame;
    out->file_index = best_index;
    out->dlt = best->dlt;
    best->pending = false;
    return true;
}

const GPtrArray *mx_source_errors(const mx_source *s) { return s->errors; }
size_t mx_source_file_count(const mx_source *s) { return s->files->len; }
uint64_t mx_source_frames_read(const mx_source *s) { return s->frames; }
uint64_t mx_source_bytes_read(const mx_source *s) { return s->bytes; }

const char *mx_source_file_name(const mx_source *s, uint32_t file_index)
{
    return file_index < s->files->len ? g_array_index(s->files, input_file, file_index).name : "?";
}
