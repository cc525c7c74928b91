#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""check-probe.py -- compare one `mxray probe --format json` document with expectations.

Usage: check-probe.py JSON SCHEMA [key=value ...]

Keys: verdict, hop, ip, last_answering_hop, server_hop (path fields; "null"
for JSON null), session_kind ("absent" when no session is expected),
ladder: space-separated TTL:TYPE[@HOP] (every reply at that TTL must be of
TYPE, and of responder hop HOP when given; TTLs not listed must not exist
beyond the highest one listed), greeting=yes (a greeting was captured).
The document is validated against SCHEMA first.  Every mismatch is printed
as one line naming the field; exit 1 when any.
"""
import json
import sys

import jsonschema


def main():
    doc_path, schema_path = sys.argv[1], sys.argv[2]
    want = dict(a.split("=", 1) for a in sys.argv[3:])
    with open(doc_path) as f:
        doc = json.load(f)
    with open(schema_path) as f:
        schema = json.load(f)
    problems = []
    validator = jsonschema.Draft202012Validator(schema)
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        problems.append("schema: %s: %s" % ("/".join(map(str, err.path)) or "(root)", err.message))

    path = doc.get("path", {})
    for key in ("verdict", "hop", "ip", "last_answering_hop", "server_hop"):
        if key not in want:
            continue
        got = path.get(key)
        exp = want[key]
        exp_v = None if exp == "null" else (int(exp) if exp.isdigit() else exp)
        if got != exp_v:
            problems.append("path.%s: expected %r, got %r" % (key, exp_v, got))

    if "ladder" in want:
        rungs = {r["ttl"]: r["replies"] for r in doc.get("ladder", [])}
        top = 0
        for item in want["ladder"].split():
            ttl_s, spec = item.split(":", 1)
            ttl = int(ttl_s)
            top = max(top, ttl)
            typ, _, hop = spec.partition("@")
            replies = rungs.get(ttl)
            if not replies:
                problems.append("ladder ttl %d: missing" % ttl)
                continue
            types = [r["type"] for r in replies]
            if any(t != typ for t in types):
                problems.append("ladder ttl %d: expected all %s, got %s" % (ttl, typ, types))
            if hop:
                hops = [r["hop"] for r in replies if r["type"] == typ]
                if any(h != int(hop) for h in hops):
                    problems.append("ladder ttl %d: expected responder hop %s, got %s" % (ttl, hop, hops))
        extra = sorted(t for t in rungs if t > top)
        if extra:
            problems.append("ladder: unexpected steps beyond ttl %d: %s" % (top, extra))

    session = doc.get("session")
    if "session_kind" in want:
        exp = want["session_kind"]
        got = session.get("kind") if session else "absent"
        if got != exp:
            problems.append("session.kind: expected %s, got %s" % (exp, got))
    if want.get("greeting") == "yes":
        if not session or not session.get("smtp", {}).get("greeting"):
            problems.append("session.smtp.greeting: expected a greeting, got none")
        elif not session["smtp"].get("extensions"):
            problems.append("session.smtp.extensions: expected the EHLO keywords, got none")

    for p in problems:
        print("  mismatch: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
