# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# lib.sh -- network-namespace test topology for mxray real-stack captures.
#
# Source this file from bash.  Topology (all addresses from documentation /
# benchmark ranges; no default routes anywhere; nothing in the root namespace):
#
#   gw (sending gateway)        r1 (router)                 r2 (router/firewall)        mx (receiver)
#   gw0 198.51.100.10/24 ---- r1a 198.51.100.1/24
#       2001:db8:1::10/64         2001:db8:1::1/64
#                             r1b 198.18.0.1/24   ---- r2a 198.18.0.2/24
#                                 2001:db8:2::1/64         2001:db8:2::2/64
#                                                      r2b 203.0.113.1/24   ---- mx0 203.0.113.25/24
#                                                          2001:db8:3::1/64          2001:db8:3::25/64
#
# Hop numbers as traceroute counts them: r1 = hop 1, r2 = hop 2, mx = hop 3.
#
# Safety: every process runs under `timeout`; background processes are
# recorded and killed by PID; namespaces (and /etc/netns/<ns>) are removed by
# an EXIT/INT/TERM trap.  Names carry a per-run suffix so parallel runs do not
# collide.

# ---------------------------------------------------------------- addresses
GW_IP4=198.51.100.10;   GW_IP6=2001:db8:1::10
R1A_IP4=198.51.100.1;   R1A_IP6=2001:db8:1::1
R1B_IP4=198.18.0.1;     R1B_IP6=2001:db8:2::1
R2A_IP4=198.18.0.2;     R2A_IP6=2001:db8:2::2
R2B_IP4=203.0.113.1;    R2B_IP6=2001:db8:3::1
MX_IP4=203.0.113.25;    MX_IP6=2001:db8:3::25
GHOST_IP4=203.0.113.26  # on the mx LAN, owned by nobody
GW_NAME=gw.example.org  # the gateway's EHLO name
MX_NAME=mx.example.net  # the receiving host's name
RCPT_DOMAIN=example.net

TESTNET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

: "${NETNS_SUFFIX:=$$}"
NS_GW=mxgw$NETNS_SUFFIX
NS_R1=mxr1$NETNS_SUFFIX
NS_R2=mxr2$NETNS_SUFFIX
NS_MX=mxmx$NETNS_SUFFIX
NS_LX=mxlx$NETNS_SUFFIX   # optional: user-space lossy link between gw and r1
ALL_NS=("$NS_GW" "$NS_R1" "$NS_R2" "$NS_MX" "$NS_LX")

BG_PIDS=()
WORK=
CAP_PID=
TESTNET_UP=0

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# nsx NS SECONDS CMD...   run a command in a namespace, bounded in time.
# It runs as a background job that the shell waits for, so that a signal's
# trap (teardown) runs at once instead of after the command (GNU timeout puts
# itself in its own process group: a Ctrl-C does not reach it directly).
nsx() {
	local ns=$1 t=$2 pid; shift 2
	ip netns exec "$ns" timeout -k 2 "$t" "$@" &
	pid=$!
	BG_PIDS+=("$pid")
	wait "$pid"
}

# nsbg NS SECONDS CMD...  same, in the background; PID recorded in BG_PIDS and LAST_PID
nsbg() {
	local ns=$1 t=$2; shift 2
	ip netns exec "$ns" timeout -k 2 "$t" "$@" &
	LAST_PID=$!
	BG_PIDS+=("$LAST_PID")
}

