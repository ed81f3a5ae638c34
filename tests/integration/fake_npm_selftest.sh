#!/usr/bin/env bash
# fake_npm_selftest: proves the test fixture fake_npm_registry.py (a fake
# upstream npm registry) behaves like a registry, with curl and with the REAL
# npm, without cellar, offline. Not registered in CMake; run it by hand after
# changing the fixture.
#
#   1. protocol checks with curl: ping, full vs abbreviated packument (content
#      types, keys, compact JSON), the scoped-name spellings @s%2fn, @s%2Fn,
#      %40s%2fn and @s/n give identical bodies, tarballs by every spelling,
#      sha512/sha1 of every small tarball equal dist.integrity/dist.shasum,
#      ETag = sha256 of the body, If-None-Match -> 304 (logged "inm"), the
#      ~36 MB big-meta packument and a lazily made big-meta tarball, bigfile,
#      version/dist-tag documents, 404s, search, gzip'd bulk audit, HEAD,
#      keep-alive, and the down, publish, tamper and delay control files;
#   2. npm install @acme/widget@2.1.0 left-pad-lite in a fresh project (own
#      HOME, cache, .npmrc) installs dep-a and dep-b too, and the code runs;
#   3. npm ci from the generated lockfile after deleting node_modules and the
#      npm cache works;
#   4. with "tamper" naming dep-b-1.0.0.tgz, npm ci (lockfile) and npm install
#      (no lockfile) with empty caches both fail with EINTEGRITY;
#   5. SIGTERM: the server exits with status 0.
# npm is pinned to the fake (registry in .npmrc and --registry) and given a
# dead proxy for every other host, so it cannot reach the real registry.
# Usage: bash fake_npm_selftest.sh
set -euo pipefail

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
IT_TMP="$(mktemp -d /tmp/cellar-npm-selftest.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$IT_TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $* [$((SECONDS - START)) s]"; }
START=$SECONDS

for tool in python3 curl node npm; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

# Nothing from the caller's environment may steer npm or curl elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
while read -r var; do unset "$var"; done < <(compgen -e | grep -i '^npm_config_' || true)
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME="$IT_TMP/home"
mkdir -p "$HOME"
export npm_config_globalconfig="$IT_TMP/global-npmrc"
: >"$npm_config_globalconfig"

STATE="$IT_TMP/state"
LOG="$IT_TMP/upstream.log"
PORT_FILE="$IT_TMP/upstream.port"
SERVER_PID=

