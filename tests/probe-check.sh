#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# probe-check.sh -- `mxray probe` against real routers, firewalls and an SMTP server in network namespaces.
#
# Topology (tests/netns/lib.sh): gw 198.51.100.10 -- r1 (hop 1) -- r2 (hop 2, the
# firewall) -- mx 203.0.113.25 (hop 3), a scripted SMTP server (tests/netns/fakesmtp.py).
# Namespaces only, no default routes, documentation addresses only; every process
# under `timeout`, background ones killed by PID; namespaces removed by a trap.
# Each case sets r2's rules, runs the probe in gw, and compares its JSON field by
# field (tests/probe/check-probe.py) after validating it against the probe-v1 schema.
#
# Exit 77 (skipped) when not root, or without network namespaces, iptables or python3-jsonschema.

# lib.sh is bash: run under bash whatever shell the test driver chose.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
skip() { echo "SKIP: probe-check: $*"; exit 77; }
# .ci/run's distcheck sets it: the same scenarios ran in the fresh root, the plain and the sanitizer build.
[ -n "${MXRAY_SKIP_NETNS:-}" ] && skip "MXRAY_SKIP_NETNS is set"

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${TOP_SRCDIR:-$(cd "$HERE/.." && pwd)}
MXRAY=${MXRAY:-$SRC/src/mxray}
[ -x "$MXRAY" ] || skip "no mxray binary at $MXRAY (set MXRAY)"
SCHEMA=$SRC/../shared/schema/probe-v1.schema.json
[ -f "$SCHEMA" ] || SCHEMA=$SRC/tests/schema/probe-v1.schema.json
CHECK=$SRC/tests/probe/check-probe.py

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, raw sockets)"
for tool in ip iptables python3 ethtool setpriv; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
done
timeout 10 python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed"

NETNS_SUFFIX=pr$$
# shellcheck source=netns/lib.sh
. "$SRC/tests/netns/lib.sh"
PROBE_NS=mxprobe$$
ip netns add "$PROBE_NS" 2>/dev/null || skip "cannot create network namespaces here"
ip netns del "$PROBE_NS"

trap_teardown
setup || { echo "FAIL: could not build the test network"; exit 1; }

failures=0
passed=0

# r2_rules RULE...: flush r2's filters, then add each rule (one quoted iptables argument string each)
r2_rules() {
	nsx "$NS_R2" 10 iptables -F FORWARD
	nsx "$NS_R2" 10 iptables -t raw -F PREROUTING
	local rule
	for rule in "$@"; do
		# shellcheck disable=SC2086
		nsx "$NS_R2" 10 iptables $rule || { log "iptables $rule failed"; return 1; }
	done
}

# probe NAME EXPECTED_EXIT ARGS...: run the probe in gw, JSON into $WORK/NAME.json
probe() {
	local name=$1 want_rc=$2; shift 2
	nsx "$NS_GW" 90 "$MXRAY" probe --format json --helo "$GW_NAME" --wait 1 --timeout 5 "$@" \
		>"$WORK/$name.json" 2>"$WORK/$name.err"
	PROBE_RC=$?
	if [ "$PROBE_RC" != "$want_rc" ]; then
		log "  exit status $PROBE_RC, expected $want_rc; stderr: $(cat "$WORK/$name.err")"
		return 1
	fi
}

# case_result NAME STATUS
case_result() {
	if [ "$2" = 0 ]; then
		echo "PASS: $1"
		passed=$((passed + 1))
	else
		echo "FAIL: $1"
		[ -s "$WORK/$1.json" ] && sed 's/^/    /' "$WORK/$1.json" | head -80
		failures=$((failures + 1))
	fi
}

compare() { # NAME key=value...
	local name=$1; shift
	timeout 30 python3 "$CHECK" "$WORK/$name.json" "$SCHEMA" "$@"
}

warm_neighbours

# ---- clean path: open at hop 3, greeting and EHLO in the session ----------------
run_clean() {
	r2_rules || return 1
	fake_start normal || return 1
	probe clean 0 -w "$WORK/clean.pcap" "$MX_IP4" || return 1
	compare clean verdict=open hop=3 ip="$MX_IP4" last_answering_hop=3 server_hop=3 \
		ladder="1:time_exceeded@1 2:time_exceeded@2 3:synack@3" session_kind=ok greeting=yes || return 1
	# -w keeps the dialogue's capture, and `read` judges it the same way
	timeout 30 "$MXRAY" read --format json "$WORK/clean.pcap" >"$WORK/clean-read.json" || return 1
	timeout 30 python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); k=[s["kind"] for s in d["sessions"]]; sys.exit(0 if k==["ok"] else print("  read -w capture: kinds", k) or 1)' \
		"$WORK/clean-read.json" || return 1
	# the text report: a ladder, the verdict, the dialogue
	nsx "$NS_GW" 90 "$MXRAY" probe --helo "$GW_NAME" --wait 1 --timeout 5 "$MX_IP4" >"$WORK/clean.txt" 2>&1
	local want
	for want in "^  3  *$MX_IP4 .*\[open\]" "^Path: open at hop 3" "S: 220 " "C: EHLO $GW_NAME" "S: 250 " "C: QUIT"; do
		grep -q -- "$want" "$WORK/clean.txt" || { log "  text report lacks /$want/"; sed 's/^/    /' "$WORK/clean.txt"; return 1; }
	done
	fake_stop
}
run_clean; case_result clean $?

