#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tests/fuzz/build.sh BUILDDIR [OUTDIR] — builds the libFuzzer targets with clang.
#
# BUILDDIR is a configured mxray build (its config.h is used); OUTDIR
# defaults to BUILDDIR/fuzz.  Every src/*.c but the command front-ends is
# compiled with -fsanitize=fuzzer-no-link,address,undefined, then each
# tests/fuzz/fuzz-*.c is linked with -fsanitize=fuzzer.  Not part of
# `make`: `make check` replays tests/fuzz/regress/ with the normal
# compiler instead (tests/fuzz-replay).  See tests/fuzz/README.md.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILDDIR [OUTDIR]" >&2; exit 2; }
build=$(cd "$1" && pwd)
out=${2:-$build/fuzz}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
[ -f "$build/config.h" ] || { echo "$0: $build/config.h missing: configure first" >&2; exit 2; }
CC=${CC:-clang}
command -v "$CC" >/dev/null || { echo "$0: $CC not found (Debian: clang)" >&2; exit 2; }
mkdir -p "$out/obj"
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=c11 -D_GNU_SOURCE -I$build -I$top/src $(pkg-config --cflags glib-2.0 libpcap zlib)"
libs="$(pkg-config --libs glib-2.0 libpcap zlib) -lnet -lresolv -lm -lpthread"
objs=
# Any header newer than an object rebuilds it: a struct that changed under
# an object left stale is a fault the fuzzer then reports as mxray's.
newest_h=$(ls -t "$top"/src/*.h | head -n 1)
for c in "$top"/src/*.c; do
    case $(basename "$c") in main.c|cmd-*.c) continue ;; esac
    o=$out/obj/$(basename "$c" .c).o
    if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ "$build/config.h" -nt "$o" ] || [ "$newest_h" -nt "$o" ]; then
        # shellcheck disable=SC2086
        $CC $flags -fsanitize=fuzzer-no-link $cflags -c "$c" -o "$o"
    fi
    objs="$objs $o"
done
for t in "$here"/fuzz-*.c; do
    name=$(basename "$t" .c)
    # shellcheck disable=SC2086
    $CC $flags -fsanitize=fuzzer $cflags "$t" $objs $libs -o "$out/$name"
    echo "$out/$name"
done
