/* SPDX-License-Identifier: BSD-3-Clause */
/* verdict.c — the vocabulary table: one row per kind, with its JSON name,
 * the MTA queue status it most likely explains, and default advice. */
#include "verdict.h"

#include <stdarg.h>
#include <string.h>

static const char *const outcome_names[MX_OUTCOME_COUNT] = {
    "delivered", "ok", "rejected", "failed", "incomplete",
};

static const char *const phase_names[MX_PHASE_COUNT] = {
    "connect", "greeting", "ehlo", "tls", "mail", "rcpt", "data", "data_end", "quit", "none",
};

static const char *const role_names[MX_ROLE_COUNT] = {
    "client", "path", "firewall", "server", "dns", "none",
};

static const char *const confidence_names[MX_CONFIDENCE_COUNT] = {
    "high", "medium", "low",
};

static const char *const warning_names[MX_WARN_COUNT] = {
    "smtp_inspection", "pmtu_blackhole", "forged_packet", "slow_path",
    "retransmissions", "slow_greeting", "dns_timeout", "one_sided_capture",
};

/* mta_status: what Postfix-like MTAs log in the queue for this failure
 * (the gateway KB's "450 4.4.1 ... Connection timed out" and "451 4.4.2 ...
 * no HELO/EHLO response" are the model).  Rules replace it with the
 * server's own reply when there is one. */
static const struct kind_row {
    const char *name;
    const char *mta_status;
    const char *advice;
} kind_rows[MX_KIND_COUNT] = {
    [MX_KIND_OK] = { "ok", "", "" },
    [MX_KIND_SYN_TIMEOUT] = { "syn_timeout", "450 4.4.1 Connection timed out",
        "Check the firewall rules and routes for outbound TCP port 25 to this server; "
        "a silent drop names no hop from one vantage point: run `mxray probe` to find the last hop that answers." },
    [MX_KIND_CONNECT_REFUSED] = { "connect_refused", "450 4.4.1 Connection refused",
        "Nothing accepts connections on the server's SMTP port: check that this is the right MX host "
        "and that its mail service is running, or ask its postmaster." },
    [MX_KIND_ICMP_UNREACHABLE] = { "icmp_unreachable", "450 4.4.1 No route to host",
        "The ICMP error names the device that refused the connection: check its rules or routes for TCP port 25." },
    [MX_KIND_NO_GREETING] = { "no_greeting", "421 4.4.2 Connection timed out while receiving the initial server greeting",
        "The server accepted the connection but never sent its 220 greeting: the receiving MTA is overloaded "
        "or stuck (often a slow reverse-DNS lookup of the gateway's address), or an SMTP proxy holds the session." },
    [MX_KIND_GREETING_REJECTED] = { "greeting_rejected", "",
        "The server refuses the gateway at connect time: read its greeting text; 421 usually means connection limits, "
        "554 a block by reputation or policy: contact the receiving postmaster." },
    [MX_KIND_EHLO_NO_REPLY] = { "ehlo_no_reply", "451 4.4.2 no HELO/EHLO response",
        "The EHLO went unanswered: check SMTP inspection on firewalls in the path and the receiving server's health." },
    [MX_KIND_EHLO_REJECTED] = { "ehlo_rejected", "",
        "Make the gateway's EHLO host name a fully-qualified name that resolves in public DNS." },
    [MX_KIND_MAIL_LOOP] = { "mail_loop", "554 5.4.6 Mail loop detected",
        "Make sure the destination's MX and A records do not point at this gateway, that no delivery route "
        "is configured by the gateway's own address, and that the next MTA does not route the mail back." },
    [MX_KIND_MAIL_REJECTED] = { "mail_rejected", "",
        "The server refused the sender address: read its reply text; fix the sender domain's DNS/SPF or ask the receiving postmaster." },
    [MX_KIND_RCPT_REJECTED] = { "rcpt_rejected", "",
        "The server refused the recipient: read its reply text (unknown user, relay denied, greylisting)." },
    [MX_KIND_DATA_REJECTED] = { "data_rejected", "",
        "The server refused the message content: read its reply text (spam or virus filter, size limit)." },
    [MX_KIND_REPLY_TIMEOUT] = { "reply_timeout", "451 4.4.2 Connection timed out",
        "The server stopped answering in the middle of the dialogue: check the server's load and any SMTP proxy in the path." },
    [MX_KIND_DATA_STALL] = { "data_stall", "451 4.4.2 Connection timed out while sending message content",
        "The message transfer stopped: check firewalls that scan SMTP content and the path MTU." },
    [MX_KIND_RESET] = { "reset", "451 4.4.2 Connection reset by peer",
        "The connection was reset during the dialogue: check firewalls or IPS that inspect SMTP." },
    [MX_KIND_TLS_STRIPPED] = { "tls_stripped", "",
        "A firewall removes STARTTLS from the server's EHLO reply: disable SMTP/ESMTP inspection for the gateway's traffic." },
    [MX_KIND_TLS_FAILED] = { "tls_failed", "454 4.7.0 TLS handshake failed",
        "The TLS handshake after STARTTLS did not complete: compare TLS versions and ciphers of both sides, and check for TLS-inspecting middleboxes." },
    [MX_KIND_CLIENT_ABORT] = { "client_abort", "",
        "The gateway closed the connection itself: check its own logs and timeouts." },
    [MX_KIND_INCOMPLETE] = { "incomplete", "",
        "The capture ends before the outcome is known: capture for longer." },
};

