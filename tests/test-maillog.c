/* SPDX-License-Identifier: BSD-3-Clause */
/* test-maillog.c — MTA log lines into records (/maillog/...), records joined to sessions (/join/...).
 *
 * Postfix and Exim lines are as their smtp(8) and transports write them
 * (the same shapes the netns scenarios produce from the real MTAs);
 * Sendmail lines are DOCUMENTED ones (the shapes of sendmail 8's own
 * log lines as published in bug reports and its op guide), addresses
 * replaced by documentation addresses: no Sendmail runs in the tests.
 */
#include "maillog.h"
#include "maillog-join.h"
#include "report.h"
#include "report-queue.h"

#include "json-out.h"

#include <glib/gstdio.h>
#include <string.h>
#include <zlib.h>

static mx_logrec parse_ok(const char *line)
{
    mx_logrec r;
    mx_line_result res = mx_maillog_parse_line(line, &r);
    if (res != MX_LINE_RECORD)
        g_error("not a record (%d): %s", res, line);
    return r;
}

static void assert_ip(const mx_logrec *r, const char *ip)
{
    char buf[64];
    g_assert_true(r->has_ip);
    g_assert_cmpstr(mx_addr_str(&r->ip, buf, sizeof buf), ==, ip);
}

/* ---- Postfix ------------------------------------------------------------------ */

static void test_postfix_deferred_syslog(void)
{
    mx_logrec r = parse_ok("Dec  3 08:00:31 gw postfix/smtp[4242]: 4F2A1C3D5E: to=<bob@example.net>, "
                           "relay=none, delay=30, delays=0.01/0/30/0, dsn=4.4.1, status=deferred "
                           "(connect to mx.example.net[203.0.113.25]:25: Connection timed out)");
    g_assert_cmpint(r.mta, ==, MX_MTA_POSTFIX);
    g_assert_cmpint(r.type, ==, MX_LOGREC_DELIVERY);
    g_assert_cmpint(r.when.year, ==, 0);
    g_assert_false(r.when.has_zone);
    g_assert_cmpint(r.when.month, ==, 12);
    g_assert_cmpint(r.when.day, ==, 3);
    g_assert_cmpint(r.when.hour, ==, 8);
    g_assert_cmpint(r.when.second, ==, 31);
    g_assert_cmpuint(r.process, ==, 4242);
    g_assert_cmpstr(r.queue_id, ==, "4F2A1C3D5E");
    g_assert_cmpstr(r.recipient, ==, "bob@example.net");
    g_assert_cmpstr(r.relay_name, ==, "mx.example.net");   /* relay=none: the text names it */
    assert_ip(&r, "203.0.113.25");
    g_assert_cmpuint(r.port, ==, 25);
    g_assert_true(r.has_delay);
    g_assert_cmpfloat(r.delay, ==, 30);
    g_assert_true(r.has_delays);
    g_assert_cmpfloat(r.delays[0], ==, 0.01);
    g_assert_cmpfloat(r.delays[2], ==, 30);
    g_assert_cmpstr(r.dsn, ==, "4.4.1");
    g_assert_cmpstr(r.status, ==, "deferred");
    g_assert_cmpstr(r.text, ==, "connect to mx.example.net[203.0.113.25]:25: Connection timed out");
    mx_logrec_clear(&r);
}

/* BusyBox syslogd's default format: "facility.level" after the host. */
static void test_postfix_busybox(void)
{
    mx_logrec r = parse_ok("Dec  3 07:45:09 gw mail.info postfix/smtp[4242]: 4F2A1C3D5E: to=<bob@example.net>, "
                           "relay=203.0.113.25[203.0.113.25]:25, delay=0.2, delays=0.1/0/0/0.1, dsn=4.2.0, "
                           "status=deferred (host 203.0.113.25[203.0.113.25] said: 450 4.2.0 try later)");
    g_assert_cmpuint(r.process, ==, 4242);
    g_assert_cmpstr(r.queue_id, ==, "4F2A1C3D5E");
    g_assert_cmpstr(r.status, ==, "deferred");
    assert_ip(&r, "203.0.113.25");
    mx_logrec_clear(&r);
    mx_logrec q;
    g_assert_cmpint(mx_maillog_parse_line("Dec  3 07:45:09 gw mail.nosuch postfix/smtp[1]: x", &q), ==,
                    MX_LINE_UNKNOWN);
}

