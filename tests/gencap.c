/* SPDX-License-Identifier: BSD-3-Clause */
/* gencap.c — writes deterministic captures, one per failure story, for the pcap regression test.
 *
 * Usage: gencap DIR [NAME...]   writes DIR/NAME.pcap for every scenario (or those named)
 *        gencap --list          prints the scenario names
 *
 * Fixed timestamps (from PB_EPOCH_US), fixed ISNs and IP IDs: the same
 * bytes on every run, so tests/golden/NAME.json can hold mxray's expected
 * output.  Each scenario's comment says what the capture was built to show;
 * the golden file is reviewed against that comment, not against mxray.
 *
 * Addresses (DESIGN.md test ranges): gateway 198.51.100.10 / 2001:db8:1::10,
 * MX hosts in 203.0.113.0/24 / 2001:db8:2::/64, routers in 198.18.0.0/15.
 * The capture point is the gateway: its packets show TTL 64, the server's
 * TTL 62 (a 64-TTL stack behind two routers: hop 3).
 */
#include "pktbuild.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#define GATEWAY "198.51.100.10"
#define GATEWAY6 "2001:db8:1::10"
#define MX "203.0.113.25"
#define MX6 "2001:db8:2::25"
#define ROUTER1 "198.51.100.1"   /* the gateway's own router: hop 1 */
#define ROUTER2 "198.18.0.2"     /* the next one: hop 2 */

typedef struct capture {
    pb_pcap *pcap;
    int64_t epoch_us;        /* time 0 of the scenario */
} capture;

static void capture_emit(void *ctx, const pb_frame *f, int64_t ts_us)
{
    capture *cap = ctx;
    pb_pcap_write(cap->pcap, f->data, f->len, cap->epoch_us + ts_us);
}

/* From MAIL at t on: MAIL, RCPT, DATA, body, final dot, 250, QUIT, 221,
 * then both FINs. */
static void smtp_transaction(pb_conv *c, int64_t t)
{
    const int64_t rtt = PB_MS(20);
    pb_conv_exchange(c, t, "MAIL FROM:<alice@example.org> SIZE=89\r\n", "250 2.1.0 Ok\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "RCPT TO:<bob@example.net>\r\n", "250 2.1.5 Ok\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "From: <alice@example.org>\r\nTo: <bob@example.net>\r\nSubject: test\r\n\r\nHello.\r\n.\r\n",
                     "250 2.0.0 Ok: queued as 4SZx1H3abcz\r\n", PB_MS(45));
    t += PB_MS(60);
    pb_conv_exchange(c, t, "QUIT\r\n", "221 2.0.0 Bye\r\n", rtt);
    t += PB_MS(25);
    pb_conv_fin(c, PB_S2C, t);
    pb_conv_fin(c, PB_C2S, t + PB_MS(1));
    pb_conv_ack(c, PB_S2C, t + PB_MS(21));
}

/* A full, clean SMTP delivery starting at t0: greeting, EHLO, then
 * smtp_transaction. */
static void smtp_delivery(pb_conv *c, int64_t t0)
{
    const int64_t rtt = PB_MS(20);
    pb_conv_handshake(c, t0, rtt);
    int64_t t = t0 + PB_MS(40);
    pb_conv_exchange(c, t, NULL, "220 mx.example.net ESMTP Postfix\r\n", 0);
    t += PB_MS(10);
    pb_conv_exchange(c, t, "EHLO gw.example.org\r\n",
                     "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n"
                     "250 SMTPUTF8\r\n", rtt);
    smtp_transaction(c, t + PB_MS(30));
}

/* A short delivery whose every segment fits in 42 bytes of payload but the
 * EHLO reply and the greeting (for gen-snaplen). */
