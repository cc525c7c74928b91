/* SPDX-License-Identifier: BSD-3-Clause */
/* report.c — the report model shared by all renderers: destinations and ordering. */
#include "report.h"
#include "caps.h"

#include <string.h>
#include <time.h>

void mx_report_init(mx_report *r)
{
    *r = (mx_report){0};
    r->inputs = g_ptr_array_new_with_free_func(g_free);
    r->sessions = g_ptr_array_new_with_free_func((GDestroyNotify)mx_session_free);
    r->destinations = g_array_new(FALSE, TRUE, sizeof(mx_destination));
    r->dest_index = g_hash_table_new_full(mx_addr_hash, mx_addr_equal_key, g_free, NULL);
    r->dest_strings = g_string_chunk_new(4096);
}

/* A row's name as the 64-byte arrays kept it: at most 63 bytes. */
static const char *dest_string(mx_report *r, const char *text)
{
    return g_string_chunk_insert_len(r->dest_strings, text, (gssize)MIN(strlen(text), 63));
}

void mx_report_clear(mx_report *r)
{
    g_ptr_array_free(r->inputs, TRUE);
    g_ptr_array_free(r->sessions, TRUE);
    g_array_free(r->destinations, TRUE);
    if (r->dest_index)
        g_hash_table_destroy(r->dest_index);
    if (r->twin_index)
        g_hash_table_destroy(r->twin_index);
    if (r->domain_index)
        g_hash_table_destroy(r->domain_index);
    if (r->dest_strings)
        g_string_chunk_free(r->dest_strings);
    *r = (mx_report){0};
}

void mx_report_count(mx_report *r, const mx_session *s)
{
    /* A long capture talks to tens of thousands of MX addresses: found by
     * hash, while the array keeps their order of first attempt. */
    g_return_if_fail(r->dest_index != NULL);
    mx_destination *d;
    guint at = GPOINTER_TO_UINT(g_hash_table_lookup(r->dest_index, &s->server_ip));
    if (at > 0) {
        d = &g_array_index(r->destinations, mx_destination, at - 1);
    } else if (r->destinations->len >= MX_MAX_DESTINATIONS) {
        /* Full: the session still counts in the totals, not in a row. */
        r->stats.destination_sessions_dropped++;
        r->outcomes[s->verdict.outcome]++;
        if (!mx_session_failed(s))
            for (guint w = 0; w < s->verdict.warnings->len; w++)
                r->warned[g_array_index(s->verdict.warnings, mx_warning, w).kind]++;
        return;
    } else {
        mx_destination fresh = { .ip = s->server_ip, .name = "", .mx_domain = "", .first_us = s->start_us };
        g_array_append_val(r->destinations, fresh);
        d = &g_array_index(r->destinations, mx_destination, r->destinations->len - 1);
        g_hash_table_insert(r->dest_index, g_memdup2(&s->server_ip, sizeof s->server_ip),
                            GUINT_TO_POINTER(r->destinations->len));
    }
    bool delivering = d->outcomes[MX_OUTCOME_DELIVERED] + d->outcomes[MX_OUTCOME_OK] > 0;
    if (!d->name[0] && s->server_name)
        d->name = dest_string(r, s->server_name);
    d->attempts++;
    d->kinds[s->verdict.kind]++;
    d->outcomes[s->verdict.outcome]++;
    r->outcomes[s->verdict.outcome]++;
    if (!delivering && d->outcomes[MX_OUTCOME_DELIVERED] + d->outcomes[MX_OUTCOME_OK] > 0)
        r->dest_delivering++;
    if (mx_session_failed(s)) {
        d->failed++;
        if (d->failed == 1 || d->kinds[s->verdict.kind] >= d->kinds[d->main_failure]) {
            d->main_failure = s->verdict.kind;
            d->culprit = s->verdict.culprit;
        }
    } else {
        for (guint w = 0; w < s->verdict.warnings->len; w++)
            r->warned[g_array_index(s->verdict.warnings, mx_warning, w).kind]++;
    }
    if (mx_verdict_has_warning(&s->verdict, MX_WARN_FORGED_PACKET))
        d->forged++;
    if (s->start_us < d->first_us)
        d->first_us = s->start_us;
}

void mx_report_set_mx_domains(mx_report *r, GHashTable *host_to_domain)
{
    for (guint i = 0; i < r->destinations->len; i++) {
        mx_destination *d = &g_array_index(r->destinations, mx_destination, i);
        const char *domain = d->name[0] ? g_hash_table_lookup(host_to_domain, d->name) : NULL;
        if (domain)
            d->mx_domain = dest_string(r, domain);
    }
}

static bool delivers(const mx_destination *d)
{
    return d->outcomes[MX_OUTCOME_DELIVERED] + d->outcomes[MX_OUTCOME_OK] > 0;
}

