/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-path.c — the path verdict: which hop answers, which one forges, where silence begins.
 *
 * Takes: a finished ladder (and, when the SMTP dialogue saw one, the hop
 * of the server's own SYN-ACK).  Produces: mx_probe_path with its verdict,
 * the hop and address it names, and a summary and advice in a mail
 * administrator's words.  Pure: no I/O, so tests feed it hand-made ladders.
 *
 * Two distances meet here.  A probe's TTL is the forward distance: a
 * probe sent with TTL t can travel at most t hops, so whatever answers it
 * sits at hop t or nearer.  A reply's own TTL gives the return distance
 * (Hop model).  A genuine server answers from where the ladder first
 * reached it, both ways; a middlebox answering in its name sits nearer.
 */
#include "probe.h"

typedef struct found {
    const mx_probe_step *step;
    const mx_probe_reply *reply;
    int hop;                     /* where the ladder places the responder */
} found;

/* Where the ladder places a responder.  A router's time-exceeded names
 * the hop exactly (the TTL ran out there).  Any other answer came from
 * the probe's TTL or nearer; its reply TTL says how much nearer. */
static int placed_hop(const mx_probe_step *st, const mx_probe_reply *r)
{
    if (r->type == MX_PROBE_TIME_EXCEEDED)
        return st->ttl;
    int h = mx_probe_reply_hop(r);
    return h > 0 && h < st->ttl ? h : st->ttl;
}

/* The hop at which addr answered a time-exceeded, 0 if it never did:
 * a router that also forges or rejects is named by its own ICMP. */
static int hop_of_router(const mx_probe_ladder *l, const mx_addr *addr)
{
    for (guint i = 0; i < l->steps->len; i++) {
        const mx_probe_step *st = &g_array_index(l->steps, mx_probe_step, i);
        for (guint j = 0; j < st->replies->len; j++) {
            const mx_probe_reply *r = &g_array_index(st->replies, mx_probe_reply, j);
            if (r->type == MX_PROBE_TIME_EXCEEDED && mx_addr_equal(&r->ip, addr))
                return st->ttl;
        }
    }
    return 0;
}

/* The router that answered time-exceeded at hop, if one did. */
static const mx_probe_reply *router_at(const mx_probe_ladder *l, int hop)
{
    for (guint i = 0; i < l->steps->len; i++) {
        const mx_probe_step *st = &g_array_index(l->steps, mx_probe_step, i);
        if (st->ttl != hop)
            continue;
        for (guint j = 0; j < st->replies->len; j++) {
            const mx_probe_reply *r = &g_array_index(st->replies, mx_probe_reply, j);
            if (r->type == MX_PROBE_TIME_EXCEEDED)
                return r;
        }
    }
    return NULL;
}

static const char *unreach_name(uint8_t family, int code)
{
    if (family == 6) {
        static const char *const v6[] = { "no route to destination", "administratively prohibited",
                                          "beyond scope of source address", "address unreachable",
                                          "port unreachable", "source address failed policy",
                                          "reject route to destination" };
        return code >= 0 && code < (int)G_N_ELEMENTS(v6) ? v6[code] : "unreachable";
    }
    static const char *const v4[] = { "network unreachable", "host unreachable", "protocol unreachable",
                                      "port unreachable", "fragmentation needed", "source route failed",
                                      "destination network unknown", "destination host unknown",
                                      "source host isolated", "network administratively prohibited",
                                      "host administratively prohibited", "network unreachable for TOS",
                                      "host unreachable for TOS", "communication administratively prohibited",
                                      "host precedence violation", "precedence cutoff in effect" };
    return code >= 0 && code < (int)G_N_ELEMENTS(v4) ? v4[code] : "unreachable";
}

static void set_hop_ip(mx_probe_path *p, int hop, const mx_addr *ip)
{
    p->hop = hop;
    p->has_ip = ip && ip->family;
    if (p->has_ip)
        p->ip = *ip;
}

static void judge_forged(const mx_probe_ladder *l, mx_probe_path *p, const found *rst, const char *target)
{
    char rst_ip[MX_ADDR_BUF] = "";
    int t = rst->step->ttl, h = mx_probe_reply_hop(rst->reply);
    /* The forger sits at the nearer of the two distances.  When a router
     * answered time-exceeded at that hop, it is the one: a firewall that
     * rejects with a reset sends it from the same place, with the same
     * fresh TTL, as its own ICMP errors. */
    const mx_probe_reply *router = router_at(l, rst->hop);
    p->verdict = MX_PATH_FORGED_RST;
    set_hop_ip(p, rst->hop, router ? &router->ip : NULL);
    if (router)
        mx_addr_str(&router->ip, rst_ip, sizeof rst_ip);
    g_string_printf(p->summary,
                    "A middlebox at hop %d%s%s%s answers connections to %s port %u with a RST in the "
                    "server's name: the RST arrives from hop %d (reply TTL %d) for a probe sent with TTL %d",
                    rst->hop, router ? " (" : "", rst_ip, router ? ")" : "", target, l->dport,
                    h > 0 ? h : t, rst->reply->reply_ttl, t);
    if (p->server_hop > t)
        g_string_append_printf(p->summary, ", while the server itself answers from hop %d", p->server_hop);
    else
        g_string_append(p->summary, ", nearer than the probe had to travel");
    g_string_append(p->summary, ". The server never sees these connections.");
    g_string_printf(p->advice,
                    "Check the firewall or router at hop %d%s%s%s for a rule that rejects TCP port %u with a "
                    "reset (iptables REJECT --reject-with tcp-reset, an ACL or IPS \"reset\" action, SMTP "
                    "inspection); ask its owner to let the gateway reach %s on port %u.  The receiving "
                    "MTA is not at fault.",
                    rst->hop, router ? " (" : "", rst_ip, router ? ")" : "", l->dport, target, l->dport);
}

static void judge_unreachable(const mx_probe_ladder *l, mx_probe_path *p, const found *u, const char *target)
{
    char ip[MX_ADDR_BUF];
    const mx_probe_reply *r = u->reply;
    mx_addr_str(&r->ip, ip, sizeof ip);
    int named = hop_of_router(l, &r->ip);
    int hop = named > 0 ? named : u->hop;
    bool admin = mx_probe_code_admin_prohibited(r->ip.family, r->code);
    const char *what = unreach_name(r->ip.family, r->code);
    int type = r->ip.family == 6 ? 1 : 3;
    set_hop_ip(p, hop, &r->ip);
    if (admin) {
        p->verdict = MX_PATH_ADMIN_PROHIBITED;
        g_string_printf(p->summary,
                        "Hop %d (%s) refuses connections to %s port %u with ICMP%s \"%s\" (type %d code %d): "
                        "a filter there blocks SMTP towards the server.",
                        hop, ip, target, l->dport, r->ip.family == 6 ? "v6" : "", what, type, r->code);
        g_string_printf(p->advice,
                        "The router or firewall %s at hop %d has an access rule that rejects TCP port %u "
                        "towards %s: ask its administrator to permit SMTP from the gateway's address.  "
                        "The receiving MTA never sees the connection.",
                        ip, hop, l->dport, target);
        return;
    }
    p->verdict = MX_PATH_UNREACHABLE;
    g_string_printf(p->summary, "Hop %d (%s) answers \"%s\" (ICMP%s type %d code %d) for %s port %u.",
                    hop, ip, what, r->ip.family == 6 ? "v6" : "", type, r->code, target, l->dport);
    if (mx_addr_equal(&r->ip, &l->target))
        g_string_printf(p->advice, "%s itself says it cannot take the connection: check that its MTA listens "
                        "on port %u and that the MX records name the right host.", target, l->dport);
    else
        g_string_printf(p->advice, "Check the routes of %s towards %s (a missing route, a host that is down or "
                        "an address no host owns on the last network); the error names the router, so start "
                        "there.", ip, target);
}

static void judge_silent(const mx_probe_ladder *l, mx_probe_path *p, const char *target)
{
    const mx_probe_step *last = l->steps->len ? &g_array_index(l->steps, mx_probe_step, l->steps->len - 1) : NULL;
    bool trailing_silence = false;
    if (last) {
        trailing_silence = true;
        for (guint j = 0; j < last->replies->len; j++)
            if (g_array_index(last->replies, mx_probe_reply, j).type != MX_PROBE_NONE)
                trailing_silence = false;
    }
    p->verdict = MX_PATH_SILENT;
    int lah = p->last_answering_hop;
    if (lah == 0) {
        /* Not even the first router answered. */
        p->hop = last ? 1 : 0;
        g_string_printf(p->summary, "Nothing answers the probes to %s port %u, not even the first router: "
                        "they are dropped at the gateway itself or at hop 1 without any ICMP error.",
                        target, l->dport);
        g_string_printf(p->advice, "Check the gateway's own firewall (outgoing TCP port %u) and its route "
                        "to %s, then the first router's filters.", l->dport, target);
        return;
    }
    const mx_probe_reply *router = router_at(l, lah);
    char ip[MX_ADDR_BUF] = "";
    if (router)
        mx_addr_str(&router->ip, ip, sizeof ip);
    if (!trailing_silence) {
        /* Every step answered, the target never did: the path is longer
         * than --max-ttl (or loops). */
        p->hop = 0;
        g_string_printf(p->summary, "The ladder climbed to hop %d%s%s%s without reaching %s: the server is "
                        "further away than --max-ttl %d, or the path loops.",
                        lah, router ? " (" : "", ip, router ? ")" : "", target, l->max_ttl);
        g_string_printf(p->advice, "Probe again with a higher --max-ttl; if the same addresses repeat in "
                        "the ladder, a routing loop is the fault: tell the owners of those routers.");
        return;
    }
    /* A silent drop lies just past the last hop that answered: the next
     * router would have sent time-exceeded had the probe reached it. */
    p->hop = lah + 1;
    g_string_printf(p->summary, "Nothing answers beyond hop %d%s%s%s: probes that go further to %s port %u "
                    "are dropped without a word (no time-exceeded, no RST, no ICMP error).  The silent drop "
                    "lies just past hop %d, most likely at hop %d.",
                    lah, router ? " (" : "", ip, router ? ")" : "", target, l->dport, lah, lah + 1);
    g_string_printf(p->advice, "A firewall at hop %d (the next device after %s) or a route into a black "
                    "hole drops SMTP towards %s silently: ask the owner of that network to check its rules "
                    "for TCP port %u from the gateway's address.  MTAs log this as \"Connection timed out\".",
                    lah + 1, router ? ip : "the last router that answered", target, l->dport);
}

void mx_probe_path_judge(const mx_probe_ladder *l, int server_hop_hint, mx_probe_path *p)
{
    char target[MX_ADDR_BUF];
    mx_addr_str(&l->target, target, sizeof target);
    g_string_truncate(p->summary, 0);
    g_string_truncate(p->advice, 0);
    p->hop = 0;
    p->has_ip = false;
    p->last_answering_hop = 0;
    p->server_hop = 0;

    /* One pass: the server's own answers (SYN-ACK) and the first answer of
     * every other kind, lowest TTL first. */
    found synack = {0}, rst = {0}, unreach = {0};
    int synack_ret = 0;          /* return distance of the nearest SYN-ACK */
    for (guint i = 0; i < l->steps->len; i++) {
        const mx_probe_step *st = &g_array_index(l->steps, mx_probe_step, i);
        for (guint j = 0; j < st->replies->len; j++) {
            const mx_probe_reply *r = &g_array_index(st->replies, mx_probe_reply, j);
            if (r->type == MX_PROBE_NONE)
                continue;
            found here = { st, r, placed_hop(st, r) };
            if (here.hop > p->last_answering_hop)
                p->last_answering_hop = here.hop;
            if (r->type == MX_PROBE_SYNACK && (!synack.step || st->ttl < synack.step->ttl)) {
                synack = here;
                synack_ret = mx_probe_reply_hop(r);
            } else if (r->type == MX_PROBE_RST && (!rst.step || here.hop < rst.hop)) {
                rst = here;
            } else if (r->type == MX_PROBE_UNREACHABLE && (!unreach.step || st->ttl < unreach.step->ttl)) {
                unreach = here;
            }
        }
    }

    /* server_hop: the server's own SYN-ACK first (ladder, then dialogue);
     * else the lowest TTL that drew a RST in its name, which is as far as
     * the ladder had to go to hear "the server". */
    if (synack.step)
        p->server_hop = synack.step->ttl;
    else if (server_hop_hint > 0)
        p->server_hop = server_hop_hint;
    else if (rst.step)
        p->server_hop = rst.step->ttl;

    if (rst.step) {
        int t = rst.step->ttl, h = mx_probe_reply_hop(rst.reply);
        int baseline_ret = server_hop_hint > 0 ? server_hop_hint : synack_ret;
        int baseline_fwd = synack.step ? synack.step->ttl : 0;
        /* Forged when the RST comes from nearer than the probe had to go
         * (its reply TTL says hop h < t), or nearer than the server's own
         * SYN-ACK, or for a TTL too low to reach the server at all. */
        bool forged = (h > 0 && h < t) || (baseline_ret > 0 && h > 0 && h < baseline_ret) ||
                      (baseline_fwd > 0 && t < baseline_fwd);
        if (forged) {
            judge_forged(l, p, &rst, target);
            return;
        }
    }
    if (unreach.step) {
        judge_unreachable(l, p, &unreach, target);
        return;
    }
    if (synack.step) {
        p->verdict = MX_PATH_OPEN;
        set_hop_ip(p, p->server_hop, &l->target);
        g_string_printf(p->summary, "Port %u on %s is open: it answers with a SYN-ACK from hop %d (reply TTL %d)",
                        l->dport, target, p->server_hop, synack.reply->reply_ttl);
        if (p->server_hop > 1)
            g_string_append_printf(p->summary, ", and the %d router%s before it answer%s as expected",
                                   p->server_hop - 1, p->server_hop == 2 ? "" : "s", p->server_hop == 2 ? "s" : "");
        g_string_append(p->summary, ".");
        g_string_printf(p->advice, "The path carries SMTP connections to %s; if deliveries still fail, the "
                        "SMTP session below shows in which phase.", target);
        return;
    }
    if (rst.step) {
        p->verdict = MX_PATH_CLOSED;
        set_hop_ip(p, p->server_hop, &l->target);
        g_string_printf(p->summary, "%s itself refuses connections to port %u: its RST comes from hop %d "
                        "(reply TTL %d), as far as the ladder had to go to reach it.",
                        target, l->dport, rst.hop, rst.reply->reply_ttl);
        g_string_printf(p->advice, "Nothing listens on port %u at %s, or the host's own firewall refuses the "
                        "gateway: check that the MX records name the right host and that its MTA is running "
                        "and accepts connections from the gateway's address.", l->dport, target);
        return;
    }
    judge_silent(l, p, target);
}
