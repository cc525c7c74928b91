#!/bin/sh
# fuzz-replay.sh — the fuzz target over every input worth keeping, in `make check`.
#
# Inputs: tests/fuzz/regress/ (what the fuzzer once found a fault with)
# and one input per capture in pcaps/ (tests/fuzz/seeds.py), through
# tests/fuzz-replay, i.e. the same LLVMFuzzerTestOneInput as the fuzzer
# but built by the normal compiler (and, in CI, under ASan/UBSan).
set -u
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-.}
replay=$TOP_BUILDDIR/tests/fuzz-replay
[ -x "$replay" ] || { echo "FAIL: $replay not built"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
python3 "$TOP_SRCDIR/tests/fuzz/seeds.py" "$tmp/seeds" "$TOP_SRCDIR"/pcaps/*.pcap || exit 1
timeout 600 "$replay" "$TOP_SRCDIR/tests/fuzz/regress" "$tmp/seeds"