# kill_pid PID [SIG]  end one of our processes and reap it
kill_pid() {
	local pid=$1 sig=${2:-TERM}
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -s "$sig" "$pid" 2>/dev/null
		local i
		for i in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -0 "$pid" 2>/dev/null && kill -s KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

teardown() {
	local ns pid
	[ "$TESTNET_UP" = 1 ] || [ ${#BG_PIDS[@]} -gt 0 ] || return 0
	for pid in "${BG_PIDS[@]}"; do kill_pid "$pid"; done
	BG_PIDS=()
	for ns in "${ALL_NS[@]}"; do
		if ns_exists "$ns"; then
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -s KILL "$pid" 2>/dev/null
			done
			ip netns del "$ns" 2>/dev/null
		fi
		[ -d "/etc/netns/$ns" ] && rm -rf "/etc/netns/$ns"
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ] && [ "${KEEP_WORK:-0}" != 1 ]; then
		rm -rf "$WORK"
	fi
	WORK=
	TESTNET_UP=0
}

trap_teardown() {
	trap 'teardown' EXIT
	trap 'teardown; exit 130' INT
	trap 'teardown; exit 143' TERM
}

# veth NS_A DEV_A NS_B DEV_B: a veth pair created directly in the namespaces
veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
	ip netns exec "$1" timeout 10 ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1
	ip netns exec "$3" timeout 10 ethtool -K "$4" tso off gso off gro off tx off rx off >/dev/null 2>&1
	return 0
}

addr() { # NS DEV ADDR/PLEN...
	local ns=$1 dev=$2 a; shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a" dev "$dev" nodad ;;
		*)   ip -n "$ns" addr add "$a" dev "$dev" ;;
		esac
	done
}

sysctl_ns() { # NS key=value...
	local ns=$1; shift
	ip netns exec "$ns" timeout 10 sysctl -q -w "$@" >/dev/null
}

# setup [noroute-r1]: build the four namespaces
#   Options (environment): MX_LINK_MTU (mtu of r2<->mx link), MX_ADVMSS (advmss on
#   mx's return routes), R1_NO_ROUTE=1 (r1 has no route to 203.0.113.0/24 and 2001:db8:3::/64)
setup() {
	[ "$(id -u)" = 0 ] || die "needs root"
	WORK=$(mktemp -d /tmp/mxray-netns.XXXXXX) || die "mktemp"
	chmod 755 "$WORK"
	TESTNET_UP=1
	local ns nslist=("$NS_GW" "$NS_R1" "$NS_R2" "$NS_MX")
	[ "${SLOW_LINK:-0}" = 1 ] && nslist+=("$NS_LX")
	for ns in "${nslist[@]}"; do
		ns_exists "$ns" && die "namespace $ns already exists"
		ip netns add "$ns" || die "ip netns add $ns"
		ip -n "$ns" link set lo up
		sysctl_ns "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.default.router_solicitations=0
		mkdir -p "/etc/netns/$ns"
		# No resolver reachable: lookups fail at once instead of leaving the namespace.
		printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
		printf '127.0.0.1 localhost\n::1 localhost\n%s %s\n%s %s\n%s %s\n%s %s\n' \
			"$GW_IP4" "$GW_NAME" "$GW_IP6" "$GW_NAME" "$MX_IP4" "$MX_NAME" "$MX_IP6" "$MX_NAME" \
			>"/etc/netns/$ns/hosts"
	done
	if [ "${SLOW_LINK:-0}" = 1 ]; then
		# gw0 -- lxa [lossyfwd.py in lx] lxb -- r1a: an Ethernet segment with delay/loss
		sysctl_ns "$NS_LX" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		veth "$NS_GW" gw0 "$NS_LX" lxa || die "veth gw-lx"
		veth "$NS_LX" lxb "$NS_R1" r1a || die "veth lx-r1"
		ip -n "$NS_LX" link set lxa promisc on
		ip -n "$NS_LX" link set lxb promisc on
	else
		veth "$NS_GW" gw0 "$NS_R1" r1a || die "veth gw-r1"
	fi
	veth "$NS_R1" r1b "$NS_R2" r2a || die "veth r1-r2"
	veth "$NS_R2" r2b "$NS_MX" mx0 || die "veth r2-mx"
	if [ -n "${MX_LINK_MTU:-}" ]; then
		ip -n "$NS_R2" link set r2b mtu "$MX_LINK_MTU"
		ip -n "$NS_MX" link set mx0 mtu "$MX_LINK_MTU"
	fi
	addr "$NS_GW" gw0 $GW_IP4/24 $GW_IP6/64
	addr "$NS_R1" r1a $R1A_IP4/24 $R1A_IP6/64
	addr "$NS_R1" r1b $R1B_IP4/24 $R1B_IP6/64
	addr "$NS_R2" r2a $R2A_IP4/24 $R2A_IP6/64
	addr "$NS_R2" r2b $R2B_IP4/24 $R2B_IP6/64
	addr "$NS_MX" mx0 $MX_IP4/24 $MX_IP6/64
	for ns in "$NS_R1" "$NS_R2"; do
		sysctl_ns "$ns" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
	done
	# specific routes only
	ip -n "$NS_GW" route add 203.0.113.0/24 via $R1A_IP4
	ip -n "$NS_GW" route add 198.18.0.0/24 via $R1A_IP4
	ip -n "$NS_GW" -6 route add 2001:db8:3::/64 via $R1A_IP6
	ip -n "$NS_GW" -6 route add 2001:db8:2::/64 via $R1A_IP6
	if [ "${R1_NO_ROUTE:-0}" != 1 ]; then
		ip -n "$NS_R1" route add 203.0.113.0/24 via $R2A_IP4
		ip -n "$NS_R1" -6 route add 2001:db8:3::/64 via $R2A_IP6
	fi
	ip -n "$NS_R2" route add 198.51.100.0/24 via $R1B_IP4
	ip -n "$NS_R2" -6 route add 2001:db8:1::/64 via $R1B_IP6
	local mss4=() mss6=()
	if [ -n "${MX_ADVMSS:-}" ]; then mss4=(advmss "$MX_ADVMSS"); mss6=(advmss "$((MX_ADVMSS - 20))"); fi
	ip -n "$NS_MX" route add 198.51.100.0/24 via $R2B_IP4 "${mss4[@]}"
	ip -n "$NS_MX" route add 198.18.0.0/24 via $R2B_IP4 "${mss4[@]}"
	ip -n "$NS_MX" -6 route add 2001:db8:1::/64 via $R2B_IP6 "${mss6[@]}"
	ip -n "$NS_MX" -6 route add 2001:db8:2::/64 via $R2B_IP6 "${mss6[@]}"
	return 0
}

