#!/usr/bin/env python3
"""Seeded mixed workload with kill -9 and restarts, for chaos_test.sh.

  run CONFIG_JSON
      Starts `cellar serve` (binary, data dir and serve arguments from
      CONFIG_JSON), runs WORKERS threads of a seeded random mix of every
      protocol family for SECONDS, kills the server with SIGKILL at seeded
      times and restarts it on the same data dir (a new port; the workers
      follow), then stops it with SIGTERM. Writes the model (every write and
      its outcome, what each key may hold) to CONFIG.model and prints a
      summary. Exits 1 when an invariant was broken.
  check CONFIG_JSON PORT [SERVER_LOG...]
      Against a server already running on the same data dir: reads back every
      key of the model (an acknowledged immutable write is served exactly or,
      evicted, 404; a mutable key only ever serves bytes written to it; every
      pull-through file is the upstream's), then checks the store is not
      wedged (fresh writes are stored within WEDGE_SECONDS). Exits 1 on any
      violation.

Families and what "acknowledged" means for each (first write wins for the
immutable ones; a conflicting write with other bytes is only sent after the
key was read back, and must not replace it unless the key was evicted in
between, which /metrics' eviction counter tells):
  immutable  turbo (PUT 200), nx (PUT 200; 409 = exists), negotiate (signed
             PUT 201 "stored", or an upload negotiation answering "skipped"
             for a key only ever written with these bytes), bazel CAS (the key
             is the SHA-256 of the bytes);
  mutable    ccache, gradle (X-Gradle-Version 8, so a refusal is a refusal and
             not Gradle 4's drained 200), sccache, bazel AC: each key is
             written by one worker only, so the model knows which bytes a key
             may hold (the last acknowledged write, plus writes whose outcome
             is unknown because the server died under them);
  pull-through  npm packuments (both forms; cellar's tarball URLs are mapped
             back to the upstream's before comparing) and tarballs, Go .info,
             .mod and .zip: a 200 must carry the fake upstream's exact bytes.
A 200 must have a Content-Length equal to its body; a body cut short while the
server was alive (no kill under it) is a violation too.
Python 3 standard library only.
"""
import glob
import hashlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

CHUNK = 64 * 1024
IMMUTABLE = ("turbo", "nx", "negotiate", "cas")
MUTABLE = ("ccache", "gradle", "sccache", "ac")
# Statuses a write may get when the store is full or failing (each
# protocol's contract in README.md: turbo must not see 5xx, Nx only 403):
# counted as refusals, not violations. Anything else is a violation.
FULL_STATUSES = {
    "turbo": {507, 412}, "nx": {403}, "negotiate": {500, 503, 507}, "cas": {500, 503, 507},
    "ccache": {500, 503, 507}, "gradle": {413, 500}, "sccache": {500, 503, 507}, "ac": {500, 503, 507},
}
ACK_STATUSES = {
    "turbo": {200}, "nx": {200}, "negotiate": {201}, "cas": {200},
    "ccache": {200, 201, 204}, "gradle": {200}, "sccache": {201, 204}, "ac": {200},
}


def sha(b):
    return hashlib.sha256(b).hexdigest()


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- server
class Server:
    """The cellar process: start, kill -9 + restart, stop. Workers ask for
    the current (epoch, port) and block while it is down."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.cond = threading.Condition()
        self.epoch = 0
        self.port = None
        self.proc = None
        self.killing = False
        self.failed = None
        self.logs = []
        self.kill_times = []

    def _spawn(self):
        path = os.path.join(self.cfg["work"], f"cellar-{self.epoch}.log")
        self.logs.append(path)
        out = open(path, "wb")
        self.proc = subprocess.Popen(
            [self.cfg["cellar"], "serve", "--listen", "127.0.0.1:0", "--data-dir", self.cfg["data"]]
            + self.cfg["serve_args"], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        with open(self.cfg["pidfile"], "w") as f:
            f.write(str(self.proc.pid))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(path, "rb") as f:
                    m = re.search(rb'"msg":"cellar listening".*?"port":(\d+)', f.read())
            except FileNotFoundError:
                m = None
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"cellar (epoch {self.epoch}) did not start: exit {self.proc.poll()}; "
                           f"log tail: {tail(path)}")

    def start(self):
        port = self._spawn()
        with self.cond:
            self.port = port
            self.cond.notify_all()

    def current(self, timeout=60):
        with self.cond:
            end = time.monotonic() + timeout
            while (self.port is None or self.killing) and self.failed is None:
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError("server not up")
                self.cond.wait(left)
            if self.failed:
                raise RuntimeError(self.failed)
            return self.epoch, self.port

    def killed_since(self, epoch):
        with self.cond:
            return self.killing or self.epoch != epoch

    def died(self):
        """True when the server exited without being told to."""
        with self.cond:
            return not self.killing and self.proc is not None and self.proc.poll() is not None

    def kill9_restart(self):
        with self.cond:
            self.killing = True
            self.port = None
        self.kill_times.append(time.monotonic())
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        with self.cond:
            self.epoch += 1
        try:
            port = self._spawn()
        except RuntimeError as e:
            with self.cond:
                self.failed = str(e)
                self.killing = False
                self.cond.notify_all()
            raise
        with self.cond:
            self.port = port
            self.killing = False
            self.cond.notify_all()

    def stop(self, timeout=40):
        """SIGTERM; returns the seconds it took, or None if it had to be killed."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
            return time.monotonic() - t0
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def tail(path, n=10):
    """The last lines of a server log that are not access-log lines."""
    try:
        with open(path, "rb") as f:
            lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if '"type":"access"' not in ln]
    except OSError:
        return "(no log)"
    return "\n    ".join(ln[:400] for ln in lines[-n:])


