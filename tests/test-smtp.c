/* SPDX-License-Identifier: BSD-3-Clause */
/* test-smtp.c — /smtp/...: the session state machine fed stream bytes by hand.
 *
 * A fixture holds one session and the stream offset of each direction;
 * C() and S() feed a segment from the client / server as frame N at N ms.
 */
#include <glib.h>
#include <string.h>

#include "flow.h"
#include "smtp.h"

typedef struct fx {
    struct mx_smtp *s;
    uint64_t off[2];
} fx;

static void fx_setup(fx *f, gconstpointer data)
{
    f->s = mx_smtp_new();
    f->off[0] = f->off[1] = 0;
}

static void fx_teardown(fx *f, gconstpointer data)
{
    mx_smtp_finish(f->s);
    mx_smtp_free(f->s);
}

static void feed_n(fx *f, int dir, const void *data, size_t len, uint64_t frame)
{
    mx_packet p = { 0 };
    p.frame = frame;
    p.ts_us = (int64_t)frame * 1000;
    mx_smtp_data(f->s, dir, data, len, f->off[dir], &p);
    f->off[dir] += len;
}

static void C(fx *f, const char *text, uint64_t frame) { feed_n(f, MX_DIR_C2S, text, strlen(text), frame); }
static void S(fx *f, const char *text, uint64_t frame) { feed_n(f, MX_DIR_S2C, text, strlen(text), frame); }

static void gap(fx *f, int dir, uint64_t n, uint64_t frame)
{
    mx_packet p = { .frame = frame, .ts_us = (int64_t)frame * 1000 };
    mx_smtp_gap(f->s, dir, f->off[dir], n, &p);
    f->off[dir] += n;
}

static const mx_smtp_reply *R(fx *f, guint i)
{
    g_assert_cmpuint(i, <, f->s->replies->len);
    return &g_array_index(f->s->replies, mx_smtp_reply, i);
}

/* "GREETING:220 EHLO:250 ..." for compact assertions. */
static char *replies_str(fx *f)
{
    GString *g = g_string_new(NULL);
    for (guint i = 0; i < f->s->replies->len; i++) {
        const mx_smtp_reply *r = R(f, i);
        const char *v = mx_smtp_verb_name(r->verb);
        g_string_append_printf(g, "%s%s:%u", i ? " " : "", v ? v : "GREETING", r->code);
    }
    return g_string_free(g, FALSE);
}

static void assert_replies(fx *f, const char *want)
{
    char *got = replies_str(f);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
}

/* ---- greeting ---- */

static void test_greeting_basic(fx *f, gconstpointer d)
{
    S(f, "220 mx.example.org ESMTP Postfix\r\n", 4);
    g_assert_true(f->s->greeting.seen);
    g_assert_cmpuint(f->s->greeting.code, ==, 220);
    g_assert_cmpstr(f->s->greeting.text, ==, "220 mx.example.org ESMTP Postfix");
    g_assert_cmpuint(f->s->greeting.first.frame, ==, 4);
    g_assert_false(f->s->greeting.masked);
    g_assert_false(f->s->midstream);
    assert_replies(f, "GREETING:220");
    g_assert_cmpint(R(f, 0)->latency_us, ==, -1);
}

static void test_greeting_multiline_split(fx *f, gconstpointer d)
{
    S(f, "220-mx.example.org ESMTP\r\n22", 4);
    g_assert_false(f->s->greeting.seen);
    S(f, "0 no UCE\r\n", 5);
    g_assert_true(f->s->greeting.seen);
    g_assert_cmpstr(f->s->greeting.text, ==, "220 no UCE");
    g_assert_cmpuint(f->s->greeting.first.frame, ==, 4);
    g_assert_cmpuint(f->s->greeting.last.frame, ==, 5);
    g_assert_cmpstr(R(f, 0)->text, ==, "220-mx.example.org ESMTP");
    g_assert_cmpuint(f->s->replies->len, ==, 1);
}

static void test_greeting_escaped(fx *f, gconstpointer d)
{
    S(f, "220 mx\x01\x7f\xff ok\r\n", 4);
    g_assert_cmpstr(f->s->greeting.text, ==, "220 mx\\x01\\x7f\\xff ok");
}

static const struct { const char *line; gboolean masked; } banners[] = {
    { "220 ****************************************0*0*0**", TRUE },
    { "220 ***** ** 2 0 0 ***", TRUE },
    { "220-*******************2**0*0*", TRUE },
    { "220 mx.example.org ESMTP", FALSE },
    { "220 ", FALSE },
    { "220 2000 2", FALSE },
    { "421 ****", FALSE },
    { "220 ***x**", FALSE },
};

