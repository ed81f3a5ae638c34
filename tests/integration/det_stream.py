#!/usr/bin/env python3
"""A large deterministic byte stream, made and checked without a file.

  det_stream.py gen SIZE_MIB SEED DIGEST_FILE   writes SIZE_MIB MiB to stdout, then
                                                "<sha256 hex> <bytes>" to DIGEST_FILE
  det_stream.py hash                            reads stdin, prints "<sha256 hex> <bytes>"

The bytes are big_stream.py's blocks (1 MiB cut at pseudo-random offsets out of
a seeded random pool): incompressible and not periodic, produced at pipe speed,
so a test can stream gigabytes through curl -T - and compare digests at the end.
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from big_stream import BLOCK, blocks  # noqa: E402  (the same generator big_stream.py streams)


def gen(size_mib, seed, digest_file):
    h = hashlib.sha256()
    out = sys.stdout.buffer
    for block in blocks(seed, size_mib):
        h.update(block)
        out.write(block)
    out.flush()
    with open(digest_file, "w") as f:
        f.write("%s %d\n" % (h.hexdigest(), size_mib * BLOCK))


def digest():
    h = hashlib.sha256()
    n = 0
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    inp = sys.stdin.buffer
    while True:
        got = inp.readinto(buf)
        if not got:
            break
        h.update(view[:got])
        n += got
    print("%s %d" % (h.hexdigest(), n))


if __name__ == "__main__":
    if sys.argv[1:2] == ["gen"] and len(sys.argv) == 5:
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1:] == ["hash"]:
        digest()
    else:
        sys.exit(__doc__)
