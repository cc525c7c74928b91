#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds the benchmark's own programs (bench-gencap, bench-floor and, when
# json-glib and yajl are installed, bench-jsoncost) into DIR (default
# /tmp/mxray-bench/bin).  Not part of `make` or `make check`: gencap and
# floor need only libpcap, found with pkg-config (or pcap-config).
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/mxray-bench/bin}
mkdir -p "$out"
if pkg-config --exists libpcap 2>/dev/null; then
    pcap_cflags=$(pkg-config --cflags libpcap)
    pcap_libs=$(pkg-config --libs libpcap)
elif command -v pcap-config >/dev/null 2>&1; then
    pcap_cflags=$(pcap-config --cflags)
    pcap_libs=$(pcap-config --libs)
else
    pcap_cflags=
    pcap_libs=-lpcap
fi
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2 -g}
for prog in gencap floor; do
    if [ ! -x "$out/bench-$prog" ] || [ "$here/$prog.c" -nt "$out/bench-$prog" ]; then
        # shellcheck disable=SC2086
        $CC -std=c11 -D_GNU_SOURCE $CFLAGS -Wall -Wextra -o "$out/bench-$prog" "$here/$prog.c" $pcap_cflags $pcap_libs
    fi
done

# bench-jsoncost compares json-glib with yajl_gen: optional, bench/run
# leaves its table out without it (Debian: libjson-glib-dev libyajl-dev).
if pkg-config --exists json-glib-1.0 yajl 2>/dev/null; then
    if [ ! -x "$out/bench-jsoncost" ] || [ "$here/jsoncost.c" -nt "$out/bench-jsoncost" ]; then
        # shellcheck disable=SC2046
        $CC -std=c11 -D_GNU_SOURCE $CFLAGS -Wall -Wextra -o "$out/bench-jsoncost" "$here/jsoncost.c" \
            $(pkg-config --cflags --libs json-glib-1.0 yajl)
    fi
else
    echo "bench/build.sh: json-glib or yajl missing (libjson-glib-dev, libyajl-dev): no bench-jsoncost" >&2
    rm -f "$out/bench-jsoncost"
fi
