/* SPDX-License-Identifier: BSD-3-Clause */
/* diagnose-smtp.c: SMTP-phase rules, in the order the session happened.
 *
 * delivered -> mail loop -> greeting -> EHLO -> STARTTLS -> rejections ->
 * unanswered commands and stalled transfers -> the client's own close ->
 * clean or unfinished.  The first rule that matches writes the verdict;
 * the warnings (smtp_inspection, slow_greeting) are added to any verdict.
 * Server text reaches reports only as smtp.c escaped it.
 */
#include "diagnose-smtp.h"

#include <math.h>
#include <string.h>

#include "smtp.h"

typedef struct dctx {
    const mx_flow *f;
    const struct mx_smtp *s;     /* NULL: the server never sent a byte, nor the client */
    mx_verdict *v;
    char ip[MX_ADDR_BUF];
    char server[MX_ADDR_BUF + 80];  /* "mx.example.org (203.0.113.9)" or the address */
    mx_frame_ref connected;      /* handshake completed (or the first packet) */
    mx_frame_ref client_close;   /* client's first FIN or RST; frame 0 none */
    const char *client_close_how;
    mx_frame_ref server_close;
    int64_t end_us;              /* last packet of the flow */
    bool midstream;              /* the capture began after the greeting */
} dctx;

static double secs(int64_t us) { return (double)us / 1e6; }

static mx_frame_ref earliest(mx_frame_ref a, mx_frame_ref b)
{
    if (a.frame == 0)
        return b;
    if (b.frame == 0)
        return a;
    return b.ts_us < a.ts_us ? b : a;
}

/* ---- timers ---------------------------------------------------------------- */

/* Client timeouts a wait may match (RFC 5321 4.5.3.2 and MTA defaults). */
static const struct timer_row {
    mx_phase phase;
    int secs;
    const char *what;
} timers[] = {
    { MX_PHASE_GREETING, 300, "RFC 5321 4.5.3.2 initial 220 (5 min), Postfix smtp_helo_timeout (300 s), "
                              "Exim command_timeout (5 min), Sendmail Timeout.initial (5 min)" },
    { MX_PHASE_EHLO, 300, "Postfix smtp_helo_timeout (300 s), Exim command_timeout (5 min), "
                          "Sendmail Timeout.helo (5 min)" },
    { MX_PHASE_TLS, 300, "Postfix smtp_starttls_timeout (300 s), Exim command_timeout (5 min)" },
    { MX_PHASE_MAIL, 300, "RFC 5321 4.5.3.2 MAIL (5 min), Postfix smtp_mail_timeout (300 s), Exim command_timeout (5 min)" },
    { MX_PHASE_MAIL, 600, "Sendmail Timeout.mail (10 min)" },
    { MX_PHASE_RCPT, 300, "RFC 5321 4.5.3.2 RCPT (5 min), Postfix smtp_rcpt_timeout (300 s), Exim command_timeout (5 min)" },
    { MX_PHASE_RCPT, 3600, "Sendmail Timeout.rcpt (1 h)" },
    { MX_PHASE_DATA, 120, "RFC 5321 4.5.3.2 DATA initiation (2 min), Postfix smtp_data_init_timeout (120 s)" },
    { MX_PHASE_DATA, 180, "RFC 5321 4.5.3.2 data block (3 min), Postfix smtp_data_xfer_timeout (180 s)" },
    { MX_PHASE_DATA, 300, "Exim data_timeout / command_timeout (5 min), Sendmail Timeout.datainit (5 min)" },
    { MX_PHASE_DATA, 3600, "Sendmail Timeout.datablock (1 h)" },
    { MX_PHASE_DATA_END, 600, "RFC 5321 4.5.3.2 end of data (10 min), Postfix smtp_data_done_timeout (600 s), "
                              "Exim final_timeout (10 min)" },
    { MX_PHASE_DATA_END, 3600, "Sendmail Timeout.datafinal (1 h)" },
    { MX_PHASE_QUIT, 300, "Postfix smtp_quit_timeout (300 s)" },
};

char *mx_describe_smtp_timer(mx_phase phase, int64_t waited_us)
{
    double w = secs(waited_us);
    for (size_t i = 0; i < G_N_ELEMENTS(timers); i++) {
        double t = timers[i].secs;
        double tol = fmax(2.0, t * 0.05);
        if (timers[i].phase == phase && fabs(w - t) <= tol)
            return g_strdup_printf("matches %s", timers[i].what);
    }
    return NULL;
}

/* " (matches ...)" or "", for a sentence. */
static char *timer_note(mx_phase phase, int64_t waited_us)
{
    char *t = mx_describe_smtp_timer(phase, waited_us);
    char *s = t ? g_strdup_printf(" (%s)", t) : g_strdup("");
    g_free(t);
    return s;
}

/* ---- small facts ------------------------------------------------------------- */

static bool is_client_ack_past(const mx_flow *f, uint64_t offset)
{
    /* acked_bytes is 32-bit: compare modulo 2^32, as TCP does. */
    uint32_t acked = mx_flow_acked_bytes(f, MX_DIR_C2S);
    return acked != 0 && (int32_t)(acked - (uint32_t)offset) >= 0;
}

static const mx_smtp_reply *reply_at(const struct mx_smtp *s, guint i)
{
    return &g_array_index(s->replies, mx_smtp_reply, i);
}

static const mx_smtp_cmd *first_pending(const struct mx_smtp *s)
{
    return s && s->pending->len ? &g_array_index(s->pending, mx_smtp_cmd, 0) : NULL;
}

static const mx_smtp_reply *greeting_reply(const struct mx_smtp *s)
{
    for (guint i = 0; i < s->replies->len; i++)
        if (reply_at(s, i)->verb == MX_SMTP_GREETING)
            return reply_at(s, i);
    return NULL;
}

/* First word after the code: the server's own name in a greeting or EHLO reply
 * (RFC 5321 4.2: "220 " Domain, "250 " Domain). */
static void first_word(const char *line, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!line || strlen(line) < 4)
        return;
    const char *p = line + 4;
    while (*p == ' ')
        p++;
    size_t n = 0;
    while (p[n] && p[n] != ' ' && n + 1 < outlen) {
        out[n] = p[n];
        n++;
    }
    out[n] = '\0';
}

static bool text_has(const char *text, const char *const *words)
{
    if (!text)
        return false;
    char *low = g_ascii_strdown(text, -1);
    bool hit = false;
    for (size_t i = 0; words[i] && !hit; i++)
        hit = strstr(low, words[i]) != NULL;
    g_free(low);
    return hit;
}

static const char *const loop_words[] = {
    "loops back to myself", "mail loop", "routing loop", "loop detected", "too many hops",
    "hop count exceeded", "hop count", NULL,
};
static const char *const greylist_words[] = {
    "greylist", "graylist", "grey-list", "gray-list", "grey list", "gray list", "greylisted", NULL,
};
static const char *const relay_words[] = {
    "relay access denied", "relaying denied", "relay not permitted", "not permitted to relay",
    "unable to relay", "relaying not allowed", "we do not relay", NULL,
};
static const char *const reputation_words[] = {
    "blocklist", "blacklist", "block list", "black list", "spamhaus", "spamcop", "dnsbl", " rbl",
    "reputation", "reverse dns", "reverse lookup", "ptr", "rdns", "client host rejected",
    "cannot find your hostname", "cannot find your reverse hostname", "listed", "poor reputation", NULL,
};
static const char *const unknown_user_words[] = {
    "user unknown", "unknown user", "no such user", "mailbox unavailable", "does not exist",
    "recipient not found", "invalid recipient", "unknown recipient", NULL,
};
static const char *const helo_words[] = {
    "helo", "ehlo", "hostname", "host name", "fqdn", "fully-qualified", "fully qualified",
    "host not found", "not resolve", "does not resolve", NULL,
};

static bool is_loop_reply(const mx_smtp_reply *r)
{
    return r->code >= 400 &&
           (strcmp(r->enhanced, "5.4.6") == 0 || strcmp(r->enhanced, "4.4.6") == 0 ||
            text_has(r->text, loop_words));
}

static void name_server(dctx *c)
{
    mx_addr_str(&c->f->key.server, c->ip, sizeof c->ip);
    char host[80];
    host[0] = '\0';
    if (c->s && c->s->greeting.seen && c->s->greeting.code / 100 == 2 && !c->s->greeting.masked)
        first_word(c->s->greeting.text, host, sizeof host);
    if (host[0] && strchr(host, '.') && strcmp(host, c->ip) != 0)
        g_snprintf(c->server, sizeof c->server, "%s (%s)", host, c->ip);
    else
        g_strlcpy(c->server, c->ip, sizeof c->server);
}

