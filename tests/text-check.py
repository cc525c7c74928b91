#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""text-check.py — the text report (mxray read's default) read as a person reads it.

  (a) every pcaps/NAME.pcap: the text report is parsed (header counts,
      destination sentences, one block per listed session, the
      destinations table) and must say what `--format json` says of the
      same capture: the same counts, sentences in the same order, a block
      for exactly the failed, rejected, incomplete or warned sessions with
      their outcome, kind, phase, endpoints, culprit, status, warnings and
      evidence frames, and one table line per destination; -v lists every
      session.
  (b) `read` writes the report as sessions finish (blocks wait in a
      temporary file); with --evidence every session is kept and the
      report written at the end: both must hold the same blocks.  The
      capture has more refusals than MX_HELD_REFUSALS (src/caps.h), so the
      held-back re-judgement and its cap are checked in text too.
  (c) a temporary folder that cannot be written: the same report, kept
      in memory, and one line on stderr saying so.

Environment (set by Makefile.am): MXRAY, TOP_SRCDIR.
"""
import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("TOP_SRCDIR") or os.path.dirname(HERE)
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.getcwd()
MXRAY = os.environ.get("MXRAY") or os.path.join(TOP_BUILDDIR, "src", "mxray")
TIMEOUT = 60

# The capture writer and the caps.h reader of pcap-regress.py, not a copy.
_spec = importlib.util.spec_from_file_location("pcap_regress", os.path.join(HERE, "pcap-regress.py"))
regress = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regress)

report = regress.report     # one result line per check, counted there


def mxray(args, env=None, cwd=None):
    p = subprocess.run([MXRAY, "read"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT, env=env, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


# ---- parsing the text report --------------------------------------------------------

HEADER = re.compile(r"^(\d+) packets, (\d+) SMTP sessions?: (\d+) delivered, (\d+) ok, (\d+) rejected, "
                    r"(\d+) failed, (\d+) incomplete$")
BLOCK = re.compile(r"^#(\d+) ([A-Z]+) (\S+) \(phase (\S+)\)  (\S+) -> (\S+)$")
CULPRIT = re.compile(r"^(\S+)(?: (\S+?))?(?:, hop (\d+) from the gateway)? \(confidence (\S+)\)$")
FRAME = re.compile(r"^(?:(\S+) )?frame (\d+)\s+\S+  ")
# Printed under the counts when frames were skipped or cut (report-text.c).
STATS = re.compile(r"^\((\d+) packets skipped, (\d+) cut by the snap length, (\d+) flows evicted\)$")
DEST = re.compile(r"^  (\S+)\s+(\d+) attempts?, (\d+) failed:((?: \S+ \d+)*)$")
# read --maillog: the queue section after the counts.
QUEUE_ENTRY = re.compile(r"^  (\S+) to (\S+): (\S+)(?: \S+)? \((\w+), \d+ attempts?\)$")
QUEUE_CONN = re.compile(r"^      \S+ -> (?:session #(\d+) (\S+):|no session:) ")


def parse(text):
    """The report as a dict: header, sentences, blocks (by id), destinations;
    problems for lines that fit nowhere."""
    lines = text.split("\n")
    out = {"header": None, "sentences": [], "blocks": {}, "order": [], "destinations": [], "problems": [],
           "queue": None}
    if len(lines) < 2 or not lines[0].startswith("mxray "):
        out["problems"].append("first line is not 'mxray VERSION: inputs': %r" % lines[:1])
        return out
    m = HEADER.match(lines[1])
    if not m:
        out["problems"].append("second line is not the counts: %r" % lines[1])
        return out
    out["header"] = [int(x) for x in m.groups()]
    block = None
    in_evidence = in_dest = in_queue = False
    for line in lines[2:]:
        if in_queue:
            m, c = QUEUE_ENTRY.match(line), QUEUE_CONN.match(line)
            if line == "":
                in_queue = False
            elif m:
                out["queue"].append([m.group(1), m.group(2), m.group(3), m.group(4), []])
            elif c and out["queue"]:
                out["queue"][-1][4].append((int(c.group(1)) if c.group(1) else None, c.group(2)))
            continue
        if line.startswith("Queue (") and block is None and out["queue"] is None:
            in_queue = True
            out["queue"] = []
            continue
        if in_dest:
            if line == "":
                continue
            m = DEST.match(line)
            if not m:
                out["problems"].append("destinations line: %r" % line)
                continue
            kinds = dict((k, int(n)) for k, n in re.findall(r" (\S+) (\d+)", m.group(4)))
            out["destinations"].append((m.group(1), int(m.group(2)), int(m.group(3)), kinds))
            continue
        if line.startswith("* ") and block is None and not out["blocks"]:
            out["sentences"].append(line[2:])
        elif block is None and not out["blocks"] and STATS.match(line):
            out["stats"] = [int(x) for x in STATS.match(line).groups()]
        elif line.startswith("(") and line.endswith(")") and block is None and not out["blocks"]:
            pass                # header notes: skipped / offload counts
        elif line.startswith("#"):
            m = BLOCK.match(line)
            if not m:
                out["problems"].append("session block header: %r" % line)
                continue
            sid = int(m.group(1))
            block = {"outcome": m.group(2).lower(), "kind": m.group(3), "phase": m.group(4),
                     "client": m.group(5), "server": m.group(6), "culprit": None, "status": None,
                     "warnings": [], "frames": []}
            if sid in out["blocks"]:
                out["problems"].append("session #%d listed twice" % sid)
            out["blocks"][sid] = block
            out["order"].append(sid)
            in_evidence = False
        elif line == "Destinations:":
            in_dest = True
            block = None
        elif line == "" or line == "No failed session.":
            in_evidence = False
        elif block is not None and line.startswith("   culprit:  "):
            block["culprit"] = line[len("   culprit:  "):]
        elif block is not None and line.startswith("   status:   "):
            block["status"] = line[len("   status:   "):]
        elif block is not None and line.startswith("   warning:  "):
            block["warnings"].append(line[len("   warning:  "):].split(":", 1)[0])
        elif block is not None and line == "   evidence:":
            in_evidence = True
        elif block is not None and in_evidence and line.startswith("     "):
            m = FRAME.match(line[5:])
            if not m:
                out["problems"].append("evidence line: %r" % line)
            else:
                block["frames"].append(int(m.group(2)))
        elif block is not None and re.match(r"^   (when|what|advice):   ", line):
            in_evidence = False
        else:
            out["problems"].append("line fits nowhere: %r" % line)
    return out


# ---- comparing with the JSON document ------------------------------------------------------

def endpoint(e):
    ip = e["ip"]
    return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, e["port"])


def culprit_text(c):
    s = c["role"]
    if c.get("ip"):
        s += " " + c["ip"]
    if c.get("hops_from_client"):
        s += ", hop %d from the gateway" % c["hops_from_client"]
    return s + " (confidence %s)" % c["confidence"]


def listed(s, verbose):
    return verbose or s["outcome"] in ("failed", "rejected", "incomplete") or bool(s["warnings"])


def compare(text, doc, verbose=False):
    t = parse(text)
    problems = list(t["problems"])
    if t["header"] is None:
        return problems
    sessions = doc["sessions"]
    counts = [sum(1 for s in sessions if s["outcome"] == o)
              for o in ("delivered", "ok", "rejected", "failed", "incomplete")]
    want = [doc["stats"]["packets"], doc["stats"]["smtp_sessions"]] + counts
    if t["header"] != want:
        problems.append("header counts %s, JSON says %s" % (t["header"], want))
    st = doc["stats"]
    want_stats = [st["skipped"], st["truncated"], st.get("evicted", 0)]
    if t.get("stats", [0, 0, 0]) != want_stats:
        problems.append("stats line %s, JSON says %s" % (t.get("stats"), want_stats))
    sentences = [d["verdict"] for d in doc["destinations"] if d.get("verdict")]
    if t["sentences"] != sentences:
        problems.append("destination sentences differ from destinations[].verdict: %r vs %r"
                        % (t["sentences"][:2], sentences[:2]))
    want_ids = set(s["id"] for s in sessions if listed(s, verbose))
    got_ids = set(t["blocks"])
    if got_ids != want_ids:
        problems.append("blocks for sessions %s, expected %s" % (sorted(got_ids)[:10], sorted(want_ids)[:10]))
    for s in sessions:
        b = t["blocks"].get(s["id"])
        if b is None:
            continue
        want_b = {"outcome": s["outcome"], "kind": s["kind"], "phase": s["phase"],
                  "client": endpoint(s["client"]), "server": endpoint(s["server"]),
                  "culprit": None if s["culprit"]["role"] == "none" else culprit_text(s["culprit"]),
                  "status": s["mta_status"] or None, "warnings": [w["kind"] for w in s["warnings"]],
                  "frames": [e["frame"] for e in s["evidence"]]}
        for k, v in want_b.items():
            if b[k] != v:
                problems.append("#%d %s: text %r, JSON %r" % (s["id"], k, b[k], v))
    dests = [(d["ip"], d["attempts"], d["failed"], d["kinds"]) for d in doc["destinations"]]
    if t["destinations"] != dests:
        problems.append("destinations table %r, JSON %r" % (t["destinations"][:3], dests[:3]))
    if not want_ids and sessions and "No failed session." not in text:
        problems.append("nothing listed, and no 'No failed session.' line")
    # read --maillog: the queue section names the entries and joins the JSON has.
    if "queue" in doc or t["queue"] is not None:
        want_q = [[e["queue_id"], e["recipient"], e["status"], e["mta"],
                   [(c["session"], c["kind"]) for a in e["attempts"] for c in a["connections"]]]
                  for e in doc.get("queue", [])]
        if t["queue"] != want_q:
            problems.append("queue section %r, JSON %r" % (t["queue"], want_q))
    return problems


# ---- (a) pcaps/ ---------------------------------------------------------------------------

def real_captures():
    for path in sorted(glob.glob(os.path.join(TOP_SRCDIR, "pcaps", "*.pcap"))):
        name = os.path.splitext(os.path.basename(path))[0]
        args = [path] + regress.capture_args(path)
        here = os.path.dirname(path)      # NAME.args names files beside the capture
        st_j, out_j, err_j = mxray(["--format", "json"] + args, cwd=here)
        try:
            doc = json.loads(out_j)
        except ValueError:
            report("text %s" % name, ["no JSON to compare with: %s" % err_j.strip()])
            continue
        st, out, err = mxray(args, cwd=here)
        problems = [] if st == st_j else ["exit status %d, JSON run %d" % (st, st_j)]
        problems += compare(out, doc)
        report("text %s" % name, problems)
        if name == "multi-session":
            st, out, err = mxray(["-v"] + args, cwd=here)
            report("text %s -v lists every session" % name, compare(out, doc, verbose=True))


# ---- (b) streamed and kept: the same blocks ----------------------------------------------------

def blocks_of(text):
    """The session blocks as a sorted list of strings (order aside)."""
    body = text.split("\nDestinations:\n")[0]
    return sorted(b.strip("\n") for b in body.split("\n\n") if b.startswith("#"))


def refused_blocks(blocks):
    return [b for b in blocks if " connect_refused " in b.split("\n")[0]]


def streamed_and_kept(tmp):
    path = os.path.join(tmp, "refusals.pcap")
    n, extra = regress.held_refusals_capture(path)
    st_j, out_j, _ = mxray(["--format", "json", path])
    doc = json.loads(out_j)
    st, streamed, err = mxray([path])
    problems = ["exit status %d, expected 1" % st] if st != 1 else []
    problems += ["stderr: %r" % err.strip()] if err.strip() else []
    problems += compare(streamed, doc)
    t = parse(streamed)
    refused = [b for b in t["blocks"].values() if b["kind"] == "connect_refused"]
    if len(refused) != n:
        problems.append("%d connect_refused blocks, expected %d" % (len(refused), n))
    lows = [b for b in refused if b["culprit"] and "(confidence low)" in b["culprit"]]
    if len(lows) != extra:
        problems.append("%d refusals left uncertain in text, expected the %d oldest past the cap"
                        % (len(lows), extra))
    report("text: %d refusals, held back and judged again up to the cap" % n, problems)

    st2, kept, err2 = mxray(["--evidence", os.path.join(tmp, "ev.pcap"), path])
    problems = ["exit status %d, streamed %d" % (st2, st)] if st2 != st else []
    if streamed.split("\n\n")[0] != kept.split("\n\n")[0]:
        problems.append("headers differ")
    if streamed.split("\nDestinations:\n")[-1] != kept.split("\nDestinations:\n")[-1]:
        problems.append("destinations tables differ")
    a, b = blocks_of(streamed), blocks_of(kept)
    if len(a) != len(b) or len(refused_blocks(a)) != n:
        problems.append("%d blocks streamed (%d refusals), %d kept; expected %d refusals"
                        % (len(a), len(refused_blocks(a)), len(b), n))
    # Refusals are judged again in one place (the analyzer) before any
    # report sees them, with one cap: streamed and kept, every block is the same.
    differ = sorted(set(a) ^ set(b))
    if differ:
        problems.append("%d blocks differ streamed and kept (%d refusals), expected none"
                        % (len(differ), len(refused_blocks(differ))))
    report("text: written as sessions finish == written at the end (--evidence)", problems)


# ---- (c) no temporary file ---------------------------------------------------------------------

def no_tmpdir(tmp):
    """No temporary file for the blocks: the same report, kept in memory,
    one line on stderr naming the folder, the same exit status."""
    env = dict(os.environ, TMPDIR=os.path.join(tmp, "no-such-folder"))
    path = os.path.join(TOP_SRCDIR, "pcaps", "multi-session.pcap")
    st0, out0, _ = mxray(["-v", path])
    st, out, err = mxray(["-v", path], env=env)
    problems = ["exit status %d, %d with a temporary file" % (st, st0)] if st != st0 else []
    lines = [l for l in err.splitlines() if l.strip()]
    if len(lines) != 1 or "no-such-folder" not in lines[0] or "in memory" not in lines[0]:
        problems.append("expected one line naming the folder and saying 'in memory', got %r" % err)
    if blocks_of(out) != blocks_of(out0) or out.split("\n\n")[0] != out0.split("\n\n")[0]:
        problems.append("the report differs from the one written through a temporary file")
    report("text: unwritable TMPDIR -> the same report from memory, one line on stderr", problems)


def main():
    if not os.access(MXRAY, os.X_OK):
        print("text-check: %s is not built" % MXRAY)
        return 99
    tmp = tempfile.mkdtemp(prefix="mxray-text.")
    try:
        real_captures()
        streamed_and_kept(tmp)
        no_tmpdir(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (regress.passed, regress.failed))
    return 1 if regress.failed else 0


if __name__ == "__main__":
    sys.exit(main())