static void test_postfix_sent_rfc3339(void)
{
    mx_logrec r = parse_ok("2026-12-03T08:00:01.123456+01:00 gw postfix/smtp[77]: 3F1B2C: to=<user@example.net>, "
                           "relay=mx.example.net[2001:db8:3::25]:2525, conn_use=2, delay=0.5, "
                           "delays=0.1/0.01/0.2/0.19, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9A8B7C)");
    g_assert_cmpint(r.when.year, ==, 2026);
    g_assert_true(r.when.has_zone);
    g_assert_cmpint(r.when.zone_s, ==, 3600);
    g_assert_cmpint(r.when.usec, ==, 123456);
    g_assert_cmpint(mx_logtime_us(&r.when, 0, 0), ==, 1796281201123456LL);
    g_assert_cmpstr(r.relay_name, ==, "mx.example.net");
    assert_ip(&r, "2001:db8:3::25");
    g_assert_cmpuint(r.port, ==, 2525);
    g_assert_cmpstr(r.status, ==, "sent");
    g_assert_cmpstr(r.dsn, ==, "2.0.0");
    g_assert_cmpstr(r.text, ==, "250 2.0.0 Ok: queued as 9A8B7C");
    g_assert_cmpfloat(r.delays[3], ==, 0.19);
    mx_logrec_clear(&r);
    /* journald's short-iso-precise writes the zone as +0100. */
    r = parse_ok("2026-12-03T08:00:01.5+0100 gw postfix-out/lmtp[9]: 3F1B2C: to=<a@example.net>, "
                 "relay=lmtp.example.net[203.0.113.30]:24, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)");
    g_assert_cmpint(r.when.zone_s, ==, 3600);
    g_assert_cmpint(r.when.usec, ==, 500000);
    g_assert_cmpuint(r.port, ==, 24);
    mx_logrec_clear(&r);
}

static void test_postfix_notes(void)
{
    mx_logrec r = parse_ok("Dec  3 08:00:31 gw postfix/smtp[4242]: connect to mx.example.net[203.0.113.25]:25: "
                           "Connection refused");
    g_assert_cmpint(r.type, ==, MX_LOGREC_CONNECTION);
    g_assert_cmpstr(r.queue_id, ==, "");
    g_assert_null(r.recipient);
    assert_ip(&r, "203.0.113.25");
    g_assert_cmpuint(r.port, ==, 25);
    g_assert_cmpstr(r.text, ==, "Connection refused");
    mx_logrec_clear(&r);
    r = parse_ok("Dec  3 08:00:31 gw postfix/smtp[4242]: 4F2A1C3D5E: host mx.example.net[203.0.113.25] said: "
                 "421 4.7.0 Try again later (in reply to end of DATA command)");
    g_assert_cmpint(r.type, ==, MX_LOGREC_CONNECTION);
    g_assert_cmpstr(r.queue_id, ==, "4F2A1C3D5E");
    assert_ip(&r, "203.0.113.25");
    g_assert_cmpuint(r.port, ==, 0);
    mx_logrec_clear(&r);
    r = parse_ok("Dec  3 08:00:31 gw postfix/smtp[4242]: 4F2A1C3D5E: conversation with mx.example.net[203.0.113.25] "
                 "timed out while receiving the initial server greeting");
    assert_ip(&r, "203.0.113.25");
    mx_logrec_clear(&r);
}

static void test_postfix_qmgr_error(void)
{
    mx_logrec r = parse_ok("Dec  3 09:00:00 gw postfix/qmgr[12]: 4F2A1C3D5E: to=<bob@example.net>, relay=none, "
                           "delay=3600, delays=3600/0/0/0, dsn=4.4.1, status=expired, returned to sender");
    g_assert_cmpstr(r.status, ==, "expired");
    g_assert_cmpstr(r.text, ==, "returned to sender");
    g_assert_false(r.has_ip);
    mx_logrec_clear(&r);
    r = parse_ok("Dec  3 09:00:00 gw postfix/error[13]: 4F2A1C3D5E: to=<bob@example.net>, relay=none, delay=60, "
                 "delays=0/60/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to "
                 "mx.example.net[203.0.113.25]:25: Connection timed out)");
    assert_ip(&r, "203.0.113.25");
    mx_logrec_clear(&r);
}

