/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd-live.c — `mxray live`: options in, mx_live_run() out. */
#include "config.h"
#include "caps.h"
#include "cmd.h"
#include "live.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "mxray live: %s (try --help)\n", msg);
    return MX_EXIT_USAGE;
}

int mx_cmd_live(int argc, char **argv)
{
    g_autofree char *iface = NULL, *format = NULL, *ports_text = NULL, *user = NULL;
    g_autofree char *write_file = NULL, *output = NULL, *idle = NULL;
    gint snaplen = 0, buffer_kib = 0, rotate_mb = 0, rotate_secs = 0, max_files = 0;
    gint stats_interval = 3600, max_flows = MX_MAX_FLOWS;
    gdouble linger = (double)MX_FLOW_CLOSED_LINGER_US / 1e6;
    gboolean no_promisc = FALSE, use_syslog = FALSE, numeric = FALSE;
    g_autofree char *maillog = NULL, *maillog_tz = NULL;
    gdouble maillog_wait = (double)MX_LIVE_MAILLOG_WAIT_US / 1e6;
    GOptionEntry entries[] = {
        { "interface", 'i', 0, G_OPTION_ARG_STRING, &iface, "Interface to capture on (the gateway's outbound one)", "IFACE" },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "Output: jsonl (default; one session a line) or text", "FORMAT" },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Append verdicts to FILE instead of stdout (reopened on SIGHUP)", "FILE" },
        { "ports", 'p', 0, G_OPTION_ARG_STRING, &ports_text, "SMTP ports to track (default 25)", "25,587" },
        { "snapshot-length", 's', 0, G_OPTION_ARG_INT, &snaplen, "Bytes kept per packet (default 262144)", "N" },
        { "buffer-size", 'B', 0, G_OPTION_ARG_INT, &buffer_kib, "Kernel capture buffer in KiB (as tcpdump -B)", "KiB" },
        { "no-promiscuous-mode", 0, 0, G_OPTION_ARG_NONE, &no_promisc, "Do not put the interface into promiscuous mode", NULL },
        { "relinquish-privileges", 'Z', 0, G_OPTION_ARG_STRING, &user, "Drop root for USER once the interface is open", "USER" },
        { "write", 'w', 0, G_OPTION_ARG_FILENAME, &write_file, "Also write the captured packets to FILE (pcap)", "FILE" },
        { "file-size", 'C', 0, G_OPTION_ARG_INT, &rotate_mb, "Start a new -w file after MB million bytes", "MB" },
        { "rotate-seconds", 'G', 0, G_OPTION_ARG_INT, &rotate_secs, "Start a new -w file every SECONDS (FILE is a strftime pattern)", "SECONDS" },
        { "file-count", 'W', 0, G_OPTION_ARG_INT, &max_files, "With -C: reuse N file names in a ring", "N" },
        { "idle-timeout", 0, 0, G_OPTION_ARG_STRING, &idle, "Judge a quiet session after SECONDS (all phases) or per phase: connect=30,data_end=600", "SPEC" },
        { "linger", 0, 0, G_OPTION_ARG_DOUBLE, &linger, "Seconds a closed session waits for late packets (default 30)", "SECONDS" },
        { "stats-interval", 0, 0, G_OPTION_ARG_INT, &stats_interval, "Statistics every SECONDS (default 3600; 0: only on SIGUSR1 and at exit)", "SECONDS" },
        { "syslog", 0, 0, G_OPTION_ARG_NONE, &use_syslog, "Failed sessions and statistics to syslog/journald too (facility mail)", NULL },
        { "max-flows", 0, 0, G_OPTION_ARG_INT, &max_flows, "Flows tracked at once before the oldest is evicted", "N" },
        { "numeric", 'n', 0, G_OPTION_ARG_NONE, &numeric, "No DNS look-ups (always the case; accepted for tcpdump habits)", NULL },
        { "maillog", 0, 0, G_OPTION_ARG_FILENAME, &maillog,
          "Follow the MTA's log (Postfix, Exim, Sendmail; rotation-safe): each session's line names its queue ID and recipients", "FILE" },
        { "maillog-tz", 0, 0, G_OPTION_ARG_STRING, &maillog_tz, "Zone of log stamps that name none: UTC (default), +01:00, Europe/Berlin", "ZONE" },
        { "maillog-wait", 0, 0, G_OPTION_ARG_DOUBLE, &maillog_wait, "Seconds a finished session waits for its log line (default 60)", "SECONDS" },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("-i IFACE [BPF EXPRESSION] - explain SMTP failures as they happen");
    g_option_context_set_summary(octx,
        "Captures on a gateway's interface and writes one verdict per SMTP session as soon\n"
        "as it is final: closed (FIN/RST), ended by an ICMP error, or quiet for longer than\n"
        "the sending MTA waits in its phase.  SIGINT/SIGTERM judge the open sessions and\n"
        "exit 0; SIGHUP reopens -o and -w files; SIGUSR1 prints statistics.\n"
        "Exit status: 0 after SIGINT/SIGTERM, 2 on start-up errors.");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(octx, &argc, &argv, &error))
        return usage_error("%s", error->message);

    mx_live_config c = {0};
    if (!iface)
        return usage_error("%s", "no interface given: -i IFACE");
    if (!format || strcmp(format, "jsonl") == 0)
        c.format = MX_LIVE_JSONL;
    else if (strcmp(format, "text") == 0)
        c.format = MX_LIVE_TEXT;
    else
        return usage_error("unknown format '%s' (jsonl or text)", format);
    g_autoptr(GArray) ports = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    if (!mx_parse_ports(ports_text ? ports_text : "25", ports, &error))
        return usage_error("%s", error->message);
    if (snaplen < 0 || buffer_kib < 0 || rotate_mb < 0 || rotate_secs < 0 || max_files < 0 || stats_interval < 0)
        return usage_error("%s", "-s, -B, -C, -G, -W and --stats-interval take numbers of 0 or more");
    if (max_flows < 1)
        return usage_error("%s", "--max-flows must be at least 1");
    if ((rotate_mb || rotate_secs || max_files) && !write_file)
        return usage_error("%s", "-C, -G and -W need -w FILE");
    if (max_files && !rotate_mb)
        return usage_error("%s", "-W needs -C");
    if ((maillog_tz || maillog_wait != (double)MX_LIVE_MAILLOG_WAIT_US / 1e6) && !maillog)
        return usage_error("%s", "--maillog-tz and --maillog-wait go with --maillog FILE");
    if (!(maillog_wait >= 0 && maillog_wait <= 3600))
        return usage_error("%s", "--maillog-wait takes 0 to 3600 seconds");

    mx_live_timers_default(&c.timers);
    if (idle && !mx_live_timers_parse(&c.timers, idle, &error))
        return usage_error("--idle-timeout: %s", error->message);
    if (!mx_live_timers_set_linger(&c.timers, linger, &error))
        return usage_error("%s", error->message);

    /* argv[0] is "live"; the rest is the BPF expression, as tcpdump takes it. */
    g_autofree char *expr = argc > 1 ? g_strjoinv(" ", argv + 1) : NULL;
    c.capture = (mx_capture_opts){
        .iface = iface, .user_expr = expr,
        .ports = (const uint16_t *)ports->data, .n_ports = ports->len,
        .snaplen = snaplen, .buffer_kib = buffer_kib, .promisc = !no_promisc,
    };
    c.drop_user = user;
    c.dump = (mx_dump_opts){
        .pattern = write_file, .rotate_bytes = (int64_t)rotate_mb * 1000000,
        .rotate_secs = rotate_secs, .max_files = max_files,
    };
    c.output_path = output;
    c.use_syslog = use_syslog;
    c.stats_interval = stats_interval;
    c.max_flows = (size_t)max_flows;
    c.maillog_path = maillog;
    c.maillog_tz = maillog_tz;
    c.maillog_wait_us = (int64_t)(maillog_wait * 1e6);
    return mx_live_run(&c);
}
