#!/usr/bin/env bash
# it_goproxy: the REAL `go` command (Debian 12: golang-go 1.19) building a
# project through cellar's Go module proxy front-end (/go/), offline.
#
# make_go_modules.py generates 24 small real modules under example.test (one
# with an uppercase path, example.test/Azure/sdk; a major-version module,
# example.test/big/v2; example.test/multi at v1.0.0 and v1.1.0, where the go
# command reads v1.0.0's go.mod but builds v1.1.0; example.test/lonely, which
# nothing imports) as a GOPROXY file tree, plus a consumer project whose go.sum
# is complete. fake_goproxy.py serves that tree as cellar's upstream and logs
# every request.
#
#   1. cold build through cellar: succeeds, program output is right, go.sum
#      and go.mod untouched; cellar fetched every immutable file from upstream
#      at most once and never fetched a zip the client did not ask for;
#   2. same build with a new empty GOMODCACHE: ZERO new upstream requests;
#   3. protocol checks with curl: case-encoded path works (byte-identical),
#      X-Go-Checksum = go.sum's h1:, @latest, @v/list revalidated after
#      --go-list-max-age (bad paths and 404/410 are in
#      src/protocols/goproxy/goproxy_handler_test.cc);
#   4. 20 concurrent GETs of one uncached zip (upstream slowed to 1.5 s per
#      zip) -> exactly 1 upstream request, 20 identical, correct bodies;
#   5. upstream down (503 to everything): a build with a third empty GOMODCACHE
#      still succeeds from cellar's cache; an expired list is served stale
#      (X-Cellar-Stale: 1); an uncached file is not answered 200 and its 5xx
#      is not cached (200 once the upstream is back);
#   6. a zip larger than the store (--max-size) is passed through uncached.
# cellar verifies every .zip/.mod against a fake checksum database
# (fake_sumdb/) before storing it; sumdb_test.sh covers the client side.
# Usage: bash goproxy_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || fail "go is not installed (apt-get install golang-go)"
command -v python3 >/dev/null || fail "python3 is not installed"

source "$IT_DIR/go_lib.sh"
go_isolated_env

GEN="$IT_TMP/gen"
python3 "$IT_DIR/make_go_modules.py" "$GEN" || fail "make_go_modules.py failed"
EXPECTED_OUTPUT="$(cat "$GEN/expected_output.txt")"

# --- fake upstream and checksum database ----------------------------------
start_fake_goproxy "$GEN/proxy" upstream
UP_LOG="$FAKE_LOG"
UP_URL="$FAKE_URL"
# cellar verifies every .zip and .mod against this database before storing
# it; the clients here trust go.sum (GOSUMDB=off), sumdb_test.sh covers the
# client side.
start_fake_sumdb "$GEN/proxy" sum.example.test

# --go-stream-threshold 0: every cold file streams to its clients while it
# downloads (verified before the last byte); sumdb_test.sh covers the
# verify-then-send path used for small files by default.
start_cellar "$IT_TMP/data" --go-upstream "$UP_URL" --go-list-max-age 1s --go-sumdb "sum.example.test=$SUMDB_URL" \
  --go-stream-threshold 0
GO_URL="$CELLAR_URL/go"

up_lines() { wc -l <"$UP_LOG"; }
# up_since N: upstream log lines after the first N.
up_since() { tail -n "+$(($1 + 1))" "$UP_LOG"; }
# up_immutable_since N: .info/.mod/.zip requests after the first N lines.
up_immutable_since() { up_since "$1" | grep -E '\.(info|mod|zip)$' || true; }

# go_build NAME MODCACHE: copies the consumer to $IT_TMP/NAME, builds it
# through cellar with the given (new) module cache, runs the program.
go_build() {
  local name="$1" dir="$IT_TMP/$1"
  cp -R "$GEN/consumer" "$dir"
  if ! (cd "$dir" && GOPROXY="$GO_URL" GOMODCACHE="$2" go build -o app .) \
      >"$IT_TMP/$name.out" 2>&1; then
    cat "$IT_TMP/$name.out" >&2
    echo "--- last cellar log lines:" >&2; tail -n 20 "$CELLAR_LOG" >&2
    fail "$name: go build through cellar failed"
  fi
  [[ "$("$dir/app")" == "$EXPECTED_OUTPUT" ]] || fail "$name: program output differs: $("$dir/app")"
  # With -mod=mod a missing or different checksum would make go edit go.sum.
  cmp -s "$dir/go.sum" "$GEN/consumer/go.sum" || fail "$name: go build changed go.sum"
  cmp -s "$dir/go.mod" "$GEN/consumer/go.mod" || fail "$name: go build changed go.mod"
}