# lossy_start ARGS...: start the user-space forwarder in lx (SLOW_LINK=1 setups)
lossy_start() {
	nsbg "$NS_LX" "${LOSSY_LIMIT:-60}" python3 "$TESTNET_DIR/lossyfwd.py" lxa lxb \
		--limit "${LOSSY_LIMIT:-60}" "$@" 2>"$WORK/lossyfwd.err"
	LOSSY_PID=$LAST_PID
	sleep 0.3
	kill -0 "$LOSSY_PID" 2>/dev/null || { log "lossyfwd failed: $(cat "$WORK/lossyfwd.err")"; return 1; }
}

# warm_neighbours: resolve ARP/ND along the path before the capture starts
# (only when ping is installed; otherwise ARP/ND shows at the capture's start).
warm_neighbours() {
	command -v ping >/dev/null 2>&1 || return 0
	nsx "$NS_GW" 5 ping -c1 -W2 -q "$MX_IP4" >/dev/null 2>&1
	nsx "$NS_GW" 5 ping -6 -c1 -W2 -q "$MX_IP6" >/dev/null 2>&1
	return 0
}

# start_capture FILE [filter...]: tcpdump on the gateway's interface.
# Default filter: everything but MLD reports (to ff02::16), which links that
# were just brought up send for a second or two and which only add noise.
# CAPTURE_NS / CAPTURE_IF capture elsewhere (e.g. mx's lo); CAPTURE_OPTS adds
# tcpdump options (-s 68, -G 1, -c N: captures that show less than happened).
start_capture() {
	local file=$1; shift
	[ $# -gt 0 ] || set -- not ip6 dst host ff02::16
	local err=$WORK/tcpdump.err
	: >"$err"
	# shellcheck disable=SC2086 # CAPTURE_OPTS is word-split on purpose
	nsbg "${CAPTURE_NS:-$NS_GW}" "${CAPTURE_LIMIT:-90}" tcpdump -i "${CAPTURE_IF:-gw0}" -U -Z root -n \
		${CAPTURE_OPTS:-} -w "$file" "$@" 2>"$err"
	CAP_PID=$LAST_PID
	local i
	for i in $(seq 1 50); do
		grep -q 'listening on' "$err" && return 0
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "tcpdump did not start: $(cat "$err")"
	return 1
}

# stop_capture: let the last packets (FIN/ACK) arrive, then SIGINT tcpdump and wait
stop_capture() {
	sleep "${CAPTURE_TAIL:-1}"
	if [ -n "$CAP_PID" ]; then
		kill -s INT "$CAP_PID" 2>/dev/null
		local i
		for i in $(seq 1 30); do
			kill -0 "$CAP_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill_pid "$CAP_PID"
	fi
	CAP_PID=
}

# ---------------------------------------------------------------- Postfix
# postfix_start [main.cf lines...]: private receive-only Postfix in mx
PF_DIR=
PF_PID=
postfix_start() {
	PF_DIR=$WORK/postfix
	postfix_instance "$PF_DIR" 'smtp      inet  n       -       n       -       -       smtpd'
	cat >>"$PF_DIR/etc/main.cf" <<EOF
myhostname = $MX_NAME
mydomain = $RCPT_DOMAIN
myorigin = \$mydomain
mydestination = $RCPT_DOMAIN, $MX_NAME
relay_domains =
mynetworks = 127.0.0.0/8
inet_interfaces = $MX_IP4, [$MX_IP6]
inet_protocols = ipv4, ipv6
smtpd_banner = \$myhostname ESMTP Postfix
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
local_recipient_maps =
default_transport = discard:
local_transport = discard:
virtual_transport = discard:
relay_transport = discard:
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_security_level = none
smtp_tls_security_level = none
message_size_limit = 20480000
EOF
	local l
	for l in "$@"; do printf '%s\n' "$l" >>"$PF_DIR/etc/main.cf"; done
	# PF_MASTER_EXTRA: more master.cf lines (e.g. an smtps listener on 465).
	[ -n "${PF_MASTER_EXTRA:-}" ] && printf '%s\n' "$PF_MASTER_EXTRA" >>"$PF_DIR/etc/master.cf"
	# Postfix waits (in 300 ms steps) while main.cf looks freshly modified: backdate it.
	# (Lookup tables written just before start delay the first smtpd the same way.)
	touch -d '-1 minute' "$PF_DIR/etc/main.cf" "$PF_DIR/etc/master.cf"
	find "$WORK" -maxdepth 1 -type f -exec touch -d '-1 minute' {} +
	if [ "${POSTFIX_CHECK:-0}" = 1 ]; then
		nsx "$NS_MX" 20 postfix -c "$PF_DIR/etc" set-permissions >"$WORK/postfix-setup.log" 2>&1 &&
		nsx "$NS_MX" 20 postfix -c "$PF_DIR/etc" check >>"$WORK/postfix-setup.log" 2>&1 ||
			{ log "postfix check failed: $(cat "$WORK/postfix-setup.log")"; return 1; }
	fi
	MAIL_CONFIG=$PF_DIR/etc nsbg "$NS_MX" "${POSTFIX_LIMIT:-120}" \
		/usr/lib/postfix/sbin/master -c "$PF_DIR/etc" -d 2>"$WORK/postfix-master.err"
	PF_PID=$LAST_PID
	wait_listen "$NS_MX" 25 || { log "postfix did not listen: $(cat "$WORK/postfix-master.err" "$PF_DIR/log/maillog" 2>/dev/null)"; return 1; }
}

# postfix_instance DIR SERVICE...: a private Postfix's folders, the main.cf
# lines every instance shares (paths, owner, log file) and its master.cf: the
# SERVICE lines given, then the internal services all need.  Callers append
# their own main.cf lines.
postfix_instance() {
	local dir=$1; shift
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/log"
	chown postfix:postfix "$dir/data"
	chmod 755 "$dir" "$dir/etc" "$dir/log"
	cat >"$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $dir/etc
queue_directory = $dir/queue
data_directory = $dir/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
EOF
	# PF_SYSLOG=1: log through syslog(3) (/dev/log), not to a file of its own.
	[ "${PF_SYSLOG:-0}" = 1 ] || printf 'maillog_file = %s\nmaillog_file_prefixes = %s\n' \
		"$dir/log/maillog" "$WORK" >>"$dir/etc/main.cf"
	printf '%s\n' "$@" >"$dir/etc/master.cf"
	cat >>"$dir/etc/master.cf" <<'EOF'
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	postfix_queue_dirs "$dir/queue"
}

# postfix_queue_dirs QUEUE: the queue directories as `postfix set-permissions`
# makes them (done by hand: post-install takes ~2 s per run).  POSTFIX_CHECK=1
# in postfix_start runs the real thing.
postfix_queue_dirs() {
	local q=$1 d
	for d in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		install -d -o postfix -g root -m 700 "$q/$d"
	done
	install -d -o postfix -g postdrop -m 730 "$q/maildrop"
	install -d -o postfix -g postdrop -m 710 "$q/public"
	install -d -o root -g root -m 755 "$q/pid"
}

postfix_stop() {
	[ -n "$PF_PID" ] && kill_pid "$PF_PID" TERM
	PF_PID=
}

# wait_listen NS PORT: until something listens on PORT in NS (max ~5 s)
wait_listen() {
	local i
	for i in $(seq 1 50); do
		ip netns exec "$1" timeout 5 ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- fake server
# fake_start MODE [args...]: scripted SMTP server in mx
FAKE_PID=
fake_start() {
	nsbg "$NS_MX" "${FAKE_LIMIT:-60}" python3 "$TESTNET_DIR/fakesmtp.py" --limit "${FAKE_LIMIT:-60}" \
		--bind "$MX_IP4" --bind "$MX_IP6" "$@" 2>"$WORK/fakesmtp.err"
	FAKE_PID=$LAST_PID
	wait_listen "$NS_MX" 25 || { log "fakesmtp did not listen: $(cat "$WORK/fakesmtp.err")"; return 1; }
}

fake_stop() {
	[ -n "$FAKE_PID" ] && kill_pid "$FAKE_PID" TERM
	FAKE_PID=
}

# ---------------------------------------------------------------- client
# swaks_run SECONDS swaks-args...: swaks in gw; output in $WORK/swaks.out; sets SWAKS_RC
swaks_run() {
	local t=$1; shift
	nsx "$NS_GW" "$t" swaks --ehlo "$GW_NAME" --from "sender@$GW_NAME" "$@" \
		>"$WORK/swaks.out" 2>&1
	SWAKS_RC=$?
	return 0
}

# body_file NAME BYTES [MARKER]: a text body of roughly BYTES bytes
body_file() {
	local f=$WORK/$1 n=$2 marker=${3:-}
	python3 - "$f" "$n" "$marker" <<'EOF'
import sys
f, n, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
line = "The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnop\n"
out = []
size = 0
i = 0
while size < n:
    l = "%06d %s" % (i, line)
    out.append(l); size += len(l); i += 1
    if marker and i == 5:
        out.append(marker + "\n"); size += len(marker) + 1
open(f, "w").write("".join(out))
EOF
	printf '%s\n' "$f"
}