static void test_banner_masked(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(banners); i++)
        g_assert_cmpint(mx_smtp_banner_masked(banners[i].line, strlen(banners[i].line)), ==, banners[i].masked);
}

static void test_greeting_masked(fx *f, gconstpointer d)
{
    S(f, "220 ******************************0*0*0**\r\n", 4);
    C(f, "EHLO gw.example.com\r\n", 6);
    S(f, "500 5.5.1 Command unrecognized: \"XXXX gw.example.com\"\r\n", 7);
    C(f, "HELO gw.example.com\r\n", 8);
    S(f, "250 ******************\r\n", 9);
    g_assert_true(f->s->greeting.masked);
    assert_replies(f, "GREETING:220 EHLO:500 HELO:250");
    g_assert_cmpuint(f->s->n_helo, ==, 2);
    g_assert_cmpuint(f->s->helo[0].code, ==, 500);
    g_assert_cmpuint(f->s->helo[1].code, ==, 250);
    g_assert_cmpstr(f->s->helo[1].arg, ==, "gw.example.com");
    g_assert_cmpstr(R(f, 1)->enhanced, ==, "5.5.1");
}

/* ---- EHLO and extensions ---- */

static const struct { const char *kw; gboolean masked; } keywords[] = {
    { "XXXXXXXA", TRUE }, { "XXXX", TRUE }, { "XXXXXXXX", TRUE }, { "XXXA", TRUE },
    { "XXX", FALSE }, { "XCLIENT", FALSE }, { "XFORWARD", FALSE }, { "XEXCH50", FALSE },
    { "XXXXXXXa", FALSE }, { "STARTTLS", FALSE },
};

static void test_keyword_masked(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keywords); i++)
        g_assert_cmpint(mx_smtp_keyword_masked(keywords[i].kw, strlen(keywords[i].kw)), ==, keywords[i].masked);
}

static void test_ehlo_extensions_split(fx *f, gconstpointer d)
{
    S(f, "220 mx.example.org ESMTP\r\n", 4);
    C(f, "EHLO gw.example.com\r\n", 6);
    S(f, "250-mx.example.org\r\n250-PIPEL", 7);
    S(f, "INING\r\n250-SIZE 10240000\r\n250-XXXXXXXA\r", 8);
    S(f, "\n250 8BITMIME\r\n", 9);
    struct mx_smtp *s = f->s;
    g_assert_cmpuint(s->n_helo, ==, 1);
    g_assert_cmpint(s->helo[0].verb, ==, MX_SMTP_EHLO);
    g_assert_cmpstr(s->helo[0].arg, ==, "gw.example.com");
    g_assert_cmpuint(s->helo[0].at.frame, ==, 6);
    g_assert_cmpuint(s->helo[0].end_offset, ==, 21);
    g_assert_true(s->helo[0].answered);
    g_assert_cmpuint(s->helo[0].code, ==, 250);
    g_assert_cmpstr(s->helo[0].reply_text, ==, "250-mx.example.org");
    g_assert_cmpuint(s->helo[0].reply_at.frame, ==, 7);
    g_assert_cmpuint(s->n_extensions, ==, 4);
    g_assert_cmpstr(s->extensions[0], ==, "PIPELINING");
    g_assert_cmpstr(s->extensions[1], ==, "SIZE 10240000");
    g_assert_cmpstr(s->extensions[2], ==, "XXXXXXXA");
    g_assert_cmpstr(s->extensions[3], ==, "8BITMIME");
    g_assert_cmpuint(s->n_masked, ==, 1);
    g_assert_cmpstr(s->masked[0], ==, "XXXXXXXA");
    g_assert_true(s->starttls_masked);
    g_assert_true(s->pipelining);
    g_assert_false(s->tls.offered);
    g_assert_cmpint(R(f, 1)->latency_us, ==, 1000);   /* frame 6 -> 7 */
    g_assert_cmpuint(R(f, 1)->end.frame, ==, 9);
    g_assert_cmpuint(s->pending->len, ==, 0);
}

/* ---- pipelining ---- */

