#!/usr/bin/env bash
# it_gosumdb: the REAL `go` command verifying modules through cellar's
# checksum-database proxy, plus cellar's own verification, routing and
# freshness rules, offline.
#
# Upstreams (fake_goproxy.py, each with a request log): up1 has most modules;
# up2 has example.test/lonely only (404 fall-through from up1); up3 is a
# private proxy with Basic auth holding example.test/multi, reached through
# --go-route with credentials in the URL. fake_sumdb (built from Debian's
# golang.org/x/mod) is the checksum database sum.example.test for all of them.
#
#   1. GOSUMDB=<key> with no URL and no go.sum: go asks cellar's
#      /go/sumdb/.../supported and sends all checksum traffic through cellar;
#      the build succeeds and go writes the same go.sum as the reference;
#      multi came from up3 with the right credentials (never up1, never in
#      cellar's log); --go-nosumdb modules were never looked up;
#   2. a new GOPATH (empty module cache and empty client sumdb cache):
#      nothing reaches any upstream or the database (lookups and full tiles
#      are served by cellar);
#   3. curl: private lookups 403, --go-route off 404, branch query .info,
#      tampered zip and go.mod refused with the reason (502, not stored,
#      counted, real `go mod download` shows the reason), then served once
#      the upstream is honest again, via 404 fall-through to up2;
#   4. restart with --go-list-max-age 1s and the database down: latest and
#      lookups served stale (X-Cellar-Stale: 1), full tiles from the cache;
#      a new cache stores a routed module without a lookup (a --go-route
#      module is private, like --go-nosumdb) and refuses an unverifiable one.
# Usage: bash sumdb_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || fail "go is not installed (apt-get install golang-go)"
command -v python3 >/dev/null || fail "python3 is not installed"
source "$IT_DIR/go_lib.sh"
go_isolated_env

GEN="$IT_TMP/gen"
python3 "$IT_DIR/make_go_modules.py" "$GEN" || fail "make_go_modules.py failed"
EXPECTED_OUTPUT="$(cat "$GEN/expected_output.txt")"
# A branch query answered by the upstream (static file in the fake's tree).
printf '{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}\n' >"$GEN/proxy/example.test/m01/@v/main.info"

# The database knows every module; its hashes are taken now, before the
# trees are split between the upstreams (and before any tampering).
start_fake_sumdb "$GEN/proxy" sum.example.test -pad 240  # lookups cross 256 records: full tiles get fetched
mkdir -p "$IT_TMP/up2/proxy/example.test" "$IT_TMP/up3/proxy/example.test"
mv "$GEN/proxy/example.test/lonely" "$IT_TMP/up2/proxy/example.test/"
mv "$GEN/proxy/example.test/multi" "$IT_TMP/up3/proxy/example.test/"
echo "ci:s3cret-token" >"$IT_TMP/up3/auth"

start_fake_goproxy "$GEN/proxy" up1; UP1_URL="$FAKE_URL"; UP1_LOG="$FAKE_LOG"
start_fake_goproxy "$IT_TMP/up2/proxy" up2; UP2_URL="$FAKE_URL"; UP2_LOG="$FAKE_LOG"
start_fake_goproxy "$IT_TMP/up3/proxy" up3; UP3_URL="$FAKE_URL"; UP3_LOG="$FAKE_LOG"
UP3_WITH_CREDS="${UP3_URL/http:\/\//http://ci:s3cret-token@}"

CELLAR_ARGS=(--go-upstream "$UP1_URL,$UP2_URL" --go-sumdb "sum.example.test=$SUMDB_URL"
  --go-route "example.test/multi=$UP3_WITH_CREDS;private.example.test=off"
  --go-nosumdb "example.test/big")
start_cellar "$IT_TMP/data" "${CELLAR_ARGS[@]}"
GO_URL="$CELLAR_URL/go"
export GOSUMDB="$SUMDB_VKEY"          # name+key, no URL: the proxy is asked first
# As a user of --go-nosumdb and --go-route must: cellar answers lookups of
# those modules 403 (a routed module is private, like GONOSUMDB).
export GONOSUMDB="example.test/big,example.test/multi"

lines() { wc -l <"$1"; }
since() { tail -n "+$(($2 + 1))" "$1"; }

