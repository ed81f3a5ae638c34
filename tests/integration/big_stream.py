#!/usr/bin/env python3
"""Streams one large CAS blob through cellar (for large_streaming_test.sh).

  big_stream.py PORT PID SIZE_MIB [SEED]

The body is generated on the fly (never written to a file): 1 MiB blocks cut
at pseudo-random offsets out of a 17 MiB random pool, so it is incompressible
and not periodic. The SHA-256 is computed in a first pass, then the body is
PUT to /bazel/cas/<sha256> with a Content-Length and read back with GET,
hashing as it arrives. A thread samples VmRSS of PID every 50 ms.
Prints one JSON line: put/get status, seconds, digests, peak sampled VmRSS and
the kernel's VmHWM (both in KiB). Exits 0 when it ran; the caller judges.
"""
import hashlib
import http.client
import json
import random
import sys
import threading
import time

BLOCK = 1 << 20
POOL = 16 << 20


def blocks(seed, nblocks):
    pool = memoryview(random.Random(seed).randbytes(POOL + BLOCK))
    rng = random.Random(seed + 1)
    for _ in range(nblocks):
        off = rng.randrange(POOL)
        yield pool[off:off + BLOCK]


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv):
    port, pid, size_mib = int(argv[1]), int(argv[2]), int(argv[3])
    seed = int(argv[4]) if len(argv) > 4 else 7
    total = size_mib * BLOCK
    out = {"bytes": total}

    peak = [0]
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            peak[0] = max(peak[0], status_kib(pid, "VmRSS"))
            stop.wait(0.05)

    out["rss_start_kib"] = status_kib(pid, "VmRSS")
    t = threading.Thread(target=sampler, daemon=True)
    t.start()

    t0 = time.monotonic()
    h = hashlib.sha256()
    for b in blocks(seed, size_mib):
        h.update(b)
    digest = h.hexdigest()
    out["hash_s"] = round(time.monotonic() - t0, 2)
    out["sha256"] = digest

    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.putrequest("PUT", f"/bazel/cas/{digest}")
    conn.putheader("Content-Length", str(total))
    conn.putheader("Content-Type", "application/octet-stream")
    conn.endheaders()
    for b in blocks(seed, size_mib):
        conn.send(b)
    resp = conn.getresponse()
    out["put_body"] = resp.read()[:300].decode("utf-8", "replace")
    out["put_status"] = resp.status
    conn.close()
    out["put_s"] = round(time.monotonic() - t0, 2)

    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", f"/bazel/cas/{digest}")
    resp = conn.getresponse()
    out["get_status"] = resp.status
    out["get_content_length"] = resp.getheader("Content-Length")
    g = hashlib.sha256()
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    got = 0
    while True:
        n = resp.readinto(buf)
        if not n:
            break
        g.update(view[:n])
        got += n
    conn.close()
    out["get_s"] = round(time.monotonic() - t0, 2)
    out["get_bytes"] = got
    out["get_sha256"] = g.hexdigest()

    stop.set()
    t.join()
    out["rss_peak_sampled_kib"] = max(peak[0], status_kib(pid, "VmRSS"))
    out["vm_hwm_kib"] = status_kib(pid, "VmHWM")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
