#!/usr/bin/env python3
"""Concurrent CAS uploads around a server crash (for crash_recovery_test.sh).

The blob set is derived from SEED: N blobs of 100 KB to 5 MB, alternately
incompressible (random) and compressible (text with random numbers), so both
of the store's write paths are in flight when the server dies.

  upload PORT PID SEED N KILL_AFTER RESULTS
      Starts N concurrent PUT /bazel/cas/<sha256> uploads, each throttled to
      about 16 MB/s so that many are mid-body at any moment. After KILL_AFTER
      uploads have been answered 200, sends SIGKILL to PID. Writes RESULTS
      (JSON: sha256 -> "200" | other status | "error: ...").
  check PORT SEED N RESULTS
      GETs every blob. A 200 must carry exactly the uploaded bytes; every
      upload answered 200 must still be a 200 (the server acknowledged it
      before it died). Prints a summary; exits 1 on any violation.
  reupload PORT SEED N
      PUTs every blob again (8 at a time; all must answer 200), then GETs
      every blob and checks its SHA-256.
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import random
import signal
import sys
import threading
import time

CHUNK = 64 * 1024


def make_blobs(seed, n):
    rng = random.Random(int(seed))
    blobs = []
    for i in range(int(n)):
        size = rng.randint(100_000, 5_000_000)
        if i % 2 == 0:
            data = rng.randbytes(size)
        else:
            parts, total = [], 0
            while total < size:
                line = b"blob %d line %d value %d\n" % (i, len(parts), rng.getrandbits(32))
                parts.append(line)
                total += len(line)
            data = b"".join(parts)[:size]
        blobs.append((hashlib.sha256(data).hexdigest(), data))
    return blobs


def put(port, digest, data, throttle, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=timeout)
    try:
        conn.putrequest("PUT", f"/bazel/cas/{digest}")
        conn.putheader("Content-Length", str(len(data)))
        conn.putheader("Content-Type", "application/octet-stream")
        conn.endheaders()
        view = memoryview(data)
        for off in range(0, len(data), CHUNK):
            conn.send(view[off:off + CHUNK])
            if throttle:
                time.sleep(0.004)
        resp = conn.getresponse()
        resp.read()
        return str(resp.status)
    finally:
        conn.close()


def get(port, digest, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=timeout)
    try:
        conn.request("GET", f"/bazel/cas/{digest}")
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body
    finally:
        conn.close()


def cmd_upload(port, pid, seed, n, kill_after, results_path):
    blobs = make_blobs(seed, n)
    kill_after = int(kill_after)
    results = {}
    lock = threading.Lock()
    ok_count = [0]
    killed = threading.Event()
    start_gate = threading.Barrier(len(blobs))

    def kill():
        if not killed.is_set():
            killed.set()
            os.kill(int(pid), signal.SIGKILL)

    def worker(digest, data):
        start_gate.wait()
        try:
            status = put(port, digest, data, throttle=True)
        except Exception as e:  # connection reset by the crash
            status = f"error: {type(e).__name__}"
        with lock:
            # Any 200 was sent before the process died, so it acknowledged a
            # write that must survive the crash.
            results[digest] = status
            if status == "200" and not killed.is_set():
                ok_count[0] += 1
                if ok_count[0] >= kill_after:
                    kill()

    threads = [threading.Thread(target=worker, args=b) for b in blobs]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while not killed.is_set() and time.monotonic() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    with lock:
        kill()
        in_flight = len(blobs) - len(results)
    for t in threads:
        t.join(60)
    with open(results_path, "w") as f:
        json.dump(results, f, indent=1)
    acked = sum(1 for v in results.values() if v == "200")
    print(f"uploads: {len(blobs)}, acknowledged (200): {acked}, "
          f"still in flight at SIGKILL: {in_flight}, "
          f"total bytes: {sum(len(d) for _, d in blobs)}")
    if in_flight == 0:
        print("no upload was in flight when the server was killed", file=sys.stderr)
        return 1
    return 0


def cmd_check(port, seed, n, results_path):
    blobs = make_blobs(seed, n)
    results = json.load(open(results_path))
    bad = 0
    hits = 0
    for digest, data in blobs:
        status, body = get(port, digest)
        if status == 200:
            hits += 1
            if hashlib.sha256(body).hexdigest() != digest or body != data:
                print(f"GET {digest}: 200 with wrong content ({len(body)} bytes)", file=sys.stderr)
                bad += 1
        elif status == 404:
            if results.get(digest) == "200":
                print(f"GET {digest}: 404, but its upload was answered 200 before the crash",
                      file=sys.stderr)
                bad += 1
        else:
            print(f"GET {digest}: unexpected status {status}", file=sys.stderr)
            bad += 1
    print(f"after restart: {hits} of {len(blobs)} blobs served, all with the right SHA-256"
          if not bad else f"{bad} violations")
    return 1 if bad else 0


def cmd_reupload(port, seed, n):
    blobs = make_blobs(seed, n)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda b: put(port, b[0], b[1], throttle=False), blobs))
    bad = [(d, s) for (d, _), s in zip(blobs, statuses) if s != "200"]
    for d, s in bad:
        print(f"re-upload {d}: {s}", file=sys.stderr)
    for digest, data in blobs:
        status, body = get(port, digest)
        if status != 200 or hashlib.sha256(body).hexdigest() != digest:
            print(f"GET {digest} after re-upload: {status}, {len(body)} bytes", file=sys.stderr)
            bad.append((digest, status))
    print(f"re-uploaded {len(blobs)} blobs; {len(bad)} failures")
    return 1 if bad else 0


def main(argv):
    cmds = {"upload": cmd_upload, "check": cmd_check, "reupload": cmd_reupload}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