# go_build NAME GOPATH: builds a copy of the consumer without go.sum.
go_build() {
  local name="$1" dir="$IT_TMP/$1"
  cp -R "$GEN/consumer" "$dir"
  rm -f "$dir/go.sum"
  if ! (cd "$dir" && GOPROXY="$GO_URL" GOPATH="$2" GOMODCACHE="$2/pkg/mod" go build -o app .) \
      >"$IT_TMP/$name.out" 2>&1; then
    cat "$IT_TMP/$name.out" >&2
    echo "--- last cellar log lines:" >&2; tail -n 20 "$CELLAR_LOG" >&2
    fail "$name: go build through cellar failed"
  fi
  [[ "$("$dir/app")" == "$EXPECTED_OUTPUT" ]] || fail "$name: program output differs"
  diff <(sort "$dir/go.sum") <(sort "$GEN/consumer/go.sum") >/dev/null ||
    fail "$name: go wrote a go.sum different from the reference: $(diff <(sort "$dir/go.sum") <(sort "$GEN/consumer/go.sum") | head -n 5)"
}

# --- 1. checksum traffic through cellar ---------------------------------------
go_build first "$IT_TMP/gopath1"
(( $(metric 'cellar_go_requests_total{kind="sumdb_supported",result="hit"}' | cut -d. -f1) >= 1 )) ||
  fail "go never asked cellar whether it proxies the checksum database"
grep -q ' /lookup/' "$SUMDB_LOG" || fail "no lookup reached the checksum database"
grep -q ' /tile/' "$SUMDB_LOG" || fail "no tile reached the checksum database"
! grep -q 'lookup/example.test/big' "$SUMDB_LOG" || fail "a --go-nosumdb module was looked up in the database"
# Issue 13: a module with a --go-route is private; cellar's own verification
# must not look it up either (it used to, and refused it when the database
# had no record).
! grep -q 'lookup/example.test/multi' "$SUMDB_LOG" || fail "a --go-route module was looked up in the database"
DUP_LOOKUPS=$(grep ' /lookup/' "$SUMDB_LOG" | sort | uniq -d || true)
[[ -z "$DUP_LOOKUPS" ]] || fail "the database was asked twice for: $DUP_LOOKUPS"
grep -q 'multi/@v/v1.1.0.zip \[auth ok\]' "$UP3_LOG" || fail "multi was not fetched from the private upstream with credentials"
! grep -q 'auth bad' "$UP3_LOG" || fail "the private upstream saw wrong or missing credentials: $(grep 'auth bad' "$UP3_LOG" | head -n 3)"
! grep -q 'multi' "$UP1_LOG" || fail "a routed module was asked of the default upstream"
! grep -q 's3cret' "$CELLAR_LOG" || fail "the upstream credentials appear in cellar's log"
pass "go verified every module through cellar's sumdb proxy; routed module fetched with credentials; nosumdb module never looked up"

# --- 2. a new GOPATH: everything from cellar -----------------------------------
L1=$(lines "$UP1_LOG"); L2=$(lines "$UP2_LOG"); L3=$(lines "$UP3_LOG"); LS=$(lines "$SUMDB_LOG")
go_build second "$IT_TMP/gopath2"
[[ -z "$(since "$UP1_LOG" "$L1")$(since "$UP2_LOG" "$L2")$(since "$UP3_LOG" "$L3")" ]] ||
  fail "second build reached an upstream proxy: $(since "$UP1_LOG" "$L1" | head -n 3)"
NEW_DB="$(since "$SUMDB_LOG" "$LS" | grep -E ' /lookup/| /tile/[0-9]+/[0-9a-z]+/[x0-9/]+$' || true)"
[[ -z "$NEW_DB" ]] || fail "second build sent lookups or full-tile requests to the database: $(echo "$NEW_DB" | head -n 5)"
echo "info - database requests during the second build: $(since "$SUMDB_LOG" "$LS" | wc -l) (latest or partial tiles only)"
pass "second build with empty module and checksum caches: 0 proxy requests, 0 lookups, 0 full tiles upstream"

