/* SPDX-License-Identifier: BSD-3-Clause */
/* session.c — life cycle of the finished-session record. */
#include "session.h"
#include "smtp.h"

mx_session *mx_session_new(void)
{
    mx_session *s = g_new0(mx_session, 1);
    mx_verdict_init(&s->verdict);
    s->tcp.ttl_client = s->tcp.ttl_server = -1;
    s->smtp.extensions = g_ptr_array_new_with_free_func(g_free);
    s->smtp.replies = g_array_new(FALSE, TRUE, sizeof(mx_reply_rec));
    s->ladder = g_array_new(FALSE, TRUE, sizeof(mx_ladder_step));
    return s;
}

void mx_session_free(mx_session *s)
{
    if (!s)
        return;
    mx_verdict_clear(&s->verdict);
    g_free(s->server_name);
    g_free(s->smtp.greeting);
    g_free(s->smtp.helo);
    g_ptr_array_free(s->smtp.extensions, TRUE);
    for (guint i = 0; i < s->smtp.replies->len; i++) {
        g_free(g_array_index(s->smtp.replies, mx_reply_rec, i).text);
    }
    g_array_free(s->smtp.replies, TRUE);
    g_array_free(s->ladder, TRUE);
    for (int d = 0; d < 2; d++)
        if (s->keep[d].spans)
            g_array_free(s->keep[d].spans, TRUE);
    g_free(s);
}

bool mx_session_failed(const mx_session *s)
{
    return s->verdict.outcome == MX_OUTCOME_FAILED || s->verdict.outcome == MX_OUTCOME_REJECTED;
}

static const char *tls_word(const struct mx_smtp *smtp)
{
    const mx_smtp_tls *t = &smtp->tls;
    if (smtp->starttls_masked && !t->requested)
        return "stripped";
    if (!t->requested)
        return NULL;
    if (t->completed)
        return "completed";
    if (t->alert)
        return "failed";
    if (t->reply_code >= 400)
        return "refused";
    if (t->active)
        return "unfinished";
    return "requested";
}

void mx_session_fill_smtp(mx_session *s, const struct mx_smtp *smtp)
{
    if (smtp == NULL)
        return;
    if (smtp->greeting.seen)
        s->smtp.greeting = g_strdup(smtp->greeting.text);
    if (smtp->n_helo > 0)
        s->smtp.helo = g_strdup(smtp->helo[0].arg);
    for (uint32_t i = 0; i < smtp->n_extensions; i++)
        g_ptr_array_add(s->smtp.extensions, g_strdup(smtp->extensions[i]));
    s->smtp.messages = smtp->messages;
    /* Sized once: appending one by one regrew the array several times a
     * session (1.8 % of a 1M-packet read). */
    guint base = s->smtp.replies->len;
    if (smtp->replies)
        g_array_set_size(s->smtp.replies, base + smtp->replies->len);
    for (guint i = 0; smtp->replies && i < smtp->replies->len; i++) {
        const mx_smtp_reply *r = &g_array_index(smtp->replies, mx_smtp_reply, i);
        g_array_index(s->smtp.replies, mx_reply_rec, base + i) = (mx_reply_rec){
            .command = mx_smtp_verb_name(r->verb),
            .code = r->code,
            .has_latency = r->latency_us >= 0 && r->verb != MX_SMTP_GREETING,
            .latency_ms = r->latency_us >= 0 ? (double)(r->latency_us / 100) / 10.0 : 0,
            .text = g_strdup(r->text),
            .at = r->at,
            .command_at = r->command_at,
        };
    }
    s->smtp.tls = tls_word(smtp);
    for (int d = 0; d < 2; d++) {
        const mx_smtp_keep *k = &smtp->keep[d];
        s->keep[d].known = k->started;
        s->keep[d].base_seq = k->base_seq;
        s->keep[d].dropped = k->dropped;
        if (k->spans && k->spans->len)
            s->keep[d].spans = g_array_copy(k->spans);
    }
}

static void copy_step(const mx_ladder_step *step, void *ctx)
{
    g_array_append_val((GArray *)ctx, *step);
}

void mx_session_fill_ladder(mx_session *s, const mx_ladder *l)
{
    s->ladder_skipped = mx_ladder_walk(l, copy_step, s->ladder);
}