# start_server: starts fake_npm_registry.py and sets PORT, REG, SERVER_PID.
start_server() {
  rm -f "$PORT_FILE"
  python3 "$IT_DIR/fake_npm_registry.py" "$STATE" "$PORT_FILE" "$LOG" \
    >"$IT_TMP/server.out" 2>"$IT_TMP/server.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  local _
  for _ in $(seq 1 400); do
    [[ -s "$PORT_FILE" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.025
  done
  [[ -s "$PORT_FILE" ]] || { cat "$IT_TMP/server.err" >&2; fail "fake_npm_registry.py did not start"; }
  PORT="$(cat "$PORT_FILE")"
  REG="http://127.0.0.1:$PORT"
}

# json FILE EXPR: evaluates a Python expression over the parsed JSON "d".
json() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# status URL [curl args...]: prints the HTTP status; the body goes to $IT_TMP/body.
status() {
  local url="$1"; shift
  rm -f "$IT_TMP/body"; : >"$IT_TMP/body"
  curl -sS -o "$IT_TMP/body" -D "$IT_TMP/headers" -w '%{http_code}' "$@" "$url"
}
header() { grep -i "^$1:" "$IT_TMP/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
log_count() { grep -cxF -- "$1" "$LOG" || true; }
CORGI='application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'

# --- start (cold: generates; warm: reuses STATE/registry) --------------------
T0=$(date +%s%N)
start_server
COLD_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
[[ -f "$STATE/registry/STAMP" ]] || fail "nothing generated in STATE_DIR/registry"
kill -TERM "$SERVER_PID"
rc=0; wait "$SERVER_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit status $rc, want 0"
T0=$(date +%s%N)
start_server
WARM_MS=$(( ($(date +%s%N) - T0) / 1000000 ))
pass "starts: cold ${COLD_MS} ms (generating), warm ${WARM_MS} ms; SIGTERM exits 0"
[[ $COLD_MS -lt 8000 ]] || fail "cold start took ${COLD_MS} ms"
: >"$LOG"

# --- 1. curl protocol checks --------------------------------------------------
[[ "$(status "$REG/-/ping?write=true")" == 200 && "$(cat "$IT_TMP/body")" == "{}" ]] || fail "ping"
pass "GET /-/ping -> 200 {}"

[[ "$(status "$REG/dep-a")" == 200 ]] || fail "full packument of dep-a"
[[ "$(header Content-Type)" == application/json ]] || fail "full packument content type: $(header Content-Type)"
cp "$IT_TMP/body" "$IT_TMP/dep-a.full"
[[ "$(json "$IT_TMP/dep-a.full" '",".join(k for k in ("_id","_rev","time","readme","maintainers","description") if k not in d)')" == "" ]] ||
  fail "full packument misses keys"
grep -q '": ' "$IT_TMP/dep-a.full" && fail "packument JSON is not compact"
[[ "$(json "$IT_TMP/dep-a.full" 'd["versions"]["1.0.0"]["dependencies"]')" == "{'dep-b': '^1.0.0'}" ]] || fail "dep-a deps"
[[ "$(header Cache-Control)" == "public, max-age=300" ]] || fail "Cache-Control $(header Cache-Control)"
[[ -n "$(header Last-Modified)" && "$(header Vary)" == Accept ]] || fail "Last-Modified/Vary missing"
ETAG_FULL="$(header ETag)"
[[ "$ETAG_FULL" == "\"$(sha256sum <"$IT_TMP/dep-a.full" | cut -d' ' -f1)\"" ]] || fail "ETag $ETAG_FULL is not the sha256 of the body"
[[ "$(status "$REG/dep-a" -H "Accept: $CORGI")" == 200 ]] || fail "abbreviated packument"
[[ "$(header Content-Type)" == application/vnd.npm.install-v1+json ]] || fail "corgi content type: $(header Content-Type)"
[[ "$(json "$IT_TMP/body" 'sorted(d)')" == "['dist-tags', 'modified', 'name', 'versions']" ]] || fail "corgi top-level keys"
[[ "$(json "$IT_TMP/body" 'sorted(d["versions"]["1.0.0"])')" == "['dependencies', 'dist', 'engines', 'name', 'version']" ]] ||
  fail "corgi version keys"
[[ "$(json "$IT_TMP/body" 'd["versions"]["1.0.0"]["dist"]["tarball"]')" == "$REG/dep-a/-/dep-a-1.0.0.tgz" ]] || fail "dist.tarball"
ETAG_CORGI="$(header ETag)"
[[ "$ETAG_CORGI" != "$ETAG_FULL" ]] || fail "both forms have the same ETag"
[[ "$(status "$REG/dep-a?write=true" -H "Accept: $CORGI")" == 200 && "$(header Content-Type)" == application/json ]] ||
  fail "?write=true must give the full form"
pass "packuments: full (application/json) and abbreviated forms, compact, ETag = sha256 of body"

# ETag / 304
[[ "$(status "$REG/dep-a" -H "If-None-Match: $ETAG_FULL")" == 304 ]] || fail "If-None-Match did not give 304"
[[ ! -s "$IT_TMP/body" && "$(header ETag)" == "$ETAG_FULL" ]] || fail "304 has a body or lacks the ETag"
[[ "$(status "$REG/dep-a" -H "If-None-Match: W/$ETAG_FULL, \"x\"")" == 304 ]] || fail "weak/list If-None-Match"
[[ "$(status "$REG/dep-a" -H "Accept: $CORGI" -H "If-None-Match: $ETAG_FULL")" == 200 ]] || fail "full ETag matched the corgi form"
[[ "$(status "$REG/dep-a" -H "Accept: $CORGI" -H "If-None-Match: $ETAG_CORGI")" == 304 ]] || fail "corgi 304"
[[ "$(status "$REG/dep-a" -H 'If-None-Match: "stale"')" == 200 ]] || fail "stale If-None-Match must give 200"
[[ $(log_count "GET /dep-a 304 inm") -eq 2 && $(log_count "GET /dep-a 304 inm corgi") -eq 1 &&
   $(log_count "GET /dep-a 200 inm") -eq 1 && $(log_count "GET /dep-a 200") -eq 1 ]] || { cat "$LOG"; fail "log lines for 304/inm"; }
pass "If-None-Match -> 304 without body (logged 'GET /dep-a 304 inm'), stale tag -> 200"

# scoped names: every spelling, packuments and tarballs
for form in corgi full; do
  args=(); [[ $form == corgi ]] && args=(-H "Accept: $CORGI")
  sums=""
  for path in "@acme%2fwidget" "@acme%2Fwidget" "%40acme%2fwidget" "@acme/widget"; do
    [[ "$(status "$REG/$path" "${args[@]}")" == 200 ]] || fail "GET /$path ($form)"
    sums+="$(sha256sum <"$IT_TMP/body" | cut -d' ' -f1) "
  done
  [[ $(tr ' ' '\n' <<<"$sums" | sort -u | grep -c .) -eq 1 ]] || fail "scoped spellings differ ($form)"
done
[[ "$(json "$IT_TMP/body" 'd["versions"]["2.1.0"]["dist"]["tarball"]')" == "$REG/@acme/widget/-/widget-2.1.0.tgz" ]] ||
  fail "scoped dist.tarball"
[[ "$(json "$IT_TMP/body" 'd["dist-tags"]["latest"]')" == 2.1.0 ]] || fail "@acme/widget latest"
sums=""
for path in "@acme/widget" "@acme%2fwidget" "@acme%2Fwidget"; do
  [[ "$(status "$REG/$path/-/widget-2.0.0.tgz")" == 200 ]] || fail "tarball via /$path"
  [[ "$(header Content-Type)" == application/octet-stream && "$(header Content-Length)" == "$(stat -c %s "$IT_TMP/body")" ]] ||
    fail "tarball headers via /$path"
  sums+="$(sha256sum <"$IT_TMP/body" | cut -d' ' -f1) "
done
[[ $(tr ' ' '\n' <<<"$sums" | sort -u | grep -c .) -eq 1 ]] || fail "scoped tarball spellings differ"
tar -xzOf "$IT_TMP/body" package/package.json | grep -q '"version": "2.0.0"' || fail "widget tarball content"
[[ "$(tar -tzf "$IT_TMP/body" | tr '\n' ' ')" == "package/package.json package/index.js " ]] || fail "tarball entries"
pass "scoped @acme%2fwidget, @acme%2Fwidget, %40acme%2fwidget, @acme/widget: same packuments and tarballs"

# integrity of every small tarball
declare -A SIZES
for spec in left-pad-lite@1.0.0 left-pad-lite@1.1.0 dep-a@1.0.0 dep-b@1.0.0 @acme/widget@2.0.0 \
            @acme/widget@2.1.0 @acme/tiny@0.1.0 bigfile@1.0.0 big-meta@1.0.0 big-meta@1.29.99; do
  name="${spec%@*}"; ver="${spec##*@}"
  [[ "$(status "$REG/$name" -H "Accept: $CORGI")" == 200 ]] || fail "packument $name"
  read -r url want sha1 < <(json "$IT_TMP/body" "' '.join((lambda x: [x['tarball'], x['integrity'], x['shasum']])(d['versions']['$ver']['dist']))")
  [[ "$(status "$url")" == 200 ]] || fail "tarball $url"
  got="sha512-$(openssl dgst -sha512 -binary <"$IT_TMP/body" | base64 -w0)"
  [[ "$got" == "$want" ]] || fail "$spec: integrity $got != $want"
  [[ "$(sha1sum <"$IT_TMP/body" | cut -d' ' -f1)" == "$sha1" ]] || fail "$spec: shasum"
  tar -xzOf "$IT_TMP/body" package/package.json | grep -q "\"version\": \"$ver\"" || fail "$spec: package.json version"
  SIZES[$spec]=$(stat -c %s "$IT_TMP/body")
done
[[ ${SIZES[bigfile@1.0.0]} -gt 20000000 ]] || fail "bigfile tarball is only ${SIZES[bigfile@1.0.0]} bytes"
pass "sha512 integrity and sha1 shasum match for every tarball (bigfile ${SIZES[bigfile@1.0.0]} bytes, lazy big-meta)"
for spec in "${!SIZES[@]}"; do echo "    $spec ${SIZES[$spec]} bytes"; done | sort

# big-meta: size, version count, abbreviated much smaller
[[ "$(status "$REG/big-meta")" == 200 ]] || fail "big-meta full"
FULL_SIZE=$(stat -c %s "$IT_TMP/body")
[[ $FULL_SIZE -gt 34000000 && $FULL_SIZE -lt 40000000 ]] || fail "big-meta full packument is $FULL_SIZE bytes"
[[ "$(header Content-Length)" == "$FULL_SIZE" ]] || fail "big-meta Content-Length"
[[ "$(json "$IT_TMP/body" 'len(d["versions"])')" == 3000 ]] || fail "big-meta version count"
[[ "$(status "$REG/big-meta" -H "Accept: $CORGI")" == 200 ]] || fail "big-meta corgi"
CORGI_SIZE=$(stat -c %s "$IT_TMP/body")
[[ $CORGI_SIZE -lt $((FULL_SIZE / 10)) ]] || fail "big-meta corgi is $CORGI_SIZE bytes"
pass "big-meta: full packument $FULL_SIZE bytes, abbreviated $CORGI_SIZE bytes, 3000 versions"

# single versions, dist-tags, 404s
[[ "$(status "$REG/left-pad-lite/latest")" == 200 && "$(json "$IT_TMP/body" 'd["version"]')" == 1.1.0 ]] || fail "/left-pad-lite/latest"
[[ "$(status "$REG/@acme%2fwidget/2.0.0")" == 200 && "$(json "$IT_TMP/body" 'd["_id"]')" == "@acme/widget@2.0.0" ]] ||
  fail "/@acme%2fwidget/2.0.0"
[[ "$(status "$REG/@acme/widget/2.1.0")" == 200 && "$(json "$IT_TMP/body" 'd["version"]')" == 2.1.0 ]] || fail "/@acme/widget/2.1.0"
[[ "$(status "$REG/dep-a/9.9.9")" == 404 ]] || fail "unknown version"
[[ "$(status "$REG/no-such-package")" == 404 && "$(cat "$IT_TMP/body")" == '{"error":"Not found"}' ]] || fail "unknown package"
[[ "$(status "$REG/@acme%2fnope" -H "Accept: $CORGI")" == 404 ]] || fail "unknown scoped package"
[[ "$(status "$REG/dep-a/-/dep-a-9.9.9.tgz")" == 404 ]] || fail "unknown tarball"
[[ "$(status "$REG/dep-a/-/dep-b-1.0.0.tgz")" == 404 ]] || fail "tarball of another package"
pass "version and dist-tag documents; unknown package/version/tarball -> 404"

# HEAD, search, audit, other methods
[[ "$(curl -sS -I -o /dev/null -w '%{http_code}' "$REG/dep-b/-/dep-b-1.0.0.tgz")" == 200 ]] || fail "HEAD tarball"
grep -qxF "HEAD /dep-b/-/dep-b-1.0.0.tgz 200" "$LOG" || fail "HEAD not logged"
[[ "$(status "$REG/-/v1/search?text=dep&size=20")" == 200 ]] || fail "search"
[[ "$(json "$IT_TMP/body" '[o["package"]["name"] for o in d["objects"]]')" == "['dep-a', 'dep-b']" &&
   "$(json "$IT_TMP/body" 'd["total"]')" == 2 ]] || fail "search result $(cat "$IT_TMP/body")"
BULK='{"dep-a":["1.0.0"],"dep-b":["1.0.0"]}'
printf '%s' "$BULK" | gzip -c >"$IT_TMP/bulk.gz"
[[ "$(status "$REG/-/npm/v1/security/advisories/bulk" -X POST -H 'Content-Encoding: gzip' \
      -H 'Content-Type: application/json' --data-binary @"$IT_TMP/bulk.gz")" == 200 && "$(cat "$IT_TMP/body")" == "{}" ]] ||
  fail "bulk audit"
grep -qxF "POST /-/npm/v1/security/advisories/bulk 200 body=${#BULK}" "$LOG" || { cat "$LOG"; fail "bulk audit log line"; }
[[ "$(status "$REG/dep-a" -X PUT --data-binary '{}')" == 405 ]] || fail "PUT must be 405"
pass "HEAD, search, gzip'd bulk audit (decoded size logged), PUT -> 405"

# keep-alive: two requests, one connection
KA="$(curl -sS -o /dev/null -o /dev/null -w '%{num_connects}\n' "$REG/dep-a" "$REG/dep-b" | tr '\n' ' ')"
[[ "$KA" == "1 0 " ]] || fail "keep-alive: connects per request: $KA"
pass "HTTP/1.1 keep-alive"

# control files: down
touch "$STATE/down"
[[ "$(status "$REG/dep-a")" == 503 ]] || fail "down: packument"
[[ "$(status "$REG/dep-a/-/dep-a-1.0.0.tgz")" == 503 ]] || fail "down: tarball"
[[ "$(status "$REG/-/ping")" == 503 ]] || fail "down: ping"
grep -qxF "GET /dep-a 503" "$LOG" || fail "down: not logged"
rm "$STATE/down"
[[ "$(status "$REG/dep-a")" == 200 ]] || fail "down removed: still failing"
pass "down switch: 503 while present, 200 after removal"

# publish: dep-b gains 1.0.1, the ETag changes
[[ "$(status "$REG/dep-b" -H "Accept: $CORGI")" == 200 ]] || fail "dep-b"
OLD_ETAG="$(header ETag)"; OLD_LM="$(header Last-Modified)"
echo "dep-b 1.0.1" >"$STATE/publish"
[[ "$(status "$REG/dep-b" -H "Accept: $CORGI" -H "If-None-Match: $OLD_ETAG")" == 200 ]] || fail "publish: still 304"
[[ "$(header ETag)" != "$OLD_ETAG" && "$(header Last-Modified)" != "$OLD_LM" ]] || fail "publish: ETag/Last-Modified unchanged"
[[ "$(json "$IT_TMP/body" 'sorted(d["versions"])')" == "['1.0.0', '1.0.1']" &&
   "$(json "$IT_TMP/body" 'd["dist-tags"]["latest"]')" == 1.0.1 ]] || fail "publish: versions"
want="$(json "$IT_TMP/body" 'd["versions"]["1.0.1"]["dist"]["integrity"]')"
[[ "$(status "$REG/dep-b/-/dep-b-1.0.1.tgz")" == 200 ]] || fail "publish: tarball"
[[ "sha512-$(openssl dgst -sha512 -binary <"$IT_TMP/body" | base64 -w0)" == "$want" ]] || fail "publish: integrity"
[[ "$(status "$REG/dep-b/1.0.1")" == 200 ]] || fail "publish: version document"
rm "$STATE/publish"
[[ "$(status "$REG/dep-b" -H "Accept: $CORGI" -H "If-None-Match: $OLD_ETAG")" == 304 ]] || fail "unpublish: ETag not restored"
[[ "$(status "$REG/dep-b/-/dep-b-1.0.1.tgz")" == 404 ]] || fail "unpublished tarball still served"
pass "publish switch: dep-b 1.0.1 appears (new ETag, Last-Modified, latest, tarball), disappears on removal"

# tamper: same length, different bytes, still a valid tgz
[[ "$(status "$REG/dep-b/-/dep-b-1.0.0.tgz")" == 200 ]] || fail "dep-b tarball"
cp "$IT_TMP/body" "$IT_TMP/dep-b.good"
echo "dep-b-1.0.0.tgz" >"$STATE/tamper"
[[ "$(status "$REG/dep-b/-/dep-b-1.0.0.tgz")" == 200 ]] || fail "tampered tarball"
[[ $(stat -c %s "$IT_TMP/body") -eq $(stat -c %s "$IT_TMP/dep-b.good") ]] || fail "tamper changed the length"
cmp -s "$IT_TMP/body" "$IT_TMP/dep-b.good" && fail "tamper did not change the bytes"
tar -tzf "$IT_TMP/body" >/dev/null || fail "tampered tarball is not a valid tgz"
[[ "$(status "$REG/dep-a/-/dep-a-1.0.0.tgz")" == 200 ]] || fail "dep-a tarball"
rm "$STATE/tamper"
pass "tamper switch: same length, different bytes, other tarballs untouched"

# delay: tarballs only, concurrent requests overlap
echo 1 >"$STATE/delay"
T0=$(date +%s%N)
curl -sS -o /dev/null "$REG/dep-a/-/dep-a-1.0.0.tgz" & c1=$!
curl -sS -o /dev/null "$REG/dep-b/-/dep-b-1.0.0.tgz" & c2=$!
curl -sS -o /dev/null "$REG/left-pad-lite/-/left-pad-lite-1.0.0.tgz" & c3=$!
wait $c1 $c2 $c3
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
[[ $MS -ge 950 && $MS -lt 2500 ]] || fail "delay: three concurrent tarballs took $MS ms"
T0=$(date +%s%N)
[[ "$(status "$REG/dep-a")" == 200 ]] || fail "delay: packument"
[[ $(( ($(date +%s%N) - T0) / 1000000 )) -lt 900 ]] || fail "delay slowed a packument"
echo "0.5 body" >"$STATE/delay"
TIMES="$(curl -sS -o /dev/null -w '%{time_starttransfer} %{time_total}' "$REG/dep-a/-/dep-a-1.0.0.tgz")"
python3 -c 'import sys; s,t=map(float,sys.argv[1:]); sys.exit(0 if s<0.4 and t>=0.45 else 1)' $TIMES ||
  fail "'0.5 body' delay: starttransfer/total $TIMES"
rm "$STATE/delay"
pass "delay switch: tarballs delayed concurrently ($MS ms for three 1 s requests), 'body' variant after headers"

# --- 2. real npm: install -------------------------------------------------------
npm_in() {  # npm_in DIR CACHE args...: npm in DIR with its own cache
  local dir="$1" cache="$2"; shift 2
  (cd "$dir" && npm "$@" --registry "$REG/" --cache "$cache" --no-audit --no-fund \
     --update-notifier=false --loglevel=warn)
}
make_project() {  # make_project DIR
  mkdir -p "$1"
  printf '{"name":"selftest-app","version":"1.0.0","private":true}\n' >"$1/package.json"
  # Any host other than 127.0.0.1 goes to a dead proxy: npm cannot reach the internet.
  cat >"$1/.npmrc" <<EOF
registry=$REG/
audit=false
fund=false
update-notifier=false
proxy=http://127.0.0.1:9/
https-proxy=http://127.0.0.1:9/
noproxy=127.0.0.1,localhost
EOF
}

APP="$IT_TMP/app"
make_project "$APP"
: >"$LOG"
npm_in "$APP" "$IT_TMP/cache1" install @acme/widget@2.1.0 left-pad-lite >"$IT_TMP/npm.out" 2>&1 ||
  { cat "$IT_TMP/npm.out" >&2; fail "npm install"; }
for p in @acme/widget dep-a dep-b left-pad-lite; do
  [[ -f "$APP/node_modules/$p/package.json" ]] || fail "npm install: $p not installed"
done
OUT="$(cd "$APP" && node -e 'console.log(require("@acme/widget")(), require("left-pad-lite")())')"
[[ "$OUT" == "@acme/widget@2.1.0(dep-a@1.0.0(dep-b@1.0.0)) left-pad-lite@1.1.0" ]] || fail "installed code says: $OUT"
[[ -f "$APP/package-lock.json" ]] || fail "no package-lock.json"
[[ "$(json "$APP/package-lock.json" 'd["packages"]["node_modules/dep-b"]["resolved"]')" == "$REG/dep-b/-/dep-b-1.0.0.tgz" ]] ||
  fail "lockfile resolved URL"
grep -q 'registry.npmjs.org' "$APP/package-lock.json" && fail "lockfile mentions registry.npmjs.org"
for t in "/@acme/widget/-/widget-2.1.0.tgz" /dep-a/-/dep-a-1.0.0.tgz /dep-b/-/dep-b-1.0.0.tgz \
         /left-pad-lite/-/left-pad-lite-1.1.0.tgz; do
  [[ $(log_count "GET $t 200") -eq 1 ]] || { cat "$LOG"; fail "npm install: $t fetched $(log_count "GET $t 200") times"; }
done
# npm 11 builds its tree from FULL packuments (arborist fetchManifest sets
# fullMetadata: true, so Accept: application/json): no "corgi" marker here.
grep -qE '^GET /@acme%2fwidget 200( corgi)?$' "$LOG" || { cat "$LOG"; fail "npm did not ask for /@acme%2fwidget"; }
pass "npm install @acme/widget@2.1.0 left-pad-lite: dep-a, dep-b installed, code runs ($OUT)"

# --- 3. npm ci from the lockfile, empty cache ----------------------------------
rm -rf "$APP/node_modules"
: >"$LOG"
npm_in "$APP" "$IT_TMP/cache2" ci >"$IT_TMP/npm.out" 2>&1 || { cat "$IT_TMP/npm.out" >&2; fail "npm ci"; }
OUT2="$(cd "$APP" && node -e 'console.log(require("@acme/widget")(), require("left-pad-lite")())')"
[[ "$OUT2" == "$OUT" ]] || fail "after npm ci: $OUT2"
[[ $(grep -c '\.tgz 200$' "$LOG") -eq 4 ]] || { cat "$LOG"; fail "npm ci fetched $(grep -c '\.tgz 200$' "$LOG") tarballs, want 4"; }
pass "npm ci from package-lock.json with an empty cache"

# --- 4. tamper -> EINTEGRITY ------------------------------------------------------
echo "dep-b-1.0.0.tgz" >"$STATE/tamper"
rm -rf "$APP/node_modules"
# npm retries a failed tarball fetch with a 10-60 s back-off: no retries here.
if npm_in "$APP" "$IT_TMP/cache3" ci --fetch-retries=0 >"$IT_TMP/npm.out" 2>&1; then fail "npm ci succeeded with a tampered dep-b"; fi
grep -q EINTEGRITY "$IT_TMP/npm.out" || { cat "$IT_TMP/npm.out" >&2; fail "npm ci: no EINTEGRITY"; }
APP2="$IT_TMP/app2"
make_project "$APP2"
if npm_in "$APP2" "$IT_TMP/cache4" install dep-a --fetch-retries=0 >"$IT_TMP/npm.out" 2>&1; then
  fail "npm install succeeded with a tampered dep-b"
fi
grep -q EINTEGRITY "$IT_TMP/npm.out" || { cat "$IT_TMP/npm.out" >&2; fail "npm install: no EINTEGRITY"; }
rm "$STATE/tamper"
pass "tamper dep-b-1.0.0.tgz: npm ci and npm install fail with EINTEGRITY"

# --- 5. errors and shutdown --------------------------------------------------------
[[ ! -s "$IT_TMP/server.out" ]] || { cat "$IT_TMP/server.out"; fail "server printed on stdout"; }
[[ ! -s "$IT_TMP/server.err" ]] || { cat "$IT_TMP/server.err"; fail "server printed on stderr"; }
kill -TERM "$SERVER_PID"
rc=0; wait "$SERVER_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "SIGTERM: exit status $rc"
pass "quiet server, SIGTERM -> exit 0"

echo "fake_npm_selftest: all checks passed in $((SECONDS - START)) s"
