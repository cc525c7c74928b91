/* SPDX-License-Identifier: BSD-3-Clause */
/* redact.c — mail-address local parts replaced by stable pseudonyms of the same length.
 *
 * The scan is by shape, not by SMTP grammar, so that it finds addresses in
 * commands, in replies that echo them (in angle brackets, parentheses,
 * after "to=" ...) and in report text alike: every '@' followed by a domain
 * character ends a local part, which runs back over atext and dots, or is
 * a quoted string.  An '@' with nothing before it (a source route's
 * "@relay") is a host, not a mailbox.
 */
#include "redact.h"
#include "caps.h"
#include "session.h"

#include <string.h>

struct mx_redactor {
    GHashTable *map;         /* lowercased local part -> pseudonym (same length) */
    GHashTable *issued;      /* the pseudonyms: redacting twice changes nothing */
    uint32_t next;
};

mx_redactor *mx_redactor_new(void)
{
    mx_redactor *rd = g_new0(mx_redactor, 1);
    rd->map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    rd->issued = g_hash_table_new(g_str_hash, g_str_equal);
    return rd;
}

void mx_redactor_free(mx_redactor *rd)
{
    if (!rd)
        return;
    g_hash_table_destroy(rd->issued);
    g_hash_table_destroy(rd->map);
    g_free(rd);
}

static bool atext(uint8_t c)
{
    return g_ascii_isalnum(c) || (c != 0 && strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL);
}

static const char *pseudonym(mx_redactor *rd, const uint8_t *local, size_t len)
{
    g_autofree char *key = g_ascii_strdown((const char *)local, (gssize)len);
    const char *known = g_hash_table_lookup(rd->map, key);
    if (known)
        return known;
    if (g_hash_table_contains(rd->issued, key))
        return NULL;             /* already a pseudonym */
    uint32_t n = ++rd->next;
    char *ph = g_strdup_printf("user%u", n);
    if (strlen(ph) <= len) {
        char *padded = g_strnfill(len, 'x');
        memcpy(padded, ph, strlen(ph));
        g_free(ph);
        ph = padded;
    } else {
        /* Too short for "userN": the last len base-36 digits of N. */
        g_free(ph);
        ph = g_strnfill(len, '0');
        for (size_t i = len; i > 0 && n; i--, n /= 36)
            ph[i - 1] = "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36];
    }
    g_hash_table_add(rd->issued, ph);
    g_hash_table_insert(rd->map, g_steal_pointer(&key), ph);
    return ph;
}

size_t mx_redact_bytes(mx_redactor *rd, uint8_t *p, size_t n)
{
    size_t changed = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        if (p[i] != '@' || !(g_ascii_isalnum(p[i + 1]) || p[i + 1] == '[' || p[i + 1] == '-'))
            continue;
        size_t from, to = i;
        if (p[i - 1] == '"') {
            /* "bob smith"@: the content between the quotes. */
            size_t q = i - 1;
            bool found = false;
            while (q > 0 && i - q < MX_REDACT_QUOTED_MAX) {
                q--;
                if (p[q] == '"' && (q == 0 || p[q - 1] != '\\')) {
                    found = true;
                    break;
                }
            }
            if (!found)
                continue;
            from = q + 1;
            to = i - 1;
        } else {
            from = i;
            while (from > 0 && atext(p[from - 1]))
                from--;
        }
        if (to <= from)
            continue;            /* "<@relay": a source route's host */
        const char *ph = pseudonym(rd, p + from, to - from);
        if (ph == NULL)
            continue;
        for (size_t k = from; k < to; k++) {
            if (p[k] != (uint8_t)ph[k - from]) {
                p[k] = (uint8_t)ph[k - from];
                changed++;
            }
        }
    }
    return changed;
}

void mx_redact_string(mx_redactor *rd, char *text)
{
    if (rd && text)
        mx_redact_bytes(rd, (uint8_t *)text, strlen(text));
}

void mx_redact_gstring(mx_redactor *rd, GString *s)
{
    if (rd && s)
        mx_redact_bytes(rd, (uint8_t *)s->str, s->len);
}

void mx_redact_session(mx_redactor *rd, mx_session *s)
{
    if (rd == NULL || s == NULL)
        return;
    /* Const to the reports, but the session's own copies in its writable
     * string arena (session.c): changed in place, as the rest. */
    mx_redact_string(rd, (char *)s->smtp.greeting);
    mx_redact_string(rd, (char *)s->smtp.helo);
    for (guint i = 0; i < s->smtp.replies->len; i++)
        mx_redact_string(rd, (char *)g_array_index(s->smtp.replies, mx_reply_rec, i).text);
    mx_verdict *v = &s->verdict;
    mx_redact_gstring(rd, v->summary);
    mx_redact_gstring(rd, v->advice);
    mx_redact_gstring(rd, v->mta_status);
    for (guint i = 0; i < v->warnings->len; i++)
        mx_redact_string(rd, g_array_index(v->warnings, mx_warning, i).detail);
    for (guint i = 0; i < v->evidence->len; i++)
        mx_redact_string(rd, g_array_index(v->evidence, mx_evidence, i).fact);
}
