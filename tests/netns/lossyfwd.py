#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""lossyfwd.py -- user-space Ethernet forwarder between two interfaces that
delays every frame and drops chosen TCP segments (this kernel has no netem).

    lossyfwd.py IF_A IF_B [--delay MS] [--drop-a N,N..] [--drop-b N,N..]
                [--seed S] [--jitter MS] [--limit SECONDS]

Frames read on IF_A are sent out of IF_B after --delay ms (plus a jitter drawn
from a seeded RNG), and the other way round.  Drops are deterministic: among
the TCP segments that carry payload and travel A->B, the ones whose
first-transmission ordinal (1-based, per direction, retransmissions not
counted and never dropped) is in --drop-a are discarded; likewise --drop-b
for B->A.  So the connection always completes, with retransmissions.
Python standard library only; exits after --limit seconds.
"""
import argparse
import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def tcp_key(frame):
    """(flow, seq, payload_len) for a TCP segment with payload, else None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    off = 14
    if etype == 0x0800:
        if len(frame) < off + 20:
            return None
        ihl = (frame[off] & 0x0F) * 4
        proto = frame[off + 9]
        tot = struct.unpack("!H", frame[off + 2:off + 4])[0]
        src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
        l4 = off + ihl
        iplen = tot - ihl
    elif etype == 0x86DD:
        if len(frame) < off + 40:
            return None
        proto = frame[off + 6]
        iplen = struct.unpack("!H", frame[off + 4:off + 6])[0]
        src, dst = frame[off + 8:off + 24], frame[off + 24:off + 40]
        l4 = off + 40
    else:
        return None
    if proto != 6 or len(frame) < l4 + 20:
        return None
    sport, dport, seq = struct.unpack("!HHI", frame[l4:l4 + 8])
    doff = (frame[l4 + 12] >> 4) * 4
    plen = iplen - doff
    if plen <= 0:
        return None
    return ((src, sport, dst, dport), seq, plen)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("if_a")
    p.add_argument("if_b")
    p.add_argument("--delay", type=float, default=40.0, help="one-way delay, ms")
    p.add_argument("--jitter", type=float, default=0.0, help="max extra delay, ms")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--drop-a", default="", help="ordinals of A->B data segments to drop")
    p.add_argument("--drop-b", default="", help="ordinals of B->A data segments to drop")
    p.add_argument("--limit", type=float, default=60.0)
    a = p.parse_args()

    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.setitimer(signal.ITIMER_REAL, a.limit)
    rng = random.Random(a.seed)
    drops = {
        0: {int(x) for x in a.drop_a.split(",") if x},
        1: {int(x) for x in a.drop_b.split(",") if x},
    }
    socks = []
    for ifn in (a.if_a, a.if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((ifn, 0))
        socks.append(s)
    seen = ({}, {})     # per direction: (flow, seq, len) -> True
    count = [0, 0]      # per direction: first transmissions of data segments
    heap = []
    n = 0
    while True:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, out, frame = heapq.heappop(heap)
            try:
                socks[out].send(frame)
            except OSError as e:
                sys.stderr.write("lossyfwd: send: %s\n" % e)
        timeout = max(0.0, heap[0][0] - now) if heap else 1.0
        r, _, _ = select.select(socks, [], [], timeout)
        for s in r:
            d = 0 if s is socks[0] else 1
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            k = tcp_key(frame)
            if k is not None and k not in seen[d]:
                seen[d][k] = True
                count[d] += 1
                if count[d] in drops[d]:
                    sys.stderr.write("lossyfwd: dropped %s data segment #%d seq %d len %d\n"
                                     % ("A->B" if d == 0 else "B->A", count[d], k[1], k[2]))
                    continue
            due = time.monotonic() + (a.delay + rng.uniform(0, a.jitter)) / 1000.0
            n += 1
            heapq.heappush(heap, (due, n, 1 - d, frame))


if __name__ == "__main__":
    main()