/* The rows in their final order: delivering rows by name and family (the
 * last wins, as the scan it replaces found) and by MX domain (the first,
 * and the first with another name). */
static void index_names(mx_report *r)
{
    if (r->twin_index)
        g_hash_table_destroy(r->twin_index);
    if (r->domain_index)
        g_hash_table_destroy(r->domain_index);
    r->twin_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    r->domain_index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < r->destinations->len; i++) {
        const mx_destination *d = &g_array_index(r->destinations, mx_destination, i);
        if (!delivers(d))
            continue;
        if (d->name[0])
            g_hash_table_insert(r->twin_index, g_strdup_printf("%u %s", d->ip.family, d->name), GUINT_TO_POINTER(i + 1));
        if (d->mx_domain[0]) {
            guint64 *v = g_hash_table_lookup(r->domain_index, d->mx_domain);
            if (v == NULL) {
                v = g_new0(guint64, 1);
                *v = i + 1;
                g_hash_table_insert(r->domain_index, g_strdup(d->mx_domain), v);
            } else if ((*v >> 32) == 0 &&
                       strcmp(g_array_index(r->destinations, mx_destination, (*v & 0xffffffff) - 1).name, d->name) != 0) {
                *v |= (guint64)(i + 1) << 32;
            }
        }
    }
}

