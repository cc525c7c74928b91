# SPDX-License-Identifier: BSD-3-Clause
"""bigtcp.py DEV SIZE -- turn on IPv4 BIG TCP on a device: sets IFLA_GSO_IPV4_MAX_SIZE
and IFLA_GRO_IPV4_MAX_SIZE (Linux >= 6.3), which Debian 12's iproute2 6.1 cannot set
(`ip link set DEV gso_ipv4_max_size N` came with iproute2 6.3).  Run inside the
device's namespace.  Exits non-zero with the kernel's error when it refuses."""
import os
import socket
import struct
import sys

IFLA_GSO_IPV4_MAX_SIZE = 63   # linux/if_link.h, after IFLA_DEVLINK_PORT (62)
IFLA_GRO_IPV4_MAX_SIZE = 64
dev, size = sys.argv[1], int(sys.argv[2])
idx = socket.if_nametoindex(dev)
RTM_NEWLINK = 16
NLM_F_REQUEST, NLM_F_ACK = 1, 4


def attr(t, payload):
    l = 4 + len(payload)
    return struct.pack("HH", l, t) + payload + b"\0" * ((4 - l % 4) % 4)


body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, idx, 0, 0)
body += attr(IFLA_GSO_IPV4_MAX_SIZE, struct.pack("I", size)) + attr(IFLA_GRO_IPV4_MAX_SIZE, struct.pack("I", size))
msg = struct.pack("IHHII", 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.send(msg)
r = s.recv(4096)
err = struct.unpack("i", r[16:20])[0]   # NLMSG_ERROR: 0 is the ACK
if err:
    sys.exit("bigtcp.py: %s: %s" % (dev, os.strerror(-err)))
