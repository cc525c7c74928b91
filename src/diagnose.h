/* SPDX-License-Identifier: BSD-3-Clause */
/* diagnose.h — rules over a finished flow: TCP, ICMP, SMTP state and the hop model -> verdict.
 *
 * Takes: a finished mx_flow.  Produces: an mx_session that owns its
 * verdict (kind, phase, culprit, summary, advice, mta_status, warnings,
 * evidence) and copies of the TCP/SMTP facts the reports print.
 * The connect-phase rules live here; the SMTP-phase rules in
 * diagnose-smtp.c.
 */
#ifndef MX_DIAGNOSE_H
#define MX_DIAGNOSE_H

#include "flow.h"
#include "session.h"

#include "hops.h"

typedef struct mx_diagnose_ctx {
    int64_t capture_end_us;  /* time of the last frame read so far */
    const mx_hop_baselines *baselines; /* servers' hops seen so far (may be NULL) */
    const struct mx_dns_table *dns;    /* DNS look-ups seen so far (may be NULL) */
} mx_diagnose_ctx;

mx_session *mx_diagnose(const mx_flow *f, const mx_diagnose_ctx *ctx);

/* Judges a connect_refused session again with the baselines of the whole
 * capture (a later session may have shown the server's own hop). */
void mx_diagnose_refine(mx_session *s, const mx_hop_baselines *baselines);

/* An active probe proved that the RST answering the SYN comes from
 * forger_hop (forger_ip: the router there, or NULL) while the server is at
 * server_hop or farther: the refusal is a firewall's. */
void mx_diagnose_refused_by_probe(mx_session *s, int forger_hop, const mx_addr *forger_ip, int server_hop);

/* Describes a SYN retry schedule ("retries at 1, 3, 7 s: Linux default
 * backoff").  offsets_us: times of retries after the first SYN. */
char *mx_describe_syn_schedule(const int64_t *offsets_us, size_t n);

#endif