static void smtp_delivery_short(pb_conv *c, int64_t t0)
{
    const int64_t rtt = PB_MS(20);
    pb_conv_handshake(c, t0, rtt);
    int64_t t = t0 + PB_MS(40);
    pb_conv_exchange(c, t, NULL, "220 mx.example.net ESMTP Postfix (Debian/GNU)\r\n", 0);
    t += PB_MS(10);
    pb_conv_exchange(c, t, "EHLO gw.example.org\r\n",
                     "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "MAIL FROM:<a@example.org>\r\n", "250 2.1.0 Ok\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "RCPT TO:<b@example.net>\r\n", "250 2.1.5 Ok\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "DATA\r\n", "354 Go ahead\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "Subject: t\r\n\r\nhi\r\n.\r\n", "250 2.0.0 Ok: queued\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(c, t, "QUIT\r\n", "221 2.0.0 Bye\r\n", rtt);
    t += PB_MS(25);
    pb_conv_fin(c, PB_S2C, t);
    pb_conv_fin(c, PB_C2S, t + PB_MS(1));
    pb_conv_ack(c, PB_S2C, t + PB_MS(21));
}

static void conv(pb_conv *c, capture *cap, pb_link link, const char *client, uint16_t cport, const char *server)
{
    pb_conv_init(c, link, client, cport, server, 25, 0x1a2b3c4d, 0x5e6f7081, capture_emit, cap);
}

/* ---- scenarios ---------------------------------------------------------- */

/* Classic Linux backoff (tcp_syn_retries, tcp_syn_linear_timeouts = 0):
 * SYNs at 0, 1, 3, 7, 15 s, nothing back.  Expect syn_timeout, path,
 * "450 4.4.1 Connection timed out", evidence frames 1 and 5. */
static void gen_syn_timeout_linux(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40001, MX);
    static const int secs[] = { 0, 1, 3, 7, 15 };
    for (size_t i = 0; i < G_N_ELEMENTS(secs); i++)
        pb_conv_syn(&c, PB_S(secs[i]));
}

/* Linux >= 6.5 (tcp_syn_linear_timeouts): IPv6 SYNs 1 s apart, 0-4 s. */
static void gen_syn_timeout_flat(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY6, 40002, MX6);
    for (int i = 0; i <= 4; i++)
        pb_conv_syn(&c, PB_S(i));
}

/* The server's host answers the SYN with RST|ACK at its own distance
 * (TTL 62: hop 3): connect_refused, server. */
static void gen_refused(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40003, MX);
    pb_conv_syn(&c, 0);
    pb_conv_rst(&c, PB_S2C, PB_MS(21), 0);
}

/* A firewall two hops out (TTL 63: hop 2) rejects with ICMP 3/13
 * communication administratively prohibited, quoting the SYN. */
static void gen_icmp_admin(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40004, MX);
    pb_conv_syn(&c, 0);
    pb_conv_icmp(&c, PB_MS(2), ROUTER2, 63, 3, 13);
}

/* The gateway's own router (TTL 64: hop 1) has no route: ICMP 3/0. */
static void gen_icmp_net(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40005, MX);
    pb_conv_syn(&c, 0);
    pb_conv_icmp(&c, 400, ROUTER1, 64, 3, 0);
}

/* The server's last router (hop 2) tries ARP for 3 s, then answers ICMP
 * 3/1 host unreachable; the SYN was retransmitted once at 1 s meanwhile.
 * Expect icmp_unreachable, role server (down or gone), confidence medium. */
static void gen_host_unreach_arp(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40006, MX);
    pb_conv_syn(&c, 0);
    pb_conv_syn(&c, PB_S(1));
    pb_conv_icmp(&c, PB_MS(3050), ROUTER2, 63, 3, 1);
}

/* A delivery with nothing wrong: outcome delivered, kind ok. */
static void gen_clean_delivery(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40007, MX);
    smtp_delivery(&c, 0);
}

/* Two clean deliveries on a trunk: the first tagged 802.1Q, the second
 * 802.1ad + 802.1Q (QinQ).  Both delivered. */
static void gen_vlan_qinq(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_VLAN, GATEWAY, 40008, MX);
    smtp_delivery(&c, 0);
    conv(&c, cap, PB_LINK_QINQ, GATEWAY, 40009, "203.0.113.26");
    smtp_delivery(&c, PB_S(2));
}

/* tcpdump -i any with libpcap >= 1.10: Linux cooked v2; a clean delivery
 * over IPv4 and one over IPv6. */
static void gen_sll2(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_SLL2, GATEWAY, 40010, MX);
    smtp_delivery(&c, 0);
    conv(&c, cap, PB_LINK_SLL2, GATEWAY6, 40011, MX6);
    smtp_delivery(&c, PB_S(2));
}

/* The capture starts after the handshake and greeting, at MAIL FROM; the
 * message is delivered and the session closed cleanly.  Expect delivered
 * (what the capture shows decides it), history without S/h. */
