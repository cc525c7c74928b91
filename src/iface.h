/* SPDX-License-Identifier: BSD-3-Clause */
/* iface.h — opening a network interface with libpcap, for `live` and `probe` alike.
 *
 * Takes: an interface, capture settings and a complete BPF expression.
 * Produces: an activated, filtered, non-blocking pcap handle in immediate
 * mode with a pollable descriptor, or one line that names what went
 * wrong (no such interface, missing rights, interface down, bad filter)
 * in words a gateway admin can act on.  Owns nothing after return.
 */
#ifndef MX_IFACE_H
#define MX_IFACE_H

#include <glib.h>
#include <pcap/pcap.h>
#include <stdbool.h>

#define MX_IFACE_ERROR (mx_iface_error_quark())
GQuark mx_iface_error_quark(void);
typedef enum {
    MX_IFACE_ERROR_FAILED,
    MX_IFACE_ERROR_RIGHTS,       /* not root, no CAP_NET_RAW */
    MX_IFACE_ERROR_FILTER,
} mx_iface_error;

typedef struct mx_iface_opts {
    const char *iface;
    const char *filter;          /* the whole BPF expression; NULL: none */
    const char *user_expr;       /* the part the user typed (in filter): compiled alone
                                  * first, so a typo is reported as typed; NULL: none */
    int snaplen;
    int buffer_kib;              /* kernel buffer; 0: libpcap's default */
    int timeout_ms;              /* pcap_set_timeout, for platforms without immediate mode */
    bool promisc;
    bool inbound_only;           /* PCAP_D_IN, best effort */
} mx_iface_opts;

pcap_t *mx_iface_open(const mx_iface_opts *o, GError **error);

#endif
