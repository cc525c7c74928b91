#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# live-check.sh -- `mxray live` on a real interface, in network namespaces.
#
# Topology from tests/netns/lib.sh (gw -- r1 -- r2 -- mx, documentation
# addresses only, no default routes, nothing in the root namespace).
# mxray live captures on gw0 in the gateway's namespace while the gateway:
#   1. connects to r2's own address, where nothing listens   -> connect_refused
#   2. connects through r1, which drops the SYNs             -> syn_timeout
#   3. delivers a message to a private Postfix on mx         -> outcome delivered
#   4. holds a session open while mxray gets SIGINT          -> reported at exit
# Each verdict must be in the output while mxray still runs (flushed, in
# order); SIGINT must end it with status 0 within two seconds.  The -w file
# must read back (mxray read) to the same kinds and evidence frames.  SIGHUP
# reopens -o.  --syslog lines reach a /dev/log listener in a private mount
# namespace.  A missing interface and a bad filter exit 2 with one line.
#
# Exit 77 (skip) when not root or network namespaces are unavailable.

skip() { echo "SKIP: $*"; exit 77; }
# .ci/run's distcheck sets it: the same scenarios ran in the fresh root, the plain and the sanitizer build.
[ -n "${MXRAY_SKIP_NETNS:-}" ] && skip "MXRAY_SKIP_NETNS is set"

[ "$(id -u)" = 0 ] || skip "live-check needs root (network namespaces, packet capture)"
for cmd in ip iptables python3 swaks ethtool timeout; do
	command -v "$cmd" >/dev/null 2>&1 || skip "$cmd is not installed"
done
[ -x /usr/lib/postfix/sbin/master ] || skip "postfix is not installed"
probe_ns=mxlvprobe$$
ip netns add "$probe_ns" 2>/dev/null || skip "cannot create network namespaces here"
ip netns del "$probe_ns"

here=$(cd "$(dirname "$0")" && pwd)
TOP_SRCDIR=${TOP_SRCDIR:-$(dirname "$here")}
MXRAY=${MXRAY:-${TOP_BUILDDIR:-$TOP_SRCDIR}/src/mxray}
[ -x "$MXRAY" ] || { echo "FAIL: no mxray binary at $MXRAY"; exit 1; }

NETNS_SUFFIX=lv$$
# shellcheck source=tests/netns/lib.sh
. "$TOP_SRCDIR/tests/netns/lib.sh"
trap_teardown

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

setup || { echo "FAIL: cannot build the test network"; exit 1; }
warm_neighbours
# r1 drops every SYN to r2's near address: an unanswered connect.
ip netns exec "$NS_R1" iptables -A FORWARD -p tcp -d "$R2A_IP4" --dport 25 --syn -j DROP ||
	skip "iptables does not work in a namespace here"

OUT=$WORK/live.jsonl
ERR=$WORK/live.err
PCAP=$WORK/live.pcap
# Short timers so the test takes seconds: a quiet session is judged after
# 3 s, a closed one after 1 s.
nsbg "$NS_GW" 120 "$MXRAY" live -i gw0 --format jsonl --idle-timeout 3 --linger 1 \
	--stats-interval 0 -w "$PCAP" -o "$OUT" 2>"$ERR"
WRAP_PID=$LAST_PID
MX_PID=
for _ in $(seq 1 50); do
	grep -q 'listening on' "$ERR" 2>/dev/null && break
	kill -0 "$WRAP_PID" 2>/dev/null || break
	sleep 0.1
done
# The PID of mxray itself (child of timeout): signals go to it, not to the wrapper.
MX_PID=$(ps -o pid= --ppid "$WRAP_PID" | tr -d ' ' | head -n1)
if [ -z "$MX_PID" ] || ! grep -q 'listening on' "$ERR"; then
	echo "FAIL: mxray live did not start: $(cat "$ERR")"
	exit 1
