/* SPDX-License-Identifier: BSD-3-Clause */
/* decode.c — one packet path, top to bottom: link -> IP -> TCP/UDP/ICMP.
 *
 * Every step is a guarded read through a cursor; a step that cannot go on
 * records why (pkt->skip) and returns.  Nothing here allocates or copies
 * payload: the packet points into the capture buffer.
 */
#include "decode.h"

#include "cursor.h"

#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_ETAG 0x893f        /* IEEE 802.1BR bridge port extension */

/* More tags than this is not a real frame (QinQ uses two). */
#define MAX_VLAN_TAGS 4
/* IPv6 extension headers walked before giving up: RFC 8200 expects few. */
#define MAX_IPV6_EXT_HEADERS 8

static void decode_ip(mx_cursor c, mx_packet *pkt);

bool mx_decode_link_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

static void decode_ethertype(uint16_t type, mx_cursor c, mx_packet *pkt)
{
    if (type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6)
        decode_ip(c, pkt);
    else
        pkt->skip = MX_SKIP_LINK;
}

static void decode_ethernet(mx_cursor c, mx_packet *pkt)
{
    uint16_t type;
    if (!mx_skip(&c, 12) || !mx_take_be16(&c, &type)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    for (int tags = 0; type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD ||
                       type == ETHERTYPE_ETAG; tags++) {
        if (tags == MAX_VLAN_TAGS) {
            pkt->skip = MX_SKIP_MALFORMED;
            return;
        }
        /* A VLAN tag holds 2 bytes before the next type, an E-Tag 6. */
        if (!mx_skip(&c, type == ETHERTYPE_ETAG ? 6 : 2) || !mx_take_be16(&c, &type)) {
            pkt->skip = MX_SKIP_TRUNCATED;
            return;
        }
    }
    decode_ethertype(type, c, pkt);
}

static void decode_linux_sll(mx_cursor c, mx_packet *pkt)
{
    uint16_t type;
    /* packet type, ARPHRD, address length, 8-byte address, then protocol */
    if (!mx_skip(&c, 14) || !mx_take_be16(&c, &type)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    decode_ethertype(type, c, pkt);
}

static void decode_linux_sll2(mx_cursor c, mx_packet *pkt)
{
    uint16_t type;
    /* protocol first, then reserved, ifindex, ARPHRD, type, address length, address */
    if (!mx_take_be16(&c, &type) || !mx_skip(&c, 18)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    decode_ethertype(type, c, pkt);
}

static void decode_null(mx_cursor c, mx_packet *pkt, bool network_order)
{
    uint32_t family;
    if (!(network_order ? mx_take_be32(&c, &family) : mx_take_le32(&c, &family))) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    /* DLT_NULL is in the capturing host's byte order: a big-endian
     * writer's AF_INET reads as 0x02000000 here. */
    if (family > 0xffff)
        family = __builtin_bswap32(family);
    /* AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs, macOS). */
    if (family == 2 || family == 10 || family == 24 || family == 28 || family == 30)
        decode_ip(c, pkt);
    else
        pkt->skip = MX_SKIP_LINK;
}

void mx_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen, mx_packet *pkt)
{
    uint64_t frame = pkt->frame;
    uint32_t file_index = pkt->file_index;
    int64_t ts_us = pkt->ts_us;
    memset(pkt, 0, sizeof *pkt);
    pkt->frame = frame;
    pkt->file_index = file_index;
    pkt->ts_us = ts_us;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen;
    pkt->wscale = -1;

    mx_cursor c = mx_cursor_make(data, caplen);
    switch (dlt) {
    case DLT_EN10MB:
        decode_ethernet(c, pkt);
        break;
    case DLT_LINUX_SLL:
        decode_linux_sll(c, pkt);
        break;
    case DLT_LINUX_SLL2:
        decode_linux_sll2(c, pkt);
        break;
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        decode_ip(c, pkt);
        break;
    case DLT_NULL:
        decode_null(c, pkt, false);
        break;
    case DLT_LOOP:
        decode_null(c, pkt, true);
        break;
    default:
        pkt->skip = MX_SKIP_LINK;
        break;
    }
}

/* ---- transport ---------------------------------------------------------- */

static void decode_tcp_options(mx_cursor opt, mx_packet *pkt)
{
    uint8_t kind, len;
    while (mx_take_u8(&opt, &kind)) {
        if (kind == 0)                  /* end of option list */
            return;
        if (kind == 1)                  /* no-operation */
            continue;
        if (!mx_take_u8(&opt, &len) || len < 2)
            return;                     /* a bad length ends parsing, not the packet */
        mx_cursor body = mx_sub(&opt, len - 2u);
        if (!mx_skip(&opt, len - 2u))
            return;
        switch (kind) {
        case 2:
            if (len == 4)
                mx_take_be16(&body, &pkt->mss);
            break;
        case 3:
            if (len == 3) {
                uint8_t ws;
                if (mx_take_u8(&body, &ws))
                    pkt->wscale = (int8_t)(ws > 14 ? 14 : ws); /* RFC 7323 2.3: cap at 14 */
            }
            break;
        case 4:
            pkt->sack_ok = true;
            break;
        case 5:
            /* The blocks say which data beyond the ACK arrived: the PMTU
             * rule asks whether smaller segments still cross the path. */
            while (pkt->sack_blocks < 4 && mx_take_be32(&body, &pkt->sack[pkt->sack_blocks][0]) &&
                   mx_take_be32(&body, &pkt->sack[pkt->sack_blocks][1]))
                pkt->sack_blocks++;
            break;
        case 8:
            if (len == 10 && mx_take_be32(&body, &pkt->ts_val) && mx_take_be32(&body, &pkt->ts_ecr))
                pkt->has_timestamps = true;
            break;
        default:
            break;
        }
    }
}

static void decode_tcp(mx_cursor c, uint32_t segment_len, mx_packet *pkt)
{
    uint8_t offset_byte, flags;
    if (segment_len < 20) {              /* the IP length leaves no room for a TCP header */
        pkt->skip = MX_SKIP_MALFORMED;
        return;
    }
    if (!mx_take_be16(&c, &pkt->sport) || !mx_take_be16(&c, &pkt->dport) ||
        !mx_take_be32(&c, &pkt->seq) || !mx_take_be32(&c, &pkt->ack) ||
        !mx_take_u8(&c, &offset_byte) || !mx_take_u8(&c, &flags) ||
        !mx_take_be16(&c, &pkt->window) || !mx_skip(&c, 4)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    uint32_t header_len = (offset_byte >> 4) * 4u;
    if (header_len < 20 || header_len > segment_len) {
        pkt->skip = MX_SKIP_MALFORMED;   /* data offset inside the fixed header or past the segment */
        return;
    }
    pkt->tcp_flags = flags;
    mx_cursor options = mx_sub(&c, header_len - 20);
    decode_tcp_options(options, pkt);
    if (!mx_skip(&c, header_len - 20)) {
        pkt->snapped = true;             /* options cut by the snap length: header fields still hold */
        c.left = 0;
    }
    pkt->l4 = MX_L4_TCP;
    pkt->payload_len = segment_len - header_len;
    pkt->payload = c.p;
    pkt->payload_caplen = (uint32_t)(c.left < pkt->payload_len ? c.left : pkt->payload_len);
    if (pkt->payload_caplen < pkt->payload_len)
        pkt->snapped = true;
}

static void decode_udp(mx_cursor c, uint32_t segment_len, mx_packet *pkt)
{
    uint16_t len;
    if (segment_len < 8) {
        pkt->skip = MX_SKIP_MALFORMED;
        return;
    }
    if (!mx_take_be16(&c, &pkt->sport) || !mx_take_be16(&c, &pkt->dport) ||
        !mx_take_be16(&c, &len) || !mx_skip(&c, 2)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    pkt->l4 = MX_L4_UDP;
    pkt->payload_len = segment_len - 8;
    pkt->payload = c.p;
    pkt->payload_caplen = (uint32_t)(c.left < pkt->payload_len ? c.left : pkt->payload_len);
    if (pkt->payload_caplen < pkt->payload_len)
        pkt->snapped = true;
}

/* The quoted packet inside an ICMP error: IP header plus at least 8 bytes
 * of transport (RFC 792), which hold the ports and the TCP sequence number. */
static bool decode_quoted(mx_cursor c, mx_quoted *q)
{
    uint8_t vihl;
    if (c.left < 1)
        return false;
    vihl = c.p[0];
    if ((vihl >> 4) == 4) {
        uint32_t ihl = (vihl & 0x0f) * 4u;
        uint16_t frag;
        if (ihl < 20 || c.left < ihl)
            return false;
        mx_cursor h = c;
        mx_skip(&h, 6);
        mx_take_be16(&h, &frag);
        mx_skip(&h, 1);
        mx_take_u8(&h, &q->proto);
        mx_skip(&h, 2);
        q->src.family = q->dst.family = 4;
        mx_take_bytes(&h, q->src.bytes, 4);
        mx_take_bytes(&h, q->dst.bytes, 4);
        mx_skip(&c, ihl);
        if ((frag & 0x1fff) != 0)
            return true;                /* a quoted non-first fragment carries no ports */
    } else if ((vihl >> 4) == 6) {
        uint8_t next;
        mx_cursor h = c;
        if (c.left < 40)
            return false;
        mx_skip(&h, 6);
        mx_take_u8(&h, &next);
        mx_skip(&h, 1);
        q->src.family = q->dst.family = 6;
        mx_take_bytes(&h, q->src.bytes, 16);
        mx_take_bytes(&h, q->dst.bytes, 16);
        mx_skip(&c, 40);
        for (int i = 0; i < MAX_IPV6_EXT_HEADERS && (next == 0 || next == 43 || next == 60); i++) {
            uint8_t nh, len8;
            if (!mx_take_u8(&c, &nh) || !mx_take_u8(&c, &len8) || !mx_skip(&c, 6u + len8 * 8u))
                return true;
            next = nh;
        }
        q->proto = next;
    } else {
        return false;
    }
    if (q->proto == 6 || q->proto == 17) {
        q->transport = c.p;
        if (mx_take_be16(&c, &q->sport) && mx_take_be16(&c, &q->dport))
            q->has_ports = true;
        if (q->proto == 6 && mx_take_be32(&c, &q->seq))
            q->has_seq = true;
    }
    return true;
}

static void decode_icmp(mx_cursor c, uint32_t segment_len, bool v6, mx_packet *pkt)
{
    uint8_t type, code;
    uint16_t w1, w2;
    if (segment_len < 8) {
        pkt->skip = MX_SKIP_MALFORMED;
        return;
    }
    if (!mx_take_u8(&c, &type) || !mx_take_u8(&c, &code) || !mx_skip(&c, 2) ||
        !mx_take_be16(&c, &w1) || !mx_take_be16(&c, &w2)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    /* Errors only: 3 unreachable, 4 source quench, 5 redirect, 11 time
     * exceeded, 12 parameter problem; ICMPv6 errors are types 1-4. */
    bool error = v6 ? (type >= 1 && type <= 4)
                    : (type == 3 || type == 4 || type == 5 || type == 11 || type == 12);
    pkt->icmp_type = type;
    pkt->icmp_code = code;
    if (!error) {
        pkt->l4 = MX_L4_OTHER;
        return;
    }
    if (!v6 && type == 3 && code == 4)
        pkt->icmp_mtu = w2;              /* RFC 1191 next-hop MTU */
    if (v6 && type == 2)
        pkt->icmp_mtu = (((uint32_t)w1 << 16) | w2) > 0xffff ? 0xffff : w2;
    /* The quoted packet is the payload: the evidence writer blanks what it
     * quotes of the message (Linux quotes up to 576 bytes). */
    pkt->payload = c.p;
    pkt->payload_caplen = (uint32_t)c.left;
    if (decode_quoted(c, &pkt->quoted))
        pkt->l4 = MX_L4_ICMP_ERROR;
    else
        pkt->skip = MX_SKIP_TRUNCATED;
}

static void decode_transport(mx_cursor c, uint32_t segment_len, mx_packet *pkt)
{
    pkt->transport = c.p;
    pkt->transport_len = segment_len;
    switch (pkt->proto) {
    case 6:
        decode_tcp(c, segment_len, pkt);
        break;
    case 17:
        decode_udp(c, segment_len, pkt);
        break;
    case 1:
        if (pkt->ip_version == 4)
            decode_icmp(c, segment_len, false, pkt);
        else
            pkt->l4 = MX_L4_OTHER;
        break;
    case 58:
        if (pkt->ip_version == 6)
            decode_icmp(c, segment_len, true, pkt);
        else
            pkt->l4 = MX_L4_OTHER;
        break;
    default:
        pkt->l4 = MX_L4_OTHER;
        break;
    }
}

/* ---- IP ----------------------------------------------------------------- */

/* Bytes from the cursor to the end of the frame on the wire. */
static uint32_t wire_left(mx_cursor c, const mx_packet *pkt)
{
    uint32_t before = pkt->caplen - (uint32_t)c.left;
    return pkt->wirelen > before ? pkt->wirelen - before : (uint32_t)c.left;
}

static void decode_ipv4(mx_cursor c, mx_packet *pkt)
{
    uint8_t vihl, ttl, proto;
    uint16_t total_len, id, frag;
    uint32_t frame_len = wire_left(c, pkt);
    if (!mx_take_u8(&c, &vihl) || !mx_skip(&c, 1) || !mx_take_be16(&c, &total_len) ||
        !mx_take_be16(&c, &id) || !mx_take_be16(&c, &frag) || !mx_take_u8(&c, &ttl) ||
        !mx_take_u8(&c, &proto) || !mx_skip(&c, 2) ||
        !mx_take_bytes(&c, pkt->src.bytes, 4) || !mx_take_bytes(&c, pkt->dst.bytes, 4)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    uint32_t ihl = (vihl & 0x0f) * 4u;
    uint32_t ip_len = total_len;
    /* Segmentation offload (TSO, Linux BIG TCP) hands the capture a
     * super-segment of up to 64 KB and more before the NIC cuts it, with
     * total length 0: the frame's length is the packet's, as tshark takes it. */
    if (total_len == 0 && ihl >= 20 && frame_len > ihl) {
        ip_len = frame_len;
        pkt->offload_len = true;
    }
    /* The header claims its own size: honour the claim, but a header inside
     * its fixed part or longer than the packet it claims is nonsense. */
    if (ihl < 20 || ip_len < ihl) {
        pkt->skip = MX_SKIP_MALFORMED;
        return;
    }
    pkt->ip_version = 4;
    pkt->src.family = pkt->dst.family = 4;
    pkt->ttl = ttl;
    pkt->has_ip_id = true;
    pkt->ip_id = id;
    pkt->df = (frag & 0x4000) != 0;
    pkt->proto = proto;
    pkt->ip_len = ip_len;
    if (!mx_skip(&c, ihl - 20)) {        /* options */
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    if ((frag & 0x1fff) != 0) {          /* later fragments carry no transport header */
        pkt->skip = MX_SKIP_FRAGMENT;
        return;
    }
    /* Ethernet pads short frames: the IP length, not the capture, ends the packet. */
    uint32_t segment_len = ip_len - ihl;
    if (c.left > segment_len)
        c.left = segment_len;
    decode_transport(c, segment_len, pkt);
}

/* The Jumbo Payload option's length in the Hop-by-Hop header at c, or 0. */
static uint32_t jumbo_length(mx_cursor c)
{
    uint8_t len8, type, len;
    uint32_t jumbo;
    if (!mx_skip(&c, 1) || !mx_take_u8(&c, &len8))
        return 0;
    mx_cursor opt = mx_sub(&c, (len8 + 1u) * 8u - 2u);
    while (mx_take_u8(&opt, &type)) {
        if (type == 0)                   /* Pad1 */
            continue;
        if (!mx_take_u8(&opt, &len))
            return 0;
        if (type == 0xc2 && len == 4)
            return mx_take_be32(&opt, &jumbo) && jumbo > 65535 ? jumbo : 0;
        if (!mx_skip(&opt, len))
            return 0;
    }
    return 0;
}

static void decode_ipv6(mx_cursor c, mx_packet *pkt)
{
    uint16_t payload_len;
    uint8_t next, hlim;
    if (!mx_skip(&c, 4) || !mx_take_be16(&c, &payload_len) || !mx_take_u8(&c, &next) ||
        !mx_take_u8(&c, &hlim) || !mx_take_bytes(&c, pkt->src.bytes, 16) ||
        !mx_take_bytes(&c, pkt->dst.bytes, 16)) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    pkt->ip_version = 6;
    pkt->src.family = pkt->dst.family = 6;
    pkt->ttl = hlim;
    uint32_t remaining = payload_len;
    if (payload_len == 0 && next == 0) {
        /* RFC 2675 jumbogram (IPv6 BIG TCP): the length is in a Hop-by-Hop option. */
        uint32_t jumbo = jumbo_length(c);
        if (jumbo) {
            remaining = jumbo;
            pkt->offload_len = true;
        }
    }
    pkt->ip_len = 40u + remaining;
    if (c.left > remaining)
        c.left = remaining;
    for (int i = 0;; i++) {
        if (i == MAX_IPV6_EXT_HEADERS) {
            pkt->skip = MX_SKIP_MALFORMED;
            return;
        }
        if (next == 0 || next == 43 || next == 60 || next == 51) {
            uint8_t nh, len8;
            if (!mx_take_u8(&c, &nh) || !mx_take_u8(&c, &len8)) {
                pkt->skip = MX_SKIP_TRUNCATED;
                return;
            }
            /* AH counts its length in 4-byte words minus 2; the others in 8-byte units minus 1. */
            uint32_t hdr_len = next == 51 ? (len8 + 2u) * 4u : (len8 + 1u) * 8u;
            if (hdr_len > remaining) {
                pkt->skip = MX_SKIP_MALFORMED;
                return;
            }
            if (!mx_skip(&c, hdr_len - 2)) {
                pkt->skip = MX_SKIP_TRUNCATED;
                return;
            }
            remaining -= hdr_len;
            next = nh;
        } else if (next == 44) {
            uint8_t nh;
            uint16_t offset_flags;
            if (!mx_take_u8(&c, &nh) || !mx_skip(&c, 1) || !mx_take_be16(&c, &offset_flags) || !mx_skip(&c, 4)) {
                pkt->skip = MX_SKIP_TRUNCATED;
                return;
            }
            if (remaining < 8) {
                pkt->skip = MX_SKIP_MALFORMED;
                return;
            }
            remaining -= 8;
            if ((offset_flags & 0xfff8) != 0) {
                pkt->proto = nh;
                pkt->skip = MX_SKIP_FRAGMENT;
                return;
            }
            next = nh;
        } else {
            break;
        }
    }
    pkt->proto = next;
    decode_transport(c, remaining, pkt);
}

static void decode_ip(mx_cursor c, mx_packet *pkt)
{
    if (c.left < 1) {
        pkt->skip = MX_SKIP_TRUNCATED;
        return;
    }
    pkt->net = c.p;
    switch (c.p[0] >> 4) {
    case 4:
        decode_ipv4(c, pkt);
        break;
    case 6:
        decode_ipv6(c, pkt);
        break;
    default:
        pkt->skip = MX_SKIP_MALFORMED;
        break;
    }
}
