/* SPDX-License-Identifier: BSD-3-Clause */
/* redact.h — --redact-addresses: one pseudonym per mail-address local part, in every output.
 *
 * Takes: text or payload bytes.  Produces: the same with the local part of
 * every mail address ("bob@", "\"bob smith\"@", the mailbox after a source
 * route "<@relay:frank@") replaced by a pseudonym of the same length
 * ("user3xxx"); the same local part (case-insensitively, as servers echo it
 * in another case) gets the same pseudonym in the evidence capture and in
 * every report.  Domains, IP addresses and everything else stay.  Owns: the
 * map, for one run.
 */
#ifndef MX_REDACT_H
#define MX_REDACT_H

#include <glib.h>
#include <stdint.h>

typedef struct mx_redactor mx_redactor;

mx_redactor *mx_redactor_new(void);
void mx_redactor_free(mx_redactor *rd);

/* In place, same length; returns the bytes changed. */
size_t mx_redact_bytes(mx_redactor *rd, uint8_t *p, size_t n);

/* The same on a string, in place (NULL: nothing). */
void mx_redact_string(mx_redactor *rd, char *text);
/* The same on a GString. */
void mx_redact_gstring(mx_redactor *rd, GString *s);

struct mx_session;
/* Every text of a session the reports print (replies, greeting, verdict
 * summary, advice, evidence facts, warnings); idempotent. */
void mx_redact_session(mx_redactor *rd, struct mx_session *s);

#endif