/* How long the client waited from at until it closed (or the capture ended). */
static int64_t waited_from(const dctx *c, const mx_frame_ref *at)
{
    int64_t until = c->client_close.frame ? c->client_close.ts_us : c->end_us;
    return until > at->ts_us ? until - at->ts_us : 0;
}

/* Sets the outcome for "the client is waiting for something": failed when it
 * gave up, or when the capture shows a wait no healthy server causes;
 * otherwise the capture simply ended too early.  Returns false for the latter
 * (the caller then writes an incomplete verdict). */
static bool client_gave_up_or_long(const dctx *c, const mx_frame_ref *since)
{
    return c->client_close.frame != 0 || c->server_close.frame != 0 ||
           waited_from(c, since) >= MX_SMTP_STALL_US;
}

/* The client's bytes up to end_offset were never ACKed and it kept
 * sending them again after since: the path drops them, whatever the
 * client's own timer (a FIN queued behind them may never show). */
static bool lost_in_path(const dctx *c, uint64_t end_offset, const mx_frame_ref *since)
{
    const mx_dir_state *d = &c->f->dir[MX_DIR_C2S];
    return !is_client_ack_past(c->f, end_offset) && d->retransmits >= 2 &&
           d->last_retransmit.ts_us > since->ts_us;
}

static void set_incomplete(dctx *c, mx_phase phase, const mx_frame_ref *since, const char *what)
{
    mx_verdict *v = c->v;
    mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, phase, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    g_string_printf(v->summary, "The capture ends %.1f s after %s, with no answer from %s yet and the "
                    "client still connected.", secs(waited_from(c, since)), what, c->server);
    mx_verdict_evidence(v, since, "%s", what);
}

/* Evidence line for the client's close. */
static void evidence_client_close(dctx *c, const mx_frame_ref *since, mx_phase phase, const char *waiting_for)
{
    if (c->client_close.frame == 0) {
        return;
    }
    int64_t w = waited_from(c, since);
    char *note = timer_note(phase, w);
    mx_verdict_evidence(c->v, &c->client_close, "client gave up (%s) after waiting %.1f s for %s%s",
                        c->client_close_how, secs(w), waiting_for, note);
    g_free(note);
}

/* The client closed, nothing came from the server after that, and the
 * capture ends within a round trip or so: whatever the server would have
 * said is after the capture's end, not absent.  A wait as long as a stall
 * proves the silence anyway. */
static bool capture_ends_at_client_close(const dctx *c)
{
    if (c->client_close.frame == 0 || c->server_close.frame != 0)
        return false;
    const mx_dir_state *sd = &c->f->dir[MX_DIR_S2C];
    int64_t tail = c->end_us - c->client_close.ts_us;
    return sd->last_ts <= c->client_close.ts_us && tail < MX_CAPTURE_TAIL_US &&
           waited_from(c, &c->connected) < MX_SMTP_STALL_US;
}

/* Payload the server sent (its segments are in the capture) that the
 * capture did not keep: a snap length, or frames the capture lost while
 * the client's ACKs rose past them. */
static uint64_t server_bytes_uncaptured(const dctx *c)
{
    if (c->s)
        return c->s->gap_bytes[MX_DIR_S2C];
    return c->f->dir[MX_DIR_S2C].payload_bytes;
}

/* Kinds that rest on the server's silence, or on replies read in order:
 * unknowable when the server's bytes were not captured. */
static bool rests_on_server_bytes(const mx_verdict *v)
{
    switch (v->kind) {
    case MX_KIND_NO_GREETING:
    case MX_KIND_EHLO_NO_REPLY:
    case MX_KIND_EHLO_REJECTED:
    case MX_KIND_REPLY_TIMEOUT:
    case MX_KIND_CLIENT_ABORT:
    case MX_KIND_INCOMPLETE:
    case MX_KIND_TLS_FAILED:
        return true;
    case MX_KIND_DATA_STALL:
        return v->culprit.role == MX_ROLE_SERVER;
    default:
        return false;
    }
}

static void set_not_captured(dctx *c, uint64_t lost)
{
    mx_verdict *v = c->v;
    mx_phase phase = v->phase == MX_PHASE_NONE ? MX_PHASE_GREETING : v->phase;
    mx_verdict_clear(v);
    mx_verdict_init(v);
    mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, phase, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    g_string_printf(v->summary, "Payload not captured: %s sent %" G_GUINT64_FORMAT " bytes that the capture did not "
                    "keep (a snap length too short for them, or frames the capture dropped), so its replies cannot "
                    "be read. Payload not captured is not payload not sent: the session's outcome is unknown.",
                    c->server, lost);
    g_string_assign(v->advice, "Capture again with the full snap length (tcpdump -s 0, the default) and without "
                    "drops (a larger buffer, -B).");
    mx_verdict_evidence(v, &c->f->dir[MX_DIR_S2C].first_data, "server data whose payload is not in the capture");
    if (c->client_close.frame)
        mx_verdict_evidence(v, &c->client_close, "client closed (%s)", c->client_close_how);
}

/* Neither side's bytes are SMTP (nor TLS), on a connection whose handshake
 * is in the capture (so it cannot have begun inside a message body). */
static bool rule_not_smtp(dctx *c)
{
    const struct mx_smtp *s = c->s;
    if (!s || !c->f->saw_syn || s->tls.active || s->replies->len > 0 || s->commands > 0 ||
        !(s->midstream || s->bad_lines > 0))
        return false;
    mx_verdict *v = c->v;
    mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_GREETING, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    g_string_printf(v->summary, "Not SMTP: on this connection to %s port %u neither side speaks SMTP or TLS "
                    "(%" G_GUINT64_FORMAT " bytes from the client, %" G_GUINT64_FORMAT " from the server, no SMTP "
                    "command or reply among them); there is no mail session to judge.", c->server,
                    c->f->key.server_port, s->bytes[MX_DIR_C2S], s->bytes[MX_DIR_S2C]);
    g_string_printf(v->advice, "Some other protocol uses port %u here: check which program made this connection "
                    "and what listens on %s.", c->f->key.server_port, c->ip);
    if (c->f->dir[MX_DIR_C2S].first_data.frame)
        mx_verdict_evidence(v, &c->f->dir[MX_DIR_C2S].first_data, "client bytes that are no SMTP command");
    if (c->f->dir[MX_DIR_S2C].first_data.frame)
        mx_verdict_evidence(v, &c->f->dir[MX_DIR_S2C].first_data, "server bytes that are no SMTP reply");
    return true;
}

/* Replies were paired with commands on uncertain ground (smtp.c counts
 * why): whatever the verdict, it is not decisive. */
static void doubt_verdict(dctx *c)
{
    mx_verdict *v = c->v;
    if (v->culprit.confidence == MX_CONFIDENCE_HIGH)
        v->culprit.confidence = v->outcome == MX_OUTCOME_DELIVERED || v->outcome == MX_OUTCOME_OK
                                ? MX_CONFIDENCE_MEDIUM : MX_CONFIDENCE_LOW;
    mx_verdict_evidence(v, &c->s->pairing_doubt_at, "reply pairing uncertain from here (%u sign%s: a server line "
                        "too long or cut, a 3xx that answers no pending command, or client lines after a DATA "
                        "whose 354 is not in the capture)", c->s->pairing_doubts, c->s->pairing_doubts == 1 ? "" : "s");
}

/* ---- rules ------------------------------------------------------------------- */

static bool rule_delivered(dctx *c)
{
    const struct mx_smtp *s = c->s;
    if (!s || s->messages == 0)
        return false;
    mx_verdict *v = c->v;
    mx_verdict_set(v, MX_OUTCOME_DELIVERED, MX_KIND_OK, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_HIGH);
    const mx_smtp_reply *last = NULL;
    for (guint i = 0; i < s->replies->len; i++) {
        const mx_smtp_reply *r = reply_at(s, i);
        if ((r->verb == MX_SMTP_END_OF_DATA || r->verb == MX_SMTP_BDAT) && r->code / 100 == 2)
            last = r;
    }
    g_string_printf(v->summary, "Delivered %u message%s to %s.", s->messages, s->messages == 1 ? "" : "s",
                    c->server);
    g_string_assign(v->advice, "");
    if (last) {
        g_string_assign(v->mta_status, last->text);
        mx_verdict_evidence(v, &last->at, "%s after end of data", last->text);
    } else {
        mx_verdict_evidence(v, &s->msg.final_at, "%u after end of data", s->msg.final_code);
    }
    return true;
}