static void test_pipelining(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    C(f, "EHLO gw.example.com\r\n", 5);
    S(f, "250-mx\r\n250 PIPELINING\r\n", 6);
    C(f, "MAIL FROM:<a@gw.example.com>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nDATA\r\n", 7);
    g_assert_cmpuint(f->s->pending->len, ==, 4);
    S(f, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n", 9);
    S(f, "550 5.1.1 <c@example.org>: Recipient address rejected: User unknown\r\n354 End data with <CR><LF>.<CR><LF>\r\n", 10);
    assert_replies(f, "GREETING:220 EHLO:250 MAIL:250 RCPT:250 RCPT:550 DATA:354");
    g_assert_cmpstr(R(f, 4)->enhanced, ==, "5.1.1");
    g_assert_cmpstr(R(f, 4)->text, ==, "550 5.1.1 <c@example.org>: Recipient address rejected: User unknown");
    g_assert_cmpint(R(f, 5)->latency_us, ==, 3000);
    g_assert_cmpuint(R(f, 5)->command_at.frame, ==, 7);
    g_assert_cmpuint(f->s->rcpt_commands, ==, 2);
    g_assert_cmpuint(f->s->rcpt_accepted, ==, 1);
    g_assert_cmpuint(f->s->last_error.code, ==, 550);
    g_assert_cmpuint(f->s->pending->len, ==, 0);
    g_assert_cmpint(f->s->msg.mode, ==, MX_SMTP_XFER_DATA);
    g_assert_cmpuint(f->s->messages_attempted, ==, 1);
}

/* ---- DATA and the end-of-data dot ---- */

static void session_to_354(fx *f)
{
    S(f, "220 mx ESMTP\r\n", 4);
    C(f, "EHLO gw\r\n", 5);
    S(f, "250 mx\r\n", 6);
    C(f, "MAIL FROM:<a@gw>\r\n", 7);
    S(f, "250 ok\r\n", 8);
    C(f, "RCPT TO:<b@mx>\r\n", 9);
    S(f, "250 ok\r\n", 10);
    C(f, "DATA\r\n", 11);
    S(f, "354 go ahead\r\n", 12);
}

/* The body "Subject: x\r\n\r\n..hidden\r\nQUIT\r\n.\r\n" cut at every point. */
static const char body[] = "Subject: x\r\n\r\n..hidden\r\nQUIT\r\n.\r\n";

static void test_data_dot_every_split(void)
{
    size_t n = strlen(body);
    for (size_t cut1 = 1; cut1 < n; cut1++) {
        for (size_t cut2 = cut1; cut2 < n; cut2++) {
            fx f;
            fx_setup(&f, NULL);
            session_to_354(&f);
            uint64_t first = f.off[0];
            feed_n(&f, 0, body, cut1, 20);
            if (cut2 > cut1)
                feed_n(&f, 0, body + cut1, cut2 - cut1, 21);
            feed_n(&f, 0, body + cut2, n - cut2, 22);
            g_assert_true(f.s->msg.dot_seen);
            g_assert_false(f.s->quit_sent);
            g_assert_cmpuint(f.s->msg.first_offset, ==, first);
            g_assert_cmpuint(f.s->msg.dot_offset, ==, first + n - 3);
            g_assert_cmpuint(f.s->msg.bytes, ==, n - 3);
            g_assert_cmpuint(f.s->msg.end_offset, ==, first + n);
            uint64_t dot_frame = n - 3 < cut1 ? 20 : (n - 3 < cut2 ? 21 : 22);
            g_assert_cmpuint(f.s->msg.dot_at.frame, ==, dot_frame);
            g_assert_cmpuint(f.s->msg.first_byte.frame, ==, 20);
            g_assert_cmpuint(f.s->pending->len, ==, 1);
            feed_n(&f, 1, "250 2.0.0 Ok: queued as 4Xk2\r\n", 31, 30);
            g_assert_cmpuint(f.s->messages, ==, 1);
            g_assert_cmpuint(f.s->msg.final_code, ==, 250);
            g_assert_cmpuint(f.s->msg.final_at.frame, ==, 30);
            fx_teardown(&f, NULL);
        }
    }
}

static void test_data_dot_alone(fx *f, gconstpointer d)
{
    session_to_354(f);
    C(f, "hello\r\n", 20);
    C(f, ".", 21);
    g_assert_false(f->s->msg.dot_seen);
    C(f, "\r\n", 22);
    g_assert_true(f->s->msg.dot_seen);
    g_assert_cmpuint(f->s->msg.dot_at.frame, ==, 21);
    C(f, "QUIT\r\n", 23);
    g_assert_true(f->s->quit_sent);
    S(f, "250 ok\r\n221 bye\r\n", 24);
    assert_replies(f, "GREETING:220 EHLO:250 MAIL:250 RCPT:250 DATA:354 .:250 QUIT:221");
    g_assert_cmpuint(f->s->messages, ==, 1);
}

static void test_bare_lf(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\n", 4);
    C(f, "EHLO gw\n", 5);
    S(f, "250-mx\n250 SIZE 100\n", 6);
    C(f, "MAIL FROM:<a@gw>\nRCPT TO:<b@mx>\nDATA\n", 7);
    S(f, "250 ok\n250 ok\n354 go\n", 8);
    C(f, "line\n.\n", 9);
    S(f, "250 queued\n", 10);
    assert_replies(f, "GREETING:220 EHLO:250 MAIL:250 RCPT:250 DATA:354 .:250");
    g_assert_cmpstr(f->s->extensions[0], ==, "SIZE 100");
    g_assert_cmpuint(f->s->messages, ==, 1);
    g_assert_cmpuint(f->s->msg.bytes, ==, 5);
}

static void test_empty_body(fx *f, gconstpointer d)
{
    session_to_354(f);
    C(f, ".\r\n", 20);
    g_assert_true(f->s->msg.dot_seen);
    g_assert_cmpuint(f->s->msg.bytes, ==, 0);
}

/* ---- overlong lines ---- */

static void test_overlong(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    GString *g = g_string_new("EHLO ");
    for (int i = 0; i < 3000; i++)
        g_string_append_c(g, 'a');
    g_string_append(g, "\r\n");
    C(f, g->str, 5);
    g_string_assign(g, "250-");
    for (int i = 0; i < 5000; i++)
        g_string_append_c(g, 'b');
    g_string_append(g, "\r\n250 8BITMIME\r\n");
    S(f, g->str, 6);
    g_assert_cmpuint(f->s->lines_cut, ==, 2);
    g_assert_cmpuint(f->s->n_helo, ==, 1);
    g_assert_cmpuint(strlen(f->s->helo[0].arg), <=, MX_SMTP_TEXT_MAX);
    g_assert_cmpuint(f->s->helo[0].end_offset, ==, g_utf8_strlen("EHLO ", -1) + 3000 + 2);
    assert_replies(f, "GREETING:220 EHLO:250");
    g_assert_cmpuint(f->s->n_extensions, ==, 1);
    g_assert_cmpstr(f->s->extensions[0], ==, "8BITMIME");
    g_assert_cmpuint(strlen(R(f, 1)->text), <=, MX_SMTP_TEXT_MAX);
    g_string_free(g, TRUE);
}

/* ---- BDAT ---- */

static void test_bdat(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    C(f, "EHLO gw\r\n", 5);
    S(f, "250-mx\r\n250-CHUNKING\r\n250 PIPELINING\r\n", 6);
    g_assert_true(f->s->chunking);
    C(f, "MAIL FROM:<a@gw>\r\nRCPT TO:<b@mx>\r\nBDAT 11\r\nab\r\nQUIT\r\nxBDAT ", 7);
    C(f, "5 LAST\r\nabcde", 8);
    g_assert_false(f->s->quit_sent);
    g_assert_cmpuint(f->s->msg.bdat_chunks, ==, 2);
    g_assert_true(f->s->msg.bdat_last_sent);
    g_assert_cmpuint(f->s->msg.bytes, ==, 16);
    g_assert_cmpuint(f->s->msg.first_byte.frame, ==, 7);
    C(f, "QUIT\r\n", 9);
    g_assert_true(f->s->quit_sent);
    S(f, "250 ok\r\n250 ok\r\n250 2.0.0 11 octets\r\n250 2.0.0 Ok: queued\r\n221 bye\r\n", 10);
    assert_replies(f, "GREETING:220 EHLO:250 MAIL:250 RCPT:250 BDAT:250 BDAT:250 QUIT:221");
    g_assert_cmpuint(f->s->messages, ==, 1);
    g_assert_cmpuint(f->s->msg.final_code, ==, 250);
    /* The LAST chunk's reply is timed from the end of the chunk (frame 8). */
    g_assert_cmpuint(R(f, 5)->command_at.frame, ==, 8);
}

/* ---- STARTTLS and TLS records ---- */

static const uint8_t client_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00 };
static const uint8_t server_hello[] = { 0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00 };
static const uint8_t ccs_fin[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x16, 0x03, 0x03, 0x00, 0x03, 0xaa, 0xbb, 0xcc };
static const uint8_t appdata[] = { 0x17, 0x03, 0x03, 0x00, 0x02, 0xde, 0xad };
static const uint8_t alert_hs_failure[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };

