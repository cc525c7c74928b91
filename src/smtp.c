/* SPDX-License-Identifier: BSD-3-Clause */
/* smtp.c — SMTP session state machine over both directions of a flow.
 *
 * Each direction is read in one of five modes:
 *   LINE   commands (client) or replies (server), one line at a time in a
 *          fixed buffer; longer lines are cut and counted;
 *   BODY   a DATA body: bytes counted, only the end-of-data line looked for;
 *   CHUNK  a BDAT chunk: a byte count, no parsing at all;
 *   TLS    after 220 to STARTTLS: record headers only;
 *   IGNORE nothing more can be understood (TLS record sync lost, not TLS).
 * Replies are matched to commands in the order sent (RFC 2920 PIPELINING
 * requires the server to answer in order).  Nothing here allocates per
 * packet: strings are made once per command or reply, and are capped.
 */
#include "smtp.h"

#include <string.h>


enum mode { MODE_LINE, MODE_BODY, MODE_CHUNK, MODE_TLS, MODE_IGNORE };

/* Where the end-of-data scanner stands: RFC 5321 4.1.1.4 ends the body
 * with CRLF "." CRLF; bare LF is accepted as a line end (as Postfix does). */
enum body_state { BODY_BOL, BODY_MID, BODY_DOT, BODY_DOT_CR };

/* TLS record content types (RFC 8446 5.1). */
enum {
    TLS_CCS = 20,
    TLS_ALERT = 21,
    TLS_HANDSHAKE = 22,
    TLS_APPDATA = 23,
    TLS_HEARTBEAT = 24,
};
/* A record longer than this is not TLS: 2^14 plaintext + 2048 expansion
 * (RFC 5246 6.2.3; RFC 8446 5.2 allows less). */
#define TLS_RECORD_MAX (16384 + 2048)

struct mx_smtp_dirparse {
    enum mode mode;
    uint64_t offset;             /* stream offset of the next byte to read */

    /* LINE: line holds MX_SMTP_LINE_MAX + 1 bytes, allocated with the
     * first line byte and released when the flow closes between lines
     * (mx_smtp_trim): most of a flow table is flows lingering closed. */
    char *line;
    uint32_t line_len;
    bool in_line;                /* some bytes of the current line were read */
    bool line_cut;
    bool resync;                 /* after a gap: drop bytes up to the next line end */
    bool last_cut;               /* the line just handed over was cut (too long, or by a gap) */
    uint64_t line_end;           /* stream offset after the line just handed over */
    mx_frame_ref line_first;     /* segment where the current line began */
    uint64_t line_start;         /* stream offset of its first byte */

    /* BODY */
    enum body_state body;
    bool bol_crlf;               /* the line start in hand follows CRLF (not a bare LF) */
    bool prev_cr;                /* the last body byte read was CR */
    bool body_guessed;           /* the body was guessed from a first line that is no command */
    uint64_t dot_offset;
    mx_frame_ref dot_at;

    /* CHUNK */
    uint64_t chunk_left;
    bool chunk_last;

    /* TLS */
    uint64_t hdr_start;          /* stream offset of the record header being read */
    uint8_t hdr[5];
    uint8_t hdr_len;
    uint8_t rec_type;
    uint16_t rec_len;
    uint32_t rec_pos;
    uint8_t rec_first[2];
    bool ccs;                    /* sent ChangeCipherSpec */
    bool finished;               /* sent a handshake record after its CCS: Finished (TLS <= 1.2) */
    bool appdata;                /* sent an application-data record */
};

static const char *const verb_names[MX_SMTP_VERB_COUNT] = {
    [MX_SMTP_GREETING] = NULL,
    [MX_SMTP_HELO] = "HELO",
    [MX_SMTP_EHLO] = "EHLO",
    [MX_SMTP_MAIL] = "MAIL",
    [MX_SMTP_RCPT] = "RCPT",
    [MX_SMTP_DATA] = "DATA",
    [MX_SMTP_BDAT] = "BDAT",
    [MX_SMTP_END_OF_DATA] = ".",
    [MX_SMTP_RSET] = "RSET",
    [MX_SMTP_NOOP] = "NOOP",
    [MX_SMTP_VRFY] = "VRFY",
    [MX_SMTP_EXPN] = "EXPN",
    [MX_SMTP_HELP] = "HELP",
    [MX_SMTP_QUIT] = "QUIT",
    [MX_SMTP_STARTTLS] = "STARTTLS",
    [MX_SMTP_AUTH] = "AUTH",
    [MX_SMTP_OTHER] = "OTHER",
    [MX_SMTP_UNMATCHED] = "?",
};

const char *mx_smtp_verb_name(mx_smtp_verb v)
{
    return v < MX_SMTP_VERB_COUNT ? verb_names[v] : "?";
}

/* ---- what the evidence may keep (smtp.h mx_smtp_keep) ---------------- */

static void keep_lose(struct mx_smtp *s, int dir)
{
    s->keep[dir].lost = true;
}

static void keep_add(struct mx_smtp *s, int dir, uint64_t from, uint64_t to)
{
    mx_smtp_keep *k = &s->keep[dir];
    if (!k->started || k->lost || to <= from)
        return;
    if (k->spans == NULL)
        k->spans = g_array_sized_new(FALSE, FALSE, sizeof(mx_smtp_span), 4);
    if (k->spans->len > 0) {
        mx_smtp_span *last = &g_array_index(k->spans, mx_smtp_span, k->spans->len - 1);
        if (from < last->to)
            return;              /* never out of order: a range read twice is a bug, keep nothing */
        if (from == last->to) {
            last->to = to;
            return;
        }
    }
    if (k->spans->len >= MX_SMTP_KEEP_SPANS) {
        k->dropped++;
        k->lost = true;          /* past the cap everything blanks */
        return;
    }
    mx_smtp_span sp = { from, to };
    g_array_append_val(k->spans, sp);
}

/* A client line is read as a command only when nothing waiting for a
 * reply could have turned the next bytes into a body, a chunk, TLS or
 * credentials. */
static bool client_lines_sure(const struct mx_smtp *s)
{
    const mx_smtp_keep *k = &s->keep[MX_DIR_C2S];
    if (!k->started || k->lost || !k->sure || s->auth_continue)
        return false;
    for (guint i = 0; i < s->pending->len; i++) {
        switch (g_array_index(s->pending, mx_smtp_cmd, i).verb) {
        case MX_SMTP_DATA:
        case MX_SMTP_END_OF_DATA:
        case MX_SMTP_BDAT:
        case MX_SMTP_AUTH:
        case MX_SMTP_STARTTLS:
        case MX_SMTP_OTHER:
        case MX_SMTP_UNMATCHED:
            return false;
        default:
            break;
        }
    }
    return true;
}

