/* SPDX-License-Identifier: BSD-3-Clause */
/* probe.c — the probe's data model and vocabulary: ladder life cycle, reply and verdict names. */
#include "probe.h"
#include "hops.h"

static const char *const reply_type_names[MX_PROBE_REPLY_TYPE_COUNT] = {
    [MX_PROBE_NONE] = "none",
    [MX_PROBE_TIME_EXCEEDED] = "time_exceeded",
    [MX_PROBE_UNREACHABLE] = "unreachable",
    [MX_PROBE_SYNACK] = "synack",
    [MX_PROBE_RST] = "rst",
};

static const char *const path_verdict_names[MX_PATH_VERDICT_COUNT] = {
    [MX_PATH_OPEN] = "open",
    [MX_PATH_CLOSED] = "closed",
    [MX_PATH_FORGED_RST] = "forged_rst",
    [MX_PATH_ADMIN_PROHIBITED] = "admin_prohibited",
    [MX_PATH_UNREACHABLE] = "unreachable",
    [MX_PATH_SILENT] = "silent",
};

G_DEFINE_QUARK(mx-probe-error-quark, mx_probe_error)

const char *mx_probe_reply_type_name(mx_probe_reply_type t)
{
    return t < MX_PROBE_REPLY_TYPE_COUNT ? reply_type_names[t] : "none";
}

const char *mx_path_verdict_name(mx_path_verdict v)
{
    return v < MX_PATH_VERDICT_COUNT ? path_verdict_names[v] : "silent";
}

int mx_probe_reply_hop(const mx_probe_reply *r)
{
    if (r->type == MX_PROBE_NONE || r->reply_ttl <= 0 || r->reply_ttl > 255)
        return 0;
    return mx_hop_of_ttl((uint8_t)r->reply_ttl);
}

bool mx_probe_code_admin_prohibited(uint8_t family, int code)
{
    if (family == 6)
        return code == 1;        /* RFC 4443: communication administratively prohibited */
    /* RFC 1122/1812: 9 network and 10 host administratively prohibited,
     * 13 communication administratively prohibited (iptables
     * --reject-with icmp-admin-prohibited, Cisco ACL "deny"). */
    return code == 9 || code == 10 || code == 13;
}

void mx_probe_ladder_init(mx_probe_ladder *l)
{
    *l = (mx_probe_ladder){0};
    l->steps = g_array_new(FALSE, TRUE, sizeof(mx_probe_step));
}

void mx_probe_ladder_clear(mx_probe_ladder *l)
{
    if (l->steps) {
        for (guint i = 0; i < l->steps->len; i++)
            g_array_free(g_array_index(l->steps, mx_probe_step, i).replies, TRUE);
        g_array_free(l->steps, TRUE);
    }
    *l = (mx_probe_ladder){0};
}

mx_probe_step *mx_probe_ladder_add_step(mx_probe_ladder *l, int ttl, guint n)
{
    mx_probe_step step = { .ttl = ttl, .replies = g_array_new(FALSE, TRUE, sizeof(mx_probe_reply)) };
    for (guint i = 0; i < n; i++) {
        mx_probe_reply none = { .type = MX_PROBE_NONE, .code = -1, .rtt_ms = -1, .reply_ttl = -1 };
        g_array_append_val(step.replies, none);
    }
    g_array_append_val(l->steps, step);
    return &g_array_index(l->steps, mx_probe_step, l->steps->len - 1);
}

void mx_probe_path_init(mx_probe_path *p)
{
    *p = (mx_probe_path){0};
    p->summary = g_string_new(NULL);
    p->advice = g_string_new(NULL);
}

void mx_probe_path_clear(mx_probe_path *p)
{
    if (p->summary)
        g_string_free(p->summary, TRUE);
    if (p->advice)
        g_string_free(p->advice, TRUE);
    *p = (mx_probe_path){0};
}
