#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""report-check.py — the support-ticket bundle on the real captures in pcaps/.

For every capture with a failed, rejected or warned session:
  - Markdown and HTML reports name each listed session's kind and culprit
    role, every evidence frame ("frame N"), and mark the decisive frames
    of the drawn ladders ("*" in the Markdown block, a diamond in the SVG);
  - the HTML is well-formed (xml.etree, strict) and balanced (html.parser),
    self-contained (no scripts, no stylesheets or images to load, no
    http:// or https:// anywhere), and renders in headless Chromium with
    the key text in the dumped DOM (skipped, and said so, without chromium);
  - the evidence capture read again by mxray gives the same kinds, phases
    and culprit roles for those sessions, and tshark reads it cleanly;
  - message bodies and AUTH exchanges (swaks's PLAIN and LOGIN, real
    capture) never reach a redacted evidence capture, and do with
    --keep-payload; --redact-addresses hides local parts at equal length;
  - a capture with more sessions than a ticket keeps (MX_TICKET_SESSIONS_KEPT,
    src/caps.h): failures take the place of clean sessions, the rest are
    counted, and both reports say so.
One screenshot is written to $REPORT_SCREENSHOT (default: a temporary file,
printed) for a person to look at.

Environment (set by `make check`): MXRAY, TOP_SRCDIR.  Exit 0 pass, 1 fail,
77 when the program or the captures are missing.
"""
import glob
import html.parser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

MXRAY = os.environ.get("MXRAY", "src/mxray")
TOP = os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
PCAPS = os.path.join(TOP, "pcaps")

# Strings of message bodies in the captures (pcaps/README.md): the marker of
# rst-mid-data, swaks's own header, the Received: loop of mail-loop-hops.
BODY_MARKERS = [b"MARKER-RESET", b"X-Mailer: swaks", b"LOOP1;"]

# The capture writer and the caps.h reader of pcap-regress.py, not a copy.
_spec = importlib.util.spec_from_file_location("pcap_regress", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                            "pcap-regress.py"))
regress = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regress)

failures = []
notes = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)


def mxray(*args):
    p = run([MXRAY, "read", *args])
    if p.returncode not in (0, 1):
        fail("mxray read %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.decode(errors="replace").strip()))
    return p


def listed(s):
    return s["outcome"] in ("failed", "rejected", "incomplete") or s["warnings"]


def key(s):
    return (s["client"]["port"], s["kind"], s["phase"], s["culprit"]["role"])


class Balance(html.parser.HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source", "track", "embed"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.remote = [], [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data", "poster") and value is not None:
                self.remote.append("%s=%s" % (name, value))
        if tag in ("script", "link", "img", "iframe", "object", "embed"):
            self.remote.append("<%s>" % tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
        else:
            self.stack.pop()


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium(binary, page, extra):
    profile = tempfile.mkdtemp(prefix="mxray-chromium-")
    try:
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, *extra, "file://" + os.path.abspath(page)]
        return run(args)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def check_markdown(name, text, doc):
    for s in doc["sessions"]:
        if not listed(s):
            continue
        for word in (s["kind"], s["culprit"]["role"]):
            if word not in text:
                fail("%s: markdown lacks %r" % (name, word))
        for e in s["evidence"]:
            if not re.search(r"\bframe %d\b" % e["frame"], text):
                fail("%s: markdown lacks evidence frame %d of session %d" % (name, e["frame"], s["id"]))
        if s["mta_status"] and s["mta_status"] not in text.replace("\\", ""):
            fail("%s: markdown lacks the MTA status %r" % (name, s["mta_status"]))
    # Decisive lines of the drawn ladders: "*" then the frame number.
    blocks = re.findall(r"```text\n(.*?)```", text, re.S)
    marked = {int(m) for b in blocks for m in re.findall(r"^\*\s+(\d+)\s", b, re.M)}
    if any(listed(s) and s["evidence"] for s in doc["sessions"]) and not marked:
        fail("%s: no decisive packet marked in any markdown ladder" % name)


def check_html(name, page, doc):
    data = open(page, "rb").read()
    text = data.decode("utf-8")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        fail("%s: HTML is not well-formed XML: %s" % (name, e))
        return None
    b = Balance()
    b.feed(text)
    b.close()
    if b.errors or b.stack:
        fail("%s: unbalanced tags: %s %s" % (name, b.errors[:3], b.stack[:3]))
    if b.remote:
        fail("%s: references to load: %s" % (name, b.remote[:5]))
    if re.search(r"https?://|url\(|@import", text):
        fail("%s: a remote reference or CSS load in the HTML" % name)
    if "<script" in text.lower():
        fail("%s: script in the HTML" % name)
    if "@media print" not in text or "<details" not in text:
        fail("%s: no print styles or no collapsible sections" % name)
    all_text = " ".join(root.itertext())
    for s in doc["sessions"]:
        if not listed(s):
            continue
        for word in (s["kind"], s["culprit"]["role"]):
            if word not in all_text:
                fail("%s: HTML lacks %r" % (name, word))
        for e in s["evidence"]:
            if not re.search(r"\bframe %d\b" % e["frame"], all_text):
                fail("%s: HTML lacks evidence frame %d" % (name, e["frame"]))
        if s["mta_status"] and s["mta_status"] not in all_text:
            fail("%s: HTML lacks the MTA status %r" % (name, s["mta_status"]))
    svg_marks = re.findall("\u25c6 (\\d+)</text>", text)
    if any(listed(s) and s["evidence"] for s in doc["sessions"]):
        if "<svg" not in text:
            fail("%s: no SVG ladder" % name)
        elif not svg_marks:
            fail("%s: no decisive arrow marked in the SVG ladders" % name)
    return all_text


def check_evidence(name, pcap, doc, tmp, tshark):
    ev = os.path.join(tmp, name + ".evidence.pcap")
    p = mxray("--format", "json", "--evidence", ev, pcap)
    if not os.path.exists(ev):
        fail("%s: no evidence capture written: %s" % (name, p.stderr.decode(errors="replace").strip()))
        return
    again = json.loads(mxray("--format", "json", ev).stdout)
    listed_sessions = [s for s in doc["sessions"] if s["outcome"] in ("failed", "rejected") or s["warnings"]]
    want = sorted(key(s) for s in listed_sessions)
    # One direction only: no reply confirms the client's commands, so the
    # evidence blanks them (fail closed) and its re-read may place the session
    # in an earlier phase; kind and role must still hold.
    one_sided = {s["client"]["port"] for s in listed_sessions
                 if any(w["kind"] == "one_sided_capture" for w in s["warnings"])}
    # A capture that began mid-session (a rotated file: no SYN): the
    # evidence blanks every line the parser was not sure of, the replies
    # that carry the verdict included (fail closed), so its re-read may
    # judge otherwise; the session must still be in it.
    mid_session = {s["client"]["port"] for s in listed_sessions if s["tcp"]["syn_count"] == 0}
    got_by_port = {}
    for s in again["sessions"]:
        got_by_port.setdefault(s["client"]["port"], []).append(key(s))
    for k in want:
        got = got_by_port.get(k[0], [])
        if k[0] in one_sided and any(g[1] == k[1] and g[3] == k[3] for g in got):
            continue
        if k[0] in mid_session and got:
            continue
        if k not in got:
            fail("%s: evidence re-read: session from port %d was %s/%s/%s, now %s" %
                 (name, k[0], k[1], k[2], k[3], got_by_port.get(k[0], "absent")))
    if tshark:
        t = run([tshark, "-r", ev])
        err = t.stderr.decode(errors="replace")
        err = "\n".join(l for l in err.splitlines() if "as user \"root\"" not in l and "could be dangerous" not in l)
        if t.returncode != 0 or err.strip():
            fail("%s: tshark on the evidence capture: exit %d %s" % (name, t.returncode, err.strip()[:200]))
    data = open(ev, "rb").read()
    original = open(pcap, "rb").read()
    for m in BODY_MARKERS:
        if m in data:
            fail("%s: body string %r in the redacted evidence capture" % (name, m.decode()))
    return original


def ticket_cap_capture(path, clean, refused, servers):
    """CLEAN clean sessions (greeting, QUIT) to one server, then REFUSED
    SYNs refused by SERVERS others in turn, 1 ms apart: every session ends
    at the end of the capture, oldest first."""
    F = regress.ipv4_tcp_frame
    gw, mx = [198, 51, 100, 10], [192, 0, 2, 25]
    frames = []
    for i in range(clean):
        port, c, sv = 30000 + i, 1000, 5000
        frames += [F(gw, mx, port, 25, 0x02, c, 0, 64), F(mx, gw, 25, port, 0x12, sv, c + 1, 52),
                   F(gw, mx, port, 25, 0x10, c + 1, sv + 1, 64)]
        sv += 1
        for side, text in ((mx, b"220 mx.example.net ESMTP\r\n"), (gw, b"QUIT\r\n"), (mx, b"221 2.0.0 Bye\r\n")):
            if side == mx:
                frames.append(F(mx, gw, 25, port, 0x18, sv, c + 1, 52, text))
                sv += len(text)
            else:
                frames.append(F(gw, mx, port, 25, 0x18, c + 1, sv, 64, text))
                c += len(text)
        frames += [F(mx, gw, 25, port, 0x11, sv, c + 1, 52), F(gw, mx, port, 25, 0x11, c + 1, sv + 1, 64),
                   F(mx, gw, 25, port, 0x10, sv + 1, c + 2, 52)]
    for i in range(refused):
        server = [198, 18, 0, i % servers]
        frames.append(F(gw, server, 10000 + i, 25, 0x02, 1000, 0, 64))
        frames.append(F(server, gw, 25, 10000 + i, 0x14, 0, 1001, 52))
    regress.write_pcap(path, 1, frames, step_us=1000)


def ticket_cap(tmp):
    """Past MX_TICKET_SESSIONS_KEPT: the first CAP - CLEAN refusals fill the
    ticket, the next CLEAN take the clean sessions' places, the last EXTRA
    are only counted (sessions 1..CLEAN are clean, then the refusals)."""
    cap = regress.CAPS["MX_TICKET_SESSIONS_KEPT"]
    clean, extra, servers = 200, 50, 10
    refused = cap + extra
    pcap = os.path.join(tmp, "ticket-cap.pcap")
    ticket_cap_capture(pcap, clean, refused, servers)
    total = clean + refused
    kept = set(range(clean + 1, clean + cap + 1))
    md = mxray("--format", "markdown", pcap).stdout.decode("utf-8")
    sentence = "This report lists %d of the %d sessions" % (cap, total)
    if sentence not in md or ("the other %d are in the counts" % (total - cap)) not in md:
        fail("ticket cap: Markdown does not say '%s ... the other %d'" % (sentence, total - cap))
    if ("%d SMTP sessions: %d ok, %d failed" % (total, clean, refused)) not in md:
        fail("ticket cap: Markdown counts are not of every session")
    examples = set(int(x) for x in re.findall(r"the worked example is session #(\d+)\.", md))
    rows = set(int(x) for x in re.findall(r"^\| (\d+) \| [^|]+ \| [^|]+ \| [^|]+ \|$", md, re.M))
    if len(examples) != servers or examples | rows != kept:
        fail("ticket cap: Markdown lists %d groups and sessions %s..%s (%d), expected %d groups, sessions %d..%d"
             % (len(examples), min(examples | rows, default=0), max(examples | rows, default=0),
                len(examples | rows), servers, min(kept), max(kept)))
    if ("(%d more sessions to this server not listed.)" % clean) not in md:
        fail("ticket cap: the clean server's table does not count its %d sessions as not listed" % clean)
    page = mxray("--format", "html", pcap).stdout.decode("utf-8")
    if sentence not in page or page.count("<h3>Other sessions in this group</h3>") != servers:
        fail("ticket cap: HTML lacks the sentence or has not %d groups" % servers)


def main():
    if not os.access(MXRAY, os.X_OK) or not glob.glob(os.path.join(PCAPS, "*.pcap")):
        print("SKIP: no mxray binary (%s) or no captures in %s" % (MXRAY, PCAPS))
        return 77
    tshark = shutil.which("tshark")
    browser = chromium_binary()
    tmp = tempfile.mkdtemp(prefix="mxray-report-check-")
    checked = 0
    pages = []
    try:
        for pcap in sorted(glob.glob(os.path.join(PCAPS, "*.pcap"))):
            name = os.path.basename(pcap)[:-5]
            doc = json.loads(mxray("--format", "json", pcap).stdout)
            if not any(listed(s) for s in doc["sessions"]):
                continue
            checked += 1
            md = mxray("--format", "markdown", pcap).stdout.decode("utf-8")
            check_markdown(name, md, doc)
            page = os.path.join(tmp, name + ".html")
            with open(page, "wb") as f:
                f.write(mxray("--format", "html", pcap).stdout)
            if check_html(name, page, doc) is not None:
                pages.append((name, page, doc))
            check_evidence(name, pcap, doc, tmp, tshark)

        # Payload: the marker reaches the evidence only with --keep-payload.
        rst = os.path.join(PCAPS, "rst-mid-data.pcap")
        if os.path.exists(rst):
            if b"MARKER-RESET" not in open(rst, "rb").read():
                fail("rst-mid-data.pcap: the body marker MARKER-RESET is not in the original capture")
            kept = os.path.join(tmp, "kept.pcap")
            mxray("--format", "json", "--evidence", kept, "--keep-payload", rst)
            if b"MARKER-RESET" not in open(kept, "rb").read():
                fail("rst-mid-data: --keep-payload evidence lacks MARKER-RESET")
            md = mxray("--format", "markdown", "--evidence", os.path.join(tmp, "named.pcap"), rst).stdout.decode()
            if not re.search(r"frame \d+ \(evidence frame \d+\)", md):
                fail("rst-mid-data: the report does not name frames in both files")
            if "checksum" not in md:
                fail("rst-mid-data: the report does not say the checksums were left as they were")
        lossy = os.path.join(PCAPS, "slow-lossy.pcap")
        if os.path.exists(lossy):
            kept = os.path.join(tmp, "lossy-kept.pcap")
            mxray("--format", "json", "--evidence", kept, "--keep-payload", lossy)
            if b"X-Mailer: swaks" not in open(kept, "rb").read():
                fail("slow-lossy: --keep-payload evidence lacks the warned session's body")

        # AUTH: a real client's PLAIN initial response and LOGIN rounds are
        # blanked in the evidence, and kept with --keep-payload.
        auth = os.path.join(PCAPS, "auth-rejected.pcap")
        if os.path.exists(auth):
            import base64
            secrets = [base64.b64encode(b"\0relay@gw.example.org\0AUTHMARKER-plain-s3cret"),
                       base64.b64encode(b"relay@gw.example.org"), base64.b64encode(b"AUTHMARKER-login-s3cret")]
            if not all(x in open(auth, "rb").read() for x in secrets):
                fail("auth-rejected.pcap: the AUTH credentials are not in the original capture")
            for extra, want in (([], False), (["--keep-payload"], True)):
                ev = os.path.join(tmp, "auth%s.pcap" % ("-kept" if want else ""))
                mxray("--format", "json", "--evidence", ev, *extra, auth)
                data = open(ev, "rb").read()
                found = [x.decode() for x in secrets if x in data]
                if want and len(found) != len(secrets):
                    fail("auth-rejected: --keep-payload evidence lacks AUTH credentials")
                if not want and found:
                    fail("auth-rejected: evidence keeps AUTH credentials %s" % found)
                if b"AUTH PLAIN " not in data or b"AUTH LOGIN" not in data:
                    fail("auth-rejected: the AUTH commands themselves should stay in the evidence")

        # Addresses: local parts replaced at equal length, verdict unchanged.
        rej = os.path.join(PCAPS, "mail-rejected.pcap")
        if os.path.exists(rej):
            ev = os.path.join(tmp, "addr.pcap")
            mxray("--format", "json", "--evidence", ev, "--redact-addresses", rej)
            data = open(ev, "rb").read()
            if b"sender@gw.example.org" in data or b"user@example.net" in data:
                fail("mail-rejected: --redact-addresses left a local part")
            if b"@gw.example.org>" not in data:
                fail("mail-rejected: --redact-addresses lost the domain")
            a = json.loads(mxray("--format", "json", rej).stdout)["sessions"]
            b = json.loads(mxray("--format", "json", ev).stdout)["sessions"]
            if [key(s) for s in a] != [key(s) for s in b]:
                fail("mail-rejected: verdicts changed by --redact-addresses")

        ticket_cap(tmp)

        # Standard input cannot be read twice.
        if os.path.exists(rst):
            with open(rst, "rb") as f:
                p = run([MXRAY, "read", "--evidence", os.path.join(tmp, "x.pcap"), "-"], stdin=f)
            if p.returncode != 2 or b"standard input" not in p.stderr:
                fail("--evidence with stdin: exit %d, %r" % (p.returncode, p.stderr[:200]))

        # The browser: every page renders with its key text; one screenshot.
        if browser is None:
            notes.append("SKIPPED: browser checks (install the Debian package chromium)")
        else:
            for name, page, doc in pages:
                p = chromium(browser, page, ["--dump-dom"])
                dom = p.stdout.decode("utf-8", errors="replace")
                want = ["Answer:"] + [s["kind"] for s in doc["sessions"] if listed(s)]
                missing = [w for w in want if w not in dom]
                if p.returncode != 0 or missing:
                    fail("%s: chromium DOM lacks %s (exit %d)" % (name, missing, p.returncode))
            if pages:
                shot = os.environ.get("REPORT_SCREENSHOT") or os.path.join(tempfile.gettempdir(), "mxray-report.png")
                page = next((p for n, p, d in pages if n == "rst-mid-data"), pages[0][1])
                chromium(browser, page, ["--screenshot=" + shot, "--window-size=1280,2400", "--hide-scrollbars"])
                if not os.path.exists(shot) or os.path.getsize(shot) < 20000:
                    fail("chromium screenshot missing or blank: %s" % shot)
                else:
                    notes.append("screenshot of %s: %s" % (os.path.basename(page), shot))
            notes.append("browser: %d pages rendered by %s" % (len(pages), browser))
        if not tshark:
            notes.append("SKIPPED: tshark checks of the evidence captures (install tshark)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    for n in notes:
        print(n)
    print("%d failure captures checked, %d problems" % (checked, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
