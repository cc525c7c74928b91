#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""pcap-regress.py — mxray read against captures with known answers (run by `make check`).

  (a) tests/gencap writes its deterministic captures into a temporary folder;
      each one's `read --format json` must equal tests/golden/NAME.json field
      by field (a mismatch prints its path: sessions[0].culprit.role: ...).
  (b) every pcaps/NAME.pcap: compared with pcaps/NAME.json when present, and
      checked against pcaps/NAME.expect (key=value lines) when present.
  (c) every JSON document is validated against the read schema
      (../shared/schema/read-v1.schema.json, else tests/schema/), and every
      --format jsonl line against its session sub-schema; a document with a
      `queue` (read --maillog) also against tests/schema/read-v1.schema.json,
      the shared schema extended compatibly with queue and maillog.
  (d) exit status: 0 no failure, 1 a failed/rejected session, 2 input error.
  (e) the command line: missing, truncated, garbage and unsupported files,
      bad options, rotated files, stdin, a trailing BPF expression.

Environment (set by Makefile.am): MXRAY, GENCAP, TOP_SRCDIR.  Runs from a
VPATH build.  Input names differ by folder: they are compared by base name,
and `version` is not compared.
"""
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("TOP_SRCDIR") or os.path.dirname(HERE)
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.getcwd()
MXRAY = os.environ.get("MXRAY") or os.path.join(TOP_BUILDDIR, "src", "mxray")
GENCAP = os.environ.get("GENCAP") or os.path.join(TOP_BUILDDIR, "tests", "gencap")
TIMEOUT = 60

passed = 0
failed = 0


def report(name, problems):
    """One result line per check; problems (a list of strings) under it."""
    global passed, failed
    if problems:
        failed += 1
        print("FAIL: %s" % name)
        for p in problems[:40]:
            print("    %s" % p)
        if len(problems) > 40:
            print("    ... %d more" % (len(problems) - 40))
    else:
        passed += 1
        print("PASS: %s" % name)
    sys.stdout.flush()


# ---- running mxray -----------------------------------------------------------

class Run:
    def __init__(self, args, stdin=None, cwd=None):
        self.args = args
        p = subprocess.run([MXRAY, "read"] + args, stdin=stdin, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.status = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")
        self.doc = None
        self.parse_error = None
        if "--format" in args and args[args.index("--format") + 1] == "json":
            try:
                self.doc = json.loads(self.out)
            except ValueError as e:
                self.parse_error = str(e)

    def stderr_lines(self):
        return [l for l in self.err.splitlines() if l.strip()]


def read_json(path, extra=()):
    # From the capture's folder: NAME.args names files beside it (--maillog NAME.maillog).
    return Run(["--format", "json", path] + list(extra), cwd=os.path.dirname(os.path.abspath(path)))


# ---- schema --------------------------------------------------------------------

def load_schema():
    for path in (os.path.join(TOP_SRCDIR, "..", "shared", "schema", "read-v1.schema.json"),
                 os.path.join(TOP_SRCDIR, "tests", "schema", "read-v1.schema.json")):
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f), path
    return None, None


try:
    import jsonschema
except ImportError:              # python3-jsonschema is a build dependency; say so
    jsonschema = None

SCHEMA, SCHEMA_PATH = load_schema()
# The shared schema is read-only here: tests/schema/ holds it extended with
# `queue` and `maillog` (read --maillog), which documents that have them meet too.
with open(os.path.join(TOP_SRCDIR, "tests", "schema", "read-v1.schema.json")) as _f:
    QUEUE_SCHEMA = json.load(_f)


def validator_for(schema):
    cls = getattr(jsonschema, "Draft202012Validator", None) or jsonschema.validators.validator_for(schema)
    return cls(schema)


def schema_problems(doc, session_only=False):
    if SCHEMA is None or jsonschema is None:
        return ["cannot validate: %s" % ("python3-jsonschema is not installed" if jsonschema is None
                                         else "no read-v1.schema.json found")]
    schema = SCHEMA
    if session_only:
        # The session sub-schema, with $defs kept so its references resolve.
        schema = dict(SCHEMA["$defs"]["session"])
        schema["$defs"] = SCHEMA["$defs"]
        schema["$schema"] = SCHEMA.get("$schema")
    schemas = [schema]
    if not session_only and isinstance(doc, dict) and ("queue" in doc or "maillog" in doc):
        schemas.append(QUEUE_SCHEMA)
    out = []
    for schema in schemas:
        v = validator_for(schema)
        for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in e.absolute_path)
            out.append("schema: %s: %s" % (where.lstrip(".") or "(document)", e.message[:200]))
    return out


# ---- field-by-field comparison ------------------------------------------------------

def normalise(doc):
    """Input names compared by base name; version not compared."""
    doc = json.loads(json.dumps(doc))
    if isinstance(doc, dict):
        doc.pop("version", None)
        if isinstance(doc.get("inputs"), list):
            doc["inputs"] = [os.path.basename(str(p)) for p in doc["inputs"]]
        for s in doc.get("sessions") or []:
            for e in (s.get("evidence") or []) if isinstance(s, dict) else []:
                if isinstance(e, dict) and "file" in e:
                    e["file"] = os.path.basename(str(e["file"]))
    return doc


def show(v):
    return json.dumps(v, sort_keys=True)


def diff(expected, actual, path=""):
    out = []
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in expected:
            sub = "%s.%s" % (path, k) if path else k
            if k not in actual:
                out.append("%s: expected %s, missing" % (sub, show(expected[k])))
            else:
                out += diff(expected[k], actual[k], sub)
        for k in actual:
            if k not in expected:
                sub = "%s.%s" % (path, k) if path else k
                out.append("%s: not expected, got %s" % (sub, show(actual[k])))
    elif isinstance(expected, list) and isinstance(actual, list):
        for i in range(min(len(expected), len(actual))):
            out += diff(expected[i], actual[i], "%s[%d]" % (path, i))
        if len(expected) != len(actual):
            out.append("%s: expected %d entries, got %d" % (path, len(expected), len(actual)))
            for i in range(len(actual), len(expected)):
                out.append("%s[%d]: expected %s, missing" % (path, i, show(expected[i])))
            for i in range(len(expected), len(actual)):
                out.append("%s[%d]: not expected, got %s" % (path, i, show(actual[i])))
    elif type(expected) is not type(actual) or expected != actual:
        # 20 and 20.0 are the same number to a JSON reader.
        if not (isinstance(expected, (int, float)) and isinstance(actual, (int, float))
                and not isinstance(expected, bool) and not isinstance(actual, bool) and expected == actual):
            out.append("%s: expected %s, got %s" % (path or "(document)", show(expected), show(actual)))
    return out


def expected_status(doc):
    failed_session = any(s.get("outcome") in ("failed", "rejected") for s in doc.get("sessions") or [])
    return 1 if failed_session else 0


def status_problems(run, doc, input_error=False):
    want = 2 if input_error else expected_status(doc)
    if run.status != want:
        return ["exit status %d, expected %d (%s)" % (run.status, want,
                "input error" if want == 2 else "a session failed" if want == 1 else "no failed session")]
    return []


def jsonl_problems(path, doc):
    """--format jsonl: one valid session object a line, the same sessions as json."""
    run = Run(["--format", "jsonl", path] + capture_args(path), cwd=os.path.dirname(os.path.abspath(path)))
    out = []
    lines = [l for l in run.out.splitlines() if l.strip()]
    sessions = []
    for i, line in enumerate(lines):
        try:
            s = json.loads(line)
        except ValueError as e:
            out.append("jsonl line %d is not JSON: %s" % (i + 1, e))
            continue
        out += ["jsonl line %d: %s" % (i + 1, p) for p in schema_problems(s, session_only=True)]
        sessions.append(s)
    if doc is not None:
        want = sorted(s.get("id") for s in doc.get("sessions", []))
        got = sorted(s.get("id") for s in sessions)
        if want != got:
            out.append("jsonl session ids %s, json document has %s" % (got, want))
        by_id = {s.get("id"): s for s in doc.get("sessions", [])}
        for s in sessions:
            if s.get("id") in by_id:
                out += ["jsonl: " + p for p in diff(normalise({"sessions": [by_id[s["id"]]]}),
                                                    normalise({"sessions": [s]}))]
    if run.status != (expected_status(doc) if doc else run.status):
        out.append("jsonl exit status %d differs from json's" % run.status)
    return out


def capture_args(path):
    """Extra mxray options a capture needs (NAME.args beside it, e.g. --ports 465)."""
    base = os.path.splitext(path)[0]
    if os.path.exists(base + ".args"):
        with open(base + ".args") as f:
            return f.read().split()
    return []


def check_document(name, path, expected, input_error=False):
    run = read_json(path, capture_args(path))
    problems = []
    if run.doc is None:
        report(name, ["output is not JSON (%s); stderr: %s" % (run.parse_error, run.err.strip()[:300])])
        return None
    problems += schema_problems(run.doc)
    if expected is not None:
        problems += diff(normalise(expected), normalise(run.doc))
        # The status the expected sessions call for, so a golden file decides it.
        want = 2 if input_error else expected_status(expected)
        if run.status != want:
            problems.append("exit status %d, expected %d" % (run.status, want))
    else:
        problems += status_problems(run, run.doc, input_error)
    if run.status != 2 and run.stderr_lines():
        problems.append("unexpected stderr: %s" % run.err.strip()[:300])
    problems += jsonl_problems(path, run.doc)
    report(name, problems)
    return run


# ---- .expect files: tests/netns/compare.py owns the format ------------------------------

def expect_problems(expect_path, doc):
    sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "netns"))
    import compare
    return compare.expect_problems(compare.read_expect(expect_path), doc)


# ---- pcap files by hand (no dependency beyond the standard library) -------------------

def pcap_records(data):
    """(header bytes, [record offsets]) of a classic little-endian microsecond pcap."""
    magic = struct.unpack("<I", data[:4])[0]
    assert magic == 0xa1b2c3d4, "gencap writes little-endian microsecond pcap"
    offsets, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        offsets.append(off)
        off += 16 + caplen
    return data[:24], offsets


def split_capture(data, split, part1, part2):
    """A classic pcap as two rotated files: records [0, split) and the rest."""
    header, offsets = pcap_records(data)
    with open(part1, "wb") as f:
        f.write(data[:offsets[split]])
    with open(part2, "wb") as f:
        f.write(header + data[offsets[split]:])
    return part1, part2


def write_pcap(path, linktype, frames, step_us=1000000):
    """Frames step_us apart (1 s unless told)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, linktype))
        for i, frame in enumerate(frames):
            sec, usec = divmod(i * step_us, 1000000)
            f.write(struct.pack("<IIII", 1700000000 + sec, usec, len(frame), len(frame)))
            f.write(frame)