/* Printable ASCII (client) or anything but control characters (server:
 * SMTPUTF8 replies) — a line with other bytes is no command or reply. */
static bool line_plain(const char *line, size_t n, bool utf8)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)line[i];
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
            return false;
    }
    return true;
}

void mx_smtp_stream_base(struct mx_smtp *s, int dir, uint32_t base_seq, bool from_syn)
{
    if (dir != MX_DIR_C2S && dir != MX_DIR_S2C)
        return;
    mx_smtp_keep *k = &s->keep[dir];
    k->started = true;
    k->base_seq = base_seq;
    k->from_syn = from_syn;
    k->sure = from_syn;
}

char *mx_smtp_escape(const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t cap = MX_SMTP_TEXT_MAX;
    /* Nearly every line is printable ASCII throughout: copied as it is. */
    size_t plain = 0;
    while (plain < n && plain < cap && p[plain] >= 0x20 && p[plain] < 0x7f)
        plain++;
    if (plain == n) {
        char *copy = g_malloc(n + 1);
        memcpy(copy, p, n);
        copy[n] = '\0';
        return copy;
    }
    char out[MX_SMTP_TEXT_MAX + 1];   /* then copied to its length: a flow keeps dozens */
    size_t o = plain;
    memcpy(out, p, plain);
    for (size_t i = plain; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 0x20 && c < 0x7f) {
            if (o + 1 > cap)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 > cap)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return g_memdup2(out, o + 1);
}

static char *escape_str(const char *p, size_t n)
{
    return mx_smtp_escape((const uint8_t *)p, n);
}

bool mx_smtp_banner_masked(const char *line, size_t n)
{
    /* ASA inspect esmtp / PIX mailguard rewrite the banner to asterisks,
     * keeping only the digits 2 and 0: "220 *****...***2*0*0**". */
    if (n < 5 || memcmp(line, "220", 3) != 0 || (line[3] != ' ' && line[3] != '-'))
        return false;
    bool star = false;
    for (size_t i = 4; i < n; i++) {
        char c = line[i];
        if (c == '*')
            star = true;
        else if (!(c >= '0' && c <= '9') && c != ' ')
            return false;
    }
    return star;
}

bool mx_smtp_keyword_masked(const char *kw, size_t n)
{
    /* Cisco's SMTP fixup overwrites keywords it does not allow with X's,
     * keeping the length and often the last letter: STARTTLS -> XXXXXXXA. */
    if (n < 4)
        return false;
    for (size_t i = 0; i + 1 < n; i++)
        if (kw[i] != 'X')
            return false;
    char last = kw[n - 1];
    return last >= 'A' && last <= 'Z';
}

struct mx_smtp *mx_smtp_new(void)
{
    struct mx_smtp *s = g_new0(struct mx_smtp, 1);
    s->replies = g_array_sized_new(FALSE, TRUE, sizeof(mx_smtp_reply), 8);
    s->pending = g_array_sized_new(FALSE, TRUE, sizeof(mx_smtp_cmd), 4);
    for (int d = 0; d < 2; d++)
        s->dp[d] = g_new0(mx_smtp_dirparse, 1);
    s->tls.alert_level = -1;
    s->tls.alert_desc = -1;
    return s;
}

static void clear_cur(struct mx_smtp *s)
{
    g_free(s->cur.text);
    g_free(s->cur.last_text);
    memset(&s->cur, 0, sizeof s->cur);
}

void mx_smtp_free(struct mx_smtp *s)
{
    if (!s)
        return;
    g_free(s->greeting.text);
    for (int d = 0; d < 2; d++)
        if (s->keep[d].spans)
            g_array_free(s->keep[d].spans, TRUE);
    for (guint i = 0; i < MX_SMTP_HELO_MAX; i++) {
        g_free(s->helo[i].arg);
        g_free(s->helo[i].reply_text);
    }
    for (guint i = 0; i < s->n_extensions; i++)
        g_free(s->extensions[i]);
    for (guint i = 0; i < s->n_masked; i++)
        g_free(s->masked[i]);
    for (guint i = 0; i < s->replies->len; i++)
        g_free(g_array_index(s->replies, mx_smtp_reply, i).text);
    g_array_free(s->replies, TRUE);
    g_array_free(s->pending, TRUE);
    g_free(s->last_error.text);
    g_free(s->tls.plain_reply);
    clear_cur(s);
    for (int d = 0; d < 2; d++) {
        g_free(s->dp[d]->line);
        g_free(s->dp[d]);
    }
    g_free(s);
}

/* ---- commands ------------------------------------------------------- */

static void push_cmd(struct mx_smtp *s, mx_smtp_verb verb, bool bdat_last, mx_frame_ref at,
                     uint64_t end_offset)
{
    if (s->pending->len >= MX_SMTP_PENDING_MAX) {
        s->pending_dropped++;
        keep_lose(s, MX_DIR_C2S);   /* pairing is lost with it */
        return;
    }
    mx_smtp_cmd c = { .verb = verb, .bdat_last = bdat_last, .at = at, .end_offset = end_offset };
    g_array_append_val(s->pending, c);
}

static mx_smtp_verb verb_lookup(const char *w, size_t n)
{
    for (int v = MX_SMTP_HELO; v < MX_SMTP_OTHER; v++) {
        const char *name = verb_names[v];
        if (v == MX_SMTP_END_OF_DATA)
            continue;
        if (strlen(name) == n && g_ascii_strncasecmp(name, w, n) == 0)
            return (mx_smtp_verb)v;
    }
    return MX_SMTP_OTHER;
}

static void start_body(struct mx_smtp *s, mx_smtp_xfer mode, mx_frame_ref data_at,
                       uint64_t first_offset)
{
    memset(&s->msg, 0, sizeof s->msg);
    s->msg.mode = mode;
    s->msg.data_at = data_at;
    s->msg.first_offset = first_offset;
    s->messages_attempted++;
}

