/* SPDX-License-Identifier: BSD-3-Clause */
/* analyzer.c — drives one frame through the pipeline; counts what it skips. */
#include "analyzer.h"
#include "caps.h"
#include "decode.h"
#include "diagnose.h"
#include "flow.h"
#include "dns.h"
#include "hops.h"
#include "smtp.h"
#include "stream.h"

struct mx_analyzer {
    mx_flow_table *flows;
    mx_session_fn on_session;
    void *ctx;
    mx_diagnose_ctx diag;
    mx_hop_baselines *baselines;
    mx_dns_table *dns;
    mx_run_stats stats;
    GPtrArray *held;    /* refusals waiting for their server's hop; NULL: none held */
};

/* A refusal judged before its server's own hop was known is judged again
 * here, before the caller counts or writes it: every report then tells
 * the same story (held until the end of input, the oldest released early
 * past MX_HELD_REFUSALS so that memory stays flat). */
static void hand_over(mx_analyzer *a, mx_session *s)
{
    a->stats.evidence_dropped += s->verdict.evidence_dropped;
    a->on_session(s, a->ctx);
}

static void release(mx_analyzer *a, mx_session *s)
{
    mx_diagnose_refine(s, a->baselines);
    hand_over(a, s);
}

/* The limits a flow met on its way (smtp.c, stream.c count them). */
static void count_caps(mx_analyzer *a, const mx_flow *f)
{
    if (f->smtp) {
        a->stats.lines_cut += f->smtp->lines_cut;
        a->stats.pending_dropped += f->smtp->pending_dropped;
        a->stats.replies_dropped += f->smtp->replies_dropped;
        a->stats.extensions_dropped += f->smtp->extensions_dropped;
    }
    for (int d = 0; d < 2; d++)
        if (f->stream[d])
            a->stats.ooo_cap_hits += mx_stream_get_stats(f->stream[d])->cap_hits;
}

static gint held_cmp(gconstpointer x, gconstpointer y)
{
    const mx_session *p = *(mx_session *const *)x, *q = *(mx_session *const *)y;
    return p->id < q->id ? -1 : p->id > q->id;
}

static void flow_finished(mx_flow *f, void *ctx)
{
    mx_analyzer *a = ctx;
    /* The server's own answers are its hop baseline for every later
     * session, including RSTs that answer a SYN. */
    if (f->synack_count > 0)
        mx_hop_baselines_note(a->baselines, &f->key.server, mx_hop_of_ttl(f->synack_ttl), &f->synack);
    count_caps(a, f);
    mx_session *s = mx_diagnose(f, &a->diag);
    a->stats.smtp_sessions++;
    if (a->held && s->refusal.refused && !s->refusal.baseline_known) {
        g_ptr_array_add(a->held, s);
        if (a->held->len > MX_HELD_REFUSALS) {
            a->stats.refusals_judged_early++;
            release(a, g_ptr_array_steal_index(a->held, 0));
        }
        return;
    }
    hand_over(a, s);
}

mx_analyzer *mx_analyzer_new(const uint16_t *ports, size_t n_ports, size_t max_flows,
                             mx_session_fn on_session, void *ctx)
{
    mx_analyzer *a = g_new0(mx_analyzer, 1);
    a->flows = mx_flow_table_new(ports, n_ports, max_flows, flow_finished, a);
    a->on_session = on_session;
    a->ctx = ctx;
    a->baselines = mx_hop_baselines_new();
    a->diag.baselines = a->baselines;
    a->dns = mx_dns_table_new();
    a->diag.dns = a->dns;
    return a;
}

void mx_analyzer_skip_ladders(mx_analyzer *a)
{
    mx_flow_table_skip_ladders(a->flows);
}

void mx_analyzer_hold_refusals(mx_analyzer *a)
{
    if (!a->held)
        a->held = g_ptr_array_new();
}