def read_caps():
    """The plain integer limits of src/caps.h, by name."""
    caps = {}
    with open(os.path.join(TOP_SRCDIR, "src", "caps.h")) as f:
        for line in f:
            m = re.match(r"#define (MX_\w+) (\d+)\s*$", line)
            if m:
                caps[m.group(1)] = int(m.group(2))
    return caps


CAPS = read_caps()


def ipv4_tcp_frame(src, dst, sport, dport, flags, seq, ack, ttl, payload=b""):
    """Ethernet + IPv4 + TCP (no options); IP header checksum set."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, ttl, 6, 0, bytes(src), bytes(dst))
    words = struct.unpack("!10H", ip)
    total = sum(words)
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    ip = ip[:10] + struct.pack("!H", ~total & 0xffff) + ip[12:]
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
    return eth + ip + tcp + payload


# ---- (a) generated captures against tests/golden ------------------------------------

def generated(tmp):
    names = subprocess.run([GENCAP, "--list"], stdout=subprocess.PIPE, check=True).stdout.decode().split()
    subprocess.run([GENCAP, tmp], check=True)
    golden_dir = os.path.join(TOP_SRCDIR, "tests", "golden")
    for name in names:
        path = os.path.join(tmp, name + ".pcap")
        golden = os.path.join(golden_dir, name + ".json")
        if not os.path.exists(golden):
            report("golden %s" % name, ["no tests/golden/%s.json: run tests/update-golden.sh BUILDDIR %s, "
                                        "then review it" % (name, name)])
            continue
        with open(golden) as f:
            expected = json.load(f)
        check_document("golden %s" % name, path, expected)
    stale = sorted(set(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(golden_dir, "*.json"))) - set(names))
    report("golden files all have a gencap scenario",
           ["tests/golden/%s.json: gencap has no such scenario" % n for n in stale])
    return names


# ---- (b) real captures in pcaps/ --------------------------------------------------------

def real_captures():
    pcaps = sorted(glob.glob(os.path.join(TOP_SRCDIR, "pcaps", "*.pcap")) +
                   glob.glob(os.path.join(TOP_SRCDIR, "pcaps", "*.pcapng")))
    for path in pcaps:
        base = os.path.splitext(path)[0]
        name = os.path.basename(base)
        expected = None
        if os.path.exists(base + ".json"):
            with open(base + ".json") as f:
                expected = json.load(f)
        run = check_document("pcaps %s" % name, path, expected)
        if run is not None and run.doc is not None and os.path.exists(base + ".expect"):
            report("pcaps %s.expect" % name, expect_problems(base + ".expect", run.doc))


# ---- (e) the command line -------------------------------------------------------------------

def one_line_naming(run, what):
    lines = run.stderr_lines()
    if len(lines) != 1:
        return ["expected one line on stderr naming %s, got %d: %r" % (what, len(lines), run.err[:300])]
    if what not in lines[0]:
        return ["stderr does not name %s: %r" % (what, lines[0])]
    return []


def cli(tmp):
    multi = os.path.join(tmp, "gen-multi.pcap")
    whole = read_json(multi)
    if whole.doc is None:
        report("cli: gen-multi reads", ["no JSON: %s" % whole.err])
        return
    sessions = whole.doc["sessions"]

    missing = os.path.join(tmp, "no-such-capture.pcap")
    run = Run(["--format", "json", missing])
    report("cli: missing file -> exit 2, one line naming it",
           (["exit status %d, expected 2" % run.status] if run.status != 2 else []) + one_line_naming(run, missing))

    # Cut the capture in the middle of record 27 (frame 27, 0-based 26):
    # frames 1-26 are still read and reported.
    with open(multi, "rb") as f:
        data = f.read()
    header, offsets = pcap_records(data)
    cut_record = 26
    trunc = os.path.join(tmp, "truncated.pcap")
    with open(trunc, "wb") as f:
        f.write(data[:offsets[cut_record] + 30])
    run = read_json(trunc)
    problems = ["exit status %d, expected 2" % run.status] if run.status != 2 else []
    problems += one_line_naming(run, trunc)
    # The damaged record starts at this byte: that is the offset worth printing.
    if run.stderr_lines() and ("byte %d" % offsets[cut_record]) not in run.err:
        problems.append("stderr should give the damaged record's offset 'byte %d': %r"
                        % (offsets[cut_record], run.err.strip()))
    if run.doc is None:
        problems.append("no JSON document for what was read before the damage")
    else:
        problems += schema_problems(run.doc)
        got = [(s["id"], s["server"]["ip"], s["kind"]) for s in run.doc["sessions"]]
        want = [(1, "203.0.113.9", "incomplete"), (2, "203.0.113.25", "ok")]
        if got != want:
            problems.append("sessions before the damage: expected %s, got %s" % (want, got))
        if run.doc["stats"]["packets"] != cut_record:
            problems.append("stats.packets: expected %d, got %d" % (cut_record, run.doc["stats"]["packets"]))
    report("cli: truncated capture -> sessions before the damage, offset, exit 2", problems)

    garbage = os.path.join(tmp, "garbage.pcap")
    with open(garbage, "wb") as f:
        f.write(b"From alice@example.org Tue Nov 14 22:13:20 2023\nSubject: not a capture\n\n" * 20)
    run = read_json(garbage)
    report("cli: garbage file -> exit 2, one line naming it",
           (["exit status %d, expected 2" % run.status] if run.status != 2 else []) + one_line_naming(run, garbage))

    # A pcapng record whose 64-bit time is ~584,000 years on (the fuzzer's
    # find: the microseconds overflowed): skipped, counted, one line, exit 2;
    # the good record around it is still read.
    def epb(ts_us, frame):
        pad = b"\0" * (-len(frame) % 4)
        body = struct.pack("<IIIII", 0, ts_us >> 32, ts_us & 0xffffffff, len(frame), len(frame)) + frame + pad
        return struct.pack("<II", 6, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    syn = ipv4_tcp_frame([198, 51, 100, 10], [203, 0, 113, 9], 40000, 25, 0x02, 1000, 0, 64)
    shb = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
    idb = struct.pack("<IIHHII", 1, 20, 1, 0, 262144, 20)
    future = os.path.join(tmp, "far-future.pcapng")
    with open(future, "wb") as f:
        f.write(shb + idb + epb(1700000000 * 10**6, syn) + epb(0xffffffff << 32, syn) + epb(1700000001 * 10**6, syn))
    run = read_json(future)
    problems = ["exit status %d, expected 2" % run.status] if run.status != 2 else []
    problems += one_line_naming(run, future)
    if "1 record with a timestamp before 1970 or after 9999 (damaged) skipped" not in run.err:
        problems.append("stderr does not count the skipped record: %r" % run.err.strip())
    if run.doc is None or run.doc["stats"]["packets"] != 2:
        problems.append("expected a document with the 2 good records read: %s"
                        % (run.doc["stats"] if run.doc else run.parse_error))
    report("cli: pcapng record timestamped past 9999 -> skipped and counted, exit 2", problems)

    empty = os.path.join(tmp, "empty.pcap")
    open(empty, "wb").close()
    run = read_json(empty)
    report("cli: empty file -> exit 2, one line naming it",
           (["exit status %d, expected 2" % run.status] if run.status != 2 else []) + one_line_naming(run, empty))

    for args, what in ((["--format", "xml", multi], "xml"), (["--ports", "0", multi], "--ports"),
                       (["--ports", "25,smtp", multi], "--ports"), (["--ports", "70000", multi], "--ports"),
                       (["--max-flows", "0", multi], "--max-flows"), ([], "capture")):
        run = Run(args)
        problems = ["exit status %d, expected 2" % run.status] if run.status != 2 else []
        if len(run.stderr_lines()) < 1 or what not in run.err:
            problems.append("stderr should say what is wrong (%s): %r" % (what, run.err[:200]))
        if run.out.strip():
            problems.append("nothing should go to stdout: %r" % run.out[:200])
        report("cli: bad command line %s -> exit 2" % " ".join(args[:2]), problems)

    wifi = os.path.join(tmp, "wifi.pcap")
    write_pcap(wifi, 105, [b"\x08\x00" + b"\x00" * 30])      # LINKTYPE_IEEE802_11
    run = read_json(wifi)
    problems = ["exit status %d, expected 2" % run.status] if run.status != 2 else []
    problems += one_line_naming(run, wifi)
    if "not supported" not in run.err and "unsupported" not in run.err:
        problems.append("stderr should say the link type is not supported: %r" % run.err.strip())
    report("cli: unsupported link type (802.11) -> exit 2, clear error", problems)

    # Rotated files: the same capture in two parts gives the same sessions;
    # evidence names its file and numbers frames within it.
    split = 15
    part1, part2 = split_capture(data, split, os.path.join(tmp, "rot1.pcap"), os.path.join(tmp, "rot2.pcap"))
    run = Run(["--format", "json", part1, part2])
    problems = []
    if run.doc is None:
        problems.append("no JSON: %s" % run.err.strip())
    else:
        problems += schema_problems(run.doc)
        if run.doc["inputs"] != [part1, part2]:
            problems.append("inputs: expected %s, got %s" % ([part1, part2], run.doc["inputs"]))
        if run.status != expected_status(whole.doc):
            problems.append("exit status %d, expected %d" % (run.status, expected_status(whole.doc)))
        got = run.doc["sessions"]
        if len(got) != len(sessions):
            problems.append("expected %d sessions, got %d" % (len(sessions), len(got)))
        for i, (a, b) in enumerate(zip(sessions, got)):
            a, b = dict(a), dict(b)
            ev_a, ev_b = a.pop("evidence"), b.pop("evidence")
            problems += ["sessions[%d]: %s" % (i, p) for p in diff(a, b)]
            # Map each evidence entry back to its frame in the single file.
            mapped = []
            for e in ev_b:
                e = dict(e)
                f = e.pop("file", None)
                if f == part2:
                    e["frame"] += split
                elif f != part1:
                    problems.append("sessions[%d] evidence frame %s names file %r" % (i, e["frame"], f))
                mapped.append(e)
            problems += ["sessions[%d].evidence%s" % (i, p) for p in diff(ev_a, mapped)]
    report("cli: two rotated files = the single file, evidence names its file", problems)

    with open(multi, "rb") as f:
        run = Run(["--format", "json", "-"], stdin=f)
    problems = []
    if run.doc is None:
        problems.append("no JSON: %s" % run.err.strip())
    else:
        if run.doc["inputs"] != ["-"]:
            problems.append("inputs: expected [\"-\"], got %s" % run.doc["inputs"])
        a = normalise(whole.doc)
        b = normalise(run.doc)
        a.pop("inputs"), b.pop("inputs")
        problems += diff(a, b)
    report("cli: - reads standard input", problems)

    run = Run(["--format", "json", multi, "host", "203.0.113.9"])
    problems = []
    if run.doc is None:
        problems.append("no JSON: %s" % run.err.strip())
    else:
        got = run.doc["sessions"]
        want = [s for s in sessions if s["server"]["ip"] == "203.0.113.9"]
        if [s["server"]["ip"] for s in got] != ["203.0.113.9"]:
            problems.append("expected one session to 203.0.113.9, got %s" % [s["server"]["ip"] for s in got])
        elif want:
            # Frame numbers stay those of the file.
            problems += diff([e["frame"] for e in want[0]["evidence"]], [e["frame"] for e in got[0]["evidence"]])
            if [e["frame"] for e in got[0]["evidence"]] != [1, 32]:
                problems.append("evidence frames %s, expected [1, 32]" % [e["frame"] for e in got[0]["evidence"]])
        if run.doc["stats"]["packets"] != 4:
            problems.append("stats.packets: expected 4 (the filtered frames), got %s" % run.doc["stats"]["packets"])
        if run.status != 1:
            problems.append("exit status %d, expected 1" % run.status)
    report("cli: trailing BPF expression restricts sessions, frame numbers kept", problems)

    run = Run(["--format", "json", multi, "tcp", "port", "(("])
    problems = ["exit status %d, expected 2" % run.status] if run.status != 2 else []
    if "filter" not in run.err:
        problems.append("stderr should name the bad filter: %r" % run.err.strip())
    report("cli: bad BPF expression -> exit 2", problems)


def rotated_reset(tmp):
    """pcaps/rst-mid-data.pcap cut between the client's last data (frame 21)
    and the forged RST (frame 22, frame 1 of the second file): frame numbers
    of different files do not compare, so the evidence must still name the
    last data before the reset, as it does for the single file."""
    src = os.path.join(TOP_SRCDIR, "pcaps", "rst-mid-data.pcap")
    whole = read_json(src)
    with open(src, "rb") as f:
        data = f.read()
    split = 21
    part1, part2 = split_capture(data, split, os.path.join(tmp, "rst1.pcap"), os.path.join(tmp, "rst2.pcap"))
    run = Run(["--format", "json", part1, part2])
    problems = []
    if run.doc is None or whole.doc is None:
        report("cli: rotated files: evidence order across files", ["no JSON: %s" % run.err.strip()])
        return
    want = [(e["frame"], e["fact"]) for e in whole.doc["sessions"][0]["evidence"]]
    got = [(e["frame"] + (split if e.get("file") == part2 else 0), e["fact"])
           for e in run.doc["sessions"][0]["evidence"]]
    if got != want:
        problems.append("evidence %s, expected (as the single file) %s" % (got, want))
    if not any("last data from the client" in fact for _, fact in got):
        problems.append("the client's last data before the reset is missing from the evidence")
    report("cli: rotated files: evidence order across files (rst-mid-data cut before the RST)", problems)


def flow_cap():
    """--max-flows 1 on a capture with concurrent sessions: evictions are a
    cap met, counted in stats (evicted, cap_hits) with the table's peak."""
    src = os.path.join(TOP_SRCDIR, "pcaps", "multi-session.pcap")
    run = Run(["--format", "json", "--max-flows", "1", src])
    problems = []
    if run.doc is None:
        report("cli: --max-flows 1: evictions counted in stats", ["no JSON: %s" % run.err.strip()])
        return
    st = run.doc["stats"]
    if not st.get("evicted"):
        problems.append("stats.evicted %s: expected evictions with one flow at a time" % st.get("evicted"))
    if st.get("active_max") != 1:
        problems.append("stats.active_max %s, expected 1" % st.get("active_max"))
    if st.get("cap_hits", 0) < st.get("evicted", 0):
        problems.append("stats.cap_hits %s below evicted %s" % (st.get("cap_hits"), st.get("evicted")))
    report("cli: --max-flows 1: evictions counted in stats (cap_hits, active_max)", problems)


