#!/usr/bin/env python3
"""A fake upstream git host: `git http-backend` (CGI) behind a tiny HTTP server.

Usage: fake_git_upstream.py PROJECT_ROOT PORT_FILE LOG_FILE CONTROL_DIR
       fake_git_upstream.py --query LOG_FILE [FILTER...]   (see query() below)

Listens on 127.0.0.1, port 0, and writes the chosen port to PORT_FILE once it
accepts connections. Every request is handed to `git http-backend` with
GIT_PROJECT_ROOT=PROJECT_ROOT and GIT_HTTP_EXPORT_ALL=1 (smart and dumb HTTP;
receive-pack stays disabled because http.receivepack is not set), with the CGI
variables REQUEST_METHOD, PATH_INFO, QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH
(only when the request had one), REMOTE_ADDR, REMOTE_USER (after a good
Basic login), GIT_PROTOCOL (from the Git-Protocol header) and
HTTP_CONTENT_ENCODING (from Content-Encoding; http-backend inflates gzip
bodies itself). The request body, chunked or not, is streamed to the CGI's
stdin (without CONTENT_LENGTH when it was chunked: http-backend then reads
to EOF), the CGI `Status:` header becomes the HTTP status, and the CGI's
stdout is streamed back with chunked transfer encoding (HTTP/1.1 keep-alive).
The CGI's stderr goes to LOG_FILE.cgi-stderr.

Authentication: repositories whose path starts with `private/` need Basic
alice:s3cret; no Authorization -> 401 with WWW-Authenticate: Basic
realm="fake"; anything else -> 403. Everything else is public.

LOG_FILE gets one JSON object per request (compact, keys in this order),
written before the last byte of the response is sent, so a client that has
its answer can count it:
  method, path (URL path), repo (path up to and including the first segment
  ending in .git, else the path without its service suffix), query,
  git_protocol (Git-Protocol header or ""), service ("info/refs",
  "git-upload-pack", "git-receive-pack" or "other"), command (POST
  git-upload-pack: the v2 command from `command=` in the gunzipped body,
  "probe" for a body of flush packets only (remote-curl probes with "0000"
  before a chunked POST), or "v0" when the body does not start with
  command=; else ""), wants, haves (counts
  of want/have lines), done (bool), filter (bool), deepen (bool), pack (true
  for a git-upload-pack POST whose command is fetch or v0), auth (the request
  carried Authorization), user (the authenticated user or ""), user_agent,
  gzip, chunked (how the request body was sent), status (0 when the
  connection was closed without a response), bytes
  (response body bytes), ms (duration), fault ("down", "refuse" or "").
LOG_FILE.started gets a line {"method","path","command"} when a request has
been read and is about to be answered (used to act while a pack is sent).

Control files in CONTROL_DIR, checked on every request:
  down        exists -> every request is answered 503 (text/plain, logged);
  refuse      exists -> the connection is closed without any response (RST);
  slow        holds N (ms): sleep N ms before answering any request;
  slow_pack   holds N (ms): sleep N ms before answering pack POSTs
              (git-upload-pack fetch / v0) only;
  trickle     holds "BYTES MS": send the response body of pack POSTs in
              pieces of BYTES bytes with MS ms between them.
Python 3 standard library only.
"""

import base64
import http.server
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import zlib

GOOD_AUTH = "Basic " + base64.b64encode(b"alice:s3cret").decode()
LOG_LOCK = threading.Lock()
HEAD_BYTES = 256 * 1024  # how much of the (decoded) body is kept for parsing


def control(name):
    """Contents of CONTROL_DIR/name (stripped), or None when absent."""
    try:
        with open(os.path.join(CONTROL_DIR, name)) as f:
            return f.read().strip()
    except (FileNotFoundError, IsADirectoryError):
        return None


def control_ms(name):
    v = control(name)
    if not v:
        return 0
    try:
        return int(float(v.split()[0]))
    except ValueError:
        return 0


def parse_pkt_lines(data):
    """Payloads of the pkt-lines in DATA (special packets as None), as far as
    DATA goes."""
    out, i = [], 0
    while i + 4 <= len(data):
        try:
            n = int(data[i : i + 4], 16)
        except ValueError:
            break
        if n < 4:
            out.append(None)
            i += 4
            continue
        if i + n > len(data):
            break
        out.append(data[i + 4 : i + n])
        i += n
    return out


def describe_upload_pack_body(head, gzipped):
    """Returns (command, wants, haves, done, filter, deepen) from the first
    HEAD_BYTES of a git-upload-pack request body."""
    if gzipped:
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except zlib.error:
            head = b""
    pkts = parse_pkt_lines(head)
    if not any(p for p in pkts):
        # only flush packets: remote-curl's probe_rpc before a chunked POST
        return "probe", 0, 0, False, False, False
    command = "v0"
    wants = haves = 0
    done = filt = deepen = False
    for i, p in enumerate(pkts):
        if p is None:
            continue
        line = p.rstrip(b"\n")
        if i == 0 and line.startswith(b"command="):
            command = line[len(b"command=") :].decode("utf-8", "replace")
        elif line.startswith(b"want ") or line.startswith(b"want-ref "):
            wants += 1
            # v0: capabilities follow the first want
            if b" filter" in line:
                filt = True
        elif line.startswith(b"have "):
            haves += 1
        elif line == b"done":
            done = True
        elif line.startswith(b"filter"):
            filt = True
        elif line.startswith(b"deepen") or line.startswith(b"shallow "):
            deepen = deepen or line.startswith(b"deepen")
    return command, wants, haves, done, filt, deepen


