/* SPDX-License-Identifier: BSD-3-Clause */
/* live-capture.h — what `live` captures, and giving up root after opening the interface.
 *
 * Takes: an interface name, the tracked SMTP ports and the user's BPF
 * expression.  Produces: the default filter ANDed with the user's, and
 * through iface.c an activated, filtered, non-blocking pcap handle in
 * immediate mode, or one line that names what went wrong (no such
 * interface, missing rights, bad filter).  Owns nothing after return.
 */
#ifndef MX_LIVE_CAPTURE_H
#define MX_LIVE_CAPTURE_H

#include <glib.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "caps.h"

typedef struct mx_capture_opts {
    const char *iface;
    const char *user_expr;     /* ANDed with the default filter; NULL: none */
    const uint16_t *ports;
    size_t n_ports;
    int snaplen;               /* bytes; 0: MX_LIVE_SNAPLEN */
    int buffer_kib;            /* kernel buffer; 0: libpcap's default */
    bool promisc;
} mx_capture_opts;

/* The kernel filter: SMTP ports, ICMP/ICMPv6 errors and DNS, ANDed with
 * the user's expression, on plain and VLAN-tagged frames alike. */
char *mx_capture_filter(const uint16_t *ports, size_t n_ports, const char *user_expr);

pcap_t *mx_capture_open(const mx_capture_opts *o, GError **error);

/* As tcpdump -Z: initgroups/setgid/setuid to USER, and refuse to go on
 * if root could be regained.  A process that is not root must already
 * be USER (e.g. systemd's User= with AmbientCapabilities=CAP_NET_RAW). */
gboolean mx_capture_drop_privileges(const char *user, GError **error);

#endif
