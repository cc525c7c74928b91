#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# fuzz-replay.sh — the fuzz target over every input worth keeping, in `make check`.
#
# Inputs: tests/fuzz/regress/TARGET/ (what a fuzzer once found a fault
# with) and one input per capture in pcaps/ (tests/fuzz/seeds.py; the SMTP
# target reads them as streams too; the source target gets the files
# themselves), through tests/fuzz-replay-TARGET, i.e.
# the same LLVMFuzzerTestOneInput as the fuzzer but built by the normal
# compiler (and, in CI, under ASan/UBSan).
set -u
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-.}
for t in analyzer smtp source maillog evidence json-escape; do
	[ -x "$TOP_BUILDDIR/tests/fuzz-replay-$t" ] || { echo "FAIL: tests/fuzz-replay-$t not built"; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
python3 "$TOP_SRCDIR/tests/fuzz/seeds.py" "$tmp/seeds" "$TOP_SRCDIR"/pcaps/*.pcap || exit 1
regress=$TOP_SRCDIR/tests/fuzz/regress
timeout 600 "$TOP_BUILDDIR/tests/fuzz-replay-analyzer" "$regress/analyzer" "$tmp/seeds" || exit 1
timeout 600 "$TOP_BUILDDIR/tests/fuzz-replay-smtp" "$regress/smtp" "$tmp/seeds" || exit 1
# The maillog target reads the real MTA logs kept beside the captures.
timeout 600 "$TOP_BUILDDIR/tests/fuzz-replay-maillog" "$regress/maillog" "$TOP_SRCDIR"/pcaps/*.maillog || exit 1
# The evidence target builds its session from records (fuzz-evidence.c): its kept inputs only.
timeout 600 "$TOP_BUILDDIR/tests/fuzz-replay-evidence" "$regress/evidence" || exit 1
timeout 600 "$TOP_BUILDDIR/tests/fuzz-replay-json-escape" "$regress/json-escape" || exit 1
# The source target takes a cut byte, then capture file bytes: 0, the whole capture.
mkdir "$tmp/files" || exit 1
for f in "$TOP_SRCDIR"/pcaps/*.pcap; do
	{ printf '\000'; cat "$f"; } >"$tmp/files/$(basename "$f")"
done
timeout 600 "$TOP_BUILDDIR/tests/fuzz-replay-source" "$regress/source" "$tmp/files"