static bool rule_mail_loop(dctx *c)
{
    const struct mx_smtp *s = c->s;
    if (!s)
        return false;
    mx_verdict *v = c->v;
    const char *ehlo = s->n_helo > 0 ? s->helo[0].arg : NULL;
    char name[128];

    /* A loop reply: the server saw the message come round again. */
    for (guint i = 0; i < s->replies->len; i++) {
        const mx_smtp_reply *r = reply_at(s, i);
        if (!is_loop_reply(r))
            continue;
        mx_phase phase = r->verb == MX_SMTP_GREETING ? MX_PHASE_GREETING
                       : r->verb == MX_SMTP_EHLO || r->verb == MX_SMTP_HELO ? MX_PHASE_EHLO
                       : r->verb == MX_SMTP_MAIL ? MX_PHASE_MAIL
                       : r->verb == MX_SMTP_RCPT ? MX_PHASE_RCPT
                       : r->verb == MX_SMTP_DATA ? MX_PHASE_DATA : MX_PHASE_DATA_END;
        mx_verdict_set(v, MX_OUTCOME_REJECTED, MX_KIND_MAIL_LOOP, phase, MX_ROLE_DNS, MX_CONFIDENCE_MEDIUM);
        mx_verdict_culprit_ip(v, NULL, 0);
        g_string_printf(v->summary, "%s reports a mail loop: \"%s\": the message has passed through the "
                        "same hosts before.", c->ip, r->text);
        g_string_assign(v->mta_status, r->text);
        mx_verdict_evidence(v, &r->at, "loop reply: %s", r->text);
        return true;
    }

    /* The server calls itself by the gateway's own EHLO name: the MX (or a
     * route by address) leads back to the gateway. */
    if (!ehlo || !*ehlo || ehlo[0] == '[')
        return false;
    const mx_frame_ref *at = NULL;
    const char *said = NULL;
    if (s->greeting.seen && s->greeting.code == 220) {   /* a 4xx/5xx text is no host name */
        first_word(s->greeting.text, name, sizeof name);
        if (g_ascii_strcasecmp(name, ehlo) == 0) {
            at = &s->greeting.first;
            said = s->greeting.text;
        }
    }
    for (guint i = 0; !at && i < MX_SMTP_HELO_MAX && i < s->n_helo; i++) {
        if (!s->helo[i].answered || s->helo[i].code / 100 != 2)
            continue;
        first_word(s->helo[i].reply_text, name, sizeof name);
        if (g_ascii_strcasecmp(name, ehlo) == 0) {
            at = &s->helo[i].reply_at;
            said = s->helo[i].reply_text;
        }
    }
    /* A connection to the client's own address proves nothing by itself: a
     * content filter or local relay (Postfix -> 127.0.0.1:10025) is one
     * (DESIGN.md, mail_loop). */
    if (!at)
        return false;
    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_MAIL_LOOP, at == &s->greeting.first ? MX_PHASE_GREETING : MX_PHASE_EHLO,
                   MX_ROLE_DNS, MX_CONFIDENCE_HIGH);
    g_string_printf(v->summary, "Mail loop: %s introduces itself as %s, the gateway's own EHLO name: "
                    "the destination's MX or A record, or a route, leads back to the gateway.", c->ip, ehlo);
    mx_verdict_evidence(v, &s->helo[0].at, "client says EHLO %s", ehlo);
    mx_verdict_evidence(v, at, "server names itself %s: %s", ehlo, said);
    return true;
}

static bool rule_greeting(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    if (c->midstream)
        return false;

    if (s && s->greeting.seen) {
        if (s->greeting.code < 400)
            return false;
        const mx_smtp_reply *r = greeting_reply(s);
        const char *line = r ? r->text : s->greeting.text;
        mx_verdict_set(v, MX_OUTCOME_REJECTED, MX_KIND_GREETING_REJECTED, MX_PHASE_GREETING, MX_ROLE_SERVER,
                       MX_CONFIDENCE_HIGH);
        mx_verdict_culprit_ip(v, &c->f->key.server, 0);
        g_string_assign(v->mta_status, line);
        if (s->greeting.code == 421) {
            g_string_printf(v->summary, "%s turned the gateway away at connect time: \"%s\" (421: too many "
                            "connections, rate limit or tarpitting).", c->server, line);
            g_string_assign(v->advice, "The server limits connections: lower the gateway's concurrency and "
                            "connection rate to this destination and let the queue retry; if it persists, ask the "
                            "receiving postmaster whether the gateway's address is throttled.");
        } else if (s->greeting.code == 554 || text_has(line, reputation_words)) {
            g_string_printf(v->summary, "%s refuses the gateway at connect time: \"%s\" (refused by policy "
                            "or the address's reputation).", c->server, line);
            g_string_assign(v->advice, "The server refuses the gateway's address: check it on public blocklists "
                            "(Spamhaus, SpamCop), make sure its reverse DNS (PTR) names a host that resolves back "
                            "to it, then contact the receiving postmaster.");
        } else {
            g_string_printf(v->summary, "%s refused the session in its greeting: \"%s\".", c->server, line);
        }
        mx_verdict_evidence(v, &s->greeting.first, "greeting: %s", line);
        return true;
    }

    /* No greeting (yet). */
    const mx_frame_ref *since = &c->connected;
    if (!client_gave_up_or_long(c, since)) {
        set_incomplete(c, MX_PHASE_GREETING, since, "the connection was established");
        return true;
    }
    if (capture_ends_at_client_close(c)) {
        int64_t w = waited_from(c, since);
        mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_GREETING, MX_ROLE_NONE,
                       MX_CONFIDENCE_LOW);
        g_string_printf(v->summary, "The capture ends %.0f us after the gateway closed (%s) %.1f s after "
                        "connecting, before %s could answer the close: no greeting in those %.1f s, but the capture "
                        "ended too soon to show whether the server was silent or only slow.",
                        (double)(c->end_us - c->client_close.ts_us), c->client_close_how, secs(w), c->server,
                        secs(w));
        mx_verdict_evidence(v, since, "connection established");
        mx_verdict_evidence(v, &c->client_close, "client closed (%s); the capture ends after it",
                            c->client_close_how);
        return true;
    }
    bool server_closed_first = c->server_close.frame &&
        (!c->client_close.frame || c->server_close.ts_us <= c->client_close.ts_us);
    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_NO_GREETING, MX_PHASE_GREETING, MX_ROLE_SERVER,
                   c->client_close.frame ? MX_CONFIDENCE_MEDIUM : MX_CONFIDENCE_LOW);
    mx_verdict_culprit_ip(v, &c->f->key.server, 0);
    int64_t w = waited_from(c, since);
    if (server_closed_first)
        g_string_printf(v->summary, "%s accepted the connection and closed it %.1f s later without a greeting.",
                        c->server, secs(c->server_close.ts_us - since->ts_us));
    else if (c->client_close.frame)
        g_string_printf(v->summary, "%s accepted the connection but sent no 220 greeting; the client gave up "
                        "after %.1f s.", c->server, secs(w));
    else
        g_string_printf(v->summary, "%s accepted the connection but sent no 220 greeting in the %.1f s the "
                        "capture shows.", c->server, secs(w));
    mx_verdict_evidence(v, since, "connection established");
    if (s && s->bytes[MX_DIR_S2C] > 0)
        mx_verdict_evidence(v, &c->f->dir[MX_DIR_S2C].first_data, "server sent %" G_GUINT64_FORMAT
                            " bytes that are not an SMTP reply (TLS on connect, or not an SMTP server?)",
                            s->bytes[MX_DIR_S2C]);
    if (server_closed_first)
        mx_verdict_evidence(v, &c->server_close, "server closed the connection without a greeting");
    evidence_client_close(c, since, MX_PHASE_GREETING, "the greeting");
    return true;
}

static const mx_smtp_helo *last_helo(const struct mx_smtp *s)
{
    guint n = s->n_helo < MX_SMTP_HELO_MAX ? s->n_helo : MX_SMTP_HELO_MAX;
    return n ? &s->helo[n - 1] : NULL;
}