def held_refusals_capture(path, extra=100):
    """MX_HELD_REFUSALS + EXTRA refused SYNs to distinct servers (client
    ports from 20000), then one handshake with each server (from 40000):
    their hops become known only then.  Returns (refusals, extra)."""
    n = int(CAPS["MX_HELD_REFUSALS"]) + extra
    gw = [198, 51, 100, 10]
    frames = []
    for i in range(n):
        server = [198, 18, i >> 8, i & 255]
        frames.append(ipv4_tcp_frame(gw, server, 20000 + i, 25, 0x02, 1000, 0, 64))
        frames.append(ipv4_tcp_frame(server, gw, 25, 20000 + i, 0x14, 0, 1001, 52))
    for i in range(n):
        server = [198, 18, i >> 8, i & 255]
        frames.append(ipv4_tcp_frame(gw, server, 40000 + i, 25, 0x02, 5000, 0, 64))
        frames.append(ipv4_tcp_frame(server, gw, 25, 40000 + i, 0x12, 9000, 5001, 52))
    write_pcap(path, 1, frames)
    return n, extra


def held_refusals(tmp):
    """`read --format json` holds a refusal judged before its server's hop
    was known, to judge it again at the end; it holds MX_HELD_REFUSALS
    (src/caps.h) at most, and writes the oldest beyond that as judged then.
    Capture: EXTRA + HELD refused SYNs to distinct servers, then one
    handshake with each server (their hops become known only then).  The
    EXTRA oldest refusals stay uncertain (confidence low), the HELD newest
    are judged again: the server's own hop refused them (confidence high)."""
    path = os.path.join(tmp, "held-refusals.pcap")
    n, extra = held_refusals_capture(path)
    held = n - extra
    run = read_json(path)
    problems = []
    if run.doc is None:
        report("cli: held refusals capped at MX_HELD_REFUSALS", ["no JSON: %s" % run.err.strip()])
        return
    refused = [s for s in run.doc["sessions"] if s["kind"] == "connect_refused"]
    if len(refused) != n:
        problems.append("%d connect_refused sessions, expected %d" % (len(refused), n))
    ports = lambda want: sorted(s["client"]["port"] for s in refused if s["culprit"]["confidence"] == want)
    low, high = ports("low"), ports("high")
    if low != list(range(20000, 20000 + extra)):
        problems.append("uncertain refusals: %d (client ports %s...), expected the %d oldest"
                        % (len(low), low[:5], extra))
    if high != list(range(20000 + extra, 20000 + n)):
        problems.append("refusals judged again: %d, expected the %d newest" % (len(high), held))
    st = run.doc["stats"]
    if st.get("refusals_judged_early") != extra or st.get("cap_hits") != extra:
        problems.append("stats: refusals_judged_early %s, cap_hits %s, expected %d each (the cap, counted)"
                        % (st.get("refusals_judged_early"), st.get("cap_hits"), extra))
    problems += schema_problems(run.doc)
    report("cli: held refusals capped at MX_HELD_REFUSALS (%d)" % held, problems)


