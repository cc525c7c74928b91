#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""fakedns.py --bind ADDR --limit SECONDS NAME=ADDR... NAME=mx:PREF:HOST...

A tiny authoritative answerer for the test network: A and AAAA records for
the names given (NAME=ADDR, repeatable; the address family picks the type),
MX records (NAME=mx:PREF:HOST), NXDOMAIN for anything else.  UDP only, one
question per message.  Exits after --limit seconds.
"""
import argparse
import ipaddress
import socket
import struct
import time


def read_name(msg, pos):
    labels = []
    while True:
        n = msg[pos]
        if n == 0:
            return ".".join(labels).lower(), pos + 1
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--limit", type=float, default=60)
    ap.add_argument("records", nargs="+")
    a = ap.parse_args()
    table = {}
    for rec in a.records:
        name, _, addr = rec.partition("=")
        if addr.startswith("mx:"):
            _, pref, host = addr.split(":", 2)
            rdata = struct.pack("!H", int(pref)) + b"".join(
                bytes([len(label)]) + label.encode() for label in host.split(".")) + b"\0"
            table.setdefault((name.lower(), 15), []).append(rdata)
            continue
        ip = ipaddress.ip_address(addr)
        table.setdefault((name.lower(), 1 if ip.version == 4 else 28), []).append(ip.packed)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, 53))
    end = time.time() + a.limit
    while time.time() < end:
        s.settimeout(max(0.1, end - time.time()))
        try:
            msg, peer = s.recvfrom(4096)
        except socket.timeout:
            break
        try:
            qid, flags, qd = struct.unpack("!HHH", msg[:6])
            name, pos = read_name(msg, 12)
            qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
        except (struct.error, IndexError):
            continue
        question = msg[12:pos + 4]
        answers = table.get((name, qtype), [])
        known = any(k[0] == name for k in table)
        rcode = 0 if known else 3
        out = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1, len(answers), 0, 0) + question
        for data in answers:
            out += struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(data)) + data
        s.sendto(out, peer)


if __name__ == "__main__":
    main()