# --- 3. protocol checks ---------------------------------------------------------
expect_code 403 "lookup of a --go-nosumdb module" "$GO_URL/sumdb/sum.example.test/lookup/example.test/big/v2@v2.0.0"
grep -q "private" "$IT_TMP/body" || fail "403 body does not say why: $(cat "$IT_TMP/body")"
expect_code 403 "lookup of a --go-route module" "$GO_URL/sumdb/sum.example.test/lookup/example.test/multi@v1.1.0"
# Unconfigured databases (404) and malformed tile paths (400): in-process
# in src/protocols/goproxy/goproxy_handler_test.cc.
expect_code 404 "--go-route off module" "$GO_URL/private.example.test/x/@v/list"
! grep -q 'private.example.test' "$UP1_LOG" "$UP2_LOG" "$UP3_LOG" || fail "an off-route module reached an upstream"
expect_code 200 "branch query .info" "$GO_URL/example.test/m01/@v/main.info"
grep -q '"Version":"v1.0.0"' "$IT_TMP/body" || fail "branch query body: $(cat "$IT_TMP/body")"

# Tampered go.mod and zip (served by up2, reached by 404 fall-through from up1).
echo "example.test/lonely@v1.0.0 mod" >"$IT_TMP/up2/tamper"
ZIP="$GO_URL/example.test/lonely/@v/v1.0.0.zip"
MOD="$GO_URL/example.test/lonely/@v/v1.0.0.mod"
expect_code 502 "tampered go.mod refused" "$MOD"
grep -q "checksum mismatch" "$IT_TMP/body" || fail "tampered .mod: body does not say why: $(cat "$IT_TMP/body")"
expect_code 502 "tampered zip refused" "$ZIP"
grep -q "checksum mismatch for example.test/lonely@v1.0.0.zip" "$IT_TMP/body" ||
  fail "tampered .zip: body does not say why: $(cat "$IT_TMP/body")"
N_BEFORE=$(grep -c 'lonely/@v/v1.0.0.zip' "$UP2_LOG")
expect_code 502 "tampered zip refused again (nothing was stored)" "$ZIP"
(( $(grep -c 'lonely/@v/v1.0.0.zip' "$UP2_LOG") == N_BEFORE + 1 )) || fail "the refused zip was served from a cache"
[[ "$(metric 'cellar_go_verification_failures_total{kind="zip"}')" == 2 ]] ||
  fail "zip verification failures: $(metric 'cellar_go_verification_failures_total{kind="zip"}'), want 2"
[[ "$(metric 'cellar_go_verification_failures_total{kind="mod"}')" == 1 ]] || fail "mod verification failure not counted"
echo "example.test/lonely@v1.0.0" >"$IT_TMP/up2/tamper"  # zip only: go gets past the .mod
mkdir -p "$IT_TMP/dl"
if (cd "$IT_TMP/dl" && GOPROXY="$GO_URL" GOPATH="$IT_TMP/gopath3" GOMODCACHE="$IT_TMP/gopath3/pkg/mod" \
    GOFLAGS=-modcacherw go mod download example.test/lonely@v1.0.0) >"$IT_TMP/dl.out" 2>&1; then
  fail "go mod download of a tampered module succeeded"
fi
grep -q "checksum mismatch" "$IT_TMP/dl.out" || fail "go's error does not carry cellar's reason: $(cat "$IT_TMP/dl.out")"
echo "info - go printed: $(grep -m1 'checksum mismatch' "$IT_TMP/dl.out")"
rm -f "$IT_TMP/up2/tamper"
expect_code 200 "zip accepted once the upstream is honest" "$ZIP"
cmp -s "$IT_TMP/body" "$IT_TMP/up2/proxy/example.test/lonely/@v/v1.0.0.zip" || fail "zip body differs from the upstream's"
[[ "$(header X-Go-Checksum)" == h1:* ]] || fail "no X-Go-Checksum on the verified zip"
grep -q 'GET /example.test/lonely/@v/v1.0.0.zip' "$UP1_LOG" || fail "up1 was not asked first"
pass "tampered .mod/.zip refused with the reason and not stored; 404 fall-through to the second upstream"

