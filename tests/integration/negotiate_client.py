#!/usr/bin/env python3
"""Drives cellar's negotiate API for it_negotiate: single and batch
negotiation, signed-URL uploads and downloads, 50 concurrent uploads of one
key with concurrent readers, and an upload killed half-way (the status
matrix runs in-process in src/protocols/negotiate/negotiate_handler_test.cc). Usage: negotiate_client.py BASE_URL RW_TOKEN RO_TOKEN
Prints "ok - ..." per check; exits non-zero on the first failure."""
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BASE, RW, RO = sys.argv[1], sys.argv[2], sys.argv[3]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def ok(msg):
    print("ok - " + msg, flush=True)


def request(method, url, body=None, token=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def negotiate(items, token=RW, batch=False, namespace=None):
    if batch:
        payload = {"requests": items}
        if namespace:
            payload["namespace"] = namespace
        url = BASE + "/v1/negotiate/batch"
    else:
        payload = dict(items[0])
        if namespace:
            payload["namespace"] = namespace
        url = BASE + "/v1/negotiate"
    status, body, _ = request("POST", url, json.dumps(payload).encode(), token,
                              {"Content-Type": "application/json"})
    return status, (json.loads(body) if body and status == 200 else body)


def upload_item(key, data):
    return {"hash": key, "action": "upload", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def expect(cond, msg):
    if not cond:
        fail(msg)
    ok(msg)


# --- single: upload_needed -> PUT -> found -> GET -> skipped ---------------
data = os.urandom(200_000)
st, ans = negotiate([upload_item("single1", data)])
expect(st == 200 and ans["status"] == "upload_needed" and ans["url"] and ans["expires_at"].endswith("Z"),
       "single upload negotiation answers upload_needed with a signed URL (%s)" % ans)
put_url = ans["url"]
expect(urllib.parse.urlparse(put_url).path == "/v1/blobs/single1", "signed URL points at /v1/blobs/<key>")
st, body, _ = request("PUT", put_url, data)
expect(st == 201 and json.loads(body)["status"] == "stored", "upload through the signed URL is stored (201)")
st, ans = negotiate([{"hash": "single1", "action": "download"}])
expect(st == 200 and ans["status"] == "found" and ans["url"], "download negotiation answers found")
st, body, _ = request("GET", ans["url"])
expect(st == 200 and body == data, "GET through the signed URL returns the exact bytes")
st, ans = negotiate([upload_item("single1", data)])
expect(st == 200 and ans["status"] == "skipped" and "url" not in ans, "a second upload negotiation is skipped")
st, body, _ = request("PUT", put_url, data)
expect(st == 200 and json.loads(body)["status"] == "skipped", "re-using the upload URL after commit is skipped (200)")
st, ans = negotiate([{"hash": "nothere", "action": "download"}])
expect(st == 200 and ans["status"] == "missing" and "url" not in ans, "download of an unknown key is missing")

# --- batch --------------------------------------------------------------
blobs = {"b%02d" % i: os.urandom(1000 + i) for i in range(20)}
items = [upload_item(k, v) for k, v in blobs.items()] + [{"hash": "single1", "action": "download"}]
st, ans = negotiate(items, batch=True, namespace="team-x")
expect(st == 200 and len(ans["results"]) == 21, "batch answers every request in one round trip")
expect([r["hash"] for r in ans["results"]] == [i["hash"] for i in items], "batch answers keep request order")
expect(all(r["status"] == "upload_needed" for r in ans["results"][:20]), "batch uploads are upload_needed")
expect(ans["results"][20]["status"] == "missing", "namespaces are separate (single1 is missing in team-x)")
for r in ans["results"][:20]:
    st, _, _ = request("PUT", r["url"], blobs[r["hash"]])
    if st != 201:
        fail("batch upload of %s -> %d" % (r["hash"], st))
st, ans = negotiate([{"hash": k, "action": "download"} for k in blobs], batch=True, namespace="team-x")
for r in ans["results"]:
    st, body, _ = request("GET", r["url"])
    if st != 200 or body != blobs[r["hash"]]:
        fail("batch download of %s" % r["hash"])
ok("20 batch uploads and downloads round-trip")
st, _ = negotiate([{"hash": "x", "action": "download"}] * 1001, batch=True)
expect(st == 400, "a batch over the limit is refused with 400")

# Bad requests, tampered URLs, scopes: negotiate_handler_test.cc (in-process).
st, ans = negotiate([{"hash": "single1", "action": "download"}], token=RO)
expect(st == 200 and ans["status"] == "found", "a read-only token may negotiate downloads")

# --- 50 concurrent uploads of one key, readers alongside ------------------
contents = [os.urandom(300_000) + bytes([i]) for i in range(50)]
digests = {hashlib.sha256(c).hexdigest() for c in contents}
urls = []
for c in contents:
    st, ans = negotiate([upload_item("race1", c)])
    if st != 200 or ans["status"] != "upload_needed":
        fail("race negotiation: %s %s" % (st, ans))
    urls.append(ans["url"])
results = [None] * 50
barrier = threading.Barrier(50)
stop_readers = threading.Event()
reader_errors = []
reads = [0]


def uploader(i):
    barrier.wait()
    results[i] = request("PUT", urls[i], contents[i])[0]


def reader():
    while not stop_readers.is_set():
        st, ans = negotiate([{"hash": "race1", "action": "download"}])
        if st == 200 and ans["status"] == "found":
            st, body, _ = request("GET", ans["url"])
            if st != 200 or hashlib.sha256(body).hexdigest() not in digests:
                reader_errors.append("reader saw status %d, %d bytes not matching any upload" % (st, len(body)))
            reads[0] += 1


readers = [threading.Thread(target=reader) for _ in range(4)]
for t in readers:
    t.start()
threads = [threading.Thread(target=uploader, args=(i,)) for i in range(50)]
for t in threads:
    t.start()
for t in threads:
    t.join()
time.sleep(0.2)
stop_readers.set()
for t in readers:
    t.join()
expect(results.count(201) == 1 and results.count(200) == 49,
       "50 concurrent uploads of one key: exactly one stored, 49 skipped (%s)" % sorted(set(results)))
winner = contents[results.index(201)]
st, ans = negotiate([{"hash": "race1", "action": "download"}])
st, body, _ = request("GET", ans["url"])
expect(body == winner, "the stored artifact is the winner's, complete")
expect(not reader_errors, "%d concurrent reads saw only complete artifacts %s" % (reads[0], reader_errors[:1]))

# --- upload killed half-way ---------------------------------------------------
big = os.urandom(4_000_000)
st, ans = negotiate([upload_item("killed1", big)])
u = urllib.parse.urlparse(ans["url"])
s = socket.create_connection((u.hostname, u.port))
s.sendall(("PUT %s?%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n\r\n" %
           (u.path, u.query, u.hostname, u.port, len(big))).encode() + big[: len(big) // 2])
time.sleep(0.2)
s.close()
time.sleep(0.3)
st, ans2 = negotiate([{"hash": "killed1", "action": "download"}])
expect(ans2["status"] == "missing", "an upload killed half-way stores nothing")
st, ans3 = negotiate([upload_item("killed1", big)])
expect(ans3["status"] == "upload_needed", "the key can be negotiated again after a killed upload")
st, _, _ = request("PUT", ans3["url"], big)
expect(st == 201, "and uploaded again")
st, ans4 = negotiate([{"hash": "killed1", "action": "download"}])
st, body, _ = request("GET", ans4["url"])
expect(body == big, "the re-uploaded artifact is complete")
print("negotiate client: all checks passed")
