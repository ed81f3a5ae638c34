#!/usr/bin/env python3
"""Presigned negotiate against a real `cellar serve --storage s3` and Ceph RGW.

Usage: negotiate_presigned.py CELLAR_URL TOKEN S3_ENDPOINT
Checks, with plain HTTP (no cellar code on the client side):
  1. a presigned upload (PUT to the object store with the listed headers,
     then POST commit_url) and a presigned download, byte-identical; the
     token is never needed by, nor sent to, the object store;
  2. 50 concurrent uploads of one key with different bytes: exactly one
     commit answers 201, the others 200 skipped (or "skipped" already at
     negotiation); readers racing them only ever see "missing" or one
     whole upload, and afterwards every read is the winner's bytes;
  3. an upload killed half-way: the commit finds nothing (409), the key is
     still missing and can be uploaded again;
  4. a body of another size (403 from the store: content-length is signed)
     or another SHA-256 (400 from the store: x-amz-content-sha256 is signed)
     is refused by the object store, and nothing is committed.
Exits non-zero with a message on the first failed check.
"""
import hashlib
import http.client
import json
import os
import socket
import sys
import threading
import urllib.parse

CELLAR, TOKEN, S3 = sys.argv[1], sys.argv[2], sys.argv[3]
S3_NETLOC = urllib.parse.urlsplit(S3).netloc


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print("ok - " + msg, flush=True)


