/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-ladder.c — TTL-limited SYNs out with libnet, their answers in with libpcap.
 *
 * Each probe carries its number in the TCP sequence number (base + n), so
 * every kind of answer names the probe it answers: an ICMP error quotes
 * the SYN's sequence number (RFC 792: IP header + 8 bytes), a SYN-ACK or
 * RST acknowledges it (ack = seq + 1).  All probes share one source port,
 * held by a bound socket so that no other connection of this host takes
 * it meanwhile.  The kernel itself answers a SYN-ACK to that port with a
 * RST (no socket is connected on it), which is what we want anyway: the
 * server's half-open connection is closed at once.  We send our own RST
 * too, in case a host firewall swallows the kernel's.  Neither confuses
 * the ladder: the capture only takes packets addressed to us.
 */
#include "probe-ladder.h"
#include "probe-capture.h"
#include "decode.h"

#include <errno.h>
#include <libnet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct sent_probe {
    guint step;                  /* index into the ladder's steps */
    guint slot;                  /* index into that step's replies */
    int64_t sent_us;             /* wall clock, as pcap timestamps are */
} sent_probe;

typedef struct ladder_run {
    const mx_ladder_config *cfg;
    mx_probe_ladder *out;
    libnet_t *net;
    mx_probe_capture *cap;
    uint32_t seq_base;
    uint16_t ip_id_base;
    GArray *sent;                /* of sent_probe, indexed by probe number */
    guint answered_in_step;      /* answers to the step being waited on */
    guint current_step;
} ladder_run;

bool mx_probe_check_rights(GError **error)
{
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        if (errno == EPERM || errno == EACCES)
            g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_RIGHTS,
                        "no permission to open a raw socket: the probe sends raw TCP SYNs and captures their "
                        "answers, so it needs root or CAP_NET_RAW (e.g. setcap cap_net_raw+ep on the mxray binary)");
        else
            g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "raw socket: %s", g_strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

static struct libnet_in6_addr in6(const mx_addr *a)
{
    struct libnet_in6_addr x;
    memcpy(&x, a->bytes, sizeof x);
    return x;
}

static uint32_t in4(const mx_addr *a)
{
    uint32_t x;
    memcpy(&x, a->bytes, 4);     /* network order, as libnet wants it */
    return x;
}

/* Builds and sends one TCP segment with the IP header around it. */
static bool send_tcp(ladder_run *run, uint8_t ttl, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t ip_id)
{
    const mx_ladder_config *cfg = run->cfg;
    libnet_clear_packet(run->net);
    if (libnet_build_tcp(cfg->sport, cfg->dport, seq, ack, flags, flags & TH_SYN ? 65535 : 0, 0, 0,
                         LIBNET_TCP_H, NULL, 0, run->net, 0) < 0)
        return false;
    libnet_ptag_t ip;
    if (cfg->target.family == 4)
        ip = libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H, 0, ip_id, 0, ttl, IPPROTO_TCP, 0,
                               in4(&cfg->source), in4(&cfg->target), NULL, 0, run->net, 0);
    else
        ip = libnet_build_ipv6(0, 0, LIBNET_TCP_H, IPPROTO_TCP, ttl, in6(&cfg->source), in6(&cfg->target),
                               NULL, 0, run->net, 0);
    return ip >= 0 && libnet_write(run->net) >= 0;
}

static mx_probe_reply *slot_of(ladder_run *run, uint32_t probe)
{
    if (probe >= run->sent->len)
        return NULL;
    const sent_probe *sp = &g_array_index(run->sent, sent_probe, probe);
    mx_probe_step *st = &g_array_index(run->out->steps, mx_probe_step, sp->step);
    return &g_array_index(st->replies, mx_probe_reply, sp->slot);
}

static void record(ladder_run *run, uint32_t probe, mx_probe_reply_type type, const mx_packet *pkt,
                   const struct pcap_pkthdr *hdr)
{
    mx_probe_reply *r = slot_of(run, probe);
    if (!r || r->type != MX_PROBE_NONE)
        return;                  /* not ours, or a duplicate: the first answer counts */
    const sent_probe *sp = &g_array_index(run->sent, sent_probe, probe);
    int64_t ts = (int64_t)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec;
    int64_t rtt = ts - sp->sent_us;
    r->type = type;
    r->ip = pkt->src;
    r->code = type == MX_PROBE_TIME_EXCEEDED || type == MX_PROBE_UNREACHABLE ? pkt->icmp_code : -1;
    r->rtt_ms = (double)(rtt > 0 ? rtt : 0) / 1000.0;
    r->reply_ttl = pkt->ttl;
    r->ts_us = ts;
    if (sp->step == run->current_step)
        run->answered_in_step++;
}

