/* SPDX-License-Identifier: BSD-3-Clause */
/* report-ladder.c — the ladder lines of one session, and their monospace drawing. */
#include "report-ladder.h"
#include "evidence.h"
#include "flow.h"
#include "hops.h"

#include <string.h>

/* Input frames are keyed as file_index << 40 | frame (2^40 frames per file). */
static guint64 frame_key(const mx_frame_ref *at)
{
    return ((guint64)at->file_index << 40) | (at->frame & ((G_GUINT64_CONSTANT(1) << 40) - 1));
}

static void line_clear(gpointer p)
{
    mx_ladder_line *l = p;
    g_free(l->flags);
    g_free(l->text);
}

static char *flag_names(uint8_t f)
{
    static const struct { uint8_t bit; const char *name; } names[] = {
        { MX_TCP_SYN, "SYN" }, { MX_TCP_FIN, "FIN" }, { MX_TCP_RST, "RST" },
        { MX_TCP_PSH, "PSH" }, { MX_TCP_URG, "URG" }, { MX_TCP_ACK, "ACK" },
    };
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (f & names[i].bit)
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", names[i].name);
    if (s->len == 0)
        g_string_append(s, "none");
    return g_string_free(s, FALSE);
}

/* The ICMP error's name as Wireshark shows it (RFC 792, RFC 4443). */
static const char *icmp_name(bool v6, uint8_t type, uint8_t code)
{
    if (!v6 && type == MX_ICMP_UNREACH) {
        static const char *const unreach[] = {
            "network unreachable", "host unreachable", "protocol unreachable", "port unreachable",
            "fragmentation needed", "source route failed", "destination network unknown",
            "destination host unknown", "source host isolated", "network administratively prohibited",
            "host administratively prohibited", "network unreachable for TOS", "host unreachable for TOS",
            "communication administratively prohibited", "host precedence violation", "precedence cutoff in effect",
        };
        return code < G_N_ELEMENTS(unreach) ? unreach[code] : "destination unreachable";
    }
    if (!v6 && type == MX_ICMP_TIME_EXCEEDED)
        return "time exceeded";
    if (v6 && type == MX_ICMP6_UNREACH) {
        static const char *const unreach6[] = {
            "no route to destination", "communication administratively prohibited", "beyond scope of source address",
            "address unreachable", "port unreachable", "source address failed ingress/egress policy",
            "reject route to destination",
        };
        return code < G_N_ELEMENTS(unreach6) ? unreach6[code] : "destination unreachable";
    }
    if (v6 && type == MX_ICMP6_PACKET_TOO_BIG)
        return "packet too big";
    if (v6 && type == MX_ICMP6_TIME_EXCEEDED)
        return "time exceeded";
    return "ICMP error";
}

static void add_label(GHashTable *labels, const mx_frame_ref *at, const char *text)
{
    if (at->frame == 0 || text == NULL)
        return;
    gpointer key = GSIZE_TO_POINTER(frame_key(at));
    GString *s = g_hash_table_lookup(labels, key);
    if (s == NULL) {
        s = g_string_new(text);
        g_hash_table_insert(labels, key, s);
    } else if (strstr(s->str, text) == NULL) {
        g_string_append_printf(s, " | %s", text);
    }
}

static void free_gstring(gpointer p)
{
    g_string_free(p, TRUE);
}

/* The SMTP lines each frame carries, from the session's replies: replies
 * by the frame they start in, commands by the frame that completed them. */
static GHashTable *smtp_labels(const mx_session *s)
{
    G_STATIC_ASSERT(sizeof(gpointer) >= sizeof(guint64));
    GHashTable *labels = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_gstring);
    for (guint i = 0; i < s->smtp.replies->len; i++) {
        const mx_reply_rec *r = &g_array_index(s->smtp.replies, mx_reply_rec, i);
        if (r->command && r->command_at.frame) {
            g_autofree char *cmd = NULL;
            if (strcmp(r->command, ".") == 0)
                cmd = g_strdup("<CRLF>.<CRLF> (end of data)");
            else if ((strcmp(r->command, "EHLO") == 0 || strcmp(r->command, "HELO") == 0) && s->smtp.helo)
                cmd = g_strdup_printf("%s %s", r->command, s->smtp.helo);
            else
                cmd = g_strdup(r->command);
            add_label(labels, &r->command_at, cmd);
        }
        if (r->text)
            add_label(labels, &r->at, r->text);
    }
    return labels;
}

static bool in_evidence(const mx_verdict *v, const mx_frame_ref *at)
{
    for (guint i = 0; i < v->evidence->len; i++) {
        const mx_evidence *e = &g_array_index(v->evidence, mx_evidence, i);
        if (e->at.frame == at->frame && e->at.file_index == at->file_index)
            return true;
    }
    return false;
}

