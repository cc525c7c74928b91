/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd.h — the subcommands main() dispatches to; each returns the exit status. */
#ifndef MX_CMD_H
#define MX_CMD_H

#define MX_EXIT_OK 0
#define MX_EXIT_FAILURES 1   /* a session failed or was rejected */
#define MX_EXIT_USAGE 2      /* wrong command line, unreadable input, start-up error */

int mx_cmd_read(int argc, char **argv);
int mx_cmd_live(int argc, char **argv);
int mx_cmd_probe(int argc, char **argv);

/* Parses "25,587" into ports; false (with a message in *error) on junk. */
#include <glib.h>
#include <stdint.h>
gboolean mx_parse_ports(const char *text, GArray *ports, GError **error);

#endif
