#!/usr/bin/env python3
"""A fake upstream Go module proxy serving a GOPROXY file tree.

Usage: fake_goproxy.py PROXY_DIR PORT_FILE LOG_FILE

Listens on 127.0.0.1, port 0, and writes the chosen port to PORT_FILE once it
accepts connections. GET (and HEAD) only; answers from PROXY_DIR laid out as
<case-encoded module>/@v/{list,<v>.info,<v>.mod,<v>.zip}; <module>/@latest is
derived from @v/list (highest listed release, its .info). Missing files -> 404
text/plain, like a real proxy.

Every request appends one line "<METHOD> <path>" to LOG_FILE (flushed before
the answer is sent, so a client that got an answer can count it).

Fault switches, checked on every request (the directory holding PROXY_DIR is
called OUT_DIR here):
  OUT_DIR/down        exists -> every request gets 503 (still logged);
  OUT_DIR/zip_delay   holds seconds (float) to sleep before answering a .zip;
                      the environment variable FAKE_GOPROXY_ZIP_DELAY is the
                      default when the file is absent;
  OUT_DIR/tamper      one "<escaped module>@<escaped version>[ mod]" per line
                      (e.g. "example.test/!azure/sdk@v1.0.0"; blank lines and
                      lines starting with '#' are ignored): that version's
                      .zip is served tampered, with the same entries but one
                      .go file (the first by name) with a comment line
                      appended; with " mod" its .mod file is tampered too (a
                      comment line appended). The files in PROXY_DIR are not
                      changed, so a checksum database computed from them (see
                      fake_sumdb/) still has the original hashes and the go
                      command must fail with "SECURITY ERROR".
  OUT_DIR/auth        holds "user:password": requests without exactly these
                      Basic credentials get 401 (a private upstream); the
                      log line then ends with " [auth ok]" or " [auth bad]".
Python 3 standard library only.
"""

import base64
import http.server
import io
import json
import os
import sys
import threading
import time
import urllib.parse
import zipfile

PROXY_DIR = os.path.abspath(sys.argv[1]) if len(sys.argv) == 4 else None
OUT_DIR = os.path.dirname(PROXY_DIR) if PROXY_DIR else None
LOG_LOCK = threading.Lock()


def semver_key(v):
    core = v.lstrip("v").split("-", 1)[0].split("+", 1)[0]
    try:
        nums = tuple(int(x) for x in core.split("."))
    except ValueError:
        nums = (-1,)
    return (nums, "-" not in v)


def zip_delay():
    try:
        with open(os.path.join(OUT_DIR, "zip_delay")) as f:
            return float(f.read().strip() or 0)
    except FileNotFoundError:
        return float(os.environ.get("FAKE_GOPROXY_ZIP_DELAY", "0") or 0)


TAMPER_LINE = b"\n// tampered by fake_goproxy.py\n"


def tampered_kinds(key):
    """Which files of KEY ("<esc module>@<esc version>") the tamper control
    file asks to tamper with: a subset of {"zip", "mod"}."""
    try:
        with open(os.path.join(OUT_DIR, "tamper")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return set()
    kinds = set()
    for line in lines:
        words = line.split()
        if not words or words[0].startswith("#") or words[0] != key:
            continue
        kinds.add("zip")
        if "mod" in words[1:]:
            kinds.add("mod")
    return kinds


def tamper_zip(body):
    """Same entries, same order and metadata; the first .go file by name (the
    first file if there is none) gets TAMPER_LINE appended."""
    src = zipfile.ZipFile(io.BytesIO(body))
    infos = src.infolist()
    files = [i.filename for i in infos if not i.is_dir()]
    go_files = sorted(n for n in files if n.endswith(".go"))
    victim = go_files[0] if go_files else (files[0] if files else None)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in infos:
            data = src.read(info)
            if info.filename == victim:
                data += TAMPER_LINE
            new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            new.compress_type = info.compress_type
            new.external_attr = info.external_attr
            dst.writestr(new, data)
    return out.getvalue()


def maybe_tamper(rel_parts, body):
    """rel_parts: path segments of a file under PROXY_DIR."""
    if len(rel_parts) < 3 or rel_parts[-2] != "@v":
        return body
    name = rel_parts[-1]
    for ext, kind in ((".zip", "zip"), (".mod", "mod")):
        if name.endswith(ext):
            key = "/".join(rel_parts[:-2]) + "@" + name[: -len(ext)]
            if kind in tampered_kinds(key):
                return tamper_zip(body) if kind == "zip" else body + TAMPER_LINE
    return body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-goproxy/1"

    def log_message(self, fmt, *args):  # quiet stderr
        pass

    def _auth_state(self):
        """None when no credentials are required, else True/False."""
        try:
            with open(os.path.join(OUT_DIR, "auth")) as f:
                want = f.read().strip()
        except FileNotFoundError:
            return None
        got = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(want.encode()).decode()
        return got == expected

    def _log(self):
        auth = self._auth_state()
        suffix = "" if auth is None else (" [auth ok]" if auth else " [auth bad]")
        with LOG_LOCK:
            with open(LOG_FILE, "a") as f:
                f.write("%s %s%s\n" % (self.command, self.path, suffix))
                f.flush()

    def _send(self, code, body, ctype="text/plain; charset=utf-8"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _resolve(self):
        """Returns (body, content type) or None for not found."""
        path = urllib.parse.urlsplit(self.path).path
        if "%" in path:
            path = urllib.parse.unquote(path)
        parts = [p for p in path.split("/") if p]
        if not parts or any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
            return None
        if parts[-1] == "@latest":
            list_file = os.path.join(PROXY_DIR, *parts[:-1], "@v", "list")
            try:
                with open(list_file) as f:
                    versions = [v for v in f.read().split() if v]
            except (FileNotFoundError, NotADirectoryError):
                return None
            if not versions:
                return None
            best = max(versions, key=semver_key)
            info = os.path.join(PROXY_DIR, *parts[:-1], "@v", best + ".info")
            try:
                with open(info, "rb") as f:
                    return f.read(), "application/json"
            except FileNotFoundError:
                body = json.dumps({"Version": best}).encode()
                return body, "application/json"
        full = os.path.join(PROXY_DIR, *parts)
        if not os.path.isfile(full):
            return None
        with open(full, "rb") as f:
            body = f.read()
        body = maybe_tamper(parts, body)
        if full.endswith(".zip"):
            ctype = "application/zip"
        elif full.endswith(".info"):
            ctype = "application/json"
        else:
            ctype = "text/plain; charset=utf-8"
        return body, ctype

    def do_GET(self):
        self._log()
        if os.path.exists(os.path.join(OUT_DIR, "down")):
            self._send(503, b"fake upstream is down\n")
            return
        if self._auth_state() is False:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        found = self._resolve()
        if found is None:
            self._send(404, b"not found\n")
            return
        body, ctype = found
        if ctype == "application/zip":
            delay = zip_delay()
            if delay > 0:
                time.sleep(delay)
        self._send(200, body, ctype)

    do_HEAD = do_GET

    def _reject(self):
        self._log()
        self._send(405, b"method not allowed\n")

    do_POST = do_PUT = do_DELETE = do_PATCH = _reject


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    global LOG_FILE
    if PROXY_DIR is None:
        sys.exit("usage: fake_goproxy.py PROXY_DIR PORT_FILE LOG_FILE")
    port_file, LOG_FILE = sys.argv[2], sys.argv[3]
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
