#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""tests/redact-check.py — the evidence capture leaks nothing of bodies and AUTH.

For every leak class of issue 17 a capture with its own planted secrets;
mxray read --evidence writes the evidence, and each secret is looked for in
the file's raw bytes AND in every reassembly of every TCP direction in it
(first copy wins, last copy wins), as a reader of the file would see them.

  (a) real captures from the test network (pcaps/, Postfix + swaks), and
      every file a `tcpdump -C/-G` rotation could cut from them (each frame
      boundary: the rest of the capture from there), and each with one
      server segment dropped (as a BPF drop under load does); among them
      captures made for this suite with planted secrets (PLANTED);
  (b) crafted captures for what no stack sends on demand: bare-LF end of
      data (smuggling shape), a retransmission whose copies differ,
      AUTH<TAB>PLAIN and AUTH LOGIN, a capture starting mid-AUTH and
      mid-body, a lost 354, an extra reply, ICMP and ICMPv6 errors quoting a
      body, TLS after STARTTLS.

And the other way: the dialogue around them (EHLO, MAIL FROM, the replies)
is still there, and every TCP and ICMP checksum of the file is right.

Environment (set by `make check`): MXRAY, TOP_SRCDIR.  Exit 0 pass, 1 fail.
"""
import base64
import os
import struct
import subprocess
import sys
import tempfile

MXRAY = os.environ.get("MXRAY", "src/mxray")
TOP = os.environ.get("TOP_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


# ---- pcap reading and reassembly ---------------------------------------------------

def read_pcap(path):
    data = open(path, "rb").read()
    if len(data) < 24:
        return 1, []
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    linktype = struct.unpack(end + "I", data[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack(end + "IIII", data[off:off + 16])
        frames.append((sec, usec, data[off + 16:off + 16 + caplen], wirelen))
        off += 16 + caplen
    return linktype, frames


def write_pcap(path, linktype, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, linktype))
        for sec, usec, frame, wirelen in frames:
            f.write(struct.pack("<IIII", sec, usec, len(frame), wirelen))
            f.write(frame)


def ip_of(linktype, frame):
    """(offset of the IP header) for Ethernet, Linux cooked v1/v2, raw IP."""
    if linktype == 1:
        off, etype = 14, struct.unpack("!H", frame[12:14])[0]
        while etype in (0x8100, 0x88a8) and len(frame) >= off + 4:
            etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
            off += 4
        return off if etype in (0x0800, 0x86dd) else None
    if linktype == 113:
        return 16
    if linktype == 276:
        return 20
    if linktype in (101, 12, 228, 229):
        return 0
    return None


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def decode(linktype, frame):
    """(proto, src, dst, sport, dport, seq, payload, checksum_ok or None)."""
    o = ip_of(linktype, frame)
    if o is None or len(frame) < o + 20:
        return None
    v = frame[o] >> 4
    if v == 4:
        ihl = (frame[o] & 15) * 4
        total = struct.unpack("!H", frame[o + 2:o + 4])[0]
        proto, src, dst = frame[o + 9], frame[o + 12:o + 16], frame[o + 16:o + 20]
        t, tlen = o + ihl, total - ihl
    elif v == 6:
        plen = struct.unpack("!H", frame[o + 4:o + 6])[0]
        proto, src, dst = frame[o + 6], frame[o + 8:o + 24], frame[o + 24:o + 40]
        t, tlen = o + 40, plen
    else:
        return None
    seg = frame[t:t + tlen]
    ok = None
    if len(seg) == tlen and proto in (6, 1, 58):
        pseudo = src + dst + struct.pack("!IxxxB", tlen, proto) if proto in (6, 58) else b""
        ok = csum(pseudo + seg) == 0xffff
    if proto == 6 and len(seg) >= 20:
        sport, dport, seq = struct.unpack("!HHI", seg[:8])
        doff = (seg[12] >> 4) * 4
        return (6, src, dst, sport, dport, seq, seg[doff:], ok)
    return (proto, src, dst, 0, 0, 0, seg, ok)


def reassemblies(linktype, frames):
    """Per TCP direction: (first copy wins, last copy wins) byte strings
    (holes as NUL), offsets from the lowest sequence number seen."""
    dirs = {}
    for _, _, frame, _ in frames:
        d = decode(linktype, frame)
        if d and d[0] == 6 and d[6]:
            dirs.setdefault(d[1:5], []).append((d[5], d[6]))
    out = []
    for segs in dirs.values():
        base = min(s for s, _ in segs)
        first, last = {}, {}
        for seq, p in segs:
            for i, b in enumerate(p):
                o = (seq - base) % (1 << 32) + i
                first.setdefault(o, b)
                last[o] = b
        n = max(first) + 1 if first else 0
        out.append(bytes(first.get(i, 0) for i in range(n)))
        out.append(bytes(last.get(i, 0) for i in range(n)))
    return out


def evidence(name, pcap, tmp, extra=()):
    ev = os.path.join(tmp, name + ".evidence.pcap")
    if os.path.exists(ev):
        os.unlink(ev)
    p = subprocess.run([MXRAY, "read", "--format", "json", "--evidence", ev, *extra, pcap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1) or not os.path.exists(ev):
        fail("%s: mxray exit %d: %s" % (name, p.returncode, p.stderr.decode(errors="replace").strip()[:300]))
        return None, p
    return ev, p


def check_no_secrets(name, ev, secrets):
    raw = open(ev, "rb").read()
    linktype, frames = read_pcap(ev)
    views = [("raw bytes", raw)] + [("reassembly %d" % i, r) for i, r in enumerate(reassemblies(linktype, frames))]
    for secret in secrets:
        for what, data in views:
            if secret in data:
                fail("%s: %r in the evidence (%s)" % (name, secret, what))
                break
    for i, (_, _, frame, _) in enumerate(frames):
        d = decode(linktype, frame)
        if d and d[7] is False:
            fail("%s: evidence frame %d has a wrong checksum" % (name, i + 1))
    return raw, views


def check_kept(name, views, wanted):
    if len(views) == 1:
        return               # no TCP in the file: nothing failed
    for w in wanted:
        if not any(w in data for _, data in views[1:]):
            fail("%s: %r no longer in the evidence (the dialogue must stay)" % (name, w))


# ---- crafted captures ---------------------------------------------------------------

GW4, MX4, RT4 = bytes([198, 51, 100, 10]), bytes([203, 0, 113, 25]), bytes([198, 51, 100, 1])
GW6 = bytes.fromhex("20010db8000000000000000000000010")
MX6 = bytes.fromhex("20010db8000100000000000000000025")
RT6 = bytes.fromhex("20010db8000000000000000000000001")
ETH = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"


def tcp_seg(src, dst, sport, dport, flags, seq, ack, payload):
    v6 = len(src) == 16
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    pseudo = src + dst + struct.pack("!IxxxB", len(tcp), 6)
    c = ~csum(pseudo + tcp) & 0xffff
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    return ip_packet(src, dst, 6, tcp)


def ip_packet(src, dst, proto, body, ttl=64):
    if len(src) == 16:
        return ETH + b"\x86\xdd" + struct.pack("!IHBB", 6 << 28, len(body), proto, ttl) + src + dst + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0x4000, ttl, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", ~csum(ip) & 0xffff) + ip[12:]
    return ETH + b"\x08\x00" + ip + body


def icmp_error(src, dst, quoted_frame):
    """Frag needed (v4, MTU 1280) / Packet Too Big (v6) quoting a frame's IP packet."""
    q = quoted_frame[14:]
    if len(src) == 16:
        body = struct.pack("!BBHI", 2, 0, 0, 1280) + q[:1232]
        c = ~csum(src + dst + struct.pack("!IxxxB", len(body), 58) + body) & 0xffff
        return ip_packet(src, dst, 58, body[:2] + struct.pack("!H", c) + body[4:])
    body = struct.pack("!BBHHH", 3, 4, 0, 0, 1280) + q[:548]
    body = body[:2] + struct.pack("!H", ~csum(body) & 0xffff) + body[4:]
    return ip_packet(src, dst, 1, body)