static bool rule_ehlo(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    if (!s || s->n_helo == 0 || s->tls.active)
        return false;
    const mx_smtp_helo *h = last_helo(s);
    const char *verb = mx_smtp_verb_name(h->verb);

    if (!h->answered) {
        const mx_frame_ref *since = &h->at;
        if (!client_gave_up_or_long(c, since) && !lost_in_path(c, h->end_offset, since)) {
            set_incomplete(c, MX_PHASE_EHLO, since, verb);
            return true;
        }
        bool acked = is_client_ack_past(c->f, h->end_offset);
        mx_role role = acked ? MX_ROLE_SERVER : MX_ROLE_PATH;
        if (s->greeting.masked && acked)
            role = MX_ROLE_FIREWALL;    /* an inspecting firewall holds the command */
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_EHLO_NO_REPLY, MX_PHASE_EHLO, role, MX_CONFIDENCE_MEDIUM);
        if (role == MX_ROLE_SERVER)
            mx_verdict_culprit_ip(v, &c->f->key.server, 0);
        int64_t w = waited_from(c, since);
        mx_verdict_evidence(v, &h->at, "%s %s", verb, h->arg);
        if (acked) {
            g_string_printf(v->summary, "%s received the gateway's %s (its TCP stack acknowledged it) but never "
                            "answered; the client waited %.1f s.", c->server, verb, secs(w));
            g_string_printf(v->advice, "The receiving MTA, or an SMTP proxy or inspecting firewall in front of it, "
                            "reads the %s and stalls: check the server's load and its DNS checks of the gateway "
                            "(reverse DNS of the gateway's address, its EHLO name), and any SMTP/ESMTP inspection "
                            "in the path (Cisco ASA `inspect esmtp`, PIX `fixup smtp`).", verb);
        } else {
            const mx_dir_state *d = &c->f->dir[MX_DIR_C2S];
            g_string_printf(v->summary, "The gateway's %s never reached %s: the segment was not acknowledged%s, so "
                            "something in the path drops it.", verb, c->server,
                            d->retransmits ? " although it was sent again" : "");
            g_string_printf(v->advice, "A firewall between the gateway and %s drops the %s segment (a content "
                            "filter or SMTP inspection matching it): check firewall and IPS rules for port 25, "
                            "and run `mxray probe %s`.", c->ip, verb, c->ip);
            mx_verdict_evidence(v, d->last_retransmit.frame ? &d->last_retransmit : &h->at,
                                "ehlo_unacked: the %s segment was never ACKed (%u retransmission%s from the client)",
                                verb, d->retransmits, d->retransmits == 1 ? "" : "s");
        }
        evidence_client_close(c, since, MX_PHASE_EHLO, "a reply to its EHLO");
        return true;
    }

    if (h->code < 400)
        return false;            /* accepted; or a 3xx / unreadable reply, never a refusal (the
                                  * pairing was uncertain: later rules judge what followed) */

    /* Refused, and no later EHLO/HELO was accepted (h is the last). */
    bool fw = s->greeting.masked && h->code >= 500 && h->code <= 502;
    mx_verdict_set(v, MX_OUTCOME_REJECTED, MX_KIND_EHLO_REJECTED, MX_PHASE_EHLO,
                   fw ? MX_ROLE_FIREWALL : MX_ROLE_SERVER, fw ? MX_CONFIDENCE_MEDIUM : MX_CONFIDENCE_HIGH);
    if (!fw)
        mx_verdict_culprit_ip(v, &c->f->key.server, 0);
    g_string_assign(v->mta_status, h->reply_text);
    for (guint i = 0; i < MX_SMTP_HELO_MAX && i < s->n_helo; i++) {
        mx_verdict_evidence(v, &s->helo[i].at, "%s %s", mx_smtp_verb_name(s->helo[i].verb), s->helo[i].arg);
        if (s->helo[i].answered)
            mx_verdict_evidence(v, &s->helo[i].reply_at, "%s", s->helo[i].reply_text);
    }
    bool fqdn = strchr(h->arg, '.') != NULL;
    if (fw) {
        g_string_printf(v->summary, "%s was refused (\"%s\") behind a masked greeting: an inspecting firewall "
                        "allows only basic SMTP.", verb, h->reply_text);
        g_string_assign(v->advice, "Disable SMTP/ESMTP inspection on the firewall (Cisco ASA `inspect esmtp`, "
                        "PIX `fixup smtp`/mailguard, Check Point SMTP security server), or let the gateway fall back "
                        "to HELO.");
    } else {
        g_string_printf(v->summary, "%s refused the gateway's %s %s: \"%s\".", c->server,
                        s->n_helo > 1 ? "EHLO and its HELO fallback" : verb, h->arg, h->reply_text);
        if (!fqdn)
            g_string_append_printf(v->summary, " The name %s is not fully qualified.", h->arg);
        if (h->code / 100 == 5 || text_has(h->reply_text, helo_words))
            g_string_assign(v->advice, "Make the gateway's EHLO host name a fully-qualified name that resolves "
                            "in public DNS (ideally the name its address's PTR record gives).");
        else
            g_string_printf(v->advice, "The server declined temporarily (%u): check its text, let the queue "
                            "retry, and make the EHLO name a fully-qualified name that resolves.", h->code);
    }
    return true;
}

/* RFC 8446 6 / RFC 5246 7.2 alert descriptions a mail administrator may meet. */
static const char *alert_name(int desc)
{
    switch (desc) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 40: return "handshake_failure: no cipher or version in common";
    case 42: return "bad_certificate";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca: certificate not trusted";
    case 70: return "protocol_version: no TLS version in common";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 112: return "unrecognized_name";
    case 116: return "certificate_required";
    default: return "alert";
    }
}

/* Implicit TLS (the client's first bytes are a TLS handshake) answered with
 * plain text: the two ends are set up differently for this port.  Nothing
 * in the path rewrites a ClientHello into a 220 greeting. */
static void set_tls_mismatch(dctx *c)
{
    const mx_smtp_tls *t = &c->s->tls;
    mx_verdict *v = c->v;
    uint16_t port = c->f->key.server_port;
    if (t->plain_reply) {
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_TLS_FAILED, MX_PHASE_TLS, MX_ROLE_CLIENT, MX_CONFIDENCE_MEDIUM);
        g_string_printf(v->summary, "Configuration mismatch: the gateway speaks TLS from the first byte (implicit "
                        "TLS, SMTPS) to %s port %u, and the server answers in plain SMTP (\"%s\"). Neither a "
                        "firewall nor the path is at fault: the two ends are set up differently.", c->server, port,
                        t->plain_reply);
        g_string_printf(v->advice, "Make both ends agree on port %u: either the gateway delivers there in plain SMTP "
                        "with STARTTLS (Postfix: smtp_tls_wrappermode = no), or the server runs implicit TLS on it "
                        "(Postfix: smtpd_tls_wrappermode = yes). Port 465 is implicit TLS by RFC 8314; 25 and 587 "
                        "are plain SMTP with STARTTLS.", port);
        mx_verdict_evidence(v, &c->f->dir[MX_DIR_S2C].first_data, "server answers in plain SMTP: %s", t->plain_reply);
    } else {
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_TLS_FAILED, MX_PHASE_TLS, MX_ROLE_SERVER, MX_CONFIDENCE_LOW);
        mx_verdict_culprit_ip(v, &c->f->key.server, 0);
        g_string_printf(v->summary, "Not SMTP: the gateway speaks TLS from the first byte (implicit TLS, SMTPS) to "
                        "%s port %u, and the server answers with bytes that are neither TLS nor SMTP.", c->server,
                        port);
        g_string_printf(v->advice, "Check what listens on %s port %u: it is not a mail server speaking TLS or SMTP.",
                        c->ip, port);
        mx_verdict_evidence(v, &c->f->dir[MX_DIR_S2C].first_data, "server bytes that are neither TLS nor SMTP");
    }
    if (t->client_hello)
        mx_verdict_evidence(v, &t->client_hello_at, "ClientHello from the gateway (implicit TLS)");
    if (c->client_close.frame)
        mx_verdict_evidence(v, &c->client_close, "client closed (%s)", c->client_close_how);
}

