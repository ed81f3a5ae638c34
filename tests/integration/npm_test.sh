#!/usr/bin/env bash
# it_npm: cellar's npm front-end (/npm/) against a fake upstream registry
# (fake_npm_registry.py, with a request log and fault switches), with curl and
# the real npm client, offline:
#   1. packument forms (abbreviated by Accept, full otherwise), Vary, rewritten
#      dist.tarball, ETag + 304; every scoped-name spelling is one package;
#   2. a tampered tarball is refused (502 naming both hashes), not stored,
#      counted; served once the upstream is honest;
#   3. real `npm install` through cellar; a second install with an empty npm
#      cache makes no upstream tarball request; `npm ci` from the lockfile;
#   4. a 36 MB packument: both forms, served again without an upstream request,
#      every tarball URL rewritten, cellar's peak RSS stays small;
#   5. 20 concurrent cold requests for one tarball -> 1 upstream request;
#      a 20 MiB tarball streams through intact;
#   6. revalidation after --npm-max-age: 304 upstream keeps the copy, a new
#      publish shows up (new ETag);
#   7. upstream down: cached packuments served stale (X-Cellar-Stale: 1),
#      cached tarballs served, npm install still works; uncached answers are
#      npm-style JSON errors; 5xx is not cached;
#   8. ping, search and audit pass-through (404s, the negative cache and bad
#      names are in src/protocols/npm/npm_handler_test.cc);
#   9. 100 different Host headers (no --public-url): each gets its own
#      tarball URLs, one rendering is stored;
#  9b. a store too small for a tarball: it is passed through uncached;
#  10. npm install, then the registry stopped, then npm ci: the abbreviated
#      packuments are answered by the cached full ones (stale), a
#      single-version document is picked out of a cached packument.
# Usage: bash npm_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
command -v npm >/dev/null || fail "npm is not installed (scripts/install-node-clients.sh)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy npm_config_registry
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME="$IT_TMP/home"
mkdir -p "$HOME"

STATE="$IT_TMP/registry"
mkdir -p "$STATE"
UP_LOG="$IT_TMP/upstream.log"
python3 "$IT_DIR/fake_npm_registry.py" "$STATE" "$IT_TMP/up.port" "$UP_LOG" >"$IT_TMP/up.err" 2>&1 &
UP_PID=$!
CELLAR_PIDS+=("$UP_PID")
for _ in $(seq 1 600); do [[ -s "$IT_TMP/up.port" ]] && break; sleep 0.05; done
[[ -s "$IT_TMP/up.port" ]] || { cat "$IT_TMP/up.err" >&2; fail "fake npm registry did not start"; }
UP_URL="http://127.0.0.1:$(cat "$IT_TMP/up.port")"

start_cellar "$IT_TMP/data" --npm-upstream "$UP_URL" --npm-max-age 2s --npm-negative-ttl 1s
REG="$CELLAR_URL/npm"
CORGI='Accept: application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'