class Session:
    """A TCP session built line by line; c() and s() send, options shape
    what reaches the capture."""

    def __init__(self, port, v6=False, syn=True):
        self.gw, self.mx = (GW6, MX6) if v6 else (GW4, MX4)
        self.port = port
        self.cseq, self.sseq = 1000, 50000
        self.frames = []
        if syn:
            self.add(True, 0x02, b"", seq=self.cseq - 1)
            self.add(False, 0x12, b"", seq=self.sseq - 1)
            self.add(True, 0x10, b"")

    def add(self, client, flags, payload, seq=None, keep=True):
        if client:
            f = tcp_seg(self.gw, self.mx, self.port, 25, flags, self.cseq if seq is None else seq, self.sseq, payload)
        else:
            f = tcp_seg(self.mx, self.gw, 25, self.port, flags, self.sseq if seq is None else seq, self.cseq, payload)
        if keep:
            self.frames.append(f)
        return f

    def c(self, payload, keep=True):
        f = self.add(True, 0x18, payload, keep=keep)
        self.cseq += len(payload)
        return f

    def s(self, payload, keep=True):
        f = self.add(False, 0x18, payload, keep=keep)
        self.sseq += len(payload)
        return f

    def hello(self):
        self.s(b"220 mx.example.net ESMTP\r\n")
        self.c(b"EHLO gw.example.org\r\n")
        self.s(b"250-mx.example.net\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n")

    def envelope(self, go=b"354 go ahead\r\n"):
        """MAIL, RCPT, DATA, each accepted, up to the 354."""
        self.c(b"MAIL FROM:<a@gw.example.org>\r\n")
        self.s(b"250 2.1.0 Ok\r\n")
        self.c(b"RCPT TO:<b@example.net>\r\n")
        self.s(b"250 2.1.5 Ok\r\n")
        self.c(b"DATA\r\n")
        self.s(go)

    def rst(self):
        self.add(True, 0x04, b"")

    def server_rst(self):
        """Ends the session as failed: the server resets it after a command."""
        self.c(b"NOOP\r\n")
        self.add(False, 0x04, b"")