static void test_lines_not_records(void)
{
    mx_logrec r;
    g_assert_cmpint(mx_maillog_parse_line("Dec  3 08:00:00 gw postfix/qmgr[12]: 4F2A1C3D5E: from=<a@example.org>, "
                                          "size=300, nrcpt=1 (queue active)", &r), ==, MX_LINE_IGNORED);
    g_assert_cmpint(mx_maillog_parse_line("Dec  3 08:00:00 gw postfix/smtpd[12]: connect from unknown[198.51.100.7]",
                                          &r), ==, MX_LINE_IGNORED);
    g_assert_cmpint(mx_maillog_parse_line("Dec  3 08:00:00 gw kernel: eth0 link up", &r), ==, MX_LINE_UNKNOWN);
    g_assert_cmpint(mx_maillog_parse_line("hello world", &r), ==, MX_LINE_UNKNOWN);
    g_assert_cmpint(mx_maillog_parse_line("", &r), ==, MX_LINE_UNKNOWN);
    g_assert_cmpint(mx_maillog_parse_line("Dez 33 99:00:00 gw postfix/smtp[1]: x", &r), ==, MX_LINE_UNKNOWN);
    /* to= with its status cut off. */
    g_assert_cmpint(mx_maillog_parse_line("Dec  3 08:00:00 gw postfix/smtp[12]: 4F2A1C3D5E: to=<bob@example.net>, "
                                          "relay=mx.example.net[203.0.113.25]:25, delay=0.1", &r), ==, MX_LINE_DAMAGED);
    g_assert_cmpint(mx_maillog_parse_line("Dec  3 08:00:00 gw postfix/smtp[12]: connect to nowhere: x", &r), ==,
                    MX_LINE_DAMAGED);
    g_assert_cmpint(mx_maillog_parse_line("2026-12-03 08:00:01 1rABCD-0001XY-AB =>", &r), ==, MX_LINE_DAMAGED);
    g_assert_cmpint(mx_maillog_parse_line("2026-12-03 08:00:01 1rABCD-0001XY-AB <= a@example.org H=(x) [198.51.100.7] "
                                          "P=esmtp S=300", &r), ==, MX_LINE_IGNORED);
}

/* ---- Exim ------------------------------------------------------------------------- */

static void test_exim(void)
{
    mx_logrec r = parse_ok("2026-12-03 08:00:01 1rABCD-0001XY-AB => bob@example.net R=dnslookup T=remote_smtp "
                           "H=mx.example.net [203.0.113.25]:25 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no "
                           "C=\"250 2.0.0 Ok: queued as 9A8B7C\"");
    g_assert_cmpint(r.mta, ==, MX_MTA_EXIM);
    g_assert_cmpint(r.type, ==, MX_LOGREC_DELIVERY);
    g_assert_cmpint(r.when.year, ==, 2026);
    g_assert_false(r.when.has_zone);
    g_assert_cmpstr(r.queue_id, ==, "1rABCD-0001XY-AB");
    g_assert_cmpstr(r.recipient, ==, "bob@example.net");
    g_assert_cmpstr(r.relay_name, ==, "mx.example.net");
    assert_ip(&r, "203.0.113.25");
    g_assert_cmpuint(r.port, ==, 25);
    g_assert_cmpstr(r.status, ==, "sent");
    g_assert_cmpstr(r.text, ==, "250 2.0.0 Ok: queued as 9A8B7C");
    mx_logrec_clear(&r);

    r = parse_ok("2026-12-03 08:00:31 +0100 1rABCD-0001XY-AB == bob@example.net R=dnslookup T=remote_smtp "
                 "defer (110): Connection timed out");
    g_assert_true(r.when.has_zone);
    g_assert_cmpint(r.when.zone_s, ==, 3600);
    g_assert_cmpstr(r.status, ==, "deferred");
    g_assert_cmpstr(r.text, ==, "defer (110): Connection timed out");
    g_assert_false(r.has_ip);
    mx_logrec_clear(&r);

    r = parse_ok("2026-12-03 08:00:31.250 [1234] 1rABCD-0001XY-AB ** bob@example.net R=dnslookup T=remote_smtp "
                 "H=mx.example.net [203.0.113.25]: SMTP error from remote mail server after RCPT TO:<bob@example.net>: "
                 "550 5.1.1 no such user");
    g_assert_cmpint(r.when.usec, ==, 250000);
    g_assert_cmpstr(r.status, ==, "bounced");
    assert_ip(&r, "203.0.113.25");
    g_assert_cmpuint(r.port, ==, 0);
    g_assert_cmpstr(r.text, ==, "SMTP error from remote mail server after RCPT TO:<bob@example.net>: 550 5.1.1 no such user");
    mx_logrec_clear(&r);

    /* The connection line before a defer (Exim 4.9x, new-style id). */
    r = parse_ok("2026-12-03 08:00:31 1rABCD-000000000A-AbCd mx.example.net [203.0.113.25] Connection refused");
    g_assert_cmpint(r.type, ==, MX_LOGREC_CONNECTION);
    g_assert_cmpstr(r.queue_id, ==, "1rABCD-000000000A-AbCd");
    assert_ip(&r, "203.0.113.25");
    g_assert_cmpstr(r.text, ==, "Connection refused");
    g_assert_cmpuint(r.process, !=, 0);
    mx_logrec_clear(&r);
    r = parse_ok("2026-12-03 08:00:31 1rABCD-0001XY-AB H=mx.example.net [203.0.113.25]:2525 Connection timed out");
    g_assert_cmpuint(r.port, ==, 2525);
    g_assert_cmpstr(r.text, ==, "Connection timed out");
    mx_logrec_clear(&r);
}