static void to_starttls(fx *f)
{
    S(f, "220 mx ESMTP\r\n", 4);
    C(f, "EHLO gw\r\n", 5);
    S(f, "250-mx\r\n250 STARTTLS\r\n", 6);
    g_assert_true(f->s->tls.offered);
    C(f, "STARTTLS\r\n", 7);
    S(f, "220 2.0.0 Ready to start TLS\r\n", 8);
    g_assert_true(f->s->tls.requested);
    g_assert_true(f->s->tls.active);
    g_assert_cmpuint(f->s->tls.reply_code, ==, 220);
    g_assert_cmpuint(f->s->tls.start.frame, ==, 8);
}

static void test_starttls_tls12(fx *f, gconstpointer d)
{
    to_starttls(f);
    feed_n(f, 0, client_hello, 2, 9);          /* header split across segments */
    feed_n(f, 0, client_hello + 2, sizeof client_hello - 2, 10);
    g_assert_true(f->s->tls.client_hello);
    g_assert_cmpuint(f->s->tls.client_hello_at.frame, ==, 10);
    feed_n(f, 1, server_hello, sizeof server_hello, 11);
    g_assert_true(f->s->tls.server_hello);
    feed_n(f, 0, ccs_fin, sizeof ccs_fin, 12);
    g_assert_false(f->s->tls.completed);
    feed_n(f, 1, ccs_fin, sizeof ccs_fin, 13);
    g_assert_true(f->s->tls.completed);
    g_assert_cmpuint(f->s->tls.completed_at.frame, ==, 13);
    /* Encrypted "EHLO\r\n" looks like nothing to the text parser. */
    feed_n(f, 0, appdata, sizeof appdata, 14);
    feed_n(f, 1, appdata, sizeof appdata, 15);
    g_assert_cmpuint(f->s->tls.app_records[0], ==, 1);
    g_assert_cmpuint(f->s->tls.app_records[1], ==, 1);
    g_assert_false(f->s->tls.alert);
    assert_replies(f, "GREETING:220 EHLO:250 STARTTLS:220");
    g_assert_cmpuint(f->s->bad_lines, ==, 0);
    g_assert_cmpuint(f->s->commands, ==, 2);
}