static bool rule_tls(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    if (!s)
        return false;
    const mx_smtp_tls *t = &s->tls;

    if (s->starttls_masked && !t->requested) {
        /* Delivered in clear is judged by rule_delivered with the warning. */
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_TLS_STRIPPED, MX_PHASE_EHLO, MX_ROLE_FIREWALL,
                       MX_CONFIDENCE_HIGH);
        const mx_smtp_helo *h = last_helo(s);
        bool clear = s->mail_commands > 0;
        g_string_printf(v->summary, "A firewall masked STARTTLS out of %s's EHLO reply (\"%s\"); the client %s.",
                        c->server, s->masked[0], clear ? "went on without encryption" : "gave up");
        g_string_assign(v->advice, "Disable SMTP/ESMTP inspection on the firewall (Cisco ASA `inspect esmtp`, "
                        "PIX `fixup smtp`/mailguard, Check Point SMTP security server): it hides STARTTLS, so "
                        "mail either goes in clear or, with TLS required, not at all.");
        g_string_printf(v->mta_status, "451 4.7.5 TLS is required, but was not offered by host %s", c->ip);
        if (h && h->answered)
            mx_verdict_evidence(v, &h->reply_at, "EHLO reply offers %s in place of STARTTLS", s->masked[0]);
        if (c->client_close.frame)
            mx_verdict_evidence(v, &c->client_close, "client closed (%s)", c->client_close_how);
        return true;
    }
    if (!t->requested)
        return false;

    const mx_smtp_reply *tr = NULL;
    for (guint i = 0; i < s->replies->len; i++)
        if (reply_at(s, i)->verb == MX_SMTP_STARTTLS)
            tr = reply_at(s, i);

    if (t->reply_code >= 400) {
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_TLS_FAILED, MX_PHASE_TLS, MX_ROLE_SERVER, MX_CONFIDENCE_HIGH);
        mx_verdict_culprit_ip(v, &c->f->key.server, 0);
        g_string_printf(v->summary, "%s refused STARTTLS: \"%s\".", c->server, tr ? tr->text : "");
        if (tr) {
            g_string_assign(v->mta_status, tr->text);
            mx_verdict_evidence(v, &tr->at, "STARTTLS refused: %s", tr->text);
        }
        g_string_assign(v->advice, "The server offers STARTTLS but cannot start it (often a missing or unreadable "
                        "certificate or key): ask the receiving postmaster; the gateway may deliver in clear only "
                        "if its TLS policy allows.");
        return true;
    }
    if (!t->active)
        return false;            /* STARTTLS unanswered: rule_pending */

    if (!t->completed) {
        if (!t->alert && !client_gave_up_or_long(c, &t->start)) {
            set_incomplete(c, MX_PHASE_TLS, &t->start, "STARTTLS was accepted");
            return true;
        }
        if (t->implicit && t->not_tls[MX_DIR_S2C]) {
            set_tls_mismatch(c);
            return true;
        }
        mx_role role = MX_ROLE_SERVER;
        if (t->not_tls[MX_DIR_S2C] || s->greeting.masked)
            role = MX_ROLE_FIREWALL;
        else if (t->alert && t->alert_dir == MX_DIR_C2S)
            role = MX_ROLE_CLIENT;  /* the gateway refused what the server offered */
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_TLS_FAILED, MX_PHASE_TLS, role, MX_CONFIDENCE_MEDIUM);
        g_string_printf(v->summary, "STARTTLS with %s was accepted but the TLS handshake did not complete", c->server);
        mx_verdict_evidence(v, &t->start, "220 to STARTTLS");
        if (t->client_hello)
            mx_verdict_evidence(v, &t->client_hello_at, "ClientHello");
        if (t->server_hello)
            mx_verdict_evidence(v, &t->server_hello_at, "ServerHello");
        if (t->alert) {
            const char *who = t->alert_dir == MX_DIR_C2S ? "client" : "server";
            if (t->alert_desc >= 0) {
                g_string_append_printf(v->summary, ": the %s sent TLS alert %d (%s).", who, t->alert_desc,
                                       alert_name(t->alert_desc));
                mx_verdict_evidence(v, &t->alert_at, "TLS alert from the %s (level %d, description %d)", who,
                                    t->alert_level, t->alert_desc);
            } else {
                g_string_append_printf(v->summary, ": the %s sent an encrypted TLS alert.", who);
                mx_verdict_evidence(v, &t->alert_at, "encrypted TLS alert from the %s", who);
            }
        } else if (t->not_tls[MX_DIR_S2C]) {
            g_string_append(v->summary, ": the server side answered with bytes that are not TLS.");
        } else if (t->client_hello && !t->server_hello) {
            g_string_append(v->summary, ": no ServerHello answered the ClientHello.");
        } else {
            g_string_append(v->summary, ".");
        }
        if (c->client_close.frame)
            mx_verdict_evidence(v, &c->client_close, "client closed (%s)", c->client_close_how);
        return true;
    }

    /* Completed: the rest of the dialogue is encrypted.  An orderly close
     * after a full exchange is the usual sign of a delivered message; say
     * that it is inferred. */
    const mx_dir_state *cd = &c->f->dir[MX_DIR_C2S], *sd = &c->f->dir[MX_DIR_S2C];
    /* Orderly: the server closed with a FIN (it does so after its 221, or
     * both sides did), or the client did after the server answered its
     * last record.  A RST after the first FIN, from either side, is part
     * of the close: many clients (swaks, some MTAs) drop a finished TLS
     * session without reading close_notify, and servers and TLS
     * terminators end with FIN then RST; the verdict must not depend on
     * which side closed first. */
    mx_frame_ref first_fin = earliest(cd->fin, sd->fin);
    bool rsts_after_fin = first_fin.frame &&
                          (!sd->rst.frame || sd->rst.ts_us >= first_fin.ts_us) &&
                          (!cd->rst.frame || cd->rst.ts_us >= first_fin.ts_us);
    bool orderly = rsts_after_fin && (sd->fin.frame || (cd->fin.frame && t->last_answered));
    mx_verdict_evidence(v, &t->completed_at, "TLS handshake completed");
    if (orderly && t->app_records[MX_DIR_C2S] >= 3 && t->app_records[MX_DIR_S2C] >= 3) {
        mx_verdict_set(v, MX_OUTCOME_DELIVERED, MX_KIND_OK, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_MEDIUM);
        g_string_printf(v->summary, "TLS session with %s: the dialogue is encrypted; %" G_GUINT64_FORMAT
                        " client and %" G_GUINT64_FORMAT " server records and an orderly close suggest the "
                        "message was accepted (inferred, not seen).", c->server, t->app_records[MX_DIR_C2S],
                        t->app_records[MX_DIR_S2C]);
        g_string_assign(v->advice, "");
        g_string_assign(v->mta_status, "");
    } else if (orderly) {
        mx_verdict_set(v, MX_OUTCOME_OK, MX_KIND_OK, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
        g_string_printf(v->summary, "TLS session with %s, closed in order; its content is encrypted.", c->server);
        g_string_assign(v->advice, "");
    } else if (sd->rst.frame) {
        /* A server-side RST inside TLS: diagnose.c judges its origin. */
        set_incomplete(c, MX_PHASE_TLS, &t->completed_at, "the TLS handshake completed");
        g_string_printf(v->summary, "The encrypted session with %s was reset.", c->server);
    } else if (c->client_close.frame) {
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_CLIENT_ABORT, MX_PHASE_TLS, MX_ROLE_CLIENT, MX_CONFIDENCE_LOW);
        g_string_printf(v->summary, "The gateway closed the encrypted session with %s (%s) before the server "
                        "did; what went on inside TLS cannot be seen.", c->server, c->client_close_how);
        mx_verdict_evidence(v, &c->client_close, "client closed (%s)", c->client_close_how);
    } else {
        set_incomplete(c, MX_PHASE_TLS, &t->completed_at, "the TLS handshake completed");
    }
    return true;
}

/* The last reply that decides a transaction (MAIL, RCPT, DATA, end of data, BDAT). */
static const mx_smtp_reply *deciding_reply(const struct mx_smtp *s)
{
    for (guint i = s->replies->len; i > 0; i--) {
        const mx_smtp_reply *r = reply_at(s, i - 1);
        switch (r->verb) {
        case MX_SMTP_MAIL:
        case MX_SMTP_RCPT:
        case MX_SMTP_DATA:
        case MX_SMTP_END_OF_DATA:
        case MX_SMTP_BDAT:
            return r;
        default:
            break;
        }
    }
    if (s->replies_dropped && s->last_error.code)
        return &s->last_error;
    return NULL;
}

