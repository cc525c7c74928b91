/* SPDX-License-Identifier: BSD-3-Clause */
/* test-diagnose-smtp.c — /diagnose-smtp/...: SMTP-phase rules over hand-built flows.
 *
 * One table: a script that plays a session into a zeroed mx_flow (TCP
 * fields set as flow.c would) and its SMTP state, and the verdict it must
 * give.  Client 198.51.100.7, server 203.0.113.9; SYN frame 1, SYN-ACK 2,
 * ACK 3 (at 0.02 s); every server segment ACKs all client data so far.
 */
#include <glib.h>
#include <string.h>

#include "diagnose-smtp.h"
#include "flow.h"
#include "smtp.h"
#include "verdict.h"

#define C_ISN 1000u
#define S_ISN 5000u

typedef struct dfx {
    mx_flow f;
    uint64_t off[2];
    /* What the flow table allocates as packets come (flow.h). */
    mx_frame_ref syn[MX_SYN_TIMES_MAX];
    mx_inflight inflight[MX_INFLIGHT_RING];
    mx_through through;
} dfx;

static mx_frame_ref at(uint64_t frame, double t)
{
    mx_frame_ref r = { frame, 0, (int64_t)(t * 1e6) };
    return r;
}

static void seen(dfx *d, uint64_t frame, double t)
{
    d->f.last_frame = at(frame, t);
    d->f.last_ts = (int64_t)(t * 1e6);
}

static void send(dfx *d, int dir, const char *text, uint64_t frame, double t)
{
    mx_packet p = { .frame = frame, .ts_us = (int64_t)(t * 1e6) };
    size_t n = strlen(text);
    mx_smtp_data(d->f.smtp, dir, (const uint8_t *)text, n, d->off[dir], &p);
    d->off[dir] += n;
    mx_dir_state *s = &d->f.dir[dir];
    s->seq_end = (dir ? S_ISN : C_ISN) + 1 + (uint32_t)d->off[dir];
    if (s->first_data.frame == 0)
        s->first_data = at(frame, t);
    s->last_data = at(frame, t);
    s->packets++;
    seen(d, frame, t);
}

/* The server acknowledges every client byte so far. */
static void ack_client(dfx *d)
{
    d->f.dir[MX_DIR_S2C].ack_known = true;
    d->f.dir[MX_DIR_S2C].max_ack = C_ISN + 1 + (uint32_t)d->off[MX_DIR_C2S];
}

static void C(dfx *d, const char *text, uint64_t frame, double t) { send(d, MX_DIR_C2S, text, frame, t); }
static void S(dfx *d, const char *text, uint64_t frame, double t)
{
    ack_client(d);
    send(d, MX_DIR_S2C, text, frame, t);
}

static void fin(dfx *d, int dir, uint64_t frame, double t)
{
    d->f.dir[dir].fin = at(frame, t);
    seen(d, frame, t);
}

static void setup(dfx *d)
{
    memset(d, 0, sizeof *d);
    mx_addr_parse("198.51.100.7", &d->f.key.client);
    mx_addr_parse("203.0.113.9", &d->f.key.server);
    d->f.key.client_port = 40000;
    d->f.key.server_port = 25;
    d->f.id = 1;
    d->f.saw_syn = true;
    d->f.syn = d->syn;
    d->f.syn_count = 1;
    d->f.syn[0] = at(1, 0);
    d->f.dir[MX_DIR_C2S].inflight = d->inflight;
    d->f.synack_count = 1;
    d->f.synack = at(2, 0.01);
    d->f.established = at(3, 0.02);
    d->f.first_frame = at(1, 0);
    d->f.first_ts = 0;
    d->f.rtt_us = 20000;
    d->f.dir[MX_DIR_C2S].seq_known = true;
    d->f.dir[MX_DIR_C2S].isn = C_ISN;
    d->f.dir[MX_DIR_C2S].seq_end = C_ISN + 1;
    d->f.dir[MX_DIR_S2C].seq_known = true;
    d->f.dir[MX_DIR_S2C].isn = S_ISN;
    d->f.dir[MX_DIR_S2C].seq_end = S_ISN + 1;
    d->f.dir[MX_DIR_C2S].ack_known = true;
    d->f.dir[MX_DIR_C2S].max_ack = S_ISN + 1;
    d->f.smtp = mx_smtp_new();
    seen(d, 3, 0.02);
}

static void greet_ehlo(dfx *d)
{
    S(d, "220 mx.example.org ESMTP Postfix\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    S(d, "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 6, 0.05);
}

/* ---- scripts ---- */

