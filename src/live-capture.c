/* live-capture.c — pcap_create .. pcap_activate with errors a gateway admin can act on. */
#include "live-capture.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

char *mx_capture_filter(const uint16_t *ports, size_t n_ports, const char *user_expr)
{
    GString *f = g_string_new("(");
    for (size_t i = 0; i < n_ports; i++)
        g_string_append_printf(f, "%stcp port %u", i ? " or " : "", ports[i]);
    /* ICMP errors quote the packet they answer (RFC 792, RFC 4443 2.4):
     * unreachable, source quench, time exceeded, parameter problem; and
     * every ICMPv6 error (types below 128).  DNS for the dns_timeout warning. */
    g_string_append(f, ") or (icmp[icmptype] == icmp-unreach or icmp[icmptype] == icmp-sourcequench"
                       " or icmp[icmptype] == icmp-timxceed or icmp[icmptype] == icmp-paramprob)"
                       " or (icmp6 and ip6[40] < 128) or udp port 53");
    if (user_expr && *user_expr) {
        g_string_prepend(f, "(");
        g_string_append_printf(f, ") and (%s)", user_expr);
    }
    /* The vlan keyword shifts the offsets of what follows it: the same
     * filter again, for 802.1Q-tagged frames (a trunk or a SPAN port). */
    char *one = g_string_free(f, FALSE);
    char *both = g_strdup_printf("(%s) or (vlan and (%s))", one, one);
    g_free(one);
    return both;
}

static pcap_t *fail(pcap_t *p, GError **error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static pcap_t *fail(pcap_t *p, GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, msg);
    g_free(msg);
    if (p)
        pcap_close(p);
    return NULL;
}

/* libpcap's message for an error status, without the interface name it
 * sometimes repeats. */
static const char *activate_reason(pcap_t *p, int rc)
{
    const char *e = pcap_geterr(p);
    return e && *e ? e : pcap_statustostr(rc);
}

pcap_t *mx_capture_open(const mx_capture_opts *o, GError **error)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(o->iface, errbuf);
    if (!p)
        return fail(NULL, error, "%s: %s", o->iface, errbuf);
    pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : MX_LIVE_SNAPLEN);
    pcap_set_promisc(p, o->promisc);
    /* Immediate mode: a verdict must not wait for a buffer to fill. */
    pcap_set_immediate_mode(p, 1);
    pcap_set_timeout(p, 100);
    if (o->buffer_kib > 0)
        pcap_set_buffer_size(p, o->buffer_kib * 1024);

    int rc = pcap_activate(p);
    switch (rc) {
    case 0:
        break;
    case PCAP_ERROR_NO_SUCH_DEVICE:
        return fail(p, error, "%s: no such interface", o->iface);
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        return fail(p, error, "%s: permission denied: capturing needs root or CAP_NET_RAW (%s)",
                    o->iface, activate_reason(p, rc));
    case PCAP_ERROR_IFACE_NOT_UP:
        return fail(p, error, "%s: the interface is not up", o->iface);
    default:
        if (rc < 0)
            return fail(p, error, "%s: cannot capture: %s", o->iface, activate_reason(p, rc));
        /* Warnings (promiscuous mode not supported ...) do not stop a capture. */
        g_printerr("mxray live: %s: warning: %s\n", o->iface, activate_reason(p, rc));
        break;
    }

    /* The user's part alone first, so a typo is reported as typed. */
    struct bpf_program prog;
    if (o->user_expr && *o->user_expr) {
        if (pcap_compile(p, &prog, o->user_expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
            return fail(p, error, "bad filter '%s': %s", o->user_expr, pcap_geterr(p));
        pcap_freecode(&prog);
    }
    g_autofree char *expr = mx_capture_filter(o->ports, o->n_ports, o->user_expr);
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return fail(p, error, "bad filter '%s': %s", expr, pcap_geterr(p));
    if (pcap_setfilter(p, &prog) != 0) {
        pcap_freecode(&prog);
        return fail(p, error, "%s: cannot set the filter: %s", o->iface, pcap_geterr(p));
    }
    pcap_freecode(&prog);
    if (pcap_setnonblock(p, 1, errbuf) != 0)
        return fail(p, error, "%s: %s", o->iface, errbuf);
    if (pcap_get_selectable_fd(p) < 0)
        return fail(p, error, "%s: no selectable descriptor for this capture type", o->iface);
    return p;
}

gboolean mx_capture_drop_privileges(const char *user, GError **error)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "-Z %s: no such user", user);
        return FALSE;
    }
    if (getuid() != 0 && geteuid() != 0) {
        if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
            return TRUE;
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "-Z %s: only root can change user", user);
        return FALSE;
    }
    if (pw->pw_uid == 0)
        return TRUE;     /* -Z root: stay root, as asked */
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "-Z %s: cannot drop privileges: %s", user,
                    g_strerror(errno));
        return FALSE;
    }
    /* setuid() from root clears the saved uid too; make sure of it. */
    if (getuid() == 0 || geteuid() == 0 || setuid(0) == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "-Z %s: still root after dropping privileges", user);
        return FALSE;
    }
    return TRUE;
}