class FixedServer:
    """check: one server started by the caller, never killed."""

    def __init__(self, port):
        self.port = int(port)

    def current(self, timeout=60):
        return 0, self.port

    def killed_since(self, epoch):
        return False


# --------------------------------------------------------------------------- HTTP
class Resp:
    def __init__(self, epoch, status=None, headers=None, body=b"", error=None, truncated=None, port=None):
        self.epoch = epoch
        self.port = port
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.error = error          # connection-level failure (str) or None
        self.truncated = truncated  # (received, declared) when the body was cut


# Called with (method, target, Resp) for every answer (set by Driver).
ON_ANSWER = [None]


def request(server, method, target, body=None, headers=None, timeout=60):
    """One request on a fresh connection to the current server. Connection
    refused (server restarting) is retried: nothing reached the server."""
    r = _request(server, method, target, body, headers, timeout)
    if ON_ANSWER[0] and r.status is not None:
        ON_ANSWER[0](method, target, r)
    return r


def _request(server, method, target, body=None, headers=None, timeout=60):
    while True:
        epoch, port = server.current()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.connect()
        except OSError:
            conn.close()
            if server.killed_since(epoch):
                continue
            time.sleep(0.1)
            if server.killed_since(epoch):
                continue
            return Resp(epoch, error="connect failed while the server was up", port=port)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body:
                view = memoryview(body)
                try:
                    for off in range(0, len(body), CHUNK):
                        conn.send(view[off:off + CHUNK])
                except OSError:
                    pass  # an early answer (e.g. 507) may still be readable
            resp = conn.getresponse()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            try:
                data = resp.read()
            except http.client.IncompleteRead as e:
                declared = hdrs.get("content-length")
                return Resp(epoch, resp.status, hdrs, e.partial, truncated=(len(e.partial), declared), port=port)
            return Resp(epoch, resp.status, hdrs, data, port=port)
        except (OSError, http.client.HTTPException) as e:
            return Resp(epoch, error=f"{type(e).__name__}: {e}", port=port)
        finally:
            conn.close()


# --------------------------------------------------------------------------- content
def make_content(rng, big_ok=True):
    r = rng.random()
    if r < 0.08:
        size = 0 if rng.random() < 0.5 else rng.randint(1, 16)
    elif r < 0.45:
        size = rng.randint(17, 8 * 1024)
    elif r < 0.80:
        size = rng.randint(8 * 1024, 256 * 1024)
    elif r < 0.95 or not big_ok:
        size = rng.randint(256 * 1024, 1024 * 1024)
    else:
        size = rng.randint(1024 * 1024, 4 * 1024 * 1024)
    if rng.random() < 0.5:
        return rng.randbytes(size)
    # Compressible: lines with some randomness (stored zstd-compressed).
    line = b"chaos %08x payload line " % rng.getrandbits(32)
    reps = size // len(line) + 1
    return (line * reps)[:size]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def action_result(stdout):
    """A REAPI ActionResult: exit_code (field 4) and stdout_raw (field 5)."""
    return b"\x20" + varint(0) + b"\x2a" + varint(len(stdout)) + stdout


# --------------------------------------------------------------------------- model
class Key:
    """What one key may serve: `values` maps the SHA-256 of every body sent
    to it to the time window [sent, superseded or refused] in which a read
    may return it (None: still possible). A read is correct when the window
    of what it returned overlaps the read's own. `acked` is the SHA-256 of
    the last acknowledged write."""

    def __init__(self, family, key):
        self.family = family
        self.key = key
        self.values = {}         # sha256 -> [first sent, no longer possible since]
        self.unknown = set()     # sent, outcome unknown (the server died under it)
        self.lingering = set()   # outcome unknown on a live server: may land any time
        self.acked = None
        self.primary = None      # immutable: SHA-256 of the bytes written first
        self.primary_seed = None  # immutable: regenerates those bytes (make_content)
        self.reads = 0

    def to_json(self):
        return {"family": self.family, "key": self.key, "allowed": sorted(self.possible()),
                "acked": self.acked, "primary": self.primary}

    def possible(self):
        return {h for h, (_, gone) in self.values.items() if gone is None}

    def allows(self, h, t_start, t_end):
        w = self.values.get(h)
        return w is not None and w[0] <= t_end and (w[1] is None or w[1] >= t_start)


class Model:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys = {}           # (family, key) -> Key
        self.violations = []
        self.notes = []
        self.counts = {}
        self.writes = []         # (t, family, outcome) for the wedge check
        self.pull_expected = {}  # target -> sha256 of the upstream's bytes
        self.journal_file = None

    def journal(self, **entry):
        """One JSON line per write and read (for replaying a failure)."""
        if self.journal_file is None:
            return
        entry["t"] = round(time.monotonic(), 3)
        line = json.dumps(entry) + "\n"
        with self.lock:
            self.journal_file.write(line)

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + n

    def violation(self, msg):
        with self.lock:
            self.violations.append(msg)
        log("VIOLATION: " + msg)

    def note(self, msg):
        with self.lock:
            if len(self.notes) < 200:
                self.notes.append(msg)