/* With PIPELINING (RFC 2920) the client sends DATA without waiting for
 * the RCPT replies; when every recipient was refused, the server must
 * refuse DATA too ("554 5.5.1 Error: no valid recipients").  That DATA
 * reply is a consequence: the refused RCPT of the same transaction (the
 * one the MTA's log names) is the cause.  NULL when there is none. */
static const mx_smtp_reply *refused_rcpt_behind(const struct mx_smtp *s, const mx_smtp_reply *data_reply)
{
    if (data_reply->verb != MX_SMTP_DATA || s->rcpt_accepted > 0)
        return NULL;
    /* Replies are kept in the order they came: look behind the DATA reply
     * (not by frame numbers, which restart in each input file). */
    bool behind = false;
    for (guint i = s->replies->len; i > 0; i--) {
        const mx_smtp_reply *r = reply_at(s, i - 1);
        if (!behind) {
            behind = r == data_reply;
            continue;
        }
        if (r->verb == MX_SMTP_MAIL)
            return NULL;         /* the transaction's start: no RCPT refused in it */
        if (r->verb == MX_SMTP_RCPT && r->code >= 400)
            return r;
    }
    return NULL;
}

static bool rule_rejected(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    if (!s)
        return false;
    const mx_smtp_reply *r = deciding_reply(s);
    if (!r || r->code < 400)
        return false;
    const mx_smtp_reply *data_refused = NULL, *rcpt = refused_rcpt_behind(s, r);
    if (rcpt) {
        data_refused = r;
        r = rcpt;
    }
    /* A rejected RCPT among accepted ones is not the end when DATA followed:
     * the unanswered-command and stall rules judge that transaction. */
    if (r->verb == MX_SMTP_RCPT && s->rcpt_accepted > 0 && first_pending(s))
        return false;

    mx_kind kind = MX_KIND_DATA_REJECTED;
    mx_phase phase = MX_PHASE_DATA;
    const char *what = "the message";
    if (r->verb == MX_SMTP_MAIL) {
        kind = MX_KIND_MAIL_REJECTED;
        phase = MX_PHASE_MAIL;
        what = "the sender (MAIL FROM)";
    } else if (r->verb == MX_SMTP_RCPT) {
        kind = MX_KIND_RCPT_REJECTED;
        phase = MX_PHASE_RCPT;
        what = "the recipient (RCPT TO)";
    } else if (r->verb == MX_SMTP_DATA) {
        what = "the DATA command";
    }
    mx_verdict_set(v, MX_OUTCOME_REJECTED, kind, phase, MX_ROLE_SERVER, MX_CONFIDENCE_HIGH);
    mx_verdict_culprit_ip(v, &c->f->key.server, 0);
    g_string_assign(v->mta_status, r->text);
    g_string_printf(v->summary, "%s refused %s: \"%s\".", c->server, what, r->text);
    mx_verdict_evidence(v, &r->command_at, "%s", mx_smtp_verb_name(r->verb));
    mx_verdict_evidence(v, &r->at, "%s", r->text);
    if (data_refused) {
        g_string_append_printf(v->summary, " No recipient was accepted, so the pipelined DATA was refused too "
                               "(\"%s\").", data_refused->text);
        mx_verdict_evidence(v, &data_refused->at, "DATA refused as a consequence: %s", data_refused->text);
    }

    if (text_has(r->text, greylist_words)) {
        g_string_append(v->summary, " This is greylisting: a temporary refusal of first-time senders.");
        g_string_assign(v->advice, "Nothing to fix: greylisting refuses the first attempt on purpose, and the "
                        "gateway's next retry (usually within minutes) will pass.");
    } else if (text_has(r->text, relay_words)) {
        g_string_assign(v->advice, "The server does not accept mail for this recipient domain from the gateway "
                        "(relay denied): check that the domain's MX records point at this server and that no "
                        "transport or smarthost route on the gateway sends the domain to the wrong host.");
    } else if (text_has(r->text, reputation_words)) {
        g_string_assign(v->advice, "The server refuses the gateway by reputation or reverse DNS: give the "
                        "gateway's address a PTR record naming a host that resolves back to it, check the address "
                        "on public blocklists (Spamhaus, SpamCop) and request delisting, then contact the "
                        "receiving postmaster.");
    } else if (kind == MX_KIND_RCPT_REJECTED && (text_has(r->text, unknown_user_words) ||
                                                 strcmp(r->enhanced, "5.1.1") == 0)) {
        g_string_assign(v->advice, "The recipient address does not exist at the destination: nothing to fix on "
                        "the gateway; tell the sender.");
    } else if (kind == MX_KIND_DATA_REJECTED && strcmp(r->enhanced, "5.3.4") == 0) {
        g_string_assign(v->advice, "The message is larger than the server accepts: check the SIZE the server "
                        "announces in its EHLO reply.");
    } else if (r->code / 100 == 4) {
        g_string_append(v->summary, " The refusal is temporary: the gateway will retry.");
    }
    return true;
}

typedef enum pmtu_class {
    PMTU_NONE,                   /* not full-size segments lost, or PMTU discovery answered */
    PMTU_BLACKHOLE,              /* a smaller segment sent after the lost ones crossed */
    PMTU_ALL_DROPPED,            /* a smaller one sent after them vanished too: a filter */
    PMTU_OPEN,                   /* nothing smaller was sent after them: cannot tell */
} pmtu_class;

/* Full-size segments lost again and again with no ICMP fragmentation-needed:
 * what separates a PMTU black hole from a filter that stops the flow is
 * whether anything smaller than the lost segments still crosses the path
 * after them (SACKed or answered by a duplicate ACK), not the sizes alone. */
static pmtu_class pmtu_judge(const mx_flow *f, const mx_frame_ref **small_lost, uint16_t *small_len)
{
    const mx_dir_state *d = &f->dir[MX_DIR_C2S], *s = &f->dir[MX_DIR_S2C];
    uint16_t lost = d->max_retransmitted;
    if (lost == 0 || lost < d->max_segment || f->frag_needed.frame != 0)
        return PMTU_NONE;
    if (d->through && d->through->len != 0)
        return d->through->len < lost ? PMTU_BLACKHOLE : PMTU_NONE;
    for (int i = 0; d->inflight && i < MX_INFLIGHT_RING; i++) {
        uint32_t start = d->inflight[i].seq_end - d->inflight[i].len;
        if (d->inflight[i].len == 0 || d->inflight[i].len >= lost || d->inflight[i].resent ||
            !s->ack_known || (int32_t)(start - s->max_ack) <= 0)
            continue;
        *small_lost = &d->inflight[i].at;
        *small_len = d->inflight[i].len;
        return PMTU_ALL_DROPPED;
    }
    return PMTU_OPEN;
}

/* Message data lost in the path: the pmtu_blackhole warning, evidence and
 * advice when the lost segments are full-size; else default_advice. */
static void explain_lost_data(dctx *c, const char *default_advice)
{
    mx_verdict *v = c->v;
    const mx_dir_state *d = &c->f->dir[MX_DIR_C2S];
    const mx_frame_ref *small_lost = NULL;
    uint16_t small_len = 0;
    pmtu_class pmtu = pmtu_judge(c->f, &small_lost, &small_len);
    if (pmtu == PMTU_BLACKHOLE) {
        const mx_through *t = d->through;   /* set: pmtu_judge saw it */
        const char *how = t->by_sack ? "SACK" : "duplicate ACK";
        mx_verdict_warn(v, MX_WARN_PMTU_BLACKHOLE, "%u-byte segments are lost again and again while a %u-byte "
                        "segment sent after them crossed the path (the server's %s shows it arrived), and no ICMP "
                        "fragmentation-needed came back", d->max_retransmitted, t->len, how);
        mx_verdict_evidence(v, &t->seg, "pmtu_blackhole: a %u-byte segment sent after the lost %u-byte ones",
                            t->len, d->max_retransmitted);
        mx_verdict_evidence(v, &t->ack, "the server's %s shows the %u-byte segment arrived", how,
                            t->len);
        g_string_assign(v->advice, "Path MTU black hole: packets above some size vanish on the path and no ICMP "
                        "fragmentation-needed comes back (a link with a smaller MTU whose ICMP errors are filtered, "
                        "or a filter on packet length). Let ICMP type 3 code 4 (ICMPv6 packet too big) through the "
                        "firewalls, or clamp the MSS on the gateway's side of the path.");
    } else if (pmtu == PMTU_ALL_DROPPED) {
        mx_verdict_evidence(v, small_lost, "a smaller (%u-byte) segment sent after the lost ones got no answer either",
                            small_len);
        g_string_printf(v->advice, "Small segments are lost as well as full-size ones (%u bytes, after the lost "
                        "%u-byte ones): not a path MTU problem but something that stops the flow, such as a "
                        "firewall scanning SMTP content (size or pattern rules, Cisco ASA `inspect esmtp`) or a "
                        "per-connection byte limit; check the firewalls between the gateway and the server.",
                        small_len, d->max_retransmitted);
    } else if (pmtu == PMTU_OPEN) {
        g_string_printf(v->advice, "Full-size (%u-byte) segments are lost and the capture holds no smaller segment "
                        "sent after them, so it cannot tell a path MTU black hole (a smaller MTU on the path with "
                        "ICMP fragmentation-needed filtered: let ICMP type 3 code 4 through, or clamp the MSS) from "
                        "a firewall that stops the flow after some bytes (SMTP content scanning, Cisco ASA `inspect "
                        "esmtp`); `mxray probe` or a test with a smaller MSS tells them apart.", d->max_retransmitted);
    } else {
        g_string_assign(v->advice, default_advice);
    }
}