static void sc_delivered(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n", 7, 0.06);
    S(d, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n", 8, 0.07);
    C(d, "Subject: hi\r\n\r\nhello\r\n.\r\n", 9, 0.08);
    S(d, "250 2.0.0 Ok: queued as 4Xk2\r\n", 10, 0.12);
    C(d, "QUIT\r\n", 11, 0.13);
    S(d, "221 2.0.0 Bye\r\n", 12, 0.14);
    fin(d, MX_DIR_S2C, 13, 0.15);
    fin(d, MX_DIR_C2S, 14, 0.15);
}

static void sc_clean_no_message(dfx *d)
{
    greet_ehlo(d);
    C(d, "QUIT\r\n", 7, 0.06);
    S(d, "221 2.0.0 Bye\r\n", 8, 0.07);
    fin(d, MX_DIR_C2S, 9, 0.08);
}

static void sc_no_greeting_client_gave_up(dfx *d)
{
    ack_client(d);
    fin(d, MX_DIR_C2S, 4, 300.02);
}

static void sc_no_greeting_capture_short(dfx *d)
{
    seen(d, 4, 3.0);
}

static void sc_greeting_421(dfx *d)
{
    S(d, "421 4.7.0 mx.example.org Error: too many connections from 198.51.100.7\r\n", 4, 0.03);
    fin(d, MX_DIR_S2C, 5, 0.03);
    fin(d, MX_DIR_C2S, 6, 0.04);
}

static void sc_greeting_554(dfx *d)
{
    S(d, "554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org\r\n", 4, 0.03);
    C(d, "QUIT\r\n", 5, 0.04);
    S(d, "221 Bye\r\n", 6, 0.05);
}

static void sc_ehlo_unacked(dfx *d)
{
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    /* The EHLO segment is lost: the server's ACK stays at the EHLO's start. */
    d->f.dir[MX_DIR_S2C].max_ack = C_ISN + 1;
    d->f.dir[MX_DIR_C2S].retransmits = 4;
    d->f.dir[MX_DIR_C2S].last_retransmit = at(9, 4.5);
    fin(d, MX_DIR_C2S, 10, 300.04);
}

static void sc_ehlo_acked_unanswered(dfx *d)
{
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    ack_client(d);
    fin(d, MX_DIR_C2S, 6, 300.05);
}

static void sc_ehlo_unanswered_capture_short(dfx *d)
{
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    ack_client(d);
    seen(d, 6, 2.0);
}

static void sc_ehlo_rejected(dfx *d)
{
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO nonexistent.invalid\r\n", 5, 0.04);
    S(d, "554 5.7.1 <nonexistent.invalid>: Helo command rejected: Host not found\r\n", 6, 0.05);
    C(d, "HELO nonexistent.invalid\r\n", 7, 0.06);
    S(d, "554 5.7.1 <nonexistent.invalid>: Helo command rejected: Host not found\r\n", 8, 0.07);
    C(d, "QUIT\r\n", 9, 0.08);
    S(d, "221 Bye\r\n", 10, 0.09);
}

static void sc_masked_delivered(dfx *d)
{
    S(d, "220 ******************************0*0*0**\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    S(d, "500 5.5.1 Command unrecognized: \"XXXX gw.example.com\"\r\n", 6, 0.05);
    C(d, "HELO gw.example.com\r\n", 7, 0.06);
    S(d, "250 ******************\r\n", 8, 0.07);
    C(d, "MAIL FROM:<a@gw.example.com>\r\n", 9, 0.08);
    S(d, "250 ok\r\n", 10, 0.09);
    C(d, "RCPT TO:<b@example.org>\r\n", 11, 0.10);
    S(d, "250 ok\r\n", 12, 0.11);
    C(d, "DATA\r\n", 13, 0.12);
    S(d, "354 go\r\n", 14, 0.13);
    C(d, "hi\r\n.\r\n", 15, 0.14);
    S(d, "250 2.0.0 queued\r\n", 16, 0.15);
}

static void sc_tls_stripped(dfx *d)
{
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    S(d, "250-mx.example.org\r\n250-PIPELINING\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n", 6, 0.05);
    C(d, "QUIT\r\n", 7, 0.06);
    S(d, "221 Bye\r\n", 8, 0.07);
    fin(d, MX_DIR_C2S, 9, 0.08);
}

static void sc_mail_loop_name(dfx *d)
{
    S(d, "220 gw.example.com ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    S(d, "250-gw.example.com\r\n250 PIPELINING\r\n", 6, 0.05);
    C(d, "QUIT\r\n", 7, 0.06);
    S(d, "221 Bye\r\n", 8, 0.07);
}

static void sc_mail_loop_hops(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n", 7, 0.06);
    S(d, "250 ok\r\n250 ok\r\n354 go\r\n", 8, 0.07);
    C(d, "Received: x\r\n\r\nbody\r\n.\r\n", 9, 0.08);
    S(d, "554 5.4.0 Error: too many hops\r\n", 10, 0.09);
    C(d, "QUIT\r\n", 11, 0.10);
    S(d, "221 Bye\r\n", 12, 0.11);
}

static void sc_mail_rejected(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<sender@gw.example.com>\r\n", 7, 0.06);
    S(d, "554 5.7.1 <sender@gw.example.com>: Sender address rejected: Access denied\r\n", 8, 0.07);
    C(d, "QUIT\r\n", 9, 0.08);
    S(d, "221 Bye\r\n", 10, 0.09);
}

static void sc_relay_denied(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\n", 7, 0.06);
    S(d, "250 2.1.0 Ok\r\n", 8, 0.07);
    C(d, "RCPT TO:<user@elsewhere.example.com>\r\n", 9, 0.08);
    S(d, "554 5.7.1 <user@elsewhere.example.com>: Relay access denied\r\n", 10, 0.09);
    C(d, "QUIT\r\n", 11, 0.10);
    S(d, "221 Bye\r\n", 12, 0.11);
}

static void sc_greylisted(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\n", 7, 0.06);
    S(d, "250 2.1.0 Ok\r\n", 8, 0.07);
    C(d, "RCPT TO:<b@example.org>\r\n", 9, 0.08);
    S(d, "450 4.2.0 <b@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/\r\n", 10, 0.09);
    C(d, "QUIT\r\n", 11, 0.10);
    S(d, "221 Bye\r\n", 12, 0.11);
}

/* Postfix pipelines MAIL, RCPT and DATA: the refused recipient is the
 * cause, the DATA refusal that follows only its consequence. */
static void sc_rcpt_refused_pipelined(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n", 7, 0.06);
    S(d, "250 2.1.0 Ok\r\n", 8, 0.07);
    S(d, "450 4.2.0 <b@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/\r\n",
      9, 0.08);
    S(d, "554 5.5.1 Error: no valid recipients\r\n", 10, 0.09);
    C(d, "RSET\r\nQUIT\r\n", 11, 0.10);
    S(d, "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n", 12, 0.11);
}

/* Two recipients, one accepted: DATA goes on, and a DATA refusal then is
 * the server's own decision about the message. */
static void sc_data_refused_one_rcpt_ok(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n", 7,
      0.06);
    S(d, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <c@example.org>: Recipient address rejected: User unknown\r\n"
      "554 5.7.1 Service unavailable\r\n", 8, 0.07);
    C(d, "QUIT\r\n", 9, 0.10);
    S(d, "221 2.0.0 Bye\r\n", 10, 0.11);
}

static void sc_dot_unanswered(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n", 7, 0.06);
    S(d, "250 ok\r\n250 ok\r\n354 go\r\n", 8, 0.07);
    C(d, "Subject: x\r\n\r\nbody\r\n", 9, 0.08);
    C(d, ".\r\n", 10, 0.09);
    ack_client(d);
    fin(d, MX_DIR_C2S, 11, 600.09);
}

static void sc_body_dropped(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n", 7, 0.06);
    S(d, "250 ok\r\n250 ok\r\n354 go\r\n", 8, 0.07);
    C(d, "Subject: x\r\n\r\nfirst part of the body\r\n", 9, 0.08);
    ack_client(d);
    C(d, "second part, never acknowledged\r\n", 10, 0.09);
    mx_dir_state *c = &d->f.dir[MX_DIR_C2S];
    c->retransmits = 5;
    c->last_retransmit = at(15, 6.0);
    c->max_segment = 1448;
    c->max_retransmitted = 1448;
    c->max_acked_segment = 1448;
    fin(d, MX_DIR_C2S, 16, 180.1);
}

/* A 536-byte segment sent after the lost 1448-byte ones was SACKed. */
static void sc_pmtu(dfx *d)
{
    sc_body_dropped(d);
    mx_dir_state *c = &d->f.dir[MX_DIR_C2S];
    c->through = &d->through;
    c->through->len = 536;
    c->through->by_sack = true;
    c->through->seg = at(12, 0.10);
    c->through->ack = at(13, 0.11);
}

/* The same loss, but the 536-byte segment after the lost ones vanished too:
 * a filter stops the flow, no pmtu_blackhole. */
static void sc_all_dropped(dfx *d)
{
    sc_body_dropped(d);
    mx_dir_state *c = &d->f.dir[MX_DIR_C2S];
    uint32_t acked = d->f.dir[MX_DIR_S2C].max_ack;
    c->inflight[0].seq_end = acked + 1448;
    c->inflight[0].len = 1448;
    c->inflight[0].resent = true;
    c->inflight[0].at = at(11, 0.095);
    c->inflight[1].seq_end = acked + 1448 + 536;
    c->inflight[1].len = 536;
    c->inflight[1].at = at(12, 0.10);
}

static void sc_mail_unanswered(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\n", 7, 0.06);
    ack_client(d);
    fin(d, MX_DIR_C2S, 8, 300.06);
}

static void sc_client_abort(dfx *d)
{
    greet_ehlo(d);
    fin(d, MX_DIR_C2S, 7, 0.06);
}

static void sc_slow_greeting(dfx *d)
{
    S(d, "220 mx.example.org ESMTP Postfix\r\n", 4, 10.05);
    C(d, "EHLO gw.example.com\r\n", 5, 10.06);
    S(d, "250 mx.example.org\r\n", 6, 10.07);
    C(d, "QUIT\r\n", 7, 10.08);
    S(d, "221 Bye\r\n", 8, 10.09);
}

static void sc_tls_alert(dfx *d)
{
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    S(d, "250-mx.example.org\r\n250 STARTTLS\r\n", 6, 0.05);
    C(d, "STARTTLS\r\n", 7, 0.06);
    S(d, "220 2.0.0 Ready to start TLS\r\n", 8, 0.07);
    static const uint8_t ch[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00 };
    static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
    mx_packet p = { .frame = 9, .ts_us = 80000 };
    mx_smtp_data(d->f.smtp, 0, ch, sizeof ch, d->off[0], &p);
    d->off[0] += sizeof ch;
    p.frame = 10;
    mx_smtp_data(d->f.smtp, 1, alert, sizeof alert, d->off[1], &p);
    d->off[1] += sizeof alert;
    fin(d, MX_DIR_S2C, 11, 0.09);
    fin(d, MX_DIR_C2S, 12, 0.10);
}

static void raw(dfx *d, int dir, const uint8_t *b, size_t n, uint64_t frame, double t)
{
    mx_packet p = { .frame = frame, .ts_us = (int64_t)(t * 1e6) };
    mx_smtp_data(d->f.smtp, dir, b, n, d->off[dir], &p);
    d->off[dir] += n;
    seen(d, frame, t);
}

/* TLS 1.2 completed, then an encrypted dialogue of four exchanges. */
static void sc_tls_inferred_delivery_dialogue(dfx *d)
{
    static const uint8_t ch[] = { 0x16, 0x03, 0x01, 0x00, 0x01, 0x01 };
    static const uint8_t sh[] = { 0x16, 0x03, 0x03, 0x00, 0x01, 0x02 };
    static const uint8_t ccs_fin[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x16, 0x03, 0x03, 0x00, 0x01, 0xaa };
    static const uint8_t app[] = { 0x17, 0x03, 0x03, 0x00, 0x01, 0xbb };
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\n", 5, 0.04);
    S(d, "250-mx.example.org\r\n250 STARTTLS\r\n", 6, 0.05);
    C(d, "STARTTLS\r\n", 7, 0.06);
    S(d, "220 2.0.0 Ready to start TLS\r\n", 8, 0.07);
    raw(d, 0, ch, sizeof ch, 9, 0.08);
    raw(d, 1, sh, sizeof sh, 10, 0.09);
    raw(d, 0, ccs_fin, sizeof ccs_fin, 11, 0.10);
    raw(d, 1, ccs_fin, sizeof ccs_fin, 12, 0.11);
    for (int i = 0; i < 4; i++) {
        raw(d, 0, app, sizeof app, 13 + 2 * (uint64_t)i, 0.12 + i * 0.02);
        raw(d, 1, app, sizeof app, 14 + 2 * (uint64_t)i, 0.13 + i * 0.02);
    }
}

/* ... then the server FIN, client RST. */
static void sc_tls_inferred_delivery(dfx *d)
{
    sc_tls_inferred_delivery_dialogue(d);
    fin(d, MX_DIR_S2C, 21, 0.30);
    d->f.dir[MX_DIR_C2S].rst = at(22, 0.31);
    seen(d, 22, 0.31);
}

/* The same dialogue, but the client closes with a FIN once the server
 * answered its last record (QUIT), then drops the TLS close with a RST. */
static void sc_tls_client_closes_after_reply(dfx *d)
{
    sc_tls_inferred_delivery_dialogue(d);
    fin(d, MX_DIR_C2S, 21, 0.30);
    d->f.dir[MX_DIR_C2S].rst = at(22, 0.31);
    seen(d, 22, 0.31);
}

/* The client closes while its last record is still unanswered. */
static void sc_tls_client_closes_unanswered(dfx *d)
{
    static const uint8_t app[] = { 0x17, 0x03, 0x03, 0x00, 0x01, 0xbb };
    sc_tls_inferred_delivery_dialogue(d);
    raw(d, 0, app, sizeof app, 21, 0.29);
    fin(d, MX_DIR_C2S, 22, 0.30);
    seen(d, 22, 0.30);
}

/* Implicit TLS (port 465): the client's ClientHello is the first byte of
 * the session; no greeting is ever readable. */
static void sc_implicit_tls(dfx *d)
{
    static const uint8_t ch[] = { 0x16, 0x03, 0x01, 0x00, 0x01, 0x01 };
    static const uint8_t sh[] = { 0x16, 0x03, 0x03, 0x00, 0x01, 0x02 };
    static const uint8_t ccs_fin[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x16, 0x03, 0x03, 0x00, 0x01, 0xaa };
    static const uint8_t app[] = { 0x17, 0x03, 0x03, 0x00, 0x01, 0xbb };
    raw(d, 0, ch, sizeof ch, 4, 0.03);
    raw(d, 1, sh, sizeof sh, 5, 0.04);
    raw(d, 0, ccs_fin, sizeof ccs_fin, 6, 0.05);
    raw(d, 1, ccs_fin, sizeof ccs_fin, 7, 0.06);
    for (int i = 0; i < 4; i++) {
        raw(d, 1, app, sizeof app, 8 + 2 * (uint64_t)i, 0.07 + i * 0.02);
        raw(d, 0, app, sizeof app, 9 + 2 * (uint64_t)i, 0.08 + i * 0.02);
    }
    raw(d, 1, app, sizeof app, 16, 0.16);
    fin(d, MX_DIR_C2S, 17, 0.20);
    seen(d, 17, 0.20);
    g_assert_true(d->f.smtp->tls.implicit);
    g_assert_false(d->f.smtp->greeting.seen);
}

/* A gateway that speaks implicit TLS to a plain-SMTP server: the server's
 * 220 answers the ClientHello in plain text. */
static void sc_implicit_tls_plain_server(dfx *d)
{
    static const uint8_t ch[] = { 0x16, 0x03, 0x01, 0x00, 0x01, 0x01 };
    d->f.key.server_port = 465;
    raw(d, 0, ch, sizeof ch, 4, 0.16);
    S(d, "220 mx.example.org ESMTP Postfix\r\n", 5, 0.17);
    fin(d, MX_DIR_C2S, 6, 0.18);
}

/* The same, but the client was slower than the server's greeting: the 220
 * is in the capture before the ClientHello (seen under load). */
static void sc_implicit_tls_after_greeting(dfx *d)
{
    static const uint8_t ch[] = { 0x16, 0x03, 0x01, 0x00, 0x01, 0x01 };
    d->f.key.server_port = 465;
    S(d, "220 mx.example.org ESMTP Postfix\r\n", 4, 0.03);
    raw(d, 0, ch, sizeof ch, 5, 0.16);
    fin(d, MX_DIR_C2S, 6, 0.18);
    g_assert_true(d->f.smtp->tls.implicit);
}

/* ---- issue 16: verdicts the capture cannot support ---- */

/* Postfix relaying through a loopback content filter: client and server
 * are both 127.0.0.1, and the message is delivered. */
static void sc_loopback_delivered(dfx *d)
{
    mx_addr_parse("127.0.0.1", &d->f.key.client);
    mx_addr_parse("127.0.0.1", &d->f.key.server);
    d->f.key.server_port = 10025;
    sc_delivered(d);
}

/* The EHLO's reply is lost (swallowed by an overlong line); the next
 * reply, AUTH LOGIN's 334, must not count as the EHLO's refusal. */
static void sc_ehlo_then_334(dfx *d)
{
    S(d, "220 mx.example.org ESMTP\r\n", 4, 0.03);
    C(d, "EHLO gw.example.com\r\nAUTH LOGIN\r\n", 5, 0.04);
    S(d, "334 VXNlcm5hbWU6\r\n", 6, 0.05);
    C(d, "dXNlcg==\r\n", 7, 0.06);
    S(d, "334 UGFzc3dvcmQ6\r\n", 8, 0.07);
    C(d, "cGFzcw==\r\n", 9, 0.08);
    S(d, "235 2.7.0 Authentication successful\r\n", 10, 0.09);
    C(d, "QUIT\r\n", 11, 0.10);
    S(d, "221 2.0.0 Bye\r\n", 12, 0.11);
    fin(d, MX_DIR_S2C, 13, 0.12);
    fin(d, MX_DIR_C2S, 14, 0.12);
}

/* TLS delivery closed by the client's FIN, then the server's RST. */
static void sc_tls_client_fin_server_rst(dfx *d)
{
    sc_tls_inferred_delivery_dialogue(d);
    fin(d, MX_DIR_C2S, 21, 0.30);
    d->f.dir[MX_DIR_S2C].rst = at(22, 0.31);
    seen(d, 22, 0.31);
}

/* ... and by the server's FIN, then its RST. */
static void sc_tls_server_fin_then_rst(dfx *d)
{
    sc_tls_inferred_delivery_dialogue(d);
    fin(d, MX_DIR_S2C, 21, 0.30);
    d->f.dir[MX_DIR_S2C].rst = at(22, 0.31);
    seen(d, 22, 0.31);
}

/* Message data in flight, never ACKed nor sent again, then the client's
 * FIN and the capture's end: not "acknowledged everything". */
static void sc_body_in_flight(dfx *d)
{
    greet_ehlo(d);
    C(d, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n", 7, 0.06);
    S(d, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n", 8, 0.07);
    C(d, "Subject: hi\r\n\r\nhello, a first part of the body\r\n", 9, 0.08);
    fin(d, MX_DIR_C2S, 10, 0.09);
}

/* Neither side speaks SMTP: an HTTP request and its answer. */
static void sc_not_smtp(dfx *d)
{
    C(d, "GET / HTTP/1.0\r\n\r\n", 4, 0.03);
    S(d, "HTTP/1.0 400 Bad Request\r\n\r\n", 5, 0.04);
    fin(d, MX_DIR_S2C, 6, 0.05);
    fin(d, MX_DIR_C2S, 7, 0.06);
}

/* No greeting; the client closes after 2 s and the capture ends with its FIN. */
static void sc_capture_ends_at_fin(dfx *d)
{
    C(d, "QUIT\r\n", 4, 1.02);
    fin(d, MX_DIR_C2S, 5, 2.02);
}

/* The server's greeting is on the wire but its payload was cut (snap
 * length): the client waits 5 s, QUITs, closes; the server closes too. */
static void sc_server_payload_cut(dfx *d)
{
    mx_packet p = { .frame = 4, .ts_us = 30000 };
    mx_smtp_gap(d->f.smtp, MX_DIR_S2C, 0, 34, &p);
    d->off[MX_DIR_S2C] = 34;
    d->f.dir[MX_DIR_S2C].first_data = at(4, 0.03);
    d->f.dir[MX_DIR_S2C].payload_bytes = 34;
    C(d, "QUIT\r\n", 5, 5.03);
    fin(d, MX_DIR_C2S, 6, 10.03);
    fin(d, MX_DIR_S2C, 7, 10.04);
}

typedef struct dcase {
    const char *path;
    void (*script)(dfx *);
    const char *outcome, *kind, *phase, *role;
    const char *mta_status;   /* NULL: not checked */
    const char *evidence;     /* frames, sorted, comma-separated */
    const char *warning;      /* a warning that must be present, or NULL */
    const char *text_has;     /* in summary or advice, or NULL */
} dcase;

static const dcase cases[] = {
    { "/diagnose-smtp/delivered", sc_delivered, "delivered", "ok", "none", "none",
      "250 2.0.0 Ok: queued as 4Xk2", "10", NULL, "Delivered 1 message to mx.example.org (203.0.113.9)" },
    { "/diagnose-smtp/ok-no-message", sc_clean_no_message, "ok", "ok", "none", "none", "", "", NULL, "Clean" },
    { "/diagnose-smtp/no-greeting", sc_no_greeting_client_gave_up, "failed", "no_greeting", "greeting", "server",
      "421 4.4.2 Connection timed out while receiving the initial server greeting", "3,4", NULL, "300.0 s" },
    { "/diagnose-smtp/no-greeting-capture-short", sc_no_greeting_capture_short, "incomplete", "incomplete",
      "greeting", "none", NULL, "3", NULL, NULL },
    { "/diagnose-smtp/greeting-421", sc_greeting_421, "rejected", "greeting_rejected", "greeting", "server",
      "421 4.7.0 mx.example.org Error: too many connections from 198.51.100.7", "4", NULL, "concurrency" },
    { "/diagnose-smtp/greeting-554", sc_greeting_554, "rejected", "greeting_rejected", "greeting", "server",
      "554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org", "4", NULL,
      "blocklists" },
    { "/diagnose-smtp/ehlo-unacked", sc_ehlo_unacked, "failed", "ehlo_no_reply", "ehlo", "path",
      "451 4.4.2 no HELO/EHLO response", "5,9,10", NULL, "ehlo_unacked" },
    { "/diagnose-smtp/ehlo-acked-unanswered", sc_ehlo_acked_unanswered, "failed", "ehlo_no_reply", "ehlo", "server",
      "451 4.4.2 no HELO/EHLO response", "5,6", NULL, "Postfix smtp_helo_timeout" },
    { "/diagnose-smtp/ehlo-unanswered-capture-short", sc_ehlo_unanswered_capture_short, "incomplete", "incomplete",
      "ehlo", "none", NULL, "5", NULL, NULL },
    { "/diagnose-smtp/ehlo-rejected", sc_ehlo_rejected, "rejected", "ehlo_rejected", "ehlo", "server",
      "554 5.7.1 <nonexistent.invalid>: Helo command rejected: Host not found", "5,6,7,8", NULL,
      "fully-qualified name that resolves in public DNS" },
    { "/diagnose-smtp/masked-greeting-delivered", sc_masked_delivered, "delivered", "ok", "none", "none",
      "250 2.0.0 queued", "4,6,8,16", "smtp_inspection", NULL },
    { "/diagnose-smtp/tls-stripped", sc_tls_stripped, "failed", "tls_stripped", "ehlo", "firewall", NULL, "6,9",
      "smtp_inspection", "inspect esmtp" },
    { "/diagnose-smtp/mail-loop-name", sc_mail_loop_name, "failed", "mail_loop", "greeting", "dns", NULL, "4,5", NULL,
      "gw.example.com" },
    { "/diagnose-smtp/mail-loop-hops", sc_mail_loop_hops, "rejected", "mail_loop", "data_end", "dns",
      "554 5.4.0 Error: too many hops", "10", NULL, "MX" },
    { "/diagnose-smtp/mail-rejected", sc_mail_rejected, "rejected", "mail_rejected", "mail", "server",
      "554 5.7.1 <sender@gw.example.com>: Sender address rejected: Access denied", "7,8", NULL, NULL },
    { "/diagnose-smtp/relay-denied", sc_relay_denied, "rejected", "rcpt_rejected", "rcpt", "server",
      "554 5.7.1 <user@elsewhere.example.com>: Relay access denied", "9,10", NULL, "MX records" },
    { "/diagnose-smtp/greylisted", sc_greylisted, "rejected", "rcpt_rejected", "rcpt", "server",
      "450 4.2.0 <b@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/",
      "9,10", NULL, "Nothing to fix" },
    { "/diagnose-smtp/rcpt-refused-pipelined", sc_rcpt_refused_pipelined, "rejected", "rcpt_rejected", "rcpt",
      "server", "450 4.2.0 <b@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/",
      "7,9,10", NULL, "Nothing to fix" },
    { "/diagnose-smtp/data-refused-one-rcpt-ok", sc_data_refused_one_rcpt_ok, "rejected", "data_rejected", "data",
      "server", "554 5.7.1 Service unavailable", "7,8", NULL, NULL },
    { "/diagnose-smtp/dot-unanswered", sc_dot_unanswered, "failed", "data_stall", "data_end", "server",
      "421 4.4.2 Connection timed out while sending end of data -- message may be sent more than once", "9,10,11",
      NULL, "smtp_data_done_timeout" },
    { "/diagnose-smtp/body-dropped", sc_body_dropped, "failed", "data_stall", "data", "path", NULL, "9,15,16", NULL,
      "smtp_data_xfer_timeout" },
    { "/diagnose-smtp/pmtu-blackhole", sc_pmtu, "failed", "data_stall", "data", "path", NULL, "9,12,13,15,16",
      "pmtu_blackhole", "MSS" },
    { "/diagnose-smtp/small-segments-dropped-too", sc_all_dropped, "failed", "data_stall", "data", "path", NULL,
      "9,12,15,16", NULL, "not a path MTU problem" },
    { "/diagnose-smtp/mail-unanswered", sc_mail_unanswered, "failed", "reply_timeout", "mail", "server",
      "421 4.4.2 Connection timed out while sending MAIL FROM", "7,8", NULL, "smtp_mail_timeout" },
    { "/diagnose-smtp/client-abort", sc_client_abort, "failed", "client_abort", "mail", "client", NULL, "7", NULL,
      NULL },
    { "/diagnose-smtp/slow-greeting", sc_slow_greeting, "ok", "ok", "none", "none", NULL, "4", "slow_greeting",
      NULL },
    { "/diagnose-smtp/tls-inferred-delivery", sc_tls_inferred_delivery, "delivered", "ok", "none", "none", "", "12",
      NULL, "inferred" },
    { "/diagnose-smtp/tls-client-closes-after-reply", sc_tls_client_closes_after_reply, "delivered", "ok", "none",
      "none", "", "12", NULL, "inferred" },
    { "/diagnose-smtp/tls-client-closes-unanswered", sc_tls_client_closes_unanswered, "failed", "client_abort",
      "tls", "client", NULL, "12,22", NULL, "before the server did" },
    { "/diagnose-smtp/implicit-tls", sc_implicit_tls, "delivered", "ok", "none", "none", "", "7", NULL,
      "inferred" },
    { "/diagnose-smtp/implicit-tls-plain-server", sc_implicit_tls_plain_server, "failed", "tls_failed", "tls",
      "client", NULL, "4,5,6", NULL, "smtp_tls_wrappermode" },
    { "/diagnose-smtp/implicit-tls-after-greeting", sc_implicit_tls_after_greeting, "failed", "tls_failed", "tls",
      "client", NULL, "4,5,6", NULL, "smtp_tls_wrappermode" },
    { "/diagnose-smtp/tls-alert", sc_tls_alert, "failed", "tls_failed", "tls", "server", NULL, "8,9,10,12", NULL,
      "alert 40" },
    { "/diagnose-smtp/loopback-delivered", sc_loopback_delivered, "delivered", "ok", "none", "none",
      "250 2.0.0 Ok: queued as 4Xk2", "10", NULL, NULL },
    { "/diagnose-smtp/ehlo-then-334", sc_ehlo_then_334, "ok", "ok", "none", "none", NULL, "6", NULL, NULL },
    { "/diagnose-smtp/tls-client-fin-server-rst", sc_tls_client_fin_server_rst, "delivered", "ok", "none", "none",
      "", "12", NULL, "inferred" },
    { "/diagnose-smtp/tls-server-fin-then-rst", sc_tls_server_fin_then_rst, "delivered", "ok", "none", "none",
      "", "12", NULL, "inferred" },
    { "/diagnose-smtp/body-in-flight", sc_body_in_flight, "incomplete", "incomplete", "data", "none", NULL, "9",
      NULL, "not yet acknowledged" },
    { "/diagnose-smtp/not-smtp", sc_not_smtp, "incomplete", "incomplete", "greeting", "none", NULL, "4,5", NULL,
      "Not SMTP" },
    { "/diagnose-smtp/capture-ends-at-fin", sc_capture_ends_at_fin, "incomplete", "incomplete", "greeting", "none",
      NULL, "3,5", NULL, "the capture ended too soon" },
    { "/diagnose-smtp/server-payload-cut", sc_server_payload_cut, "incomplete", "incomplete", "greeting", "none",
      NULL, "4,6", NULL, "Payload not captured" },
};

static char *frames_of(const mx_verdict *v)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(guint64));
    for (guint i = 0; i < v->evidence->len; i++)
        g_array_append_val(a, g_array_index(v->evidence, mx_evidence, i).at.frame);
    for (guint i = 1; i < a->len; i++)
        for (guint j = i; j > 0 && g_array_index(a, guint64, j - 1) > g_array_index(a, guint64, j); j--) {
            guint64 t = g_array_index(a, guint64, j);
            g_array_index(a, guint64, j) = g_array_index(a, guint64, j - 1);
            g_array_index(a, guint64, j - 1) = t;
        }
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < a->len; i++)
        g_string_append_printf(g, "%s%" G_GUINT64_FORMAT, i ? "," : "", g_array_index(a, guint64, i));
    g_array_free(a, TRUE);
    return g_string_free(g, FALSE);
}

