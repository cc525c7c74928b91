/* SPDX-License-Identifier: BSD-3-Clause */
/* live-timers.c — per-phase inactivity limits for live capture.
 *
 * The defaults are Postfix's smtp(8) client timers (postconf(5)), the
 * most common sending MTA on gateways: a connection quiet for longer than
 * the client itself would wait is one the client has given up on without
 * a word on the wire (no FIN: it never connected, or it vanished).  The
 * wait counts from the flow's last packet, which is at or after the
 * command the MTA's timer started on, so the MTA always gives up first.
 */
#include "live-timers.h"
#include "smtp.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEC (1000000LL)

void mx_live_timers_default(mx_live_timers *t)
{
    for (int p = 0; p < MX_PHASE_COUNT; p++)
        t->idle_us[p] = MX_LIVE_IDLE_DIALOGUE_US;
    t->idle_us[MX_PHASE_CONNECT] = MX_LIVE_IDLE_CONNECT_US;
    t->idle_us[MX_PHASE_DATA] = MX_LIVE_IDLE_DATA_US;
    t->idle_us[MX_PHASE_DATA_END] = MX_LIVE_IDLE_DATA_END_US;
    t->linger_us = MX_FLOW_CLOSED_LINGER_US;
    t->min_idle_us = MX_LIVE_IDLE_CONNECT_US;
}

static void update_min(mx_live_timers *t)
{
    t->min_idle_us = t->idle_us[0];
    for (int p = 1; p < MX_PHASE_COUNT; p++)
        if (t->idle_us[p] < t->min_idle_us)
            t->min_idle_us = t->idle_us[p];
}

static gboolean parse_seconds(const char *text, int64_t max_us, int64_t *out, GError **error)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno || !isfinite(v) || v <= 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "'%s' is not a number of seconds", text);
        return FALSE;
    }
    if (v * SEC > (double)max_us) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s s is longer than the flow table keeps "
                    "a quiet flow (%lld s)", text, (long long)(max_us / SEC));
        return FALSE;
    }
    *out = (int64_t)(v * SEC);
    return TRUE;
}

gboolean mx_live_timers_parse(mx_live_timers *t, const char *text, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    for (char **p = parts; *p; p++) {
        char *eq = strchr(*p, '=');
        int64_t us;
        if (!eq) {
            if (!parse_seconds(*p, MX_FLOW_IDLE_US, &us, error))
                return FALSE;
            for (int ph = 0; ph < MX_PHASE_COUNT; ph++)
                t->idle_us[ph] = us;
            continue;
        }
        *eq = '\0';
        int phase = -1;
        for (int ph = 0; ph < MX_PHASE_COUNT; ph++)
            if (strcmp(*p, mx_phase_name((mx_phase)ph)) == 0)
                phase = ph;
        if (phase < 0 || phase == MX_PHASE_NONE) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown phase '%s' (connect, greeting, "
                        "ehlo, tls, mail, rcpt, data, data_end, quit)", *p);
            return FALSE;
        }
        if (!parse_seconds(eq + 1, MX_FLOW_IDLE_US, &us, error))
            return FALSE;
        t->idle_us[phase] = us;
    }
    update_min(t);
    return TRUE;
}

gboolean mx_live_timers_set_linger(mx_live_timers *t, double seconds, GError **error)
{
    /* The flow table finishes closed flows after its own linger anyway. */
    if (!(seconds >= 0) || seconds * SEC > (double)MX_FLOW_CLOSED_LINGER_US) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--linger: %g is not between 0 and %lld s",
                    seconds, (long long)(MX_FLOW_CLOSED_LINGER_US / SEC));
        return FALSE;
    }
    t->linger_us = (int64_t)(seconds * SEC);
    return TRUE;
}

static mx_phase phase_of_command(mx_smtp_verb verb)
{
    switch (verb) {
    case MX_SMTP_HELO:
    case MX_SMTP_EHLO: return MX_PHASE_EHLO;
    case MX_SMTP_STARTTLS: return MX_PHASE_TLS;
    case MX_SMTP_RCPT: return MX_PHASE_RCPT;
    case MX_SMTP_DATA:
    case MX_SMTP_BDAT: return MX_PHASE_DATA;
    case MX_SMTP_END_OF_DATA: return MX_PHASE_DATA_END;
    case MX_SMTP_QUIT: return MX_PHASE_QUIT;
    default: return MX_PHASE_MAIL;
    }
}

mx_phase mx_live_flow_phase(const mx_flow *f)
{
    if (f->saw_syn && f->synack_count == 0)
        return MX_PHASE_CONNECT;
    const struct mx_smtp *s = f->smtp;
    if (!s)
        return f->saw_syn ? MX_PHASE_GREETING : MX_PHASE_MAIL;
    if (!s->greeting.seen && !s->midstream)
        return MX_PHASE_GREETING;
    if (s->tls.active && !s->tls.completed)
        return MX_PHASE_TLS;
    /* The oldest command still unanswered is what the client waits for. */
    if (s->pending && s->pending->len > 0)
        return phase_of_command(g_array_index(s->pending, mx_smtp_cmd, 0).verb);
    if (s->msg.mode != MX_SMTP_XFER_NONE && s->msg.final_code == 0)
        return s->msg.dot_seen || s->msg.bdat_last_sent ? MX_PHASE_DATA_END : MX_PHASE_DATA;
    return s->quit_sent ? MX_PHASE_QUIT : MX_PHASE_MAIL;
}

int64_t mx_live_idle_limit(const mx_flow *f, void *ctx)
{
    const mx_live_timers *t = ctx;
    return t->idle_us[mx_live_flow_phase(f)];
}