/* A DATA body (or BDAT chunk) that stopped before its end. */
static bool rule_body_stall(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    if (!s || s->msg.mode == MX_SMTP_XFER_NONE || s->msg.final_code || s->tls.active)
        return false;
    bool in_body = (s->msg.mode == MX_SMTP_XFER_DATA && !s->msg.dot_seen) ||
                   (s->msg.mode == MX_SMTP_XFER_BDAT && !s->msg.bdat_last_sent);
    if (!in_body)
        return false;
    const mx_dir_state *d = &c->f->dir[MX_DIR_C2S];
    const mx_frame_ref *since = d->last_data.frame ? &d->last_data : &s->msg.data_at;
    uint32_t sent = mx_flow_sent_bytes(c->f, MX_DIR_C2S), acked = mx_flow_acked_bytes(c->f, MX_DIR_C2S);
    bool unacked = (int32_t)(sent - acked) > 0 && d->retransmits > 0;
    if ((int32_t)(sent - acked) > 0 && d->retransmits == 0) {
        /* Data in flight, never sent again: the capture ends before the
         * server's ACKs (or the client's retransmissions) could show. */
        mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, MX_PHASE_DATA, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
        g_string_printf(v->summary, "The capture ends %.1f s after the last message data to %s, with %u bytes sent "
                        "and not yet acknowledged and none sent again: the capture ended in the middle of the "
                        "transfer, before the server's answer.", secs(c->end_us - since->ts_us), c->server,
                        (uint32_t)(sent - acked));
        mx_verdict_evidence(v, &s->msg.first_byte, "first message byte");
        mx_verdict_evidence(v, since, "last message data in the capture");
        return true;
    }
    if (!client_gave_up_or_long(c, since) && !(unacked && d->retransmits >= 2)) {
        set_incomplete(c, MX_PHASE_DATA, since, "the last message data");
        return true;
    }
    if (!unacked) {
        /* Everything sent was acknowledged: the gateway stopped on its own. */
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_CLIENT_ABORT, MX_PHASE_DATA, MX_ROLE_CLIENT,
                       MX_CONFIDENCE_MEDIUM);
        g_string_printf(v->summary, "The gateway stopped sending the message to %s after %" G_GUINT64_FORMAT
                        " bytes although the server acknowledged everything.", c->server, s->msg.bytes);
        mx_verdict_evidence(v, &s->msg.first_byte, "first message byte");
        evidence_client_close(c, since, MX_PHASE_DATA, "nothing visible");
        return true;
    }
    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_DATA_STALL, MX_PHASE_DATA, MX_ROLE_PATH, MX_CONFIDENCE_MEDIUM);
    g_string_printf(v->summary, "The message transfer to %s stalled after %" G_GUINT64_FORMAT " bytes: %u bytes "
                    "sent were never acknowledged although the gateway sent them again (%u retransmissions).",
                    c->server, s->msg.bytes, (uint32_t)(sent - acked), d->retransmits);
    mx_verdict_evidence(v, &s->msg.first_byte, "first message byte");
    mx_verdict_evidence(v, &d->last_retransmit, "retransmission of unacknowledged message data");
    explain_lost_data(c, "Something in the path drops the message data: a firewall scanning SMTP content "
                      "(size or pattern rules, Cisco ASA `inspect esmtp`), or a path MTU problem; check the "
                      "firewalls between the gateway and the server.");
    evidence_client_close(c, since, MX_PHASE_DATA, "acknowledgements");
    return true;
}

static mx_phase phase_of_verb(mx_smtp_verb verb)
{
    switch (verb) {
    case MX_SMTP_HELO:
    case MX_SMTP_EHLO:
        return MX_PHASE_EHLO;
    case MX_SMTP_RCPT:
        return MX_PHASE_RCPT;
    case MX_SMTP_DATA:
        return MX_PHASE_DATA;
    case MX_SMTP_END_OF_DATA:
    case MX_SMTP_BDAT:
        return MX_PHASE_DATA_END;
    case MX_SMTP_STARTTLS:
        return MX_PHASE_TLS;
    case MX_SMTP_QUIT:
        return MX_PHASE_QUIT;
    default:
        return MX_PHASE_MAIL;
    }
}

/* A command other than EHLO left without a reply. */
static bool rule_pending(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    const mx_smtp_cmd *cmd = first_pending(s);
    if (!cmd)
        return false;
    if (cmd->verb == MX_SMTP_QUIT)
        return false;            /* an unanswered QUIT harms nothing */
    mx_phase phase = phase_of_verb(cmd->verb);
    const char *verb = mx_smtp_verb_name(cmd->verb);
    if (!client_gave_up_or_long(c, &cmd->at) && !lost_in_path(c, cmd->end_offset, &cmd->at)) {
        set_incomplete(c, phase, &cmd->at, cmd->verb == MX_SMTP_END_OF_DATA ? "the end of data" : verb);
        return true;
    }
    bool acked = is_client_ack_past(c->f, cmd->end_offset);
    int64_t w = waited_from(c, &cmd->at);
    bool end_of_data = cmd->verb == MX_SMTP_END_OF_DATA || (cmd->verb == MX_SMTP_BDAT && cmd->bdat_last);

    if (end_of_data) {
        if (acked) {
            mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_DATA_STALL, MX_PHASE_DATA_END, MX_ROLE_SERVER,
                           MX_CONFIDENCE_MEDIUM);
            mx_verdict_culprit_ip(v, &c->f->key.server, 0);
            g_string_printf(v->summary, "%s received the whole message (%" G_GUINT64_FORMAT " bytes, end of data "
                            "acknowledged) but sent no final reply; the client waited %.1f s.", c->server,
                            s->msg.bytes, secs(w));
            g_string_assign(v->advice, "The receiving MTA accepts the data but does not answer the final dot: "
                            "its content filter or spam/virus scanner is slow or stuck, or an SMTP proxy holds "
                            "the reply. The message may be delivered twice when the gateway retries; ask the "
                            "receiving postmaster.");
            g_string_assign(v->mta_status, "421 4.4.2 Connection timed out while sending end of data -- "
                            "message may be sent more than once");
        } else {
            mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_DATA_STALL, MX_PHASE_DATA, MX_ROLE_PATH,
                           MX_CONFIDENCE_MEDIUM);
            g_string_printf(v->summary, "The end of the message never reached %s: the last data was not "
                            "acknowledged; the client waited %.1f s.", c->server, secs(w));
            explain_lost_data(c, "Something in the path drops the end of the message: a firewall scanning "
                              "SMTP content, or a path MTU problem.");
            g_string_assign(v->mta_status, "421 4.4.2 Connection timed out while sending message content");
        }
        if (s->msg.first_byte.frame)
            mx_verdict_evidence(v, &s->msg.first_byte, "first message byte");
        mx_verdict_evidence(v, s->msg.dot_seen ? &s->msg.dot_at : &cmd->at, "end of data (final dot)%s",
                            acked ? ", acknowledged by the server" : ", never acknowledged");
        evidence_client_close(c, &cmd->at, MX_PHASE_DATA_END, "the final reply");
        return true;
    }

    mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_REPLY_TIMEOUT, phase, acked ? MX_ROLE_SERVER : MX_ROLE_PATH,
                   MX_CONFIDENCE_MEDIUM);
    if (acked)
        mx_verdict_culprit_ip(v, &c->f->key.server, 0);
    const char *while_ = cmd->verb == MX_SMTP_MAIL ? "MAIL FROM" : cmd->verb == MX_SMTP_RCPT ? "RCPT TO" : verb;
    g_string_printf(v->mta_status, "421 4.4.2 Connection timed out while sending %s", while_);
    if (acked)
        g_string_printf(v->summary, "%s acknowledged the %s command but never answered it; the client waited "
                        "%.1f s.", c->server, verb, secs(w));
    else
        g_string_printf(v->summary, "The %s command never reached %s (not acknowledged); the client waited %.1f s.",
                        verb, c->server, secs(w));
    mx_verdict_evidence(v, &cmd->at, "%s, %s", verb, acked ? "acknowledged, never answered" : "never acknowledged");
    evidence_client_close(c, &cmd->at, phase, "the reply");
    return true;
}

