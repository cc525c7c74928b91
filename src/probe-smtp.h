/* SPDX-License-Identifier: BSD-3-Clause */
/* probe-smtp.h — the probe's SMTP dialogue: connect, greeting, EHLO, optional STARTTLS, QUIT, all captured.
 *
 * Takes: source and target, the EHLO name, the waits.  Produces: a
 * transcript (what was said, for the text report) and the session the
 * passive analyzer judges from the dialogue's own capture, so that the
 * probe and `mxray read` can never disagree about the same packets.
 * Owns, while it runs: an ordinary TCP socket and a live capture on the
 * interface that routes to the target.  mxray links no TLS library: with
 * --starttls it sends the command, reads the 220, and closes.
 */
#ifndef MX_PROBE_SMTP_H
#define MX_PROBE_SMTP_H

#include "probe.h"
#include "session.h"

typedef struct mx_dialogue_config {
    const char *iface;
    mx_addr source, target;
    uint16_t dport;
    const char *helo;            /* EHLO name */
    bool starttls;
    int timeout_s;               /* connect, and each reply */
    const char *write_file;      /* -w: keep the capture here (NULL: no) */
} mx_dialogue_config;

typedef struct mx_dialogue {
    GPtrArray *transcript;       /* of char*: "C: EHLO ...", "S: 250 ...", "-- note" */
    uint16_t sport;              /* the dialogue's source port */
    bool connected;
    bool starttls_accepted;      /* 220 to STARTTLS: we closed instead of starting TLS */
    uint64_t frames;             /* frames captured */
    bool capture_cut;            /* MX_PROBE_CAPTURE_MAX_FRAMES reached */
    mx_session *session;         /* the analyzer's verdict; NULL when the capture holds none */
} mx_dialogue;

void mx_dialogue_init(mx_dialogue *d);
void mx_dialogue_clear(mx_dialogue *d);

/* False (and error) only when the socket or the capture cannot be set up;
 * a failed connection or dialogue is a result, not an error. */
bool mx_probe_dialogue_run(const mx_dialogue_config *cfg, mx_dialogue *d, GError **error);

#endif