# --- 1. cold build ----------------------------------------------------------
go_build cold "$IT_TMP/modcache1"
COLD_LINES=$(up_lines)
(( COLD_LINES > 0 )) || fail "cold build: cellar sent no request upstream"
DUPS=$(grep -E '\.(info|mod|zip)$' "$UP_LOG" | sort | uniq -d || true)
[[ -z "$DUPS" ]] || fail "cold build: immutable files fetched upstream more than once: $DUPS"
N_ZIP=$(grep -c '\.zip$' "$UP_LOG" || true)
N_MOD=$(grep -c '\.mod$' "$UP_LOG" || true)
WANT_ZIP=$(grep -c ' zip$' "$GEN/modules.txt")
WANT_MOD=$(grep -c -E ' (zip|mod)$' "$GEN/modules.txt")
[[ "$N_ZIP" == "$WANT_ZIP" ]] || fail "cold build: $N_ZIP zips fetched upstream, want $WANT_ZIP"
[[ "$N_MOD" == "$WANT_MOD" ]] || fail "cold build: $N_MOD go.mod files fetched upstream, want $WANT_MOD"
# MVS reads multi v1.0.0's go.mod; its zip must not be fetched just because.
! grep -q 'multi/@v/v1.0.0.zip' "$UP_LOG" || fail "cellar fetched multi v1.0.0.zip, which no client asked for"
grep -q 'multi/@v/v1.0.0.mod' "$UP_LOG" || fail "multi v1.0.0.mod never reached upstream (test graph broken?)"
grep -qE '/example.test/(!|%21)azure/sdk/@v/v1.0.0.zip$' "$UP_LOG" ||
  fail "upstream never saw the case-encoded path for example.test/Azure/sdk"
pass "cold build through cellar ($COLD_LINES upstream requests: $N_ZIP zips, $N_MOD go.mod)"
# Every stored .zip/.mod was checked against the checksum database: one
# lookup per module version, never two.
N_LOOKUP=$(grep -c ' /lookup/' "$SUMDB_LOG" || true)
[[ "$N_LOOKUP" == "$WANT_MOD" ]] || fail "cellar made $N_LOOKUP checksum-database lookups, want $WANT_MOD (one per module version)"
[[ "$(metric 'cellar_go_verification_failures_total{kind="zip"}')" == 0 ]] || fail "verification failures on a clean build"
pass "cellar verified every .zip and .mod with the checksum database ($N_LOOKUP lookups)"

# --- 2. warm build, new module cache ---------------------------------------
go_build warm "$IT_TMP/modcache2"
NEW="$(up_since "$COLD_LINES")"
[[ -z "$NEW" ]] || fail "warm build: cellar went upstream again: $(echo "$NEW" | head -n 10)"
pass "build with an empty GOMODCACHE served entirely from cellar (0 upstream requests)"

