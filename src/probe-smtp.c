/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-smtp.c — an ordinary SMTP client dialogue under a capture, judged by the analyzer. */
#include "probe-smtp.h"
#include "probe-capture.h"
#include "analyzer.h"
#include "caps.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct stored_frame {
    struct pcap_pkthdr hdr;
    uint8_t data[];
} stored_frame;

typedef struct dialogue_run {
    const mx_dialogue_config *cfg;
    mx_dialogue *d;
    mx_probe_capture *cap;
    GPtrArray *frames;           /* of stored_frame*, owned */
    int fd;
    GString *inbuf;              /* received bytes not yet split into lines */
} dialogue_run;

void mx_dialogue_init(mx_dialogue *d)
{
    *d = (mx_dialogue){0};
    d->transcript = g_ptr_array_new_with_free_func(g_free);
}

void mx_dialogue_clear(mx_dialogue *d)
{
    if (d->transcript)
        g_ptr_array_free(d->transcript, TRUE);
    mx_session_free(d->session);
    *d = (mx_dialogue){0};
}

static void note(dialogue_run *run, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note(dialogue_run *run, const char *fmt, ...)
{
    if (run->d->transcript->len >= MX_PROBE_TRANSCRIPT_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(run->d->transcript, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

static void on_frame(const struct pcap_pkthdr *hdr, const uint8_t *data, void *ctx)
{
    dialogue_run *run = ctx;
    if (run->frames->len >= MX_PROBE_CAPTURE_MAX_FRAMES) {
        run->d->capture_cut = true;
        return;
    }
    stored_frame *f = g_malloc(sizeof *f + hdr->caplen);
    f->hdr = *hdr;
    memcpy(f->data, data, hdr->caplen);
    g_ptr_array_add(run->frames, f);
}


static char *capture_filter(const mx_addr *target, uint16_t dport, uint16_t sport)
{
    char dst[MX_ADDR_BUF];
    mx_addr_str(target, dst, sizeof dst);
    /* Both directions of the dialogue's connection, and ICMP errors that
     * quote our segments (their ports right after the quoted header). */
    if (target->family == 4)
        return g_strdup_printf("(tcp and host %s and ((src port %u and dst port %u) or (src port %u and dst port %u))) or "
                               "(icmp and (icmp[0] = 3 or icmp[0] = 11) and icmp[28:2] = %u and icmp[30:2] = %u)",
                               dst, sport, dport, dport, sport, sport, dport);
    return g_strdup_printf("(tcp and host %s and ((src port %u and dst port %u) or (src port %u and dst port %u))) or "
                           "(icmp6 and (ip6[40] = 1 or ip6[40] = 3) and ip6[88:2] = %u and ip6[90:2] = %u)",
                           dst, sport, dport, dport, sport, sport, dport);
}

/* Printable form of a line for the transcript: controls become \xNN. */
static char *printable(const char *s, gsize len)
{
    GString *out = g_string_sized_new(len);
    for (gsize i = 0; i < len && out->len < MX_SMTP_LINE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            g_string_append_c(out, (char)c);
        else
            g_string_append_printf(out, "\\x%02x", c);
    }
    return g_string_free(out, FALSE);
}

static bool send_line(dialogue_run *run, const char *line)
{
    g_autofree char *wire = g_strdup_printf("%s\r\n", line);
    note(run, "C: %s", line);
    size_t off = 0, len = strlen(wire);
    int64_t deadline = g_get_monotonic_time() + (int64_t)run->cfg->timeout_s * 1000000;
    while (off < len) {
        ssize_t n = send(run->fd, wire + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            note(run, "-- sending failed: %s", g_strerror(errno));
            return false;
        }
        if (!mx_probe_capture_pump(run->cap, deadline, run->fd, POLLOUT)) {
            note(run, "-- could not send within %d s", run->cfg->timeout_s);
            return false;
        }
    }
    return true;
}

/* Reads one (possibly multi-line) reply; its code, or -1 on timeout,
 * -2 when the server closed, -3 on a socket error.  ext collects the EHLO
 * keywords (NULL: not wanted). */
static int read_reply(dialogue_run *run, GPtrArray *ext)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)run->cfg->timeout_s * 1000000;
    for (;;) {
        char *nl;
        while ((nl = memchr(run->inbuf->str, '\n', run->inbuf->len)) != NULL) {
            gsize len = (gsize)(nl - run->inbuf->str);
            gsize text_len = len > 0 && run->inbuf->str[len - 1] == '\r' ? len - 1 : len;
            g_autofree char *line = printable(run->inbuf->str, text_len);
            g_string_erase(run->inbuf, 0, (gssize)len + 1);
            note(run, "S: %s", line);
            bool coded = strlen(line) >= 3 && g_ascii_isdigit(line[0]) && g_ascii_isdigit(line[1]) &&
                         g_ascii_isdigit(line[2]);
            if (ext && coded && strlen(line) > 4)
                g_ptr_array_add(ext, g_strdup(line + 4));
            if (coded && (line[3] == ' ' || line[3] == '\0'))
                return atoi(line);     /* the last line of the reply (RFC 5321 4.2.1) */
        }
        char buf[4096];
        ssize_t n = recv(run->fd, buf, sizeof buf, 0);
        if (n > 0) {
            if (run->inbuf->len < 64 * 1024)
                g_string_append_len(run->inbuf, buf, n);
            continue;
        }
        if (n == 0) {
            note(run, "-- the server closed the connection");
            return -2;
        }
        if (errno != EAGAIN && errno != EINTR) {
            note(run, "-- connection error: %s", g_strerror(errno));
            return -3;
        }
        if (!mx_probe_capture_pump(run->cap, deadline, run->fd, POLLIN)) {
            note(run, "-- no reply within %d s; giving up as an MTA would", run->cfg->timeout_s);
            return -1;
        }
    }
}

static bool has_keyword(GPtrArray *ext, const char *kw)
{
    for (guint i = 0; i < ext->len; i++)
        if (g_ascii_strncasecmp(g_ptr_array_index(ext, i), kw, strlen(kw)) == 0)
            return true;
    return false;
}

/* Connected: greeting, EHLO (HELO if EHLO is refused), STARTTLS, QUIT. */
static void converse(dialogue_run *run)
{
    const mx_dialogue_config *cfg = run->cfg;
    int code = read_reply(run, NULL);
    if (code < 0)
        return;
    if (code != 220) {
        /* RFC 5321 3.1: after a 554 greeting the client should send QUIT. */
        if (send_line(run, "QUIT"))
            read_reply(run, NULL);
        return;
    }
    g_autofree char *ehlo = g_strdup_printf("EHLO %s", cfg->helo);
    g_autoptr(GPtrArray) ext = g_ptr_array_new_with_free_func(g_free);
    if (!send_line(run, ehlo))
        return;
    code = read_reply(run, ext);
    if (code < 0)
        return;
    if (code >= 500 && code < 600) {
        /* As MTAs do (RFC 5321 3.2): a server that refuses EHLO may take HELO. */
        g_autofree char *helo = g_strdup_printf("HELO %s", cfg->helo);
        if (!send_line(run, helo) || (code = read_reply(run, NULL)) < 0)
            return;
    }
    if (cfg->starttls && code >= 200 && code < 300) {
        if (!has_keyword(ext, "STARTTLS"))
            note(run, "-- the EHLO reply does not offer STARTTLS; asking anyway");
        if (!send_line(run, "STARTTLS"))
            return;
        code = read_reply(run, NULL);
        if (code < 0)
            return;
        if (code == 220) {
            /* After this 220 only a TLS ClientHello may follow (RFC 3207);
             * mxray has no TLS library, so it closes here. */
            run->d->starttls_accepted = true;
            note(run, "-- STARTTLS accepted; mxray does not speak TLS, so it closes the connection here");
            return;
        }
    }
    if (send_line(run, "QUIT"))
        read_reply(run, NULL);
}

typedef struct pick {
    mx_dialogue *d;
} pick;

static void on_session(mx_session *s, void *ctx)
{
    pick *p = ctx;
    if (p->d->session == NULL && s->client_port == p->d->sport)
        p->d->session = s;
    else
        mx_session_free(s);
}

static bool write_capture(dialogue_run *run, GError **error)
{
    pcap_dumper_t *dump = pcap_dump_open(mx_probe_capture_pcap(run->cap), run->cfg->write_file);
    if (!dump) {
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: %s", run->cfg->write_file,
                    pcap_geterr(mx_probe_capture_pcap(run->cap)));
        return false;
    }
    for (guint i = 0; i < run->frames->len; i++) {
        stored_frame *f = g_ptr_array_index(run->frames, i);
        pcap_dump((u_char *)dump, &f->hdr, f->data);
    }
    bool ok = pcap_dump_flush(dump) == 0;
    pcap_dump_close(dump);
    if (!ok)
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: write error", run->cfg->write_file);
    return ok;
}

static void analyze(dialogue_run *run)
{
    pick p = { run->d };
    uint16_t port = run->cfg->dport;
    mx_analyzer *an = mx_analyzer_new(&port, 1, 16, on_session, &p);
    for (guint i = 0; i < run->frames->len; i++) {
        stored_frame *f = g_ptr_array_index(run->frames, i);
        mx_raw_frame raw = {
            .data = f->data,
            .caplen = f->hdr.caplen,
            .wirelen = f->hdr.len,
            .ts_us = (int64_t)f->hdr.ts.tv_sec * 1000000 + f->hdr.ts.tv_usec,
            .frame = i + 1,      /* as Wireshark numbers the -w file */
            .dlt = mx_probe_capture_dlt(run->cap),
        };
        mx_analyzer_frame(an, &raw);
    }
    mx_analyzer_finish(an);
    mx_analyzer_free(an);
    run->d->frames = run->frames->len;
}

bool mx_probe_dialogue_run(const mx_dialogue_config *cfg, mx_dialogue *d, GError **error)
{
    dialogue_run run = { .cfg = cfg, .d = d, .fd = -1 };
    struct sockaddr_storage ss;
    socklen_t sl;

    run.fd = socket(cfg->target.family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (run.fd < 0) {
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "socket: %s", g_strerror(errno));
        return false;
    }
    /* Bound first, so that the capture filter knows the source port
     * before the SYN leaves. */
    sl = mx_addr_sockaddr(&cfg->source, 0, &ss);
    if (bind(run.fd, (struct sockaddr *)&ss, sl) < 0 || getsockname(run.fd, (struct sockaddr *)&ss, &sl) < 0) {
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "bind: %s", g_strerror(errno));
        close(run.fd);
        return false;
    }
    d->sport = ntohs(cfg->source.family == 4 ? ((struct sockaddr_in *)&ss)->sin_port
                                             : ((struct sockaddr_in6 *)&ss)->sin6_port);
    g_autofree char *filter = capture_filter(&cfg->target, cfg->dport, d->sport);
    run.frames = g_ptr_array_new_with_free_func(g_free);
    run.cap = mx_probe_capture_open(cfg->iface, MX_PROBE_DIALOGUE_SNAPLEN, filter, false, on_frame, &run, error);
    if (!run.cap) {
        close(run.fd);
        g_ptr_array_free(run.frames, TRUE);
        return false;
    }
    run.inbuf = g_string_new(NULL);

    char target[MX_ADDR_BUF];
    mx_addr_str(&cfg->target, target, sizeof target);
    sl = mx_addr_sockaddr(&cfg->target, cfg->dport, &ss);
    note(&run, "-- connecting to %s port %u", target, cfg->dport);
    int64_t deadline = g_get_monotonic_time() + (int64_t)cfg->timeout_s * 1000000;
    int rc = connect(run.fd, (struct sockaddr *)&ss, sl);
    if (rc < 0 && errno == EINPROGRESS) {
        if (mx_probe_capture_pump(run.cap, deadline, run.fd, POLLOUT)) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(run.fd, SOL_SOCKET, SO_ERROR, &err, &el);
            rc = err ? -1 : 0;
            errno = err;
        } else {
            errno = ETIMEDOUT;
            note(&run, "-- no answer to the connection within %d s", cfg->timeout_s);
        }
    }
    if (rc == 0) {
        d->connected = true;
        note(&run, "-- connected");
        converse(&run);
    } else if (errno != ETIMEDOUT) {
        note(&run, "-- connection failed: %s", g_strerror(errno));
    }
    close(run.fd);
    /* The closing FIN/ACKs (or a late ICMP error) belong in the capture. */
    mx_probe_capture_pump(run.cap, g_get_monotonic_time() + MX_PROBE_CAPTURE_TAIL_US, -1, 0);

    bool ok = true;
    if (cfg->write_file)
        ok = write_capture(&run, error);
    analyze(&run);
    mx_probe_capture_close(run.cap);
    g_ptr_array_free(run.frames, TRUE);
    g_string_free(run.inbuf, TRUE);
    return ok;
}
