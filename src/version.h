/* SPDX-License-Identifier: BSD-3-Clause */
/* version.h — the version text of `mxray --version`. */
#ifndef MX_VERSION_H
#define MX_VERSION_H

#include <stdio.h>

void mx_version_print(FILE *out);

#endif