static void gen_midsession(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40012, MX);
    const int64_t rtt = PB_MS(20);
    /* Sequence numbers as if handshake, greeting and EHLO had happened. */
    c.syn_sent[PB_C2S] = c.syn_sent[PB_S2C] = true;
    c.next_seq[PB_C2S] = c.isn[PB_C2S] + 1 + 21;     /* "EHLO gw.example.org\r\n" */
    c.next_seq[PB_S2C] = c.isn[PB_S2C] + 1 + 200;    /* greeting + EHLO reply */
    int64_t t = PB_S(10);
    pb_conv_exchange(&c, t, "MAIL FROM:<alice@example.org>\r\n", "250 2.1.0 Ok\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(&c, t, "RCPT TO:<bob@example.net>\r\n", "250 2.1.5 Ok\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(&c, t, "DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(&c, t, "Subject: mid\r\n\r\nHello.\r\n.\r\n", "250 2.0.0 Ok: queued as 4SZx1H3abcz\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(&c, t, "QUIT\r\n", "221 2.0.0 Bye\r\n", rtt);
    t += PB_MS(25);
    pb_conv_fin(&c, PB_S2C, t);
    pb_conv_fin(&c, PB_C2S, t + PB_MS(1));
    pb_conv_ack(&c, PB_S2C, t + PB_MS(21));
}

/* tcpdump -s 96: 42 bytes of TCP payload kept per frame.  The greeting and
 * the EHLO reply are cut; every other line fits.  Expect delivered, and
 * stats.truncated = the frames cut (greeting, EHLO reply). */
static void gen_snaplen(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40013, MX);
    smtp_delivery_short(&c, 0);
}

/* An inspecting firewall at hop 2 resets the session after MAIL FROM in
 * the server's name: the server's SYN-ACK and replies arrive with TTL 62
 * (hop 3), the RST with TTL 63 (hop 2).  Expect reset, phase mail,
 * role firewall, hops 2, warning forged_packet. */
static void gen_forged_rst(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40014, MX);
    const int64_t rtt = PB_MS(20);
    pb_conv_handshake(&c, 0, rtt);
    int64_t t = PB_MS(40);
    pb_conv_exchange(&c, t, NULL, "220 mx.example.net ESMTP Postfix\r\n", 0);
    t += PB_MS(10);
    pb_conv_exchange(&c, t, "EHLO gw.example.org\r\n", "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n", rtt);
    t += PB_MS(30);
    pb_conv_send(&c, PB_C2S, t, "MAIL FROM:<alice@example.org>\r\n");
    pb_conv_rst(&c, PB_S2C, t + PB_MS(2), 63);
}

/* A 5,038-byte greeting with no CRLF (crafted: no MTA sends one): the
 * EHLO's one-line reply ends that line, so the next reply, AUTH LOGIN's
 * 334 challenge, would pair with EHLO.  The session goes on to 235, 250
 * queued and 221: expect delivered, never ehlo_rejected, and a confidence
 * below high (the pairing is uncertain from the overlong line on). */
static void gen_greeting_no_crlf(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40015, MX);
    const int64_t rtt = PB_MS(20);
    pb_conv_handshake(&c, 0, rtt);
    int64_t t = PB_MS(40);
    /* 220 + banner, 5,038 bytes in four segments, no line end. */
    static char banner[5039];
    memset(banner, 'x', sizeof banner - 1);
    memcpy(banner, "220 mx.example.net ESMTP ", 25);
    for (int i = 0; i < 4; i++) {
        char seg[1449];
        size_t off = (size_t)i * 1448, n = 5038 - off < 1448 ? 5038 - off : 1448;
        memcpy(seg, banner + off, n);
        seg[n] = '\0';
        pb_conv_send(&c, PB_S2C, t + i * 10, seg);
    }
    pb_conv_ack(&c, PB_C2S, t + 100);
    t += PB_MS(10);
    pb_conv_exchange(&c, t, "EHLO gw.example.org\r\n", "250 mx.example.net\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(&c, t, "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(&c, t, "Z3c=\r\n", "334 UGFzc3dvcmQ6\r\n", rtt);
    t += PB_MS(30);
    pb_conv_exchange(&c, t, "c2VjcmV0\r\n", "235 2.7.0 Authentication successful\r\n", rtt);
    smtp_transaction(&c, t + PB_MS(30));
}

/* Three sessions to three MX hosts (for BPF filters and rotated files):
 * 203.0.113.25 delivers, 203.0.113.9 drops SYNs, 203.0.113.30 refuses. */
static void gen_multi(capture *cap)
{
    pb_conv a, b, r;
    conv(&a, cap, PB_LINK_ETH, GATEWAY, 40020, MX);
    conv(&b, cap, PB_LINK_ETH, GATEWAY, 40021, "203.0.113.9");
    conv(&r, cap, PB_LINK_ETH, GATEWAY, 40022, "203.0.113.30");
    pb_conv_syn(&b, 0);
    smtp_delivery(&a, PB_MS(100));
    pb_conv_syn(&b, PB_S(1));
    pb_conv_syn(&r, PB_MS(1500));
    pb_conv_rst(&r, PB_S2C, PB_MS(1520), 0);
    pb_conv_syn(&b, PB_S(3));
    pb_conv_syn(&b, PB_S(7));
}

