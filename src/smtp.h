/* SPDX-License-Identifier: BSD-3-Clause */
/* smtp.h — the SMTP session of one flow, rebuilt from its two reassembled streams.
 *
 * Takes: in-order stream bytes and gaps of both directions (from stream.c),
 * in capture order.  Produces: the struct mx_smtp below, read-only for
 * diagnosis and reports: greeting, EHLO/HELO, extensions, every reply
 * matched to its command (PIPELINING included), message transfers (DATA
 * body and BDAT chunks counted, never stored), STARTTLS and the TLS
 * handshake as far as record headers tell, and the commands still waiting
 * for a reply.  Owns: its strings, all bounded by the caps.
 *
 * Never stored: AUTH arguments and the lines that answer a 334, message
 * bodies.  Server and client text is kept escaped (printable ASCII only;
 * any other byte as \xNN), so reports can print it as is.
 */
#ifndef MX_SMTP_H
#define MX_SMTP_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "caps.h"
#include "packet.h"
#include "verdict.h"


typedef enum mx_smtp_verb {
    MX_SMTP_GREETING = 0,    /* not a command: the server's opening reply */
    MX_SMTP_HELO,
    MX_SMTP_EHLO,
    MX_SMTP_MAIL,
    MX_SMTP_RCPT,
    MX_SMTP_DATA,
    MX_SMTP_BDAT,
    MX_SMTP_END_OF_DATA,     /* the final "." of a DATA body */
    MX_SMTP_RSET,
    MX_SMTP_NOOP,
    MX_SMTP_VRFY,
    MX_SMTP_EXPN,
    MX_SMTP_HELP,
    MX_SMTP_QUIT,
    MX_SMTP_STARTTLS,
    MX_SMTP_AUTH,            /* AUTH itself and each line answering a 334 */
    MX_SMTP_OTHER,           /* any other verb (XCLIENT, ETRN, garbage ...) */
    MX_SMTP_UNMATCHED,       /* a reply with no command to match (capture began mid-session, or a gap ate it) */
    MX_SMTP_VERB_COUNT
} mx_smtp_verb;

/* "EHLO", ".", "AUTH" ...; NULL for MX_SMTP_GREETING (JSON null), "?" for unmatched. */
const char *mx_smtp_verb_name(mx_smtp_verb v);

/* A command sent and not (yet) answered. */
typedef struct mx_smtp_cmd {
    mx_smtp_verb verb;
    bool bdat_last;          /* BDAT ... LAST */
    mx_frame_ref at;         /* segment that completed the command line */
    uint64_t end_offset;     /* client stream offset just after the line end
                              * (compare with mx_flow_acked_bytes(f, MX_DIR_C2S)) */
} mx_smtp_cmd;

typedef struct mx_smtp_reply {
    mx_smtp_verb verb;       /* the command it answers; GREETING for the greeting */
    uint16_t code;           /* 200..599 */
    char enhanced[16];       /* RFC 3463 "5.7.1" from the first line; "" when absent */
    char *text;              /* first line as sent, code included, escaped (owned) */
    int64_t latency_us;      /* reply's first segment - command's last segment; -1 unknown */
    mx_frame_ref command_at; /* the command (frame 0 for the greeting / unmatched) */
    mx_frame_ref at;         /* first segment of the reply */
    mx_frame_ref end;        /* segment that completed it (last line) */
} mx_smtp_reply;

typedef struct mx_smtp_helo {
    mx_smtp_verb verb;       /* MX_SMTP_EHLO or MX_SMTP_HELO */
    char *arg;               /* the host name the client gave, escaped (owned; "" if none) */
    mx_frame_ref at;         /* the command */
    uint64_t end_offset;     /* client stream offset after its line end */
    bool answered;
    uint16_t code;           /* reply code, 0 while unanswered */
    char *reply_text;        /* first reply line, escaped (owned; NULL while unanswered) */
    mx_frame_ref reply_at;   /* first segment of the reply */
} mx_smtp_helo;

typedef enum mx_smtp_xfer {
    MX_SMTP_XFER_NONE = 0,
    MX_SMTP_XFER_DATA,
    MX_SMTP_XFER_BDAT,
} mx_smtp_xfer;

