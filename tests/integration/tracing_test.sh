#!/usr/bin/env bash
# it_tracing: OpenTelemetry traces from a real cellar to a fake OTLP/HTTP
# collector on loopback (fake_otlp_collector.py, payloads checked by
# check_traces.py), with the fake npm registry as the upstream:
#   1. a cold packument and a cold tarball fill: the client's traceparent is
#      the server span's parent, the upstream call is a client span under it
#      (under the fill span for the tarball), and the upstream received that
#      span's traceparent; the access log line carries the trace and span id;
#   2. a hit: one server span, cache result hit, no upstream span;
#   3. a failed upstream: the upstream span is an error;
#   4. a collector that hangs: requests are answered at once, spans are
#      dropped or counted as failed, never waited for;
#   5. a cold git clone through cellar: the git subprocesses that build the
#      mirror and the upload-pack that serves it are spans of the client's
#      trace.
# Span encoding, sampling and the queue are unit-tested in src/trace/.
# Usage: bash tracing_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/go_lib.sh"
source "$(dirname "$0")/npm_lib.sh"
source "$(dirname "$0")/git_lib.sh"
IT_DIR="$(cd "$(dirname "$0")" && pwd)"
git_client_env
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
start_fake_git_upstream "$IT_TMP/upstream"
make_small_repo "$UP_ROOT/acme/small.git"

OTLP_DIR="$IT_TMP/otlp"
python3 "$IT_DIR/fake_otlp_collector.py" "$IT_TMP/otlp.port" "$OTLP_DIR" >"$IT_TMP/otlp.err" 2>&1 &
CELLAR_PIDS+=("$!")
COLLECTOR_PID=$!
wait_for_file "$IT_TMP/otlp.port" "fake OTLP collector" "$IT_TMP/otlp.err"
OTLP_URL="http://127.0.0.1:$(cat "$IT_TMP/otlp.port")"
start_fake_npm_registry

OTEL_SERVICE_NAME=cellar-it OTEL_RESOURCE_ATTRIBUTES=deployment.environment=it \
  start_cellar "$IT_TMP/data" --npm-upstream "$NPM_URL" --otlp-endpoint "$OTLP_URL" --trace-sampling 0 \
  --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT"
REG="$CELLAR_URL/npm"
CHECK="python3 $IT_DIR/check_traces.py $OTLP_DIR"

new_trace() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }
# wait_trace TRACE_ID: until the collector holds that trace's server span.
wait_trace() {
  local i rc
  for i in $(seq 1 100); do
    rc=0; $CHECK "$1" tree >/dev/null 2>&1 || rc=$?
    [[ $rc == 0 ]] && return 0
    [[ $rc == 1 ]] && { $CHECK "$1" tree; fail "trace $1 is malformed"; }
    sleep 0.1
  done
  fail "trace $1 never reached the collector"
}

# 1. Cold packument, then a cold tarball, each with the client's traceparent.
caller_span=00f067aa0ba902b7
t1=$(new_trace)
code=$(get -H "traceparent: 00-$t1-$caller_span-01" "$REG/left-pad-lite")
[[ "$code" == 200 ]] || fail "cold packument: HTTP $code"
wait_trace "$t1"
server1=$($CHECK "$t1" server "$caller_span" 200 miss) || fail "cold packument's server span"
$CHECK "$t1" tree >"$IT_TMP/tree1"
up1=$(awk '$1 == "upstream" && $2 == "GET" { print $3 " " $4 }' "$IT_TMP/tree1")
[[ -n "$up1" ]] || { cat "$IT_TMP/tree1"; fail "no upstream span in the cold packument's trace"; }
grep -q "^GET /left-pad-lite .* tp=00-$t1-${up1%% *}-01" "$NPM_LOG" ||
  { cat "$NPM_LOG"; fail "the upstream did not receive the upstream span's traceparent"; }
grep -q "\"path\":\"/npm/left-pad-lite\".*\"trace_id\":\"$t1\",\"span_id\":\"$server1\"" "$CELLAR_LOG" ||
  fail "the access log line lacks the trace and span id"
$CHECK x resource || fail "resource or scope"
pass "cold packument: client -> server span -> upstream span -> upstream traceparent, ids in the access log"

t2=$(new_trace)
code=$(get -H "traceparent: 00-$t2-$caller_span-01" "$REG/left-pad-lite/-/left-pad-lite-1.1.0.tgz")
[[ "$code" == 200 ]] || fail "cold tarball: HTTP $code"
wait_trace "$t2"
server2=$($CHECK "$t2" server "$caller_span" 200 fill) || fail "cold tarball's server span"
$CHECK "$t2" tree >"$IT_TMP/tree2"
fill=$(awk -v p="$server2" '$1 == "fill" && $3 == p { print $2 }' "$IT_TMP/tree2")
[[ -n "$fill" ]] || { cat "$IT_TMP/tree2"; fail "no fill span under the tarball's server span"; }
awk -v p="$fill" '$1 == "upstream" && $4 == p { found=1 } END { exit !found }' "$IT_TMP/tree2" ||
  { cat "$IT_TMP/tree2"; fail "no upstream span under the fill span"; }
grep -q "left-pad-lite-1.1.0.tgz .* tp=00-$t2-" "$NPM_LOG" || fail "the tarball fetch carried no traceparent"
pass "cold tarball: server span -> fill span -> upstream span"

