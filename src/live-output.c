/* SPDX-License-Identifier: BSD-3-Clause */
/* live-output.c — verdict stream, syslog lines and statistics for `live`. */
#include "config.h"
#include "live-output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define ADDR_BUF 64

static FILE *open_path(const char *path, GError **error)
{
    FILE *f = fopen(path, "a");
    if (!f)
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "-o %s: %s", path, g_strerror(errno));
    return f;
}

gboolean mx_live_output_open(mx_live_output *o, mx_live_format format, const char *path, bool use_syslog,
                             GError **error)
{
    *o = (mx_live_output){ .format = format, .syslog = use_syslog };
    mx_report_init(&o->report);
    o->report.version = PACKAGE_VERSION;
    o->out = stdout;
    if (path) {
        o->path = g_strdup(path);
        if (!(o->out = open_path(path, error)))
            return FALSE;
    }
    if (use_syslog)
        openlog("mxray", LOG_PID, LOG_MAIL);
    return TRUE;
}

void mx_live_output_close(mx_live_output *o)
{
    if (o->out && o->out != stdout)
        fclose(o->out);
    else if (o->out)
        fflush(o->out);
    if (o->syslog)
        closelog();
    g_free(o->path);
    mx_report_clear(&o->report);
}

gboolean mx_live_output_reopen(mx_live_output *o, GError **error)
{
    if (!o->path)
        return TRUE;
    FILE *f = open_path(o->path, error);
    if (!f)
        return FALSE;   /* keep writing to the old one */
    fclose(o->out);
    o->out = f;
    return TRUE;
}

/* One line per failed session: what a mail administrator greps the journal for. */
static void syslog_session(const mx_session *s)
{
    const mx_verdict *v = &s->verdict;
    char client[80], server[80], ip[ADDR_BUF];
    mx_addr_endpoint(&s->client_ip, s->client_port, client, sizeof client);
    mx_addr_endpoint(&s->server_ip, s->server_port, server, sizeof server);
    GString *culprit = g_string_new(mx_role_name(v->culprit.role));
    if (v->culprit.has_ip)
        g_string_append_printf(culprit, " %s", mx_addr_str(&v->culprit.ip, ip, sizeof ip));
    if (v->culprit.hops_from_client > 0)
        g_string_append_printf(culprit, " hop %d", v->culprit.hops_from_client);
    syslog(LOG_WARNING, "%s %s phase=%s client=%s server=%s culprit=%s (%s) status=\"%s\": %s",
           mx_outcome_name(v->outcome), mx_kind_name(v->kind), mx_phase_name(v->phase), client, server,
           culprit->str, mx_confidence_name(v->culprit.confidence), v->mta_status->str, v->summary->str);
    g_string_free(culprit, TRUE);
}

/* The session's line with one more member: the object rendered alone,
 * its closing brace replaced by the member. */
static void json_line_with(const mx_session *s, const mx_report *r, const char *json, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (mem == NULL) {
        mx_report_json_line(s, r, out);
        return;
    }
    mx_report_json_line(s, r, mem);
    fclose(mem);
    while (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '}')
        len--;
    fwrite(buf, 1, len, out);
    fprintf(out, ",\"maillog\":%s}\n", json);
    fflush(out);
    free(buf);
}

static void write_session(mx_live_output *o, mx_session *s, const char *json, const char *text)
{
    o->sessions++;
    o->kinds[s->verdict.kind]++;
    o->outcomes[s->verdict.outcome]++;
    if (o->format == MX_LIVE_JSONL && json)
        json_line_with(s, &o->report, json, o->out);
    else if (o->format == MX_LIVE_JSONL)
        mx_report_json_line(s, &o->report, o->out);
    else {
        mx_report_text_session(s, &o->report, o->out);
        if (text) {
            fprintf(o->out, "   queue:    %s\n\n", text);
            fflush(o->out);
        }
    }
    if (o->syslog && mx_session_failed(s))
        syslog_session(s);
    mx_session_free(s);
}

void mx_live_output_session(mx_session *s, void *ctx)
{
    write_session(ctx, s, NULL, NULL);
}

void mx_live_output_session_logged(mx_live_output *o, mx_session *s, const char *json, const char *text)
{
    write_session(o, s, json, text);
}

void mx_live_output_notice(const mx_live_output *o, const char *line)
{
    if (o->syslog)
        syslog(LOG_INFO, "%s", line);
    else
        fprintf(stderr, "mxray live: %s\n", line);
}

char *mx_live_output_kind_counts(const mx_live_output *o)
{
    GString *g = g_string_new(NULL);
    for (int k = 0; k < MX_KIND_COUNT; k++)
        if (o->kinds[k])
            g_string_append_printf(g, "%s%s %" G_GUINT64_FORMAT, g->len ? ", " : "", mx_kind_name((mx_kind)k),
                                   o->kinds[k]);
    return g_string_free(g, FALSE);
}