# --- 4. database down, stale answers --------------------------------------------
TILE=$(grep -oE ' /tile/[0-9]+/[0-9]+/[x0-9/]+$' "$SUMDB_LOG" | head -n 1 | tr -d ' ' || true)
[[ -n "$TILE" ]] || fail "no full tile was ever requested (cannot test tile caching)"
expect_code 200 "latest while the database is up" "$GO_URL/sumdb/sum.example.test/latest"
grep -q '^go.sum database tree' "$IT_TMP/body" || fail "latest is not a signed tree head: $(head -c 200 "$IT_TMP/body")"
stop_cellar
kill -TERM "$SUMDB_PID"; wait "$SUMDB_PID" 2>/dev/null || true
start_cellar "$IT_TMP/data" "${CELLAR_ARGS[@]}" --go-list-max-age 1s
GO_URL="$CELLAR_URL/go"
sleep 1.1
expect_code 200 "latest while the database is down" "$GO_URL/sumdb/sum.example.test/latest"
[[ "$(header X-Cellar-Stale)" == 1 ]] || fail "stale latest lacks X-Cellar-Stale: 1"
expect_code 200 "lookup while the database is down" "$GO_URL/sumdb/sum.example.test/lookup/example.test/m01@v1.0.0"
[[ "$(header X-Cellar-Stale)" == 1 ]] || fail "stale lookup lacks X-Cellar-Stale: 1"
expect_code 200 "full tile while the database is down" "$GO_URL/sumdb/sum.example.test$TILE"
expect_code 200 "uncached zip of a routed module (never looked up)" "$GO_URL/example.test/multi/@v/v1.0.0.zip"
cmp -s "$IT_TMP/body" "$IT_TMP/up3/proxy/example.test/multi/@v/v1.0.0.zip" || fail "multi v1.0.0 zip body differs"
pass "database down: latest and lookups served stale, full tiles from the cache"
STATS="$(curl -s "$CELLAR_URL/api/v1/stats")"
for ns in go/zip go/mod go/sumdb go/sumdb-tile; do
  grep -q "\"$ns\"" <<<"$STATS" || fail "/api/v1/stats does not list namespace $ns: $STATS"
done
pass "/api/v1/stats lists the Go namespaces"

# --- 4b. a routed module needs no checksum database ------------------------------
# A new cache with the database still down: the routed module is stored
# without a lookup; any other module cannot be verified and is refused.
stop_cellar
start_cellar "$IT_TMP/data-routed" "${CELLAR_ARGS[@]}"
GO_URL="$CELLAR_URL/go"
expect_code 200 "routed module's zip with the database down" "$GO_URL/example.test/multi/@v/v1.1.0.zip"
cmp -s "$IT_TMP/body" "$IT_TMP/up3/proxy/example.test/multi/@v/v1.1.0.zip" || fail "multi v1.1.0 zip body differs"
expect_code 502 "unrouted module's zip with the database down (cannot be verified)" "$GO_URL/example.test/m01/@v/v1.0.0.zip"
pass "a --go-route module is stored without a checksum-database lookup; others still need one"

# --- 5. a full hash tile of the wrong size is refused, not cached forever --------
stop_cellar
cat >"$IT_TMP/portal.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(sys.argv[2], "a").write(self.path + "\n")
        body = b"<html>please log in to the hotel wifi</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(srv.server_port))
srv.serve_forever()
PY
python3 "$IT_TMP/portal.py" "$IT_TMP/portal.port" "$IT_TMP/portal.log" &
PORTAL_PID=$!
CELLAR_PIDS+=("$PORTAL_PID")  # stopped with the cellar servers at exit
for _ in $(seq 50); do [[ -s "$IT_TMP/portal.port" ]] && break; sleep 0.1; done
start_cellar "$IT_TMP/data-portal" --go-upstream "$UP1_URL" --go-sumdb "portal.test=http://127.0.0.1:$(cat "$IT_TMP/portal.port")"
T="$CELLAR_URL/go/sumdb/portal.test/tile/8/0/000"
expect_code 502 "a 45-byte 'full hash tile'" "$T"
expect_code 502 "the same tile again (not cached)" "$T"
[[ "$(grep -c '^/tile/8/0/000$' "$IT_TMP/portal.log")" == 2 ]] || fail "the bad tile was cached: $(cat "$IT_TMP/portal.log")"
pass "a full hash tile of the wrong size is refused (502) and never cached"

echo "sumdb test finished in ${SECONDS}s"