/* The final dot's line is complete. */
static void end_of_data(struct mx_smtp *s, mx_frame_ref at, uint64_t end_offset)
{
    mx_smtp_dirparse *dp = s->dp[MX_DIR_C2S];
    /* Only CRLF "." CRLF ends a body for sure (a bare LF end is the
     * smuggling shape: what follows may be body to the server). */
    if (dp->body == BODY_DOT_CR && dp->bol_crlf) {
        uint64_t from = dp->dot_offset >= s->msg.first_offset + 2 ? dp->dot_offset - 2 : dp->dot_offset;
        if (s->keep[MX_DIR_C2S].sure)
            keep_add(s, MX_DIR_C2S, from, end_offset);
        s->keep[MX_DIR_C2S].sure = true;
    } else {
        keep_lose(s, MX_DIR_C2S);
    }
    s->msg.dot_seen = true;
    s->msg.dot_at = dp->dot_at;
    s->msg.dot_offset = dp->dot_offset;
    s->msg.end_offset = end_offset;
    s->msg.bytes = dp->dot_offset - s->msg.first_offset;
    dp->mode = MODE_LINE;
    dp->body_guessed = false;
    s->commands++;
    push_cmd(s, MX_SMTP_END_OF_DATA, false, at, end_offset);
}

/* BDAT <size> [LAST] (RFC 3030 2). */
static bool parse_bdat(const char *p, size_t n, uint64_t *size, bool *last)
{
    size_t i = 0;
    uint64_t v = 0;
    bool digits = false;
    while (i < n && p[i] == ' ')
        i++;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(p[i] - '0');
        digits = true;
        i++;
    }
    if (!digits)
        return false;
    while (i < n && p[i] == ' ')
        i++;
    *last = (n - i >= 4 && g_ascii_strncasecmp(p + i, "LAST", 4) == 0);
    *size = v;
    return true;
}

static void doubt_pairing(struct mx_smtp *s, mx_frame_ref at);

static void client_line(struct mx_smtp *s, const char *line, size_t n, mx_frame_ref at,
                        uint64_t start_offset, uint64_t end_offset)
{
    mx_smtp_dirparse *dp = s->dp[MX_DIR_C2S];

    /* DATA ends a pipelined group (RFC 2920 3.1): a client waits for the
     * 354.  A line after it with DATA still unanswered says the 354 is
     * missing from the capture (a BPF filter, a kernel drop): the replies
     * that follow may answer other than they seem to. */
    if (s->pending->len > 0 && g_array_index(s->pending, mx_smtp_cmd, s->pending->len - 1).verb == MX_SMTP_DATA)
        doubt_pairing(s, at);

    if (s->auth_continue) {
        /* An answer to a 334 challenge: credentials, never looked at. */
        s->auth_continue = false;
        s->commands++;
        push_cmd(s, MX_SMTP_AUTH, false, at, end_offset);
        return;
    }

    size_t w = 0;
    while (w < n && line[w] != ' ')
        w++;
    mx_smtp_verb verb = verb_lookup(line, w);
    const char *arg = line + w;
    size_t argn = n - w;
    while (argn > 0 && *arg == ' ') {
        arg++;
        argn--;
    }

    if (verb == MX_SMTP_OTHER && !s->greeting.seen && s->replies->len == 0 &&
        s->pending->len == 0) {
        /* The first client line is no command: the capture began inside a
         * message body.  Read on as body, up to its final dot. */
        s->midstream = true;
        start_body(s, MX_SMTP_XFER_DATA, (mx_frame_ref){ 0, 0, 0 }, start_offset);
        s->msg.first_byte = dp->line_first;
        dp->mode = MODE_BODY;
        dp->body = BODY_BOL;
        dp->bol_crlf = false;            /* where this line began is not known */
        dp->prev_cr = false;
        dp->body_guessed = true;
        if (n == 1 && line[0] == '.') {
            dp->dot_offset = start_offset;
            dp->dot_at = dp->line_first;
            end_of_data(s, at, end_offset);
        }
        return;
    }

    /* The evidence keeps a command line read for sure: AUTH only up to its
     * mechanism (an initial response is a credential), unknown verbs never
     * (AUTH<TAB>PLAIN is one). */
    if (verb != MX_SMTP_OTHER && !dp->last_cut && client_lines_sure(s) && line_plain(line, n, false)) {
        if (verb == MX_SMTP_AUTH) {
            size_t mech = (size_t)(arg - line), m = mech;
            while (m < n && (g_ascii_isalnum(line[m]) || line[m] == '-' || line[m] == '_'))
                m++;
            keep_add(s, MX_DIR_C2S, start_offset, start_offset + m);
            keep_add(s, MX_DIR_C2S, start_offset + n, end_offset);   /* the line end */
        } else {
            keep_add(s, MX_DIR_C2S, start_offset, end_offset);
        }
    }

    s->commands++;
    bool bdat_last = false;
    switch (verb) {
    case MX_SMTP_EHLO:
    case MX_SMTP_HELO:
        if (s->n_helo < MX_SMTP_HELO_MAX) {
            mx_smtp_helo *h = &s->helo[s->n_helo];
            size_t an = 0;
            while (an < argn && arg[an] != ' ')
                an++;
            h->verb = verb;
            h->arg = escape_str(arg, an);
            h->at = at;
            h->end_offset = end_offset;
        }
        s->n_helo++;
        break;
    case MX_SMTP_MAIL:
        s->mail_commands++;
        break;
    case MX_SMTP_RCPT:
        s->rcpt_commands++;
        break;
    case MX_SMTP_STARTTLS:
        s->tls.requested = true;
        break;
    case MX_SMTP_QUIT:
        s->quit_sent = true;
        break;
    case MX_SMTP_BDAT: {
        uint64_t size = 0;
        if (!parse_bdat(arg, argn, &size, &bdat_last))
            break;       /* malformed: the server will say 501; no chunk follows */
        if (s->msg.mode != MX_SMTP_XFER_BDAT || s->msg.bdat_last_sent || s->msg.final_code)
            start_body(s, MX_SMTP_XFER_BDAT, at, end_offset);
        s->msg.bdat_chunks++;
        s->msg.bdat_last_sent = bdat_last;
        if (size > 0) {
            dp->mode = MODE_CHUNK;
            dp->chunk_left = size;
            dp->chunk_last = bdat_last;
        } else if (bdat_last) {
            s->msg.end_offset = end_offset;
        }
        break;
    }
    default:
        break;
    }
    push_cmd(s, verb, bdat_last, at, end_offset);
}

/* ---- replies -------------------------------------------------------- */