# ---- (f) --maillog: a shifted log, rotated and gzip files, bad lines, bad options ----------

def shift_syslog(text, seconds):
    """The traditional stamps ("Dec 03 08:15:21") of a log moved by seconds (year: 2026)."""
    import datetime
    out = []
    for line in text.splitlines(True):
        m = re.match(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2})(.*)", line, re.S)
        if not m:
            out.append(line)
            continue
        t = datetime.datetime.strptime("2026 %s %s %s" % m.group(1, 2, 3), "%Y %b %d %H:%M:%S")
        t += datetime.timedelta(seconds=seconds)
        out.append(t.strftime("%b %d %H:%M:%S") + m.group(4))
    return "".join(out)


def maillog(tmp):
    import gzip
    pcap = os.path.join(TOP_SRCDIR, "pcaps", "mx-fallback.pcap")
    with open(os.path.join(TOP_SRCDIR, "pcaps", "mx-fallback.maillog")) as f:
        log = f.read()
    want = normalise(json.load(open(os.path.join(TOP_SRCDIR, "pcaps", "mx-fallback.json"))))

    def joins(doc):
        return [[(c["session"], c["kind"]) for a in e["attempts"] for c in a["connections"]]
                for e in doc.get("queue", [])]

    # A log in local time (+01:00) whose clock runs 3 min 20 s ahead of the capture's.
    shifted = os.path.join(tmp, "shifted.maillog")
    with open(shifted, "w") as f:
        f.write(shift_syslog(log, 3600 + 200))
    run = read_json(pcap, ["--maillog", shifted, "--maillog-tz", "+01:00"])
    problems = schema_problems(run.doc) if run.doc else ["not JSON: %s" % run.err[:200]]
    if run.doc:
        if joins(run.doc) != joins(want):
            problems.append("joins %s, expected %s" % (joins(run.doc), joins(want)))
        off = run.doc["maillog"]["clock_offset_s"]
        if not 199 <= off <= 201:
            problems.append("clock_offset_s %s, expected 200 (+-1)" % off)
    report("maillog: a log in +01:00, 200 s ahead, still joins", problems)

    # The same log cut in two and rotated (older half gzip-compressed, given last),
    # with junk and a damaged line: same joins, the bad lines counted and named.
    lines = log.splitlines(True)
    half = len(lines) // 2
    older, newer = os.path.join(tmp, "mail.log.1.gz"), os.path.join(tmp, "mail.log")
    with gzip.open(older, "wt") as f:
        f.write("".join(lines[:half]))
    with open(newer, "w") as f:
        f.write("\x00\xff not a log line\n" + "".join(lines[half:]) +
                "Dec 03 08:15:22 gw postfix/smtp[1]: 4F2A1C3D5E: to=<x@example.net>, relay=none, delay=1\n")
    run = read_json(pcap, ["--maillog", newer, "--maillog", older])
    problems = schema_problems(run.doc) if run.doc else ["not JSON: %s" % run.err[:200]]
    if run.doc:
        if joins(run.doc) != joins(want):
            problems.append("joins %s, expected %s" % (joins(run.doc), joins(want)))
        f0 = run.doc["maillog"]["files"][0]
        if (f0["unknown"], f0["first_unknown"], f0["damaged"]) != (1, 1, 1):
            problems.append("unknown/first/damaged %s" % [f0["unknown"], f0["first_unknown"], f0["damaged"]])
        if run.status != 1 or run.stderr_lines():
            problems.append("exit %d, stderr %r" % (run.status, run.err[:200]))
    report("maillog: rotated, gzip, in any order, bad lines counted", problems)

    # A log that cannot be opened or a zone that is none: one line, exit 2.
    problems = []
    for args, what in ((["--maillog", os.path.join(tmp, "missing.log")], "missing.log"),
                       (["--maillog", newer, "--maillog-tz", "Mars/Olympus"], "Mars/Olympus"),
                       (["--maillog-tz", "UTC"], "--maillog")):
        r = Run(args + [pcap])
        if r.status != 2 or len(r.stderr_lines()) != 1 or what not in r.err:
            problems.append("%s: exit %d, stderr %r" % (" ".join(args), r.status, r.err[:200]))
    report("maillog: bad --maillog and --maillog-tz are one-line errors", problems)


def main():
    for tool in (MXRAY, GENCAP):
        if not os.access(tool, os.X_OK):
            print("pcap-regress: %s is not built" % tool)
            return 99
    print("schema: %s" % (SCHEMA_PATH or "none found"))
    tmp = tempfile.mkdtemp(prefix="mxray-regress.")
    try:
        generated(tmp)
        real_captures()
        cli(tmp)
        held_refusals(tmp)
        maillog(tmp)
        rotated_reset(tmp)
        flow_cap()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
