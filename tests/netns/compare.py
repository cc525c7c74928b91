#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""compare.py EXPECT JSON [EXIT_STATUS] -- check an mxray read document
against a scenario's .expect file.

.expect lines are key=value:
  outcome / kind / phase          sessions[0].<key>
  culprit.role / culprit.ip ...   sessions[0].culprit.<field>
  warning=X                       some sessions[0].warnings[].kind == X
  nowarning=X                     no sessions[0].warnings[].kind == X
  warnings=X,Y                    exactly these warning kinds (any order; empty: none)
  evidence=1,5                    exactly these evidence frames, in order
  session.N.<key>=V               the same, for the Nth session (1-based,
                                  sessions ordered by start time = first SYN)
  queue.N.<path>=V                read --maillog: the Nth queue entry (1-based,
                                  in the report's order); numbers in the path
                                  are 1-based list positions
                                  (queue.1.attempts.1.connections.1.kind=syn_timeout)
  maillog.<path>=V                read --maillog: the "maillog" object
  stats.<field>=V                 the document's stats
  key=LOW..HIGH                   a number within [LOW, HIGH] (an estimate
                                  known by construction only to a second)
Prints one line per mismatch ("field expected X got Y") and exits 1 if any.
When EXIT_STATUS is given and every expected session names its outcome, the
exit status is checked as DESIGN.md says: 1 if any session failed or was
rejected, else 0.
"""
import json
import sys


def get(obj, path):
    for part in path.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and 1 <= int(part) <= len(obj):
            obj = obj[int(part) - 1]
        else:
            return "<missing>"
    return obj


def fmt(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def agrees(raw, want):
    """want is the value's text, or LOW..HIGH for a number in that range."""
    low, sep, high = want.partition("..")
    if sep and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            return float(low) <= raw <= float(high)
        except ValueError:
            return False
    return fmt(raw) == want


def expect_problems(exp_lines, doc, exit_status=None):
    """Mismatches between .expect lines and an mxray read document, one
    string each ("field expected X got Y"); empty when they agree."""
    sessions = doc.get("sessions") if isinstance(doc, dict) else None
    if not isinstance(sessions, list):
        return ["document has no sessions[]"]
    sessions = sorted(sessions, key=lambda s: (str(s.get("start", "")), s.get("id", 0)))
    bad = []
    outcomes = {}
    nsess = 1
    for line in exp_lines:
        key, sep, want = line.partition("=")
        if not sep:
            bad.append("malformed line %r" % line)
            continue
        idx = 0
        label = key
        if key.startswith(("queue.", "maillog.", "stats.")):
            raw = get(doc, key)
            if not agrees(raw, want):
                bad.append("%s expected %s got %s" % (label, want, fmt(raw)))
            continue
        if key.startswith("session."):
            parts = key.split(".", 2)
            if len(parts) < 3 or not parts[1].isdigit() or int(parts[1]) < 1:
                bad.append("malformed key %r" % key)
                continue
            idx, key = int(parts[1]) - 1, parts[2]
        nsess = max(nsess, idx + 1)
        if idx >= len(sessions):
            bad.append("%s expected %s got <no session %d of %d>" % (label, want, idx + 1, len(sessions)))
            continue
        s = sessions[idx]
        if key == "outcome":
            outcomes[idx] = want
        if key in ("warning", "nowarning"):
            kinds = [w.get("kind") for w in s.get("warnings") or [] if isinstance(w, dict)]
            if (want in kinds) != (key == "warning"):
                bad.append("%s expected %s%s got [%s]" % (label, "" if key == "warning" else "no ", want,
                                                         ",".join(map(fmt, kinds))))
            continue
        if key in ("warnings", "evidence"):
            items = [fmt(e.get("kind" if key == "warnings" else "frame")) for e in s.get(key) or []
                     if isinstance(e, dict)]
            got = ",".join(sorted(items) if key == "warnings" else items)
            if got != ",".join(sorted(want.split(",")) if key == "warnings" else [want]):
                bad.append("%s expected %s got %s" % (label, want, got))
            continue
        got = fmt(get(s, key))
        if got != want:
            bad.append("%s expected %s got %s" % (label, want, got))
    if len(sessions) != nsess:
        bad.append("sessions expected %d got %d" % (nsess, len(sessions)))
    if exit_status is not None and len(outcomes) == nsess:
        want_rc = 1 if any(o in ("failed", "rejected") for o in outcomes.values()) else 0
        if int(exit_status) != want_rc:
            bad.append("exit expected %d got %s" % (want_rc, exit_status))
    return bad


def read_expect(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        doc = json.load(open(sys.argv[2]))
    except (OSError, ValueError) as e:
        print("mxray output is not JSON (%s)" % e)
        return 1
    bad = expect_problems(read_expect(sys.argv[1]), doc, sys.argv[3] if len(sys.argv) > 3 else None)
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
