#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""seeds.py OUTDIR PCAP... — fuzz-analyzer inputs from real captures (classic pcap).

Each capture becomes two inputs in fuzz-analyzer's format (see
fuzz-analyzer.c): its link type, options 0 (NAME.seed) or 16, live timers
(NAME.live.seed), then every frame as [length LE16][time step][bytes],
the step rounded to 50 ms units.
Frames longer than 65,535 bytes or link types the target does not
offer are skipped.  Used to seed the fuzzer and by the replay test.
"""
import os
import struct
import sys

LINK_TYPES = [1, 113, 276, 101, 228, 229, 0, 108]   # fuzz-analyzer.c's link_types[]


def records(data):
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        endian = "<"
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        endian = ">"
    else:
        raise ValueError("not a classic pcap")
    nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0fffffff
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        us = sec * 1000000 + (frac // 1000 if nano else frac)
        out.append((us, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return linktype, out


def convert(path):
    with open(path, "rb") as f:
        linktype, frames = records(f.read())
    if linktype not in LINK_TYPES:
        return None
    blob = bytearray([LINK_TYPES.index(linktype), 0])
    last = frames[0][0] if frames else 0
    for us, frame in frames:
        if len(frame) > 0xffff:
            continue
        step = max(0, us - last) // 50000
        last = us
        blob += struct.pack("<HB", len(frame), min(step, 126)) + frame
    return bytes(blob)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    for path in sys.argv[2:]:
        blob = convert(path)
        if blob is None:
            continue
        name = os.path.splitext(os.path.basename(path))[0]
        with open(os.path.join(out, name + ".seed"), "wb") as f:
            f.write(blob)
        with open(os.path.join(out, name + ".live.seed"), "wb") as f:
            f.write(blob[:1] + bytes([16]) + blob[2:])
        n += 1
    print("%d captures, %d seeds in %s" % (n, 2 * n, out))


if __name__ == "__main__":
    main()
