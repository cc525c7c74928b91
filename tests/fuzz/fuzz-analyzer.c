/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-analyzer.c — libFuzzer target: hostile frames through the whole pipeline and every report.
 *
 * Input: byte 0 picks the link type, byte 1 the options (ports, ladders,
 * flow cap, -v, live timers), then records of [length: 2 bytes LE][time:
 * 1 byte][frame].  With live timers, `live`'s per-phase idle limits (2 s
 * here, linger 1 s) run after every frame on the frames' clock, as the
 * live loop runs them on the wall clock.
 * Time: the low 7 bits step the clock by that many 50 ms (127: 1,000 s,
 * past every idle timer); the high bit claims 100 bytes more on the wire
 * than were captured (snap length).  A cut record is given as it is.
 *
 * Each finished session goes through the json line and text writers and
 * is kept (up to a cap) for the end: refusals judged again against the
 * baselines, then the JSON document, Markdown and HTML reports, all to
 * /dev/null.  ASan, UBSan and LeakSanitizer watch; libFuzzer's -timeout
 * and -rss_limit_mb turn hangs and growth into findings too.
 *
 * Built by tests/fuzz/build.sh (clang -fsanitize=fuzzer); tests/fuzz-replay.c
 * runs the same function over kept inputs in `make check`.
 */
#include "analyzer.h"
#include "decode.h"
#include "diagnose.h"
#include "live-timers.h"
#include "report.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int link_types[] = {
    DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP,
};

/* Sessions kept for the end-of-input reports: enough for grouping and
 * tables, bounded so one input cannot grow the process. */
#define FUZZ_SESSIONS_KEPT 64

typedef struct fuzz_run {
    mx_report report;
    FILE *sink;
} fuzz_run;

static void on_session(mx_session *s, void *ctx)
{
    fuzz_run *run = ctx;
    mx_report_count(&run->report, s);
    mx_report_json_line(s, &run->report, run->sink);
    mx_report_text_session(s, &run->report, run->sink);
    if (run->report.sessions->len < FUZZ_SESSIONS_KEPT)
        g_ptr_array_add(run->report.sessions, s);
    else
        mx_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    if (size < 2 || !sink)
        return 0;
    static const uint16_t ports_25[] = { 25 };
    static const uint16_t ports_many[] = { 25, 587, 465, 2525 };
    uint8_t opts = data[1];
    bool many_ports = opts & 1, ladders = !(opts & 2);
    size_t max_flows = opts & 4 ? 2 : 64;   /* 2: eviction on every new flow */

    fuzz_run run = { .sink = sink };
    mx_report_init(&run.report);
    run.report.version = "fuzz";
    g_ptr_array_add(run.report.inputs, g_strdup("fuzz.pcap"));
    run.report.verbose = opts & 8;
    mx_analyzer *an = mx_analyzer_new(many_ports ? ports_many : ports_25, many_ports ? 4 : 1, max_flows,
                                      on_session, &run);
    mx_analyzer_hold_refusals(an);
    if (!ladders)
        mx_analyzer_skip_ladders(an);
    mx_live_timers timers;
    bool live_timers = opts & 16;
    if (live_timers) {
        mx_live_timers_default(&timers);
        mx_live_timers_parse(&timers, "2", NULL);
        mx_live_timers_set_linger(&timers, 1.0, NULL);
    }

    int dlt = link_types[data[0] % G_N_ELEMENTS(link_types)];
    int64_t ts = 1700000000LL * 1000000;
    uint64_t frame_no = 0;
    size_t at = 2;
    while (at + 3 <= size) {
        size_t len = (size_t)data[at] | (size_t)data[at + 1] << 8;
        uint8_t t = data[at + 2];
        at += 3;
        if (len > size - at)
            len = size - at;
        ts += (t & 0x7f) == 0x7f ? 1000LL * 1000000 : (int64_t)(t & 0x7f) * 50000;
        mx_raw_frame f = {
            .data = data + at, .caplen = (uint32_t)len, .wirelen = (uint32_t)len + (t & 0x80 ? 100 : 0),
            .ts_us = ts, .frame = ++frame_no, .file_index = 0, .dlt = dlt,
        };
        mx_analyzer_frame(an, &f);
        if (live_timers)
            mx_analyzer_expire(an, ts, timers.linger_us, timers.min_idle_us, mx_live_idle_limit, &timers);
        at += len;
    }
    mx_analyzer_finish(an);
    mx_analyzer_stats(an, &run.report.stats);
    mx_analyzer_free(an);

    mx_report_sort(&run.report);
    mx_report_json(&run.report, sink);
    mx_report_text(&run.report, sink);
    mx_report_markdown(&run.report, NULL, sink);
    mx_report_html(&run.report, NULL, sink);
    fflush(sink);
    mx_report_clear(&run.report);
    return 0;
}
