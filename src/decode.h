/* SPDX-License-Identifier: BSD-3-Clause */
/* decode.h — link layer, IPv4/IPv6, TCP, UDP and ICMP errors into an mx_packet.
 *
 * Takes: the capture's link type and one frame's bytes.  Produces: the
 * caller's mx_packet, filled as far as the bytes go (l4 and skip say how
 * far).  Owns nothing and allocates nothing.
 */
#ifndef MX_DECODE_H
#define MX_DECODE_H

#include "packet.h"

#include <pcap/dlt.h>

/* Link types older libpcap headers do not name (values from tcpdump.org's
 * link-layer registry). */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

/* True for the link types mxray decodes (Ethernet with 802.1Q/QinQ tags,
 * Linux cooked v1/v2, raw IPv4/IPv6, BSD null/loopback). */
bool mx_decode_link_supported(int dlt);

/* Decodes one frame.  Capture fields of pkt (frame, file_index, ts_us)
 * are kept; everything else is reset first. */
void mx_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen, mx_packet *pkt);

#endif
