#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""json-out-check.py — src/json-out.c's strings through a real JSON parser (run by `make check`).

tests/test-json-out --roundtrip prints random byte strings (control bytes,
NUL, broken UTF-8) as "HEX<TAB>JSON-STRING" lines: each must parse with
Python's json module in strict mode and give back the bytes decoded with
errors="replace" (the escaper's documented mapping).  The two documents
after them (every kind of value, compact and pretty, each after a 0x1e)
must parse too.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_BUILDDIR = os.environ.get("TOP_BUILDDIR") or os.path.dirname(HERE)
PROG = os.path.join(TOP_BUILDDIR, "tests", "test-json-out")

out = subprocess.run([PROG, "--roundtrip", "20000", "20261203"], stdout=subprocess.PIPE, check=True,
                     timeout=60).stdout
problems = []
strings = docs = 0
lines, *documents = out.split(b"\x1e")
for text in documents:
    try:
        json.loads(text.decode("utf-8"), strict=True)
        docs += 1
    except (ValueError, UnicodeDecodeError) as e:
        problems.append("document does not parse: %s (%r)" % (e, text))
for line in lines.split(b"\n")[:-1]:
    hexpart, text = line.split(b"\t", 1)
    try:
        got = json.loads(text.decode("utf-8"), strict=True)
    except (ValueError, UnicodeDecodeError) as e:
        problems.append("%s: does not parse: %s (%r)" % (hexpart.decode(), e, text))
        continue
    strings += 1
    want = bytes.fromhex(hexpart.decode()).decode("utf-8", errors="replace")
    if got != want:
        problems.append("%s: read back %r, want %r" % (hexpart.decode(), got, want))
if strings != 20000 or docs != 2:
    problems.append("%d strings and %d documents, want 20000 and 2" % (strings, docs))
for p in problems[:20]:
    print("    " + p)
print("%s: json-out strings parse and round-trip (%d strings, %d documents)" %
      ("FAIL" if problems else "PASS", strings, docs))
sys.exit(1 if problems else 0)
