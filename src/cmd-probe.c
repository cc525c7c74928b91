/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd-probe.c — `mxray probe`: resolve the target, climb the TTL ladder, talk SMTP, judge, report.
 *
 * The order matters: the ladder first (it names the hop a passive capture
 * cannot), then the SMTP dialogue (its session is what an MTA would have
 * lived through), then the path verdict, which measures RSTs against the
 * server's own SYN-ACK when the dialogue saw one.
 */
#include "config.h"
#include "cmd.h"
#include "diagnose.h"
#include "probe.h"
#include "probe-ladder.h"
#include "probe-report.h"
#include "probe-smtp.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct probe_opts {
    int port;
    char *source;
    char *iface;
    int max_ttl;
    int per_hop;
    double wait_s;
    int timeout_s;
    char *helo;
    gboolean starttls;
    char *write_file;
    char *format;
    gboolean mx;
    gboolean no_smtp;
} probe_opts;

typedef struct probe_target {
    char *host;                  /* NULL when given as an address */
    mx_addr ip;
} probe_target;

static void target_free(gpointer p)
{
    probe_target *t = p;
    g_free(t->host);
    g_free(t);
}

static bool addr_from_sockaddr(const struct sockaddr *sa, mx_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        out->family = 4;
        memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        out->family = 6;
        memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}


/* A host name through the system resolver (getaddrinfo: /etc/hosts, DNS,
 * in the order nsswitch.conf says); the first address of the wanted
 * family (0: any), in the resolver's preference order (RFC 6724). */
static bool resolve_host(const char *name, uint8_t family, mx_addr *out, GError **error)
{
    struct addrinfo hints = { .ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: %s", name, gai_strerror(rc));
        return false;
    }
    bool found = false;
    for (struct addrinfo *ai = res; ai && !found; ai = ai->ai_next)
        found = addr_from_sockaddr(ai->ai_addr, out);
    freeaddrinfo(res);
    if (!found)
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: no address", name);
    return found;
}

typedef struct mx_rr {
    unsigned pref;
    char name[NS_MAXDNAME];
} mx_rr;

static gint mx_rr_cmp(gconstpointer a, gconstpointer b)
{
    const mx_rr *x = a, *y = b;
    return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* The domain's MX hosts in preference order (libresolv).  A domain with
 * no MX record is its own mail host (RFC 5321 5.1, implicit MX). */
static GArray *lookup_mx(const char *domain, GError **error)
{
    unsigned char answer[NS_PACKETSZ * 4];
    GArray *hosts = g_array_new(FALSE, TRUE, sizeof(mx_rr));
    int len = res_query(domain, ns_c_in, ns_t_mx, answer, sizeof answer);
    if (len < 0) {
        if (h_errno == NO_DATA) {
            mx_rr self = { .pref = 0 };
            g_strlcpy(self.name, domain, sizeof self.name);
            g_array_append_val(hosts, self);
            return hosts;
        }
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: MX lookup failed (%s)", domain,
                    hstrerror(h_errno));
        g_array_free(hosts, TRUE);
        return NULL;
    }
    ns_msg msg;
    if (ns_initparse(answer, len > (int)sizeof answer ? (int)sizeof answer : len, &msg) < 0) {
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: unreadable MX answer", domain);
        g_array_free(hosts, TRUE);
        return NULL;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
            continue;
        mx_rr m = { .pref = ns_get16(ns_rr_rdata(rr)) };
        if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, m.name, sizeof m.name) < 0)
            continue;
        g_array_append_val(hosts, m);
    }
    g_array_sort(hosts, mx_rr_cmp);
    if (hosts->len == 0) {
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: the MX answer lists no host", domain);
        g_array_free(hosts, TRUE);
        return NULL;
    }
    return hosts;
}

/* The address the kernel would send from towards target: a connected UDP
 * socket asks the routing table without sending anything. */
