/* SPDX-License-Identifier: BSD-3-Clause */
/* report-ladder.h — a session's ladder diagram as lines, built once, drawn by every renderer.
 *
 * Takes: a finished session (its kept ladder steps, SMTP replies and the
 * verdict's evidence) and, when one was written, the evidence capture's
 * frame map.  Produces: one line per kept packet (time since the first
 * packet, from and to column, TCP flags or ICMP type, the SMTP line it
 * carries, TTL and hop, decisive mark, frame numbers in both files), the
 * columns' labels, and where the ladder left packets out.
 *
 * A third column stands between client and server when the verdict
 * names a middlebox at a known hop nearer than the server: packets that
 * claim the server's address but arrive from that hop (forged RSTs) and
 * ICMP errors are drawn from it.  Markdown draws the lines as monospace
 * text (mx_ladder_view_text); HTML as SVG (report-html.c).
 */
#ifndef MX_REPORT_LADDER_H
#define MX_REPORT_LADDER_H

#include <glib.h>
#include "session.h"

struct mx_evidence_file;

typedef enum mx_ladder_col { MX_COL_CLIENT = 0, MX_COL_MIDDLE = 1, MX_COL_SERVER = 2 } mx_ladder_col;

typedef struct mx_ladder_line {
    mx_frame_ref at;
    uint64_t evidence_frame; /* frame number in the evidence capture; 0 none */
    mx_ladder_col from, to;
    bool icmp;
    double t;                /* seconds since the session's first packet */
    char *flags;             /* "SYN", "PSH, ACK"; ICMP: "ICMP 3/13" (owned) */
    char *text;              /* what it carries: SMTP line(s), "Len=1448 Seq=1", the ICMP error's name; escaped ASCII (owned) */
    int ttl;
    int hop;                 /* sender's hop from the TTL; 0 for the client's own packets */
    bool decisive;           /* in the verdict's evidence */
} mx_ladder_line;

typedef struct mx_ladder_view {
    GArray *lines;           /* of mx_ladder_line */
    uint32_t skipped;        /* packets the session left out ... */
    guint skipped_before;    /* ... before this line index (lines->len: none) */
    bool has_middle;
    int middle_hop;
    char client_label[80], server_label[80], middle_label[96];
    /* Evidence frames that are not among the kept lines (DNS queries,
     * packets in the left-out middle): listed under the drawing. */
    GArray *decisive_elsewhere; /* of mx_frame_ref */
} mx_ladder_view;

mx_ladder_view *mx_ladder_view_new(const mx_session *s, const struct mx_evidence_file *ev);
void mx_ladder_view_free(mx_ladder_view *v);

/* The drawing as monospace text lines ending in '\n' (for a Markdown code
 * block or a terminal); with_evidence adds the evidence frame column. */
char *mx_ladder_view_text(const mx_ladder_view *v, bool with_evidence);

#endif