static void parse_enhanced(const char *p, size_t n, char out[16])
{
    /* RFC 3463: class "." subject "." detail, class 2, 4 or 5, then a space or the end. */
    out[0] = '\0';
    if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
        return;
    size_t i = 2, dots = 1, run = 0;
    while (i < n && i < 15) {
        char c = p[i];
        if (c >= '0' && c <= '9') {
            if (++run > 3)
                return;
        } else if (c == '.' && run > 0 && dots == 1) {
            dots++;
            run = 0;
        } else {
            break;
        }
        i++;
    }
    if (dots != 2 || run == 0 || (i < n && p[i] != ' '))
        return;
    memcpy(out, p, i);
    out[i] = '\0';
}

static void add_extension(struct mx_smtp *s, const char *p, size_t n)
{
    while (n > 0 && p[n - 1] == ' ')
        n--;
    if (n == 0)
        return;
    size_t kw = 0;
    while (kw < n && p[kw] != ' ' && p[kw] != '=')
        kw++;
    if (mx_smtp_keyword_masked(p, kw)) {
        if (s->n_masked < MX_SMTP_MASKED_MAX)
            s->masked[s->n_masked++] = escape_str(p, kw);
        if (kw == 8)
            s->starttls_masked = true;   /* same length as STARTTLS */
    } else if (kw == 8 && g_ascii_strncasecmp(p, "STARTTLS", 8) == 0) {
        s->tls.offered = true;
    } else if (kw == 10 && g_ascii_strncasecmp(p, "PIPELINING", 10) == 0) {
        s->pipelining = true;
    } else if (kw == 8 && g_ascii_strncasecmp(p, "CHUNKING", 8) == 0) {
        s->chunking = true;
    }
    if (s->n_extensions < MX_SMTP_EXTENSIONS_MAX)
        s->extensions[s->n_extensions++] = escape_str(p, n);
    else
        s->extensions_dropped++;
}

static void reset_extensions(struct mx_smtp *s)
{
    for (guint i = 0; i < s->n_extensions; i++)
        g_free(s->extensions[i]);
    for (guint i = 0; i < s->n_masked; i++)
        g_free(s->masked[i]);
    s->n_extensions = s->n_masked = s->extensions_dropped = 0;
    s->starttls_masked = s->pipelining = s->chunking = false;
    s->tls.offered = false;
}

static mx_smtp_helo *helo_for(struct mx_smtp *s, const mx_smtp_cmd *c)
{
    guint n = s->n_helo < MX_SMTP_HELO_MAX ? s->n_helo : MX_SMTP_HELO_MAX;
    for (guint i = 0; i < n; i++)
        if (!s->helo[i].answered && s->helo[i].at.frame == c->at.frame &&
            s->helo[i].end_offset == c->end_offset)
            return &s->helo[i];
    return NULL;
}

static void enter_tls(struct mx_smtp *s, mx_frame_ref at)
{
    s->tls.active = true;
    s->tls.start = at;
    for (int d = 0; d < 2; d++) {
        mx_smtp_dirparse *dp = s->dp[d];
        dp->mode = MODE_TLS;
        dp->line_len = 0;
        dp->in_line = false;
        dp->resync = false;
        dp->hdr_len = 0;
    }
    /* RFC 3207 4: the client must not pipeline past STARTTLS; whatever it
     * did is answered inside TLS, where we cannot see it. */
    g_array_set_size(s->pending, 0);
}

/* A complete reply to command c (NULL for the greeting or an unmatched reply). */
static void apply_reply(struct mx_smtp *s, const mx_smtp_cmd *c, const mx_smtp_reply *r)
{
    mx_smtp_dirparse *cdp = s->dp[MX_DIR_C2S];
    int cls = r->code / 100;
    switch (c->verb) {
    case MX_SMTP_EHLO:
    case MX_SMTP_HELO: {
        mx_smtp_helo *h = helo_for(s, c);
        if (h) {
            h->answered = true;
            h->code = r->code;
            h->reply_text = g_strdup(r->text);
            h->reply_at = r->at;
        }
        break;
    }
    case MX_SMTP_RCPT:
        if (cls == 2)
            s->rcpt_accepted++;
        break;
    case MX_SMTP_DATA:
        if (r->code == 354) {
            start_body(s, MX_SMTP_XFER_DATA, c->at, cdp->offset);
            if (cdp->mode == MODE_LINE && !cdp->in_line) {
                cdp->mode = MODE_BODY;
                cdp->body = BODY_BOL;
                cdp->bol_crlf = true;    /* after the DATA line */
                cdp->prev_cr = false;
            }
        }
        break;
    case MX_SMTP_END_OF_DATA:
        s->msg.final_code = r->code;
        s->msg.final_at = r->at;
        if (cls == 2)
            s->messages++;
        break;
    case MX_SMTP_BDAT:
        if (c->bdat_last) {
            s->msg.final_code = r->code;
            s->msg.final_at = r->at;
            if (cls == 2)
                s->messages++;
        }
        break;
    case MX_SMTP_STARTTLS:
        s->tls.reply_code = r->code;
        if (r->code == 220)
            enter_tls(s, r->at);
        break;
    case MX_SMTP_AUTH:
        s->auth_continue = (r->code == 334);
        break;
    default:
        break;
    }
}

/* A capture that began with a client line that is no command was read as
 * the middle of a body.  A server reply before its final dot says it was
 * not one (a server answers a body only after its end): that line answered
 * something the capture does not show, e.g. an AUTH LOGIN credential after
 * a 334 (a tcpdump -G file cut there).  The guessed message is dropped and
 * commands are read again; the evidence keeps no client byte from here on,
 * since what the client sends is no longer sure. */
static void unguess_body(struct mx_smtp *s)
{
    mx_smtp_dirparse *dp = s->dp[MX_DIR_C2S];
    if (!dp->body_guessed || dp->mode != MODE_BODY)
        return;
    dp->body_guessed = false;
    memset(&s->msg, 0, sizeof s->msg);
    s->messages_attempted--;
    dp->resync = dp->body != BODY_BOL;   /* mid-line: read from the next line on */
    dp->mode = MODE_LINE;
    keep_lose(s, MX_DIR_C2S);
}

