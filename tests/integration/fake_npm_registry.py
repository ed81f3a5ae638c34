#!/usr/bin/env python3
"""A fake upstream npm registry for deterministic, offline tests.

Usage: fake_npm_registry.py STATE_DIR PORT_FILE LOG_FILE

At start it generates its packages into STATE_DIR/registry/ (only when that
directory is missing or was made by an older version of this script; a warm
start takes well under a second, a cold one a few seconds), listens on
127.0.0.1 port 0, and writes the chosen port to PORT_FILE (atomically, once
it accepts connections). Concurrent requests (one thread each), HTTP/1.1
keep-alive, every answer has a Content-Length (304s have none). SIGTERM
exits cleanly (status 0). Nothing is printed except errors (on stderr).

Packages (tarballs are real npm tarballs: gzip'd ustar with package/package.json
and package/index.js, fixed mtime/uid/gid/uname/mode, gzip mtime 0, so the
bytes are reproducible):
  left-pad-lite  1.0.0, 1.1.0           dist-tags latest=1.1.0
  dep-a          1.0.0                  dependencies {"dep-b": "^1.0.0"}
  dep-b          1.0.0
  @acme/widget   2.0.0, 2.1.0           dependencies {"dep-a": "^1.0.0"}
  @acme/tiny     0.1.0
  big-meta       3000 versions 1.0.0 .. 1.29.99 (1.<i/100>.<i%100>), latest
                 1.29.99; every full version object carries a ~12 KB "readme",
                 so the full packument is ~36 MB and the abbreviated one ~1 MB.
                 Tarballs are made on first request (package.json has the right
                 version), their integrity was computed at generation time.
  bigfile        1.0.0, tarball ~20 MiB: package/blob.bin is 20 MiB of
                 SHAKE-256 output (incompressible, seeded), for streaming tests.
Every index.js exports a function returning "<name>@<version>" (plus the
results of its dependencies: dep-a gives "dep-a@1.0.0(dep-b@1.0.0)").

Endpoints (GET and HEAD unless noted):
  /<name>, /@scope%2fname, /@scope%2Fname, /%40scope%2fname, /@scope/name
      packument. Accept containing application/vnd.npm.install-v1+json ->
      abbreviated form (Content-Type application/vnd.npm.install-v1+json; keys
      name, modified, dist-tags, versions; per version name, version,
      dependencies, engines, dist{integrity, shasum, tarball}); otherwise (and
      always with ?write=true) the full form (application/json; _id, _rev,
      name, dist-tags, versions, time{created, modified, <v>...}, maintainers,
      description, readme, ...). Compact JSON. ETag = '"' + sha256 hex of the
      exact body + '"' (so each form has its own), Last-Modified = time.modified,
      Cache-Control: public, max-age=300, Vary: Accept. A matching
      If-None-Match (strong or W/, a list, or *) -> 304 with no body.
  /<name>/<version or dist-tag>   one full version object (same ETag rules).
  /<name>/-/<basename>-<version>.tgz (any of the name spellings above)
      application/octet-stream with Content-Length; immutable Cache-Control.
  /-/ping                          {}
  /-/v1/search?text=T&size=N&from=F   npm search result for names containing T
  POST /-/npm/v1/security/advisories/bulk   {} (body may be Content-Encoding:
      gzip; the decoded size is logged)
  anything else: unknown package 404 {"error":"Not found"}, unknown version
  404 {"error":"version not found: V"}, other methods 405.
dist.tarball is http://127.0.0.1:<port>/<name>/-/<basename>-<version>.tgz, the
basename being the name without its scope (/@acme/widget/-/widget-2.0.0.tgz).
dist.integrity is sha512-<base64>, dist.shasum the sha1 hex.

Request log: LOG_FILE gets one line per request, appended and flushed as soon
as the status is decided (before anything is sent):
  <METHOD> <raw request path> <status>[ inm][ corgi][ body=<n>]
"inm": the request had If-None-Match; "corgi": a packument request asking for
the abbreviated form; "body=<n>": decoded request-body size (POST); " tp=<traceparent>": the
request's W3C traceparent header, when it had one.

Control files in STATE_DIR, read on every request:
  down     exists -> every request gets 503 {"error":"fake upstream is down"}.
  tamper   tarball file names, one per line ("dep-b-1.0.0.tgz"; '#' comments):
           those tarballs are served with one byte changed (the gzip header's
           MTIME byte) -- same length, still a valid gzip/tar, but the sha512
           no longer matches the packument, so clients fail with EINTEGRITY.
  delay    seconds (float) to sleep before answering a tarball request (after
           logging it). "<seconds> body" sends the headers first and sleeps
           before the body.
  doc_delay  seconds (float) to sleep before answering a packument request.
  publish  lines "<name> <version>" ("dep-b 1.0.1"): that version is added to
           the package (dependencies copied from its highest version, publish
           time 2024-06-01 + line number minutes), dist-tags.latest moves to it
           if it is higher, time.modified/Last-Modified and therefore the ETag
           change, and its tarball is served. An unknown (valid) name creates
           a new package with no dependencies.
Python 3 standard library only.
"""

