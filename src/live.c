/* SPDX-License-Identifier: BSD-3-Clause */
/* live.c — the capture loop: poll the capture, feed the analyzer, run the timers, obey signals.
 *
 * One thread.  poll() on pcap_get_selectable_fd() wakes for packets or
 * for the next timer (at most MX_LIVE_TICK_US away), so quiet flows are
 * judged on time even when no packet arrives.  Signals only set flags;
 * pcap_breakloop() cuts a long dispatch short, and the loop acts on the
 * flags between batches.
 */
#include "config.h"
#include "live.h"
#include "live-maillog.h"
#include "analyzer.h"
#include "cmd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

/* How often the timers are looked at: verdicts come at most this late. */
#define MX_LIVE_TICK_US (250LL * 1000)

/* Signals are process-wide: these flags (and the handle to break) are the
 * only state outside the run. */
static volatile sig_atomic_t got_stop, got_hup, got_stats;
static pcap_t *volatile breakable;

static void on_signal(int sig)
{
    if (sig == SIGINT || sig == SIGTERM)
        got_stop = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGUSR1)
        got_stats = 1;
    if (breakable)
        pcap_breakloop(breakable);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;          /* no SA_RESTART: poll() returns EINTR at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

typedef struct live_run {
    const mx_live_config *c;
    pcap_t *pcap;
    int dlt;
    mx_dump *dump;
    mx_analyzer *an;
    mx_live_output out;
    mx_live_maillog *maillog;  /* --maillog: sessions wait here for their log line */
    uint64_t frames;           /* captured since start */
} live_run;

static void dump_failed(live_run *r, GError *error)
{
    g_autofree char *line = g_strdup_printf("%s; packets are no longer written", error->message);
    mx_live_output_notice(&r->out, line);
    mx_dump_close(r->dump);
    r->dump = NULL;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    live_run *r = (live_run *)user;
    r->frames++;
    mx_raw_frame f = {
        .data = bytes, .caplen = h->caplen, .wirelen = h->len,
        .ts_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec,
        .frame = r->frames, .file_index = 0, .dlt = r->dlt,
    };
    if (r->dump) {
        /* Evidence frames then point into the -w files, as Wireshark numbers them. */
        g_autoptr(GError) error = NULL;
        if (mx_dump_write(r->dump, h, bytes, &f.file_index, &f.frame, &error)) {
            GPtrArray *inputs = r->out.report.inputs;
            while (inputs->len <= f.file_index)
                g_ptr_array_add(inputs, g_strdup(mx_dump_file_name(r->dump, inputs->len)));
        } else {
            dump_failed(r, error);
            f.frame = r->frames;
            f.file_index = 0;
        }
    }
    mx_analyzer_frame(r->an, &f);
}

static void report_stats(live_run *r, const char *when)
{
    struct pcap_stat ps = {0};
    bool have_ps = pcap_stats(r->pcap, &ps) == 0;
    mx_run_stats rs;
    mx_analyzer_stats(r->an, &rs);
    struct rusage ru = {0};
    getrusage(RUSAGE_SELF, &ru);
    g_autofree char *kinds = mx_live_output_kind_counts(&r->out);
    g_autofree char *drops = have_ps
        ? g_strdup_printf("%u received by the filter, %u dropped by the kernel, %u by the interface",
                          ps.ps_recv, ps.ps_drop, ps.ps_ifdrop)
        : g_strdup_printf("kernel statistics unavailable: %s", pcap_geterr(r->pcap));
    g_autofree char *line = g_strdup_printf(
        "%s: %s: %" G_GUINT64_FORMAT " packet%s (%s); %" G_GUINT64_FORMAT " flow%s, %zu open, %" G_GUINT64_FORMAT
        " evicted; %" G_GUINT64_FORMAT " session%s%s%s%s; cpu %.2f s user, %.2f s system",
        when, r->c->capture.iface, r->frames, r->frames == 1 ? "" : "s", drops, rs.tcp_flows,
        rs.tcp_flows == 1 ? "" : "s", mx_analyzer_open_flows(r->an), rs.evicted,
        r->out.sessions, r->out.sessions == 1 ? "" : "s", *kinds ? " (" : "", kinds, *kinds ? ")" : "",
        ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    mx_live_output_notice(&r->out, line);
}

static void reopen_outputs(live_run *r)
{
    g_autoptr(GError) error = NULL;
    if (!mx_live_output_reopen(&r->out, &error)) {
        mx_live_output_notice(&r->out, error->message);
        g_clear_error(&error);
    }
    if (r->dump && !mx_dump_reopen(r->dump, &error))
        dump_failed(r, error);
}

static void expire(live_run *r, int64_t now_us)
{
    const mx_live_timers *t = &r->c->timers;
    mx_analyzer_expire(r->an, now_us, t->linger_us, t->min_idle_us, mx_live_idle_limit, (void *)t);
}

/* Runs until a stop signal (0) or a capture failure (2). */
static int loop(live_run *r)
{
    int fd = pcap_get_selectable_fd(r->pcap);
    int64_t interval_us = (int64_t)r->c->stats_interval * 1000000;
    int64_t now = g_get_real_time();
    int64_t next_tick = now + MX_LIVE_TICK_US;
    int64_t next_stats = interval_us > 0 ? now + interval_us : INT64_MAX;

    while (!got_stop) {
        if (got_hup) {
            got_hup = 0;
            reopen_outputs(r);
        }
        if (got_stats) {
            got_stats = 0;
            report_stats(r, "statistics");
        }
        now = g_get_real_time();
        if (now >= next_tick) {
            expire(r, now);
            if (r->maillog)
                mx_live_maillog_tick(r->maillog, now);
            next_tick = now + MX_LIVE_TICK_US;
        }
        if (now >= next_stats) {
            report_stats(r, "statistics");
            next_stats = now + interval_us;
        }
        int64_t wait_us = (next_tick < next_stats ? next_tick : next_stats) - now;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int rc = poll(&pfd, 1, (int)(wait_us > 0 ? (wait_us + 999) / 1000 : 0));
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            g_autofree char *line = g_strdup_printf("%s: poll: %s", r->c->capture.iface, g_strerror(errno));
            mx_live_output_notice(&r->out, line);
            return MX_EXIT_USAGE;
        }
        if (rc == 0)
            continue;
        int n = pcap_dispatch(r->pcap, -1, on_packet, (u_char *)r);
        if (n == PCAP_ERROR) {
            /* The interface went away, or the socket broke. */
            g_autofree char *line = g_strdup_printf("%s: capture failed: %s", r->c->capture.iface,
                                                    pcap_geterr(r->pcap));
            mx_live_output_notice(&r->out, line);
            return MX_EXIT_USAGE;
        }
        mx_dump_flush(r->dump);
    }
    return MX_EXIT_OK;
}

