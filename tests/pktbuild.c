/* SPDX-License-Identifier: BSD-3-Clause */
/* pktbuild.c — test packets: libnet builds the IP packet, this file adds the link header,
 * fixes the checksums, writes captures and feeds mxray's pipeline.
 *
 * libnet 1.1.6 (Debian 12) quirks this file works around:
 *   - libnet_adv_cull_packet() refuses a LIBNET_NONE context ("advanced link
 *     mode not enabled"); libnet_pblock_coalesce(), which it calls, is public
 *     and does the same work without the check.
 *   - its checksums of TCP over IPv6 extension headers and of ICMPv6 are not
 *     trustworthy, so every header is built with a placeholder checksum and the
 *     real one computed here (RFC 1071, with the RFC 793 / RFC 8200 8.1
 *     pseudo-headers).
 *   - libnet_build_ipv6_frag() writes offset and identification in host
 *     byte order: they are rewritten after coalescing.
 *   - it has no builder for QinQ, Linux cooked or BSD null headers: those are
 *     a few bytes each, written below.
 */
#include "pktbuild.h"

#include <arpa/inet.h>
#include <libnet.h>
#include <pcap/pcap.h>
#include <string.h>

#include "decode.h"
#include "hops.h"

#define ETHERTYPE_V4 0x0800
#define ETHERTYPE_V6 0x86dd