def request(method, url, body=b"", headers=None):
    """(status, body bytes). Sends Authorization only to the cellar server."""
    parts = urllib.parse.urlsplit(url)
    headers = dict(headers or {})
    if parts.netloc == S3_NETLOC and "Authorization" in headers:
        fail("about to send the token to the object store")
    conn = http.client.HTTPConnection(parts.netloc, timeout=60)
    target = parts.path + ("?" + parts.query if parts.query else "")
    conn.request(method, target, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def negotiate(hash_, action, data=None, presigned=True):
    item = {"hash": hash_, "action": action}
    if data is not None:
        item.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    if presigned:
        item["presigned"] = True
    status, body = request("POST", CELLAR + "/v1/negotiate", json.dumps(item).encode(),
                           {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    if status != 200:
        fail("negotiate %s %s: HTTP %d %s" % (action, hash_, status, body[:200]))
    return json.loads(body)


def put(answer, data):
    return request("PUT", answer["url"], data, answer.get("headers", {}))


def commit(answer):
    return request("POST", answer["commit_url"], b"", {"Authorization": "Bearer " + TOKEN})


def download(hash_):
    """None when missing, else the bytes the presigned GET returns."""
    a = negotiate(hash_, "download")
    if a["status"] == "missing":
        return None
    if a["status"] != "found" or not a["url"].startswith(S3):
        fail("download of %s: expected a presigned URL of %s, got %s" % (hash_, S3, a))
    status, body = request("GET", a["url"])
    if status != 200:
        fail("presigned GET of %s: HTTP %d %s" % (hash_, status, body[:200]))
    return body


# --- 1. round trip -------------------------------------------------------------
data = os.urandom(300_000)
a = negotiate("pre-one", "upload", data)
if a["status"] != "upload_needed" or not a["url"].startswith(S3) or "commit_url" not in a:
    fail("upload answer is not presigned: %s" % a)
if "/staging/" not in a["url"]:
    fail("upload URL is not a staging object: %s" % a["url"].split("?")[0])
status, body = put(a, data)
if status != 200:
    fail("presigned PUT: HTTP %d %s" % (status, body[:300]))
if download("pre-one") is not None:
    fail("an upload is visible before its commit")
status, body = commit(a)
if status != 201:
    fail("commit: HTTP %d %s" % (status, body))
if download("pre-one") != data:
    fail("presigned download differs from the upload")
if negotiate("pre-one", "upload", data)["status"] != "skipped":
    fail("a committed key is not skipped")
ok("presigned PUT + commit (201), presigned GET byte-identical, then skipped")
old = negotiate("pre-old", "upload", data, presigned=False)
if not old["url"].startswith(CELLAR) or "commit_url" in old:
    fail("a client that did not ask for presigned uploads got %s" % old)
ok("a client without \"presigned\" still uploads through cellar")

# --- 2. 50 concurrent uploads of one key ---------------------------------------
N = 50
bodies = [os.urandom(200_000) for _ in range(N)]
results = [None] * N
seen = []
stop = threading.Event()


def uploader(i):
    ans = negotiate("pre-race", "upload", bodies[i])
    if ans["status"] == "skipped":
        results[i] = "skipped-at-negotiation"
        return
    st, b = put(ans, bodies[i])
    if st != 200:
        results[i] = "put %d" % st
        return
    st, b = commit(ans)
    results[i] = {201: "stored", 200: "skipped"}.get(st, "commit %d %s" % (st, b[:100]))


def reader():
    while not stop.is_set():
        got = download("pre-race")
        if got is not None:
            seen.append(got)


readers = [threading.Thread(target=reader) for _ in range(4)]
for t in readers:
    t.start()
threads = [threading.Thread(target=uploader, args=(i,)) for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
stop.set()
for t in readers:
    t.join()
stored = [i for i, r in enumerate(results) if r == "stored"]
others = [r for r in results if r not in ("stored", "skipped", "skipped-at-negotiation")]
if others:
    fail("unexpected upload outcomes: %s" % others[:5])
if len(stored) != 1:
    fail("%d of %d concurrent uploads committed, want exactly 1" % (len(stored), N))
winner = bodies[stored[0]]
if any(s != winner for s in seen):
    fail("a reader saw bytes other than the one committed upload")
if download("pre-race") != winner:
    fail("after the race the artifact is not the winner's bytes")
ok("50 concurrent uploads: exactly 1 committed, %d skipped; %d racing reads all whole"
   % (N - 1, len(seen)))

# --- 3. an upload killed half-way ----------------------------------------------
data = os.urandom(2_000_000)
a = negotiate("pre-killed", "upload", data)
parts = urllib.parse.urlsplit(a["url"])
host, port = parts.hostname, parts.port or 80
sock = socket.create_connection((host, port))
head = "PUT %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (parts.path, parts.query, parts.netloc, len(data))
for k, v in a.get("headers", {}).items():
    head += "%s: %s\r\n" % (k, v)
sock.sendall(head.encode() + b"\r\n" + data[: len(data) // 2])
sock.close()
status, body = commit(a)
if status != 409:
    fail("commit after a killed upload: HTTP %d %s (want 409)" % (status, body))
if download("pre-killed") is not None:
    fail("a killed upload is visible")
a = negotiate("pre-killed", "upload", data)
if a["status"] != "upload_needed":
    fail("after a killed upload the key is %s" % a["status"])
if put(a, data)[0] != 200 or commit(a)[0] != 201 or download("pre-killed") != data:
    fail("the key could not be uploaded again after a killed upload")
ok("an upload killed half-way: commit 409, nothing visible, uploadable again")

# --- 4. size and digest enforced by the object store ---------------------------
data = os.urandom(10_000)
a = negotiate("pre-size", "upload", data)
status, _ = put(a, data + b"x")
if status != 403:
    fail("a body longer than declared: HTTP %d (want 403)" % status)
status, _ = put(a, data[:-1])
if status != 403:
    fail("a body shorter than declared: HTTP %d (want 403)" % status)
other = bytes([data[0] ^ 1]) + data[1:]
status, body = put(a, other)
if status != 400 or b"XAmzContentSHA256Mismatch" not in body:
    fail("a body with another SHA-256: HTTP %d %s (want 400)" % (status, body[:200]))
status, _ = commit(a)
if status != 409 or download("pre-size") is not None:
    fail("a refused body was committed (commit HTTP %d)" % status)
ok("the object store refuses another size (403) or SHA-256 (400); nothing committed")