static bool verdict_mentions(const mx_verdict *v, const char *needle)
{
    if (strstr(v->summary->str, needle) || strstr(v->advice->str, needle))
        return true;
    for (guint i = 0; i < v->evidence->len; i++)
        if (strstr(g_array_index(v->evidence, mx_evidence, i).fact, needle))
            return true;
    for (guint i = 0; i < v->warnings->len; i++)
        if (strstr(g_array_index(v->warnings, mx_warning, i).detail, needle))
            return true;
    return false;
}

static void no_control_chars(const char *s)
{
    for (; *s; s++)
        g_assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
}

static void test_case(gconstpointer data)
{
    const dcase *c = data;
    dfx d;
    setup(&d);
    c->script(&d);
    mx_smtp_finish(d.f.smtp);
    mx_verdict v;
    mx_verdict_init(&v);
    g_assert_true(mx_diagnose_smtp(&d.f, d.f.last_ts, &v));
    if (g_test_verbose())
        g_test_message("%s | %s | %s", v.summary->str, v.advice->str, v.mta_status->str);
    g_assert_cmpstr(mx_outcome_name(v.outcome), ==, c->outcome);
    g_assert_cmpstr(mx_kind_name(v.kind), ==, c->kind);
    g_assert_cmpstr(mx_phase_name(v.phase), ==, c->phase);
    g_assert_cmpstr(mx_role_name(v.culprit.role), ==, c->role);
    if (c->mta_status)
        g_assert_cmpstr(v.mta_status->str, ==, c->mta_status);
    char *frames = frames_of(&v);
    g_assert_cmpstr(frames, ==, c->evidence);
    g_free(frames);
    if (c->warning) {
        bool found = false;
        for (guint i = 0; i < v.warnings->len; i++)
            found |= strcmp(mx_warning_name(g_array_index(v.warnings, mx_warning, i).kind), c->warning) == 0;
        g_assert_true(found);
    }
    if (c->text_has && !verdict_mentions(&v, c->text_has))
        g_error("\"%s\" not in: %s | %s", c->text_has, v.summary->str, v.advice->str);
    if (strcmp(c->outcome, "delivered") != 0 && strcmp(c->outcome, "ok") != 0)
        g_assert_cmpuint(v.summary->len, >, 0);
    no_control_chars(v.summary->str);
    no_control_chars(v.mta_status->str);
    for (guint i = 0; i < v.evidence->len; i++)
        no_control_chars(g_array_index(v.evidence, mx_evidence, i).fact);
    mx_verdict_clear(&v);
    mx_smtp_free(d.f.smtp);
}

