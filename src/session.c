/* SPDX-License-Identifier: BSD-3-Clause */
/* session.c — life cycle of the finished-session record. */
#include "session.h"
#include "smtp.h"

#include <string.h>

/* One block of a session's string arena: strings are bumped into it and
 * never freed one by one. */
struct mx_session_block {
    struct mx_session_block *next;
    size_t used, cap;
    char data[];
};

#define BLOCK_MIN 512

/* Room for len bytes in the newest block, or a new block of at least want. */
static char *arena_take(mx_session *s, size_t len, size_t want)
{
    struct mx_session_block *b = s->strings;
    if (b == NULL || b->cap - b->used < len) {
        size_t cap = want > len ? want : len;
        if (cap < BLOCK_MIN)
            cap = BLOCK_MIN;
        b = g_malloc(sizeof *b + cap);
        b->next = s->strings;
        b->used = 0;
        b->cap = cap;
        s->strings = b;
    }
    char *p = b->data + b->used;
    b->used += len;
    return p;
}

mx_session *mx_session_new(void)
{
    mx_session *s = g_new0(mx_session, 1);
    mx_verdict_init(&s->verdict);
    s->tcp.ttl_client = s->tcp.ttl_server = -1;
    s->smtp.extensions = g_ptr_array_new();
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
    for (struct mx_session_block *b = s->strings, *next; b; b = next) {
        next = b->next;
        g_free(b);
    }
    g_array_free(s->ladder, TRUE);
    for (int d = 0; d < 2; d++)
        if (s->keep[d].spans)
            g_array_free(s->keep[d].spans, TRUE);
    g_free(s);
}

const char *mx_session_strndup(mx_session *s, const char *text, size_t len)
{
    char *p = arena_take(s, len + 1, 0);
    memcpy(p, text, len);
    p[len] = '\0';
    return p;
}

const char *mx_session_strdup(mx_session *s, const char *text)
{
    return text ? mx_session_strndup(s, text, strlen(text)) : NULL;
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
    /* One block for all of them: their total first. */
    size_t total = 0;
    if (smtp->greeting.seen && smtp->greeting.text)
        total += strlen(smtp->greeting.text) + 1;
    if (smtp->n_helo > 0 && smtp->helo[0].arg)
        total += strlen(smtp->helo[0].arg) + 1;
    for (uint32_t i = 0; i < smtp->n_extensions; i++)
        total += strlen(smtp->extensions[i]) + 1;
    for (guint i = 0; smtp->replies && i < smtp->replies->len; i++) {
        const char *t = g_array_index(smtp->replies, mx_smtp_reply, i).text;
        total += t ? strlen(t) + 1 : 0;
    }
    if (total) {
        struct mx_session_block *b = s->strings;
        if (b == NULL || b->cap - b->used < total)
            arena_take(s, 0, total);
    }
    if (smtp->greeting.seen)
        s->smtp.greeting = mx_session_strdup(s, smtp->greeting.text);
    if (smtp->n_helo > 0)
        s->smtp.helo = mx_session_strdup(s, smtp->helo[0].arg);
    guint ext_base = s->smtp.extensions->len;
    if (smtp->n_extensions)
        g_ptr_array_set_size(s->smtp.extensions, (gint)(ext_base + smtp->n_extensions));
    for (uint32_t i = 0; i < smtp->n_extensions; i++)
        s->smtp.extensions->pdata[ext_base + i] = (char *)mx_session_strdup(s, smtp->extensions[i]);
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