/* Decides, at a reply's first line, what it answers. */
static void reply_target(struct mx_smtp *s)
{
    unguess_body(s);
    const mx_smtp_cmd *head =
        s->pending->len ? &g_array_index(s->pending, mx_smtp_cmd, 0) : NULL;
    s->cur.greeting = false;
    if (!s->greeting.seen && !s->midstream && s->replies->len == 0) {
        int cls = s->cur.code / 100;
        if (s->cur.code == 220 && !(head && head->verb == MX_SMTP_STARTTLS))
            s->cur.greeting = true;      /* early-talking clients included */
        else if (!head && (cls == 4 || cls == 5))
            s->cur.greeting = true;      /* 421 / 554 greetings */
        else
            s->midstream = true;         /* answers a command we did not see */
    }
    s->cur.verb = s->cur.greeting ? MX_SMTP_GREETING : head ? head->verb : MX_SMTP_UNMATCHED;
    s->cur.ehlo_ok = (s->cur.verb == MX_SMTP_EHLO && s->cur.code == 250);
    if (s->cur.ehlo_ok)
        reset_extensions(s);             /* a later EHLO's list replaces the earlier one */
}

static void doubt_pairing(struct mx_smtp *s, mx_frame_ref at)
{
    if (s->pairing_doubts++ == 0)
        s->pairing_doubt_at = at;
}

/* Does an intermediate (3xx) reply fit command verb?  RFC 5321 4.3.2: only
 * DATA takes 354; RFC 4954 4: only AUTH (and its continuation lines) takes
 * 334; BDAT and the rest take none. */
static bool intermediate_fits(mx_smtp_verb verb, uint16_t code)
{
    return (code == 354 && verb == MX_SMTP_DATA) || (code == 334 && verb == MX_SMTP_AUTH);
}

/* A 3xx reply answers one command only.  When the oldest pending command is
 * not that one but a later one is, the replies to the commands before it
 * were lost (a line that swallowed them, a gap): they are answered with an
 * unknown code, and the pairing is marked uncertain.  A 3xx that fits no
 * pending command is paired as usual, uncertain too. */
static void resync_intermediate(struct mx_smtp *s, const mx_smtp_reply *r)
{
    if (r->code / 100 != 3 || s->pending->len == 0)
        return;
    const mx_smtp_cmd *head = &g_array_index(s->pending, mx_smtp_cmd, 0);
    if (intermediate_fits(head->verb, r->code))
        return;
    doubt_pairing(s, r->at);
    guint fit = 1;
    while (fit < s->pending->len && !intermediate_fits(g_array_index(s->pending, mx_smtp_cmd, fit).verb, r->code))
        fit++;
    if (fit == s->pending->len)
        return;
    for (guint i = 0; i < fit; i++) {
        mx_smtp_cmd *c = &g_array_index(s->pending, mx_smtp_cmd, i);
        mx_smtp_helo *h = (c->verb == MX_SMTP_EHLO || c->verb == MX_SMTP_HELO) ? helo_for(s, c) : NULL;
        if (h) {
            h->answered = true;          /* code 0: answered, the reply unreadable */
            h->reply_text = g_strdup("(reply not readable in the capture)");
            h->reply_at = r->at;
        }
    }
    g_array_remove_range(s->pending, 0, fit);
}

static void complete_reply(struct mx_smtp *s, mx_frame_ref end)
{
    bool greeting = s->cur.greeting;
    mx_smtp_reply r = { 0 };
    r.verb = s->cur.verb;
    r.code = s->cur.code;
    memcpy(r.enhanced, s->cur.enhanced, sizeof r.enhanced);
    r.text = s->cur.text;
    s->cur.text = NULL;
    r.latency_us = -1;
    r.at = s->cur.at;
    r.end = end;

    mx_smtp_cmd cmd = { .verb = MX_SMTP_UNMATCHED };
    if (!greeting)
        resync_intermediate(s, &r);
    if (greeting) {
        s->greeting.seen = true;
        s->greeting.code = r.code;
        g_free(s->greeting.text);
        s->greeting.text = s->cur.last_text;
        s->cur.last_text = NULL;
        s->greeting.first = r.at;
        s->greeting.last = end;
    } else if (s->pending->len > 0) {
        cmd = g_array_index(s->pending, mx_smtp_cmd, 0);
        g_array_remove_index(s->pending, 0);
        r.verb = cmd.verb;
        r.command_at = cmd.at;
        r.latency_us = r.at.ts_us >= cmd.at.ts_us ? r.at.ts_us - cmd.at.ts_us : 0;
    } else {
        r.verb = MX_SMTP_UNMATCHED;
    }
    clear_cur(s);

    if (r.code == 421)
        s->server_421 = true;
    if (r.code >= 400) {
        g_free(s->last_error.text);
        s->last_error = r;
        s->last_error.text = g_strdup(r.text);
    }
    if (!greeting) {
        apply_reply(s, &cmd, &r);
        /* A 354 not opening a body where we read it, or a 334 to anything
         * but AUTH: the pairing is off, so client lines are not sure. */
        if ((r.code == 354 && (cmd.verb != MX_SMTP_DATA || s->dp[MX_DIR_C2S]->mode != MODE_BODY)) ||
            (r.code == 334 && cmd.verb != MX_SMTP_AUTH))
            keep_lose(s, MX_DIR_C2S);
    }

    if (s->replies->len < MX_SMTP_REPLIES_MAX) {
        g_array_append_val(s->replies, r);
    } else {
        s->replies_dropped++;
        g_free(r.text);
    }
}

static void server_line(struct mx_smtp *s, const char *line, size_t n, mx_frame_ref at)
{
    bool reply = n >= 3 && g_ascii_isdigit(line[0]) && g_ascii_isdigit(line[1]) &&
                 g_ascii_isdigit(line[2]) && (n == 3 || line[3] == ' ' || line[3] == '-');
    int code = reply ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
    if (!reply || code < 200 || code > 599) {
        s->bad_lines++;
        return;
    }
    /* The evidence keeps a whole reply line read from a known line start
     * (a direction seen from mid-session may begin mid-line); of a 334
     * challenge only the code. */
    mx_smtp_dirparse *sdp = s->dp[MX_DIR_S2C];
    if (!sdp->last_cut && (s->keep[MX_DIR_S2C].from_syn || sdp->line_start > 0) && line_plain(line, n, true)) {
        if (code == 334 && n > 4) {
            keep_add(s, MX_DIR_S2C, sdp->line_start, sdp->line_start + 4);
            keep_add(s, MX_DIR_S2C, sdp->line_start + n, sdp->line_end);
        } else {
            keep_add(s, MX_DIR_S2C, sdp->line_start, sdp->line_end);
        }
    }
    bool more = n > 3 && line[3] == '-';
    const char *text = n > 4 ? line + 4 : "";
    size_t tn = n > 4 ? n - 4 : 0;

    /* A new code while a multi-line reply is open: its last line was lost
     * (a gap), so it ends here rather than swallowing the next reply. */
    if (s->cur.active && code != s->cur.code)
        complete_reply(s, s->cur.at);
    if (!s->cur.active) {
        s->cur.active = true;
        s->cur.code = (uint16_t)code;
        s->cur.at = at;
        s->cur.text = escape_str(line, n);
        parse_enhanced(text, tn, s->cur.enhanced);
        reply_target(s);
    } else if (s->cur.ehlo_ok) {
        add_extension(s, text, tn);
    }
    s->cur.lines++;
    if (s->cur.greeting) {
        if (mx_smtp_banner_masked(line, n))
            s->greeting.masked = true;
        if (!more)
            s->cur.last_text = escape_str(line, n);
    }
    if (!more)
        complete_reply(s, at);
}