static bool route_source(const mx_addr *target, uint16_t port, mx_addr *out, GError **error)
{
    struct sockaddr_storage ss;
    socklen_t sl = mx_addr_sockaddr(target, port, &ss);
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) == 0;
    sl = sizeof ss;
    ok = ok && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && addr_from_sockaddr((struct sockaddr *)&ss, out);
    if (!ok) {
        char t[MX_ADDR_BUF];
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "no route to %s: %s",
                    mx_addr_str(target, t, sizeof t), g_strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The interface that owns addr (where the answers arrive). */
static char *iface_of(const mx_addr *addr)
{
    struct ifaddrs *ifs = NULL;
    char *name = NULL;
    if (getifaddrs(&ifs) < 0)
        return NULL;
    for (struct ifaddrs *i = ifs; i && !name; i = i->ifa_next) {
        mx_addr a;
        if (i->ifa_addr && addr_from_sockaddr(i->ifa_addr, &a) && mx_addr_equal(&a, addr))
            name = g_strdup(i->ifa_name);
    }
    freeifaddrs(ifs);
    return name;
}

/* The default EHLO name: this host's fully qualified name, or a name
 * that says it is none (RFC 2606 .invalid) rather than a bare host name
 * that receivers would reject. */
static char *default_helo(void)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) == 0 && host[0]) {
        struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *res = NULL;
        if (getaddrinfo(host, NULL, &hints, &res) == 0) {
            char *fqdn = res->ai_canonname && strchr(res->ai_canonname, '.') ? g_strdup(res->ai_canonname) : NULL;
            freeaddrinfo(res);
            if (fqdn)
                return fqdn;
        }
        if (strchr(host, '.'))
            return g_strdup(host);
    }
    return g_strdup("mxray.invalid");
}

/* A TCP port held for the ladder: bound, never connected (see probe-ladder.c). */
static int hold_port(const mx_addr *source, uint16_t *port, GError **error)
{
    struct sockaddr_storage ss;
    socklen_t sl = mx_addr_sockaddr(source, 0, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "binding a source port: %s", g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* Probes one target; false (exit 2) on a start-up error. */
static bool probe_one(const probe_opts *o, const probe_target *t, const char *helo, mx_probe_result *res, GError **error)
{
    mx_addr source;
    char target_s[MX_ADDR_BUF];
    mx_addr_str(&t->ip, target_s, sizeof target_s);
    if (o->source) {
        if (!mx_addr_parse(o->source, &source)) {
            g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "--source: '%s' is not an address", o->source);
            return false;
        }
        if (source.family != t->ip.family) {
            g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "--source %s and target %s are not of the "
                        "same IP version", o->source, target_s);
            return false;
        }
    } else if (!route_source(&t->ip, (uint16_t)o->port, &source, error)) {
        return false;
    }
    /* A connection to one of our own addresses never leaves the host: it
     * travels over the loopback interface. */
    g_autofree char *iface = o->iface ? g_strdup(o->iface)
                           : mx_addr_equal(&source, &t->ip) ? g_strdup("lo") : iface_of(&source);
    if (!iface) {
        char s[MX_ADDR_BUF];
        g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "no interface owns %s (use -i IFACE)",
                    mx_addr_str(&source, s, sizeof s));
        return false;
    }

    res->host = t->host;
    res->per_hop = o->per_hop;
    mx_ladder_config lc = {
        .iface = iface, .source = source, .target = t->ip, .dport = (uint16_t)o->port,
        .max_ttl = o->max_ttl, .per_hop = o->per_hop, .wait_s = o->wait_s,
    };
    int held = hold_port(&source, &lc.sport, error);
    if (held < 0)
        return false;
    bool ok = mx_probe_ladder_run(&lc, &res->ladder, error);
    close(held);
    if (!ok)
        return false;

    int hint = 0;
    if (!o->no_smtp) {
        mx_dialogue_config dc = {
            .iface = iface, .source = source, .target = t->ip, .dport = (uint16_t)o->port, .helo = helo,
            .starttls = o->starttls, .timeout_s = o->timeout_s, .write_file = o->write_file,
        };
        res->dialogue_run = true;
        res->capture_file = o->write_file;
        if (!mx_probe_dialogue_run(&dc, &res->dialogue, error))
            return false;
        /* The server's own SYN-ACK ('h' in the history) is the baseline
         * RSTs are measured against; a RST alone is not. */
        const mx_session *s = res->dialogue.session;
        if (s && strchr(s->tcp.history, 'h'))
            hint = s->tcp.server_hop;
    }
    mx_probe_path_judge(&res->ladder, hint, &res->path);
    /* The ladder proves what the dialogue's capture alone cannot: who sent
     * the RST that answered the SYN. */
    if (res->dialogue.session && res->path.verdict == MX_PATH_FORGED_RST)
        mx_diagnose_refused_by_probe(res->dialogue.session, res->path.hop,
                                     res->path.has_ip ? &res->path.ip : NULL, res->path.server_hop);
    return true;
}

