#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# layering.sh — no file in src/ includes a header of a later pipeline stage.
#
# The pipeline (DESIGN.md, "Pipeline"):
#   source -> decode -> flow table -> stream reassembly -> SMTP session
#   -> diagnosis (rules over TCP + SMTP state + hop model -> verdict)
#   -> reports
# A later stage reads what an earlier one produced; an earlier stage never
# reaches up.  The table below places every file of src/ in one stage (a
# new file must be placed, or this test fails); a file may include headers
# of its own stage and of earlier ones only.
#
# Usage: layering.sh [SRCDIR]   (default: $TOP_SRCDIR/src, else ./src)

src=${1:-${TOP_SRCDIR:-.}/src}
[ -d "$src" ] || { echo "layering.sh: $src: no such directory" >&2; exit 2; }

# Stage of a file, by its name without the extension; empty: not placed.
stage_of() {
    case $1 in
    caps|cursor|packet|addr|version)            echo 0 ;;  # what every stage shares
    source|capture-file|iface|maillog)          echo 1 ;;  # source (frames; the MTA's log)
    decode)                                     echo 2 ;;  # decode
    ladder|flow)                                echo 3 ;;  # flow table (and the ladder it records)
    stream)                                     echo 4 ;;  # stream reassembly
    smtp)                                       echo 5 ;;  # SMTP session
    dns)                                        echo 6 ;;  # diagnosis inputs: DNS look-ups seen,
    hops)                                       echo 7 ;;  #   the hop model,
    verdict)                                    echo 8 ;;  #   and the verdict vocabulary
    diagnose|diagnose-smtp|session)             echo 9 ;;  # diagnosis
    analyzer)                                   echo 10 ;; # the pipeline up to here, driven
    report|report-*|json-out|evidence|redact|writer|maillog-join) echo 11 ;; # reports (and their JSON writer)
    cmd|cmd-*|read-run|main|live|live-*|probe|probe-*) echo 12 ;; # commands and the read driver
    esac
}

# Includes against the order that the design itself asks for, each with
# its reason: FILE INCLUDED.
allowed() {
    case "$1 $2" in
    # The flow table owns each flow's reassembly and SMTP state and feeds
    # them the flow's bytes: the one boundary where a stage calls the next.
    "flow.c stream.h"|"flow.c smtp.h") return 0 ;;
    # A file whose link type no decoder reads is refused when it is opened,
    # in one line, rather than read to its end as skipped frames.
    "source.c decode.h") return 0 ;;
    esac
    return 1
}

fail=0
checked=0
for f in "$src"/*.c "$src"/*.h; do
    [ -f "$f" ] || continue
    base=${f##*/}
    name=${base%.*}
    own=$(stage_of "$name")
    if [ -z "$own" ]; then
        echo "layering.sh: src/$base: in no stage (add it to the table in tests/layering.sh)"
        fail=1
        continue
    fi
    # Quoted includes only: system headers have no stage.
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" >"${TMPDIR:-/tmp}/layering.$$"
    while read -r inc; do
        [ "$inc" = config.h ] && continue   # autoconf's, not a stage
        theirs=$(stage_of "${inc%.h}")
        if [ -z "$theirs" ]; then
            echo "layering.sh: src/$base includes $inc, which is in no stage"
            fail=1
        elif [ "$theirs" -gt "$own" ] && ! allowed "$base" "$inc"; then
            echo "layering.sh: src/$base (stage $own) includes $inc (stage $theirs): against the pipeline order"
            fail=1
        fi
        checked=$((checked + 1))
    done <"${TMPDIR:-/tmp}/layering.$$"
done
rm -f "${TMPDIR:-/tmp}/layering.$$"

[ "$checked" -gt 0 ] || { echo "layering.sh: no includes found under $src" >&2; exit 2; }
if [ "$fail" -ne 0 ]; then
    echo "FAIL: an include runs against the pipeline order"
    exit 1
fi
echo "ok: $checked includes follow the pipeline order"
