/* SPDX-License-Identifier: BSD-3-Clause */
/* iface.c — pcap_create .. pcap_activate .. pcap_setfilter, errors in words a gateway admin can act on. */
#include "iface.h"

G_DEFINE_QUARK(mx-iface-error-quark, mx_iface_error)

static pcap_t *fail(pcap_t *p, GError **error, mx_iface_error code, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static pcap_t *fail(pcap_t *p, GError **error, mx_iface_error code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, MX_IFACE_ERROR, code, msg);
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

pcap_t *mx_iface_open(const mx_iface_opts *o, GError **error)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(o->iface, errbuf);
    if (!p)
        return fail(NULL, error, MX_IFACE_ERROR_FAILED, "%s: %s", o->iface, errbuf);
    pcap_set_snaplen(p, o->snaplen);
    pcap_set_promisc(p, o->promisc);
    /* Immediate mode: a verdict, or a probe's RTT, must not wait for a buffer to fill. */
    pcap_set_immediate_mode(p, 1);
    pcap_set_timeout(p, o->timeout_ms);
    if (o->buffer_kib > 0)
        pcap_set_buffer_size(p, o->buffer_kib * 1024);

    int rc = pcap_activate(p);
    switch (rc) {
    case 0:
        break;
    case PCAP_ERROR_NO_SUCH_DEVICE:
        return fail(p, error, MX_IFACE_ERROR_FAILED, "%s: no such interface", o->iface);
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        return fail(p, error, MX_IFACE_ERROR_RIGHTS, "%s: permission denied: capturing needs root or CAP_NET_RAW (%s)",
                    o->iface, activate_reason(p, rc));
    case PCAP_ERROR_IFACE_NOT_UP:
        return fail(p, error, MX_IFACE_ERROR_FAILED, "%s: the interface is not up", o->iface);
    default:
        if (rc < 0)
            return fail(p, error, MX_IFACE_ERROR_FAILED, "%s: cannot capture: %s", o->iface, activate_reason(p, rc));
        /* Warnings (promiscuous mode not supported ...) do not stop a capture. */
        g_printerr("mxray: %s: warning: %s\n", o->iface, activate_reason(p, rc));
        break;
    }

    struct bpf_program prog;
    if (o->user_expr && *o->user_expr) {
        if (pcap_compile(p, &prog, o->user_expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
            return fail(p, error, MX_IFACE_ERROR_FILTER, "bad filter '%s': %s", o->user_expr, pcap_geterr(p));
        pcap_freecode(&prog);
    }
    if (o->filter && *o->filter) {
        if (pcap_compile(p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
            return fail(p, error, MX_IFACE_ERROR_FILTER, "bad filter '%s': %s", o->filter, pcap_geterr(p));
        if (pcap_setfilter(p, &prog) != 0) {
            pcap_freecode(&prog);
            return fail(p, error, MX_IFACE_ERROR_FAILED, "%s: cannot set the filter: %s", o->iface, pcap_geterr(p));
        }
        pcap_freecode(&prog);
    }
    if (o->inbound_only)
        pcap_setdirection(p, PCAP_D_IN);   /* best effort: callers' filters hold without it */
    if (pcap_setnonblock(p, 1, errbuf) != 0)
        return fail(p, error, MX_IFACE_ERROR_FAILED, "%s: %s", o->iface, errbuf);
    if (pcap_get_selectable_fd(p) < 0)
        return fail(p, error, MX_IFACE_ERROR_FAILED, "%s: no selectable descriptor for this capture type", o->iface);
    return p;
}