/* A masked greeting and a masked STARTTLS are two findings of one kind:
 * the one smtp_inspection warning keeps both details (issue 18). */
static void test_masked_greeting_and_starttls(void)
{
    dfx d;
    setup(&d);
    S(&d, "220 ******************************0*0*0**\r\n", 4, 0.03);
    C(&d, "EHLO gw.example.com\r\n", 5, 0.04);
    S(&d, "250-mx.example.org\r\n250-PIPELINING\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n", 6, 0.05);
    C(&d, "QUIT\r\n", 7, 0.06);
    S(&d, "221 Bye\r\n", 8, 0.07);
    fin(&d, MX_DIR_C2S, 9, 0.08);
    mx_smtp_finish(d.f.smtp);
    mx_verdict v;
    mx_verdict_init(&v);
    g_assert_true(mx_diagnose_smtp(&d.f, d.f.last_ts, &v));
    g_assert_cmpint(v.kind, ==, MX_KIND_TLS_STRIPPED);
    g_assert_cmpuint(v.warnings->len, ==, 1);
    const mx_warning *w = &g_array_index(v.warnings, mx_warning, 0);
    g_assert_cmpint(w->kind, ==, MX_WARN_SMTP_INSPECTION);
    g_assert_nonnull(strstr(w->detail, "greeting masked by an inspecting firewall"));
    g_assert_nonnull(strstr(w->detail, "XXXXXXXA"));
    g_assert_nonnull(strstr(w->detail, "(STARTTLS)"));
    mx_verdict_clear(&v);
    mx_smtp_free(d.f.smtp);
}

