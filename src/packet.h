/* SPDX-License-Identifier: BSD-3-Clause */
/* packet.h — the decoded packet, as decode produces it and every later stage reads it.
 *
 * Lives on the caller's stack; nothing in it is allocated.  Payload and
 * quoted headers point into the capture buffer, valid only until the next
 * packet is read.
 */
#ifndef MX_PACKET_H
#define MX_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mx_addr {
    uint8_t family;          /* 4 or 6; 0 = unset */
    uint8_t bytes[16];       /* IPv4 in the first 4 bytes, rest zero */
} mx_addr;

/* TCP flag bits as on the wire. */
enum {
    MX_TCP_FIN = 0x01,
    MX_TCP_SYN = 0x02,
    MX_TCP_RST = 0x04,
    MX_TCP_PSH = 0x08,
    MX_TCP_ACK = 0x10,
    MX_TCP_URG = 0x20,
};

typedef enum mx_l4 {
    MX_L4_NONE = 0,          /* not decoded as far as a transport header */
    MX_L4_TCP,
    MX_L4_UDP,
    MX_L4_ICMP_ERROR,        /* ICMP or ICMPv6 error quoting an IP packet */
    MX_L4_OTHER,
} mx_l4;

/* Why a packet was not decoded to the end, for the stats. */
typedef enum mx_skip_reason {
    MX_SKIP_NONE = 0,
    MX_SKIP_LINK,            /* not IP (ARP, LLDP, ...) */
    MX_SKIP_FRAGMENT,        /* non-first IPv4/IPv6 fragment: no transport header */
    MX_SKIP_MALFORMED,       /* header lengths that contradict each other */
    MX_SKIP_TRUNCATED,       /* snap length cut it before the transport header */
} mx_skip_reason;

/* The IP+transport header an ICMP error quotes (RFC 792 / 4443). */
typedef struct mx_quoted {
    mx_addr src, dst;
    uint8_t proto;
    bool has_ports;
    uint16_t sport, dport;
    bool has_seq;
    uint32_t seq;
    const uint8_t *transport;    /* the quoted transport header's first byte (NULL: not reached) */
} mx_quoted;

typedef struct mx_packet {
    /* capture */
    uint64_t frame;          /* 1-based within its file, as Wireshark counts */
    uint32_t file_index;     /* which input file */
    int64_t ts_us;           /* capture time, microseconds since the epoch */
    uint32_t caplen;         /* bytes captured */
    uint32_t wirelen;        /* bytes on the wire */
    bool snapped;            /* caplen < wirelen cut into what we decode */
    mx_skip_reason skip;

    /* IP */
    uint8_t ip_version;      /* 4 or 6; 0 when not IP */
    mx_addr src, dst;
    uint8_t ttl;             /* IPv4 TTL or IPv6 hop limit */
    bool has_ip_id;          /* IPv4 only */
    uint16_t ip_id;
    bool df;
    uint8_t proto;           /* transport protocol after IPv6 extension headers */
    uint32_t ip_len;         /* IP total length claimed by the header */
    const uint8_t *net;      /* the IP header's first byte in the frame (NULL: not IP) */
    const uint8_t *transport;/* the transport header's first byte (NULL: not reached) */
    uint32_t transport_len;  /* transport header + payload as the IP header claims */
    bool offload_len;        /* the header claimed 0 (TSO / BIG TCP super-segment, or an
                              * IPv6 jumbogram): ip_len is the frame's or the jumbo option's */

    mx_l4 l4;

    /* TCP / UDP */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t tcp_flags;
    uint16_t window;
    uint16_t mss;            /* 0 = option absent */
    int8_t wscale;           /* -1 = option absent */
    bool sack_ok;
    uint8_t sack_blocks;     /* SACK option blocks (RFC 2018), at most 4 */
    uint32_t sack[4][2];     /* left, right edge of each */
    bool has_timestamps;
    uint32_t ts_val, ts_ecr;
    const uint8_t *payload;  /* captured payload bytes (ICMP errors: the quoted packet) */
    uint32_t payload_caplen; /* bytes of payload present in the capture */
    uint32_t payload_len;    /* payload length the IP header claims */

    /* ICMP / ICMPv6 errors */
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_mtu;       /* next-hop MTU of frag-needed / packet-too-big */
    mx_quoted quoted;
} mx_packet;

/* Formats an address as text (dotted quad or RFC 5952). buf >= 46 bytes. */
const char *mx_addr_str(const mx_addr *a, char *buf, size_t len);
bool mx_addr_equal(const mx_addr *a, const mx_addr *b);
bool mx_addr_parse(const char *text, mx_addr *out);
/* "203.0.113.25:25" or "[2001:db8::25]:25", as people write them; returns buf. */
const char *mx_addr_endpoint(const mx_addr *a, uint16_t port, char *buf, size_t len);
/* GHashFunc / GEqualFunc for tables keyed on an mx_addr. */
unsigned mx_addr_hash(const void *a);
int mx_addr_equal_key(const void *a, const void *b);
/* Fills a socket address for a, port (host order); returns its length. */
struct sockaddr_storage;
unsigned mx_addr_sockaddr(const mx_addr *a, uint16_t port, struct sockaddr_storage *ss);

#endif
