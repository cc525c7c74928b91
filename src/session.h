/* SPDX-License-Identifier: BSD-3-Clause */
/* session.h — a finished session as the reports see it: one model, several renderers.
 *
 * diagnose builds it from a flow (and its SMTP state) when the flow is
 * finished; it owns copies of everything, so the flow can be freed at once.
 * Its strings (server name, greeting, helo, extensions, reply texts) live
 * in an arena of blocks (usually one, sized for the SMTP strings at once),
 * freed in one go: a few allocations a session instead of one a string.
 */
#ifndef MX_SESSION_H
#define MX_SESSION_H

#include <glib.h>
#include "verdict.h"
#include "ladder.h"

typedef struct mx_reply_rec {
    const char *command;     /* "EHLO", "." for end of data; NULL for the greeting (static) */
    int code;
    bool has_latency;
    double latency_ms;
    const char *text;        /* first line of the reply, escaped (in the session's strings) */
    mx_frame_ref at;         /* first segment of the reply */
    mx_frame_ref command_at; /* the command it answers (frame 0: greeting) */
} mx_reply_rec;

typedef struct mx_session {
    uint64_t id;
    mx_addr client_ip, server_ip;
    const char *server_name; /* a name DNS answers in the capture gave this address, or NULL */
    uint16_t client_port, server_port;
    int64_t start_us, end_us;
    mx_frame_ref first_frame;

    mx_verdict verdict;

    /* The session's packets for ladder diagrams: the first and last ones,
     * ladder_skipped left out between them. */
    GArray *ladder;          /* of mx_ladder_step */
    uint32_t ladder_skipped;

    struct {
        char history[MX_HISTORY_MAX + 1];
        uint32_t syn_count;
        bool has_rtt;
        double rtt_ms;
        uint32_t retransmits_client, retransmits_server;
        int ttl_client, ttl_server;     /* -1: none seen */
        int server_hop;                 /* from the server's own packets; 0 unknown */
    } tcp;

    /* A RST that answered the SYN, kept so that the verdict can be judged
     * again once the whole capture has shown the server's usual hop. */
    struct {
        bool refused;
        bool baseline_known;            /* judged against a baseline already */
        mx_frame_ref syn, rst;
        uint8_t rst_ttl;
    } refusal;

    struct {
        const char *greeting;   /* escaped text of the greeting, or NULL */
        const char *helo;       /* the client's EHLO/HELO name, or NULL */
        GPtrArray *extensions;  /* of const char* (in strings) */
        uint32_t messages;
        GArray *replies;     /* of mx_reply_rec */
        const char *tls;     /* NULL (no STARTTLS), or a static word: "completed", "failed", "refused", "stripped" */
    } smtp;

    /* What the evidence file may keep of each direction's payload: the
     * stream ranges smtp.c read for sure as command or reply lines or TLS
     * record headers (smtp.h mx_smtp_keep); every other byte blanks. */
    struct {
        bool known;          /* base_seq is set */
        uint32_t base_seq;   /* sequence number of stream offset 0 */
        GArray *spans;       /* of mx_smtp_span (smtp.h); NULL when none */
        uint32_t dropped;    /* ranges past MX_SMTP_KEEP_SPANS */
    } keep[2];

    struct mx_session_block *strings;   /* the arena the strings above are in (mx_session_strdup) */
} mx_session;

struct mx_smtp;

mx_session *mx_session_new(void);
/* Copies the SMTP facts the reports print (greeting, helo, extensions,
 * messages, replies, tls) from a flow's SMTP state (NULL: none). */
void mx_session_fill_smtp(mx_session *s, const struct mx_smtp *smtp);
void mx_session_free(mx_session *s);
/* A copy of text (NULL: NULL) that lives as long as s. */
const char *mx_session_strdup(mx_session *s, const char *text);
const char *mx_session_strndup(mx_session *s, const char *text, size_t len);

/* Copies a flow's ladder steps. */
void mx_session_fill_ladder(mx_session *s, const mx_ladder *l);

/* True when the session counts as failed or rejected for the exit status. */
bool mx_session_failed(const mx_session *s);

#endif