/* mx_verdict: a second fact about a frame already listed is merged even
 * when the cap is reached; a new frame past the cap is dropped.  A warning
 * of a kind already present adds its detail once. */
static void test_verdict_merge_then_cap(void)
{
    mx_verdict v;
    mx_verdict_init(&v);
    for (uint64_t i = 1; i <= MX_EVIDENCE_MAX; i++) {
        mx_frame_ref r = at(i, 0.01 * (double)i);
        mx_verdict_evidence(&v, &r, "fact %u", (unsigned)i);
    }
    mx_frame_ref first = at(1, 0.01), over = at(MX_EVIDENCE_MAX + 1, 1.0);
    mx_verdict_evidence(&v, &first, "more about frame 1");
    mx_verdict_evidence(&v, &over, "one too many");
    g_assert_cmpuint(v.evidence->len, ==, MX_EVIDENCE_MAX);
    g_assert_cmpstr(g_array_index(v.evidence, mx_evidence, 0).fact, ==, "fact 1; more about frame 1");
    mx_frame_ref other_file = { 1, 1, 20000 };   /* frame 1 of the second file: another frame */
    mx_verdict_evidence(&v, &other_file, "dropped: the cap");
    g_assert_cmpuint(v.evidence->len, ==, MX_EVIDENCE_MAX);
    g_assert_cmpuint(v.evidence_dropped, ==, 2);   /* counted for the stats */

    mx_verdict_warn(&v, MX_WARN_SLOW_PATH, "first");
    mx_verdict_warn(&v, MX_WARN_SLOW_PATH, "second");
    mx_verdict_warn(&v, MX_WARN_SLOW_PATH, "first");
    g_assert_cmpuint(v.warnings->len, ==, 1);
    g_assert_cmpstr(g_array_index(v.warnings, mx_warning, 0).detail, ==, "first; second");
    mx_verdict_clear(&v);
}