static int start_error(live_run *r, const char *msg)
{
    fprintf(stderr, "mxray live: %s\n", msg);
    return MX_EXIT_USAGE;
}

int mx_live_run(const mx_live_config *c)
{
    live_run r = { .c = c };
    g_autoptr(GError) error = NULL;
    int status = MX_EXIT_USAGE;

    r.pcap = mx_capture_open(&c->capture, &error);
    if (!r.pcap)
        return start_error(&r, error->message);
    r.dlt = pcap_datalink(r.pcap);
    /* Root is needed only to open the device: files are written as USER. */
    if (c->drop_user && !mx_capture_drop_privileges(c->drop_user, &error)) {
        status = start_error(&r, error->message);
        goto out_pcap;
    }
    if (!mx_live_output_open(&r.out, c->format, c->output_path, c->use_syslog, &error)) {
        status = start_error(&r, error->message);
        goto out_output;
    }
    if (c->dump.pattern && !(r.dump = mx_dump_open(r.pcap, &c->dump, &error))) {
        status = start_error(&r, error->message);
        goto out_output;
    }
    if (!r.dump)
        g_ptr_array_add(r.out.report.inputs, g_strdup(c->capture.iface));

    if (c->maillog_path &&
        !(r.maillog = mx_live_maillog_new(c->maillog_path, c->maillog_tz, c->maillog_wait_us, &r.out, &error))) {
        status = start_error(&r, error->message);
        goto out_dump;
    }
    if (r.maillog)
        r.an = mx_analyzer_new(c->capture.ports, c->capture.n_ports, c->max_flows, mx_live_maillog_session, r.maillog);
    else
        r.an = mx_analyzer_new(c->capture.ports, c->capture.n_ports, c->max_flows, mx_live_output_session, &r.out);
    breakable = r.pcap;
    install_signals();
    {
        const char *dlt_name = pcap_datalink_val_to_name(r.dlt);
        g_autofree char *line = g_strdup_printf("listening on %s, link-type %s, snapshot length %d bytes",
                                                c->capture.iface, dlt_name ? dlt_name : "?",
                                                pcap_snapshot(r.pcap));
        mx_live_output_notice(&r.out, line);
    }

    status = loop(&r);

    /* Sessions still open are judged on what they showed, as of now. */
    expire(&r, g_get_real_time());
    mx_analyzer_finish(r.an);
    /* Held sessions go out with what the log has said by now. */
    mx_live_maillog_free(r.maillog);
    r.maillog = NULL;
    mx_dump_flush(r.dump);
    report_stats(&r, "exit");
    breakable = NULL;
    mx_analyzer_free(r.an);
out_dump:
    mx_dump_close(r.dump);
out_output:
    mx_live_output_close(&r.out);
out_pcap:
    pcap_close(r.pcap);
    return status;
}
