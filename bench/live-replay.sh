#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# live-replay.sh -- how much `mxray live` keeps up with: replay captures into a
# veth at top speed (tcpreplay) and report kernel drops (pcap_stats) and the
# CPU time mxray used.
#
#   bench/live-replay.sh [-l LOOPS] [-B KiB] [-r PPS] [PCAP...]
#
# Default input: every pcaps/*.pcap concatenated (mergecap -a) and replayed
# LOOPS times (default 1000) with tcpreplay --topspeed --preload-pcap
# (-r PPS: at that many packets a second instead, to find the rate mxray
# keeps up with on this machine).  MXRAY_LIVE_OPTS: more `live` options.
# Two namespaces joined by a veth (offloads off); no addresses, no routes,
# nothing in the root namespace; every process under `timeout`, killed by
# PID; namespaces removed on exit.  Needs root and tcpreplay (Debian
# package `tcpreplay`, listed in tools/install-deps).
#
# MXRAY: the binary (default: src/mxray next to this script, or ./src/mxray).
set -u

loops=1000
buffer_kib=0
speed=(--topspeed)
while getopts "l:B:r:h" opt; do
	case $opt in
	l) loops=$OPTARG ;;
	B) buffer_kib=$OPTARG ;;
	r) speed=(--pps="$OPTARG") ;;
	*) sed -n "2,18p" "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
MXRAY=${MXRAY:-}
for m in "$MXRAY" "$top/src/mxray" ./src/mxray; do
	[ -n "$m" ] && [ -x "$m" ] && { MXRAY=$m; break; }
done
[ -x "$MXRAY" ] || { echo "live-replay: no mxray binary (set MXRAY=...)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "live-replay: needs root (namespaces, capture)" >&2; exit 2; }
command -v tcpreplay >/dev/null || { echo "live-replay: tcpreplay missing: apt-get install tcpreplay" >&2; exit 2; }
command -v mergecap >/dev/null || { echo "live-replay: mergecap missing: apt-get install tshark" >&2; exit 2; }

NS_TX=mxbtx$$
NS_RX=mxbrx$$
WORK=$(mktemp -d /tmp/mxray-bench.XXXXXX)
PIDS=()
cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for ns in "$NS_TX" "$NS_RX"; do
		if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
			for p in $(ip netns pids "$ns"); do kill -KILL "$p" 2>/dev/null; done
			ip netns del "$ns"
		fi
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Input: the given captures, or the corpus, concatenated into one Ethernet pcap.
if [ $# -eq 0 ]; then
	set -- "$top"/pcaps/*.pcap
fi
n_inputs=$#
mergecap -a -F pcap -w "$WORK/in.pcap" "$@" || { echo "live-replay: mergecap failed" >&2; exit 2; }
per_loop=$(capinfos -c -M "$WORK/in.pcap" | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')

ip netns add "$NS_TX" && ip netns add "$NS_RX" || exit 2
ip -n "$NS_TX" link add va type veth peer name vb netns "$NS_RX" || exit 2
for end in "$NS_TX:va" "$NS_RX:vb"; do
	ns=${end%%:*} dev=${end#*:}
	ip -n "$ns" link set "$dev" up
	ip -n "$ns" link set lo up
	ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1
	# No IPv6 on the link: no router solicitations or DAD in the measurement.
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null
done

bopt=()
[ "$buffer_kib" -gt 0 ] && bopt=(-B "$buffer_kib")
ip netns exec "$NS_RX" timeout -k 2 900 "$MXRAY" live -i vb "${bopt[@]}" ${MXRAY_LIVE_OPTS:-} --stats-interval 0 \
	-o /dev/null 2>"$WORK/mxray.err" &
WRAP=$!
PIDS+=("$WRAP")
for _ in $(seq 1 50); do grep -q 'listening on' "$WORK/mxray.err" && break; sleep 0.1; done
MX_PID=$(ps -o pid= --ppid "$WRAP" | tr -d ' ' | head -n1)
[ -n "$MX_PID" ] || { echo "live-replay: mxray did not start: $(cat "$WORK/mxray.err")" >&2; exit 2; }

ip netns exec "$NS_TX" timeout -k 2 600 tcpreplay -i va "${speed[@]}" --preload-pcap --loop="$loops" \
	"$WORK/in.pcap" >"$WORK/tcpreplay.out" 2>&1
sleep 1
kill -INT "$MX_PID"
wait "$WRAP"
rc=$?

sent=$(awk '/Actual:/ {print $2; exit}' "$WORK/tcpreplay.out")
rate=$(grep -E 'Rated:' "$WORK/tcpreplay.out" | head -n1 | sed 's/^[[:space:]]*//')
stats=$(grep 'exit: vb:' "$WORK/mxray.err")
echo "input: $n_inputs file(s), $per_loop packets a loop, $loops loops, ${speed[*]}; mxray exit status $rc"
echo "tcpreplay: ${sent:-?} packets sent; $rate"
echo "mxray: ${stats#mxray live: exit: }"
python3 - "$stats" "${sent:-0}" <<'EOF'
import re, sys
s, sent = sys.argv[1], int(sys.argv[2] or 0)
m = re.search(r"(\d+) packets \((\d+) received by the filter, (\d+) dropped by the kernel, (\d+) by the interface\)", s)
cpu = re.search(r"cpu ([\d.]+) s user, ([\d.]+) s system", s)
if m:
    seen, recv, drop, ifdrop = map(int, m.groups())
    print("summary: %d of %d sent packets analysed; kernel drops %d (%.2f%% of %d received by the filter); "
          "cpu %.2f s" % (seen, sent, drop, 100.0 * drop / max(recv, 1), recv,
                          float(cpu.group(1)) + float(cpu.group(2)) if cpu else -1))
EOF