/* ---- Sendmail (documented lines) ----------------------------------------------------- */

static void test_sendmail_documented(void)
{
    /* DOCUMENTED: the shape sendmail 8 logs for a connect timeout (op guide, mailing lists). */
    mx_logrec r = parse_ok("Sep  9 08:33:22 gw sm-mta[10438]: p879AR6l014283: to=<bob@example.net>, "
                           "ctladdr=<www-data@gw.example.org> (33/33), delay=1+17:52:54, xdelay=00:00:42, "
                           "mailer=esmtp, pri=22620571, relay=mx.example.net. [203.0.113.25], dsn=4.0.0, "
                           "stat=Deferred: Connection timed out with mx.example.net.");
    g_assert_cmpint(r.mta, ==, MX_MTA_SENDMAIL);
    g_assert_cmpstr(r.queue_id, ==, "p879AR6l014283");
    g_assert_cmpuint(r.process, ==, 10438);
    g_assert_cmpstr(r.recipient, ==, "bob@example.net");
    g_assert_cmpstr(r.relay_name, ==, "mx.example.net.");
    assert_ip(&r, "203.0.113.25");
    g_assert_cmpfloat(r.delay, ==, 86400 + 17 * 3600 + 52 * 60 + 54);
    g_assert_cmpstr(r.dsn, ==, "4.0.0");
    g_assert_cmpstr(r.status, ==, "deferred");
    g_assert_cmpstr(r.text, ==, "Deferred: Connection timed out with mx.example.net.");
    mx_logrec_clear(&r);
    /* DOCUMENTED: a delivery, and several recipients on one line. */
    r = parse_ok("Nov 13 06:57:34 gw sendmail[16397]: jADBq5Ac016378: to=<a@example.net>,<b@example.net>, "
                 "delay=00:04:57, xdelay=00:04:57, mailer=esmtp, pri=424109, relay=mx.example.net. [203.0.113.25], "
                 "dsn=2.0.0, stat=Sent (jADBq5Ac016378 Message accepted for delivery)");
    g_assert_cmpstr(r.recipient, ==, "a@example.net,b@example.net");
    g_assert_cmpstr(r.status, ==, "sent");
    g_assert_cmpfloat(r.delay, ==, 297);
    mx_logrec_clear(&r);
    /* DOCUMENTED: relay= without an address when the connection never came up. */
    r = parse_ok("Apr 12 11:21:36 gw sendmail[7889]: u3B84xT9931967: to=<bob@example.net>, delay=18:16:37, "
                 "xdelay=00:00:00, mailer=esmtp, pri=43710276, relay=example.net., dsn=4.0.0, "
                 "stat=Deferred: Connection timed out with example.net.");
    g_assert_false(r.has_ip);
    g_assert_cmpstr(r.relay_name, ==, "example.net.");
    mx_logrec_clear(&r);
}

/* ---- files ----------------------------------------------------------------------------- */

static char *write_file(const char *dir, const char *name, const char *text, bool gzip)
{
    char *path = g_build_filename(dir, name, NULL);
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        gzputs(gz, text);
        gzclose(gz);
    } else {
        g_assert_true(g_file_set_contents(path, text, -1, NULL));
    }
    return path;
}