# --------------------------------------------------------------------------- driver
class Driver:
    def __init__(self, cfg, server, model):
        self.cfg = cfg
        self.server = server
        self.m = model
        self.stop = threading.Event()
        self.npm_up = cfg["npm_upstream"]
        self.go_dir = cfg["go_proxy_dir"]
        self.team = "chaos"
        self.data_dir = os.path.realpath(cfg["data"]).encode()
        ON_ANSWER[0] = self.check_error_text

    def check_error_text(self, method, target, r):
        """Error answers never show the server's paths or SQLite's messages
        (the detail belongs in the log)."""
        if r.status < 400:
            return
        body = r.body[:4096]
        if self.data_dir in body or b"sqlite" in body.lower():
            self.m.count("error answers showing server paths or SQLite text")
            with self.m.lock:
                first = self.m.counts["error answers showing server paths or SQLite text"] <= 3
            if first:
                self.m.violation(f"{method} {target.split('?')[0]}: HTTP {r.status} shows internals: {body[:200]!r}")

    # ---- helpers
    def evictions(self):
        """(epoch, total evictions) from /metrics; None when unreachable."""
        r = request(self.server, "GET", "/metrics", timeout=20)
        if r.error or r.status != 200 or r.truncated:
            return None
        total = 0.0
        for line in r.body.decode("utf-8", "replace").splitlines():
            if line.startswith("cellar_cache_evictions_total"):
                total += float(line.rsplit(" ", 1)[1])
        return r.epoch, total

    def outcome(self, r):
        """'ack-able' status, 'unknown' (server died under it), or 'lost'
        (connection failure while the server was alive)."""
        if r.error or r.truncated:
            if self.server.killed_since(r.epoch):
                self.m.count("requests cut by kill -9")
                return "unknown"
            self.m.count("connection errors while the server was up")
            self.m.note(f"connection error with the server up (epoch {r.epoch}): {r.error or r.truncated}")
            return "lost"
        return "status"

    def check_body(self, what, r):
        """A complete 200: Content-Length present and equal to the body."""
        cl = r.headers.get("content-length")
        if cl is None and r.headers.get("transfer-encoding", "").lower() != "chunked":
            self.m.violation(f"{what}: 200 without Content-Length or chunked framing (epoch {r.epoch})")
            return False
        if cl is not None and int(cl) != len(r.body):
            self.m.violation(f"{what}: Content-Length {cl} but {len(r.body)} bytes (epoch {r.epoch})")
            return False
        return True

    def read_failed(self, what, r):
        """Handles connection-level failures of a read; True when there is
        nothing more to check."""
        if r.truncated:
            if self.server.killed_since(r.epoch):
                self.m.count("reads cut by kill -9")
            else:
                self.m.violation(f"{what}: body cut at {r.truncated[0]} of {r.truncated[1]} bytes "
                                 f"while the server was up (epoch {r.epoch})")
            return True
        if r.error:
            self.outcome(r)
            return True
        return False

    def record_write(self, family, status_kind, size):
        # Small bodies may still fit in the last free bytes of a full disk, so
        # only writes of 64 KiB and more tell whether the store makes room.
        if size >= 64 * 1024:
            with self.m.lock:
                self.m.writes.append((time.monotonic(), family, status_kind))

    def classify_write(self, family, r, what, size):
        """Returns 'ack', 'exists', 'full', 'unknown', 'lost' or 'other'."""
        o = self.outcome(r)
        if o != "status":
            return o
        if r.status in ACK_STATUSES[family]:
            self.record_write(family, "ok", size)
            self.m.count(f"{family} write acknowledged")
            return "ack"
        if family == "nx" and r.status == 409:
            self.m.count("nx write 409 (exists)")
            return "exists"
        if r.status in FULL_STATUSES[family]:
            self.record_write(family, "refused", size)
            self.m.count(f"write refused {r.status}")
            if len(self.m.notes) < 200:
                self.m.note(f"{what}: {r.status} {r.body[:160]!r}")
            return "full"
        self.m.count(f"{family} write unexpected {r.status}")
        self.m.violation(f"{what}: unexpected status {r.status}: {r.body[:200]!r}")
        return "other"

    # ---- paths per family
    def target(self, family, key):
        if family == "turbo":
            return f"/turbo/v8/artifacts/{key}?teamId={self.team}"
        if family == "nx":
            return f"/nx/v1/cache/{key}"
        if family == "cas":
            return f"/bazel/cas/{key}"
        if family == "ac":
            return f"/bazel/ac/{key}"
        if family == "ccache":
            return f"/ccache/{key}"
        if family == "gradle":
            return f"/gradle/cache/{key}"
        if family == "sccache":
            return f"/sccache/chaos/{key}"
        raise ValueError(family)

    def raw_put(self, family, key, data):
        headers = {"Content-Type": "application/octet-stream"}
        if family == "gradle":
            headers["X-Gradle-Version"] = "8.5"
            headers["Content-Type"] = "application/vnd.gradle.build-cache-artifact.v1"
        if family == "turbo":
            headers["x-artifact-duration"] = "42"
        return request(self.server, "PUT", self.target(family, key), data, headers)

    def raw_get(self, family, key):
        """(status or None, body, resp) through each protocol's read path."""
        if family == "negotiate":
            r = self.negotiate({"hash": key, "action": "download"})
            if r is None or r[0] == "error":
                return None
            st, ans = r
            if ans["status"] == "missing":
                self.m.journal(op="get", family=family, key=key, result="missing")
                return "missing"
            if ans["status"] != "found":
                self.m.violation(f"negotiate download {key}: status {ans}")
                return None
            return request(self.server, "GET", self.path_of(ans["url"]))
        return request(self.server, "GET", self.target(family, key))

    @staticmethod
    def path_of(url):
        u = urllib.parse.urlparse(url)
        return u.path + ("?" + u.query if u.query else "")

    def negotiate(self, item):
        """POST /v1/negotiate; ('ok', answer) or ('error', resp) or None when the
        server died under it."""
        r = request(self.server, "POST", "/v1/negotiate", json.dumps(item).encode(),
                    {"Content-Type": "application/json"})
        if r.error or r.truncated:
            self.outcome(r)
            return None
        if r.status != 200:
            if r.status in (507, 503):
                self.m.count(f"negotiate answered {r.status}")
                return ("error", r)
            self.m.violation(f"negotiate {item}: HTTP {r.status} {r.body[:200]!r}")
            return ("error", r)
        return ("ok", json.loads(r.body))

    # ---- writes
    def write(self, family, k, data, conflict=False):
        """One write of `data` to key k; updates the model."""
        h = sha(data)
        what = f"{family} PUT {k.key} ({len(data)} B)"
        if family == "negotiate":
            self.pending(k, h)
            res = self.negotiate({"hash": k.key, "action": "upload", "size": len(data), "sha256": h})
            if res is None:
                self.maybe(k, h)
                return "unknown"
            if res[0] == "error":
                self.refused(k, h)
                return "full"
            ans = res[1]
            if ans["status"] == "skipped":
                # The key exists: if only these bytes were ever sent, the server
                # confirms an earlier (unknown-outcome) write of them.
                self.m.count("negotiate upload skipped (exists)")
                if set(k.values) <= {h}:
                    self.ack(k, h)
                return "exists"
            if ans["status"] != "upload_needed":
                self.m.violation(f"{what}: negotiation answered {ans}")
                return "other"
            r = request(self.server, "PUT", self.path_of(ans["url"]), data)
            if r.status == 200 and not (r.error or r.truncated):
                self.m.count("negotiate upload skipped at PUT (exists)")
                if set(k.values) <= {h}:
                    self.ack(k, h)
                return "exists"
            cls = self.classify_write(family, r, what, len(data))
        else:
            body = action_result(data) if family == "ac" else data
            h = sha(body)
            self.pending(k, h)
            r = self.raw_put(family, k.key, body)
            cls = self.classify_write(family, r, what, len(data))
        self.m.journal(op="put", family=family, key=k.key, sha=h, size=len(data), result=cls,
                       status=r.status, epoch=r.epoch)
        if cls == "ack":
            self.ack(k, h)
        elif cls == "unknown":
            self.maybe(k, h)
        elif cls == "lost":
            self.maybe(k, h, lingering=True)
        elif cls in ("full", "other"):
            self.refused(k, h)
        return cls

    # The model of one key. Each key has one writer (the worker that made it),
    # so its writes are sequential; readers may be any worker.
    def pending(self, k, h):
        """Before a body is sent: from now on a read may see it."""
        with self.m.lock:
            w = k.values.get(h)
            if w is None:
                k.values[h] = [time.monotonic(), None]
            else:
                w[1] = None

    def ack(self, k, h):
        with self.m.lock:
            if k.family in MUTABLE:
                # The last acknowledged write replaces everything sent before
                # it, except writes whose outcome is unknown on a live server.
                now = time.monotonic()
                for other, w in k.values.items():
                    if other != h and other not in k.lingering and w[1] is None:
                        w[1] = now
                k.unknown.clear()
            k.values[h][1] = None
            k.acked = h

    def maybe(self, k, h, lingering=False):
        with self.m.lock:
            k.unknown.add(h)
            if lingering:
                k.lingering.add(h)

    def refused(self, k, h):
        """The server said it did not store h: it must not be served again
        unless an earlier write of the same bytes may have landed."""
        with self.m.lock:
            if h != k.acked and h not in k.unknown and h not in k.lingering:
                k.values[h][1] = time.monotonic()

    # ---- reads
    def check_read(self, k, final=False):
        """GET k; a 200 must carry allowed bytes. Returns the served sha or
        None."""
        family = k.family
        t_start = time.monotonic()
        r = self.raw_get(family, k.key)
        t_end = time.monotonic()
        what = f"{family} GET {k.key}"
        if r is None:
            return None
        if r == "missing":
            self.m.count(f"{family} read 404")
            return None
        if self.read_failed(what, r):
            return None
        if r.status == 404:
            self.m.count(f"{family} read 404")
            self.m.journal(op="get", family=family, key=k.key, status=404, epoch=r.epoch)
            return None
        if r.status != 200:
            self.m.count(f"{family} read {r.status}")
            self.m.violation(f"{what}: HTTP {r.status} {r.body[:200]!r}")
            return None
        if not self.check_body(what, r):
            return None
        h = sha(r.body)
        self.m.journal(op="get", family=family, key=k.key, sha=h, size=len(r.body), epoch=r.epoch)
        if family == "cas" and h != k.key:
            self.m.violation(f"{what}: 200 with {len(r.body)} bytes whose SHA-256 is {h} (epoch {r.epoch})")
            return None
        with self.m.lock:
            ok = family == "cas" or k.allows(h, t_start, t_end)
            allowed = sorted(k.values)
        if not ok:
            self.m.violation(f"{what}: 200 with {len(r.body)} bytes (sha256 {h[:16]}) that were not "
                             f"written to this key or no longer current; sent {[a[:16] for a in allowed]} (epoch {r.epoch})")
            return None
        self.m.count(f"{family} read 200 exact")
        k.reads += 1
        return h

    def read_unknown(self, rng, family):
        """A key nobody ever wrote must not be served."""
        if family == "cas":
            key = sha(b"never written %d" % rng.getrandbits(64))
        elif family == "ac":
            key = sha(b"never written ac %d" % rng.getrandbits(64))
        elif family == "ccache":
            key = "zz/" + "".join(rng.choice("0123456789abcdefghijklmnopqrstuv") for _ in range(31))
            key = "00" + key[2:]
        elif family == "gradle":
            key = "ffff" + "%060x" % rng.getrandbits(240)
        elif family == "sccache":
            key = "never/%016x" % rng.getrandbits(64)
        else:
            key = "never%016x" % rng.getrandbits(64)
        r = self.raw_get(family, key)
        if r is None or r == "missing":
            return
        if self.read_failed(f"{family} GET never-written {key}", r):
            return
        if r.status == 200:
            self.m.violation(f"{family} GET never-written {key}: 200 with {len(r.body)} bytes")
        elif r.status != 404:
            self.m.count(f"{family} never-written read {r.status}")

    # ---- pull-through
    def pull(self, target, expect_sha, transform=None):
        r = request(self.server, "GET", target, headers=transform[0] if transform else None)
        what = f"GET {target}"
        if self.read_failed(what, r):
            return None
        if r.status != 200:
            self.m.count(f"pull-through {r.status}")
            self.m.note(f"{what}: HTTP {r.status} {r.body[:160]!r}")
            return r.status
        if not self.check_body(what, r):
            return None
        body = r.body
        if transform:
            body = transform[1](body, r.port)
        if sha(body) != expect_sha:
            self.m.violation(f"{what}: 200 with {len(r.body)} bytes that differ from the upstream's (epoch {r.epoch})")
            return None
        self.m.count("pull-through 200 exact")
        return 200

    def npm_unrender(self, body, port):
        """cellar points dist.tarball at itself; map it back to the upstream."""
        mine = f"http://127.0.0.1:{port}/npm/".encode()
        return body.replace(mine, (self.npm_up.rstrip("/") + "/").encode())

    # ---- the worker loop
    def worker(self, wid, deadline):
        rng = random.Random(f"{self.cfg['seed']}-{wid}")
        mine = {f: [] for f in IMMUTABLE + MUTABLE}
        ops = [("write", 30), ("read", 35), ("overwrite", 8), ("conflict", 4), ("retry", 3),
               ("unknown", 4), ("npm", 8), ("go", 8)]
        names, weights = zip(*ops)
        n = 0
        while time.monotonic() < deadline and not self.stop.is_set():
            n += 1
            op = rng.choices(names, weights)[0]
            family = rng.choice(IMMUTABLE + MUTABLE)
            try:
                if op == "write" or (op in ("overwrite", "conflict", "retry") and not mine[family]):
                    self.new_key_write(rng, wid, n, family, mine)
                elif op == "read":
                    self.read_some(rng, family, mine)
                elif op == "overwrite":
                    k = rng.choice(mine[family])
                    if family in MUTABLE:
                        self.write(family, k, make_content(rng))
                    else:
                        self.conflict(rng, k)
                elif op == "conflict":
                    k = rng.choice(mine[family])
                    if family in IMMUTABLE:
                        self.conflict(rng, k)
                    else:
                        self.check_read(k)
                elif op == "retry":
                    k = rng.choice(mine[family])
                    if family in IMMUTABLE and family != "cas" and k.primary_seed is not None:
                        # An idempotent re-put of the same bytes.
                        self.write(family, k, make_content(random.Random(k.primary_seed)))
                    else:
                        self.check_read(k)
                elif op == "unknown":
                    self.read_unknown(rng, family)
                elif op == "npm":
                    self.npm_op(rng)
                elif op == "go":
                    self.go_op(rng)
            except RuntimeError as e:  # the server could not be restarted
                self.m.violation(f"worker {wid}: {e}")
                self.stop.set()
                return
            except Exception as e:  # noqa: BLE001 - a driver bug must not look like a pass
                self.m.violation(f"worker {wid}: driver error {type(e).__name__}: {e}")
                self.stop.set()
                return

    def new_key_write(self, rng, wid, n, family, mine):
        cseed = f"{self.cfg['seed']}-{wid}-{n}"
        data = make_content(random.Random(cseed))
        if family == "cas":
            key = sha(data)
        elif family == "ac":
            key = sha(b"ac %d %d %d" % (wid, n, rng.getrandbits(32)))
        elif family == "ccache":
            alphabet = "0123456789abcdefghijklmnopqrstuv"
            key = "".join(rng.choice(alphabet) for _ in range(2)) + "/" + \
                "".join(rng.choice(alphabet) for _ in range(31))
        elif family == "gradle":
            key = "%032x" % rng.getrandbits(128)
        elif family == "sccache":
            key = "%x/%x/%032x" % (rng.randrange(16), rng.randrange(16), rng.getrandbits(128))
        else:
            key = "c%dw%dn%d%08x" % (self.cfg["seed"] % 100000, wid, n, rng.getrandbits(32))
        with self.m.lock:
            k = self.m.keys.get((family, key))
            if k is None:
                k = Key(family, key)
                self.m.keys[(family, key)] = k
                fresh = True
            else:
                fresh = False  # e.g. the empty CAS blob, written by two workers
        if fresh:
            k.primary = sha(data)
            k.primary_seed = cseed
            mine[family].append(k)
        if family == "cas" and not fresh:
            return
        self.write(family, k, data)

    def read_some(self, rng, family, mine):
        with self.m.lock:
            pool = [k for (f, _), k in self.m.keys.items() if f == family] if rng.random() < 0.5 else None
        if pool is None:
            pool = mine[family]
        if not pool:
            return
        self.check_read(rng.choice(pool))

    def conflict(self, rng, k):
        """First write wins: read the key, then PUT other bytes; unless an
        eviction or restart came in between, the first bytes must stay."""
        if k.family == "cas" or k.acked is None:
            self.check_read(k)
            return
        before = self.evictions()
        served = self.check_read(k)
        if served is None or before is None:
            return
        data = make_content(rng, big_ok=False) + b"conflict"
        cls = self.write_conflict(k, data)
        after_read = self.check_read(k)
        after = self.evictions()
        undisturbed = after is not None and after[0] == before[0] and after[1] == before[1]
        replaced = (cls == "stored") or (after_read is not None and after_read != served)
        if cls == "ambiguous" and after_read == served:
            self.refused(k, sha(data))  # turbo kept the first bytes: the new ones never land
        elif cls == "ambiguous" and after_read is not None:
            self.ack(k, after_read)
        if not replaced:
            self.m.count(f"{k.family} conflicting write kept the first bytes")
            return
        if undisturbed:
            self.m.violation(f"{k.family} {k.key}: a conflicting write replaced the first acknowledged bytes "
                             f"(write answered '{cls}'; no eviction and no restart in between; epoch {before[0]})")
        else:
            self.m.count(f"{k.family} conflicting write stored after an eviction or restart")

    def write_conflict(self, k, data):
        """'stored' when the server took the conflicting bytes as new, 'refused'
        when it kept the old ones, else 'unknown'/'full'."""
        h = sha(data)
        family = k.family
        what = f"{family} conflicting PUT {k.key}"
        self.pending(k, h)
        if family == "negotiate":
            res = self.negotiate({"hash": k.key, "action": "upload", "size": len(data), "sha256": h})
            if res is None:
                self.maybe(k, h)
                return "unknown"
            if res[0] == "error":
                self.refused(k, h)
                return "full"
            if res[1]["status"] == "skipped":
                self.refused(k, h)
                return "refused"
            r = request(self.server, "PUT", self.path_of(res[1]["url"]), data)
            if not (r.error or r.truncated) and r.status == 200:
                self.refused(k, h)
                return "refused"
        else:
            r = self.raw_put(family, k.key, data)
        if family == "nx" and not (r.error or r.truncated) and r.status == 409:
            self.m.count("nx conflicting write 409")
            self.refused(k, h)
            return "refused"
        cls = self.classify_write(family, r, what, len(data))
        if cls == "ack":
            # turbo answers 200 whether or not it kept the first bytes: the
            # read that follows decides. nx and negotiate mean "stored".
            if family == "turbo":
                return "ambiguous"
            self.ack(k, h)
            return "stored"
        if cls in ("unknown", "lost"):
            self.maybe(k, h, lingering=(cls == "lost"))
        else:
            self.refused(k, h)
        return cls

    # ---- npm and Go through the fakes
    NPM_PACKAGES = [("left-pad-lite", ["1.0.0", "1.1.0"]), ("dep-a", ["1.0.0"]), ("dep-b", ["1.0.0"]),
                    ("@acme/widget", ["2.0.0", "2.1.0"]), ("@acme/tiny", ["0.1.0"])]
    CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"

    def npm_expectations(self):
        """Fetch what the fake registry serves, straight from it."""
        up = urllib.parse.urlparse(self.npm_up)
        for name, versions in self.NPM_PACKAGES:
            enc = name.replace("/", "%2f")
            for form, accept in (("full", "application/json"), ("corgi", self.CORGI)):
                body = upstream_get(up.port, "/" + enc, {"Accept": accept})
                self.m.pull_expected[f"npm {form} {name}"] = sha(body)
            base = name.split("/")[-1]
            for v in versions:
                body = upstream_get(up.port, f"/{name}/-/{base}-{v}.tgz")
                self.m.pull_expected[f"/npm/{name}/-/{base}-{v}.tgz"] = sha(body)

    def npm_targets(self):
        out = []
        for name, versions in self.NPM_PACKAGES:
            enc = name.replace("/", "%2f")
            out.append((f"/npm/{enc}", f"npm full {name}", {"Accept": "application/json"}))
            out.append((f"/npm/{enc}", f"npm corgi {name}", {"Accept": self.CORGI}))
            base = name.split("/")[-1]
            for v in versions:
                t = f"/npm/{name}/-/{base}-{v}.tgz"
                out.append((t, t, None))
        return out

    def npm_op(self, rng):
        target, key, headers = rng.choice(self.npm_targets())
        transform = (headers, self.npm_unrender) if headers else None
        self.pull(target, self.m.pull_expected[key], transform)

    def go_expectations(self):
        with open(os.path.join(os.path.dirname(self.go_dir), "modules.txt")) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 4:
                    continue
                _, version, esc, kind = parts[:4]
                exts = ["info", "mod"] + (["zip"] if kind in ("zip", "extra") else [])
                for ext in exts:
                    p = os.path.join(self.go_dir, esc, "@v", f"{version}.{ext}")
                    if os.path.exists(p):
                        with open(p, "rb") as g:
                            self.m.pull_expected[f"/go/{esc}/@v/{version}.{ext}"] = sha(g.read())

    def go_op(self, rng):
        targets = sorted(t for t in self.m.pull_expected if t.startswith("/go/"))
        t = rng.choice(targets)
        self.pull(t, self.m.pull_expected[t])

    def check_all_pull(self):
        bad = 0
        for target, key, headers in self.npm_targets():
            transform = (headers, self.npm_unrender) if headers else None
            if self.pull(target, self.m.pull_expected[key], transform) != 200:
                bad += 1
        for t in sorted(x for x in self.m.pull_expected if x.startswith("/go/")):
            if self.pull(t, self.m.pull_expected[t]) != 200:
                bad += 1
        return bad