def crafted():
    cases = []

    # Bare LF "." ends the body for some servers only: what follows is body to the others.
    s = Session(40001)
    s.hello()
    s.envelope(b"354 End data with <CR><LF>.<CR><LF>\r\n")
    s.c(b"Subject: x\r\n\r\nline SECRET-A1\n.\nMAIL FROM:<SECRET-A2@x>\r\nRCPT TO:<SECRET-A3@y>\r\nDATA\r\n"
        b"SECRET-A4 smuggled\r\n.\r\n")
    s.s(b"554 5.7.1 bare LF rejected\r\n")
    s.c(b"QUIT\r\n")
    cases.append(("bare-lf", s.frames, [b"SECRET-A"], [b"EHLO gw.example.org", b"554 5.7.1"]))

    # A retransmission whose copies differ: each copy judged on its own.
    s = Session(40002)
    s.hello()
    s.envelope()
    at = s.cseq
    s.c(b"SECRET-B1 body line one\r\n")
    s.add(True, 0x18, b"QUIT\r\nRSET\r\nNOOP\r\nNOOP\r\n", seq=at)        # same length, later copy
    s.c(b".\r\n")
    s.s(b"554 5.7.1 no\r\n")
    at = s.cseq
    s.c(b"MAIL FROM:<c@gw.example.org>\r\n")
    s.add(True, 0x18, b"SECRET-B2-AAAAAAAAAAAAAAAAAAAAAA\r\n"[:len(b"MAIL FROM:<c@gw.example.org>\r\n")], seq=at)
    s.s(b"250 2.1.0 Ok\r\n")
    s.server_rst()
    cases.append(("retransmission-differs", s.frames, [b"SECRET-B"], [b"EHLO gw.example.org"]))

    # AUTH<TAB>PLAIN and AUTH LOGIN.
    s = Session(40003)
    s.hello()
    s.c(b"AUTH LOGIN\r\n")
    s.s(b"334 VXNlcm5hbWU6\r\n")
    s.c(b"SECRET-C3\r\n")
    s.s(b"334 UGFzc3dvcmQ6\r\n")
    s.c(b"SECRET-C4\r\n")
    s.s(b"535 5.7.8 Error: authentication failed\r\n")
    s.c(b"AUTH PLAIN SECRET-C5\r\n")
    s.s(b"535 5.7.8 Error: authentication failed\r\n")
    s.c(b"AUTH\tPLAIN U0VDUkVULUMxAHVzZXIAU0VDUkVULUMx\r\n")
    s.s(b"334 \r\n")
    s.c(b"SECRET-C2\r\n")
    s.s(b"535 5.7.8 Error: authentication failed\r\n")
    s.server_rst()
    cases.append(("auth", s.frames, [b"SECRET-C", b"U0VDUkVULUMx"], [b"AUTH LOGIN", b"535 5.7.8"]))

    # A capture that starts mid-AUTH LOGIN (a rotated file): no SYN, the
    # first client line is the password.
    s = Session(40004, syn=False)
    s.c(b"SECRET-D1\r\n")
    s.s(b"535 5.7.8 Error: authentication failed\r\n")
    s.c(b"AUTH LOGIN\r\n")
    s.s(b"334 VXNlcm5hbWU6\r\n")
    s.c(b"SECRET-D2\r\n")
    s.s(b"535 5.7.8 Error: authentication failed\r\n")
    s.server_rst()      # a failed session, so that there is evidence to write
    cases.append(("mid-auth-login", s.frames, [b"SECRET-D"], []))

    # A capture that starts mid-body, once with a first line like a command.
    for port, first in ((40005, b"SECRET-E1 text"), (40006, b"Data SECRET-E1 as a verb")):
        s = Session(port, syn=False)
        s.c(first + b"\r\nHelp SECRET-E2\r\nMAIL FROM:<SECRET-E3@x>\r\n\r\n")
        s.c(b"SECRET-E4 more\r\n.\r\n")
        s.s(b"554 5.7.1 rejected\r\n")
        s.c(b"QUIT\r\n")
        s.s(b"221 2.0.0 Bye\r\n")
        cases.append(("mid-body-%d" % port, s.frames, [b"SECRET-E"], [b"221 2.0.0"]))

    # The 354 lost (a server segment the capture dropped), and an extra reply.
    for port, lose_354, extra in ((40007, True, False), (40008, False, True), (40009, True, True)):
        s = Session(port)
        s.hello()
        s.c(b"MAIL FROM:<a@gw.example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        s.s(b"250 2.1.0 Ok\r\n" + (b"250 2.0.0 extra\r\n" if extra else b"") + b"250 2.1.5 Ok\r\n")
        s.s(b"354 go ahead\r\n", keep=not lose_354)
        s.c(b"Subject: SECRET-F1\r\n\r\nQUIT\r\nMAIL FROM:<SECRET-F2@x>\r\nSECRET-F3\r\n.\r\n")
        s.s(b"554 5.7.1 rejected\r\n")
        s.server_rst()
        cases.append(("lost-354-%d" % port, s.frames, [b"SECRET-F"], [b"EHLO gw.example.org"]))

    # ICMP and ICMPv6 errors quoting a body segment (PMTU).
    for port, v6 in ((40010, False), (40011, True)):
        s = Session(port, v6=v6)
        s.hello()
        s.envelope()
        big = s.c((b"SECRET-H1 " + b"body " * 20 + b"\r\n") * 12)
        s.frames.append(icmp_error(RT6 if v6 else RT4, s.gw, big))
        s.frames.append(tcp_seg(s.gw, s.mx, port, 25, 0x18, s.cseq - 0, s.sseq, b""))
        s.add(False, 0x04, b"")   # the server resets it: a failed session, with evidence
        cases.append(("icmp-quote-v%d" % (6 if v6 else 4), s.frames, [b"SECRET-H1", b"body body"],
                      [b"354 go ahead"]))

    # TLS after STARTTLS: record headers only.
    s = Session(40012)
    s.hello()
    s.c(b"STARTTLS\r\n")
    s.s(b"220 2.0.0 Ready to start TLS\r\n")
    s.c(b"\x16\x03\x01\x00\x0e\x01SECRET-I1xxxx")
    s.s(b"\x16\x03\x03\x00\x0e\x02SECRET-I2xxxx")
    s.c(b"\x17\x03\x03\x00\x10MAIL FROM:<I3>\r\n")
    s.s(b"\x15\x03\x03\x00\x02\x02\x28")
    s.rst()
    cases.append(("starttls", s.frames, [b"SECRET-I", b"MAIL FROM:<I3>"], [b"STARTTLS", b"\x16\x03\x01\x00\x0e"]))
    return cases


# ---- real captures, cut and thinned ------------------------------------------------

def secrets_of(frames, linktype):
    """The planted secrets of a real capture: body words and AUTH tokens."""
    found = [b"X-Mailer: swaks", b"quick brown fox", b"MARKER-RESET"]
    for stream in reassemblies(linktype, frames)[::2]:
        for line in stream.split(b"\r\n"):
            if line.upper().startswith(b"AUTH PLAIN ") and len(line) > 11:
                found.append(line[11:])
    return found


# Real captures from the test network made for this suite, each with its own
# planted secrets (tests/netns/scenarios.sh sc_redact_*): the secret must be
# in the capture (or the check proves nothing) and nowhere in the evidence.
PLANTED = [
    # r2's fragmentation-needed quotes the body (PMTU discovery on the path).
    ("redact-pmtu-icmp", [b"PLANT-PMTU-Kx41"], [b"EHLO ", b"354 "], "icmp.type==3 code 4"),
    # tcpdump -C: the second file starts mid-body.
    ("redact-cut-body", [b"PLANT-CUTBODY-7Qm2"], [b"221 2.0.0"], None),
    # tcpdump -G: the second file starts with the AUTH LOGIN password (base64).
    ("redact-cut-auth", [base64.b64encode(b"PLANT-CUTAUTH-pass-Zr8")], [b"550 5.7.1"], None),
    # BPF filter: the server's 354 is not in the capture.
    ("redact-bpf-drop", [b"PLANT-BPF-Hn5c"], [b"EHLO ", b"550 5.7.1"], None),
]


def has_frag_needed(linktype, frames):
    for _, _, frame, _ in frames:
        d = decode(linktype, frame)
        if d and d[0] == 1 and len(d[6]) >= 2 and d[6][0] == 3 and d[6][1] == 4:
            return True
    return False


def real_one(name, path, tmp, present, kept):
    """The capture, every file a rotation could start from it, and the
    capture with each server data segment missing in turn."""
    linktype, frames = read_pcap(path)
    ev, _ = evidence(name, path, tmp)
    views = None
    if ev:
        _, views = check_no_secrets(name, ev, present)
        check_kept(name, views, kept)
    # Every file a rotation could start: frames k.. of the capture.
    for k in range(1, len(frames)):
        cut = os.path.join(tmp, "cut.pcap")
        write_pcap(cut, linktype, frames[k:])
        ev2, _ = evidence("%s-from-%d" % (name, k + 1), cut, tmp)
        if ev2:
            check_no_secrets("%s from frame %d" % (name, k + 1), ev2, present)
    # Each server data segment missing in turn.
    for k, (_, _, frame, _) in enumerate(frames):
        d = decode(linktype, frame)
        if not (d and d[0] == 6 and d[6] and d[3] in (25, 587, 465)):
            continue
        thin = os.path.join(tmp, "thin.pcap")
        write_pcap(thin, linktype, frames[:k] + frames[k + 1:])
        ev2, _ = evidence("%s-without-%d" % (name, k + 1), thin, tmp)
        if ev2:
            check_no_secrets("%s without frame %d" % (name, k + 1), ev2, present)
    return ev


def real(tmp):
    names = ["auth-rejected", "pmtu-blackhole", "rst-mid-data", "data-body-dropped", "starttls", "pmtu-icmp"]
    for name in names:
        path = os.path.join(TOP, "pcaps", name + ".pcap")
        if not os.path.exists(path):
            fail("%s: missing" % path)
            continue
        linktype, frames = read_pcap(path)
        secrets = secrets_of(frames, linktype)
        present = [m for m in secrets if any(m in r for r in reassemblies(linktype, frames))]
        real_one(name, path, tmp, present, [b"EHLO "])
    for name, secrets, kept, icmp in PLANTED:
        path = os.path.join(TOP, "pcaps", name + ".pcap")
        if not os.path.exists(path):
            fail("%s: missing" % path)
            continue
        raw = open(path, "rb").read()
        linktype, frames = read_pcap(path)
        for m in secrets:
            if m not in raw:
                fail("%s: the planted %r is not in the capture: the check would prove nothing" % (name, m))
        if icmp and not has_frag_needed(linktype, frames):
            fail("%s: no %s in the capture" % (name, icmp))
        ev = real_one(name, path, tmp, secrets, kept)
        if ev is None:
            continue
        elinktype, eframes = read_pcap(ev)
        if not eframes:
            fail("%s: the evidence is empty: nothing was checked" % name)
        # The quoting ICMP error stays in the evidence, its quote blanked.
        if icmp and not has_frag_needed(elinktype, eframes):
            fail("%s: the evidence lost the %s" % (name, icmp))


def redact_addresses(tmp):
    """--redact-addresses: the local parts in every output, one pseudonym each."""
    s = Session(40020)
    s.hello()
    s.c(b'MAIL FROM:<"bob smith"@gw.example.org>\r\n')
    s.s(b'250 2.1.0 Ok\r\n')
    s.c(b"RCPT TO:<@relay.example:Frank.Secret@example.net>\r\n")
    s.s(b"550 5.1.1 <frank.secret@example.net> (FRANK.SECRET@example.net): Recipient address rejected\r\n")
    s.c(b"QUIT\r\n")
    s.s(b"221 2.0.0 Bye\r\n")
    path = os.path.join(tmp, "addresses.pcap")
    write_pcap(path, 1, [(1700000000 + i, 0, f, len(f)) for i, f in enumerate(s.frames)])
    ev, _ = evidence("addresses", path, tmp, ["--redact-addresses"])
    secrets = [b"bob smith", b"rank.secret", b"RANK.SECRET", b"rank.Secret"]
    if ev:
        _, views = check_no_secrets("--redact-addresses evidence", ev, secrets)
        check_kept("--redact-addresses evidence", views, [b"@relay.example:", b"@example.net"])
    for fmt in ("text", "json", "markdown", "html"):
        p = subprocess.run([MXRAY, "read", "--format", fmt, "--redact-addresses", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for m in secrets:
            if m.lower() in p.stdout.lower():
                fail("--redact-addresses --format %s: %r in the report" % (fmt, m))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for name, frames, secrets, kept in crafted():
            path = os.path.join(tmp, name + ".pcap")
            write_pcap(path, 1, [(1700000000, i * 1000, f, len(f)) for i, f in enumerate(frames)])
            ev, p = evidence(name, path, tmp)
            if ev is None:
                continue
            if read_pcap(ev)[1] == []:
                fail("%s: the evidence is empty (the session did not fail?)" % name)
                continue
            _, views = check_no_secrets(name, ev, secrets)
            check_kept(name, views, kept)
        real(tmp)
        redact_addresses(tmp)
        # Write errors: one line, exit 2.
        if os.path.exists("/dev/full"):
            path = os.path.join(TOP, "pcaps", "rst-mid-data.pcap")
            p = subprocess.run([MXRAY, "read", "--evidence", "/dev/full", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            err = p.stderr.decode(errors="replace").strip().splitlines()
            if p.returncode != 2 or not any("/dev/full" in l and "write failed" in l for l in err):
                fail("--evidence /dev/full: exit %d, %r" % (p.returncode, err))
        p = subprocess.run([MXRAY, "read", "--evidence", "-", os.path.join(TOP, "pcaps", "rst-mid-data.pcap")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 2 or p.stdout:
            fail("--evidence -: exit %d, %d bytes on stdout" % (p.returncode, len(p.stdout)))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("redact-check: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