static void test_files_rotated_gzip(void)
{
    g_autofree char *dir = g_dir_make_tmp("mxray-maillog-XXXXXX", NULL);
    /* Rotated: the older attempt in a gzip file given second. */
    g_autofree char *newer = write_file(dir, "mail.log",
        "Dec  3 08:10:00 gw postfix/smtp[5]: connect to mx.example.net[203.0.113.25]:25: Connection timed out\n"
        "Dec  3 08:10:00 gw postfix/smtp[5]: 4F2A1C3D5E: to=<bob@example.net>, relay=none, delay=630, "
        "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.net[203.0.113.25]:25: Connection timed out)\n"
        "\x01\x02 binary junk\n", false);
    g_autofree char *older = write_file(dir, "mail.log.1.gz",
        "Dec  3 08:00:00 gw postfix/smtp[4]: 4F2A1C3D5E: to=<bob@example.net>, relay=none, delay=30, "
        "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.net[203.0.113.25]:25: Connection timed out)\n"
        "Dec  3 08:00:00 gw postfix/smtp[4]: 4F2A1C3D5E: to=<carol@example.net>, relay=none, delay=30, "
        "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.example.net[203.0.113.25]:25: Connection timed out)\n",
        true);
    mx_maillog *m = mx_maillog_new();
    g_assert_true(mx_maillog_read_file(m, newer, NULL));
    g_assert_true(mx_maillog_read_file(m, older, NULL));
    g_assert_cmpuint(m->records->len, ==, 4);
    const mx_maillog_file_stats *f0 = &g_array_index(m->files, mx_maillog_file_stats, 0);
    const mx_maillog_file_stats *f1 = &g_array_index(m->files, mx_maillog_file_stats, 1);
    g_assert_cmpuint(f0->lines, ==, 3);
    g_assert_cmpuint(f0->unknown, ==, 1);
    g_assert_cmpuint(f0->first_unknown, ==, 3);
    g_assert_null(f0->error);
    g_assert_cmpuint(f1->records, ==, 2);
    g_assert_null(f1->error);
    /* The note is tied to the status line after it; the second recipient to the first. */
    const mx_logrec *r = (const mx_logrec *)m->records->data;
    g_assert_cmpint(r[0].attempt, ==, 1);
    g_assert_cmpint(r[1].attempt, ==, 1);
    g_assert_cmpint(r[2].attempt, ==, 2);
    g_assert_cmpint(r[3].attempt, ==, 2);
    g_assert_cmpuint(r[2].file, ==, 1);
    g_assert_cmpuint(r[3].line, ==, 2);

    GError *error = NULL;
    g_autofree char *missing = g_build_filename(dir, "nope.log", NULL);
    g_assert_false(mx_maillog_read_file(m, missing, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
    /* A gzip file cut short: what was read counts, the damage is named. */
    g_autofree char *cut = g_build_filename(dir, "cut.gz", NULL);
    {
        g_autofree char *data = NULL;
        gsize len = 0;
        g_assert_true(g_file_get_contents(older, &data, &len, NULL));
        g_assert_true(g_file_set_contents(cut, data, (gssize)(len - 12), NULL));
    }
    g_assert_true(mx_maillog_read_file(m, cut, NULL));
    g_assert_nonnull(g_array_index(m->files, mx_maillog_file_stats, 2).error);
    mx_maillog_free(m);
    g_unlink(newer);
    g_unlink(older);
    g_unlink(cut);
    g_rmdir(dir);
}

/* ---- join -------------------------------------------------------------------------------- */

#define T0 1796284800000000LL   /* 2026-12-03 08:00:00 UTC */

static mx_session *session(uint64_t id, const char *server, int64_t start, int64_t end, mx_kind kind,
                           mx_outcome outcome)
{
    mx_session *s = mx_session_new();
    s->id = id;
    g_assert_true(mx_addr_parse(server, &s->server_ip));
    g_assert_true(mx_addr_parse("198.51.100.10", &s->client_ip));
    s->server_port = 25;
    s->client_port = (uint16_t)(40000 + id);
    s->start_us = start;
    s->end_us = end;
    s->verdict.kind = kind;
    s->verdict.outcome = outcome;
    g_string_assign(s->verdict.summary, mx_kind_name(kind));
    return s;
}

static mx_maillog *log_from(const char *text)
{
    g_autofree char *dir = g_dir_make_tmp("mxray-join-XXXXXX", NULL);
    g_autofree char *path = write_file(dir, "mail.log", text, false);
    mx_maillog *m = mx_maillog_new();
    g_assert_true(mx_maillog_read_file(m, path, NULL));
    g_unlink(path);
    g_rmdir(dir);
    return m;
}

static void add(mx_join *j, mx_session *s)
{
    mx_join_add_session(j, s);
    mx_session_free(s);
}

/* A log in local time (+01:00, named by --maillog-tz) whose clock is 3 min
 * 7 s ahead of the capture's still joins: the refusals (written at once)
 * give the offset, the timeouts follow it. */
static void test_join_offset_local_time(void)
{
    mx_maillog *m = log_from(
        /* 09:03:07 local = 08:03:07 UTC = capture 08:00:00 + 187 s offset */
        "Dec  3 09:03:07 gw postfix/smtp[1]: connect to mx.example.net[203.0.113.25]:25: Connection refused\n"
        "Dec  3 09:03:07 gw postfix/smtp[1]: AAA111: to=<bob@example.net>, relay=none, delay=0.1, delays=0/0/0.1/0, "
        "dsn=4.4.1, status=deferred (connect to mx.example.net[203.0.113.25]:25: Connection refused)\n"
        "Dec  3 09:13:37 gw postfix/smtp[2]: connect to mx2.example.net[203.0.113.26]:25: Connection timed out\n"
        "Dec  3 09:13:37 gw postfix/smtp[2]: BBB222: to=<carol@example.net>, relay=none, delay=30, delays=0/0/30/0, "
        "dsn=4.4.1, status=deferred (connect to mx2.example.net[203.0.113.26]:25: Connection timed out)\n"
        "Dec  3 09:19:47 gw postfix/smtp[3]: connect to mx.example.net[203.0.113.25]:25: Connection timed out\n"
        "Dec  3 09:19:47 gw postfix/smtp[3]: CCC333: to=<dave@example.net>, relay=none, delay=30, delays=0/0/30/0, "
        "dsn=4.4.1, status=deferred (connect to mx.example.net[203.0.113.25]:25: Connection timed out)\n"
        "Dec  3 09:10:00 gw postfix/smtp[4]: connect to mx9.example.net[203.0.113.99]:25: Connection timed out\n");
    g_autoptr(GError) error = NULL;
    mx_join *j = mx_join_new(m, "+01:00", &error);
    g_assert_no_error(error);
    /* refused at once; 203.0.113.26: SYNs for 15 s, logged 30 s after the first. */
    add(j, session(1, "203.0.113.25", T0, T0 + 5000, MX_KIND_CONNECT_REFUSED, MX_OUTCOME_FAILED));
    add(j, session(2, "203.0.113.26", T0 + 600000000, T0 + 615000000, MX_KIND_SYN_TIMEOUT, MX_OUTCOME_FAILED));
    /* 203.0.113.25 again: the log says timed out, the packets a RST (a finding). */
    add(j, session(3, "203.0.113.25", T0 + 1000000000, T0 + 1000004000, MX_KIND_CONNECT_REFUSED, MX_OUTCOME_FAILED));
    add(j, session(4, "203.0.113.40", T0 + 1100000000, T0 + 1100004000, MX_KIND_OK, MX_OUTCOME_DELIVERED));
    mx_join_run(j);
    /* 203.0.113.25 has two attempts and two sessions, 203.0.113.26 one and
     * one: three pairs; the second of 203.0.113.25 (log "timed out", packets
     * a RST) disagrees and tells nothing of the clocks, so the offset comes
     * from the first, a refusal written at once, 187 s after its last packet. */
    g_assert_cmpuint(j->offset_pairs, ==, 1);
    g_assert_false(j->offset_from_timeouts);
    g_assert_cmpint(j->offset_us, ==, 187000000 - 5000);
    g_assert_true(j->year_needed);
    g_assert_cmpint(j->year, ==, 2026);
    g_assert_cmpuint(j->units, ==, 4);
    g_assert_cmpuint(j->joined_units, ==, 3);
    g_assert_cmpuint(mx_join_session_of(j, 0)->id, ==, 1);
    g_assert_cmpuint(mx_join_session_of(j, 1)->id, ==, 1);   /* the status line shares its note's */
    g_assert_cmpuint(mx_join_session_of(j, 2)->id, ==, 2);
    g_assert_cmpuint(mx_join_session_of(j, 4)->id, ==, 3);
    g_assert_null(mx_join_session_of(j, 6));
    const mx_join_link *l = &g_array_index(j->links, mx_join_link, 6);
    g_assert_nonnull(strstr(l->unmatched, "no session to this address"));
    g_assert_cmpuint(j->findings, ==, 1);
    l = &g_array_index(j->links, mx_join_link, 4);
    g_assert_nonnull(l->finding);
    g_assert_nonnull(strstr(l->finding, "timed out"));
    g_assert_nonnull(strstr(l->finding, "a RST"));
    g_assert_null(g_array_index(j->links, mx_join_link, 0).finding);

    /* The queue: three entries in time order, session 4 named by no line. */
    mx_queue *q = mx_queue_new(j);
    mx_json_out *w = mx_json_out_new(NULL, false);
    mx_json_begin_object(w);
    mx_queue_json(w, q);
    mx_json_end_object(w);
    g_assert_null(mx_json_out_error(w));
    /* The whole document, byte for byte (as json-glib wrote it): the file
     * name is the temporary log's. */
    const char *f = g_array_index(m->files, mx_maillog_file_stats, 0).name;
    g_autofree char *want = g_strdup_printf(
        "{\"maillog\":{\"files\":[{\"name\":\"%s\",\"lines\":7,\"records\":7,\"ignored\":0,\"unknown\":0,"
        "\"damaged\":0,\"first_unknown\":null,\"first_damaged\":null,\"error\":null}],\"time_zone\":\"+01:00\","
        "\"year\":2026,\"clock_offset_s\":186.995,\"offset_pairs\":1,\"offset_basis\":\"immediate\","
        "\"records_dropped\":0,\"sessions_dropped\":0,\"findings\":1,\"sessions_without_log\":[4]},"
        "\"queue\":["
        "{\"queue_id\":\"AAA111\",\"recipient\":\"bob@example.net\",\"mta\":\"postfix\",\"status\":\"deferred\","
        "\"dsn\":\"4.4.1\",\"attempts\":[{\"time\":\"2026-12-03T08:00:00.005000Z\",\"file\":\"%s\",\"line\":2,"
        "\"status\":\"deferred\",\"dsn\":\"4.4.1\","
        "\"text\":\"connect to mx.example.net[203.0.113.25]:25: Connection refused\",\"delay\":0.1,"
        "\"delays\":[0,0,0.1,0],\"relay\":{\"name\":\"mx.example.net\",\"ip\":\"203.0.113.25\",\"port\":25},"
        "\"connections\":[{\"line\":1,\"relay\":{\"name\":\"mx.example.net\",\"ip\":\"203.0.113.25\",\"port\":25},"
        "\"text\":\"Connection refused\",\"session\":1,\"kind\":\"connect_refused\",\"outcome\":\"failed\","
        "\"summary\":\"connect_refused\",\"unmatched\":null,\"finding\":null}]}]},"
        "{\"queue_id\":\"BBB222\",\"recipient\":\"carol@example.net\",\"mta\":\"postfix\",\"status\":\"deferred\","
        "\"dsn\":\"4.4.1\",\"attempts\":[{\"time\":\"2026-12-03T08:10:30.005000Z\",\"file\":\"%s\",\"line\":4,"
        "\"status\":\"deferred\",\"dsn\":\"4.4.1\","
        "\"text\":\"connect to mx2.example.net[203.0.113.26]:25: Connection timed out\",\"delay\":30,"
        "\"delays\":[0,0,30,0],\"relay\":{\"name\":\"mx2.example.net\",\"ip\":\"203.0.113.26\",\"port\":25},"
        "\"connections\":[{\"line\":3,\"relay\":{\"name\":\"mx2.example.net\",\"ip\":\"203.0.113.26\",\"port\":25},"
        "\"text\":\"Connection timed out\",\"session\":2,\"kind\":\"syn_timeout\",\"outcome\":\"failed\","
        "\"summary\":\"syn_timeout\",\"unmatched\":null,\"finding\":null}]}]},"
        "{\"queue_id\":\"CCC333\",\"recipient\":\"dave@example.net\",\"mta\":\"postfix\",\"status\":\"deferred\","
        "\"dsn\":\"4.4.1\",\"attempts\":[{\"time\":\"2026-12-03T08:16:40.005000Z\",\"file\":\"%s\",\"line\":6,"
        "\"status\":\"deferred\",\"dsn\":\"4.4.1\","
        "\"text\":\"connect to mx.example.net[203.0.113.25]:25: Connection timed out\",\"delay\":30,"
        "\"delays\":[0,0,30,0],\"relay\":{\"name\":\"mx.example.net\",\"ip\":\"203.0.113.25\",\"port\":25},"
        "\"connections\":[{\"line\":5,\"relay\":{\"name\":\"mx.example.net\",\"ip\":\"203.0.113.25\",\"port\":25},"
        "\"text\":\"Connection timed out\",\"session\":3,\"kind\":\"connect_refused\",\"outcome\":\"failed\","
        "\"summary\":\"connect_refused\",\"unmatched\":null,\"finding\":\"the log says \\\"Connection timed out\\\" "
        "but the packets of session #3 show a RST (connect_refused: connect_refused)\"}]}]}"
        "]}",
        f, f, f, f);
    g_assert_cmpstr(mx_json_out_text(w, NULL), ==, want);
    mx_json_out_free(w);
    mx_queue_free(q);
    mx_join_free(j);
    mx_maillog_free(m);
}

/* Two messages to one server a second apart, the log's clock minutes
 * ahead: each line goes to the session it reports, not to the next one that
 * started within the slack for the log's whole seconds (a real capture,
 * pcaps/postfix-syslog, had them crossed, each with a false finding). */
static void test_join_close_sessions(void)
{
    mx_maillog *m = log_from(
        "Dec  3 08:03:17 gw postfix/smtp[1]: AAA111: to=<bob@example.net>, relay=mx.example.net[203.0.113.25]:25, "
        "delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X1)\n"
        "Dec  3 08:03:18 gw postfix/smtp[1]: BBB222: to=<later@example.net>, relay=mx.example.net[203.0.113.25]:25, "
        "delay=0.2, delays=0/0/0/0.2, dsn=4.2.0, status=deferred (host mx.example.net[203.0.113.25] said: "
        "450 4.2.0 greylisted (in reply to RCPT TO command))\n");
    g_autoptr(GError) error = NULL;
    mx_join *j = mx_join_new(m, "UTC", &error);
    g_assert_no_error(error);
    /* Lines written 197 s after the sessions' ends (0.9 s and 1.95 s past
     * 08:00:00: 08:03:17.9 and 08:03:18.95, stamped :17 and :18). */
    add(j, session(1, "203.0.113.25", T0 + 400000, T0 + 900000, MX_KIND_OK, MX_OUTCOME_DELIVERED));
    add(j, session(2, "203.0.113.25", T0 + 1800000, T0 + 1950000, MX_KIND_RCPT_REJECTED, MX_OUTCOME_REJECTED));
    mx_join_run(j);
    g_assert_cmpuint(j->offset_pairs, ==, 2);
    g_assert_cmpint(j->offset_us, ==, 196100000);
    g_assert_cmpuint(mx_join_session_of(j, 0)->id, ==, 1);
    g_assert_cmpuint(mx_join_session_of(j, 1)->id, ==, 2);
    g_assert_cmpuint(j->findings, ==, 0);
    mx_join_free(j);
    mx_maillog_free(m);
}

/* Postfix gave up after 3 s ("timed out") on a slow path whose RSTs came
 * 4-6 s after the SYNs (pcaps/postfix-late-rst): a finding, and no clock
 * offset from that pair (the line was not written at the last packet). */
static void test_join_late_rst(void)
{
    mx_maillog *m = log_from(
        "Dec  3 08:00:03 gw postfix/smtp[1]: connect to 203.0.113.25[203.0.113.25]:25: Connection timed out\n"
        "Dec  3 08:00:03 gw postfix/smtp[1]: AAA111: to=<bob@example.net>, relay=none, delay=3.2, "
        "delays=0.1/0/3/0, dsn=4.4.1, status=deferred (connect to 203.0.113.25[203.0.113.25]:25: "
        "Connection timed out)\n");
    g_autoptr(GError) error = NULL;
    mx_join *j = mx_join_new(m, "UTC", &error);
    g_assert_no_error(error);
    add(j, session(1, "203.0.113.25", T0, T0 + 6100000, MX_KIND_CONNECT_REFUSED, MX_OUTCOME_FAILED));
    mx_join_run(j);
    g_assert_cmpuint(j->offset_pairs, ==, 0);
    g_assert_cmpint(j->offset_us, ==, 0);
    g_assert_cmpuint(mx_join_session_of(j, 1)->id, ==, 1);
    g_assert_cmpuint(j->findings, ==, 1);
    mx_join_free(j);
    mx_maillog_free(m);
}

static void test_join_bad_zone(void)
{
    mx_maillog *m = mx_maillog_new();
    GError *error = NULL;
    g_assert_null(mx_join_new(m, "Not/AZone", &error));
    g_assert_nonnull(error);
    g_error_free(error);
    mx_maillog_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/maillog/postfix/deferred-syslog", test_postfix_deferred_syslog);
    g_test_add_func("/maillog/postfix/sent-rfc3339", test_postfix_sent_rfc3339);
    g_test_add_func("/maillog/postfix/busybox", test_postfix_busybox);
    g_test_add_func("/maillog/postfix/notes", test_postfix_notes);
    g_test_add_func("/maillog/postfix/qmgr-error", test_postfix_qmgr_error);
    g_test_add_func("/maillog/lines-not-records", test_lines_not_records);
    g_test_add_func("/maillog/exim", test_exim);
    g_test_add_func("/maillog/sendmail-documented", test_sendmail_documented);
    g_test_add_func("/maillog/files-rotated-gzip", test_files_rotated_gzip);
    g_test_add_func("/join/offset-local-time", test_join_offset_local_time);
    g_test_add_func("/join/close-sessions", test_join_close_sessions);
    g_test_add_func("/join/late-rst", test_join_late_rst);
    g_test_add_func("/join/bad-zone", test_join_bad_zone);
    return g_test_run();
}
