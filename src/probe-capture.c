/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-capture.c — libpcap in immediate, non-blocking mode, driven by poll(). */
#include "probe-capture.h"
#include "iface.h"
#include "probe.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

struct mx_probe_capture {
    pcap_t *pcap;
    int fd;                      /* pcap_get_selectable_fd() */
    int dlt;
    mx_probe_capture_fn fn;
    void *ctx;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *hdr, const u_char *data)
{
    mx_probe_capture *c = (mx_probe_capture *)user;
    c->fn(hdr, data, c->ctx);
}

mx_probe_capture *mx_probe_capture_open(const char *iface, int snaplen, const char *filter, bool inbound_only,
                            mx_probe_capture_fn fn, void *ctx, GError **error)
{
    /* Immediate mode: each answer is handed over as it arrives, so RTTs
     * and the ladder's "all answered" test do not wait for a buffer. */
    mx_iface_opts io = {
        .iface = iface, .filter = filter, .snaplen = snaplen, .timeout_ms = 10, .inbound_only = inbound_only,
    };
    g_autoptr(GError) open_error = NULL;
    pcap_t *p = mx_iface_open(&io, &open_error);
    if (!p) {
        bool rights = g_error_matches(open_error, MX_IFACE_ERROR, MX_IFACE_ERROR_RIGHTS);
        g_set_error_literal(error, MX_PROBE_ERROR, rights ? MX_PROBE_ERROR_RIGHTS : MX_PROBE_ERROR_SETUP,
                            open_error->message);
        return NULL;
    }
    mx_probe_capture *c = g_new0(mx_probe_capture, 1);
    c->pcap = p;
    c->fd = pcap_get_selectable_fd(p);
    c->dlt = pcap_datalink(p);
    c->fn = fn;
    c->ctx = ctx;
    return c;
}

void mx_probe_capture_close(mx_probe_capture *c)
{
    if (!c)
        return;
    pcap_close(c->pcap);
    g_free(c);
}

int mx_probe_capture_dlt(const mx_probe_capture *c)
{
    return c->dlt;
}

pcap_t *mx_probe_capture_pcap(mx_probe_capture *c)
{
    return c->pcap;
}

short mx_probe_capture_pump(mx_probe_capture *c, int64_t deadline_us, int fd, short events)
{
    for (;;) {
        /* Drain what is there first: poll() on a pcap fd may not wake for
         * frames already read into libpcap's buffer. */
        while (pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c) > 0)
            ;
        int64_t now = g_get_monotonic_time();
        if (now >= deadline_us)
            return 0;
        int64_t left_ms = (deadline_us - now + 999) / 1000;
        struct pollfd pfd[2] = {
            { .fd = c->fd, .events = POLLIN },
            { .fd = fd, .events = events },
        };
        int n = poll(pfd, fd >= 0 ? 2 : 1, (int)MIN(left_ms, 100));
        if (n < 0 && errno != EINTR)
            return 0;
        if (fd >= 0 && n > 0 && pfd[1].revents) {
            while (pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c) > 0)
                ;
            return pfd[1].revents;
        }
    }
}