/* The latest message transfer (the one a failure is about). */
typedef struct mx_smtp_message {
    mx_smtp_xfer mode;
    mx_frame_ref data_at;    /* DATA command (or first BDAT) */
    mx_frame_ref first_byte; /* segment with the first body / chunk byte; frame 0 if none yet */
    uint64_t first_offset;   /* client stream offset of the first body byte */
    uint64_t bytes;          /* body bytes seen (DATA: up to the final dot, gaps included) */
    bool dot_seen;           /* DATA: the final CRLF.CRLF arrived */
    mx_frame_ref dot_at;     /* segment holding the final dot */
    uint64_t dot_offset;     /* client stream offset of the final "." */
    uint64_t end_offset;     /* offset just after the final dot's line end (or after BDAT LAST's chunk) */
    uint32_t bdat_chunks;    /* BDAT commands in this message */
    bool bdat_last_sent;     /* BDAT ... LAST seen */
    uint16_t final_code;     /* reply to end of data / BDAT LAST; 0 none */
    mx_frame_ref final_at;
} mx_smtp_message;

typedef struct mx_smtp_tls {
    bool offered;            /* STARTTLS in the EHLO reply */
    bool requested;          /* the client sent STARTTLS (or spoke TLS at once) */
    bool implicit;           /* implicit TLS (SMTPS, port 465): TLS from the first byte */
    uint16_t reply_code;     /* reply to STARTTLS; 0 none */
    bool active;             /* 220 to STARTTLS: the rest of the session is TLS */
    mx_frame_ref start;      /* the 220 */
    bool client_hello, server_hello;
    mx_frame_ref client_hello_at, server_hello_at;
    bool completed;          /* both Finished (TLS 1.2: after ChangeCipherSpec) or
                              * the server's encrypted records after the client's (TLS 1.3) */
    mx_frame_ref completed_at;
    bool alert;              /* an alert record before completion (or a fatal one after) */
    int alert_dir;           /* MX_DIR_C2S (0) / MX_DIR_S2C (1) of the first alert */
    int alert_level;         /* 1 warning, 2 fatal; -1 when encrypted */
    int alert_desc;          /* RFC 8446 6 AlertDescription; -1 when encrypted */
    mx_frame_ref alert_at;
    bool not_tls[2];         /* a direction sent bytes that are not TLS records */
    char *plain_reply;       /* the server's non-TLS bytes read as an SMTP reply: its
                              * first line, escaped (owned); NULL when they do not */
    uint64_t records[2];     /* records seen per direction */
    uint64_t app_records[2]; /* application-data records after completion: the encrypted dialogue */
    bool last_answered;      /* the last application record was the server's */
    uint64_t app_bytes[2];   /* their payload bytes */
} mx_smtp_tls;

typedef struct mx_smtp_dirparse mx_smtp_dirparse;

/* What the evidence file may keep of one direction (evidence.c): the
 * stream ranges this parser positively read as whole command or reply
 * lines outside DATA/BDAT content and AUTH exchanges, and TLS record
 * headers.  Everything else blanks, so the parser records a range only
 * when it is sure: the direction began at its SYN (or, mid-session, after
 * a CRLF.CRLF end of data), no command that changes how the next client
 * line is read (DATA, AUTH, STARTTLS, BDAT, an unknown verb) is waiting
 * for its reply, no gap hid commands, no reply pairing went wrong. */
typedef struct mx_smtp_span {
    uint64_t from, to;       /* stream offsets, [from, to) */
} mx_smtp_span;

typedef struct mx_smtp_keep {
    bool started;            /* base_seq is set (the stream exists) */
    uint32_t base_seq;       /* sequence number of stream offset 0 */
    bool from_syn;           /* offset 0 is the byte after this direction's SYN */
    bool sure;               /* lines are read from a known line start */
    bool lost;               /* nothing more is kept in this direction */
    GArray *spans;           /* of mx_smtp_span, ascending, merged; NULL until the first */
    uint32_t dropped;        /* ranges past MX_SMTP_KEEP_SPANS: they (and all later bytes) blank */
} mx_smtp_keep;

struct mx_smtp {
    /* Greeting: the first reply when no command preceded it. */
    struct {
        bool seen;
        uint16_t code;       /* 220, 421, 554 ... */
        char *text;          /* last line as sent, code included, escaped (owned) */
        mx_frame_ref first;  /* first segment of the greeting */
        mx_frame_ref last;   /* segment that completed it */
        bool masked;         /* ASA inspect esmtp / PIX mailguard: "220 ****...0*0*" */
    } greeting;

    /* EHLO/HELO commands in order (STARTTLS hides later ones). */
    mx_smtp_helo helo[MX_SMTP_HELO_MAX];
    uint32_t n_helo;         /* commands seen; > MX_SMTP_HELO_MAX when some were not kept */

    /* Extensions of the last EHLO reply with code 250, keywords as offered
     * ("PIPELINING", "SIZE 10240000"), escaped, owned. */
    char *extensions[MX_SMTP_EXTENSIONS_MAX];
    uint32_t n_extensions;
    uint32_t extensions_dropped;
    /* Keywords made of X's ("XXXXXXXA"): an inspecting firewall masked them. */
    char *masked[MX_SMTP_MASKED_MAX];
    uint32_t n_masked;
    bool starttls_masked;    /* a masked keyword of STARTTLS's length (8) */
    bool pipelining, chunking;

