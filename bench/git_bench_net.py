#!/usr/bin/env python3
"""Network helpers for bench/git_bench.sh (Python 3 standard library only).

  git_bench_net.py delay ROOT_TUN NETNS NS_TUN DELAY_MS READY_FILE
      The emulated WAN's delay: a userspace packet delay line between two
      persistent TUN devices, ROOT_TUN in this (the root) network namespace
      and NS_TUN in NETNS (/var/run/netns/NETNS). Every IP packet read from
      one device is written into the other DELAY_MS later (FIFO, so order is
      kept; nothing is dropped, reordered or coalesced). TCP still runs end to
      end between the two namespaces, so handshakes, slow start, window
      growth and every request/response round trip see the full RTT
      (2 x DELAY_MS), as with `tc qdisc ... netem delay`; this stands in for
      netem on kernels built without CONFIG_NET_SCH_NETEM. The rate limit is
      not done here: git_bench.sh puts a tbf qdisc on each TUN device's
      egress. Writes READY_FILE once both devices are attached; runs until
      killed; on SIGTERM prints packet counts and how many went out late.

  git_bench_net.py upstream BIND_ADDR PROJECT_ROOT PORT_FILE LOG_FILE CONTROL_DIR
      tests/integration/fake_git_upstream.py (git http-backend behind its
      small HTTP server, same request log), listening on BIND_ADDR instead of
      127.0.0.1 (the fake itself hard-codes 127.0.0.1), plus a probe sink on
      a second port: a client sends an 8-byte big-endian N and gets N bytes
      back. PORT_FILE gets "GIT_PORT PROBE_PORT".

  git_bench_net.py probe HOST PROBE_PORT MBYTES
      Prints "rtt_ms=X mbit=Y": X the median of 7 TCP connect times (one
      round trip each), Y the goodput of one MBYTES download on a new
      connection (slow start included, as a clone's would be).
"""

import ctypes
import fcntl
import os
import select
import signal
import socket
import statistics
import struct
import sys
import threading
import time
from collections import deque

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def attach_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def delay_line(root_tun, netns, ns_tun, delay_ms, ready_file):
    libc = ctypes.CDLL(None, use_errno=True)
    a = attach_tun(root_tun)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    nsfd = os.open("/var/run/netns/" + netns, os.O_RDONLY)
    if libc.setns(nsfd, CLONE_NEWNET) != 0:
        sys.exit("setns %s: %s" % (netns, os.strerror(ctypes.get_errno())))
    b = attach_tun(ns_tun)
    libc.setns(own, CLONE_NEWNET)  # back home; both fds stay bound to their devices
    os.close(nsfd)
    os.close(own)
    delay = delay_ms / 1000.0
    queues = {a: deque(), b: deque()}  # packets read from fd, waiting to go out of the other one
    other = {a: b, b: a}
    stats = {"packets": 0, "bytes": 0, "late_max_ms": 0.0, "late2": 0, "late10": 0, "write_errors": 0}

    def report(*_):
        sys.stderr.write("delay line: %(packets)d packets, %(bytes)d bytes; sent late by > 2 ms: %(late2)d, "
                         "> 10 ms: %(late10)d, worst %(late_max_ms).1f ms; %(write_errors)d write errors\n" % stats)
        sys.stderr.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    signal.signal(signal.SIGINT, report)
    ep = select.epoll()
    ep.register(a, select.EPOLLIN)
    ep.register(b, select.EPOLLIN)
    with open(ready_file + ".tmp", "w") as f:
        f.write("ready\n")
    os.replace(ready_file + ".tmp", ready_file)
    mono = time.monotonic
    while True:
        now = mono()
        due = None
        for src, q in queues.items():
            out = other[src]
            while q and q[0][0] <= now:
                t, pkt = q.popleft()
                late = (now - t) * 1000.0
                if late > 2.0:
                    stats["late2"] += 1
                    if late > 10.0:
                        stats["late10"] += 1
                    if late > stats["late_max_ms"]:
                        stats["late_max_ms"] = late
                try:
                    os.write(out, pkt)
                except OSError:
                    stats["write_errors"] += 1
            if q and (due is None or q[0][0] < due):
                due = q[0][0]
        timeout = -1 if due is None else max(0.0, due - now)
        for fd, _ in ep.poll(timeout):
            q = queues[fd]
            t = mono() + delay
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                q.append((t, pkt))
                stats["packets"] += 1
                stats["bytes"] += len(pkt)


def probe_sink(srv):
    def serve(c):
        try:
            hdr = b""
            while len(hdr) < 8:
                x = c.recv(8 - len(hdr))
                if not x:
                    return
                hdr += x
            n = struct.unpack(">Q", hdr)[0]
            chunk = b"\0" * 65536
            while n > 0:
                k = c.send(chunk[: min(n, len(chunk))])
                n -= k
            c.shutdown(socket.SHUT_WR)
            c.recv(1)
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def upstream(bind, root, port_file, log_file, control_dir):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))
    import fake_git_upstream as fgu

    fgu.PROJECT_ROOT = os.path.abspath(root)
    fgu.LOG_FILE = os.path.abspath(log_file)
    fgu.CONTROL_DIR = os.path.abspath(control_dir)
    os.makedirs(fgu.CONTROL_DIR, exist_ok=True)
    open(fgu.LOG_FILE, "a").close()
    srv = fgu.Server((bind, 0), fgu.Handler)
    sink = socket.socket()
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sink.bind((bind, 0))
    sink.listen(16)
    threading.Thread(target=probe_sink, args=(sink,), daemon=True).start()
    with open(port_file + ".tmp", "w") as f:
        f.write("%d %d\n" % (srv.server_address[1], sink.getsockname()[1]))
    os.replace(port_file + ".tmp", port_file)
    srv.serve_forever()


def probe(host, port, mbytes):
    rtts = []
    for _ in range(7):
        s = socket.socket()
        t0 = time.monotonic()
        s.connect((host, port))
        rtts.append((time.monotonic() - t0) * 1000.0)
        s.sendall(struct.pack(">Q", 0))
        s.close()
        time.sleep(0.01)
    n = mbytes * 1000 * 1000
    s = socket.socket()
    t0 = time.monotonic()
    s.connect((host, port))
    s.sendall(struct.pack(">Q", n))
    got = 0
    while got < n:
        x = s.recv(1 << 20)
        if not x:
            break
        got += len(x)
    dt = time.monotonic() - t0
    s.close()
    if got != n:
        sys.exit("probe: got %d of %d bytes" % (got, n))
    print("rtt_ms=%.1f mbit=%.1f" % (statistics.median(rtts), got * 8 / dt / 1e6))


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "delay":
        delay_line(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6])
    elif len(sys.argv) == 7 and sys.argv[1] == "upstream":
        upstream(*sys.argv[2:7])
    elif len(sys.argv) == 5 and sys.argv[1] == "probe":
        probe(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