mx_ladder_view *mx_ladder_view_new(const mx_session *s, const mx_evidence_file *ev)
{
    mx_ladder_view *v = g_new0(mx_ladder_view, 1);
    v->lines = g_array_new(FALSE, TRUE, sizeof(mx_ladder_line));
    g_array_set_clear_func(v->lines, line_clear);
    v->decisive_elsewhere = g_array_new(FALSE, TRUE, sizeof(mx_frame_ref));
    v->skipped = s->ladder_skipped;
    v->skipped_before = s->ladder->len;

    char a[MX_ADDR_BUF];
    mx_addr_str(&s->client_ip, a, sizeof a);
    g_snprintf(v->client_label, sizeof v->client_label, "%s:%u", a, s->client_port);
    mx_addr_str(&s->server_ip, a, sizeof a);
    g_snprintf(v->server_label, sizeof v->server_label, "%s:%u", a, s->server_port);

    /* A middlebox the verdict places nearer than the server gets its own column. */
    const mx_culprit *c = &s->verdict.culprit;
    if ((c->role == MX_ROLE_FIREWALL || c->role == MX_ROLE_PATH) && c->hops_from_client > 0 &&
        (s->tcp.server_hop == 0 || c->hops_from_client < s->tcp.server_hop)) {
        v->has_middle = true;
        v->middle_hop = c->hops_from_client;
        if (c->has_ip)
            g_snprintf(v->middle_label, sizeof v->middle_label, "hop %d %s (%s)", c->hops_from_client,
                       mx_addr_str(&c->ip, a, sizeof a), mx_role_name(c->role));
        else
            g_snprintf(v->middle_label, sizeof v->middle_label, "hop %d (%s)", c->hops_from_client,
                       mx_role_name(c->role));
    }

    g_autoptr(GHashTable) labels = smtp_labels(s);
    int64_t t0 = s->ladder->len ? g_array_index(s->ladder, mx_ladder_step, 0).at.ts_us : s->start_us;
    bool v6 = s->server_ip.family == 6;
    for (guint i = 0; i < s->ladder->len; i++) {
        const mx_ladder_step *st = &g_array_index(s->ladder, mx_ladder_step, i);
        if (i == MX_LADDER_HEAD && s->ladder_skipped)
            v->skipped_before = i;
        mx_ladder_line l = {
            .at = st->at,
            .evidence_frame = mx_evidence_frame(ev, &st->at),
            .icmp = st->kind == MX_STEP_ICMP,
            .t = (double)(st->at.ts_us - t0) / 1e6,
            .ttl = st->ttl,
            /* The client's own packets have no hop: they start at the gateway. */
            .hop = st->ttl && st->dir != MX_DIR_C2S ? mx_hop_of_ttl(st->ttl) : 0,
            .decisive = in_evidence(&s->verdict, &st->at),
        };
        if (st->dir == MX_DIR_C2S) {
            l.from = MX_COL_CLIENT;
            l.to = MX_COL_SERVER;
        } else {
            bool from_middle = v->has_middle && (l.icmp || l.hop == v->middle_hop);
            l.from = from_middle ? MX_COL_MIDDLE : MX_COL_SERVER;
            l.to = MX_COL_CLIENT;
        }
        GString *text = g_hash_table_lookup(labels, GSIZE_TO_POINTER(frame_key(&st->at)));
        if (l.icmp) {
            l.flags = g_strdup_printf("ICMP%s %u/%u", v6 ? "v6" : "", st->tcp_flags, st->icmp_code);
            l.text = g_strdup(icmp_name(v6, st->tcp_flags, st->icmp_code));
        } else {
            l.flags = flag_names(st->tcp_flags);
            /* A payload sent again from the same sequence number. */
            bool again = false;
            for (guint j = 0; st->payload_len && j < i; j++) {
                const mx_ladder_step *p = &g_array_index(s->ladder, mx_ladder_step, j);
                if (p->kind == MX_STEP_TCP && p->dir == st->dir && p->payload_len && p->rel_seq == st->rel_seq)
                    again = true;
            }
            if (text && !again)
                l.text = g_strdup(text->str);
            else if (st->payload_len)
                l.text = g_strdup_printf("Seq=%u Len=%u%s", st->rel_seq, st->payload_len,
                                         again ? " (retransmission)" : "");
            else if (st->tcp_flags & MX_TCP_RST)
                l.text = g_strdup_printf("Seq=%u", st->rel_seq);
            else if (st->tcp_flags & MX_TCP_ACK)
                l.text = g_strdup_printf("Ack=%u", st->rel_ack);
            else
                l.text = g_strdup("");
        }
        g_array_append_val(v->lines, l);
    }

    for (guint i = 0; i < s->verdict.evidence->len; i++) {
        const mx_evidence *e = &g_array_index(s->verdict.evidence, mx_evidence, i);
        bool drawn = false;
        for (guint j = 0; j < v->lines->len && !drawn; j++) {
            const mx_ladder_line *l = &g_array_index(v->lines, mx_ladder_line, j);
            drawn = l->at.frame == e->at.frame && l->at.file_index == e->at.file_index;
        }
        if (!drawn && e->at.frame)
            g_array_append_val(v->decisive_elsewhere, e->at);
    }
    return v;
}