# 2. A hit: nothing upstream.
t3=$(new_trace)
code=$(get -H "traceparent: 00-$t3-$caller_span-01" "$REG/left-pad-lite/-/left-pad-lite-1.1.0.tgz")
[[ "$code" == 200 ]] || fail "tarball hit: HTTP $code"
wait_trace "$t3"
$CHECK "$t3" server "$caller_span" 200 hit >/dev/null || fail "hit's server span"
$CHECK "$t3" tree >"$IT_TMP/tree3"
grep -q "^upstream" "$IT_TMP/tree3" && fail "a hit went upstream"
pass "hit: one server span, cache result hit, no upstream span"

# A build-cache upload and hit (Bazel CAS): auth, blob commit, cache lookup.
blob="$IT_TMP/blob"; head -c 5000 /dev/urandom >"$blob"
sha=$(sha256sum "$blob" | cut -d' ' -f1)
t5=$(new_trace)
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$blob" -H "traceparent: 00-$t5-$caller_span-01" \
  "$CELLAR_URL/bazel/cas/$sha")
[[ "$code" == 200 ]] || fail "bazel PUT: HTTP $code"
wait_trace "$t5"
$CHECK "$t5" tree >"$IT_TMP/tree5"
grep -q "^auth " "$IT_TMP/tree5" && grep -q "^blob commit " "$IT_TMP/tree5" ||
  { cat "$IT_TMP/tree5"; fail "no auth or blob commit span for an upload"; }
t6=$(new_trace)
code=$(get -H "traceparent: 00-$t6-$caller_span-01" "$CELLAR_URL/bazel/cas/$sha")
[[ "$code" == 200 ]] || fail "bazel GET: HTTP $code"
wait_trace "$t6"
$CHECK "$t6" server "$caller_span" 200 hit >/dev/null || fail "bazel hit's server span"
$CHECK "$t6" tree >"$IT_TMP/tree6"
grep -q "^cache lookup " "$IT_TMP/tree6" || { cat "$IT_TMP/tree6"; fail "no cache lookup span for a hit"; }
pass "build cache: auth and blob commit spans for an upload, a cache lookup span for a hit"

# --trace-sampling 0: a request without a traceparent is not traced, but
# the traceparent still goes upstream (not sampled), so the upstream's trace
# can continue.
code=$(get "$REG/dep-b")
[[ "$code" == 200 ]] || fail "untraced packument: HTTP $code"
grep -q "^GET /dep-b .* tp=00-[0-9a-f]*-[0-9a-f]*-00" "$NPM_LOG" || fail "no unsampled traceparent upstream"

# 3. A failing upstream.
touch "$NPM_STATE/down"
t4=$(new_trace)
code=$(get -H "traceparent: 00-$t4-$caller_span-01" "$REG/dep-a")
[[ "$code" =~ ^5 ]] || fail "packument with the upstream down: HTTP $code"
wait_trace "$t4"
$CHECK "$t4" tree >"$IT_TMP/tree4"
grep -q "^upstream GET [0-9a-f]* [0-9a-f]* error" "$IT_TMP/tree4" ||
  { cat "$IT_TMP/tree4"; fail "the failed upstream call is not an error span"; }
rm -f "$NPM_STATE/down"
pass "failed upstream: the upstream span is an error"

# 5. A cold git clone: every request of the clone carries the same
# traceparent, so the mirror's git runs and the pack's upload-pack join it.
t7=$(new_trace)
timeout -k 5 120 git -c "url.$CELLAR_URL/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" \
  -c "http.$UP_URL/.proxy=http://127.0.0.1:9" -c "http.extraHeader=traceparent: 00-$t7-$caller_span-01" \
  clone -q "$UP_URL/acme/small.git" "$IT_TMP/clone" >"$IT_TMP/clone.out" 2>&1 || { cat "$IT_TMP/clone.out"; fail "git clone"; }
wait_trace "$t7"
for _ in $(seq 1 50); do
  $CHECK "$t7" tree >"$IT_TMP/tree7"
  grep -q "^git upload-pack " "$IT_TMP/tree7" && break
  sleep 0.1
done
grep -Eq "^git (init|fetch|clone) " "$IT_TMP/tree7" && grep -q "^git upload-pack " "$IT_TMP/tree7" ||
  { cat "$IT_TMP/tree7"; fail "no git subprocess spans in the clone's trace"; }
pass "cold git clone: the mirror's git runs and the pack's upload-pack are spans of the client's trace"

# 4. A collector that stops answering costs requests nothing.
touch "$OTLP_DIR/hang"
start=$(date +%s%N)
for i in $(seq 1 200); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "traceparent: 00-$(printf '%032x' $((i + 1000)))-$caller_span-01" \
    "$REG/left-pad-lite/-/left-pad-lite-1.1.0.tgz")
  [[ "$code" == 200 ]] || fail "request $i with a hung collector: HTTP $code"
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
(( ms < 20000 )) || fail "200 hits took ${ms} ms with a hung collector"
kill "$COLLECTOR_PID"
sleep 3
[[ "$(curl -s "$CELLAR_URL/healthz" -o /dev/null -w '%{http_code}')" == 200 ]] || fail "cellar unhealthy"
pass "a hung, then dead collector: 200 traced hits in ${ms} ms, all answered"
stop_cellar
grep -q '"level":"error"' "$CELLAR_LOG" && { grep '"level":"error"' "$CELLAR_LOG"; fail "errors logged"; }
echo "all tracing checks passed"