static void test_starttls_tls13(fx *f, gconstpointer d)
{
    to_starttls(f);
    feed_n(f, 0, client_hello, sizeof client_hello, 9);
    uint8_t sh_ccs_enc[sizeof server_hello + 6 + sizeof appdata];
    memcpy(sh_ccs_enc, server_hello, sizeof server_hello);
    memcpy(sh_ccs_enc + sizeof server_hello, ccs_fin, 6);
    memcpy(sh_ccs_enc + sizeof server_hello + 6, appdata, sizeof appdata);
    feed_n(f, 1, sh_ccs_enc, sizeof sh_ccs_enc, 10);
    g_assert_false(f->s->tls.completed);
    uint8_t c_ccs_fin[6 + sizeof appdata];
    memcpy(c_ccs_fin, ccs_fin, 6);
    memcpy(c_ccs_fin + 6, appdata, sizeof appdata);
    feed_n(f, 0, c_ccs_fin, sizeof c_ccs_fin, 11);
    g_assert_false(f->s->tls.completed);       /* the client's Finished: not yet accepted */
    feed_n(f, 1, appdata, sizeof appdata, 12);
    g_assert_true(f->s->tls.completed);
    g_assert_cmpuint(f->s->tls.completed_at.frame, ==, 12);
}

static void test_starttls_alert(fx *f, gconstpointer d)
{
    to_starttls(f);
    feed_n(f, 0, client_hello, sizeof client_hello, 9);
    feed_n(f, 1, alert_hs_failure, sizeof alert_hs_failure, 10);
    g_assert_false(f->s->tls.completed);
    g_assert_true(f->s->tls.alert);
    g_assert_cmpint(f->s->tls.alert_dir, ==, MX_DIR_S2C);
    g_assert_cmpint(f->s->tls.alert_level, ==, 2);
    g_assert_cmpint(f->s->tls.alert_desc, ==, 40);
    g_assert_cmpuint(f->s->tls.alert_at.frame, ==, 10);
}

static void test_starttls_not_tls(fx *f, gconstpointer d)
{
    to_starttls(f);
    feed_n(f, 0, client_hello, sizeof client_hello, 9);
    S(f, "500 what?\r\n", 10);
    g_assert_true(f->s->tls.not_tls[MX_DIR_S2C]);
    g_assert_false(f->s->tls.server_hello);
    g_assert_cmpuint(f->s->replies->len, ==, 3);
}