fi
pass "mxray live listening on gw0 (pid $MX_PID)"

# json_kinds FILE: "kind outcome client_port" per line
json_kinds() {
	python3 - "$@" <<'EOF'
import json, sys
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if line:
            s = json.loads(line)
            print(s["kind"], s["outcome"], s["client"]["port"])
EOF
}

# wait_verdict WHAT SECONDS: until a line with kind or outcome WHAT is in the output
wait_verdict() {
	local what=$1 secs=$2 i
	for i in $(seq 1 $((secs * 10))); do
		if [ -s "$OUT" ] && json_kinds "$OUT" | awk -v w="$what" '$1 == w || $2 == w {f=1} END {exit !f}'; then
			kill -0 "$MX_PID" 2>/dev/null && return 0
			return 2
		fi
		sleep 0.1
	done
	return 1
}

client() { # IP TIMEOUT: a bare TCP connect from the gateway
	nsx "$NS_GW" 10 python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[2]))
try:
    s.connect((sys.argv[1], 25))
except OSError as e:
    print("connect:", e)
' "$1" "$2"
}

# 1. refused
client "$R2B_IP4" 2 >/dev/null
wait_verdict connect_refused 5 && pass "connect_refused streamed while mxray runs" ||
	fail "no connect_refused line while mxray runs"
# 2. unanswered SYNs: the client gives up after 3 s (several SYNs)
client "$R2A_IP4" 3 >/dev/null
wait_verdict syn_timeout 10 && pass "syn_timeout streamed after the idle timeout" ||
	fail "no syn_timeout line while mxray runs"
# 3. a real delivery
if postfix_start; then
	swaks_run 20 --server "$MX_IP4" --to "user@$RCPT_DOMAIN" --timeout 10
	[ "$SWAKS_RC" = 0 ] || fail "swaks exited $SWAKS_RC: $(tail -3 "$WORK/swaks.out")"
	wait_verdict delivered 6 && pass "delivered streamed after FIN + linger" ||
		fail "no delivered line while mxray runs"
else
	fail "postfix did not start"
fi

# SIGHUP reopens -o: the rotated file keeps what was written, new lines go to a new file
mv "$OUT" "$OUT.1"
kill -HUP "$MX_PID"
sleep 0.5
kill -0 "$MX_PID" 2>/dev/null && pass "SIGHUP does not stop mxray" || fail "mxray died on SIGHUP"

# 4. a session still open at SIGINT: connected, greeted, then idle
nsbg "$NS_GW" 30 python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=5)
print(s.getsockname()[1], flush=True)
s.recv(512)
time.sleep(20)
' "$MX_IP4" >"$WORK/open.port"
OPEN_PID=$LAST_PID
# Until the client is connected (a loaded machine takes more than a second to start python).
for _ in $(seq 1 100); do [ -s "$WORK/open.port" ] && break; sleep 0.1; done
sleep 0.5   # and greeted
OPEN_PORT=$(head -n1 "$WORK/open.port")
t0=$(date +%s%N)
kill -INT "$MX_PID"
for _ in $(seq 1 40); do kill -0 "$MX_PID" 2>/dev/null || break; sleep 0.05; done
wait "$WRAP_PID"
rc=$?
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
kill_pid "$OPEN_PID"
[ "$rc" = 0 ] && pass "exit status 0 after SIGINT" || fail "exit status $rc after SIGINT: $(cat "$ERR")"
[ "$ms" -le 2000 ] && pass "exited ${ms} ms after SIGINT" || fail "took ${ms} ms to exit after SIGINT"
grep -q '^mxray live: exit: gw0: ' "$ERR" && pass "final statistics on stderr" || fail "no final statistics line"
[ -f "$OUT" ] && pass "SIGHUP reopened -o as a new file" || fail "-o was not reopened after SIGHUP"