def upstream_get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"fake upstream GET {path}: {r.status}")
        return body
    finally:
        conn.close()


# --------------------------------------------------------------------------- wedge
def longest_refusal_run(writes):
    """Longest time from a refused write to the next acknowledged one (or to
    the end of the run), in seconds. A restart does not reset it: only an
    acknowledged write ends a run of refusals."""
    worst, start = 0.0, None
    for t, _, kind in sorted(writes):
        if kind == "refused" and start is None:
            start = t
        elif kind == "ok" and start is not None:
            worst = max(worst, t - start)
            start = None
    open_run = (writes and start is not None)
    if open_run:
        worst = max(worst, max(t for t, _, _ in writes) - start)
    return worst, bool(open_run)


# --------------------------------------------------------------------------- commands
def load_cfg(path):
    with open(path) as f:
        return json.load(f)


def save_model(cfg, m, extra):
    keys = [k.to_json() for k in m.keys.values()]
    with open(cfg["model"], "w") as f:
        json.dump({"keys": keys, "pull_expected": m.pull_expected, "counts": m.counts, **extra}, f)


def server_errors(paths):
    """Counts the server's error and warning log lines by message, with one
    example each (the report of a run names the defects it ran into)."""
    seen = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                for line in f:
                    if b'"level":"error"' not in line and b'"level":"warn"' not in line:
                        continue
                    m = re.search(rb'"msg":"([^"]*)"', line)
                    key = m.group(1).decode() if m else "?"
                    n, ex = seen.get(key, (0, line.decode("utf-8", "replace").strip()))
                    seen[key] = (n + 1, ex)
        except OSError:
            pass
    for key, (n, ex) in sorted(seen.items(), key=lambda kv: -kv[1][0]):
        print(f"  server logged {n} x '{key}', e.g. {ex[:300]}")


