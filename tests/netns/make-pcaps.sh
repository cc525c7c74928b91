#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# make-pcaps.sh [OUTDIR] [SCENARIO...]
# Runs every scenario (fresh namespaces each) and writes OUTDIR/<name>.pcap and
# OUTDIR/<name>.expect.  Default OUTDIR: the repository's pcaps/ directory.
# Needs root.  Exits 1 if any scenario failed or its capture failed the sanity check.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../pcaps}
[ $# -gt 0 ] && shift
[ "$(id -u)" = 0 ] || { echo "make-pcaps.sh: needs root" >&2; exit 2; }
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
# shellcheck source=scenarios.sh
. "$HERE/scenarios.sh"
list=("$@")
[ ${#list[@]} -gt 0 ] || list=("${SCENARIOS[@]}")
fail=0 t0=$SECONDS
for name in "${list[@]}"; do
	s0=$SECONDS
	run_scenario "$name" "$OUT" 2>"$OUT/.$name.log"
	rc=$?
	if [ $rc = 130 ] || [ $rc = 143 ]; then
		echo "interrupted"; exit $rc
	fi
	if [ $rc = 3 ]; then
		echo "SKIP $name (not implemented)"
	elif [ $rc != 0 ]; then
		echo "FAIL $name: scenario did not run as intended"; sed 's/^/    /' "$OUT/.$name.log"
		fail=1
	elif ! sanity_scenario "$name" "$OUT"; then
		echo "FAIL $name: $SANITY_MSG"
		fail=1
	else
		echo "ok   $name ($((SECONDS - s0)) s, $(stat -c %s "$OUT/$name.pcap") bytes)"
	fi
	rm -f "$OUT/.$name.log"
done
echo "total $((SECONDS - t0)) s"
exit $fail
