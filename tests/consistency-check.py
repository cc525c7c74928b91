#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""consistency-check.py -- verdicts that the session's own replies would contradict.

Runs `mxray read --format json` over every capture in pcaps/ (with its
NAME.args), over gencap's crafted captures ($GENCAP, when built) and over every capture of ../shared/corpus that carries SMTP
(other projects' test traces, read-only; skipped with a message when the
folder is absent), and checks, per session, rules that hold whatever the
capture:

  delivered  a 2xx reply to the end of data (".", BDAT) means the session is
             neither failed nor rejected (a 221 after it changes nothing);
  later      a failed or rejected verdict of high confidence is not followed
             by a 2xx reply to a command of a later phase (QUIT aside);
  loop       mail_loop only with the evidence DESIGN.md names: a loop reply
             (5.4.6, "loops back to myself", "too many hops" ...), the
             server naming itself by the client's EHLO name, or a DNS answer
             in the capture pointing at the gateway; never on a delivery;
  skipped    every skipped frame is counted with its reason
             (stats.skipped_reasons adds up to stats.skipped).

Environment: MXRAY, TOP_SRCDIR (as set by make check), CORPUS (default
$TOP_SRCDIR/../shared/corpus).  Exit 0 when every rule holds, 1 otherwise.
"""
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP_SRCDIR", os.path.dirname(HERE))
MXRAY = os.environ.get("MXRAY", os.path.join(TOP, "src", "mxray"))
CORPUS = os.environ.get("CORPUS", os.path.join(TOP, "..", "shared", "corpus"))

PHASES = ["connect", "greeting", "ehlo", "tls", "mail", "rcpt", "data", "data_end", "quit", "none"]
COMMAND_PHASE = {"EHLO": "ehlo", "HELO": "ehlo", "AUTH": "ehlo", "STARTTLS": "tls", "MAIL": "mail",
                 "RCPT": "rcpt", "DATA": "data", ".": "data_end", "BDAT": "data_end"}
LOOP_WORDS = ("loops back to myself", "mail loop", "routing loop", "loop detected", "too many hops",
              "hop count")


def run(path, args):
    try:
        # From the capture's folder: NAME.args names a --maillog beside it.
        path = os.path.abspath(path)
        p = subprocess.run([MXRAY, "read", "--format", "json"] + args + [path], capture_output=True,
                           timeout=30, cwd=os.path.dirname(path))
    except subprocess.TimeoutExpired:
        return None, "timed out"
    if p.returncode not in (0, 1, 2):
        return None, "exit status %d" % p.returncode
    try:
        return json.loads(p.stdout), None
    except ValueError:
        return None, "no JSON document (exit status %d)" % p.returncode


def end_of_data_accepted(s):
    return any(r.get("command") in (".", "BDAT") and 200 <= (r.get("code") or 0) < 300
               for r in s["smtp"].get("replies") or [])


def loop_evidence(s):
    # Not mta_status: that is mxray's guess at what the MTA logged, not
    # something the server said.  A loop reply shows as "loop reply: TEXT".
    facts = [e.get("fact") or "" for e in s.get("evidence") or []]
    for f in facts:
        text = f[len("loop reply:"):].lower() if f.startswith("loop reply:") else ""
        if re.search(r"\b[45]\.4\.6\b", text) or any(w in text for w in LOOP_WORDS):
            return True
    helo = (s["smtp"].get("helo") or "").lower()
    greeting = (s["smtp"].get("greeting") or "").split()
    if helo and len(greeting) > 1 and greeting[0].startswith("2") and greeting[1].lower() == helo:
        return True
    return any(f.startswith("server names itself") or (f.startswith("DNS ") and "own address" in f)
               for f in facts)


def check_session(s):
    bad = []
    outcome, kind = s["outcome"], s["kind"]
    conf = (s.get("culprit") or {}).get("confidence")
    if end_of_data_accepted(s) and outcome in ("failed", "rejected"):
        bad.append("delivered: a 2xx answered the end of data, yet %s %s" % (outcome, kind))
    # A mail loop is proven by the accepted replies themselves (the server
    # naming itself by the client's name), so they cannot contradict it.
    if conf == "high" and outcome in ("failed", "rejected") and kind != "mail_loop" and s.get("phase") in PHASES:
        p = PHASES.index(s["phase"])
        for r in s["smtp"].get("replies") or []:
            ph = COMMAND_PHASE.get(r.get("command"))
            if ph and PHASES.index(ph) > p and 200 <= (r.get("code") or 0) < 300:
                bad.append("later: %s %s (phase %s, confidence high) but %s got %d" %
                           (outcome, kind, s["phase"], r["command"], r["code"]))
                break
    if kind == "mail_loop":
        if outcome == "delivered":
            bad.append("loop: mail_loop on a delivered session")
        elif not loop_evidence(s):
            bad.append("loop: mail_loop without a loop reply, the server naming the client's EHLO name "
                       "or a DNS answer pointing at the gateway")
    return bad


def check_doc(doc):
    bad = []
    st = doc.get("stats") or {}
    skipped = st.get("skipped", 0)
    if skipped:
        reasons = st.get("skipped_reasons")
        if not isinstance(reasons, dict) or sum(reasons.values()) != skipped:
            bad.append("skipped: %d frames skipped, reasons %s" % (skipped, json.dumps(reasons)))
    for s in doc.get("sessions") or []:
        bad += ["session %s: %s" % (s.get("id"), b) for b in check_session(s)]
    return bad


# A capture "carries SMTP" when mxray finds a session in it.  Reading all
# 1,200 corpus files costs minutes of start-ups, so only files whose bytes
# hold SMTP text or a TLS record header are read: a capture without either
# has no reply a verdict could contradict.
SMTP_BYTES = re.compile(rb"(?i)(EHLO|HELO)[ \r]|\r\n[2-5][0-9][0-9][ -]|MAIL FROM|RCPT TO|\x16\x03[\x00-\x04]")


def may_carry_smtp(path):
    try:
        with open(path, "rb") as f:
            return SMTP_BYTES.search(f.read(64 << 20)) is not None
    except OSError:
        return False


def one(item):
    path, args, corpus = item
    doc, err = run(path, args)
    if doc is None:
        return path, None, [] if corpus else ["mxray: " + err]
    if corpus and not (doc.get("stats") or {}).get("smtp_sessions"):
        return path, None, []
    return path, doc, check_doc(doc)


def main():
    if not os.access(MXRAY, os.X_OK):
        print("consistency-check: %s is not built" % MXRAY)
        return 99
    items = []
    # gencap's crafted captures (tests/golden) too, where no real stack can
    # make the case (the 5,038-byte greeting).
    gencap = os.environ.get("GENCAP")
    tmp = tempfile.mkdtemp()
    if gencap and os.access(gencap, os.X_OK) and subprocess.run([gencap, tmp]).returncode == 0:
        items += [(p, [], False) for p in sorted(glob.glob(os.path.join(tmp, "*.pcap")))]
    for pcap in sorted(glob.glob(os.path.join(TOP, "pcaps", "*.pcap"))):
        argf = pcap[:-5] + ".args"
        args = open(argf).read().split() if os.path.exists(argf) else []
        items.append((pcap, args, False))
    if os.path.isdir(CORPUS):
        for root, _, files in os.walk(CORPUS):
            for f in sorted(files):
                if f.endswith((".md", ".txt")) or f.startswith("LICENSE"):
                    continue
                path = os.path.join(root, f)
                if may_carry_smtp(path):
                    items.append((path, ["--ports", "25,465,587"], True))
    else:
        print("consistency-check: no corpus at %s: checking pcaps/ only" % CORPUS)
    failures = checked = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for path, doc, bad in pool.map(one, items):
            if doc is not None:
                checked += 1
            for b in bad:
                print("FAIL %s: %s" % (path if path.startswith(tmp) else os.path.relpath(path, TOP), b))
                failures += 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("consistency-check: %d captures with SMTP checked (%d files read), %d violations" %
          (checked, len(items), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