/* ---- byte readers, one per mode --------------------------------------- */

/* After a gap: do these bytes begin a reply ("250 ", "354-") or a command
 * ("MAIL ", "QUIT\r")?  Snap-length cuts usually end at a segment, and
 * segments usually end at a line. */
static bool looks_like_line_start(int dir, const uint8_t *data, size_t len)
{
    if (dir == MX_DIR_S2C)
        return len >= 4 && data[0] >= '2' && data[0] <= '5' && g_ascii_isdigit(data[1]) &&
               g_ascii_isdigit(data[2]) && (data[3] == ' ' || data[3] == '-' || data[3] == '\r');
    size_t i = 0;
    while (i < len && i < 8 && g_ascii_isupper(data[i]))
        i++;
    return i >= 4 && i < len && (data[i] == ' ' || data[i] == '\r' || data[i] == '\n');
}

static size_t feed_line(struct mx_smtp *s, int dir, const uint8_t *data, size_t len,
                        const mx_packet *pkt)
{
    mx_smtp_dirparse *dp = s->dp[dir];
    const uint8_t *lf = memchr(data, '\n', len);
    size_t n = lf ? (size_t)(lf - data) + 1 : len;

    if (dp->resync) {
        if (looks_like_line_start(dir, data, len)) {
            dp->resync = false;          /* the gap ended on a line boundary after all */
        } else {
            if (lf)
                dp->resync = false;
            if (dir == MX_DIR_S2C)
                doubt_pairing(s, mx_frame_of(pkt));   /* the bytes skipped may end a reply */
            return n;
        }
    }
    if (!dp->in_line) {
        dp->in_line = true;
        dp->line_first = mx_frame_of(pkt);
        dp->line_start = dp->offset;
    }
    size_t body = lf ? n - 1 : n;
    size_t room = MX_SMTP_LINE_MAX - dp->line_len;
    if (body > room) {
        dp->line_cut = true;
        body = room;
    }
    if (dp->line == NULL)
        dp->line = g_malloc(MX_SMTP_LINE_MAX + 1);
    memcpy(dp->line + dp->line_len, data, body);
    dp->line_len += (uint32_t)body;
    if (!lf)
        return n;

    size_t ln = dp->line_len;
    if (ln > 0 && dp->line[ln - 1] == '\r' && !dp->line_cut)
        ln--;
    dp->line[ln] = '\0';
    if (dp->line_cut) {
        s->lines_cut++;
        /* A server line past any reply's length (RFC 5321 4.5.3.1.5: 512)
         * may have swallowed the replies after it (a line end missing). */
        if (dir == MX_DIR_S2C)
            doubt_pairing(s, mx_frame_of(pkt));
    }
    dp->last_cut = dp->line_cut;
    dp->line_end = dp->offset + n;
    dp->line_len = 0;
    dp->in_line = false;
    dp->line_cut = false;

    uint64_t end_offset = dp->offset + n;
    if (dir == MX_DIR_C2S)
        client_line(s, dp->line, ln, mx_frame_of(pkt), dp->line_start, end_offset);
    else
        server_line(s, dp->line, ln, mx_frame_of(pkt));
    return n;
}

static size_t feed_body(struct mx_smtp *s, const uint8_t *data, size_t len, const mx_packet *pkt)
{
    mx_smtp_dirparse *dp = s->dp[MX_DIR_C2S];
    if (s->msg.first_byte.frame == 0)
        s->msg.first_byte = mx_frame_of(pkt);
    size_t i = 0;
    while (i < len) {
        uint8_t c = data[i];
        switch (dp->body) {
        case BODY_MID: {
            /* Lines that do not start with a dot need no state: jump from
             * line end to line end until one does, or the bytes end. */
            const uint8_t *p = data + i, *end = data + len, *lf;
            while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL && lf + 1 < end && lf[1] != '.')
                p = lf + 1;
            if (lf == NULL) {
                i = len;
                continue;
            }
            dp->bol_crlf = lf > data ? lf[-1] == '\r' : dp->prev_cr;
            i = (size_t)(lf - data) + 1;
            dp->body = BODY_BOL;
            continue;
        }
        case BODY_BOL:
            if (c == '.') {
                dp->body = BODY_DOT;
                dp->dot_offset = dp->offset + i;
                dp->dot_at = mx_frame_of(pkt);
            } else if (c != '\n') {
                dp->body = BODY_MID;
            } else {
                dp->bol_crlf = false;    /* an empty line ended by a bare LF */
            }
            break;
        case BODY_DOT:
            if (c == '\n')
                goto end;
            dp->body = c == '\r' ? BODY_DOT_CR : BODY_MID;   /* "..": a stuffed dot */
            break;
        case BODY_DOT_CR:
            if (c == '\n')
                goto end;
            dp->body = BODY_MID;
            break;
        }
        i++;
    }
    s->msg.bytes = dp->offset + len - s->msg.first_offset;
    dp->prev_cr = data[len - 1] == '\r';
    return len;
end:
    i++;
    end_of_data(s, mx_frame_of(pkt), dp->offset + i);
    return i;
}