# ---- clean path over IPv6 (LIBNET_RAW6, ICMPv6 time-exceeded) -------------------
run_clean_v6() {
	r2_rules || return 1
	fake_start normal || return 1
	probe clean-v6 0 "$MX_IP6" || return 1
	compare clean-v6 verdict=open hop=3 ip="$MX_IP6" last_answering_hop=3 server_hop=3 \
		ladder="1:time_exceeded@1 2:time_exceeded@2 3:synack@3" session_kind=ok greeting=yes || return 1
	fake_stop
}
run_clean_v6; case_result clean-v6 $?

# ---- r2 forges RSTs for port 25 ---------------------------------------------------
# REJECT in FORWARD runs after the router's TTL check: TTL 2 still expires at r2
# (time-exceeded), TTL 3 draws a RST that r2 sends with a fresh TTL, so it comes
# back from hop 2 for a probe that had to go to hop 3.
run_forged() {
	r2_rules "-A FORWARD -p tcp --dport 25 -j REJECT --reject-with tcp-reset" || return 1
	fake_start normal || return 1
	probe forged-rst 1 "$MX_IP4" || return 1
	compare forged-rst verdict=forged_rst hop=2 ip="$R2A_IP4" last_answering_hop=2 server_hop=3 \
		ladder="1:time_exceeded@1 2:time_exceeded@2 3:rst@2" session_kind=connect_refused || return 1
	fake_stop
}
run_forged; case_result forged-rst $?

# ---- r2 drops silently --------------------------------------------------------------
# Dropped before routing (raw PREROUTING), so r2 sends no time-exceeded either:
# the last hop that answers is r1.
run_silent() {
	r2_rules "-t raw -A PREROUTING -p tcp --dport 25 -j DROP" || return 1
	fake_start normal || return 1
	probe silent 1 --max-ttl 8 "$MX_IP4" || return 1
	compare silent verdict=silent hop=2 ip=null last_answering_hop=1 server_hop=null \
		ladder="1:time_exceeded@1 2:none 3:none 4:none 5:none 6:none" session_kind=syn_timeout || return 1
	fake_stop
}
run_silent; case_result silent $?

# ---- r2 rejects with ICMP administratively prohibited ------------------------------
run_admin() {
	r2_rules "-A FORWARD -p tcp --dport 25 -j REJECT --reject-with icmp-admin-prohibited" || return 1
	fake_start normal || return 1
	probe admin-prohibited 1 "$MX_IP4" || return 1
	compare admin-prohibited verdict=admin_prohibited hop=2 ip="$R2A_IP4" last_answering_hop=2 server_hop=null \
		ladder="1:time_exceeded@1 2:time_exceeded@2 3:unreachable@2" session_kind=icmp_unreachable || return 1
	fake_stop
}
run_admin; case_result admin-prohibited $?

# ---- a server that never answers EHLO ------------------------------------------------
run_noehlo() {
	r2_rules || return 1
	fake_start noehlo || return 1
	probe ehlo-no-reply 1 "$MX_IP4" || return 1
	compare ehlo-no-reply verdict=open hop=3 ip="$MX_IP4" last_answering_hop=3 server_hop=3 \
		ladder="1:time_exceeded 2:time_exceeded 3:synack@3" session_kind=ehlo_no_reply || return 1
	fake_stop
}
run_noehlo; case_result ehlo-no-reply $?

# ---- usage errors and missing rights: exit 2, said clearly ---------------------------
run_usage() {
	nsx "$NS_GW" 10 "$MXRAY" probe >/dev/null 2>"$WORK/usage.err"
	[ $? = 2 ] || { log "  no argument: expected exit 2"; return 1; }
	nsx "$NS_GW" 10 "$MXRAY" probe --format yaml "$MX_IP4" >/dev/null 2>&1
	[ $? = 2 ] || { log "  bad format: expected exit 2"; return 1; }
	nsx "$NS_GW" 10 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$MXRAY" probe "$MX_IP4" >/dev/null 2>"$WORK/rights.err"
	local rc=$?
	[ $rc = 2 ] || { log "  without CAP_NET_RAW: exit $rc, expected 2"; return 1; }
	grep -q "CAP_NET_RAW" "$WORK/rights.err" || { log "  rights message: $(cat "$WORK/rights.err")"; return 1; }
}
run_usage; case_result usage-and-rights $?

echo "probe-check: $passed passed, $failures failed"
[ "$failures" = 0 ]
