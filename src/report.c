/* report.c — the report model shared by all renderers: destinations and ordering. */
#include "report.h"

void mx_report_init(mx_report *r)
{
    *r = (mx_report){0};
    r->inputs = g_ptr_array_new_with_free_func(g_free);
    r->sessions = g_ptr_array_new_with_free_func((GDestroyNotify)mx_session_free);
    r->destinations = g_array_new(FALSE, TRUE, sizeof(mx_destination));
}

void mx_report_clear(mx_report *r)
{
    g_ptr_array_free(r->inputs, TRUE);
    g_ptr_array_free(r->sessions, TRUE);
    g_array_free(r->destinations, TRUE);
    *r = (mx_report){0};
}

void mx_report_count(mx_report *r, const mx_session *s)
{
    mx_destination *d = NULL;
    /* Destinations are few (a gateway's queue talks to a few hundred MX
     * hosts at most): a linear search keeps their order of first attempt. */
    for (guint i = 0; i < r->destinations->len; i++) {
        mx_destination *c = &g_array_index(r->destinations, mx_destination, i);
        if (mx_addr_equal(&c->ip, &s->server_ip)) {
            d = c;
            break;
        }
    }
    if (d == NULL) {
        mx_destination fresh = { .ip = s->server_ip, .first_us = s->start_us };
        g_array_append_val(r->destinations, fresh);
        d = &g_array_index(r->destinations, mx_destination, r->destinations->len - 1);
    }
    d->attempts++;
    d->kinds[s->verdict.kind]++;
    if (mx_session_failed(s))
        d->failed++;
    if (s->start_us < d->first_us)
        d->first_us = s->start_us;
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
    g_ptr_array_sort(r->sessions, session_cmp);
    g_array_sort(r->destinations, destination_cmp);
}