cat "$OUT.1" "$OUT" 2>/dev/null >"$WORK/all.jsonl"
got=$(json_kinds "$WORK/all.jsonl")
echo "$got" | sed 's/^/   live: /'
kinds=$(echo "$got" | awk '{print ($2 == "delivered" ? "delivered" : $1)}' | head -n3 | tr '\n' ' ')
[ "$kinds" = "connect_refused syn_timeout delivered " ] && pass "verdicts in order: $kinds" ||
	fail "verdicts: '$kinds', want 'connect_refused syn_timeout delivered'"
if [ -n "$OPEN_PORT" ] && echo "$got" | awk -v p="$OPEN_PORT" '$3 == p {f=1} END {exit !f}'; then
	pass "session open at SIGINT reported ($(echo "$got" | awk -v p="$OPEN_PORT" '$3 == p {print $1, $2}'))"
else
	fail "session open at SIGINT (client port ${OPEN_PORT:-?}) not reported"
fi

# Every line a valid session object (schema), when jsonschema is at hand.
SCHEMA=$TOP_SRCDIR/../shared/schema/read-v1.schema.json
[ -f "$SCHEMA" ] || SCHEMA=$TOP_SRCDIR/tests/schema/read-v1.schema.json
if python3 -c 'import jsonschema' 2>/dev/null && [ -f "$SCHEMA" ]; then
	if python3 - "$SCHEMA" "$WORK/all.jsonl" <<'EOF'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
sub = dict(schema["$defs"]["session"]); sub["$defs"] = schema["$defs"]
v = jsonschema.Draft202012Validator(sub)
bad = 0
for n, line in enumerate(open(sys.argv[2]), 1):
    for e in v.iter_errors(json.loads(line)):
        print("   line %d: %s: %s" % (n, "/".join(map(str, e.absolute_path)), e.message)); bad += 1
sys.exit(1 if bad else 0)
EOF
	then pass "every line valid against the session schema"; else fail "schema violations"; fi
fi

# -w: a readable pcap whose `mxray read` gives the same kinds and frames
if "$MXRAY" read --format jsonl "$PCAP" >"$WORK/read.jsonl" 2>"$WORK/read.err" || [ $? = 1 ]; then
	if python3 - "$WORK/all.jsonl" "$WORK/read.jsonl" <<'EOF'
import json, sys
def load(p):
    out = {}
    for line in open(p):
        s = json.loads(line)
        out[s["client"]["port"]] = (s["kind"], s["outcome"], sorted(e["frame"] for e in s["evidence"]))
    return out
live, read = load(sys.argv[1]), load(sys.argv[2])
ok = True
for port in sorted(set(live) | set(read)):
    if live.get(port) != read.get(port):
        ok = False
        print("   port %s: live %s, read %s" % (port, live.get(port), read.get(port)))
sys.exit(0 if ok else 1)
EOF
	then pass "-w pcap reads back to the same kinds and evidence frames"
	else fail "-w pcap and live disagree"; fi
else
	fail "mxray read cannot read the -w file: $(cat "$WORK/read.err")"
fi

# --syslog: notices, statistics and failed sessions reach syslog with
# facility mail.  No syslog daemon here: in a private mount namespace a
# tmpfs (mode 755: devices bound into a sticky /dev refuse writes) hides
# /dev, and a Python listener is /dev/log (glibc's syslog(3)
# writes its datagrams there).  Nothing outside the namespace sees it.
if command -v unshare >/dev/null 2>&1; then
	timeout -k 2 30 unshare --mount --propagation private bash -c '