/* ---- AUTH ---- */

static void walk_strings(fx *f, const char *secret)
{
    struct mx_smtp *s = f->s;
    for (guint i = 0; i < s->replies->len; i++)
        g_assert_null(strstr(R(f, i)->text, secret));
    for (guint i = 0; i < s->n_helo && i < MX_SMTP_HELO_MAX; i++)
        g_assert_null(strstr(s->helo[i].arg, secret));
    for (guint i = 0; i < s->n_extensions; i++)
        g_assert_null(strstr(s->extensions[i], secret));
    if (s->last_error.text)
        g_assert_null(strstr(s->last_error.text, secret));
}

static void test_auth(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    C(f, "EHLO gw\r\n", 5);
    S(f, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", 6);
    C(f, "AUTH LOGIN\r\n", 7);
    S(f, "334 VXNlcm5hbWU6\r\n", 8);
    C(f, "c2VjcmV0dXNlcg==\r\n", 9);
    S(f, "334 UGFzc3dvcmQ6\r\n", 10);
    C(f, "c2VjcmV0cGFzcw==\r\n", 11);
    S(f, "235 2.7.0 Authentication successful\r\n", 12);
    C(f, "AUTH PLAIN AHNlY3JldHVzZXIAc2VjcmV0cGFzcw==\r\n", 13);
    S(f, "503 5.5.1 Error: already authenticated\r\n", 14);
    assert_replies(f, "GREETING:220 EHLO:250 AUTH:334 AUTH:334 AUTH:235 AUTH:503");
    g_assert_cmpuint(f->s->pending->len, ==, 0);
    g_assert_false(f->s->auth_continue);
    walk_strings(f, "c2VjcmV0");
    walk_strings(f, "AHNlY3J");
    /* The parser's own line buffer is not kept around either once the line is done. */
    g_assert_cmpuint(f->s->mail_commands, ==, 0);
}

/* ---- gaps and mid-session captures ---- */

static void test_gap_resync(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    C(f, "NOOP\r\nNOOP\r\n", 5);
    S(f, "250 fi", 6);
    gap(f, 1, 5, 7);
    S(f, "rst\r\n250 second\r\n", 8);
    g_assert_cmpuint(f->s->gaps[1], ==, 1);
    g_assert_cmpuint(f->s->gap_bytes[1], ==, 5);
    /* The cut reply still counts (its code survived); the rest of its line
     * is dropped, and the next whole line answers the second NOOP. */
    assert_replies(f, "GREETING:220 NOOP:250 NOOP:250");
    g_assert_cmpstr(R(f, 1)->text, ==, "250 fi");
    g_assert_cmpstr(R(f, 2)->text, ==, "250 second");
    g_assert_cmpuint(f->s->pending->len, ==, 0);
    g_assert_cmpuint(f->s->lines_cut, ==, 1);
}

static void test_gap_in_body(fx *f, gconstpointer d)
{
    session_to_354(f);
    C(f, "some text\r\nmore", 20);
    gap(f, 0, 1000, 21);
    C(f, " tail\r\n.\r\n", 22);
    g_assert_true(f->s->msg.dot_seen);
    g_assert_cmpuint(f->s->msg.bytes, ==, 15 + 1000 + 7);
    g_assert_cmpuint(f->s->gaps[0], ==, 1);
}

static void test_implicit_gap(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    /* An offset ahead of what was read: a hole the caller did not report. */
    mx_packet p = { .frame = 5, .ts_us = 5000 };
    const char *t = "junk\r\n250 x\r\n";
    mx_smtp_data(f->s, 1, (const uint8_t *)t, strlen(t), f->off[1] + 10, &p);
    g_assert_cmpuint(f->s->gaps[1], ==, 1);
    g_assert_cmpuint(f->s->replies->len, ==, 2);
}

static void test_midstream_body(fx *f, gconstpointer d)
{
    C(f, "ody text of a message\r\nmore\r\n.\r\n", 1);
    S(f, "250 2.0.0 Ok: queued as X\r\n", 2);
    C(f, "QUIT\r\n", 3);
    S(f, "221 2.0.0 Bye\r\n", 4);
    g_assert_true(f->s->midstream);
    g_assert_false(f->s->greeting.seen);
    assert_replies(f, ".:250 QUIT:221");
    g_assert_cmpuint(f->s->messages, ==, 1);
}

static void test_midstream_reply(fx *f, gconstpointer d)
{
    S(f, "250 2.1.5 Ok\r\n", 1);
    C(f, "DATA\r\n", 2);
    S(f, "354 go\r\n", 3);
    g_assert_true(f->s->midstream);
    g_assert_false(f->s->greeting.seen);
    assert_replies(f, "?:250 DATA:354");
    g_assert_cmpint(R(f, 0)->latency_us, ==, -1);
}

static void test_early_talker(fx *f, gconstpointer d)
{
    C(f, "EHLO gw\r\n", 1);
    S(f, "220 mx ESMTP\r\n", 2);
    S(f, "250 mx\r\n", 3);
    g_assert_false(f->s->midstream);
    g_assert_true(f->s->greeting.seen);
    assert_replies(f, "GREETING:220 EHLO:250");
}

static void test_pending_at_end(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    C(f, "EHLO gw.example.com\r\n", 5);
    S(f, "250 mx\r\n", 6);
    C(f, "MAIL FROM:<a@gw>\r\n", 7);
    mx_smtp_finish(f->s);
    g_assert_cmpuint(f->s->pending->len, ==, 1);
    const mx_smtp_cmd *c = &g_array_index(f->s->pending, mx_smtp_cmd, 0);
    g_assert_cmpint(c->verb, ==, MX_SMTP_MAIL);
    g_assert_cmpuint(c->at.frame, ==, 7);
    g_assert_cmpuint(c->end_offset, ==, 21 + 18);
}

static void test_pending_cap(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 4);
    for (int i = 0; i < MX_SMTP_PENDING_MAX + 5; i++)
        C(f, "RCPT TO:<x@y>\r\n", 5);
    g_assert_cmpuint(f->s->pending->len, ==, MX_SMTP_PENDING_MAX);
    g_assert_cmpuint(f->s->pending_dropped, ==, 5);
    for (int i = 0; i < MX_SMTP_REPLIES_MAX + 5; i++)
        S(f, "250 ok\r\n", 6);
    g_assert_cmpuint(f->s->replies->len, ==, MX_SMTP_REPLIES_MAX);
    g_assert_cmpuint(f->s->replies_dropped, ==, 6);
}