void mx_analyzer_free(mx_analyzer *a)
{
    if (!a)
        return;
    if (a->held) {   /* not finished: never handed over */
        for (guint i = 0; i < a->held->len; i++)
            mx_session_free(g_ptr_array_index(a->held, i));
        g_ptr_array_free(a->held, TRUE);
    }
    mx_flow_table_free(a->flows);
    mx_hop_baselines_free(a->baselines);
    mx_dns_table_free(a->dns);
    g_free(a);
}

void mx_analyzer_frame(mx_analyzer *a, const mx_raw_frame *frame)
{
    mx_packet pkt;
    pkt.frame = frame->frame;
    pkt.file_index = frame->file_index;
    pkt.ts_us = frame->ts_us;
    mx_decode(frame->dlt, frame->data, frame->caplen, frame->wirelen, &pkt);

    a->stats.packets++;
    a->stats.bytes += frame->wirelen;
    if (frame->ts_us > a->diag.capture_end_us)
        a->diag.capture_end_us = frame->ts_us;
    if (pkt.skip == MX_SKIP_TRUNCATED || pkt.snapped)
        a->stats.truncated++;
    if (pkt.offload_len)
        a->stats.offload_length++;
    switch (pkt.skip) {
    case MX_SKIP_FRAGMENT:
        a->stats.skipped_fragment++;
        a->stats.skipped++;
        break;
    case MX_SKIP_MALFORMED:
        a->stats.skipped_malformed++;
        a->stats.skipped++;
        break;
    case MX_SKIP_TRUNCATED:
        a->stats.skipped_truncated++;
        a->stats.skipped++;
        break;
    default:                 /* not IP (ARP, LLDP): no damage, nothing to count */
        break;
    }
    if (pkt.skip != MX_SKIP_NONE)
        return;
    if (pkt.l4 == MX_L4_UDP && (pkt.sport == 53 || pkt.dport == 53))
        mx_dns_packet(a->dns, &pkt);
    else
        mx_flow_table_packet(a->flows, &pkt);
}

void mx_analyzer_finish(mx_analyzer *a)
{
    mx_flow_table_finish_all(a->flows);
    if (!a->held)
        return;
    g_ptr_array_sort(a->held, held_cmp);
    for (guint i = 0; i < a->held->len; i++)
        release(a, g_ptr_array_index(a->held, i));
    g_ptr_array_set_size(a->held, 0);   /* the callback owns them now */
}

void mx_analyzer_expire(mx_analyzer *a, int64_t now_us, int64_t linger_us, int64_t min_idle_us,
                        mx_flow_idle_fn idle, void *ctx)
{
    if (now_us > a->diag.capture_end_us)
        a->diag.capture_end_us = now_us;
    mx_flow_table_expire_timed(a->flows, now_us, linger_us, min_idle_us, idle, ctx);
}

size_t mx_analyzer_open_flows(const mx_analyzer *a)
{
    return mx_flow_table_active(a->flows);
}

const mx_hop_baselines *mx_analyzer_baselines(const mx_analyzer *a)
{
    return a->baselines;
}

void mx_analyzer_stats(const mx_analyzer *a, mx_run_stats *out)
{
    *out = a->stats;
    const mx_flow_stats *fs = mx_flow_table_stats(a->flows);
    out->tcp_flows = fs->flows;
    out->evicted = fs->evicted;
    out->icmp_unmatched = fs->icmp_unmatched;
    out->active_max = fs->active_max;
    out->baselines_full = mx_hop_baselines_full(a->baselines);
    /* lines_cut is not in the sum: smtp.c counts snap-length cuts with it. */
    out->cap_hits = out->evicted + out->pending_dropped + out->replies_dropped +
                    out->extensions_dropped + out->ooo_cap_hits + out->baselines_full + out->evidence_dropped +
                    out->refusals_judged_early;
}

const struct mx_dns_table *mx_analyzer_dns(const mx_analyzer *a)
{
    return a->dns;
}
