/* SPDX-License-Identifier: BSD-3-Clause */
/* version.c — `mxray --version`: mxray's version and the libraries it runs on,
 * as tcpdump prints libpcap's: a bug report needs the versions actually loaded,
 * which can differ from those it was built with. */
#include "config.h"
#include "version.h"

#include <glib.h>
#include <libnet.h>
#include <pcap/pcap.h>

void mx_version_print(FILE *out)
{
    fprintf(out, "mxray %s\n", PACKAGE_VERSION);
    fprintf(out, "%s\n", pcap_lib_version());
    fprintf(out, "%s\n", libnet_version());
    fprintf(out, "GLib version %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
}
