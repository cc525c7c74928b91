#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# check-scenarios.sh -- the real-stack test (make check).
#
# Regenerates every capture scenario in fresh network namespaces into a
# temporary directory, checks each capture shows what the scenario intends
# (tshark sanity checks), then runs `$MXRAY read --format json FILE` and
# compares the session verdict with the scenario's .expect file.
#
# Environment:
#   MXRAY          the program (default: ../src/mxray from the build dir, then
#                  src/mxray, then the source tree's src/mxray)
#   SCENARIOS      space-separated subset of scenarios to run
#   MXRAY_SCHEMA   read-v1 JSON Schema to validate against (optional; default
#                  ../shared/schema/read-v1.schema.json next to the repo, if found)
#   CAPTURES_ONLY=1  check the captures only (no mxray)
#   KEEP_OUT=DIR   write the captures to DIR and keep them
#
# Exit: 77 when not root or network namespaces are unavailable (skipped);
#       0 when every scenario passes; 1 otherwise.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)

skip() { echo "check-scenarios: $*: skipped"; exit 77; }
# .ci/run's distcheck sets it: the same scenarios ran in the fresh root and the plain build.
[ -n "${MXRAY_SKIP_NETNS:-}" ] && skip "MXRAY_SKIP_NETNS is set"
# .ci/run's sanitizer build sets it: pcap-regress already runs the sanitized
# mxray on every committed capture these scenarios make.
[ -n "${MXRAY_SKIP_SCENARIOS:-}" ] && skip "MXRAY_SKIP_SCENARIOS is set"
[ "$(id -u)" = 0 ] || skip "needs root and network namespaces"
command -v ip >/dev/null 2>&1 || skip "needs root and network namespaces (no ip command)"
probe_ns=mxprobe$$
if ! ip netns add "$probe_ns" 2>/dev/null; then
	skip "needs root and network namespaces (ip netns add failed)"
fi
ip netns del "$probe_ns"
for t in tcpdump tshark swaks python3 iptables ip6tables ethtool timeout; do
	command -v "$t" >/dev/null 2>&1 || skip "needs $t"
done
[ -x /usr/lib/postfix/sbin/master ] || skip "needs postfix"

if [ "${CAPTURES_ONLY:-0}" != 1 ]; then
	if [ -z "${MXRAY:-}" ]; then
		for c in ../src/mxray src/mxray "$HERE/../../src/mxray"; do
			[ -x "$c" ] && { MXRAY=$c; break; }
		done
	fi
	if [ -z "${MXRAY:-}" ] || [ ! -x "$MXRAY" ]; then
		echo "FAIL check-scenarios: mxray program not found (${MXRAY:-../src/mxray}); set MXRAY=path or CAPTURES_ONLY=1"
		exit 1
	fi
	MXRAY=$(cd "$(dirname "$MXRAY")" && pwd)/$(basename "$MXRAY")
	if [ -z "${MXRAY_SCHEMA:-}" ]; then
		for c in "$HERE/../../../shared/schema/read-v1.schema.json" /work/shared/schema/read-v1.schema.json; do
			[ -f "$c" ] && { MXRAY_SCHEMA=$c; break; }
		done
	fi
	if [ -n "${MXRAY_SCHEMA:-}" ] && { [ ! -s "$MXRAY_SCHEMA" ] || ! python3 -c 'import jsonschema' 2>/dev/null; }; then
		MXRAY_SCHEMA=
	fi
fi

want_list=${SCENARIOS:-}
# shellcheck source=scenarios.sh
. "$HERE/scenarios.sh"

if [ -n "${KEEP_OUT:-}" ]; then
	OUT=$KEEP_OUT; mkdir -p "$OUT" || exit 1
else
	OUT=$(mktemp -d /tmp/mxray-check.XXXXXX) || exit 1
	trap 'rm -rf "$OUT"' EXIT
	trap 'rm -rf "$OUT"; exit 130' INT
	trap 'rm -rf "$OUT"; exit 143' TERM
fi

if [ -n "$want_list" ]; then read -r -a list <<<"$want_list"; else list=("${SCENARIOS[@]}"); fi
fail=0 npass=0 nfail=0 nskip=0 t0=$SECONDS
for name in "${list[@]}"; do
	run_scenario "$name" "$OUT" 2>"$OUT/$name.log"
	rc=$?
	if [ $rc = 130 ] || [ $rc = 143 ]; then
		echo "interrupted"; exit $rc
	fi
	if [ $rc = 3 ]; then
		echo "SKIP $name: not implemented"; nskip=$((nskip + 1)); continue
	fi
	if [ $rc != 0 ]; then
		echo "FAIL $name: scenario did not run as intended"
		sed 's/^/    /' "$OUT/$name.log"
		fail=1; nfail=$((nfail + 1)); continue
	fi
	if ! sanity_scenario "$name" "$OUT"; then
		echo "FAIL $name: $SANITY_MSG"
		fail=1; nfail=$((nfail + 1)); continue
	fi
	if [ "${CAPTURES_ONLY:-0}" = 1 ]; then
		echo "PASS $name (capture only)"; npass=$((npass + 1)); continue
	fi
	# From $OUT: NAME.args names files beside the capture (--maillog NAME.maillog).
	# shellcheck disable=SC2046 # NAME.args: extra options the scenario needs, word-split on purpose
	(cd "$OUT" && timeout 60 "$MXRAY" read --format json $(cat "$name.args" 2>/dev/null) "$name.pcap") \
		>"$OUT/$name.json" 2>"$OUT/$name.err"
	mrc=$?
	if [ $mrc -ge 2 ] || [ ! -s "$OUT/$name.json" ]; then
		echo "FAIL $name: mxray exited $mrc: $(head -c 300 "$OUT/$name.err" | tr '\n' ' ')"
		fail=1; nfail=$((nfail + 1)); continue
	fi
	msgs=$(python3 "$HERE/compare.py" "$OUT/$name.expect" "$OUT/$name.json" "$mrc")
	if [ -n "${MXRAY_SCHEMA:-}" ]; then
		v=$(python3 - "$MXRAY_SCHEMA" "$OUT/$name.json" <<'EOF'
import json, sys, jsonschema
try:
    schema = json.load(open(sys.argv[1]))
    doc = json.load(open(sys.argv[2]))
except (OSError, ValueError) as e:
    print("schema: cannot validate: %s" % e)
    sys.exit(0)
cls = jsonschema.validators.validator_for(schema)
errs = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errs[:3]:
    print("schema: %s: %s" % ("/".join(map(str, e.path)), e.message[:150]))
EOF
)
		[ -n "$v" ] && msgs=$(printf '%s\n%s' "$msgs" "$v" | sed '/^$/d')
	fi
	if [ -n "$msgs" ]; then
		echo "FAIL $name: $(printf '%s' "$msgs" | paste -sd';' | sed 's/;/; /g')"
		fail=1; nfail=$((nfail + 1))
	else
		echo "PASS $name"; npass=$((npass + 1))
	fi
done
echo "check-scenarios: $npass passed, $nfail failed, $nskip skipped in $((SECONDS - t0)) s"
exit $fail