def evictions_logged(paths):
    """Entries the servers logged as evicted or expired (a kill may lose the
    last lines, so this is a lower bound)."""
    total = 0
    for p in paths:
        try:
            with open(p, "rb") as f:
                for line in f:
                    if b'"msg":"eviction"' in line:
                        for field in (rb'"evicted":(\d+)', rb'"expired":(\d+)'):
                            m = re.search(field, line)
                            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def summary(m):
    for k in sorted(m.counts):
        print(f"  {k}: {m.counts[k]}")


def cmd_run(cfg_path):
    cfg = load_cfg(cfg_path)
    seed = int(cfg["seed"])
    seconds = float(cfg["seconds"])
    m = Model()
    m.journal_file = open(os.path.join(cfg["work"], "journal.jsonl"), "w")
    server = Server(cfg)
    d = Driver(cfg, server, m)
    d.npm_expectations()
    d.go_expectations()
    rng = random.Random(f"{seed}-kills")
    n_kills = rng.randint(cfg.get("min_kills", 3), cfg.get("max_kills", 5))
    kill_at = sorted(rng.uniform(4, max(5, seconds - 4)) for _ in range(n_kills))
    log(f"seed {seed}: {cfg['workers']} workers for {seconds:.0f} s, kill -9 at "
        f"{', '.join('%.1f' % t for t in kill_at)} s")
    server.start()
    t0 = time.monotonic()
    deadline = t0 + seconds
    threads = [threading.Thread(target=d.worker, args=(w, deadline), daemon=True)
               for w in range(int(cfg["workers"]))]
    for t in threads:
        t.start()
    stop_secs = None
    try:
        for at in kill_at + [seconds]:
            while time.monotonic() < t0 + at and not d.stop.is_set():
                if server.died():
                    m.violation(f"cellar exited on its own (epoch {server.epoch}, exit {server.proc.returncode}) "
                                f"at {time.monotonic() - t0:.1f} s; log tail:\n    {tail(server.logs[-1])}")
                    try:
                        server.kill9_restart()  # keep going: later defects are worth seeing too
                    except RuntimeError as e:
                        m.violation(f"restart after the exit failed: {e}")
                        d.stop.set()
                time.sleep(0.05)
            if d.stop.is_set() or at == seconds:
                break
            log(f"kill -9 cellar (epoch {server.epoch}, pid {server.proc.pid}) at {time.monotonic() - t0:.1f} s")
            try:
                server.kill9_restart()
            except RuntimeError as e:
                m.violation(f"restart after kill -9 failed: {e}")
                d.stop.set()
                break
            log(f"restarted: epoch {server.epoch}, port {server.port}")
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()) + 120)
        if any(t.is_alive() for t in threads):
            m.violation("workers still busy 120 s after the end of the run (a request hung)")
    finally:
        if server.proc and server.proc.poll() is None:
            stop_secs = server.stop()
    if stop_secs is None and server.failed is None:
        m.violation("cellar did not exit within 40 s of SIGTERM (killed)")
    else:
        log(f"cellar stopped on SIGTERM in {stop_secs:.1f} s" if stop_secs is not None else "cellar not running")
    worst, open_run = longest_refusal_run(m.writes)
    refused = sum(1 for _, _, kind in m.writes if kind == "refused")
    acked = sum(1 for _, _, kind in m.writes if kind == "ok")
    log(f"writes of 64 KiB or more: {acked} acknowledged, {refused} refused as full/failing; longest refusal run "
        f"{worst:.1f} s{' (still refusing at the end)' if open_run else ''}")
    wedge_limit = float(cfg["wedge_seconds"])
    if worst > wedge_limit:
        m.violation(f"writes refused for {worst:.1f} s in a row (limit {wedge_limit:.0f} s): the store "
                    f"stayed wedged{' until the end of the run' if open_run else ''}")
    summary(m)
    server_errors(server.logs)
    if m.notes:
        print("  notes (first 12):")
        for n in m.notes[:12]:
            print("   ", n)
    save_model(cfg, m, {"refused": refused, "acked": acked, "longest_refusal": worst,
                        "kills": len(server.kill_times)})
    if m.violations:
        print(f"{len(m.violations)} violations (seed {seed}); first ones:", file=sys.stderr)
        for v in m.violations[:20]:
            print("  " + v, file=sys.stderr)
        for p in server.logs[-2:]:
            print(f"  server log {os.path.basename(p)}, last lines:\n    {tail(p)}", file=sys.stderr)
        return 1
    log(f"run: no violation in {len(m.keys)} keys, {len(server.kill_times)} kills")
    return 0


