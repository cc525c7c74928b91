/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-maillog.c — libFuzzer target: MTA log lines (Postfix, Exim, Sendmail) of any shape.
 *
 * Each input is text split at newlines; every line goes through the
 * parser a log file's lines go through.  A record's fields must stay
 * within their caps whatever the line.
 */
#include "caps.h"
#include "maillog.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = g_malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *line = text, *nl; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        mx_logrec r;
        if (mx_maillog_parse_line(line, &r) == MX_LINE_RECORD) {
            g_assert(r.text == NULL || strlen(r.text) <= MX_MAILLOG_TEXT_MAX);
            g_assert(r.recipient == NULL || strlen(r.recipient) <= MX_MAILLOG_TEXT_MAX);
            g_assert(r.port == 0 || r.has_ip);
            mx_logrec_clear(&r);
        }
    }
    g_free(text);
    return 0;
}