/* Mid-session capture with nothing decisive: left to diagnose.c. */
static void test_midstream_undecided(void)
{
    dfx d;
    setup(&d);
    d.f.saw_syn = false;
    S(&d, "250 2.1.5 Ok\r\n", 4, 1.0);
    mx_smtp_finish(d.f.smtp);
    mx_verdict v;
    mx_verdict_init(&v);
    g_assert_false(mx_diagnose_smtp(&d.f, d.f.last_ts, &v));
    mx_verdict_clear(&v);
    mx_smtp_free(d.f.smtp);
}

/* An uncertain pairing (a 334 answering EHLO) is never high confidence,
 * and the EHLO it displaced counts as answered, its code unknown. */
static void test_pairing_doubt(void)
{
    dfx d;
    setup(&d);
    sc_ehlo_then_334(&d);
    mx_smtp_finish(d.f.smtp);
    g_assert_cmpuint(d.f.smtp->pairing_doubts, ==, 1);
    g_assert_true(d.f.smtp->helo[0].answered);
    g_assert_cmpuint(d.f.smtp->helo[0].code, ==, 0);
    mx_verdict v;
    mx_verdict_init(&v);
    g_assert_true(mx_diagnose_smtp(&d.f, d.f.last_ts, &v));
    g_assert_cmpstr(mx_confidence_name(v.culprit.confidence), ==, "medium");
    mx_verdict_clear(&v);
    mx_smtp_free(d.f.smtp);
}

