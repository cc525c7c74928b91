/* SPDX-License-Identifier: BSD-3-Clause */
/* live-dump.c — pcap_dump with tcpdump's -C/-G/-W rotation and logrotate-friendly reopen. */
#include "live-dump.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

struct mx_dump {
    pcap_t *capture;
    mx_dump_opts o;
    pcap_dumper_t *out;
    GPtrArray *names;          /* every file opened, in order (index = file_index) */
    uint64_t frames;           /* frames in the current file */
    time_t opened_at;          /* for -G */
    unsigned count;            /* -C sequence number within the current -G name */
    dev_t dev;
    ino_t ino;
};

static char *make_name(const mx_dump *d, time_t now)
{
    char *base;
    if (d->o.rotate_secs > 0) {
        char buf[4096];
        struct tm tm;
        localtime_r(&now, &tm);
        /* The user's -w pattern is the format, as with tcpdump -G. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        size_t n = strftime(buf, sizeof buf, d->o.pattern, &tm);
#pragma GCC diagnostic pop
        base = g_strdup(n > 0 ? buf : d->o.pattern);
    } else {
        base = g_strdup(d->o.pattern);
    }
    if (d->o.rotate_bytes <= 0)
        return base;
    char *name;
    if (d->o.max_files > 0) {
        /* As tcpdump -W: every name numbered, zero-padded to the ring's width. */
        int width = snprintf(NULL, 0, "%d", d->o.max_files - 1);
        name = g_strdup_printf("%s%0*u", base, width, d->count);
    } else {
        name = d->count ? g_strdup_printf("%s%u", base, d->count) : g_strdup(base);
    }
    g_free(base);
    return name;
}

/* Records already in a pcap file, so that appended frames are numbered
 * as Wireshark will number them. */
static uint64_t count_records(const char *name)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(name, errbuf);
    if (!p)
        return 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0;
    while (pcap_next_ex(p, &h, &data) == 1)
        n++;
    pcap_close(p);
    return n;
}

/* append: a file already at the name is continued, never overwritten. */
static gboolean open_file(mx_dump *d, time_t now, bool append, GError **error)
{
    char *name = make_name(d, now);
    uint64_t existing = 0;
    struct stat st;
    if (append && stat(name, &st) == 0 && st.st_size > 0)
        existing = count_records(name);
    pcap_dumper_t *out = append ? pcap_dump_open_append(d->capture, name) : pcap_dump_open(d->capture, name);
    if (!out) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "-w %s: %s", name, pcap_geterr(d->capture));
        g_free(name);
        return FALSE;
    }
    if (d->out)
        pcap_dump_close(d->out);
    d->out = out;
    d->frames = existing;
    d->opened_at = now;
    if (fstat(fileno(pcap_dump_file(out)), &st) == 0) {
        d->dev = st.st_dev;
        d->ino = st.st_ino;
    }
    g_ptr_array_add(d->names, name);
    return TRUE;
}

mx_dump *mx_dump_open(pcap_t *capture, const mx_dump_opts *o, GError **error)
{
    mx_dump *d = g_new0(mx_dump, 1);
    d->capture = capture;
    d->o = *o;
    d->names = g_ptr_array_new_with_free_func(g_free);
    if (!open_file(d, time(NULL), false, error)) {
        mx_dump_close(d);
        return NULL;
    }
    return d;
}

void mx_dump_close(mx_dump *d)
{
    if (!d)
        return;
    if (d->out)
        pcap_dump_close(d->out);
    g_ptr_array_unref(d->names);
    g_free(d);
}

static gboolean rotate_if_due(mx_dump *d, time_t now, GError **error)
{
    if (d->o.rotate_secs > 0 && now - d->opened_at >= d->o.rotate_secs) {
        d->count = 0;
        return open_file(d, now, false, error);
    }
    if (d->o.rotate_bytes > 0 && d->frames > 0 && pcap_dump_ftell64(d->out) >= d->o.rotate_bytes) {
        d->count++;
        if (d->o.max_files > 0 && d->count >= (unsigned)d->o.max_files)
            d->count = 0;
        return open_file(d, now, false, error);
    }
    return TRUE;
}

gboolean mx_dump_write(mx_dump *d, const struct pcap_pkthdr *h, const u_char *data,
                       uint32_t *file_index, uint64_t *frame, GError **error)
{
    if (!rotate_if_due(d, h->ts.tv_sec, error))
        return FALSE;
    pcap_dump((u_char *)d->out, h, data);
    d->frames++;
    *file_index = d->names->len - 1;
    *frame = d->frames;
    return TRUE;
}

void mx_dump_flush(mx_dump *d)
{
    if (d && d->out)
        pcap_dump_flush(d->out);
}

gboolean mx_dump_reopen(mx_dump *d, GError **error)
{
    const char *name = g_ptr_array_index(d->names, d->names->len - 1);
    struct stat st;
    mx_dump_flush(d);
    if (stat(name, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino)
        return TRUE;   /* not rotated away: keep writing */
    /* Same name again (-G keeps its period, -C its count); whatever
     * logrotate left there (an empty file from `create`) is continued. */
    return open_file(d, d->opened_at, true, error);
}

const char *mx_dump_file_name(const mx_dump *d, uint32_t file_index)
{
    return file_index < d->names->len ? g_ptr_array_index(d->names, file_index) : NULL;
}

uint32_t mx_dump_file_count(const mx_dump *d)
{
    return d->names->len;
}
