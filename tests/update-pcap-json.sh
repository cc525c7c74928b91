#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# update-pcap-json.sh MXRAY [NAME...]
# Writes pcaps/<name>.json, the expected `mxray read --format json` output that
# tests/pcap-regress.py diffs field by field, for every capture (or those
# named).  A capture whose verdict differs from its .expect (what the
# scenario is known to produce, by construction) is refused: the expected
# JSON never records a wrong verdict.  pcaps/<name>.args holds extra mxray
# options a capture needs (e.g. --ports 465, --maillog NAME.maillog).  Review `git diff pcaps/` afterwards.
set -u
MXRAY=${1:?usage: update-pcap-json.sh MXRAY [NAME...]}
MXRAY=$(cd "$(dirname "$MXRAY")" && pwd)/$(basename "$MXRAY")
cd "$(dirname "$0")/.." || exit 2
shift
names=("$@")
if [ ${#names[@]} = 0 ]; then
	for f in pcaps/*.pcap; do names+=("$(basename "$f" .pcap)"); done
fi
status=0
for n in "${names[@]}"; do
	tmp=$(mktemp)
	# From pcaps/: NAME.args names files beside the capture (--maillog NAME.maillog).
	# shellcheck disable=SC2046 # NAME.args holds extra options, word-split on purpose
	(cd pcaps && "$MXRAY" read --format json $(cat "$n.args" 2>/dev/null) "$n.pcap") >"$tmp"
	if [ -f "pcaps/$n.expect" ] && ! python3 tests/netns/compare.py "pcaps/$n.expect" "$tmp" >/dev/null; then
		echo "REFUSED $n: mxray disagrees with pcaps/$n.expect:"
		python3 tests/netns/compare.py "pcaps/$n.expect" "$tmp" | sed 's/^/    /'
		status=1
		rm -f "$tmp"
		continue
	fi
	mv "$tmp" "pcaps/$n.json"
	echo "wrote pcaps/$n.json"
done
exit $status
