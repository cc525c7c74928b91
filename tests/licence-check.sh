#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# licence-check.sh — every source file, script and build file carries the
# project's SPDX licence line (LICENSE: BSD-3-Clause), so a file copied out of
# the tree still says under which terms.
set -u
: "${TOP_SRCDIR:?}"
cd "$TOP_SRCDIR" || exit 2
tag='SPDX-License-Identifier: BSD-3-Clause'
[ -f LICENSE ] && grep -q 'BSD 3-Clause' LICENSE || { echo "FAIL: LICENSE is missing or not BSD-3-Clause"; exit 1; }
missing=0 n=0
while IFS= read -r -d '' f; do
	n=$((n + 1))
	# Within the first three lines: after a shebang or a shellcheck directive.
	head -n 3 "$f" | grep -q "$tag" || { echo "FAIL: $f has no '$tag' line"; missing=$((missing + 1)); }
done < <(find src tests tools bench completion contrib debian/rules configure.ac Makefile.am bootstrap \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.py' -o -name '*.in' \
	-o -name '*.am' -o -name '*.ac' -o -path 'tools/*' -o -path 'completion/*' -o -name rules \
	-o -name bootstrap -o -name run \) ! -path 'tests/fuzz/regress/*' \
	! -name '*.json' ! -name '*.pcap' -print0 2>/dev/null)
echo "licence-check: $n files, $missing without the SPDX line"
[ "$missing" = 0 ]
