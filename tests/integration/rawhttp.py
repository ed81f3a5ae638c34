#!/usr/bin/env python3
"""Raw-socket HTTP clients for fault cases curl cannot produce.

Subcommands (all talk to 127.0.0.1:PORT, print one result line):
  raw PORT REQUEST          send REQUEST (Python escapes such as \\r\\n are
                            decoded), print the response status line or CLOSED
  truncated PORT PATH DECLARED SEND
                            PUT PATH with Content-Length DECLARED, send SEND
                            pseudo-random bytes, close; prints the response
                            status line if one arrived before the close, else
                            NONE
  slowloris PORT            send "GET /healthz ..." one byte per second; while
                            it trickles, time a normal request on another
                            connection. Prints JSON: {"status": <code or null>,
                            "closed": bool, "elapsed": s, "other_status": code,
                            "other_ms": ms}
  chunkext PORT PATH MIB    chunked PUT PATH whose first chunk-size line never
                            ends: MIB MiB of chunk extension. Prints JSON:
                            {"sent_mib": n, "status": code or null}
  stall PORT PATH WAIT      GET PATH, read only the first bytes, stop reading
                            for WAIT seconds, then read to the end. Prints
                            JSON: {"body": bytes received, "length": declared}
  responses PORT REQUEST    send REQUEST (escapes decoded as for raw), read
                            until the server closes (3 s at most); print every
                            response status line, joined by " | ", or CLOSED
  flood PORT N MODE         open N connections and hold them: MODE idle sends
                            nothing, upload sends a PUT of 10 MB that stalls
                            after 500 KB. Then GET /healthz on one more.
                            Prints JSON: {"opened": n, "healthz": code or
                            null, "healthz_ms": ms}; closes all after.
"""
import json
import random
import socket
import sys
import threading
import time


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_status_line(s):
    """Returns the first response line, or None when the peer closed first."""
    buf = b""
    try:
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    if b"\r\n" not in buf:
        return None
    return buf.split(b"\r\n", 1)[0].decode("latin-1")


def cmd_raw(port, request):
    data = request.encode("latin-1").decode("unicode_escape").encode("latin-1")
    s = connect(port)
    s.sendall(data)
    line = read_status_line(s)
    print(line if line else "CLOSED")


def cmd_truncated(port, path, declared, send):
    declared, send = int(declared), int(send)
    body = random.Random(1234).randbytes(send)
    s = connect(port)
    head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/octet-stream\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()
    s.sendall(head + body)
    time.sleep(0.2)
    # A response before the body is complete would be a server error: check
    # without blocking, then close both directions (an abrupt client exit).
    s.setblocking(False)
    try:
        early = s.recv(4096)
    except BlockingIOError:
        early = b""
    s.close()
    print(early.split(b"\r\n", 1)[0].decode("latin-1") if early else "NONE")


def cmd_slowloris(port):
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n\r\n"
    s = connect(port, timeout=30)
    start = time.monotonic()
    result = {"status": None, "closed": False}
    stop = threading.Event()

    def trickle():
        for b in request:
            if stop.is_set():
                return
            try:
                s.send(bytes([b]))
            except OSError:
                return
            stop.wait(1.0)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    # While the slow client holds its connection, another client must be
    # served promptly.
    time.sleep(1.2)
    o = connect(port)
    t0 = time.monotonic()
    o.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    other = read_status_line(o)
    result["other_ms"] = round((time.monotonic() - t0) * 1000, 1)
    result["other_status"] = int(other.split()[1]) if other else None
    o.close()

    line = read_status_line(s)  # blocks until the server answers or closes
    result["elapsed"] = round(time.monotonic() - start, 2)
    stop.set()
    if line:
        result["status"] = int(line.split()[1])
    else:
        result["closed"] = True
    s.close()
    print(json.dumps(result))


def cmd_chunkext(port, path, mib):
    s = connect(port, timeout=30)
    s.sendall((f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
               "Transfer-Encoding: chunked\r\n\r\n1;").encode())
    piece = b"x" * (1 << 20)
    sent = 0
    try:
        for _ in range(int(mib)):
            s.sendall(piece)
            sent += 1
    except OSError:
        pass  # the server closed the connection: what we want
    line = read_status_line(s)
    s.close()
    print(json.dumps({"sent_mib": sent, "status": int(line.split()[1]) if line else None}))


def cmd_stall(port, path, wait):
    s = connect(port, timeout=60)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1024)
        if not chunk:
            break
        head += chunk
    header, _, body = head.partition(b"\r\n\r\n")
    length = None
    for line in header.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    time.sleep(float(wait))
    got = len(body)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    print(json.dumps({"body": got, "length": length}))


def cmd_responses(port, request):
    data = request.encode("latin-1").decode("unicode_escape").encode("latin-1")
    s = connect(port, timeout=3)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    lines = [l.decode("latin-1") for l in got.split(b"\r\n") if l.startswith(b"HTTP/1.")]
    print(" | ".join(lines) if lines else "CLOSED")


def cmd_flood(port, n, mode):
    held = []
    body = b"u" * (500 * 1024)
    for i in range(int(n)):
        try:
            s = connect(port, timeout=5)
            if mode == "upload":
                s.sendall((f"PUT /ccache/ab/{i:031d} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Content-Length: 10000000\r\n\r\n").encode())
                s.setblocking(False)
                try:
                    s.send(body)  # as much as fits; the rest never comes
                except (BlockingIOError, OSError):
                    pass
            held.append(s)
        except OSError:
            break
    time.sleep(0.5)
    t0 = time.monotonic()
    status = None
    try:
        h = connect(port, timeout=5)
        h.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        line = read_status_line(h)
        status = int(line.split()[1]) if line else None
        h.close()
    except OSError:
        pass
    ms = round((time.monotonic() - t0) * 1000, 1)
    for s in held:
        s.close()
    print(json.dumps({"opened": len(held), "healthz": status, "healthz_ms": ms}))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    {"raw": cmd_raw, "truncated": cmd_truncated, "slowloris": cmd_slowloris, "chunkext": cmd_chunkext,
     "stall": cmd_stall, "responses": cmd_responses, "flood": cmd_flood}[cmd](*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
