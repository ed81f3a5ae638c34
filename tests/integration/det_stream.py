#!/usr/bin/env python3
"""A large deterministic byte stream, made and checked without a file.

  det_stream.py gen SIZE_MIB SEED DIGEST_FILE   writes SIZE_MIB MiB to stdout, then
                                                "<sha256 hex> <bytes>" to DIGEST_FILE
  det_stream.py hash                            reads stdin, prints "<sha256 hex> <bytes>"

The bytes are 1 MiB blocks cut at pseudo-random offsets out of a 16 MiB random
pool (seeded): incompressible and not periodic, produced at pipe speed, so a
test can stream gigabytes through curl -T - and compare digests at the end.
"""
import hashlib
import random
import sys

BLOCK = 1 << 20
POOL = 16 << 20


def gen(size_mib, seed, digest_file):
    pool = memoryview(random.Random(seed).randbytes(POOL + BLOCK))
    rng = random.Random(seed + 1)
    h = hashlib.sha256()
    out = sys.stdout.buffer
    for _ in range(size_mib):
        off = rng.randrange(POOL)
        block = pool[off:off + BLOCK]
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
