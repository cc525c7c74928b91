/* SPDX-License-Identifier: BSD-3-Clause */
/* live-capture.c — what `live` captures (its default filter) and dropping root after opening. */
#include "live-capture.h"
#include "iface.h"

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

pcap_t *mx_capture_open(const mx_capture_opts *o, GError **error)
{
    g_autofree char *filter = mx_capture_filter(o->ports, o->n_ports, o->user_expr);
    mx_iface_opts io = {
        .iface = o->iface, .filter = filter, .user_expr = o->user_expr,
        .snaplen = o->snaplen > 0 ? o->snaplen : MX_LIVE_SNAPLEN, .buffer_kib = o->buffer_kib,
        .timeout_ms = 100, .promisc = o->promisc,
    };
    return mx_iface_open(&io, error);
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