# --- 3. protocol checks -----------------------------------------------------
expect_code 200 "case-encoded list" "$GO_URL/example.test/!azure/sdk/@v/list"
[[ "$(cat "$IT_TMP/body")" == "v1.0.0" ]] || fail "case-encoded list body: $(cat "$IT_TMP/body")"
cmp -s "$IT_TMP/body" "$GEN/proxy/example.test/!azure/sdk/@v/list" || fail "case-encoded list body not byte-identical"
# The go command escapes '!' as %21 in request paths (url.PathEscape).
expect_code 200 "case-encoded list, '!' sent as %21 like go does" "$GO_URL/example.test/%21azure/sdk/@v/list"
[[ "$(cat "$IT_TMP/body")" == "v1.0.0" ]] || fail "%21-encoded list body: $(cat "$IT_TMP/body")"
expect_code 200 "case-encoded .info" "$GO_URL/example.test/!azure/sdk/@v/v1.0.0.info"
cmp -s "$IT_TMP/body" "$GEN/proxy/example.test/!azure/sdk/@v/v1.0.0.info" || fail ".info body not byte-identical"
# Malformed paths (raw uppercase, '..', empty elements, encoded slashes),
# unknown modules and versions (404/410), sumdb `supported`: the status
# matrix runs in-process in src/protocols/goproxy/goproxy_handler_test.cc.
expect_code 200 "a stored .zip" "$GO_URL/example.test/m01/@v/v1.0.0.zip"
WANT_H1=$(awk '$1 == "example.test/m01" && $2 == "v1.0.0" { print $3 }' "$GEN/consumer/go.sum")
[[ "$(header X-Go-Checksum)" == "$WANT_H1" ]] || fail "X-Go-Checksum '$(header X-Go-Checksum)' != go.sum's '$WANT_H1'"
pass "the stored h1: is served as X-Go-Checksum and equals go.sum's line"
expect_code 200 "@latest" "$GO_URL/example.test/multi/@latest"
grep -q '"Version": *"v1.1.0"' "$IT_TMP/body" || fail "@latest for multi: $(cat "$IT_TMP/body")"

# @v/list is mutable: after --go-list-max-age (1s) cellar must revalidate.
expect_code 200 "list before an upstream change" "$GO_URL/example.test/lonely/@v/list"
[[ "$(cat "$IT_TMP/body")" == "v1.0.0" ]] || fail "lonely list: $(cat "$IT_TMP/body")"
printf 'v1.0.0\nv1.0.1\n' >"$GEN/proxy/example.test/lonely/@v/list"
sleep 1.5
expect_code 200 "list after --go-list-max-age" "$GO_URL/example.test/lonely/@v/list"
[[ "$(cat "$IT_TMP/body")" == $'v1.0.0\nv1.0.1' ]] ||
  fail "list not revalidated after --go-list-max-age 1s: $(tr '\n' ' ' <"$IT_TMP/body")"

# --- 4. 20 concurrent GETs of one uncached zip ------------------------------
ZIP_PATH="/example.test/lonely/@v/v1.0.0.zip"
! grep -q " $ZIP_PATH\$" "$UP_LOG" || fail "lonely zip already fetched before the concurrency test"
echo 1.5 >"$GEN/zip_delay"
mkdir -p "$IT_TMP/conc"
PIDS=()
for i in $(seq 1 20); do
  curl -s -o "$IT_TMP/conc/$i.zip" -w '%{http_code}' --max-time 30 "$GO_URL$ZIP_PATH" \
    >"$IT_TMP/conc/$i.code" 2>/dev/null &
  PIDS+=("$!")
done
for pid in "${PIDS[@]}"; do wait "$pid" || true; done
rm -f "$GEN/zip_delay"
for i in $(seq 1 20); do
  [[ "$(cat "$IT_TMP/conc/$i.code")" == 200 ]] || fail "concurrent GET $i: HTTP $(cat "$IT_TMP/conc/$i.code")"
  cmp -s "$IT_TMP/conc/$i.zip" "$GEN/proxy$ZIP_PATH" || fail "concurrent GET $i: body differs from the upstream zip"
done
N=$(grep -c " $ZIP_PATH\$" "$UP_LOG" || true)
[[ "$N" == 1 ]] || fail "20 concurrent GETs of an uncached zip made $N upstream requests (want 1)"
pass "20 concurrent GETs of an uncached zip: 1 upstream request, 20 identical bodies"

# --- 5. upstream down -------------------------------------------------------
touch "$GEN/down"
DOWN_LINES=$(up_lines)
go_build down "$IT_TMP/modcache3"
NEW="$(up_immutable_since "$DOWN_LINES")"
[[ -z "$NEW" ]] || fail "build while upstream down: cellar asked upstream for cached files: $(echo "$NEW" | head -n 5)"
pass "build with upstream down and an empty GOMODCACHE succeeds from cellar's cache"

