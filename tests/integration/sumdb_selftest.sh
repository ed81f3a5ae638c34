#!/usr/bin/env bash
# sumdb_selftest: proves the test fixtures fake_sumdb (fake Go checksum
# database, tests/integration/fake_sumdb/) and fake_goproxy.py's tamper switch
# work with the REAL go command (Debian 12: golang-go 1.19), without cellar,
# offline. Not registered in CMake; run it by hand after changing a fixture.
#
#   1. a consumer project WITHOUT go.sum builds with GOPROXY=<fake_goproxy>
#      and GOSUMDB="<vkey> <fake_sumdb URL>": the go command verifies every
#      module against the database (lookups and tiles in the sumdb log), the
#      go.sum it writes equals make_go_modules.py's independently computed
#      one, and the program output is right;
#   2. protocol checks with curl: /sumdb/<name>/ prefix accepted, /supported,
#      unknown module and other database names -> 404;
#   3. tamper file "example.test/m03@v1.0.0": fake_goproxy serves a modified
#      zip, the database still has the original hash, and a build with a new
#      GOMODCACHE and no go.sum fails with "SECURITY ERROR";
#   4. tamper file "example.test/m05@v1.0.0 mod": the same for a go.mod;
#   5. tamper file removed: a build with a new GOMODCACHE succeeds again.
# Usage: bash sumdb_selftest.sh [/path/to/prebuilt/fake_sumdb]
# (without an argument, fake_sumdb is built with build_fake_sumdb.sh).
set -euo pipefail

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
IT_TMP="$(mktemp -d /tmp/cellar-sumdb-selftest.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$IT_TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }
START=$SECONDS

command -v go >/dev/null || fail "go is not installed (apt-get install golang-go)"
command -v python3 >/dev/null || fail "python3 is not installed"
command -v curl >/dev/null || fail "curl is not installed"