static void on_frame(const struct pcap_pkthdr *hdr, const uint8_t *data, void *ctx)
{
    ladder_run *run = ctx;
    const mx_ladder_config *cfg = run->cfg;
    mx_packet pkt = { .ts_us = (int64_t)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec };
    mx_decode(mx_probe_capture_dlt(run->cap), data, hdr->caplen, hdr->len, &pkt);
    if (pkt.skip != MX_SKIP_NONE || !mx_addr_equal(&pkt.dst, &cfg->source))
        return;

    if (pkt.l4 == MX_L4_TCP) {
        if (!mx_addr_equal(&pkt.src, &cfg->target) || pkt.sport != cfg->dport || pkt.dport != cfg->sport ||
            !(pkt.tcp_flags & MX_TCP_ACK))
            return;
        uint32_t probe = pkt.ack - 1 - run->seq_base;
        if (pkt.tcp_flags & MX_TCP_RST) {
            record(run, probe, MX_PROBE_RST, &pkt, hdr);
        } else if ((pkt.tcp_flags & MX_TCP_SYN) && probe < run->sent->len) {
            record(run, probe, MX_PROBE_SYNACK, &pkt, hdr);
            /* Close the half-open connection (the kernel's RST may be
             * filtered by the host's own firewall). */
            send_tcp(run, 64, pkt.ack, 0, TH_RST, (uint16_t)(run->ip_id_base + probe));
        }
        return;
    }
    if (pkt.l4 != MX_L4_ICMP_ERROR)
        return;
    const mx_quoted *q = &pkt.quoted;
    if (!q->has_ports || !q->has_seq || q->proto != MX_IPPROTO_TCP || q->sport != cfg->sport ||
        q->dport != cfg->dport || !mx_addr_equal(&q->src, &cfg->source) || !mx_addr_equal(&q->dst, &cfg->target))
        return;
    bool v6 = pkt.ip_version == 6;
    mx_probe_reply_type type;
    if (pkt.icmp_type == (v6 ? 3 : 11))
        type = MX_PROBE_TIME_EXCEEDED;
    else if (pkt.icmp_type == (v6 ? 1 : 3))
        type = MX_PROBE_UNREACHABLE;
    else
        return;                  /* source quench, redirect, parameter problem: not an answer */
    record(run, q->seq - run->seq_base, type, &pkt, hdr);
}

/* Answers from the target, or an ICMP unreachable: the ladder has
 * reached as far as it can go. */
static bool ladder_done(const mx_probe_ladder *l)
{
    for (guint i = 0; i < l->steps->len; i++) {
        const mx_probe_step *st = &g_array_index(l->steps, mx_probe_step, i);
        for (guint j = 0; j < st->replies->len; j++) {
            mx_probe_reply_type t = g_array_index(st->replies, mx_probe_reply, j).type;
            if (t == MX_PROBE_SYNACK || t == MX_PROBE_RST || t == MX_PROBE_UNREACHABLE)
                return true;
        }
    }
    return false;
}

static char *capture_filter(const mx_ladder_config *cfg)
{
    char src[MX_ADDR_BUF], dst[MX_ADDR_BUF];
    mx_addr_str(&cfg->source, src, sizeof src);
    mx_addr_str(&cfg->target, dst, sizeof dst);
    /* TCP answers on the probe's port pair, and ICMP errors whose quoted
     * header (right after the 8-byte ICMP header) carries that port pair.
     * The quoted header is our own SYN's: 20 bytes (IPv4, no options) or
     * 40 (IPv6, no extension headers).  on_frame() checks again. */
    if (cfg->target.family == 4)
        return g_strdup_printf("dst host %s and ((tcp and src host %s and src port %u and dst port %u) or "
                               "(icmp and (icmp[0] = 11 or icmp[0] = 3) and icmp[28:2] = %u and icmp[30:2] = %u))",
                               src, dst, cfg->dport, cfg->sport, cfg->sport, cfg->dport);
    return g_strdup_printf("dst host %s and ((tcp and src host %s and src port %u and dst port %u) or "
                           "(icmp6 and (ip6[40] = 3 or ip6[40] = 1) and ip6[88:2] = %u and ip6[90:2] = %u))",
                           src, dst, cfg->dport, cfg->sport, cfg->sport, cfg->dport);
}