/* A clean delivery through an 802.1BR port extender: every frame carries
 * an E-Tag (0x893f) before its 802.1Q tag.  Delivered, nothing skipped. */
static void gen_etag(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETAG, GATEWAY, 40030, MX);
    smtp_delivery(&c, 0);
}

/* A clean delivery on 2038-08-01, past the signed 32-bit seconds: pcap's
 * seconds are unsigned, libpcap hands them on negative.  Delivered, dated
 * 2038 (scenario epoch below). */
static void gen_2038(capture *cap)
{
    pb_conv c;
    conv(&c, cap, PB_LINK_ETH, GATEWAY, 40031, MX);
    smtp_delivery(&c, 0);
}

typedef struct scenario {
    const char *name;
    pb_link link;            /* the file's link type */
    uint32_t snaplen;
    void (*write)(capture *cap);
    int64_t epoch_us;        /* 0: PB_EPOCH_US */
} scenario;

static const scenario scenarios[] = {
    { "gen-syn-timeout-linux", PB_LINK_ETH, 0, gen_syn_timeout_linux, 0 },
    { "gen-syn-timeout-flat", PB_LINK_ETH, 0, gen_syn_timeout_flat, 0 },
    { "gen-refused", PB_LINK_ETH, 0, gen_refused, 0 },
    { "gen-icmp-admin", PB_LINK_ETH, 0, gen_icmp_admin, 0 },
    { "gen-icmp-net", PB_LINK_ETH, 0, gen_icmp_net, 0 },
    { "gen-host-unreach-arp", PB_LINK_ETH, 0, gen_host_unreach_arp, 0 },
    { "gen-clean-delivery", PB_LINK_ETH, 0, gen_clean_delivery, 0 },
    { "gen-vlan-qinq", PB_LINK_ETH, 0, gen_vlan_qinq, 0 },
    { "gen-sll2", PB_LINK_SLL2, 0, gen_sll2, 0 },
    { "gen-midsession", PB_LINK_ETH, 0, gen_midsession, 0 },
    { "gen-snaplen", PB_LINK_ETH, 96, gen_snaplen, 0 },
    { "gen-forged-rst", PB_LINK_ETH, 0, gen_forged_rst, 0 },
    { "gen-multi", PB_LINK_ETH, 0, gen_multi, 0 },
    { "gen-etag", PB_LINK_ETH, 0, gen_etag, 0 },
    { "gen-2038", PB_LINK_ETH, 0, gen_2038, 2164233600LL * 1000000 },   /* 2038-08-01T00:00:00Z */
    { "gen-greeting-no-crlf", PB_LINK_ETH, 0, gen_greeting_no_crlf, 0 },
};

static bool write_one(const char *dir, const scenario *s)
{
    g_autofree char *path = g_strdup_printf("%s/%s.pcap", dir, s->name);
    capture cap = { pb_pcap_open(path, pb_link_dlt(s->link), s->snaplen), s->epoch_us ? s->epoch_us : PB_EPOCH_US };
    if (cap.pcap == NULL)
        return false;
    s->write(&cap);
    pb_pcap_close(cap.pcap);
    return true;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < G_N_ELEMENTS(scenarios); i++)
            printf("%s\n", scenarios[i].name);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: gencap DIR [NAME...] | gencap --list\n");
        return 2;
    }
    if (g_mkdir_with_parents(argv[1], 0755) != 0) {
        fprintf(stderr, "gencap: %s: %s\n", argv[1], g_strerror(errno));
        return 2;
    }
    int status = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(scenarios); i++) {
        bool wanted = argc == 2;
        for (int a = 2; a < argc && !wanted; a++)
            wanted = strcmp(argv[a], scenarios[i].name) == 0;
        if (wanted && !write_one(argv[1], &scenarios[i]))
            status = 1;
    }
    for (int a = 2; a < argc; a++) {
        bool known = false;
        for (size_t i = 0; i < G_N_ELEMENTS(scenarios); i++)
            known = known || strcmp(argv[a], scenarios[i].name) == 0;
        if (!known) {
            fprintf(stderr, "gencap: no scenario '%s' (--list)\n", argv[a]);
            status = 2;
        }
    }
    return status;
}