/* The ranges the evidence may keep (mx_smtp_keep), as "from-to" pairs. */
static char *spans_str(fx *f, int dir)
{
    GString *g = g_string_new(NULL);
    const GArray *sp = f->s->keep[dir].spans;
    for (guint i = 0; sp && i < sp->len; i++) {
        const mx_smtp_span *r = &g_array_index(sp, mx_smtp_span, i);
        g_string_append_printf(g, "%s%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, g->len ? " " : "", r->from, r->to);
    }
    return g_string_free(g, FALSE);
}

/* Commands and replies kept, the body out, its CRLF "." CRLF kept; AUTH
 * keeps its mechanism, a 334 its code, the credential line nothing. */
static void test_keep_ranges(fx *f, gconstpointer d)
{
    mx_smtp_stream_base(f->s, MX_DIR_C2S, 1000, true);
    mx_smtp_stream_base(f->s, MX_DIR_S2C, 5000, true);
    session_to_354(f);                          /* client 0-49, server 0-52 */
    C(f, "secret body\r\n.\r\n", 13);          /* body 49-65, "\r\n.\r\n" 60-65 */
    S(f, "250 queued\r\n", 14);
    C(f, "AUTH PLAIN c2VjcmV0\r\n", 15);       /* 65-86: "AUTH PLAIN" 65-75, CRLF 84-86 */
    S(f, "334 UGFzcw==\r\n", 16);
    C(f, "c2VjcmV0\r\n", 17);
    S(f, "535 no\r\n", 18);
    C(f, "QUIT\r\n", 19);
    g_autofree char *c = spans_str(f, MX_DIR_C2S), *v = spans_str(f, MX_DIR_S2C);
    g_assert_cmpstr(c, ==, "0-49 60-75 84-86 96-102");
    g_assert_cmpstr(v, ==, "0-68 76-86");
}

/* Nothing of the client is kept after a bare-LF end of data, a gap in its
 * commands, or a 354 that pairs with the wrong command. */
static void test_keep_lost(fx *f, gconstpointer d)
{
    mx_smtp_stream_base(f->s, MX_DIR_C2S, 1000, true);
    mx_smtp_stream_base(f->s, MX_DIR_S2C, 5000, true);
    session_to_354(f);
    C(f, "x\n.\nMAIL FROM:<smuggled@x>\r\n", 13);
    g_assert_true(f->s->keep[MX_DIR_C2S].lost);
    g_autofree char *c = spans_str(f, MX_DIR_C2S);
    g_assert_cmpstr(c, ==, "0-49");
}

/* A capture that begins with an AUTH LOGIN credential (a rotated file):
 * the line is read as body until the server answers it; then commands. */
static void test_midstream_auth(fx *f, gconstpointer d)
{
    mx_smtp_stream_base(f->s, MX_DIR_C2S, 1000, false);
    mx_smtp_stream_base(f->s, MX_DIR_S2C, 5000, false);
    C(f, "UExBTlQtcGFzcw==\r\n", 1);
    S(f, "235 2.7.0 Authentication successful\r\n", 2);
    C(f, "MAIL FROM:<a@gw>\r\n", 3);
    S(f, "250 2.1.0 Ok\r\n", 4);
    C(f, "RCPT TO:<b@x>\r\n", 5);
    S(f, "550 5.7.1 not allowed\r\n", 6);
    g_assert_true(f->s->midstream);
    assert_replies(f, "?:235 MAIL:250 RCPT:550");
    g_assert_cmpuint(f->s->messages_attempted, ==, 0);
    g_assert_cmpuint(f->s->rcpt_commands, ==, 1);
    g_assert_true(f->s->keep[MX_DIR_C2S].lost);
    g_autofree char *c = spans_str(f, MX_DIR_C2S);
    g_assert_cmpstr(c, ==, "");
}

/* The 354 missing from the capture: the body after DATA is read as lines
 * and the pairing is doubted (the 554 seems to answer DATA). */
static void test_lost_354(fx *f, gconstpointer d)
{
    S(f, "220 mx ESMTP\r\n", 1);
    C(f, "EHLO gw\r\n", 2);
    S(f, "250 mx\r\n", 3);
    C(f, "DATA\r\n", 4);
    g_assert_cmpuint(f->s->pairing_doubts, ==, 0);
    C(f, "body line\r\n.\r\n", 6);
    S(f, "554 5.7.1 content refused\r\n", 7);
    g_assert_cmpuint(f->s->pairing_doubts, >=, 1);
    g_assert_cmpuint(f->s->pairing_doubt_at.frame, ==, 6);
}

#define ADD(path, fn) g_test_add(path, fx, NULL, fx_setup, fn, fx_teardown)

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    ADD("/smtp/greeting/basic", test_greeting_basic);
    ADD("/smtp/keep/ranges", test_keep_ranges);
    ADD("/smtp/keep/lost", test_keep_lost);
    ADD("/smtp/greeting/multiline-split", test_greeting_multiline_split);
    ADD("/smtp/greeting/escaped", test_greeting_escaped);
    ADD("/smtp/greeting/masked", test_greeting_masked);
    g_test_add_func("/smtp/greeting/banner-masked-table", test_banner_masked);
    g_test_add_func("/smtp/ehlo/keyword-masked-table", test_keyword_masked);
    ADD("/smtp/ehlo/extensions-split", test_ehlo_extensions_split);
    ADD("/smtp/pipelining", test_pipelining);
    g_test_add_func("/smtp/data/dot-every-split", test_data_dot_every_split);
    ADD("/smtp/data/dot-alone", test_data_dot_alone);
    ADD("/smtp/data/empty-body", test_empty_body);
    ADD("/smtp/line/bare-lf", test_bare_lf);
    ADD("/smtp/line/overlong", test_overlong);
    ADD("/smtp/bdat", test_bdat);
    ADD("/smtp/tls/tls12", test_starttls_tls12);
    ADD("/smtp/tls/tls13", test_starttls_tls13);
    ADD("/smtp/tls/alert", test_starttls_alert);
    ADD("/smtp/tls/not-tls", test_starttls_not_tls);
    ADD("/smtp/auth/never-stored", test_auth);
    ADD("/smtp/gap/resync", test_gap_resync);
    ADD("/smtp/gap/in-body", test_gap_in_body);
    ADD("/smtp/gap/implicit", test_implicit_gap);
    ADD("/smtp/midstream/body", test_midstream_body);
    ADD("/smtp/midstream/reply", test_midstream_reply);
    ADD("/smtp/midstream/auth", test_midstream_auth);
    ADD("/smtp/pairing/lost-354", test_lost_354);
    ADD("/smtp/early-talker", test_early_talker);
    ADD("/smtp/pending/at-end", test_pending_at_end);
    ADD("/smtp/pending/cap", test_pending_cap);
    return g_test_run();
}