up_count() { grep -c -- "$1" "$UP_LOG" || true; }
sha512_sri() { echo "sha512-$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }
metric_int() { metric "$1" | cut -d. -f1; }

# npm_run DIR ARGS...: npm with its own cache, only ever talking to cellar.
npm_run() {
  local dir="$1"; shift
  (cd "$dir" && npm --registry "$REG/" --cache "$dir/.npm-cache" --no-audit --no-fund \
    --update-notifier=false --loglevel=error "$@")
}

# --- 1. packument forms, scoped spellings ------------------------------------
expect_code 200 "abbreviated packument" -H "$CORGI" "$REG/@acme%2fwidget"
[[ "$(header Content-Type)" == application/vnd.npm.install-v1+json* ]] || fail "corgi content type: $(header Content-Type)"
[[ "$(header Vary)" == *Accept* ]] || fail "packument without Vary: Accept"
grep -q "\"tarball\":\"$REG/@acme/widget/-/widget-2.1.0.tgz\"" "$IT_TMP/body" ||
  fail "dist.tarball not rewritten to cellar: $(grep -o '"tarball":"[^"]*"' "$IT_TMP/body" | head -n 2)"
! grep -q "$UP_URL" "$IT_TMP/body" || fail "the upstream's URL leaks into the served packument"
ETAG="$(header ETag)"
[[ -n "$ETAG" ]] || fail "no ETag on a packument"
code=$(get -H "$CORGI" -H "If-None-Match: $ETAG" "$REG/@acme%2fwidget")
[[ "$code" == 304 ]] || fail "If-None-Match with the current ETag -> $code, want 304"
pass "abbreviated packument: rewritten tarball URLs, Vary: Accept, ETag and 304"
expect_code 200 "full packument" "$REG/@acme%2fwidget"
grep -q '"time":' "$IT_TMP/body" || fail "full packument lacks time"
[[ "$(header ETag)" != "$ETAG" ]] || fail "full and abbreviated forms share an ETag"
for spelling in "@acme%2Fwidget" "@acme/widget" "%40acme%2fwidget"; do
  expect_code 200 "scoped packument as $spelling" -H "$CORGI" "$REG/$spelling"
  [[ "$(header ETag)" == "$ETAG" ]] || fail "$spelling is not the same document"
done
[[ "$(up_count ' /@acme%2fwidget 200 corgi')" == 1 ]] || fail "abbreviated packument fetched upstream more than once: $(grep widget "$UP_LOG")"
for spelling in "@acme/widget" "@acme%2fwidget" "@acme%2Fwidget"; do
  expect_code 200 "scoped tarball as $spelling" "$REG/$spelling/-/widget-2.0.0.tgz"
done
[[ "$(up_count 'widget-2.0.0.tgz')" == 1 ]] || fail "one tarball fetched $(up_count 'widget-2.0.0.tgz') times for three spellings"

# --- 2. integrity mismatch ------------------------------------------------------
echo "dep-b-1.0.0.tgz" >"$STATE/tamper"
expect_code 502 "tampered tarball refused" "$REG/dep-b/-/dep-b-1.0.0.tgz"
grep -q '"error":"integrity mismatch for dep-b@1.0.0' "$IT_TMP/body" || fail "refusal does not say why: $(cat "$IT_TMP/body")"
expect_code 502 "tampered tarball refused again (nothing stored)" "$REG/dep-b/-/dep-b-1.0.0.tgz"
[[ "$(up_count 'dep-b-1.0.0.tgz')" == 2 ]] || fail "the refused tarball was served from a cache"
[[ "$(metric_int cellar_npm_integrity_failures_total)" == 2 ]] || fail "integrity failures: $(metric cellar_npm_integrity_failures_total)"
rm -f "$STATE/tamper"
expect_code 200 "tarball accepted once the upstream is honest" "$REG/dep-b/-/dep-b-1.0.0.tgz"
WANT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['versions']['1.0.0']['dist']['integrity'])" \
  <(curl -s "$UP_URL/dep-b"))
[[ "$(sha512_sri "$IT_TMP/body")" == "$WANT" ]] || fail "stored dep-b tarball does not match its integrity"
pass "tampered tarball refused with the reason, not stored; accepted when honest"

# --- 3. the real npm client --------------------------------------------------
P1="$IT_TMP/p1"; mkdir -p "$P1"; echo '{"name":"p1","version":"1.0.0","private":true}' >"$P1/package.json"
npm_run "$P1" install @acme/widget@2.1.0 left-pad-lite >"$IT_TMP/npm1.out" 2>&1 || { cat "$IT_TMP/npm1.out"; fail "npm install through cellar failed"; }
OUT=$(cd "$P1" && node -e 'console.log(require("@acme/widget")())')
[[ "$OUT" == *"dep-a@1.0.0(dep-b@1.0.0)"* ]] || fail "installed @acme/widget printed: $OUT"
grep -q "\"resolved\": \"$REG/@acme/widget/-/widget-2.1.0.tgz\"" "$P1/package-lock.json" || fail "lockfile does not resolve through cellar"
pass "npm install through cellar (scoped + transitive deps)"
T0=$(metric_int 'cellar_npm_upstream_requests_total{kind="tarball"}')
P2="$IT_TMP/p2"; mkdir -p "$P2"; cp "$P1/package.json" "$P1/package-lock.json" "$P2/"
npm_run "$P2" ci >"$IT_TMP/npm2.out" 2>&1 || { cat "$IT_TMP/npm2.out"; fail "npm ci through cellar failed"; }
[[ "$(metric_int 'cellar_npm_upstream_requests_total{kind="tarball"}')" == "$T0" ]] || fail "npm ci with an empty cache fetched tarballs upstream"
pass "npm ci from the lockfile with an empty npm cache: 0 upstream tarball requests"

# --- 4. a 36 MB packument --------------------------------------------------------
expect_code 200 "36 MB full packument" "$REG/big-meta"
SIZE=$(stat -c %s "$IT_TMP/body")
(( SIZE > 30000000 )) || fail "big-meta full packument is only $SIZE bytes"
N=$(grep -o "\"tarball\":\"$REG/big-meta/-/big-meta-" "$IT_TMP/body" | wc -l)
[[ "$N" == 3000 ]] || fail "$N of 3000 tarball URLs rewritten in the big packument"
expect_code 200 "abbreviated form of the big packument" -H "$CORGI" "$REG/big-meta"
# Served again from the stored rendering: no new full transfer upstream (a
# revalidation answered 304 would be fine once --npm-max-age has passed).
BEFORE=$(up_count ' /big-meta 200')
for _ in 1 2 3; do expect_code 200 "big packument again" "$REG/big-meta" >/dev/null; done
[[ "$(up_count ' /big-meta 200')" == "$BEFORE" ]] || fail "the big packument was transferred from upstream again"
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$CELLAR_PID/status")
echo "info - cellar peak RSS after the 36 MB packument: $((RSS_KB / 1024)) MiB"
(( RSS_KB < 200 * 1024 )) || fail "cellar's peak RSS is $((RSS_KB / 1024)) MiB (the packument must not be held whole)"
pass "36 MB packument served in both forms, stored once, all 3000 tarball URLs rewritten"

# --- 5. concurrency and a large tarball -------------------------------------------
echo 1.0 >"$STATE/delay"
mkdir -p "$IT_TMP/conc"
PIDS=()
for i in $(seq 1 20); do
  curl -s -o "$IT_TMP/conc/$i" -w '%{http_code}' --max-time 30 "$REG/left-pad-lite/-/left-pad-lite-1.0.0.tgz" \
    >"$IT_TMP/conc/$i.code" &
  PIDS+=("$!")
done
for pid in "${PIDS[@]}"; do wait "$pid" || true; done
rm -f "$STATE/delay"
for i in $(seq 1 20); do
  [[ "$(cat "$IT_TMP/conc/$i.code")" == 200 ]] || fail "concurrent GET $i: HTTP $(cat "$IT_TMP/conc/$i.code")"
  cmp -s "$IT_TMP/conc/$i" "$IT_TMP/conc/1" || fail "concurrent GET $i: different bytes"
done
[[ "$(up_count 'left-pad-lite-1.0.0.tgz')" == 1 ]] || fail "20 concurrent cold GETs made $(up_count 'left-pad-lite-1.0.0.tgz') upstream requests"
pass "20 concurrent cold GETs of one tarball: 1 upstream request, identical bytes"
expect_code 200 "20 MiB tarball (streamed)" "$REG/bigfile/-/bigfile-1.0.0.tgz"
WANT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['versions']['1.0.0']['dist']['integrity'])" \
  <(curl -s "$UP_URL/bigfile"))