static const uint8_t mac_client[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t mac_gateway[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe };

/* ---- link layer ------------------------------------------------------------ */

static const struct link_row {
    const char *name;
    int dlt;
    uint32_t header_len;
} link_rows[PB_LINK_COUNT] = {
    [PB_LINK_ETH] = { "ethernet", DLT_EN10MB, 14 },
    [PB_LINK_VLAN] = { "vlan", DLT_EN10MB, 18 },
    [PB_LINK_QINQ] = { "qinq", DLT_EN10MB, 22 },
    [PB_LINK_SLL] = { "sll", DLT_LINUX_SLL, 16 },
    [PB_LINK_SLL2] = { "sll2", DLT_LINUX_SLL2, 20 },
    [PB_LINK_RAW] = { "raw", DLT_RAW, 0 },
    [PB_LINK_IPV4] = { "ipv4", DLT_IPV4, 0 },
    [PB_LINK_IPV6] = { "ipv6", DLT_IPV6, 0 },
    [PB_LINK_NULL] = { "null", DLT_NULL, 4 },
    [PB_LINK_NULL_SWAPPED] = { "null-swapped", DLT_NULL, 4 },
    [PB_LINK_LOOP] = { "loop", DLT_LOOP, 4 },
    [PB_LINK_ETAG] = { "etag", DLT_EN10MB, 26 },
};

int pb_link_dlt(pb_link link) { return link_rows[link].dlt; }
const char *pb_link_name(pb_link link) { return link_rows[link].name; }
uint32_t pb_link_header_len(pb_link link) { return link_rows[link].header_len; }

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Ethernet and 802.1Q come from libnet; the rest are written by hand. */
static bool link_header_libnet(uint8_t *out, pb_link link, uint16_t ethertype)
{
    char err[LIBNET_ERRBUF_SIZE];
    libnet_t *l = libnet_init(LIBNET_NONE, NULL, err);
    if (l == NULL)
        return false;
    libnet_ptag_t tag;
    if (link == PB_LINK_VLAN)
        tag = libnet_build_802_1q(mac_gateway, mac_client, 0x8100, 0, 0, 100, ethertype, NULL, 0, l, 0);
    else
        tag = libnet_build_ethernet(mac_gateway, mac_client, ethertype, NULL, 0, l, 0);
    uint8_t *bytes = NULL;
    uint32_t n = 0;
    bool ok = tag != -1 && libnet_pblock_coalesce(l, &bytes, &n) != -1 && n == link_rows[link].header_len;
    if (ok)
        memcpy(out, bytes, n);
    if (bytes)
        libnet_adv_free_packet(l, bytes);
    libnet_destroy(l);
    return ok;
}

static bool write_link_header(uint8_t *out, pb_link link, int ip_version)
{
    uint16_t ethertype = ip_version == 6 ? ETHERTYPE_V6 : ETHERTYPE_V4;
    switch (link) {
    case PB_LINK_ETH:
    case PB_LINK_VLAN:
        return link_header_libnet(out, link, ethertype);
    case PB_LINK_QINQ:
        /* 802.1ad service tag (0x88a8, S-VID 200), then the customer tag
         * (0x8100, C-VID 100), then the type. */
        memcpy(out, mac_gateway, 6);
        memcpy(out + 6, mac_client, 6);
        put16(out + 12, 0x88a8);
        put16(out + 14, 200);
        put16(out + 16, 0x8100);
        put16(out + 18, 100);
        put16(out + 20, ethertype);
        return true;
    case PB_LINK_ETAG:
        /* 802.1BR E-Tag as a port extender sends it upstream: TPID 0x893f,
         * E-PCP/DEI/ingress E-CID base 0x0012, GRP 1 / E-CID base 0x0034,
         * ingress E-CID ext 0, E-CID ext 0; then a C-tag (VID 100). */
        memcpy(out, mac_gateway, 6);
        memcpy(out + 6, mac_client, 6);
        put16(out + 12, 0x893f);
        put16(out + 14, 0x0012);
        put16(out + 16, 0x1034);
        put16(out + 18, 0);
        put16(out + 20, 0x8100);
        put16(out + 22, 100);
        put16(out + 24, ethertype);
        return true;
    case PB_LINK_SLL:
        put16(out, 4);                  /* packet type: sent by us */
        put16(out + 2, 1);              /* ARPHRD_ETHER */
        put16(out + 4, 6);              /* address length */
        memset(out + 6, 0, 8);
        memcpy(out + 6, mac_client, 6);
        put16(out + 14, ethertype);
        return true;
    case PB_LINK_SLL2:
        put16(out, ethertype);
        put16(out + 2, 0);              /* reserved */
        put32(out + 4, 2);              /* interface index */
        put16(out + 8, 1);              /* ARPHRD_ETHER */
        out[10] = 4;                    /* packet type: sent by us */
        out[11] = 6;                    /* address length */
        memset(out + 12, 0, 8);
        memcpy(out + 12, mac_client, 6);
        return true;
    case PB_LINK_RAW:
    case PB_LINK_IPV4:
    case PB_LINK_IPV6:
        return true;
    case PB_LINK_NULL:
    case PB_LINK_NULL_SWAPPED:
    case PB_LINK_LOOP: {
        /* AF_INET is 2 everywhere; for IPv6 use macOS's 30 (null) and
         * OpenBSD's 24 (loop), the values such captures really carry. */
        uint32_t family = ip_version == 6 ? (link == PB_LINK_LOOP ? 24 : 30) : 2;
        uint32_t host = link == PB_LINK_NULL_SWAPPED ? GUINT32_SWAP_LE_BE(family) : family;
        if (link == PB_LINK_LOOP)
            put32(out, family);         /* network byte order */
        else
            memcpy(out, &host, 4);      /* the writing host's order */
        return true;
    }
    default:
        return false;
    }
}

/* ---- checksums (RFC 1071) ---------------------------------------------------- */

static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* Checksum of a transport header + data at l4 (len bytes) with the IP
 * pseudo-header (RFC 793 for IPv4, RFC 8200 8.1 for IPv6); ICMPv4 has none. */
static uint16_t transport_sum(const uint8_t *ip, const uint8_t *l4, uint32_t len, uint8_t proto)
{
    uint32_t acc = 0;
    if ((ip[0] >> 4) == 4) {
        if (proto != IPPROTO_ICMP) {
            acc = sum_bytes(ip + 12, 8, acc);
            acc += proto;
            acc += len;
        }
    } else {
        acc = sum_bytes(ip + 8, 32, acc);
        acc += len >> 16;
        acc += len & 0xffff;
        acc += proto;
    }
    return fold(sum_bytes(l4, len, acc));
}

/* ---- IP packets with libnet ---------------------------------------------------- */

static bool parse_addr(const char *text, int *version, uint8_t bytes[16])
{
    memset(bytes, 0, 16);
    if (text && inet_pton(AF_INET, text, bytes) == 1) {
        *version = 4;
        return true;
    }
    if (text && inet_pton(AF_INET6, text, bytes) == 1) {
        *version = 6;
        return true;
    }
    return false;
}

mx_addr pb_addr(const char *text)
{
    mx_addr a;
    g_assert_true(mx_addr_parse(text, &a));
    return a;
}

static bool fail(libnet_t *l, const char *what)
{
    g_test_message("pktbuild: %s: %s", what, l ? libnet_geterror(l) : "libnet_init failed");
    if (l)
        libnet_destroy(l);
    return false;
}

/* Builds the IP layer around the transport header already in l, then
 * copies link header + packet into f and fixes the checksums.
 * l4_len: transport header + data. */
static bool finish_ip(libnet_t *l, pb_frame *f, pb_link link, const pb_ip *ip, uint8_t proto, uint32_t l4_len)
{
    int v_src = 0, v_dst = 0;
    uint8_t src[16], dst[16];
    if (!parse_addr(ip->src, &v_src, src) || !parse_addr(ip->dst, &v_dst, dst) || v_src != v_dst)
        return fail(l, "addresses");
    uint8_t ttl = ip->ttl ? ip->ttl : 64;
    uint32_t ext_len = 0;

    if (v_src == 4) {
        uint16_t frag = (uint16_t)((ip->df ? 0x4000 : 0) | (ip->more_fragments ? 0x2000 : 0) | (ip->frag_offset & 0x1fff));
        if (ip->options_len > 0 &&
            libnet_build_ipv4_options(ip->options, ip->options_len, l, 0) == -1)
            return fail(l, "ipv4 options");
        ext_len = (ip->options_len + 3) & ~3u;
        uint32_t addr_s, addr_d;
        memcpy(&addr_s, src, 4);
        memcpy(&addr_d, dst, 4);
        if (libnet_build_ipv4((uint16_t)(LIBNET_IPV4_H + ext_len + l4_len), 0, ip->id, frag, ttl, proto,
                              0, addr_s, addr_d, NULL, 0, l, 0) == -1)
            return fail(l, "ipv4");
    } else {
        uint8_t next = proto;
        if (ip->v6_fragment) {
            uint16_t frag = (uint16_t)((ip->frag_offset << 3) | (ip->more_fragments ? 1 : 0));
            if (libnet_build_ipv6_frag(next, 0, frag, ip->id, NULL, 0, l, 0) == -1)
                return fail(l, "ipv6 fragment header");
            next = 44;
            ext_len += 8;
        }
        if (ip->v6_hop_by_hop) {
            static const uint8_t padn[6] = { 1, 4, 0, 0, 0, 0 };   /* PadN filling the 8 bytes */
            if (libnet_build_ipv6_hbhopts(next, 0, padn, sizeof padn, l, 0) == -1)
                return fail(l, "ipv6 hop-by-hop header");
            next = 0;
            ext_len += 8;
        }
        struct libnet_in6_addr s6, d6;
        memcpy(&s6, src, 16);
        memcpy(&d6, dst, 16);
        if (libnet_build_ipv6(0, 0, (uint16_t)(ext_len + l4_len), next, ttl, s6, d6, NULL, 0, l, 0) == -1)
            return fail(l, "ipv6");
    }

    uint8_t *bytes = NULL;
    uint32_t n = 0;
    if (libnet_pblock_coalesce(l, &bytes, &n) == -1)
        return fail(l, "coalesce");
    uint32_t hdr = pb_link_header_len(link);
    if (hdr + n > PB_FRAME_MAX) {
        libnet_adv_free_packet(l, bytes);
        return fail(l, "frame too long");
    }
    memset(f, 0, sizeof *f);
    memcpy(f->data + hdr, bytes, n);
    libnet_adv_free_packet(l, bytes);
    libnet_destroy(l);
    if (!write_link_header(f->data, link, v_src)) {
        g_test_message("pktbuild: link header %s", pb_link_name(link));
        return false;
    }
    f->len = hdr + n;
    f->l3 = hdr;
    f->dlt = pb_link_dlt(link);

    uint8_t *iph = f->data + hdr;
    if (v_src == 4) {
        /* libnet leaves IHL at 5 when options come first in the chain on some
         * versions: state it from what was built. */
        iph[0] = (uint8_t)(0x40 | ((LIBNET_IPV4_H + ext_len) / 4));
        put16(iph + 2, (uint16_t)(LIBNET_IPV4_H + ext_len + l4_len));
        put16(iph + 10, 0);
        put16(iph + 10, fold(sum_bytes(iph, LIBNET_IPV4_H + ext_len, 0)));
    }
    if (v_src == 6 && ip->v6_fragment) {
        /* libnet 1.1.6 stores the fragment header's offset and
         * identification in host byte order: write them as RFC 8200 4.5 says. */
        uint8_t *fh = iph + LIBNET_IPV6_H + (ip->v6_hop_by_hop ? 8 : 0);
        put16(fh + 2, (uint16_t)((ip->frag_offset << 3) | (ip->more_fragments ? 1 : 0)));
        put32(fh + 4, ip->id);
    }
    f->l4 = hdr + (v_src == 4 ? LIBNET_IPV4_H : LIBNET_IPV6_H) + ext_len;
    return true;
}

static void fix_transport_sum(pb_frame *f, uint8_t proto, uint32_t sum_offset)
{
    uint8_t *l4 = f->data + f->l4;
    uint32_t len = f->len - f->l4;
    uint8_t ip_proto = proto == IPPROTO_ICMP && (f->data[f->l3] >> 4) == 6 ? IPPROTO_ICMPV6 : proto;
    put16(l4 + sum_offset, 0);
    put16(l4 + sum_offset, transport_sum(f->data + f->l3, l4, len, ip_proto));
}

static uint32_t tcp_options(const pb_tcp *t, uint8_t out[40])
{
    uint32_t n = 0;
    if (t->mss) {
        out[n++] = 2, out[n++] = 4;
        put16(out + n, t->mss);
        n += 2;
    }
    if (t->sack_ok && t->timestamps) {
        out[n++] = 4, out[n++] = 2;
    } else if (t->sack_ok) {
        out[n++] = 1, out[n++] = 1, out[n++] = 4, out[n++] = 2;
    } else if (t->timestamps) {
        out[n++] = 1, out[n++] = 1;
    }
    if (t->timestamps) {
        out[n++] = 8, out[n++] = 10;
        put32(out + n, t->ts_val);
        put32(out + n + 4, t->ts_ecr);
        n += 8;
    }
    if (t->has_wscale) {
        out[n++] = 1, out[n++] = 3, out[n++] = 3, out[n++] = t->wscale;
    }
    if (t->sack_blocks) {
        out[n++] = 1, out[n++] = 1, out[n++] = 5, out[n++] = (uint8_t)(2 + 8 * t->sack_blocks);
        for (int b = 0; b < t->sack_blocks; b++) {
            put32(out + n, t->sack[b][0]);
            put32(out + n + 4, t->sack[b][1]);
            n += 8;
        }
    }
    return n;
}

bool pb_build_tcp(pb_frame *f, pb_link link, const pb_tcp *t)
{
    char err[LIBNET_ERRBUF_SIZE];
    libnet_t *l = libnet_init(LIBNET_NONE, NULL, err);
    if (l == NULL)
        return fail(NULL, "tcp");
    uint8_t opts[40];
    uint32_t opts_len = tcp_options(t, opts);
    if (opts_len && libnet_build_tcp_options(opts, opts_len, l, 0) == -1)
        return fail(l, "tcp options");
    uint16_t window = t->window == PB_WINDOW_ZERO ? 0 : t->window ? (uint16_t)t->window : 64240;
    uint32_t l4_len = LIBNET_TCP_H + opts_len + t->payload_len;
    /* Checksum 1 keeps libnet from computing its own; the real one is set below. */
    if (libnet_build_tcp(t->sport, t->dport, t->seq, t->ack, t->flags, window, 1, 0, (uint16_t)l4_len,
                         t->payload, t->payload_len, l, 0) == -1)
        return fail(l, "tcp");
    if (!finish_ip(l, f, link, &t->ip, IPPROTO_TCP, l4_len))
        return false;
    fix_transport_sum(f, IPPROTO_TCP, 16);
    return true;
}

bool pb_build_udp(pb_frame *f, pb_link link, const pb_udp *u)
{
    char err[LIBNET_ERRBUF_SIZE];
    libnet_t *l = libnet_init(LIBNET_NONE, NULL, err);
    if (l == NULL)
        return fail(NULL, "udp");
    uint32_t l4_len = LIBNET_UDP_H + u->payload_len;
    if (libnet_build_udp(u->sport, u->dport, (uint16_t)l4_len, 1, u->payload, u->payload_len, l, 0) == -1)
        return fail(l, "udp");
    if (!finish_ip(l, f, link, &u->ip, IPPROTO_UDP, l4_len))
        return false;
    fix_transport_sum(f, IPPROTO_UDP, 6);
    return true;
}

bool pb_build_icmp(pb_frame *f, pb_link link, const pb_icmp *i)
{
    int version = 0;
    uint8_t scratch[16];
    if (!parse_addr(i->ip.src, &version, scratch) || i->quote == NULL)
        return fail(NULL, "icmp addresses");
    const uint8_t *quoted = i->quote->data + i->quote->l3;
    uint32_t avail = i->quote->len - i->quote->l3;
    uint32_t qlen = i->quote_len;
    if (qlen == 0) {
        /* RFC 792: the IP header and 8 bytes; RFC 4443 2.4: as much as fits in 1280. */
        qlen = version == 4 ? (uint32_t)(quoted[0] & 0x0f) * 4 + 8 : 1232;
    }
    if (qlen > avail)
        qlen = avail;

    char err[LIBNET_ERRBUF_SIZE];
    libnet_t *l = libnet_init(LIBNET_NONE, NULL, err);
    if (l == NULL)
        return fail(NULL, "icmp");
    libnet_ptag_t tag = version == 4
        ? libnet_build_icmpv4_unreach(i->type, i->code, 1, quoted, qlen, l, 0)
        : libnet_build_icmpv6_unreach(i->type, i->code, 1, (uint8_t *)quoted, qlen, l, 0);
    if (tag == -1)
        return fail(l, "icmp");
    if (!finish_ip(l, f, link, &i->ip, version == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 8 + qlen))
        return false;
    uint8_t *h = f->data + f->l4;
    /* libnet writes the second word as zero: the MTU of frag-needed
     * (RFC 1191) and packet-too-big (RFC 4443 3.2) lives there. */
    if (version == 4 && i->type == 3 && i->code == 4)
        put16(h + 6, i->mtu);
    if (version == 6 && i->type == 2)
        put32(h + 4, i->mtu);
    fix_transport_sum(f, version == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 2);
    return true;
}

/* ---- pcap files -------------------------------------------------------------------- */

struct pb_pcap {
    pcap_t *dead;
    pcap_dumper_t *dumper;
    uint32_t snaplen;
};

pb_pcap *pb_pcap_open(const char *path, int dlt, uint32_t snaplen)
{
    pb_pcap *w = g_new0(pb_pcap, 1);
    w->snaplen = snaplen ? snaplen : 262144;
    w->dead = pcap_open_dead_with_tstamp_precision(dlt, (int)w->snaplen, PCAP_TSTAMP_PRECISION_MICRO);
    if (w->dead == NULL || (w->dumper = pcap_dump_open(w->dead, path)) == NULL) {
        g_printerr("pktbuild: %s: %s\n", path, w->dead ? pcap_geterr(w->dead) : "pcap_open_dead failed");
        if (w->dead)
            pcap_close(w->dead);
        g_free(w);
        return NULL;
    }
    return w;
}

void pb_pcap_write(pb_pcap *w, const uint8_t *data, uint32_t len, int64_t ts_us)
{
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(ts_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(ts_us % 1000000);
    h.caplen = len < w->snaplen ? len : w->snaplen;
    h.len = len;
    pcap_dump((u_char *)w->dumper, &h, data);
}

void pb_pcap_close(pb_pcap *w)
{
    if (!w)
        return;
    pcap_dump_close(w->dumper);
    pcap_close(w->dead);
    g_free(w);
}

/* ---- one TCP connection ---------------------------------------------------------------- */

void pb_conv_init(pb_conv *c, pb_link link, const char *client, uint16_t client_port,
                  const char *server, uint16_t server_port, uint32_t client_isn, uint32_t server_isn,
                  pb_emit_fn emit, void *ctx)
{
    *c = (pb_conv){
        .link = link,
        .addr = { client, server },
        .port = { client_port, server_port },
        .isn = { client_isn, server_isn },
        .next_seq = { client_isn, server_isn },
        .ttl = { 64, 62 },
        .ip_id = { 0x1000, 0x5000 },
        .mss = { 1460, 1460 },
        .emit = emit,
        .ctx = ctx,
    };
}

static void conv_emit(pb_conv *c, int dir, int64_t t, uint8_t flags, uint32_t seq, const void *data,
                      uint32_t len, uint8_t ttl)
{
    bool syn = flags & MX_TCP_SYN;
    pb_tcp spec = {
        .ip = { .src = c->addr[dir], .dst = c->addr[!dir], .ttl = ttl ? ttl : c->ttl[dir],
                .id = c->ip_id_zero[dir] ? 0 : c->ip_id[dir]++, .df = true },
        .sport = c->port[dir],
        .dport = c->port[!dir],
        .seq = seq,
        .ack = (flags & MX_TCP_ACK) ? c->next_seq[!dir] : 0,
        .flags = flags,
        .mss = syn ? c->mss[dir] : 0,
        .sack_ok = syn,
        .has_wscale = syn,
        .wscale = 7,
        .payload = data,
        .payload_len = len,
    };
    pb_frame f;
    g_assert_true(pb_build_tcp(&f, c->link, &spec));
    c->frames++;
    c->emit(c->ctx, &f, t);
}

void pb_conv_segment(pb_conv *c, int dir, int64_t t, uint8_t flags, const void *data, uint32_t len, uint8_t ttl)
{
    if (c->syn_sent[!dir] && !(flags & MX_TCP_SYN && dir == PB_C2S))
        flags |= MX_TCP_ACK;
    uint32_t seq = c->next_seq[dir];
    if (flags & MX_TCP_SYN)
        seq = c->isn[dir];
    /* ack is the peer's next_seq: compute before advancing ours. */
    conv_emit(c, dir, t, flags, seq, data, len, ttl);
    if (flags & MX_TCP_SYN) {
        c->syn_sent[dir] = true;
        c->next_seq[dir] = c->isn[dir] + 1;
    }
    c->next_seq[dir] += len;
    if (flags & MX_TCP_FIN)
        c->next_seq[dir] += 1;
}

void pb_conv_syn(pb_conv *c, int64_t t) { pb_conv_segment(c, PB_C2S, t, MX_TCP_SYN, NULL, 0, 0); }
void pb_conv_synack(pb_conv *c, int64_t t) { pb_conv_segment(c, PB_S2C, t, MX_TCP_SYN | MX_TCP_ACK, NULL, 0, 0); }
void pb_conv_ack(pb_conv *c, int dir, int64_t t) { pb_conv_segment(c, dir, t, MX_TCP_ACK, NULL, 0, 0); }

void pb_conv_send(pb_conv *c, int dir, int64_t t, const char *text)
{
    pb_conv_segment(c, dir, t, MX_TCP_PSH | MX_TCP_ACK, text, (uint32_t)strlen(text), 0);
}

void pb_conv_resend(pb_conv *c, int dir, int64_t t, uint32_t seq, const char *text)
{
    conv_emit(c, dir, t, MX_TCP_PSH | MX_TCP_ACK, seq, text, (uint32_t)strlen(text), 0);
}

void pb_conv_fin(pb_conv *c, int dir, int64_t t) { pb_conv_segment(c, dir, t, MX_TCP_FIN | MX_TCP_ACK, NULL, 0, 0); }

void pb_conv_rst(pb_conv *c, int dir, int64_t t, uint8_t ttl)
{
    /* A RST answering a SYN carries ACK; one mid-session (Linux, iptables
     * REJECT --reject-with tcp-reset) carries RST|ACK too. */
    conv_emit(c, dir, t, MX_TCP_RST | MX_TCP_ACK, c->next_seq[dir], NULL, 0, ttl);
}

void pb_conv_icmp(pb_conv *c, int64_t t, const char *from, uint8_t ttl, uint8_t type, uint8_t code)
{
    pb_tcp syn = {
        .ip = { .src = c->addr[PB_C2S], .dst = c->addr[PB_S2C], .ttl = 63, .id = c->ip_id[PB_C2S], .df = true },
        .sport = c->port[PB_C2S],
        .dport = c->port[PB_S2C],
        .seq = c->isn[PB_C2S],
        .flags = MX_TCP_SYN,
        .mss = c->mss[PB_C2S],
        .sack_ok = true,
        .has_wscale = true,
        .wscale = 7,
    };
    pb_frame quoted, f;
    g_assert_true(pb_build_tcp(&quoted, PB_LINK_RAW, &syn));
    /* The router saw the SYN after its own hops: the quoted TTL is lower. */
    pb_icmp spec = {
        .ip = { .src = from, .dst = c->addr[PB_C2S], .ttl = ttl },
        .type = type,
        .code = code,
        .quote = &quoted,
    };
    g_assert_true(pb_build_icmp(&f, c->link, &spec));
    c->frames++;
    c->emit(c->ctx, &f, t);
}

void pb_conv_handshake(pb_conv *c, int64_t t, int64_t rtt)
{
    pb_conv_syn(c, t);
    pb_conv_synack(c, t + rtt);
    pb_conv_ack(c, PB_C2S, t + rtt + 100);
}

void pb_conv_exchange(pb_conv *c, int64_t t, const char *command, const char *reply, int64_t delay)
{
    if (command)
        pb_conv_send(c, PB_C2S, t, command);
    pb_conv_send(c, PB_S2C, t + delay, reply);
    pb_conv_ack(c, PB_C2S, t + delay + 100);
}

/* ---- the pipeline fixture ---------------------------------------------------------------- */

static void feed_finished(mx_flow *flow, void *ctx)
{
    pb_feed *feed = ctx;
    mx_flow copy = *flow;
    copy.stream[0] = copy.stream[1] = NULL;
    copy.smtp = NULL;
    copy.lru_prev = copy.lru_next = NULL;
    copy.ladder = NULL;      /* freed with the flow */
    /* The SYN times and in-flight rings are the flow's own allocations
     * (flow.h): the copy gets its own, freed by pb_feed_clear. */
    uint32_t syns = MIN(flow->syn_count, MX_SYN_TIMES_MAX);
    copy.syn = syns ? g_memdup2(flow->syn, syns * sizeof *flow->syn) : NULL;
    copy.syn_cap = syns;
    for (int d = 0; d < 2; d++) {
        if (flow->dir[d].inflight)
            copy.dir[d].inflight = g_memdup2(flow->dir[d].inflight, MX_INFLIGHT_RING * sizeof(mx_inflight));
        if (flow->dir[d].through)
            copy.dir[d].through = g_memdup2(flow->dir[d].through, sizeof(mx_through));
    }
    g_array_append_val(feed->finished, copy);
}

static void feed_session(mx_session *s, void *ctx)
{
    pb_feed *feed = ctx;
    g_ptr_array_add(feed->sessions, s);
}

void pb_feed_init(pb_feed *feed, const uint16_t *ports, size_t n_ports, size_t max_flows, bool diagnose)
{
    static const uint16_t smtp = 25;
    *feed = (pb_feed){0};
    if (!ports) {
        ports = &smtp;
        n_ports = 1;
    }
    if (diagnose) {
        feed->an = mx_read_analyzer_new(ports, n_ports, max_flows, feed_session, feed);
    } else {
        feed->table = mx_flow_table_new(ports, n_ports, max_flows, feed_finished, feed);
    }
    feed->finished = g_array_new(FALSE, TRUE, sizeof(mx_flow));
    feed->sessions = g_ptr_array_new_with_free_func((GDestroyNotify)mx_session_free);
}

void pb_feed_clear(pb_feed *feed)
{
    mx_flow_table_free(feed->table);
    mx_analyzer_free(feed->an);
    for (guint i = 0; i < feed->finished->len; i++) {
        mx_flow *f = &g_array_index(feed->finished, mx_flow, i);
        g_free(f->syn);
        for (int d = 0; d < 2; d++) {
            g_free(f->dir[d].inflight);
            g_free(f->dir[d].through);
        }
    }
    g_array_free(feed->finished, TRUE);
    g_ptr_array_free(feed->sessions, TRUE);
    *feed = (pb_feed){0};
}

mx_flow *pb_feed_frame(pb_feed *feed, const pb_frame *f, int64_t ts_us)
{
    mx_packet *pkt = &feed->last;
    pkt->frame = ++feed->frames;
    pkt->file_index = 0;
    pkt->ts_us = ts_us;
    mx_decode(f->dlt, f->data, f->len, f->len, pkt);
    if (pkt->skip != MX_SKIP_NONE)
        feed->skipped++;
    if (feed->an) {
        mx_raw_frame raw = pb_raw_frame(f, ts_us, feed->frames);
        mx_analyzer_frame(feed->an, &raw);
        return NULL;
    }
    return pkt->skip != MX_SKIP_NONE ? NULL : mx_flow_table_packet(feed->table, pkt);
}

void pb_feed_emit(void *ctx, const pb_frame *f, int64_t ts_us)
{
    pb_feed_frame(ctx, f, ts_us);
}

void pb_feed_finish(pb_feed *feed)
{
    if (feed->an)
        mx_analyzer_finish(feed->an);
    else
        mx_flow_table_finish_all(feed->table);
}

mx_raw_frame pb_raw_frame(const pb_frame *f, int64_t ts_us, uint64_t frame)
{
    mx_raw_frame raw = { .data = f->data, .caplen = f->len, .wirelen = f->len, .ts_us = ts_us,
                         .frame = frame, .dlt = f->dlt };
    return raw;
}

mx_session *pb_feed_session(pb_feed *feed, guint i)
{
    g_assert_cmpuint(i, <, feed->sessions->len);
    return g_ptr_array_index(feed->sessions, i);
}

void pb_decode(const pb_frame *f, mx_packet *pkt)
{
    memset(pkt, 0, sizeof *pkt);
    pkt->frame = 1;
    mx_decode(f->dlt, f->data, f->len, f->len, pkt);
}