static size_t feed_chunk(struct mx_smtp *s, size_t len, const mx_packet *pkt)
{
    mx_smtp_dirparse *dp = s->dp[MX_DIR_C2S];
    size_t n = len < dp->chunk_left ? len : (size_t)dp->chunk_left;
    if (s->msg.first_byte.frame == 0)
        s->msg.first_byte = mx_frame_of(pkt);
    s->msg.bytes += n;
    dp->chunk_left -= n;
    if (dp->chunk_left == 0) {
        dp->mode = MODE_LINE;
        /* The BDAT command is complete only with its chunk: time its reply from here. */
        if (s->pending->len > 0) {
            mx_smtp_cmd *c = &g_array_index(s->pending, mx_smtp_cmd, s->pending->len - 1);
            if (c->verb == MX_SMTP_BDAT) {
                c->at = mx_frame_of(pkt);
                c->end_offset = dp->offset + n;
            }
        }
        if (dp->chunk_last)
            s->msg.end_offset = dp->offset + n;
    }
    return n;
}

static void tls_check_completed(struct mx_smtp *s, mx_frame_ref at)
{
    mx_smtp_dirparse *c = s->dp[MX_DIR_C2S], *v = s->dp[MX_DIR_S2C];
    if (s->tls.completed)
        return;
    if (c->finished && v->finished) {
        s->tls.completed = true;
        s->tls.completed_at = at;
    }
}

/* A record header is complete. */
static void tls_record_start(struct mx_smtp *s, int dir, mx_frame_ref at)
{
    mx_smtp_dirparse *dp = s->dp[dir];
    s->tls.records[dir]++;
    switch (dp->rec_type) {
    case TLS_CCS:
        dp->ccs = true;
        break;
    case TLS_HANDSHAKE:
        if (dp->ccs) {
            dp->finished = true;   /* encrypted handshake after CCS: Finished (TLS <= 1.2) */
            tls_check_completed(s, at);
        }
        break;
    case TLS_APPDATA:
        if (s->tls.completed) {
            s->tls.app_records[dir]++;
            s->tls.app_bytes[dir] += dp->rec_len;
            /* Encrypted SMTP is still a dialogue: a server record after the
             * client's last one means its last command was answered. */
            s->tls.last_answered = dir == MX_DIR_S2C;
        }
        /* TLS 1.3 encrypts the rest of the handshake as application data:
         * the client's first such record is its Finished, and a server
         * record after it means the server accepted it. */
        if (dir == MX_DIR_S2C && s->dp[MX_DIR_C2S]->appdata && !s->tls.completed) {
            s->tls.completed = true;
            s->tls.completed_at = at;
        }
        dp->appdata = true;
        break;
    default:
        break;
    }
}

/* The first payload bytes of a record are known (up to 2). */
static void tls_record_first(struct mx_smtp *s, int dir, mx_frame_ref at, uint32_t have)
{
    mx_smtp_dirparse *dp = s->dp[dir];
    if (dp->rec_type == TLS_HANDSHAKE && !dp->ccs && have == 1) {
        if (dp->rec_first[0] == 1 && dir == MX_DIR_C2S && !s->tls.client_hello) {
            s->tls.client_hello = true;
            s->tls.client_hello_at = at;
        } else if (dp->rec_first[0] == 2 && dir == MX_DIR_S2C && !s->tls.server_hello) {
            s->tls.server_hello = true;
            s->tls.server_hello_at = at;
        }
    }
    if (dp->rec_type == TLS_ALERT && (have == 2 || (have == 1 && dp->rec_len != 2))) {
        bool plain = dp->rec_len == 2;
        bool fatal_after = plain && dp->rec_first[0] == 2;
        if (!s->tls.alert && (!s->tls.completed || fatal_after)) {
            s->tls.alert = true;
            s->tls.alert_dir = dir;
            s->tls.alert_at = at;
            s->tls.alert_level = plain ? dp->rec_first[0] : -1;
            s->tls.alert_desc = plain ? dp->rec_first[1] : -1;
        }
    }
}

/* The server answered TLS with plain text: keep its first line when it is
 * an SMTP reply ("220 mx ESMTP"), the sign of a plain-SMTP server where the
 * client expected TLS.  hdr: the 5 bytes read as a record header. */
static void note_plain_reply(struct mx_smtp *s, const uint8_t hdr[5], const uint8_t *rest, size_t n)
{
    if (!(g_ascii_isdigit(hdr[0]) && g_ascii_isdigit(hdr[1]) && g_ascii_isdigit(hdr[2]) &&
          (hdr[3] == ' ' || hdr[3] == '-') && hdr[0] >= '2' && hdr[0] <= '5'))
        return;
    char line[128];
    size_t k = 0;
    for (size_t i = 0; i < 5 && hdr[i] != '\r' && hdr[i] != '\n'; i++)
        line[k++] = (char)hdr[i];
    bool whole_header = k == 5;
    for (size_t i = 0; whole_header && i < n && k < sizeof line && rest[i] != '\r' && rest[i] != '\n'; i++)
        line[k++] = (char)rest[i];
    s->tls.plain_reply = mx_smtp_escape((const uint8_t *)line, k);
}

static size_t feed_tls(struct mx_smtp *s, int dir, const uint8_t *data, size_t len,
                       const mx_packet *pkt)
{
    mx_smtp_dirparse *dp = s->dp[dir];
    size_t i = 0;
    while (i < len) {
        if (dp->hdr_len < 5) {
            if (dp->hdr_len == 0)
                dp->hdr_start = dp->offset + i;
            dp->hdr[dp->hdr_len++] = data[i++];
            if (dp->hdr_len < 5)
                continue;
            dp->rec_type = dp->hdr[0];
            dp->rec_len = (uint16_t)((dp->hdr[3] << 8) | dp->hdr[4]);
            dp->rec_pos = 0;
            if (dp->rec_type < TLS_CCS || dp->rec_type > TLS_HEARTBEAT || dp->hdr[1] != 3 ||
                dp->rec_len > TLS_RECORD_MAX) {
                /* Not a TLS record: plain text after the 220, or we lost sync. */
                s->tls.not_tls[dir] = true;
                dp->mode = MODE_IGNORE;
                if (dir == MX_DIR_S2C && !s->tls.plain_reply)
                    note_plain_reply(s, dp->hdr, data + i, len - i);
                return len;
            }
            tls_record_start(s, dir, mx_frame_of(pkt));
            keep_add(s, dir, dp->hdr_start, dp->hdr_start + 5);   /* a record header: type, version, length */
            if (dp->rec_len == 0)
                dp->hdr_len = 0;
            continue;
        }
        size_t left = dp->rec_len - dp->rec_pos;
        size_t n = len - i < left ? len - i : left;
        for (size_t k = 0; k < n && dp->rec_pos + k < 2; k++) {
            dp->rec_first[dp->rec_pos + k] = data[i + k];
            tls_record_first(s, dir, mx_frame_of(pkt), dp->rec_pos + (uint32_t)k + 1);
        }
        dp->rec_pos += (uint32_t)n;
        i += n;
        if (dp->rec_pos == dp->rec_len)
            dp->hdr_len = 0;
    }
    return len;
}