[[ "$(sha512_sri "$IT_TMP/body")" == "$WANT" ]] || fail "streamed bigfile tarball is corrupt"
pass "20 MiB tarball streamed intact"

# --- 6. revalidation ----------------------------------------------------------------
sleep 2.1
expect_code 200 "packument after max age, unchanged upstream" -H "$CORGI" "$REG/dep-b"
grep -q 'GET /dep-b 304 inm' "$UP_LOG" || fail "cellar did not revalidate with If-None-Match (or upstream did not answer 304)"
echo "dep-b 1.0.1" >"$STATE/publish"
OLD_ETAG="$(header ETag)"
sleep 2.1
expect_code 200 "packument after a new publish" -H "$CORGI" "$REG/dep-b"
grep -q '"1.0.1"' "$IT_TMP/body" || fail "new version not visible after max age"
[[ "$(header ETag)" != "$OLD_ETAG" ]] || fail "ETag did not change with the document"
pass "revalidation: 304 upstream keeps the copy; a new publish appears with a new ETag"

# --- 7. upstream down ---------------------------------------------------------------
touch "$STATE/down"
sleep 2.1
expect_code 200 "cached packument while upstream down" -H "$CORGI" "$REG/@acme%2fwidget"
[[ "$(header X-Cellar-Stale)" == 1 ]] || fail "stale packument lacks X-Cellar-Stale: 1"
expect_code 200 "cached tarball while upstream down" "$REG/dep-a/-/dep-a-1.0.0.tgz"
P3="$IT_TMP/p3"; mkdir -p "$P3"; cp "$P1/package.json" "$P1/package-lock.json" "$P3/"
npm_run "$P3" install >"$IT_TMP/npm3.out" 2>&1 || { cat "$IT_TMP/npm3.out"; fail "npm install with the upstream down failed"; }
pass "npm install works from cellar while the upstream is down"
expect_code 502 "uncached packument while upstream down" "$REG/@acme%2ftiny"
grep -q '"error":' "$IT_TMP/body" || fail "error body is not npm-style JSON: $(cat "$IT_TMP/body")"
expect_code '404|502' "uncached tarball while upstream down" "$REG/@acme/tiny/-/tiny-0.1.0.tgz"
grep -q '"error":' "$IT_TMP/body" || fail "error body is not npm-style JSON: $(cat "$IT_TMP/body")"
rm -f "$STATE/down"
expect_code 200 "upstream back: the outage was not cached" "$REG/@acme%2ftiny"