if [[ $# -ge 1 ]]; then
  FAKE_SUMDB="$(readlink -f "$1")"
else
  FAKE_SUMDB="$(bash "$IT_DIR/build_fake_sumdb.sh" "$IT_TMP/sumdb-build")" ||
    fail "building fake_sumdb failed"
fi
[[ -x "$FAKE_SUMDB" ]] || fail "no fake_sumdb binary at $FAKE_SUMDB"

# Nothing from the caller's environment may steer go or curl elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset GOPRIVATE GONOPROXY GONOSUMDB GOINSECURE GOWORK GOROOT GOEXPERIMENT GOSUMDB GOPROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME="$IT_TMP/home" GOPATH="$IT_TMP/gopath" GOCACHE="$IT_TMP/gocache"
export GOENV=off GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on
export GOFLAGS="-mod=mod -modcacherw"
mkdir -p "$HOME"

GEN="$IT_TMP/gen"
python3 "$IT_DIR/make_go_modules.py" "$GEN" || fail "make_go_modules.py failed"
EXPECTED_OUTPUT="$(cat "$GEN/expected_output.txt")"
# fake_goproxy.py's control files (down, zip_delay, tamper) live in the
# directory holding the proxy tree.
CTL="$GEN"

# wait_file FILE PID DESC ERR_FILE: waits until FILE is non-empty; fails
# (showing ERR_FILE) when process PID exits first or after 10 s.
wait_file() {
  local _
  for _ in $(seq 1 200); do
    [[ -s "$1" ]] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  cat "$4" >&2
  fail "$3 did not start"
}

# --- servers ----------------------------------------------------------------
UP_LOG="$IT_TMP/upstream.log"
python3 "$IT_DIR/fake_goproxy.py" "$GEN/proxy" "$IT_TMP/upstream.port" "$UP_LOG" \
  >"$IT_TMP/upstream.err" 2>&1 &
UP_PID=$!
PIDS+=("$UP_PID")
wait_file "$IT_TMP/upstream.port" "$UP_PID" "fake_goproxy.py" "$IT_TMP/upstream.err"
PROXY_URL="http://127.0.0.1:$(cat "$IT_TMP/upstream.port")"

SUMDB_NAME=sum.example.test
SUMDB_LOG="$IT_TMP/sumdb.log"
"$FAKE_SUMDB" -proxy "$GEN/proxy" -name "$SUMDB_NAME" -port-file "$IT_TMP/sumdb.port" \
  -log "$SUMDB_LOG" -key-file "$IT_TMP/sumdb.key" >"$IT_TMP/sumdb.err" 2>&1 &
SUMDB_PID=$!
PIDS+=("$SUMDB_PID")
wait_file "$IT_TMP/sumdb.port" "$SUMDB_PID" "fake_sumdb" "$IT_TMP/sumdb.err"
SUMDB_URL="http://127.0.0.1:$(cat "$IT_TMP/sumdb.port")"
VKEY="$(cat "$IT_TMP/sumdb.key")"
[[ "$VKEY" == "$SUMDB_NAME+"*+* ]] || fail "verifier key looks wrong: $VKEY"
export GOPROXY="$PROXY_URL" GOSUMDB="$VKEY $SUMDB_URL"

# go_build NAME: copies the consumer to $IT_TMP/NAME without go.sum and builds
# it with a new module cache; output in $IT_TMP/NAME.out; returns go's status.
go_build() {
  local dir="$IT_TMP/$1"
  cp -R "$GEN/consumer" "$dir"
  rm -f "$dir/go.sum"
  (cd "$dir" && GOMODCACHE="$IT_TMP/modcache-$1" go build -o app .) >"$IT_TMP/$1.out" 2>&1
}
sumdb_lines() { wc -l <"$SUMDB_LOG"; }

# --- 1. verified build --------------------------------------------------------
go_build verified || { cat "$IT_TMP/verified.out" >&2; fail "verified build failed"; }
[[ "$("$IT_TMP/verified/app")" == "$EXPECTED_OUTPUT" ]] || fail "program output differs: $("$IT_TMP/verified/app")"
cmp -s <(sort "$IT_TMP/verified/go.sum") <(sort "$GEN/consumer/go.sum") ||
  fail "go.sum written by go differs from make_go_modules.py's: $(diff <(sort "$IT_TMP/verified/go.sum") <(sort "$GEN/consumer/go.sum") | head -n 10)"
N_LOOKUP=$(grep -c '^GET /lookup/' "$SUMDB_LOG" || true)
N_TILE=$(grep -c '^GET /tile/' "$SUMDB_LOG" || true)
# Every module version in go.sum (23 zips + multi v1.0.0's go.mod) is looked up.
WANT_LOOKUP=$(grep -c -E ' (zip|mod)$' "$GEN/modules.txt")
[[ "$N_LOOKUP" == "$WANT_LOOKUP" ]] || fail "sumdb saw $N_LOOKUP lookups, want $WANT_LOOKUP: $(cat "$SUMDB_LOG")"
(( N_TILE > 0 )) || fail "sumdb saw no tile request: $(cat "$SUMDB_LOG")"
grep -q '^GET /lookup/example.test/!azure/sdk@v1.0.0$' "$SUMDB_LOG" ||
  fail "no case-encoded lookup for example.test/Azure/sdk: $(grep Azure -i "$SUMDB_LOG")"
pass "build without go.sum verified by fake_sumdb ($N_LOOKUP lookups, $N_TILE tile requests); go.sum as expected"

# --- 2. protocol checks ---------------------------------------------------------
# expect_code CODE DESC URL
expect_code() {
  local code
  code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' --max-time 30 "$3" || true)
  [[ "$code" == "$1" ]] || fail "$2: GET $3 -> HTTP $code (want $1): $(head -c 300 "$IT_TMP/body")"
  pass "$2 (HTTP $code)"
}
expect_code 200 "lookup" "$SUMDB_URL/lookup/example.test/m01@v1.0.0"
grep -q '^example.test/m01 v1.0.0 h1:' "$IT_TMP/body" || fail "lookup body: $(cat "$IT_TMP/body")"
grep -qF "$(grep '^example.test/m01 v1.0.0 ' "$GEN/consumer/go.sum")" "$IT_TMP/body" ||
  fail "lookup hash differs from go.sum: $(cat "$IT_TMP/body")"
expect_code 200 "lookup with the /sumdb/<name> prefix" "$SUMDB_URL/sumdb/$SUMDB_NAME/lookup/example.test/m01@v1.0.0"
grep -q '^example.test/m01 v1.0.0/go.mod h1:' "$IT_TMP/body" || fail "prefixed lookup body: $(cat "$IT_TMP/body")"
expect_code 200 "latest" "$SUMDB_URL/latest"
grep -q "^— $SUMDB_NAME " "$IT_TMP/body" || fail "latest is not a note signed by $SUMDB_NAME: $(cat "$IT_TMP/body")"
expect_code 200 "latest with the /sumdb/<name> prefix" "$SUMDB_URL/sumdb/$SUMDB_NAME/latest"
expect_code 404 "supported (a database does not serve it)" "$SUMDB_URL/supported"
expect_code 404 "supported with the prefix" "$SUMDB_URL/sumdb/$SUMDB_NAME/supported"
expect_code 404 "unknown module lookup" "$SUMDB_URL/lookup/example.test/nope@v1.0.0"
expect_code 404 "unknown version lookup" "$SUMDB_URL/lookup/example.test/m01@v9.9.9"
expect_code 404 "other database name" "$SUMDB_URL/sumdb/sum.golang.org/lookup/example.test/m01@v1.0.0"

# --- 3. tampered zip ------------------------------------------------------------
echo "example.test/m03@v1.0.0" >"$CTL/tamper"
curl -s -o "$IT_TMP/tampered.zip" "$PROXY_URL/example.test/m03/@v/v1.0.0.zip"
cmp -s "$IT_TMP/tampered.zip" "$GEN/proxy/example.test/m03/@v/v1.0.0.zip" && fail "tamper file had no effect on the zip"
python3 -c 'import sys, zipfile; a, b = (zipfile.ZipFile(p) for p in sys.argv[1:]); assert a.namelist() == b.namelist(), (a.namelist(), b.namelist()); assert sum(a.read(n) != b.read(n) for n in a.namelist()) == 1' \
  "$IT_TMP/tampered.zip" "$GEN/proxy/example.test/m03/@v/v1.0.0.zip" || fail "tampered zip: not the same entries with one file changed"
curl -s -o "$IT_TMP/plain.mod" "$PROXY_URL/example.test/m03/@v/v1.0.0.mod"
cmp -s "$IT_TMP/plain.mod" "$GEN/proxy/example.test/m03/@v/v1.0.0.mod" || fail "tamper without ' mod' changed the .mod"
if go_build tampered_zip; then
  cat "$IT_TMP/tampered_zip.out" >&2; fail "build with a tampered zip succeeded"
fi
grep -q 'SECURITY ERROR' "$IT_TMP/tampered_zip.out" || { cat "$IT_TMP/tampered_zip.out" >&2; fail "tampered zip: no SECURITY ERROR"; }
TAMPER_ZIP_LINE="$(grep -m1 'checksum mismatch' "$IT_TMP/tampered_zip.out" || true)"
[[ "$TAMPER_ZIP_LINE" == *"example.test/m03@v1.0.0: verifying module: checksum mismatch"* ]] ||
  { cat "$IT_TMP/tampered_zip.out" >&2; fail "tampered zip: no checksum mismatch for m03"; }
pass "tampered zip rejected: $TAMPER_ZIP_LINE"

# --- 4. tampered go.mod ---------------------------------------------------------
echo "example.test/m05@v1.0.0 mod" >"$CTL/tamper"
curl -s -o "$IT_TMP/tampered.mod" "$PROXY_URL/example.test/m05/@v/v1.0.0.mod"
cmp -s "$IT_TMP/tampered.mod" "$GEN/proxy/example.test/m05/@v/v1.0.0.mod" && fail "tamper ' mod' had no effect on the .mod"
if go_build tampered_mod; then
  cat "$IT_TMP/tampered_mod.out" >&2; fail "build with a tampered go.mod succeeded"
fi
grep -q 'SECURITY ERROR' "$IT_TMP/tampered_mod.out" || { cat "$IT_TMP/tampered_mod.out" >&2; fail "tampered go.mod: no SECURITY ERROR"; }
TAMPER_MOD_LINE="$(grep -m1 'checksum mismatch' "$IT_TMP/tampered_mod.out" | sed 's/^[[:space:]]*//' || true)"
[[ "$TAMPER_MOD_LINE" == *"example.test/m05@v1.0.0: verifying go.mod: checksum mismatch"* ]] ||
  { cat "$IT_TMP/tampered_mod.out" >&2; fail "tampered go.mod: no checksum mismatch for m05's go.mod"; }
pass "tampered go.mod rejected: $TAMPER_MOD_LINE"

# --- 5. back to normal -----------------------------------------------------------
rm -f "$CTL/tamper"
go_build untampered || { cat "$IT_TMP/untampered.out" >&2; fail "build after removing the tamper file failed"; }
[[ "$("$IT_TMP/untampered/app")" == "$EXPECTED_OUTPUT" ]] || fail "program output differs after tampering"
pass "tamper file removed: verified build succeeds again"

kill -TERM "$SUMDB_PID"
wait "$SUMDB_PID" && SUMDB_RC=0 || SUMDB_RC=$?
PIDS=("$UP_PID")  # fake_sumdb is reaped: not to be signalled again at exit
[[ "$SUMDB_RC" == 0 ]] || fail "fake_sumdb exited $SUMDB_RC on SIGTERM: $(cat "$IT_TMP/sumdb.err")"
pass "fake_sumdb exits 0 on SIGTERM"
echo "sumdb_selftest: all passed in $((SECONDS - START))s"