def cmd_check(cfg_path, port, *extra_logs):
    cfg = load_cfg(cfg_path)
    with open(cfg["model"]) as f:
        saved = json.load(f)
    m = Model()
    m.pull_expected = saved["pull_expected"]
    server = FixedServer(port)
    d = Driver(cfg, server, m)
    # 1. Read-back of every key.
    exact = evicted = 0
    for j in saved["keys"]:
        k = Key(j["family"], j["key"])
        k.values = {h: [0.0, None] for h in j["allowed"]}
        k.acked = j["acked"]
        got = d.check_read(k, final=True)
        if got is not None:
            exact += 1
        elif k.acked is not None:
            evicted += 1
    acked_keys = sum(1 for j in saved["keys"] if j["acked"])
    logs = sorted(glob.glob(os.path.join(cfg["work"], "cellar-*.log"))) + list(extra_logs)
    log(f"read-back: {len(saved['keys'])} keys, {acked_keys} acknowledged; {exact} served exact, "
        f"{evicted} acknowledged ones absent (the servers logged {evictions_logged(logs)} evictions)")
    # 2. Pull-through still answers, byte-exact.
    bad = d.check_all_pull()
    if bad:
        m.violation(f"{bad} pull-through files not served 200 after the restart")
    # 3. Not wedged: fresh writes are stored within wedge_seconds each.
    rng = random.Random(f"{cfg['seed']}-final")
    limit = float(cfg["wedge_seconds"])
    stored = 0
    waits = []
    for i in range(int(cfg.get("final_writes", 12))):
        data = rng.randbytes(512 * 1024)
        key = sha(data)
        t0 = time.monotonic()
        while True:
            r = request(server, "PUT", f"/bazel/cas/{key}", data, {"Content-Type": "application/octet-stream"})
            if not r.error and r.status == 200:
                break
            if time.monotonic() - t0 > limit:
                m.violation(f"final write {i}: still refused after {limit:.0f} s: "
                            f"{r.status or r.error} {r.body[:160]!r}")
                break
            time.sleep(0.5)
        if not r.error and r.status == 200:
            stored += 1
            waits.append(time.monotonic() - t0)
            g = request(server, "GET", f"/bazel/cas/{key}")
            if g.status != 200 or g.body != data:
                m.violation(f"final write {i}: acknowledged but read back {g.status}, {len(g.body)} bytes")
        else:
            break
    log(f"after restart: {stored} fresh 512 KiB writes stored"
        + (f", longest wait {max(waits):.1f} s" if waits else ""))
    summary(m)
    if m.violations:
        print(f"{len(m.violations)} violations in the final check (seed {cfg['seed']}):", file=sys.stderr)
        for v in m.violations[:20]:
            print("  " + v, file=sys.stderr)
        return 1
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "run":
        return cmd_run(argv[2])
    if len(argv) >= 4 and argv[1] == "check":
        return cmd_check(*argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