# --- 8. not found, bad names, pass-through -----------------------------------------
# Unknown packages, versions and tarballs (404, the negative cache), names
# refused before the upstream and 405 for writes: the status matrix runs
# in-process in src/protocols/npm/npm_handler_test.cc.
expect_code 200 "ping" "$REG/-/ping?write=true"
expect_code 200 "search pass-through" "$REG/-/v1/search?text=dep&size=5"
grep -q '"objects"' "$IT_TMP/body" || fail "search body: $(head -c 200 "$IT_TMP/body")"
printf '{"dep-a":["1.0.0"]}' | gzip >"$IT_TMP/audit.gz"
expect_code 200 "audit pass-through (gzip body)" -X POST -H 'Content-Type: application/json' \
  -H 'Content-Encoding: gzip' --data-binary @"$IT_TMP/audit.gz" "$REG/-/npm/v1/security/advisories/bulk"
grep -q 'advisories/bulk 200 body=19' "$UP_LOG" || fail "audit body not passed through intact: $(grep bulk "$UP_LOG")"

expect_code 200 "cached tarballs listed" "$CELLAR_URL/api/v1/entries?namespace=npm/tarball&prefix=@acme/"
grep -q '"key": "@acme/widget/widget-2.1.0.tgz"' "$IT_TMP/body" || fail "entries listing: $(head -c 300 "$IT_TMP/body")"
expect_code 400 "entries listing needs a namespace" "$CELLAR_URL/api/v1/entries"

