#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# update-golden.sh — regenerates tests/golden/NAME.json from gencap's captures.
#
# Usage: tests/update-golden.sh BUILDDIR [NAME...]
#   BUILDDIR holds a built src/mxray and tests/gencap (make check builds gencap).
#
# The output is mxray's, not the truth: a scenario whose output disagrees with
# the .expect gencap writes from its scenario table (the verdict the story
# calls for) is REFUSED and its golden file left as it was; fix the program
# (or, if the story was wrong, the scenario's expect_* text and comment).
# REVIEW every other changed field against the scenario's comment in
# tests/gencap.c before committing (git diff tests/golden).
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILDDIR [NAME...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
shift
srcdir=$(cd "$(dirname "$0")/.." && pwd)
mxray="$build/src/mxray"
gencap="$build/tests/gencap"
for tool in "$mxray" "$gencap"; do
    [ -x "$tool" ] || { echo "$0: $tool not built (make -C $build src/mxray tests/gencap)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$gencap" "$tmp" "$@"
refused=0
for pcap in "$tmp"/*.pcap; do
    name=$(basename "$pcap" .pcap)
    status=0
    (cd "$tmp" && "$mxray" read --format json "$name.pcap") > "$tmp/$name.json" || status=$?
    if [ "$status" -ge 2 ]; then
        echo "$0: mxray exited $status on $name.pcap" >&2
        exit 1
    fi
    if [ ! -s "$tmp/$name.expect" ] ||
       ! python3 "$srcdir/tests/netns/compare.py" "$tmp/$name.expect" "$tmp/$name.json" "$status" > "$tmp/$name.why"; then
        echo "REFUSED $name: mxray disagrees with the scenario's expect_* in tests/gencap.c:"
        sed 's/^/    /' "$tmp/$name.why"
        refused=1
        continue
    fi
    python3 - "$tmp/$name.json" "$srcdir/tests/golden/$name.json" <<'PY'
import json, os, sys
doc = json.load(open(sys.argv[1]))
# Input names differ by directory: the golden file keeps base names, and
# the version is not part of the expectation.
doc["inputs"] = [os.path.basename(p) for p in doc.get("inputs", [])]
doc.pop("version", None)
with open(sys.argv[2], "w") as out:
    json.dump(doc, out, indent=1, sort_keys=False)
    out.write("\n")
PY
    echo "wrote tests/golden/$name.json (exit status $status)"
done
echo "Now review: git diff -- tests/golden"
exit $refused
