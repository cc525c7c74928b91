/* SPDX-License-Identifier: BSD-3-Clause */
/* session.c — life cycle of the finished-session record. */
#include "session.h"
#include "smtp.h"

mx_session *mx_session_new(void)
{
    mx_session *s = g_new0(mx_session, 1);
    mx_verdict_init(&s->verdict);
    s->tcp.ttl_client = s->tcp.ttl_server = -1;
    s->smtp.extensions = g_ptr_array_new();
    /* Enough for a typical session's strings in one block (greeting,
     * extensions, a dozen replies); more blocks when needed. */
    s->strings = g_string_chunk_new(2048);
    s->smtp.replies = g_array_new(FALSE, TRUE, sizeof(mx_reply_rec));
    s->ladder = g_array_new(FALSE, TRUE, sizeof(mx_ladder_step));
    return s;
}

void mx_session_free(mx_session *s)
{
    if (!s)
        return;
    mx_verdict_clear(&s->verdict);
    g_ptr_array_free(s->smtp.extensions, TRUE);
    g_array_free(s->smtp.replies, TRUE);
    g_string_chunk_free(s->strings);
    g_array_free(s->ladder, TRUE);
    g_free(s);
}

const char *mx_session_strdup(mx_session *s, const char *text)
{
    return text ? g_string_chunk_insert(s->strings, text) : NULL;
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
        s->smtp.greeting = mx_session_strdup(s, smtp->greeting.text);
    if (smtp->n_helo > 0)
        s->smtp.helo = mx_session_strdup(s, smtp->helo[0].arg);
    for (uint32_t i = 0; i < smtp->n_extensions; i++)
        g_ptr_array_add(s->smtp.extensions, (char *)mx_session_strdup(s, smtp->extensions[i]));
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
            .text = mx_session_strdup(s, r->text),
            .at = r->at,
            .command_at = r->command_at,
        };
    }
    s->smtp.tls = tls_word(smtp);
}

static void copy_step(const mx_ladder_step *step, void *ctx)
{
    g_array_append_val((GArray *)ctx, *step);
}

void mx_session_fill_ladder(mx_session *s, const mx_ladder *l)
{
    s->ladder_skipped = mx_ladder_walk(l, copy_step, s->ladder);
}