void mx_ladder_view_free(mx_ladder_view *v)
{
    if (!v)
        return;
    g_array_free(v->lines, TRUE);
    g_array_free(v->decisive_elsewhere, TRUE);
    g_free(v);
}

/* ---- monospace drawing ------------------------------------------------ */

/* Columns of the drawing: client at 0, server at ARROW_W, middle between. */
#define ARROW_W 44
#define MIDDLE_AT 26

static int col_pos(mx_ladder_col c)
{
    return c == MX_COL_CLIENT ? 0 : c == MX_COL_MIDDLE ? MIDDLE_AT : ARROW_W;
}

/* One row of the diagram area: the vertical lines, and the arrow when given. */
static void draw_row(GString *out, const mx_ladder_view *v, const mx_ladder_line *l)
{
    char row[ARROW_W + 2];
    memset(row, ' ', sizeof row);
    row[ARROW_W + 1] = '\0';
    row[0] = '|';
    row[ARROW_W] = '|';
    if (v->has_middle)
        row[MIDDLE_AT] = ':';
    if (l) {
        int a = col_pos(l->from), b = col_pos(l->to);
        int lo = MIN(a, b), hi = MAX(a, b);
        char shaft = l->decisive ? '=' : l->icmp ? '~' : '-';
        for (int x = lo + 1; x < hi; x++)
            row[x] = shaft;
        if (b > a)
            row[hi - 1] = '>';
        else
            row[lo + 1] = '<';
        /* The flags in the middle of the arrow, clear of the heads. */
        size_t n = strlen(l->flags);
        int room = hi - lo - 5;
        if (room > 0) {
            if ((int)n > room)
                n = (size_t)room;
            int at = lo + 1 + (hi - lo - 1 - (int)n) / 2;
            row[at - 1] = ' ';
            memcpy(row + at, l->flags, n);
            row[at + (int)n] = ' ';
        }
    }
    g_string_append(out, row);
}

char *mx_ladder_view_text(const mx_ladder_view *v, bool with_evidence)
{
    GString *out = g_string_new(NULL);
    const char *pad = with_evidence ? "      " : "";
    /* Header: the column labels over their lines, the server's ending at its line. */
    char head[ARROW_W + 2];
    memset(head, ' ', sizeof head);
    head[ARROW_W + 1] = '\0';
    size_t cl = MIN(strlen(v->client_label), (size_t)ARROW_W / 2 - 1);
    size_t sl = MIN(strlen(v->server_label), (size_t)ARROW_W / 2);
    memcpy(head, v->client_label, cl);
    memcpy(head + ARROW_W + 1 - sl, v->server_label, sl);
    g_string_append_printf(out, "  %6s%s %10s   %s  %4s %3s  %s\n", "frame", with_evidence ? "  evid" : "",
                           "time (s)", head, "TTL", "hop", "SMTP / detail");
    if (v->has_middle)
        g_string_append_printf(out, "  %6s%s %10s   %*s%s\n", "", pad, "", MAX(0, MIDDLE_AT - 6), "", v->middle_label);
    for (guint i = 0; i < v->lines->len; i++) {
        const mx_ladder_line *l = &g_array_index(v->lines, mx_ladder_line, i);
        if (i == v->skipped_before && v->skipped) {
            g_string_append_printf(out, "  %6s%s %10s   ", "", pad, "");
            draw_row(out, v, NULL);
            g_string_append_printf(out, "   ... %u packet%s left out ...\n", v->skipped, v->skipped == 1 ? "" : "s");
        }
        g_string_append_printf(out, "%s %6" G_GUINT64_FORMAT, l->decisive ? "*" : " ", l->at.frame);
        if (with_evidence) {
            if (l->evidence_frame)
                g_string_append_printf(out, "  %4" G_GUINT64_FORMAT, l->evidence_frame);
            else
                g_string_append(out, "     -");
        }
        g_string_append_printf(out, " %10.6f   ", l->t);
        draw_row(out, v, l);
        char hop[12] = "-";
        if (l->hop > 0)
            g_snprintf(hop, sizeof hop, "%d", l->hop);
        g_string_append_printf(out, "  %4d %3s  %s\n", l->ttl, hop, l->text);
    }
    return g_string_free(out, FALSE);
}