static bool step_silent(const mx_probe_step *st)
{
    for (guint j = 0; j < st->replies->len; j++)
        if (g_array_index(st->replies, mx_probe_reply, j).type != MX_PROBE_NONE)
            return false;
    return true;
}

bool mx_probe_ladder_run(const mx_ladder_config *cfg, mx_probe_ladder *out, GError **error)
{
    char errbuf[LIBNET_ERRBUF_SIZE] = "";
    ladder_run run = { .cfg = cfg, .out = out };
    out->target = cfg->target;
    out->source = cfg->source;
    out->sport = cfg->sport;
    out->dport = cfg->dport;
    out->max_ttl = cfg->max_ttl;

    run.net = libnet_init(cfg->target.family == 4 ? LIBNET_RAW4 : LIBNET_RAW6, cfg->iface, errbuf);
    if (!run.net) {
        bool perm = strstr(errbuf, "ermission") || strstr(errbuf, "not permitted");
        g_set_error(error, MX_PROBE_ERROR, perm ? MX_PROBE_ERROR_RIGHTS : MX_PROBE_ERROR_SETUP,
                    "libnet: %s", g_strchomp(errbuf));
        return false;
    }
    g_autofree char *filter = capture_filter(cfg);
    run.cap = mx_probe_capture_open(cfg->iface, MX_PROBE_LADDER_SNAPLEN, filter, true, on_frame, &run, error);
    if (!run.cap) {
        libnet_destroy(run.net);
        return false;
    }
    run.seq_base = g_random_int();
    run.ip_id_base = (uint16_t)g_random_int();
    run.sent = g_array_new(FALSE, FALSE, sizeof(sent_probe));

    int64_t start = g_get_monotonic_time();
    int64_t budget_end = start + MX_PROBE_LADDER_BUDGET_US;
    int64_t next_send = start;
    int64_t wait_us = (int64_t)(cfg->wait_s * 1e6);
    int silent_steps = 0;
    bool ok = true;
    for (int ttl = 1; ttl <= cfg->max_ttl; ttl++) {
        mx_probe_ladder_add_step(out, ttl, (guint)cfg->per_hop);
        run.current_step = out->steps->len - 1;
        run.answered_in_step = 0;
        for (int k = 0; k < cfg->per_hop; k++) {
            /* Rate limit: answers keep being read while we pace. */
            mx_probe_capture_pump(run.cap, next_send, -1, 0);
            uint32_t probe = run.sent->len;
            sent_probe sp = { .step = run.current_step, .slot = (guint)k, .sent_us = g_get_real_time() };
            g_array_append_val(run.sent, sp);
            if (!send_tcp(&run, (uint8_t)ttl, run.seq_base + probe, 0, TH_SYN, (uint16_t)(run.ip_id_base + probe))) {
                g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "sending a probe: %s",
                            libnet_geterror(run.net));
                ok = false;
                goto out;
            }
            next_send = g_get_monotonic_time() + MX_PROBE_INTERVAL_US;
        }
        /* Wait for this step's answers: all of them, or the wait. */
        int64_t step_end = MIN(g_get_monotonic_time() + wait_us, budget_end);
        while (run.answered_in_step < (guint)cfg->per_hop && g_get_monotonic_time() < step_end)
            mx_probe_capture_pump(run.cap, MIN(step_end, g_get_monotonic_time() + 20000), -1, 0);
        if (ladder_done(out))
            break;
        silent_steps = step_silent(&g_array_index(out->steps, mx_probe_step, run.current_step)) ? silent_steps + 1 : 0;
        if (silent_steps >= MX_PROBE_GAP_LIMIT) {
            out->stopped_by_gap = true;
            break;
        }
        if (g_get_monotonic_time() >= budget_end) {
            out->stopped_by_budget = true;
            break;
        }
    }
out:
    g_array_free(run.sent, TRUE);
    mx_probe_capture_close(run.cap);
    libnet_destroy(run.net);
    return ok;
}