    /* Every reply in order (first MX_SMTP_REPLIES_MAX; the rest counted). */
    GArray *replies;         /* of mx_smtp_reply */
    uint32_t replies_dropped;
    mx_smtp_reply last_error;/* the latest 4xx/5xx reply (code 0: none); text owned */

    /* Commands still waiting for a reply, oldest first. */
    GArray *pending;         /* of mx_smtp_cmd, at most MX_SMTP_PENDING_MAX */
    uint32_t pending_dropped;

    uint32_t commands;       /* command lines sent (AUTH continuation lines included) */
    uint32_t mail_commands, rcpt_commands, rcpt_accepted;
    bool quit_sent;
    bool server_421;         /* a 421: the server is closing the session */

    /* Messages */
    uint32_t messages;       /* delivered: 2xx after end of data or BDAT LAST */
    uint32_t messages_attempted; /* DATA 354 accepted, or BDAT started */
    mx_smtp_message msg;     /* the latest transfer */

    mx_smtp_tls tls;

    /* Oddities */
    bool midstream;          /* the capture began mid-session: no greeting expected */
    uint32_t lines_cut;      /* lines longer than MX_SMTP_LINE_MAX */
    /* Replies whose command is uncertain: a 3xx to a command that takes
     * none, a 334/354 that skipped commands, a server line cut or a gap in
     * the server's bytes (either may hide a reply).  Verdicts built on the
     * pairing are then never of high confidence. */
    uint32_t pairing_doubts;
    mx_frame_ref pairing_doubt_at;   /* the first such reply or line */
    uint32_t bad_lines;      /* server lines that are not replies */
    uint32_t gaps[2];        /* holes per direction (MX_DIR_C2S, MX_DIR_S2C) */
    uint64_t gap_bytes[2];
    uint64_t bytes[2];       /* stream bytes seen per direction */
    int64_t first_ts[2];     /* first byte per direction; 0 none */

    /* The ranges the evidence file may keep, per direction. */
    mx_smtp_keep keep[2];

    /* Parser state: private to smtp.c. */
    mx_smtp_dirparse *dp[2];
    bool auth_continue;      /* the last reply was a 334 */
    struct {
        bool active;
        uint16_t code;
        mx_smtp_verb verb;   /* command it will answer (decided at the first line) */
        bool greeting;
        bool ehlo_ok;        /* 250 to EHLO: lines after the first are extensions */
        char enhanced[16];
        char *text;          /* first line (owned until handed over) */
        char *last_text;     /* last line, for the greeting */
        mx_frame_ref at;
        uint32_t lines;
    } cur;                   /* the reply being read */
};

struct mx_smtp *mx_smtp_new(void);
void mx_smtp_free(struct mx_smtp *s);

/* dir: MX_DIR_C2S (0) / MX_DIR_S2C (1), as in flow.h.  Feed in capture order. */
void mx_smtp_data(struct mx_smtp *s, int dir, const uint8_t *data, size_t len, uint64_t offset,
                  const mx_packet *pkt);
void mx_smtp_gap(struct mx_smtp *s, int dir, uint64_t offset, uint64_t missing,
                 const mx_packet *pkt);
/* The direction's stream begins at sequence number base_seq; from_syn
 * when that is its SYN's plus one (else the capture began mid-session).
 * Call before the direction's first mx_smtp_data. */
void mx_smtp_stream_base(struct mx_smtp *s, int dir, uint32_t base_seq, bool from_syn);
/* End of flow (after both streams' mx_stream_finish): nothing more comes. */
void mx_smtp_finish(struct mx_smtp *s);
/* The flow closed: releases the line buffers (2 x MX_SMTP_LINE_MAX) unless
 * a line is half read.  Bytes that still come get a new one: nothing is lost. */
void mx_smtp_trim(struct mx_smtp *s);

/* Escapes n bytes for printing: printable ASCII kept, anything else \xNN;
 * at most MX_SMTP_TEXT_MAX characters.  Newly allocated. */
char *mx_smtp_escape(const uint8_t *p, size_t n);

/* True for a banner an inspecting firewall masked: "220" then only '*',
 * digits and spaces, with at least one '*' (ASA inspect esmtp, PIX mailguard). */
bool mx_smtp_banner_masked(const char *line, size_t n);
/* True for an ESMTP keyword masked with X's: 4+ characters, all 'X' but
 * possibly the last ("XXXXXXXA" in place of STARTTLS). */
bool mx_smtp_keyword_masked(const char *kw, size_t n);

#endif