/* Nothing failed on the server's side: how did it end? */
static void rule_end(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    bool quit = s && s->quit_sent;
    if (quit || (c->client_close.frame == 0 && c->server_close.frame && s && s->server_421)) {
        mx_verdict_set(v, MX_OUTCOME_OK, MX_KIND_OK, MX_PHASE_NONE, MX_ROLE_NONE, MX_CONFIDENCE_HIGH);
        g_string_printf(v->summary, "Clean SMTP session with %s; no message was sent.", c->server);
        return;
    }
    mx_phase phase = !s || !s->greeting.seen ? MX_PHASE_GREETING
                   : s->n_helo == 0 ? MX_PHASE_EHLO
                   : s->mail_commands == 0 ? MX_PHASE_MAIL
                   : s->msg.mode == MX_SMTP_XFER_NONE ? MX_PHASE_RCPT : MX_PHASE_QUIT;
    if (c->client_close.frame) {
        mx_verdict_set(v, MX_OUTCOME_FAILED, MX_KIND_CLIENT_ABORT, phase, MX_ROLE_CLIENT, MX_CONFIDENCE_MEDIUM);
        g_string_printf(v->summary, "The gateway closed the session with %s itself (%s) with every command "
                        "answered and no fault visible on the server's side.", c->server, c->client_close_how);
        mx_verdict_evidence(v, &c->client_close, "client closed (%s) without QUIT", c->client_close_how);
        return;
    }
    if (c->server_close.frame) {
        /* The server hung up between commands with no reply that says why:
         * nothing SMTP-level to judge (diagnose.c judges a RST's origin). */
        mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, phase, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
        g_string_printf(v->summary, "%s closed the session between commands without a reply that explains it.",
                        c->server);
        mx_verdict_evidence(v, &c->server_close, "server closed");
        return;
    }
    mx_verdict_set(v, MX_OUTCOME_INCOMPLETE, MX_KIND_INCOMPLETE, phase, MX_ROLE_NONE, MX_CONFIDENCE_LOW);
    g_string_printf(v->summary, "The capture ends while the session with %s is still open and idle.", c->server);
}

/* ---- warnings ------------------------------------------------------------------ */

static void add_warnings(dctx *c)
{
    const struct mx_smtp *s = c->s;
    mx_verdict *v = c->v;
    if (!s)
        return;
    if (s->greeting.masked) {
        mx_verdict_warn(v, MX_WARN_SMTP_INSPECTION, "greeting masked by an inspecting firewall: \"%s\" "
                        "(Cisco ASA inspect esmtp / PIX mailguard)", s->greeting.text);
        mx_verdict_evidence(v, &s->greeting.first, "masked greeting: %s", s->greeting.text);
        for (guint i = 0; i < MX_SMTP_HELO_MAX && i < s->n_helo; i++) {
            const mx_smtp_helo *h = &s->helo[i];
            if (h->verb == MX_SMTP_EHLO && h->answered && h->code >= 500 && h->code <= 502)
                mx_verdict_evidence(v, &h->reply_at, "EHLO answered %s behind the masked greeting", h->reply_text);
        }
    }
    if (s->n_masked > 0) {
        mx_verdict_warn(v, MX_WARN_SMTP_INSPECTION, "EHLO reply carries %s: a firewall masked an ESMTP keyword%s",
                        s->masked[0], s->starttls_masked ? " (STARTTLS)" : "");
        for (guint i = 0; i < MX_SMTP_HELO_MAX && i < s->n_helo; i++)
            if (s->helo[i].verb == MX_SMTP_EHLO && s->helo[i].answered && s->helo[i].code == 250)
                mx_verdict_evidence(v, &s->helo[i].reply_at, "masked keyword %s in the EHLO reply", s->masked[0]);
    }
    if (mx_verdict_has_warning(v, MX_WARN_SMTP_INSPECTION) && v->kind != MX_KIND_TLS_STRIPPED &&
        v->outcome != MX_OUTCOME_DELIVERED && v->outcome != MX_OUTCOME_OK && v->advice->len == 0)
        g_string_assign(v->advice, "Disable SMTP/ESMTP inspection on the firewall (Cisco ASA `inspect esmtp`, "
                        "PIX `fixup smtp`/mailguard, Check Point SMTP security server).");

    /* A HELO fallback that worked is no failure, but worth saying. */
    for (guint i = 1; i < MX_SMTP_HELO_MAX && i < s->n_helo; i++) {
        const mx_smtp_helo *a = &s->helo[i - 1], *b = &s->helo[i];
        if (a->answered && a->code >= 400 && b->verb == MX_SMTP_HELO && b->answered && b->code / 100 == 2)
            mx_verdict_evidence(v, &b->reply_at, "EHLO refused (%u), HELO fallback accepted: no ESMTP "
                                "extensions (no STARTTLS, no PIPELINING) for this session", a->code);
    }

    if (s->greeting.seen && c->connected.frame && !c->midstream) {
        int64_t d = s->greeting.first.ts_us - c->connected.ts_us;
        if (d > MX_SLOW_GREETING_US) {
            double sec = secs(d);
            double k = round(sec / 5.0);
            if (k >= 1 && fabs(sec - 5.0 * k) <= 0.6)
                mx_verdict_warn(v, MX_WARN_SLOW_GREETING, "the greeting came %.1f s after the handshake, near "
                                "%.0f x 5 s resolver timeouts: the server's reverse-DNS lookup of the gateway's "
                                "address is timing out", sec, k);
            else
                mx_verdict_warn(v, MX_WARN_SLOW_GREETING, "the greeting came %.1f s after the handshake", sec);
            mx_verdict_evidence(v, &s->greeting.first, "greeting %.1f s after the handshake", sec);
        }
    }
}

/* ---- entry ---------------------------------------------------------------------- */

bool mx_diagnose_smtp(const mx_flow *f, int64_t capture_end_us, mx_verdict *v)
{
    /* Until the capture ends, a client that is still connected is still waiting. */
    dctx c = { .f = f, .s = f->smtp, .v = v, .end_us = capture_end_us > f->last_ts ? capture_end_us : f->last_ts };
    const mx_dir_state *cd = &f->dir[MX_DIR_C2S], *sd = &f->dir[MX_DIR_S2C];
    c.connected = f->established.frame ? f->established : f->synack.frame ? f->synack : f->first_frame;
    c.client_close = earliest(cd->fin, cd->rst);
    c.client_close_how = c.client_close.frame == 0 ? "" :
                         c.client_close.frame == cd->rst.frame ? "RST" : "FIN";
    c.server_close = earliest(sd->fin, sd->rst);
    name_server(&c);

    c.midstream = !f->saw_syn || (c.s && c.s->midstream);
    /* Implicit TLS (port 465): the greeting and everything after it are
     * encrypted, so only the TLS rules can say anything. */
    bool implicit_tls = c.s && c.s->tls.implicit;
    bool decided = implicit_tls ? rule_tls(&c) :
        rule_delivered(&c) || rule_not_smtp(&c) || rule_mail_loop(&c) || rule_greeting(&c) || rule_ehlo(&c) ||
        rule_tls(&c) || rule_rejected(&c) || rule_body_stall(&c) || rule_pending(&c);
    if (!decided) {
        if (c.midstream && !(c.s && c.s->quit_sent))
            return false;        /* diagnose.c: incomplete, mid-session */
        rule_end(&c);
    }
    uint64_t lost = server_bytes_uncaptured(&c);
    if (lost > 0 && rests_on_server_bytes(v))
        set_not_captured(&c, lost);
    else if (c.s && c.s->pairing_doubts > 0)
        doubt_verdict(&c);
    add_warnings(&c);
    return true;
}
