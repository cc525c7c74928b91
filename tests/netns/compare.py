#!/usr/bin/env python3
"""compare.py EXPECT JSON [EXIT_STATUS] -- check an mxray read document
against a scenario's .expect file.

.expect lines are key=value:
  outcome / kind / phase          sessions[0].<key>
  culprit.role / culprit.ip ...   sessions[0].culprit.<field>
  warning=X                       some sessions[0].warnings[].kind == X
  session.N.<key>=V               the same, for the Nth session (1-based,
                                  sessions ordered by start time = first SYN)
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
        else:
            return "<missing>"
    return obj


def fmt(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    exp_lines = [l.strip() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
    try:
        doc = json.load(open(sys.argv[2]))
    except (OSError, ValueError) as e:
        print("mxray output is not JSON (%s)" % e)
        return 1
    sessions = doc.get("sessions") if isinstance(doc, dict) else None
    if not isinstance(sessions, list):
        print("document has no sessions[]")
        return 1
    sessions = sorted(sessions, key=lambda s: (str(s.get("start", "")), s.get("id", 0)))
    bad = []
    outcomes = {}
    nsess = 1
    for line in exp_lines:
        key, _, want = line.partition("=")
        idx = 0
        label = key
        if key.startswith("session."):
            _, n, key = key.split(".", 2)
            idx = int(n) - 1
        nsess = max(nsess, idx + 1)
        if idx >= len(sessions):
            bad.append("%s expected %s got <no session %d of %d>" % (label, want, idx + 1, len(sessions)))
            continue
        s = sessions[idx]
        if key == "outcome":
            outcomes[idx] = want
        if key == "warning":
            kinds = [w.get("kind") for w in s.get("warnings") or [] if isinstance(w, dict)]
            if want not in kinds:
                bad.append("%s expected %s got [%s]" % (label, want, ",".join(map(fmt, kinds))))
            continue
        got = fmt(get(s, key))
        if got != want:
            bad.append("%s expected %s got %s" % (label, want, got))
    if len(sessions) != nsess:
        bad.append("sessions expected %d got %d" % (nsess, len(sessions)))
    if len(sys.argv) > 3 and len(outcomes) == nsess:
        want_rc = 1 if any(o in ("failed", "rejected") for o in outcomes.values()) else 0
        if int(sys.argv[3]) != want_rc:
            bad.append("exit expected %d got %s" % (want_rc, sys.argv[3]))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