# --- 9. one rendering whatever the Host header ------------------------------------
# Issue 13: without --public-url every distinct Host header used to store a
# rendering of its own (100 hosts -> 100 copies); now one rendering is kept
# and each request's base is substituted while sending.
for i in $(seq 1 100); do
  code=$(get -H "Host: h$i.example:8080" "$REG/dep-a")
  [[ "$code" == 200 ]] || fail "packument with Host h$i.example: HTTP $code"
  grep -q "\"tarball\":\"http://h$i.example:8080/npm/dep-a/-/dep-a-1.0.0.tgz\"" "$IT_TMP/body" ||
    fail "Host h$i.example: tarball URL not rewritten to it: $(grep -o '"tarball":"[^"]*"' "$IT_TMP/body")"
  if (( i % 25 == 0 )); then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$IT_TMP/body" || fail "Host h$i.example: body is not JSON"
  fi
done
expect_code 200 "rendered dep-a documents listed" "$CELLAR_URL/api/v1/entries?namespace=npm/rendered&prefix=full:dep-a"
N=$(grep -c '"key": "full:dep-a|' "$IT_TMP/body" || true)
[[ "$N" == 1 ]] || fail "$N stored renderings of dep-a after 100 Host headers, want 1: $(head -c 600 "$IT_TMP/body")"
pass "100 Host headers: each gets its own tarball URLs, one rendering is stored"

# --- 9b. a store that cannot hold a tarball ---------------------------------------
# Issue 13: with no room to be made (--max-size below the tarball's size) a
# tarball fill answered 502. It is passed through uncached instead: exact
# bytes, every request goes upstream, counted as an "uncached" fill, and npm
# install (which checks the integrity itself) works.
stop_cellar
start_cellar "$IT_TMP/data-tiny" --npm-upstream "$UP_URL" --max-size 1MiB
REG="$CELLAR_URL/npm"
BEFORE=$(up_count 'GET /bigfile/-/bigfile-1.0.0.tgz 200')
for i in 1 2; do
  expect_code 200 "20 MiB tarball through a 1 MiB store ($i)" "$REG/bigfile/-/bigfile-1.0.0.tgz"
  [[ "$(sha512_sri "$IT_TMP/body")" == "$WANT" ]] || fail "passed-through bigfile tarball is corrupt ($i)"
done
[[ $(( $(up_count 'GET /bigfile/-/bigfile-1.0.0.tgz 200') - BEFORE )) == 2 ]] ||
  fail "a tarball the store cannot hold was not fetched once per request"
[[ "$(metric_int 'cellar_cache_fills_total{namespace="npm",result="uncached"}')" == 2 ]] ||
  fail "uncached fills not counted: $(curl -s "$CELLAR_URL/metrics" | grep cellar_cache_fills_total)"
grep -q 'fill passed through without caching' "$CELLAR_LOG" || fail "the pass-through was not logged"
P6="$IT_TMP/p6"; mkdir -p "$P6"; echo '{"name":"p6","version":"1.0.0","private":true}' >"$P6/package.json"
npm_run "$P6" install bigfile@1.0.0 >"$IT_TMP/npm6.out" 2>&1 || {
  cat "$IT_TMP/npm6.out"; tail -n 20 "$CELLAR_LOG" >&2; fail "npm install through a store too small for the tarball failed"; }
[[ -f "$P6/node_modules/bigfile/blob.bin" ]] || fail "npm install did not unpack bigfile"
pass "a tarball larger than the store is passed through uncached (exact bytes, counted, logged); npm install works"

# --- 10. the registry gone: npm install, then npm ci -------------------------------
# Issue 13: `npm install` (npm 11 asks for full packuments) and then `npm ci`
# (abbreviated ones) with the registry stopped used to fail with 502 on every
# package: a form cached only in the other form must be served, stale. The
# lockfile has no `resolved` URLs (--omit-lockfile-registry-resolved, as for a
# lockfile that must work with any registry), so npm ci asks for abbreviated
# packuments to find the tarballs.
stop_cellar
start_cellar "$IT_TMP/data-offline" --npm-upstream "$UP_URL"
REG="$CELLAR_URL/npm"
P4="$IT_TMP/p4"; mkdir -p "$P4"; echo '{"name":"p4","version":"1.0.0","private":true}' >"$P4/package.json"
npm_run "$P4" install --omit-lockfile-registry-resolved @acme/widget@2.1.0 >"$IT_TMP/npm4.out" 2>&1 || { cat "$IT_TMP/npm4.out"; fail "npm install (registry up) failed"; }
kill -TERM "$UP_PID"; wait "$UP_PID" 2>/dev/null || true
P5="$IT_TMP/p5"; mkdir -p "$P5"; cp "$P4/package.json" "$P4/package-lock.json" "$P5/"
npm_run "$P5" ci >"$IT_TMP/npm5.out" 2>&1 || {
  cat "$IT_TMP/npm5.out"; tail -n 20 "$CELLAR_LOG" >&2; fail "npm ci with the registry stopped failed"; }
OUT=$(cd "$P5" && node -e 'console.log(require("@acme/widget")())')
[[ "$OUT" == *"@acme/widget@2.1.0(dep-a@1.0.0(dep-b@1.0."* ]] || fail "offline npm ci installed a package printing: $OUT"
expect_code 200 "abbreviated packument cached only in full form, registry stopped" -H "$CORGI" "$REG/dep-a"
[[ "$(header X-Cellar-Stale)" == 1 ]] || fail "the stand-in form lacks X-Cellar-Stale: 1"
expect_code 200 "single-version document from the stored packument, registry stopped" "$REG/dep-a/1.0.0"
grep -q '"version":"1.0.0"' "$IT_TMP/body" || fail "derived version document: $(head -c 300 "$IT_TMP/body")"
# (A name no server of this run ever asked for: with --storage s3 the servers
# share one bucket, and another one's copy would rightly be served.)
expect_code 502 "a package never cached, registry stopped" -H "$CORGI" "$REG/never-cached-anywhere"
pass "npm install, registry stopped, npm ci: served from the other packument form, marked stale"

echo "npm test finished in ${SECONDS}s"
