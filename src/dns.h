/* SPDX-License-Identifier: BSD-3-Clause */
/* dns.h — DNS look-ups seen in the capture, kept as evidence for the sessions around them.
 *
 * Takes: UDP packets to or from port 53.  Produces: a bounded ring of
 * query records (name, type, resolver, when asked, when and how answered,
 * the A/AAAA addresses and MX names in the answer).  Owns the ring; the
 * oldest records are overwritten, so memory never grows with the input.
 */
#ifndef MX_DNS_H
#define MX_DNS_H

#include <glib.h>
#include "caps.h"
#include "packet.h"

enum { MX_DNS_A = 1, MX_DNS_PTR = 12, MX_DNS_MX = 15, MX_DNS_AAAA = 28 };

typedef struct mx_dns_query {
    /* What a walk over the ring by time reads comes first: one cache line. */
    mx_frame_ref asked;
    mx_frame_ref answer;
    bool answered;
    uint16_t type;
    uint16_t id;
    uint64_t seq;                /* position in the order asked, for the address index */
    char name[MX_DNS_NAME_MAX];  /* lower case, no trailing dot */
    mx_addr client, resolver;
    uint16_t client_port;
    uint8_t rcode;               /* 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN ... */
    uint8_t n_addrs, n_mx;
    mx_addr addrs[MX_DNS_ADDRS_MAX];
    char mx[MX_DNS_MX_MAX][MX_DNS_MX_NAME_MAX];
} mx_dns_query;

typedef struct mx_dns_table mx_dns_table;

mx_dns_table *mx_dns_table_new(void);
void mx_dns_table_free(mx_dns_table *t);

/* A decoded UDP packet with port 53 on either side. */
void mx_dns_packet(mx_dns_table *t, const mx_packet *pkt);

/* Records overwritten in the ring (past MX_DNS_QUERIES): their evidence is gone. */
uint64_t mx_dns_overwritten(const mx_dns_table *t);

/* Records in the order they were asked, oldest first (i = 0 .. count-1). */
size_t mx_dns_count(const mx_dns_table *t);
const mx_dns_query *mx_dns_get(const mx_dns_table *t, size_t i);

/* The index (below k) of the newest record that went unanswered or was
 * answered slowly (MX_DNS_SLOW_US or later), or MX_DNS_NONE: the records
 * DNS evidence looks at, found without reading the others. */
#define MX_DNS_NONE ((size_t)-1)
size_t mx_dns_suspect_before(const mx_dns_table *t, size_t k);

/* The answered look-ups, newest first, whose A/AAAA answers include addr:
 * up to max of them (MX_DNS_NAMES_PER_ADDR at most, one per name), found
 * by an index rather than a walk over the ring.  Returns how many. */
size_t mx_dns_answers_for(const mx_dns_table *t, const mx_addr *addr, const mx_dns_query **out, size_t max);

/* Host name -> the domain whose MX answer named it, from the answered MX
 * look-ups still in the ring (the newest answer wins).  A new table: the
 * caller destroys it; both strings are owned by it. */
GHashTable *mx_dns_mx_domains(const mx_dns_table *t);

/* The reverse-lookup name of an address (4.3.2.1.in-addr.arpa, ip6.arpa). */
void mx_dns_reverse_name(const mx_addr *a, char *buf, size_t len);

#endif
