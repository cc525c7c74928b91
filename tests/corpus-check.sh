#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# corpus-check.sh — mxray read over every capture of ../shared/corpus (other projects' test
# captures, many broken on purpose): no crash, no hang, no sanitizer report, and every file it
# cannot read gets one line on stderr naming it.
#
# Per file, under `timeout 10`:
#   - exit status 0, 1 or 2 only (a signal, or 124 from timeout, is an offender);
#   - no "ERROR: AddressSanitizer", "runtime error:" or "LeakSanitizer" on stderr;
#   - exit 2: exactly one stderr line per unreadable input, naming the file;
#   - exit 0/1: stdout is one JSON document.
# Prints counts by exit status and the offenders; exits 1 if there is any,
# 77 (skipped) when the corpus folder is absent.
#
# Environment: MXRAY (default ./src/mxray), TOP_SRCDIR (default: this script's ..),
# CORPUS (default $TOP_SRCDIR/../shared/corpus), JOBS (default: number of CPUs).
set -u

here=$(cd "$(dirname "$0")" && pwd)
TOP_SRCDIR=${TOP_SRCDIR:-$(dirname "$here")}
MXRAY=${MXRAY:-./src/mxray}
CORPUS=${CORPUS:-$TOP_SRCDIR/../shared/corpus}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if [ ! -d "$CORPUS" ]; then
    echo "corpus-check: SKIP: no corpus at $CORPUS (it comes with ../shared beside the repository)"
    exit 77
fi
if [ ! -x "$MXRAY" ]; then
    echo "corpus-check: $MXRAY is not built"
    exit 99
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
find "$CORPUS" -type f ! -name '*.md' ! -name '*.txt' ! -name 'LICENSE*' | LC_ALL=C sort > "$work/files"
total=$(wc -l < "$work/files")
start=$(date +%s)

# One file: run it, keep its stdout/stderr under a number, print "status<TAB>n<TAB>file".
export MXRAY work
nl -ba -w1 -s'	' "$work/files" | xargs -P "$JOBS" -L 1 -d '\n' sh -c '
    n=${1%%	*}; f=${1#*	}
    timeout -k 5 10 "$MXRAY" read --format json "$f" > "$work/$n.out" 2> "$work/$n.err"
    printf "%s\t%s\t%s\n" "$?" "$n" "$f"
' sh > "$work/results"
elapsed=$(( $(date +%s) - start ))

python3 - "$work" "$total" "$elapsed" <<'PY'
import collections, json, os, sys
work, total, elapsed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = collections.Counter()
offenders = []
for line in open(os.path.join(work, "results"), encoding="utf-8", errors="replace"):
    status, n, path = line.rstrip("\n").split("\t", 2)
    status = int(status)
    counts[status] += 1
    err = open(os.path.join(work, n + ".err"), encoding="utf-8", errors="replace").read()
    problems = []
    if status == 124 or status == 137:
        problems.append("hang: killed by timeout after 10 s")
    elif status >= 128:
        problems.append("killed by signal %d" % (status - 128))
    elif status not in (0, 1, 2):
        problems.append("exit status %d (only 0, 1, 2 are allowed)" % status)
    for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        if marker in err:
            first = next(l for l in err.splitlines() if marker in l)
            problems.append("sanitizer: %s" % first.strip()[:200])
    lines = [l for l in err.splitlines() if l.strip()]
    if status == 2:
        if len(lines) != 1:
            problems.append("exit 2 with %d stderr lines (want one naming the file): %r" % (len(lines), err[:300]))
        elif path not in lines[0]:
            problems.append("stderr does not name the file: %r" % lines[0][:200])
    if status in (0, 1):
        try:
            json.load(open(os.path.join(work, n + ".out"), encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            problems.append("stdout is not one JSON document: %s" % e)
    if problems:
        offenders.append((path, status, problems))

done = sum(counts.values())
print("corpus-check: %d files in %s s" % (done, elapsed))
for status in sorted(counts):
    meaning = {0: "no failure", 1: "failed sessions", 2: "input error"}.get(status, "OFFENDER")
    print("  exit %3d: %5d  (%s)" % (status, counts[status], meaning))
if done != total:
    offenders.append(("(runner)", -1, ["%d files listed, %d results" % (total, done)]))
for path, status, problems in offenders:
    print("OFFENDER %s (exit %d)" % (path, status))
    for p in problems:
        print("    %s" % p)
print("%d passed, %d failed" % (done - len(offenders), len(offenders)))
sys.exit(1 if offenders else 0)
PY