static gint session_cmp(gconstpointer a, gconstpointer b)
{
    const mx_session *x = *(mx_session *const *)a, *y = *(mx_session *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static gint destination_cmp(gconstpointer a, gconstpointer b)
{
    const mx_destination *x = a, *y = b;
    return x->first_us < y->first_us ? -1 : x->first_us > y->first_us;
}

void mx_report_sort(mx_report *r)
{
    /* The index holds row numbers, which sorting changes: no counting after this. */
    if (r->dest_index) {
        g_hash_table_destroy(r->dest_index);
        r->dest_index = NULL;
    }
    g_ptr_array_sort(r->sessions, session_cmp);
    g_array_sort(r->destinations, destination_cmp);
    index_names(r);
}

/* What the kind means for a destination, in a few words: one attempt, several. */
static const char *failure_phrase(mx_kind k, bool plural)
{
    static const char *const phrases[MX_KIND_COUNT][2] = {
        [MX_KIND_SYN_TIMEOUT] = { "times out at SYN", "time out at SYN" },
        [MX_KIND_CONNECT_REFUSED] = { "is refused at SYN", "are refused at SYN" },
        [MX_KIND_ICMP_UNREACHABLE] = { "is answered by an ICMP unreachable", "are answered by an ICMP unreachable" },
        [MX_KIND_NO_GREETING] = { "gets no greeting", "get no greeting" },
        [MX_KIND_GREETING_REJECTED] = { "is refused at the greeting", "are refused at the greeting" },
        [MX_KIND_EHLO_NO_REPLY] = { "gets no reply to EHLO", "get no reply to EHLO" },
        [MX_KIND_EHLO_REJECTED] = { "has its EHLO refused", "have their EHLO refused" },
        [MX_KIND_MAIL_LOOP] = { "loops back to the gateway", "loop back to the gateway" },
        [MX_KIND_MAIL_REJECTED] = { "has the sender refused", "have the sender refused" },
        [MX_KIND_RCPT_REJECTED] = { "has recipients refused", "have recipients refused" },
        [MX_KIND_DATA_REJECTED] = { "has the message refused", "have the message refused" },
        [MX_KIND_REPLY_TIMEOUT] = { "stops getting replies", "stop getting replies" },
        [MX_KIND_DATA_STALL] = { "stalls while sending the message", "stall while sending the message" },
        [MX_KIND_RESET] = { "is reset", "are reset" },
        [MX_KIND_TLS_STRIPPED] = { "loses STARTTLS to an inspecting firewall", "lose STARTTLS to an inspecting firewall" },
        [MX_KIND_TLS_FAILED] = { "fails the TLS handshake", "fail the TLS handshake" },
        [MX_KIND_CLIENT_ABORT] = { "is given up by the gateway", "are given up by the gateway" },
    };
    const char *p = k < MX_KIND_COUNT ? phrases[k][plural] : NULL;
    return p ? p : plural ? "fail" : "fails";
}

char *mx_report_destination_verdict(const mx_report *r, const mx_destination *d)
{
    if (d->failed == 0)
        return NULL;
    char ip[64];
    mx_addr_str(&d->ip, ip, sizeof ip);
    /* Counted as sessions came in (mx_report_count), not per row: O(1). */
    bool self_ok = d->outcomes[MX_OUTCOME_DELIVERED] + d->outcomes[MX_OUTCOME_OK] > 0;
    uint32_t others_ok = r->dest_delivering - (self_ok ? 1 : 0);
    uint32_t main_count = d->kinds[d->main_failure];
    GString *s = g_string_new(NULL);
    if (main_count == d->attempts && d->attempts == 1)
        g_string_printf(s, "The only attempt to %s %s", ip, failure_phrase(d->main_failure, false));
    else if (main_count == d->attempts)
        g_string_printf(s, "All %u attempts to %s %s", d->attempts, ip, failure_phrase(d->main_failure, true));
    else if (main_count == d->failed)
        g_string_printf(s, "%u of %u attempts to %s %s", main_count, d->attempts, ip,
                        failure_phrase(d->main_failure, main_count > 1));
    else {
        /* Mixed failures: name them all, then explain the main one. */
        g_string_printf(s, "%u of %u attempts to %s failed (", d->failed, d->attempts, ip);
        bool first = true;
        for (int k = 0; k < MX_KIND_COUNT; k++) {
            if (k == MX_KIND_OK || k == MX_KIND_INCOMPLETE || d->kinds[k] == 0)
                continue;
            g_string_append_printf(s, "%s%s %u", first ? "" : ", ", mx_kind_name((mx_kind)k), d->kinds[k]);
            first = false;
        }
        g_string_append_printf(s, "); %u %s", main_count, failure_phrase(d->main_failure, main_count > 1));
    }
    if (others_ok > 0)
        g_string_append_printf(s, " while %u other destination%s deliver%s", others_ok,
                               others_ok == 1 ? "" : "s", others_ok == 1 ? "s" : "");

    /* The same host (one DNS name) delivers over the other address family:
     * the path for this family is broken, not the server (DESIGN.md,
     * "IPv6 broken while IPv4 works"). */
    const mx_destination *twin = NULL;
    if (d->name[0] && r->twin_index) {
        g_autofree char *key = g_strdup_printf("%u %s", d->ip.family == 4 ? 6u : 4u, d->name);
        guint at = GPOINTER_TO_UINT(g_hash_table_lookup(r->twin_index, key));
        if (at)
            twin = &g_array_index(r->destinations, mx_destination, at - 1);
    }
    for (guint i = 0; d->name[0] && !r->twin_index && i < r->destinations->len; i++) {
        const mx_destination *o = &g_array_index(r->destinations, mx_destination, i);
        if (o != d && o->ip.family != d->ip.family && strcmp(o->name, d->name) == 0 &&
            o->outcomes[MX_OUTCOME_DELIVERED] + o->outcomes[MX_OUTCOME_OK] > 0)
            twin = o;
    }
    if (twin && d->outcomes[MX_OUTCOME_DELIVERED] + d->outcomes[MX_OUTCOME_OK] == 0) {
        char tip[64];
        mx_addr_str(&twin->ip, tip, sizeof tip);
        g_string_append_printf(s, ": %s delivers over %s (%s), so the %s path is broken, not the server: check %s "
                               "routes and firewall rules for TCP port 25, or have the gateway prefer %s for now "
                               "(Postfix: smtp_address_preference).", d->name, twin->ip.family == 4 ? "IPv4" : "IPv6",
                               tip, d->ip.family == 6 ? "IPv6" : "IPv4", d->ip.family == 6 ? "IPv6" : "IPv4",
                               twin->ip.family == 4 ? "IPv4" : "IPv6");
        return g_string_free(s, FALSE);
    }

    const mx_culprit *c = &d->culprit;
    char cip[64] = "";
    if (c->has_ip)
        mx_addr_str(&c->ip, cip, sizeof cip);
    if (d->forged > 0 && c->role == MX_ROLE_FIREWALL)
        g_string_append_printf(s, ": RSTs for this server arrive from hop %d, closer than its own packets: "
                               "a firewall %d hop%s from the gateway resets the connections.",
                               c->hops_from_client, c->hops_from_client, c->hops_from_client == 1 ? "" : "s");
    else if (c->role == MX_ROLE_FIREWALL && c->has_ip)
        g_string_append_printf(s, ": the firewall %s (hop %d) rejects the connections.", cip, c->hops_from_client);
    else if (c->role == MX_ROLE_FIREWALL)
        g_string_append(s, ": an inspecting firewall in the path is the cause.");
    else if (d->main_failure == MX_KIND_SYN_TIMEOUT && others_ok > 0)
        g_string_append(s, ": a firewall rule or a route for this destination drops the connections.");
    else if (d->main_failure == MX_KIND_SYN_TIMEOUT)
        g_string_append(s, ": something in the path drops the connections silently.");
    else if (c->role == MX_ROLE_PATH && c->has_ip)
        g_string_append_printf(s, ": router %s (hop %d) cannot forward the connections.", cip, c->hops_from_client);
    else if (c->role == MX_ROLE_SERVER)
        g_string_append(s, ": the receiving server is the cause.");
    else if (c->role == MX_ROLE_DNS)
        g_string_append(s, ": DNS routes the mail to the wrong place.");
    else if (c->role == MX_ROLE_CLIENT)
        g_string_append(s, ": the gateway itself is the cause.");
    else
        g_string_append(s, ".");

    /* Another MX host of the same domain delivered: the gateway's fallback
     * to the next MX (RFC 5321 5.1) works, so the mail got through, late. */
    const mx_destination *sibling = NULL;
    if (d->mx_domain[0] && !self_ok && r->domain_index) {
        const guint64 *v = g_hash_table_lookup(r->domain_index, d->mx_domain);
        guint first = v ? (guint)(*v & 0xffffffff) : 0, second = v ? (guint)(*v >> 32) : 0;
        if (first && strcmp(g_array_index(r->destinations, mx_destination, first - 1).name, d->name) != 0)
            sibling = &g_array_index(r->destinations, mx_destination, first - 1);
        else if (second)
            sibling = &g_array_index(r->destinations, mx_destination, second - 1);
    }
    for (guint i = 0; d->mx_domain[0] && !self_ok && !r->domain_index && i < r->destinations->len && !sibling; i++) {
        const mx_destination *o = &g_array_index(r->destinations, mx_destination, i);
        if (o != d && o->mx_domain[0] && strcmp(o->mx_domain, d->mx_domain) == 0 && strcmp(o->name, d->name) != 0 &&
            o->outcomes[MX_OUTCOME_DELIVERED] + o->outcomes[MX_OUTCOME_OK] > 0)
            sibling = o;
    }
    if (sibling) {
        char sip[64];
        mx_addr_str(&sibling->ip, sip, sizeof sip);
        g_string_append_printf(s, " %s is one of %s's MX hosts, and the gateway delivered through another, %s (%s): "
                               "mail for %s gets through, delayed by each failed attempt on %s.", d->name,
                               d->mx_domain, sibling->name, sip, d->mx_domain, d->name);
    }
    return g_string_free(s, FALSE);
}

/* The date and time to the second, as "YYYY-MM-DD HH:MM:SS", the date
 * cached per thread: a report's timestamps come in runs within the same
 * day, and gmtime_r + strftime cost far more than the arithmetic. */
static size_t date_time(time_t secs, char *out, size_t len)
{
    static _Thread_local bool valid, no_tm;
    static _Thread_local int64_t cached_day;
    static _Thread_local char cached[32];
    static _Thread_local size_t cached_len;
    int64_t t = (int64_t)secs;
    int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    if (!valid || day != cached_day) {
        struct tm tm;
        time_t midnight = (time_t)(day * 86400);
        no_tm = gmtime_r(&midnight, &tm) == NULL;
        if (no_tm)
            memset(&tm, 0, sizeof tm);   /* a timestamp past what struct tm can hold */
        cached_len = strftime(cached, sizeof cached, "%Y-%m-%d", &tm);
        cached_day = day;
        valid = true;
    }
    if (cached_len + 10 > len)
        return 0;
    int tod = no_tm ? 0 : (int)(t - day * 86400);
    int h = tod / 3600, m = tod / 60 % 60, sec = tod % 60;
    memcpy(out, cached, cached_len);
    char *p = out + cached_len;
    p[0] = ' ';
    p[1] = (char)('0' + h / 10);
    p[2] = (char)('0' + h % 10);
    p[3] = ':';
    p[4] = (char)('0' + m / 10);
    p[5] = (char)('0' + m % 10);
    p[6] = ':';
    p[7] = (char)('0' + sec / 10);
    p[8] = (char)('0' + sec % 10);
    p[9] = '\0';
    return cached_len + 9;
}

/* date_time, then sep in place of the space, ".ffffff" and suffix. */
static const char *format_time(int64_t us, char sep, const char *suffix, char *buf, size_t len)
{
    time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    int frac = (int)(us - (int64_t)secs * 1000000);
    size_t n = date_time(secs, buf, len), suffix_len = strlen(suffix);
    if (n < 11 || n + 7 + suffix_len + 1 > len) {
        if (len > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[10] = sep;
    buf[n] = '.';
    for (int k = 6; k >= 1; k--, frac /= 10)
        buf[n + (size_t)k] = (char)('0' + frac % 10);
    memcpy(buf + n + 7, suffix, suffix_len + 1);
    return buf;
}

const char *mx_report_time(int64_t us, char *buf, size_t len)
{
    return format_time(us, ' ', "", buf, len);
}

const char *mx_report_time_rfc3339(int64_t us, char *buf, size_t len)
{
    return format_time(us, 'T', "Z", buf, len);
}