/* ---- entry points ----------------------------------------------------- */

void mx_smtp_gap(struct mx_smtp *s, int dir, uint64_t offset, uint64_t missing,
                 const mx_packet *pkt)
{
    (void)pkt;
    if (dir != MX_DIR_C2S && dir != MX_DIR_S2C)
        return;
    mx_smtp_dirparse *dp = s->dp[dir];
    uint64_t end = offset + missing;
    if (end <= dp->offset)
        return;
    missing = end - (offset > dp->offset ? offset : dp->offset);
    s->gaps[dir]++;
    s->gap_bytes[dir] += missing;
    dp->offset = end;
    /* A hole in the client's commands may have hidden a DATA, an AUTH or
     * a STARTTLS: from here on nothing of it is read for sure. */
    if (dir == MX_DIR_C2S && dp->mode != MODE_BODY)
        keep_lose(s, dir);

    switch (dp->mode) {
    case MODE_LINE:
        /* The line in hand lost its end.  A snap length cuts every long
         * segment this way: when the part kept begins a reply or a command,
         * it still counts (code and verb survive), cut.  Then start again
         * after the next line end, or at once if what follows begins a line. */
        if (dp->line_len > 0 && looks_like_line_start(dir, (const uint8_t *)dp->line, dp->line_len)) {
            uint32_t ln = dp->line_len < MX_SMTP_LINE_MAX ? dp->line_len : MX_SMTP_LINE_MAX;
            dp->line[ln] = '\0';
            s->lines_cut++;
            dp->last_cut = true;
            if (dir == MX_DIR_C2S)
                client_line(s, dp->line, ln, dp->line_first, dp->line_start, offset);
            else if (!s->cur.active)    /* a cut continuation line would be a bogus extension */
                server_line(s, dp->line, ln, dp->line_first);
        }
        /* A multi-line reply open across the hole lost its last line: close
         * it, or the next reply would be read as more of its lines. */
        if (dir == MX_DIR_S2C && s->cur.active)
            complete_reply(s, s->cur.at);
        dp->line_len = 0;
        dp->in_line = false;
        dp->line_cut = false;
        dp->resync = true;
        break;
    case MODE_BODY:
        dp->body = BODY_MID;    /* a dot line after the gap still ends the body */
        dp->prev_cr = false;
        break;
    case MODE_CHUNK:
        if (missing < dp->chunk_left) {
            dp->chunk_left -= missing;
            s->msg.bytes += missing;
        } else {
            s->msg.bytes += dp->chunk_left;
            bool into_commands = missing > dp->chunk_left;
            dp->chunk_left = 0;
            dp->mode = MODE_LINE;
            dp->resync = into_commands;
        }
        break;
    case MODE_TLS:
        dp->mode = MODE_IGNORE;  /* record boundaries are lost */
        break;
    case MODE_IGNORE:
        break;
    }
}

void mx_smtp_data(struct mx_smtp *s, int dir, const uint8_t *data, size_t len, uint64_t offset,
                  const mx_packet *pkt)
{
    if (dir != MX_DIR_C2S && dir != MX_DIR_S2C)
        return;
    mx_smtp_dirparse *dp = s->dp[dir];
    if (offset > dp->offset) {
        mx_smtp_gap(s, dir, dp->offset, offset - dp->offset, pkt);
    } else if (offset < dp->offset) {
        uint64_t seen = dp->offset - offset;      /* already read: skip */
        if (seen >= len)
            return;
        data += seen;
        len -= (size_t)seen;
    }
    if (len == 0)
        return;
    /* Implicit TLS (SMTPS, port 465; RFC 8314 3.3): the client's stream
     * opens with a TLS handshake record.  Usually before any greeting; but a
     * slow client (building its TLS context) may send it after a plain
     * server's 220, which is then the server's answer in plain text. */
    if (dir == MX_DIR_C2S && s->bytes[0] == 0 && offset == 0 && len >= 3 && !s->midstream &&
        data[0] == 0x16 && data[1] == 0x03 && !s->tls.active) {
        mx_frame_ref at = { pkt ? pkt->frame : 0, pkt ? pkt->file_index : 0, pkt ? pkt->ts_us : 0 };
        s->tls.implicit = true;
        s->tls.requested = true;
        if (s->bytes[1] > 0) {
            /* A TLS server never speaks first. */
            s->tls.not_tls[MX_DIR_S2C] = true;
            if (s->greeting.seen && s->greeting.text && !s->tls.plain_reply)
                s->tls.plain_reply = g_strdup(s->greeting.text);
        }
        enter_tls(s, at);
    }
    if (s->first_ts[dir] == 0 && pkt)
        s->first_ts[dir] = pkt->ts_us;
    s->bytes[dir] += len;

    while (len > 0) {
        size_t n;
        switch (dp->mode) {
        case MODE_LINE:
            n = feed_line(s, dir, data, len, pkt);
            break;
        case MODE_BODY:
            n = dir == MX_DIR_C2S ? feed_body(s, data, len, pkt) : len;
            break;
        case MODE_CHUNK:
            n = dir == MX_DIR_C2S ? feed_chunk(s, len, pkt) : len;
            break;
        case MODE_TLS:
            n = feed_tls(s, dir, data, len, pkt);
            break;
        default:
            n = len;
            break;
        }
        dp->offset += n;
        data += n;
        len -= n;
    }
}

void mx_smtp_finish(struct mx_smtp *s)
{
    /* A reply cut off by the end of the capture is no reply. */
    clear_cur(s);
    for (int d = 0; d < 2; d++) {
        s->dp[d]->line_len = 0;
        s->dp[d]->in_line = false;
    }
    mx_smtp_trim(s);
}

void mx_smtp_trim(struct mx_smtp *s)
{
    for (int d = 0; d < 2; d++) {
        mx_smtp_dirparse *dp = s->dp[d];
        if (dp->line && dp->line_len == 0) {
            g_free(dp->line);
            dp->line = NULL;
        }
    }
}