W=$1 NS=$2 MX=$3 TARGET=$4
mkdir -p "$W/realdev" || exit 1
mount --bind /dev "$W/realdev" && mount -t tmpfs -o size=1m,mode=755 tmpfs /dev || exit 1
for d in null zero random urandom; do touch "/dev/$d" && mount --bind "$W/realdev/$d" "/dev/$d"; done
python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/dev/log\")
with open(sys.argv[1], \"ab\", buffering=0) as out:
    while True:
        out.write(s.recv(65536).rstrip(b\"\\0\\n\") + b\"\\n\")
" "$W/syslog.txt" &
LISTENER=$!
for _ in $(seq 1 50); do [ -S /dev/log ] && break; sleep 0.1; done
ip netns exec "$NS" "$MX" live -i gw0 --syslog --stats-interval 0 --idle-timeout 3 --linger 1 >/dev/null 2>"$W/syslog.err" &
MXP=$!
trap "kill $MXP $LISTENER 2>/dev/null" EXIT
waitfor() { for _ in $(seq 1 $(($2 * 10))); do grep -q "$1" "$W/syslog.txt" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
waitfor "listening on" 5 || exit 1
ip netns exec "$NS" python3 -c "
import socket, sys
try:
    socket.create_connection((sys.argv[1], 25), timeout=2)
except OSError:
    pass
" "$TARGET"
waitfor connect_refused 5
kill -USR1 "$MXP"; waitfor "statistics: gw0" 3
kill -INT "$MXP"; wait "$MXP"; echo "exit $?" >"$W/syslog.rc"
' _ "$WORK" "$NS_GW" "$MXRAY" "$R2B_IP4"
	sed 's/^/   syslog: /' "$WORK/syslog.txt" 2>/dev/null | cut -c1-160
	# <20>: facility mail (2 * 8) + warning (4); <22>: mail + info (6)
	grep -Eq '^<22>.*mxray\[[0-9]+\]: listening on gw0' "$WORK/syslog.txt" 2>/dev/null &&
		pass "--syslog: notices at mail.info" || fail "--syslog: no 'listening on' at <22> (mail.info)"
	grep -Eq '^<20>.*mxray\[[0-9]+\]: failed connect_refused phase=connect client=[^ ]+ server='"$R2B_IP4"':25 culprit=[a-z]+' \
		"$WORK/syslog.txt" 2>/dev/null &&
		pass "--syslog: the failed session at mail.warning" || fail "--syslog: no connect_refused line at <20> (mail.warning)"
	grep -Eq '^<22>.*mxray\[[0-9]+\]: statistics: gw0: [0-9]+ packets .* 1 session \(connect_refused 1\)' \
		"$WORK/syslog.txt" 2>/dev/null &&
		pass "--syslog: statistics on SIGUSR1 at mail.info" || fail "--syslog: no statistics line on SIGUSR1"
	grep -Eq '^<22>.*mxray\[[0-9]+\]: exit: gw0: ' "$WORK/syslog.txt" 2>/dev/null &&
		pass "--syslog: final statistics at exit" || fail "--syslog: no final statistics line"
	[ "$(cat "$WORK/syslog.rc" 2>/dev/null)" = "exit 0" ] && [ ! -s "$WORK/syslog.err" ] &&
		pass "--syslog: exit 0 after SIGINT, nothing on stderr" ||
		fail "--syslog: $(cat "$WORK/syslog.rc" 2>/dev/null), stderr: $(cat "$WORK/syslog.err" 2>/dev/null)"
else
	echo "SKIPPED: --syslog check (no unshare)"
fi

# --maillog: the gateway's own Postfix (a private instance, relayhost [mx])
# writes its log while mxray follows it; the log is rotated in between
# (`postfix logrotate`: renamed, then reopened).  Each session's line must
# carry the queue ID and recipient of the attempt that made it.
# shellcheck source=tests/netns/scenarios.sh
. "$TOP_SRCDIR/tests/netns/scenarios.sh"
PCAP_FILE=$WORK/livelog.pcap
ML_OUT=$WORK/maillog.jsonl
# ml_line QID KIND: the session line of kind KIND whose maillog names QID
ml_line() {
	python3 - "$ML_OUT" "$1" "$2" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    s = json.loads(line)
    m = s.get("maillog") or {}
    if s["kind"] == sys.argv[3] and m.get("queue_id") == sys.argv[2] and m.get("recipients") == ["user@example.net"]:
        print(m["status"]); sys.exit(0)
sys.exit(1)
EOF
}
ml_wait() { for _ in $(seq 1 $(($3 * 10))); do ml_line "$1" "$2" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
if gw_direct "maillog_file_rotate_suffix = %Y%m%d-%H%M%S" "maillog_file_compressor = gzip"; then
	for _ in $(seq 1 50); do [ -s "$GWPF_DIR/log/maillog" ] && break; sleep 0.1; done
	nsbg "$NS_GW" 60 "$MXRAY" live -i gw0 --idle-timeout 3 --linger 1 --stats-interval 0 \
		--maillog "$GWPF_DIR/log/maillog" --maillog-wait 15 -o "$ML_OUT" 2>"$WORK/ml.err"
	MLW=$LAST_PID
	for _ in $(seq 1 50); do grep -q 'listening on' "$WORK/ml.err" 2>/dev/null && break; sleep 0.1; done
	MLP=$(ps -o pid= --ppid "$MLW" | tr -d ' ' | head -n1)
	gw_postfix_send 'status=sent' 15
	Q1=$(sed -n 's/.* postfix\/smtp\[[0-9]*\]: \([0-9A-Za-z]*\): to=.*status=sent.*/\1/p' "$GWPF_DIR/log/maillog" | head -1)
	ml_wait "$Q1" ok 10 && pass "--maillog: the delivered session's line names queue ID $Q1 and its recipient" ||
		fail "--maillog: no delivered line naming '$Q1': $(cat "$ML_OUT" "$WORK/ml.err" 2>/dev/null | tail -3)"
	nsx "$NS_GW" 10 postfix -c "$GWPF_DIR/etc" logrotate >"$WORK/logrotate.out" 2>&1 ||
		fail "postfix logrotate: $(cat "$WORK/logrotate.out")"
	for _ in $(seq 1 30); do [ -s "$GWPF_DIR/log/maillog" ] && break; sleep 0.1; done
	ip netns exec "$NS_R2" iptables -A FORWARD -p tcp -d "$MX_IP4" --dport 25 --syn -j DROP
	gw_postfix_send 'Connection timed out' 15
	Q2=$(sed -n 's/.* postfix\/smtp\[[0-9]*\]: \([0-9A-Za-z]*\): to=.*Connection timed out.*/\1/p' "$GWPF_DIR/log/maillog" | head -1)
	ml_wait "$Q2" syn_timeout 20 &&
		pass "--maillog: after rotation, the syn_timeout line names queue ID $Q2 ($(ml_line "$Q2" syn_timeout))" ||
		fail "--maillog: no syn_timeout line naming '$Q2' after rotation: $(ls "$GWPF_DIR/log"); $(tail -3 "$ML_OUT" 2>/dev/null)"
	[ -n "$MLP" ] && kill -INT "$MLP"
	wait "$MLW"
	rc=$?
	[ "$rc" = 0 ] && pass "--maillog: exit 0 after SIGINT" || fail "--maillog: exit $rc: $(cat "$WORK/ml.err")"
	ip netns exec "$NS_R2" iptables -D FORWARD -p tcp -d "$MX_IP4" --dport 25 --syn -j DROP
	[ -n "$GWPF_PID" ] && kill_pid "$GWPF_PID" TERM
else
	fail "--maillog: the gateway's postfix did not start"
fi

# Start-up errors: exit 2, one line
nsx "$NS_GW" 5 "$MXRAY" live -i nosuch0 >/dev/null 2>"$WORK/e1"
rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$WORK/e1")" = 1 ] && grep -q 'no such interface' "$WORK/e1" &&
	pass "missing interface: exit 2, '$(cat "$WORK/e1")'" || fail "missing interface: exit $rc, '$(cat "$WORK/e1")'"
nsx "$NS_GW" 5 "$MXRAY" live -i gw0 'tcp prt 25' >/dev/null 2>"$WORK/e2"
rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$WORK/e2")" = 1 ] && grep -q 'bad filter' "$WORK/e2" &&
	pass "bad filter: exit 2, '$(cat "$WORK/e2")'" || fail "bad filter: exit $rc, '$(cat "$WORK/e2")'"

# -Z: root only to open the device, files written as the user
if id nobody >/dev/null 2>&1; then
	mkdir -p "$WORK/z" && chown nobody "$WORK/z"
	nsbg "$NS_GW" 20 "$MXRAY" live -i gw0 -Z nobody --stats-interval 0 -w "$WORK/z/z.pcap" 2>"$WORK/z.err"
	ZW=$LAST_PID
	for _ in $(seq 1 30); do grep -q 'listening on' "$WORK/z.err" && break; sleep 0.1; done
	ZP=$(ps -o pid= --ppid "$ZW" | tr -d ' ' | head -n1)
	zuser=$(ps -o user= -p "$ZP" 2>/dev/null | tr -d ' ')
	[ -n "$ZP" ] && kill -INT "$ZP"
	wait "$ZW"
	rc=$?
	[ "$rc" = 0 ] && [ "$zuser" = nobody ] && [ "$(stat -c %U "$WORK/z/z.pcap" 2>/dev/null)" = nobody ] &&
		pass "-Z nobody: runs as nobody, -w file owned by nobody" ||
		fail "-Z nobody: exit $rc, user '$zuser', $(cat "$WORK/z.err")"
fi

# The systemd unit's privileges (contrib/mxray-live@.service.in): an
# unprivileged user whose only capability is CAP_NET_RAW (ambient and
# bounding set), no new privileges, never root.  mxray live must open gw0 in
# promiscuous mode and judge a session with that alone.
if command -v setpriv >/dev/null 2>&1; then
	mkdir -p "$WORK/caps" && chown 65534 "$WORK/caps"
	nsbg "$NS_GW" 20 setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all,+net_raw --ambient-caps=-all,+net_raw --bounding-set=-all,+net_raw \
		--no-new-privs "$MXRAY" live -i gw0 --format jsonl --linger 1 --stats-interval 0 \
		-o "$WORK/caps/out.jsonl" 2>"$WORK/caps.err"
	CW=$LAST_PID
	for _ in $(seq 1 30); do grep -q 'listening on' "$WORK/caps.err" 2>/dev/null && break; sleep 0.1; done
	CP=$(ps -o pid= --ppid "$CW" | tr -d ' ' | head -n1)
	capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$CP/status" 2>/dev/null)
	cuid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$CP/status" 2>/dev/null)
	client "$R2B_IP4" 2 >/dev/null
	for _ in $(seq 1 50); do grep -q connect_refused "$WORK/caps/out.jsonl" 2>/dev/null && break; sleep 0.1; done
	[ -n "$CP" ] && kill -INT "$CP"
	wait "$CW"
	rc=$?
	# CapEff 0000000000002000: bit 13, CAP_NET_RAW, and nothing else.
	[ "$rc" = 0 ] && [ "$capeff" = 0000000000002000 ] && [ "$cuid" = 65534655346553465534 ] &&
		grep -q '"kind":"connect_refused"' "$WORK/caps/out.jsonl" 2>/dev/null &&
		pass "CAP_NET_RAW only, uid 65534 (as the systemd unit runs it): captures and judges" ||
		fail "CAP_NET_RAW only: exit $rc, CapEff '$capeff', uids '$cuid', $(cat "$WORK/caps.err")"
fi

[ "$FAILS" = 0 ] || { echo "live-check: $FAILS failure(s); mxray stderr:"; cat "$ERR"; exit 1; }
echo "live-check: all passed"
exit 0