const char *mx_outcome_name(mx_outcome o) { return o < MX_OUTCOME_COUNT ? outcome_names[o] : "?"; }
const char *mx_phase_name(mx_phase p) { return p < MX_PHASE_COUNT ? phase_names[p] : "?"; }
const char *mx_role_name(mx_role r) { return r < MX_ROLE_COUNT ? role_names[r] : "?"; }
const char *mx_confidence_name(mx_confidence c) { return c < MX_CONFIDENCE_COUNT ? confidence_names[c] : "?"; }
const char *mx_warning_name(mx_warning_kind w) { return w < MX_WARN_COUNT ? warning_names[w] : "?"; }
const char *mx_kind_name(mx_kind k) { return k < MX_KIND_COUNT ? kind_rows[k].name : "?"; }
const char *mx_kind_default_mta_status(mx_kind k) { return k < MX_KIND_COUNT ? kind_rows[k].mta_status : ""; }
const char *mx_kind_default_advice(mx_kind k) { return k < MX_KIND_COUNT ? kind_rows[k].advice : ""; }

void mx_verdict_init(mx_verdict *v)
{
    *v = (mx_verdict){0};
    v->outcome = MX_OUTCOME_INCOMPLETE;
    v->kind = MX_KIND_INCOMPLETE;
    v->phase = MX_PHASE_NONE;
    v->culprit.role = MX_ROLE_NONE;
    v->culprit.confidence = MX_CONFIDENCE_LOW;
    v->summary = g_string_new(NULL);
    v->advice = g_string_new(NULL);
    v->mta_status = g_string_new(NULL);
    v->warnings = g_array_new(FALSE, TRUE, sizeof(mx_warning));
    v->evidence = g_array_new(FALSE, TRUE, sizeof(mx_evidence));
}

void mx_verdict_clear(mx_verdict *v)
{
    if (v->summary)
        g_string_free(v->summary, TRUE);
    if (v->advice)
        g_string_free(v->advice, TRUE);
    if (v->mta_status)
        g_string_free(v->mta_status, TRUE);
    if (v->warnings) {
        for (guint i = 0; i < v->warnings->len; i++)
            g_free(g_array_index(v->warnings, mx_warning, i).detail);
        g_array_free(v->warnings, TRUE);
    }
    if (v->evidence) {
        for (guint i = 0; i < v->evidence->len; i++)
            g_free(g_array_index(v->evidence, mx_evidence, i).fact);
        g_array_free(v->evidence, TRUE);
    }
    *v = (mx_verdict){0};
}

void mx_verdict_set(mx_verdict *v, mx_outcome outcome, mx_kind kind, mx_phase phase,
                    mx_role role, mx_confidence confidence)
{
    v->outcome = outcome;
    v->kind = kind;
    v->phase = phase;
    v->culprit.role = role;
    v->culprit.confidence = confidence;
    g_string_assign(v->mta_status, mx_kind_default_mta_status(kind));
    g_string_assign(v->advice, mx_kind_default_advice(kind));
}

void mx_verdict_culprit_ip(mx_verdict *v, const mx_addr *ip, int hops_from_client)
{
    v->culprit.has_ip = ip != NULL && ip->family != 0;
    if (v->culprit.has_ip)
        v->culprit.ip = *ip;
    v->culprit.hops_from_client = hops_from_client;
}

void mx_verdict_evidence(mx_verdict *v, const mx_frame_ref *at, const char *fmt, ...)
{
    if (at == NULL || at->frame == 0)
        return;
    /* One frame, one fact: a second fact about the same frame is appended
     * (even when the cap is reached: it takes no new entry). */
    for (guint i = 0; i < v->evidence->len; i++) {
        mx_evidence *e = &g_array_index(v->evidence, mx_evidence, i);
        if (e->at.frame == at->frame && e->at.file_index == at->file_index) {
            va_list ap;
            va_start(ap, fmt);
            char *more = g_strdup_vprintf(fmt, ap);
            va_end(ap);
            char *joined = g_strconcat(e->fact, "; ", more, NULL);
            g_free(more);
            g_free(e->fact);
            e->fact = joined;
            return;
        }
    }
    if (v->evidence->len >= MX_EVIDENCE_MAX) {
        v->evidence_dropped++;
        return;
    }
    mx_evidence e = { .at = *at };
    va_list ap;
    va_start(ap, fmt);
    e.fact = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_array_append_val(v->evidence, e);
}

void mx_verdict_warn(mx_verdict *v, mx_warning_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *detail = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    /* One warning per kind (reports count sessions per kind), but every
     * detail kept: a masked greeting and a masked STARTTLS are two facts. */
    for (guint i = 0; i < v->warnings->len; i++) {
        mx_warning *w = &g_array_index(v->warnings, mx_warning, i);
        if (w->kind != kind)
            continue;
        if (!strstr(w->detail, detail)) {
            char *joined = g_strconcat(w->detail, "; ", detail, NULL);
            g_free(w->detail);
            w->detail = joined;
        }
        g_free(detail);
        return;
    }
    mx_warning w = { .kind = kind, .detail = detail };
    g_array_append_val(v->warnings, w);
}

bool mx_verdict_has_warning(const mx_verdict *v, mx_warning_kind kind)
{
    for (guint i = 0; i < v->warnings->len; i++)
        if (g_array_index(v->warnings, mx_warning, i).kind == kind)
            return true;
    return false;
}