static GPtrArray *targets_of(const probe_opts *o, const char *arg, GError **error)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(target_free);
    uint8_t family = 0;
    mx_addr src;
    if (o->source && mx_addr_parse(o->source, &src))
        family = src.family;
    if (o->mx) {
        GArray *hosts = lookup_mx(arg, error);
        if (!hosts) {
            g_ptr_array_free(list, TRUE);
            return NULL;
        }
        for (guint i = 0; i < hosts->len; i++) {
            const mx_rr *m = &g_array_index(hosts, mx_rr, i);
            probe_target *t = g_new0(probe_target, 1);
            t->host = g_strdup(m->name);
            g_autoptr(GError) e = NULL;
            if (!resolve_host(m->name, family, &t->ip, &e)) {
                fprintf(stderr, "mxray probe: MX %s (preference %u) skipped: %s\n", m->name, m->pref, e->message);
                target_free(t);
                continue;
            }
            g_ptr_array_add(list, t);
        }
        g_array_free(hosts, TRUE);
        if (list->len == 0) {
            g_set_error(error, MX_PROBE_ERROR, MX_PROBE_ERROR_SETUP, "%s: no MX host has an address", arg);
            g_ptr_array_free(list, TRUE);
            return NULL;
        }
        return list;
    }
    probe_target *t = g_new0(probe_target, 1);
    if (!mx_addr_parse(arg, &t->ip)) {
        t->host = g_strdup(arg);
        if (!resolve_host(arg, family, &t->ip, error)) {
            target_free(t);
            g_ptr_array_free(list, TRUE);
            return NULL;
        }
    }
    g_ptr_array_add(list, t);
    return list;
}

