#!/usr/bin/env python3
"""A fake OpenTelemetry collector: the OTLP/HTTP JSON traces endpoint.

Usage: fake_otlp_collector.py PORT_FILE OUT_DIR

Listens on 127.0.0.1 port 0 and writes the port to PORT_FILE. Each
POST /v1/traces must carry Content-Type application/json and a body that
parses as JSON with a resourceSpans list; it is answered 200 {} and saved as
OUT_DIR/<n>.json. Anything else is answered 400 and counted in
OUT_DIR/rejected (one line per refusal, saying why). While OUT_DIR/hang
exists every request is held for 30 s before the answer (a collector that
has stopped answering).
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT_DIR = None
COUNT = [0]
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reject(self, why):
        with LOCK:
            with open(os.path.join(OUT_DIR, "rejected"), "a") as f:
                f.write(why + "\n")
        self._answer(400, json.dumps({"error": why}))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if os.path.exists(os.path.join(OUT_DIR, "hang")):
            time.sleep(30)
        if self.path != "/v1/traces":
            return self._reject("path " + self.path)
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self._reject("content type " + self.headers.get("Content-Type", ""))
        try:
            doc = json.loads(body)
        except ValueError as e:
            return self._reject("not JSON: %s" % e)
        if not isinstance(doc.get("resourceSpans"), list):
            return self._reject("no resourceSpans")
        with LOCK:
            COUNT[0] += 1
            path = os.path.join(OUT_DIR, "%06d.json" % COUNT[0])
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.rename(path + ".tmp", path)
        self._answer(200, "{}")


def main():
    global OUT_DIR
    if len(sys.argv) != 3:
        sys.exit("usage: fake_otlp_collector.py PORT_FILE OUT_DIR")
    port_file, OUT_DIR = sys.argv[1], sys.argv[2]
    os.makedirs(OUT_DIR, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
