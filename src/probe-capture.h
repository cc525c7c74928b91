/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-capture.h — a live libpcap capture for the probe: opened before the first packet, pumped while waiting.
 *
 * Takes: an interface and a BPF expression.  Produces: each matching frame,
 * handed to a callback as soon as it arrives (immediate mode, no buffering
 * delay), while the caller waits for a deadline.  Owns: the pcap handle.
 * Both the ladder and the SMTP dialogue use it.
 */
#ifndef MX_PROBE_CAPTURE_H
#define MX_PROBE_CAPTURE_H

#include <glib.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*mx_probe_capture_fn)(const struct pcap_pkthdr *hdr, const uint8_t *data, void *ctx);

typedef struct mx_probe_capture mx_probe_capture;

/* Opens iface with snaplen and filter; inbound_only keeps answers only.
 * Errors: MX_PROBE_ERROR_RIGHTS when libpcap says permission denied. */
mx_probe_capture *mx_probe_capture_open(const char *iface, int snaplen, const char *filter, bool inbound_only,
                            mx_probe_capture_fn fn, void *ctx, GError **error);
void mx_probe_capture_close(mx_probe_capture *c);

int mx_probe_capture_dlt(const mx_probe_capture *c);
pcap_t *mx_probe_capture_pcap(mx_probe_capture *c);

/* Waits until deadline_us (g_get_monotonic_time clock), handing frames
 * to the callback as they come; also watches fd (-1: none) for events
 * and returns early, with its revents, when it is ready.  Returns 0 at
 * the deadline. */
short mx_probe_capture_pump(mx_probe_capture *c, int64_t deadline_us, int fd, short events);

#endif
