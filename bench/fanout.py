#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bench/fanout.py — N SYNs to N different servers, for the destination table (issue 17).

    bench/fanout.py --syns N [--gap-us U] [--dns] OUT.pcap

One gateway (2001:db8:1::10) sends one SYN to each of N servers
2001:db8:2::1.. (documentation prefix, RFC 3849), U microseconds apart
(default 1000), none answered: N sessions, N destination rows, all
syn_timeout.  With --dns each SYN follows an AAAA answer from the resolver
(2001:db8:1::53) naming its server mxI.example.net, so every failing
destination has a DNS name (the case that compared every name with every
other).  Deterministic; checksums right.
"""
import argparse
import struct

ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x86\xdd"
GW = bytes.fromhex("20010db8000100000000000000000010")
RES = bytes.fromhex("20010db8000100000000000000000053")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip6(src, dst, proto, body):
    return ETH + struct.pack("!IHBB", 6 << 28, len(body), proto, 64) + src + dst + body


def l4(src, dst, proto, body, at):
    c = csum(src + dst + struct.pack("!IxxxB", len(body), proto) + body)
    return ip6(src, dst, proto, body[:at] + struct.pack("!H", c) + body[at + 2:])


def server(i):
    return bytes.fromhex("20010db8000200000000") + struct.pack("!IH", i >> 16, i & 0xffff)


def name(i):
    out = b""
    for label in ("mx%d" % i, "example", "net"):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--syns", type=int, required=True)
    ap.add_argument("--gap-us", type=int, default=1000)
    ap.add_argument("--dns", action="store_true")
    ap.add_argument("out")
    a = ap.parse_args()
    t = 0
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))

        def put(frame):
            sec, usec = divmod(t, 1000000)
            f.write(struct.pack("<IIII", 1700000000 + sec, usec, len(frame), len(frame)))
            f.write(frame)

        for i in range(1, a.syns + 1):
            dst = server(i)
            if a.dns:
                q = struct.pack("!HHHHHH", i & 0xffff, 0x8180, 1, 1, 0, 0) + name(i) + b"\0\x1c\0\x01"
                ans = q + b"\xc0\x0c\0\x1c\0\x01\0\0\x0e\x10\0\x10" + dst
                udp = struct.pack("!HHHH", 53, 40000 + i % 20000, 8 + len(ans), 0) + ans
                put(l4(RES, GW, 17, udp, 6))
            sport = 1024 + i % 60000
            tcp = struct.pack("!HHIIBBHHH", sport, 25, i * 7919 & 0xffffffff, 0, 5 << 4, 0x02, 64240, 0, 0)
            put(l4(GW, dst, 6, tcp, 16))
            t += a.gap_us


if __name__ == "__main__":
    main()