import base64
import datetime
import email.utils
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import signal
import sys
import tarfile
import threading
import time
import urllib.parse
import zlib

GEN_VERSION = "fake-npm-registry 4"
PLACEHOLDER = "@@FAKE_NPM_BASE@@"
TAR_MTIME = 499162500  # 1985-10-26T08:15:00Z, what npm pack uses
EPOCH = datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc)
PUBLISH_EPOCH = datetime.datetime(2024, 6, 1, tzinfo=datetime.timezone.utc)
BIGFILE_SIZE = 20 * 1024 * 1024
BIG_META_VERSIONS = 3000
BIG_META_README = 11350  # chars per version readme: full packument ~36 MB

PACKAGES = {
    # name: list of (version, dependencies)
    "left-pad-lite": [("1.0.0", {}), ("1.1.0", {})],
    "dep-a": [("1.0.0", {"dep-b": "^1.0.0"})],
    "dep-b": [("1.0.0", {})],
    "@acme/widget": [("2.0.0", {"dep-a": "^1.0.0"}), ("2.1.0", {"dep-a": "^1.0.0"})],
    "@acme/tiny": [("0.1.0", {})],
    "big-meta": [("1.%d.%d" % (i // 100, i % 100), {}) for i in range(BIG_META_VERSIONS)],
    "bigfile": [("1.0.0", {})],
}
LAZY = {"big-meta"}  # tarballs made on first request

NAME_RE = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")

STATE_DIR = None
REG_DIR = None
LOG_FILE = None
BASE_URL = None
LOG_LOCK = threading.Lock()
CACHE_LOCK = threading.Lock()
MODEL = {}          # name -> {"versions": {v: {...}}, "order": [v...]}
RENDERED = {}       # (name, publish key, corgi) -> Doc
EXTRA_TARBALLS = {}  # (name, version) -> bytes, for published versions


# --------------------------------------------------------------------------
# helpers

def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def semver_key(v):
    core, _, pre = v.partition("-")
    nums = tuple(int(x) for x in core.split("."))
    return (nums, pre == "", pre)


def basename(name):
    return name.split("/", 1)[1] if name.startswith("@") else name


def tarball_rel(name, version):
    """Path of a tarball below REG_DIR/tarballs."""
    return os.path.join(*name.split("/"), "%s-%s.tgz" % (basename(name), version))


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def integrity_of(data):
    return {
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
        "shasum": hashlib.sha1(data).hexdigest(),
        "size": len(data),
    }


def unpacked_size(name, version, deps):
    """dist.fileCount and dist.unpackedSize of a tarball."""
    files = tarball_files(name, version, deps)
    return {"fileCount": len(files), "unpackedSize": sum(len(d) for _, d in files)}


def manifest(name, version, deps):
    """package.json inside the tarball."""
    m = {
        "name": name,
        "version": version,
        "description": "%s: a fixture package of fake_npm_registry.py" % name,
        "main": "index.js",
        "license": "MIT",
        "engines": {"node": ">=14"},
    }
    if deps:
        m["dependencies"] = dict(deps)
    return m


def index_js(name, version, deps):
    lines = ["'use strict';"]
    calls = []
    for i, dep in enumerate(sorted(deps)):
        lines.append("const d%d = require(%s);" % (i, json.dumps(dep)))
        calls.append("d%d()" % i)
    inner = " + '(' + [%s].join(',') + ')'" % ", ".join(calls) if calls else ""
    lines.append("module.exports = function () { return %s%s; };"
                 % (json.dumps("%s@%s" % (name, version)), inner))
    return ("\n".join(lines) + "\n").encode()


def tarball_files(name, version, deps):
    files = [
        ("package/package.json",
         (json.dumps(manifest(name, version, deps), indent=2) + "\n").encode()),
        ("package/index.js", index_js(name, version, deps)),
    ]
    if name == "bigfile":
        blob = hashlib.shake_256(b"fake_npm_registry bigfile seed 1").digest(BIGFILE_SIZE)
        files.append(("package/blob.bin", blob))
    return files


def make_tarball(name, version, deps):
    files = tarball_files(name, version, deps)
    # bigfile is incompressible anyway: level 1 keeps generation fast
    level = 1 if name == "bigfile" else 9
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, data in files:
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mtime = TAR_MTIME
            ti.mode = 0o644
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.type = tarfile.REGTYPE
            tar.addfile(ti, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=level, mtime=0)


def big_readme(name, version):
    base = ("This is the readme of %s version %s, padded so that the full "
            "packument is as large as the biggest real ones (vite: 36 MB). " % (name, version))
    filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    text = base + filler * ((BIG_META_README - len(base)) // len(filler) + 1)
    return text[:BIG_META_README]


# --------------------------------------------------------------------------
# generation (cached in STATE_DIR/registry)

def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def generate(out):
    model = {}
    for name, versions in PACKAGES.items():
        vers = {}
        for version, deps in versions:
            data = make_tarball(name, version, deps)
            if name not in LAZY:
                write_atomic(os.path.join(out, "tarballs", tarball_rel(name, version)), data)
            vers[version] = dict(integrity_of(data), deps=deps,
                                 **unpacked_size(name, version, deps))
        model[name] = vers
    write_atomic(os.path.join(out, "model.json"), dumps(model))
    for name in PACKAGES:
        for corgi in (False, True):
            body = dumps(packument(name, model[name], PLACEHOLDER, corgi))
            write_atomic(os.path.join(out, "packuments", doc_file(name, corgi)), body)
    write_atomic(os.path.join(out, "STAMP"), GEN_VERSION.encode())


def doc_file(name, corgi):
    return name.replace("/", "%2f") + (".corgi.json" if corgi else ".json")


def ensure_generated():
    try:
        with open(os.path.join(REG_DIR, "STAMP"), "rb") as f:
            if f.read().decode() == GEN_VERSION:
                return
    except FileNotFoundError:
        pass
    tmp = "%s.tmp.%d" % (REG_DIR, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    generate(tmp)
    old = "%s.old.%d" % (REG_DIR, os.getpid())
    if os.path.exists(REG_DIR):
        os.rename(REG_DIR, old)
    os.rename(tmp, REG_DIR)
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------
# documents

def version_times(name, versions):
    """{version: datetime} for the generated versions, in order."""
    return {v: EPOCH + datetime.timedelta(hours=i) for i, v in enumerate(versions)}


def version_object(name, version, info, base, corgi, extra=False):
    tarball = "%s/%s/-/%s-%s.tgz" % (base, name, basename(name), version)
    dist = {"integrity": info["integrity"], "shasum": info["shasum"], "tarball": tarball}
    deps = dict(info["deps"])
    if corgi:
        return {"name": name, "version": version, "dependencies": deps,
                "engines": {"node": ">=14"}, "dist": dist}
    obj = manifest(name, version, deps)
    obj["dependencies"] = deps
    if name == "big-meta":
        obj["readme"] = big_readme(name, version)
    obj.update({
        "_id": "%s@%s" % (name, version),
        "_nodeVersion": "20.0.0",
        "_npmVersion": "10.0.0",
        "_npmUser": {"name": "fake", "email": "fake@example.test"},
        "maintainers": [{"name": "fake", "email": "fake@example.test"}],
        "directories": {},
        "_hasShrinkwrap": False,
        "dist": dict(dist, fileCount=info["fileCount"], unpackedSize=info["unpackedSize"]),
    })
    if extra:
        obj["_published_by"] = "fake_npm_registry.py publish control file"
    return obj


def packument(name, versions, base, corgi, published=()):
    """versions: {v: info} of the generated versions; published: list of
    (version, info, datetime) added by the publish control file."""
    order = list(versions)
    times = version_times(name, order)
    allv = dict(versions)
    extra = set()
    for version, info, when in published:
        if version not in allv:
            allv[version] = info
            order.append(version)
            times[version] = when
            extra.add(version)
    latest = max(order, key=semver_key) if order else None
    created = min(times.values()) if times else EPOCH
    modified = max(times.values()) if times else EPOCH
    vobjs = {v: version_object(name, v, allv[v], base, corgi, v in extra) for v in order}
    tags = {"latest": latest} if latest else {}
    if corgi:
        return {"name": name, "modified": iso(modified), "dist-tags": tags, "versions": vobjs}
    rev_src = "%s|%s" % (name, ",".join(order))
    time_obj = {"created": iso(created), "modified": iso(modified)}
    time_obj.update({v: iso(times[v]) for v in order})
    readme = big_readme(name, latest) if name == "big-meta" else \
        "# %s\n\nA fixture package served by fake_npm_registry.py.\n" % name
    return {
        "_id": name,
        "_rev": "%d-%s" % (len(order), hashlib.md5(rev_src.encode()).hexdigest()),
        "name": name,
        "dist-tags": tags,
        "versions": vobjs,
        "time": time_obj,
        "maintainers": [{"name": "fake", "email": "fake@example.test"}],
        "description": "%s: a fixture package of fake_npm_registry.py" % name,
        "homepage": "https://example.test/%s" % name,
        "keywords": ["fixture", "cellar"],
        "repository": {"type": "git", "url": "git+https://example.test/%s.git" % name},
        "author": {"name": "fake"},
        "bugs": {"url": "https://example.test/%s/issues" % name},
        "license": "MIT",
        "readme": readme,
        "readmeFilename": "README.md",
        "users": {},
    }


class Doc:
    def __init__(self, body, last_modified):
        self.body = body
        self.etag = '"%s"' % hashlib.sha256(body).hexdigest()
        self.last_modified = last_modified


def read_publish():
    """[(name, version, datetime)] from the publish control file."""
    try:
        with open(os.path.join(STATE_DIR, "publish")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) < 2 or words[0].startswith("#"):
            continue
        if NAME_RE.match(words[0]) and VERSION_RE.match(words[1]):
            out.append((words[0], words[1], PUBLISH_EPOCH + datetime.timedelta(minutes=i)))
    return out


def published_for(name, publish):
    """[(version, info, datetime)] added to NAME by the publish file."""
    base = MODEL.get(name, {})
    out = []
    for pname, version, when in publish:
        if pname != name or version in base or any(v == version for v, _, _ in out):
            continue
        info = published_info(name, version)
        out.append((version, info, when))
    return out


def published_deps(name):
    base = MODEL.get(name)
    if not base:
        return {}
    return base[max(base, key=semver_key)]["deps"]


def published_info(name, version):
    with CACHE_LOCK:
        data = EXTRA_TARBALLS.get((name, version))
    if data is None:
        data = make_tarball(name, version, published_deps(name))
        with CACHE_LOCK:
            EXTRA_TARBALLS[(name, version)] = data
    return dict(integrity_of(data), deps=published_deps(name),
                **unpacked_size(name, version, published_deps(name)))


def http_date(dt):
    return email.utils.format_datetime(dt.astimezone(datetime.timezone.utc), usegmt=True)


def modified_of(name, published):
    times = list(version_times(name, list(MODEL.get(name, {}))).values())
    times += [w for _, _, w in published]
    return max(times) if times else EPOCH


def get_packument(name, corgi):
    """Doc or None."""
    publish = read_publish()
    published = published_for(name, publish)
    if name not in MODEL and not published:
        return None
    key = (name, tuple(v for v, _, _ in published), corgi)
    with CACHE_LOCK:
        doc = RENDERED.get(key)
    if doc is not None:
        return doc
    body = dumps(packument(name, MODEL.get(name, {}), BASE_URL, corgi, published))
    doc = Doc(body, http_date(modified_of(name, published)))
    with CACHE_LOCK:
        RENDERED[key] = doc
    return doc


def load():
    global MODEL
    with open(os.path.join(REG_DIR, "model.json"), "rb") as f:
        MODEL = json.loads(f.read())
    for name in MODEL:
        for corgi in (False, True):
            with open(os.path.join(REG_DIR, "packuments", doc_file(name, corgi)), "rb") as f:
                body = f.read().replace(PLACEHOLDER.encode(), BASE_URL.encode())
            RENDERED[(name, (), corgi)] = Doc(body, http_date(modified_of(name, [])))


def get_tarball(name, filename):
    """bytes or None."""
    prefix = basename(name) + "-"
    if not (filename.startswith(prefix) and filename.endswith(".tgz")):
        return None
    version = filename[len(prefix):-len(".tgz")]
    info = MODEL.get(name, {}).get(version)
    if info is None:
        for pname, pversion, _ in read_publish():
            if (pname, pversion) == (name, version):
                published_info(name, version)
                with CACHE_LOCK:
                    return EXTRA_TARBALLS[(name, version)]
        return None
    path = os.path.join(REG_DIR, "tarballs", tarball_rel(name, version))
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        if name not in LAZY:
            raise
    data = make_tarball(name, version, info["deps"])
    if integrity_of(data)["integrity"] != info["integrity"]:
        print("fake_npm_registry: regenerated %s differs from its recorded integrity"
              % filename, file=sys.stderr, flush=True)
    write_atomic(path, data)
    return data


def tampered(filename):
    try:
        with open(os.path.join(STATE_DIR, "tamper")) as f:
            names = {l.strip() for l in f if l.strip() and not l.strip().startswith("#")}
    except FileNotFoundError:
        return False
    return filename in names


def tamper(data):
    b = bytearray(data)
    b[4] ^= 0x01  # gzip MTIME: still a valid archive, different sha512
    return bytes(b)


def read_doc_delay():
    try:
        with open(os.path.join(STATE_DIR, "doc_delay")) as f:
            return float(f.read().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return 0.0


def read_delay():
    try:
        with open(os.path.join(STATE_DIR, "delay")) as f:
            words = f.read().split()
    except FileNotFoundError:
        return 0.0, False
    try:
        return float(words[0]) if words else 0.0, "body" in words[1:]
    except ValueError:
        return 0.0, False


# --------------------------------------------------------------------------
# HTTP

def etag_matches(header, etag):
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-npm-registry/1"

    def log_message(self, fmt, *args):
        pass

    def _log(self, status, corgi=False, body_size=None):
        line = "%s %s %d" % (self.command, self.path, status)
        if self.headers.get("If-None-Match") is not None:
            line += " inm"
        if corgi:
            line += " corgi"
        if body_size is not None:
            line += " body=%d" % body_size
        if self.headers.get("traceparent") is not None:
            line += " tp=" + self.headers.get("traceparent")
        with LOG_LOCK:
            with open(LOG_FILE, "a") as f:
                f.write(line + "\n")
                f.flush()

    def _headers(self, status, ctype, length, extra=()):
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def _send(self, status, body, ctype="application/json", extra=(), log=True, **logkw):
        if log:
            self._log(status, **logkw)
        self._headers(status, ctype, len(body), extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status, msg, **logkw):
        self._send(status, dumps({"error": msg}), **logkw)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _down(self):
        return os.path.exists(os.path.join(STATE_DIR, "down"))

    def _serve_doc(self, doc, ctype, corgi=False):
        cache = [("Cache-Control", "public, max-age=300"), ("ETag", doc.etag),
                 ("Last-Modified", doc.last_modified), ("Vary", "Accept")]
        inm = self.headers.get("If-None-Match")
        if inm is not None and etag_matches(inm, doc.etag):
            self._log(304, corgi=corgi)
            self._headers(304, None, None, cache)
            return
        self._send(200, doc.body, ctype, cache, corgi=corgi)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        raw = [s for s in url.path.split("/") if s]
        query = urllib.parse.parse_qs(url.query)
        if self._down():
            self._error(503, "fake upstream is down")
            return
        if not raw:
            self._error(404, "Not found")
            return
        if raw[0] == "-":
            self._special_get(raw[1:], query)
            return
        first = urllib.parse.unquote(raw[0])
        if first.startswith("@") and "/" not in first:
            if len(raw) < 2:
                self._error(404, "Not found")
                return
            name, rest = first + "/" + urllib.parse.unquote(raw[1]), raw[2:]
        else:
            name, rest = first, raw[1:]
        rest = [urllib.parse.unquote(s) for s in rest]
        if not NAME_RE.match(name):
            self._error(404, "Not found")
            return
        if not rest:
            accept = self.headers.get("Accept", "").lower()
            corgi = "application/vnd.npm.install-v1+json" in accept and \
                query.get("write") != ["true"]
            doc_delay = read_doc_delay()
            if doc_delay > 0:
                time.sleep(doc_delay)
            doc = get_packument(name, corgi)
            if doc is None:
                self._error(404, "Not found", corgi=corgi)
                return
            ctype = "application/vnd.npm.install-v1+json" if corgi else "application/json"
            self._serve_doc(doc, ctype, corgi)
        elif len(rest) == 1:
            self._version_get(name, rest[0])
        elif len(rest) == 2 and rest[0] == "-":
            self._tarball_get(name, rest[1])
        else:
            self._error(404, "Not found")

    do_HEAD = do_GET

    def _version_get(self, name, spec):
        doc = get_packument(name, False)
        if doc is None:
            self._error(404, "Not found")
            return
        publish = read_publish()
        published = published_for(name, publish)
        allv = dict(MODEL.get(name, {}))
        for v, info, _ in published:
            allv[v] = info
        version = spec
        if spec == "latest" and allv:
            version = max(allv, key=semver_key)
        if version not in allv:
            self._error(404, "version not found: %s" % spec)
            return
        obj = version_object(name, version, allv[version], BASE_URL, False,
                             version not in MODEL.get(name, {}))
        self._serve_doc(Doc(dumps(obj), doc.last_modified), "application/json")

    def _tarball_get(self, name, filename):
        data = get_tarball(name, filename)
        if data is None:
            self._error(404, "Not found")
            return
        if tampered(filename):
            data = tamper(data)
        self._log(200)
        delay, after_headers = read_delay()
        if delay > 0 and not after_headers:
            time.sleep(delay)
        self._headers(200, "application/octet-stream", len(data),
                      [("Cache-Control", "public, max-age=31536000, immutable"),
                       ("ETag", '"%s"' % hashlib.sha1(data).hexdigest())])
        if self.command == "HEAD":
            return
        if delay > 0 and after_headers:
            self.wfile.flush()
            time.sleep(delay)
        self.wfile.write(data)

    def _special_get(self, rest, query):
        if rest == ["ping"]:
            self._send(200, b"{}")
        elif rest == ["v1", "search"]:
            self._search(query)
        else:
            self._error(404, "Not found")

    def _search(self, query):
        text = (query.get("text") or [""])[0].lower()
        words = [w for w in text.split() if ":" not in w]
        try:
            size = int((query.get("size") or ["20"])[0])
            start = int((query.get("from") or ["0"])[0])
        except ValueError:
            size, start = 20, 0
        names = sorted(set(MODEL) | {n for n, _, _ in read_publish()})
        hits = [n for n in names if all(w in n for w in words)]
        objects = []
        for n in hits[start:start + max(size, 0)]:
            doc = json.loads(get_packument(n, True).body)
            latest = doc["dist-tags"].get("latest")
            objects.append({
                "package": {
                    "name": n,
                    "scope": n[1:].split("/")[0] if n.startswith("@") else "unscoped",
                    "version": latest,
                    "description": "%s: a fixture package of fake_npm_registry.py" % n,
                    "keywords": ["fixture", "cellar"],
                    "date": doc["modified"],
                    "links": {"npm": "https://www.npmjs.com/package/%s" % n},
                    "publisher": {"username": "fake", "email": "fake@example.test"},
                    "maintainers": [{"username": "fake", "email": "fake@example.test"}],
                },
                "score": {"final": 0.5, "detail": {"quality": 0.5, "popularity": 0.5,
                                                   "maintenance": 0.5}},
                "searchScore": 1.0,
            })
        self._send(200, dumps({"objects": objects, "total": len(hits),
                               "time": "Sat, 01 Jun 2024 00:00:00 GMT"}))

    def do_POST(self):
        body = self._read_body()
        if self._down():
            self._error(503, "fake upstream is down")
            return
        path = urllib.parse.urlsplit(self.path).path
        if path.rstrip("/") != "/-/npm/v1/security/advisories/bulk":
            self._error(405, "Method not allowed")
            return
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError, zlib.error):
                self._error(400, "bad gzip body")
                return
        self._send(200, b"{}", body_size=len(body))

    def _reject(self):
        self._read_body()
        if self._down():
            self._error(503, "fake upstream is down")
            return
        self._error(405, "Method not allowed")

    do_PUT = do_DELETE = do_PATCH = _reject


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def main():
    global STATE_DIR, REG_DIR, LOG_FILE, BASE_URL
    if len(sys.argv) != 4:
        sys.exit("usage: fake_npm_registry.py STATE_DIR PORT_FILE LOG_FILE")
    STATE_DIR = os.path.abspath(sys.argv[1])
    REG_DIR = os.path.join(STATE_DIR, "registry")
    port_file, LOG_FILE = sys.argv[2], os.path.abspath(sys.argv[3])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.makedirs(STATE_DIR, exist_ok=True)
    open(LOG_FILE, "a").close()
    ensure_generated()
    srv = Server(("127.0.0.1", 0), Handler)
    BASE_URL = "http://127.0.0.1:%d" % srv.server_address[1]
    load()
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