# A cached, expired list while the upstream is down: served stale, marked.
sleep 1.1
expect_code 200 "expired @v/list while upstream down" "$GO_URL/example.test/lonely/@v/list"
[[ "$(header X-Cellar-Stale)" == 1 ]] || fail "stale @v/list lacks X-Cellar-Stale: 1"
[[ "$(cat "$IT_TMP/body")" == $'v1.0.0\nv1.0.1' ]] || fail "stale list body: $(cat "$IT_TMP/body")"
(( $(metric 'cellar_go_requests_total{kind="list",result="stale"}' | cut -d. -f1) >= 1 )) || fail "stale serve not counted"
pass "expired @v/list served stale with X-Cellar-Stale: 1 while the upstream is down"

# An uncached file while the upstream is down: not 200, and the failure must
# not be cached once the upstream is back.
UNCACHED="$GO_URL/example.test/lonely/@v/v1.0.0.mod"
code=$(get "$UNCACHED")
[[ "$code" != 2* ]] || fail "uncached .mod while upstream down: HTTP $code"
echo "info - uncached .mod while upstream down: HTTP $code $(head -c 100 "$IT_TMP/body" | tr '\n' ' ')"
rm -f "$GEN/down"
expect_code 200 "upstream back: uncached .mod fetched (outage not cached)" "$UNCACHED"
cmp -s "$IT_TMP/body" "$GEN/proxy/example.test/lonely/@v/v1.0.0.mod" || fail ".mod body not byte-identical"

# --- 6. a store that cannot hold a module zip ---------------------------------
# Issue 13: a zip the store cannot keep (--max-size below its size) answered
# 502. It is checked and passed through uncached, on the default
# verify-then-send path for small files. (--go-nosumdb: checksum-database
# lookups are mutable documents, which need the store; see the report of
# issue 13.)
stop_cellar
start_cellar "$IT_TMP/data-tiny" --go-upstream "$UP_URL" --go-nosumdb example.test --max-size 100B
ZIP=$(cd "$GEN/proxy" && ls example.test/lonely/@v/*.zip | head -n 1)
[[ -n "$ZIP" ]] || fail "no zip of example.test/lonely in the generated proxy"
BEFORE=$(grep -c "/$ZIP\$" "$UP_LOG" || true)
for i in 1 2; do
  expect_code 200 "module zip larger than the store ($i)" "$CELLAR_URL/go/$ZIP"
  cmp -s "$IT_TMP/body" "$GEN/proxy/$ZIP" || fail "passed-through zip differs from the upstream's ($i)"
done
[[ $(( $(grep -c "/$ZIP\$" "$UP_LOG" || true) - BEFORE )) == 2 ]] || fail "a zip the store cannot hold was not fetched once per request"
[[ "$(metric 'cellar_cache_fills_total{namespace="go",result="uncached"}' | cut -d. -f1)" == 2 ]] ||
  fail "uncached zip fills not counted: $(curl -s "$CELLAR_URL/metrics" | grep cellar_cache_fills_total)"
pass "a module zip larger than the store is passed through uncached (exact bytes, counted)"

# --- 7. content-cache's usage, as its README writes it --------------------------
# `serve --listen :8080 --storage ./cache`, GOPROXY=http://host:8080/goproxy,direct
# and /health (issue 18: drop-in compatibility). Without a token, ":PORT"
# listens on loopback only, and says so.
stop_cellar
start_cellar "$IT_TMP/data-unused" --go-upstream "$UP_URL" --go-nosumdb example.test --listen :0 \
  --storage "$IT_TMP/cc-store"
grep -q '127.0.0.1 only' "$CELLAR_LOG" || fail "--listen :PORT without tokens: no warning in the log"
[[ -d "$IT_TMP/cc-store" && ! -e "$IT_TMP/data-unused" ]] || fail "--storage DIR did not become the data dir"
expect_code 200 "GET /health" "$CELLAR_URL/health"
[[ "$(cat "$IT_TMP/body")" == '{"status":"up"}' ]] || fail "/health body: $(cat "$IT_TMP/body")"
GO_URL="$CELLAR_URL/goproxy,direct"
go_build cc-build "$IT_TMP/modcache-cc"
[[ -n "$(ls -A "$IT_TMP/cc-store")" ]] || fail "nothing was stored under --storage DIR"
pass "content-cache's usage: serve --listen :PORT --storage DIR, GOPROXY=.../goproxy,direct, /health"

echo "goproxy test finished in ${SECONDS}s"
