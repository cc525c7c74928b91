/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-ladder.h — the TTL ladder: TCP SYNs to the SMTP port with rising TTL, as tcptraceroute sends them.
 *
 * Takes: source and target address, ports, interface, limits.  Produces:
 * an mx_probe_ladder, one step per TTL, one reply slot per probe.
 * Owns, while it runs: a libnet raw context (LIBNET_RAW4/RAW6) and a live
 * capture filtered on the probe's port pair and on ICMP/ICMPv6 errors
 * quoting it.  Needs root or CAP_NET_RAW.
 */
#ifndef MX_PROBE_LADDER_H
#define MX_PROBE_LADDER_H

#include "probe.h"

typedef struct mx_ladder_config {
    const char *iface;           /* where the answers arrive (the route's interface) */
    mx_addr source, target;
    uint16_t sport, dport;       /* sport: held by a bound socket while the ladder runs */
    int max_ttl;
    int per_hop;
    double wait_s;               /* per TTL step, after its last probe */
} mx_ladder_config;

/* True when this process may open raw sockets; else a one-line reason. */
bool mx_probe_check_rights(GError **error);

/* Runs the ladder; out must be initialised.  False (and error) when the
 * raw socket or the capture cannot be opened. */
bool mx_probe_ladder_run(const mx_ladder_config *cfg, mx_probe_ladder *out, GError **error);

#endif