int mx_cmd_probe(int argc, char **argv)
{
    probe_opts o = {
        .port = 25, .max_ttl = MX_PROBE_MAX_TTL_DEFAULT, .per_hop = MX_PROBE_PER_HOP_DEFAULT,
        .wait_s = MX_PROBE_WAIT_DEFAULT_S, .timeout_s = MX_PROBE_SMTP_TIMEOUT_DEFAULT_S,
    };
    GOptionEntry entries[] = {
        { "port", 'p', 0, G_OPTION_ARG_INT, &o.port, "TCP port (default 25)", "PORT" },
        { "source", 's', 0, G_OPTION_ARG_STRING, &o.source, "Source address (default: the route's)", "ADDRESS" },
        { "interface", 'i', 0, G_OPTION_ARG_STRING, &o.iface, "Interface to capture on (default: the route's)", "IFACE" },
        { "max-ttl", 'm', 0, G_OPTION_ARG_INT, &o.max_ttl, "Highest TTL of the ladder (default 30)", "N" },
        { "probes-per-hop", 'q', 0, G_OPTION_ARG_INT, &o.per_hop, "SYNs per TTL (default 3)", "N" },
        { "wait", 'W', 0, G_OPTION_ARG_DOUBLE, &o.wait_s, "Seconds to wait for a TTL step's answers (default 2)", "SECONDS" },
        { "timeout", 't', 0, G_OPTION_ARG_INT, &o.timeout_s, "Seconds for the SMTP connect and each reply (default and most 30)", "SECONDS" },
        { "helo", 0, 0, G_OPTION_ARG_STRING, &o.helo, "EHLO name (default: this host's FQDN, or mxray.invalid)", "NAME" },
        { "starttls", 0, 0, G_OPTION_ARG_NONE, &o.starttls, "Send STARTTLS and read its 220 (no TLS follows: mxray has no TLS library)", NULL },
        { "write", 'w', 0, G_OPTION_ARG_FILENAME, &o.write_file, "Keep the SMTP dialogue's capture in FILE (pcap)", "FILE" },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &o.format, "Output: text (default) or json", "FORMAT" },
        { "mx", 0, 0, G_OPTION_ARG_NONE, &o.mx, "The argument is a mail domain: probe its MX hosts in preference order", NULL },
        { "no-smtp", 0, 0, G_OPTION_ARG_NONE, &o.no_smtp, "The ladder only, no SMTP dialogue", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("HOST|ADDRESS - name the hop where SMTP connections fail");
    g_option_context_set_summary(octx,
        "Sends TCP SYNs to the SMTP port with rising TTL (as tcptraceroute does), judges the path\n"
        "(open, closed, forged_rst, admin_prohibited, unreachable, silent), then runs an SMTP\n"
        "dialogue (greeting, EHLO, QUIT) under capture and diagnoses it as `mxray read` would.\n"
        "Needs root or CAP_NET_RAW.  Exit status: 0 open path and clean dialogue, 1 a failure,\n"
        "2 usage error or missing rights.");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_autoptr(GError) error = NULL;
    int status = MX_EXIT_USAGE;
    bool json = false;
    GPtrArray *targets = NULL;
    g_autofree char *helo = NULL;

    if (!g_option_context_parse(octx, &argc, &argv, &error)) {
        fprintf(stderr, "mxray probe: %s (try --help)\n", error->message);
        goto out;
    }
    if (o.format && strcmp(o.format, "json") == 0)
        json = true;
    else if (o.format && strcmp(o.format, "text") != 0) {
        fprintf(stderr, "mxray probe: unknown format '%s' (text or json)\n", o.format);
        goto out;
    }
    if (argc != 2) {
        fprintf(stderr, "mxray probe: give one HOST, ADDRESS or (with --mx) DOMAIN (try --help)\n");
        goto out;
    }
    if (o.port < 1 || o.port > 65535 || o.max_ttl < 1 || o.max_ttl > 255 || o.per_hop < 1 ||
        o.per_hop > MX_PROBE_PER_HOP_MAX || o.wait_s <= 0 || o.wait_s > MX_PROBE_WAIT_MAX_S ||
        o.timeout_s < 1 || o.timeout_s > MX_PROBE_SMTP_TIMEOUT_MAX_S) {
        fprintf(stderr, "mxray probe: out of range: --port 1-65535, --max-ttl 1-255, --probes-per-hop 1-%d, "
                "--wait up to %g s, --timeout 1-%d s\n", MX_PROBE_PER_HOP_MAX, MX_PROBE_WAIT_MAX_S,
                MX_PROBE_SMTP_TIMEOUT_MAX_S);
        goto out;
    }
    if (!mx_probe_check_rights(&error)) {
        fprintf(stderr, "mxray probe: %s\n", error->message);
        goto out;
    }
    targets = targets_of(&o, argv[1], &error);
    if (!targets) {
        fprintf(stderr, "mxray probe: %s\n", error->message);
        goto out;
    }
    if (o.write_file && targets->len > 1)
        fprintf(stderr, "mxray probe: -w keeps the capture of the last MX host probed only\n");
    helo = o.helo ? g_strdup(o.helo) : default_helo();

    status = MX_EXIT_OK;
    for (guint i = 0; i < targets->len; i++) {
        mx_probe_result res;
        mx_probe_result_init(&res);
        if (!probe_one(&o, g_ptr_array_index(targets, i), helo, &res, &error)) {
            fprintf(stderr, "mxray probe: %s\n", error->message);
            mx_probe_result_clear(&res);
            status = MX_EXIT_USAGE;
            break;
        }
        /* One target: one indented document; several (--mx): one per line. */
        if (json)
            mx_probe_report_json(&res, targets->len == 1, stdout);
        else
            mx_probe_report_text(&res, stdout);
        fflush(stdout);
        if (mx_probe_result_failed(&res))
            status = MX_EXIT_FAILURES;
        mx_probe_result_clear(&res);
    }
out:
    if (targets)
        g_ptr_array_free(targets, TRUE);
    g_free(o.source);
    g_free(o.iface);
    g_free(o.helo);
    g_free(o.write_file);
    g_free(o.format);
    return status;
}
