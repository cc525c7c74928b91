/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c — `mxray COMMAND ...`: dispatch to the subcommands. */
#include "config.h"
#include "cmd.h"
#include "version.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mxray COMMAND [OPTIONS] ...\n"
            "Explains why outbound SMTP deliveries fail, from packets.\n\n"
            "Commands:\n"
            "  read FILE... [EXPR]   diagnose pcap/pcapng captures (- for stdin)\n"
            "  live -i IFACE [EXPR]  capture on an interface, one verdict per session as it ends\n"
            "  probe HOST|ADDRESS    TTL ladder and SMTP dialogue to a server: names the failing hop\n\n"
            "  mxray COMMAND --help  options of a command\n"
            "  mxray --version\n");
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc < 2) {
        usage(stderr);
        return MX_EXIT_USAGE;
    }
    if (strcmp(argv[1], "read") == 0)
        return mx_cmd_read(argc - 1, argv + 1);
    if (strcmp(argv[1], "live") == 0)
        return mx_cmd_live(argc - 1, argv + 1);
    if (strcmp(argv[1], "probe") == 0)
        return mx_cmd_probe(argc - 1, argv + 1);
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        mx_version_print(stdout);
        return MX_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return MX_EXIT_OK;
    }
    fprintf(stderr, "mxray: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return MX_EXIT_USAGE;
}