static void test_no_smtp_state(void)
{
    dfx d;
    setup(&d);
    mx_smtp_free(d.f.smtp);
    d.f.smtp = NULL;
    fin(&d, MX_DIR_C2S, 4, 30.02);
    mx_verdict v;
    mx_verdict_init(&v);
    g_assert_true(mx_diagnose_smtp(&d.f, d.f.last_ts, &v));
    g_assert_cmpstr(mx_kind_name(v.kind), ==, "no_greeting");
    mx_verdict_clear(&v);
}

static const struct { mx_phase phase; double secs; const char *has; } timer_cases[] = {
    { MX_PHASE_GREETING, 300.4, "RFC 5321" },
    { MX_PHASE_EHLO, 299.0, "smtp_helo_timeout" },
    { MX_PHASE_DATA, 120.0, "smtp_data_init_timeout" },
    { MX_PHASE_DATA_END, 601.0, "smtp_data_done_timeout" },
    { MX_PHASE_DATA_END, 3600.0, "Timeout.datafinal" },
    { MX_PHASE_EHLO, 42.0, NULL },
};

static void test_timers(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(timer_cases); i++) {
        char *t = mx_describe_smtp_timer(timer_cases[i].phase, (int64_t)(timer_cases[i].secs * 1e6));
        if (timer_cases[i].has)
            g_assert_true(t && strstr(t, timer_cases[i].has));
        else
            g_assert_null(t);
        g_free(t);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        g_test_add_data_func(cases[i].path, &cases[i], test_case);
    g_test_add_func("/diagnose-smtp/midstream-undecided", test_midstream_undecided);
    g_test_add_func("/diagnose-smtp/no-smtp-state", test_no_smtp_state);
    g_test_add_func("/diagnose-smtp/pairing-doubt", test_pairing_doubt);
    g_test_add_func("/diagnose-smtp/timers", test_timers);
    g_test_add_func("/diagnose-smtp/masked-greeting-and-starttls", test_masked_greeting_and_starttls);
    g_test_add_func("/verdict/merge-then-cap", test_verdict_merge_then_cap);
    return g_test_run();
}