def repo_of(path):
    parts = [p for p in path.split("/") if p]
    for i, p in enumerate(parts):
        if p.endswith(".git"):
            return "/".join(parts[: i + 1])
    for suffix in (["info", "refs"], ["git-upload-pack"], ["git-receive-pack"]):
        if parts[-len(suffix) :] == suffix:
            return "/".join(parts[: -len(suffix)])
    return "/".join(parts)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-git-upstream/1"

    def log_message(self, fmt, *args):  # quiet stderr
        pass

    # --- request body --------------------------------------------------
    def _body_chunks(self):
        """Yields the request body (transfer-decoded) in pieces."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("EOF in chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers up to the empty line
                    while True:
                        t = self.rfile.readline(65537)
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    return
                left = size
                while left:
                    b = self.rfile.read(min(left, 65536))
                    if not b:
                        raise ConnectionError("EOF in chunk")
                    left -= len(b)
                    yield b
                self.rfile.readline(3)  # CRLF after the chunk
        else:
            left = int(self.headers.get("Content-Length", "0") or 0)
            while left:
                b = self.rfile.read(min(left, 65536))
                if not b:
                    raise ConnectionError("EOF in body")
                left -= len(b)
                yield b

    def _drain(self):
        try:
            for _ in self._body_chunks():
                pass
        except (ConnectionError, ValueError):
            self.close_connection = True

    # --- logging -------------------------------------------------------
    def _log(self, status, nbytes, fault=""):
        e = self.entry
        e["status"] = status
        e["bytes"] = nbytes
        e["ms"] = int((time.monotonic() - self.t0) * 1000)
        e["fault"] = fault
        line = json.dumps(e, separators=(",", ":"))
        with LOG_LOCK:
            with open(LOG_FILE, "a") as f:
                f.write(line + "\n")

    def _log_started(self):
        line = json.dumps(
            {"method": self.command, "path": self.entry["path"], "command": self.entry["command"]},
            separators=(",", ":"),
        )
        with LOG_LOCK:
            with open(LOG_FILE + ".started", "a") as f:
                f.write(line + "\n")

    def _simple(self, code, body, extra=(), fault=""):
        body = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self._log(code, len(body), fault)
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    # --- main ----------------------------------------------------------
    def _handle(self):
        self.t0 = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        service = "other"
        if path.endswith("/info/refs"):
            service = "info/refs"
        elif path.endswith("/git-upload-pack"):
            service = "git-upload-pack"
        elif path.endswith("/git-receive-pack"):
            service = "git-receive-pack"
        auth = self.headers.get("Authorization")
        self.entry = {
            "method": self.command,
            "path": path,
            "repo": repo_of(urllib.parse.unquote(path)),
            "query": url.query,
            "git_protocol": self.headers.get("Git-Protocol", ""),
            "service": service,
            "command": "",
            "wants": 0,
            "haves": 0,
            "done": False,
            "filter": False,
            "deepen": False,
            "pack": False,
            "auth": auth is not None,
            "user": "",
            "user_agent": self.headers.get("User-Agent", ""),
            "gzip": self.headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip"),
            "chunked": "chunked" in self.headers.get("Transfer-Encoding", "").lower(),
        }

        if control("refuse") is not None:
            self._log(0, 0, "refuse")
            # RST instead of FIN: the client sees the connection reset.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if control("down") is not None:
            self._drain()
            self._simple(503, "fake upstream is down\n", [("Retry-After", "1")], "down")
            return

        repo_path = urllib.parse.unquote(path).lstrip("/")
        user = ""
        if repo_path.startswith("private/"):
            if auth is None:
                self._drain()
                self._simple(401, "authentication required\n", [("WWW-Authenticate", 'Basic realm="fake"')])
                return
            if auth != GOOD_AUTH:
                self._drain()
                self._simple(403, "access denied\n")
                return
            user = "alice"
        self.entry["user"] = user

        gzipped = self.headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip")
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("HTTP_") or k in ("GIT_PROTOCOL", "CONTENT_LENGTH", "CONTENT_TYPE"):
                del env[k]
        env.update(
            {
                "GIT_PROJECT_ROOT": PROJECT_ROOT,
                "GIT_HTTP_EXPORT_ALL": "1",
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "SERVER_SOFTWARE": self.server_version,
                "REQUEST_METHOD": self.command,
                "PATH_INFO": urllib.parse.unquote(path),
                "QUERY_STRING": url.query,
                "REMOTE_ADDR": self.client_address[0],
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            }
        )
        if user:
            env["REMOTE_USER"] = user
        if not chunked and self.headers.get("Content-Length") is not None:
            env["CONTENT_LENGTH"] = self.headers.get("Content-Length")
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers.get("Git-Protocol")
            env["HTTP_GIT_PROTOCOL"] = self.headers.get("Git-Protocol")
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers.get("Content-Encoding")

        # Read the body into a spool (kept in memory up to HEAD_BYTES for
        # parsing, streamed to the CGI from a thread).
        body_head = bytearray()
        try:
            with open(LOG_FILE + ".cgi-stderr", "ab") as err:
                proc = subprocess.Popen(
                    ["git", "http-backend"],
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                )
        except OSError as e:
            self._drain()
            self._simple(500, "cannot run git http-backend: %s\n" % e)
            return

        body_error = []

        def feed():
            try:
                for b in self._body_chunks():
                    if len(body_head) < HEAD_BYTES:
                        body_head.extend(b[: HEAD_BYTES - len(body_head)])
                    try:
                        proc.stdin.write(b)
                    except BrokenPipeError:
                        pass  # keep draining the request
            except (ConnectionError, ValueError, OSError) as e:
                body_error.append(e)
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

        if self.command in ("POST", "PUT"):
            # http-backend reads the whole request before it answers
            # (upload-pack buffers its input), so feeding first is safe; a
            # thread keeps this correct for anything that would not.
            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            feeder.join()
        else:
            proc.stdin.close()
        if body_error:
            proc.kill()
            proc.wait()
            self.close_connection = True
            self._log(0, 0, "bad request body")
            return

        if service == "git-upload-pack" and self.command == "POST":
            c, w, h, d, fl, dp = describe_upload_pack_body(bytes(body_head), gzipped)
            self.entry.update(command=c, wants=w, haves=h, done=d, filter=fl, deepen=dp)
            self.entry["pack"] = c in ("fetch", "v0")
        self._log_started()

        delay = control_ms("slow")
        if self.entry["pack"]:
            delay += control_ms("slow_pack")
        if delay:
            time.sleep(delay / 1000.0)

        # CGI response headers
        out = proc.stdout
        status, reason, headers = 200, "OK", []
        while True:
            line = out.readline()
            if not line:
                break
            line = line.rstrip(b"\r\n")
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            v = v.strip()
            if k.lower() == "status":
                code, _, rest = v.partition(" ")
                status, reason = int(code), rest or None
            else:
                headers.append((k, v))

        trickle = None
        if self.entry["pack"]:
            t = control("trickle")
            if t:
                try:
                    a, b = t.split()[:2]
                    trickle = (max(1, int(a)), int(b) / 1000.0)
                except ValueError:
                    trickle = None

        self.send_response(status, reason)
        for k, v in headers:
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        nbytes = 0
        try:
            while True:
                piece = out.read1(65536) if trickle is None else out.read1(trickle[0])
                if not piece:
                    break
                if trickle is not None:
                    # read1 may return less than asked; that is fine
                    time.sleep(trickle[1])
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                nbytes += len(piece)
            proc.wait()
            self._log(status, nbytes)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            proc.kill()
            proc.wait()
            self._log(status, nbytes, "client went away")
            self.close_connection = True

    def _safe(self):
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = _safe


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


def query(log_file, filters):
    """Prints the number of log entries matching every FILTER (key=value,
    values compared as JSON-ish strings: true/false/numbers/text; key~=text
    for a substring). --since=N skips the first N lines."""
    since = 0
    conds = []
    for f in filters:
        if f.startswith("--since="):
            since = int(f.split("=", 1)[1])
            continue
        if "~=" in f:
            k, v = f.split("~=", 1)
            conds.append((k, "sub", v))
        else:
            k, v = f.split("=", 1)
            conds.append((k, "eq", v))
    n = 0
    with open(log_file) as fh:
        for i, line in enumerate(fh):
            if i < since or not line.strip():
                continue
            e = json.loads(line)
            ok = True
            for k, op, v in conds:
                got = e.get(k)
                gs = json.dumps(got) if isinstance(got, bool) else str(got)
                if op == "eq" and gs != v:
                    ok = False
                elif op == "sub" and v not in gs:
                    ok = False
            n += ok
    print(n)


def main():
    global PROJECT_ROOT, LOG_FILE, CONTROL_DIR
    if len(sys.argv) >= 3 and sys.argv[1] == "--query":
        query(sys.argv[2], sys.argv[3:])
        return
    if len(sys.argv) != 5:
        sys.exit("usage: fake_git_upstream.py PROJECT_ROOT PORT_FILE LOG_FILE CONTROL_DIR")
    PROJECT_ROOT = os.path.abspath(sys.argv[1])
    port_file, LOG_FILE, CONTROL_DIR = sys.argv[2], os.path.abspath(sys.argv[3]), os.path.abspath(sys.argv[4])
    os.makedirs(CONTROL_DIR, exist_ok=True)
    open(LOG_FILE, "a").close()
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
