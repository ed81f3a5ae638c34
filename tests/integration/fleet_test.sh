#!/usr/bin/env bash
# it_fleet: N nodes behaving as one cache. Fleet-wide single-flight for
# pull-through fills and first write wins across nodes, with three
# `cellar serve --storage s3` nodes on one Ceph RGW bucket, a real
# redis-server, and slow fake upstreams (an npm registry and a Go module
# proxy whose tarballs and zips take a second to answer):
#   1. 30 concurrent cold requests for one npm tarball and 30 for one Go
#      module zip, 10 on each node: every answer is the upstream's bytes, and
#      with Redis the upstream was asked once for each (one node filled it,
#      the other two waited for its lease and read it from the bucket);
#   2. the same for a new tarball and zip with three nodes without Redis:
#      each node fills on its own, so at most three upstream requests each
#      (and every answer still right);
#   3. 20 concurrent turbo PUTs of one hash with different bodies, and 20 Nx
#      PUTs, spread over the three nodes: exactly one body is stored (the
#      bucket's create-only entry manifest decides, no Redis needed), every
#      turbo PUT is answered 200, exactly one Nx PUT 200 and the others 409,
#      and every node serves the one stored body, whole.
# Usage: bash fleet_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"
source "$(dirname "$0")/redis_lib.sh"
source "$(dirname "$0")/go_lib.sh"
IT_DIR="$(cd "$(dirname "$0")" && pwd)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

s3_setup fleet-fill
start_redis

# Upstreams: the fake npm registry and a Go module proxy over generated modules.
NPM_STATE="$IT_TMP/registry"
mkdir -p "$NPM_STATE"
NPM_LOG="$IT_TMP/npm-upstream.log"
python3 "$IT_DIR/fake_npm_registry.py" "$NPM_STATE" "$IT_TMP/npm.port" "$NPM_LOG" >"$IT_TMP/npm.err" 2>&1 &
CELLAR_PIDS+=("$!")
wait_for_file "$IT_TMP/npm.port" "fake npm registry" "$IT_TMP/npm.err"
NPM_URL="http://127.0.0.1:$(cat "$IT_TMP/npm.port")"
GEN="$IT_TMP/gen"
python3 "$IT_DIR/make_go_modules.py" "$GEN" >/dev/null || fail "make_go_modules.py failed"
start_fake_goproxy "$GEN/proxy" goproxy
GO_URL="$FAKE_URL"
GO_LOG="$FAKE_LOG"
# Two module zips, one per part: paths under the proxy tree.
mapfile -t ZIPS < <(cd "$GEN/proxy" && find . -name '*.zip' | sed 's|^\./||' | sort | head -n 2)
[[ ${#ZIPS[@]} -eq 2 ]] || fail "the generated proxy has fewer than two module zips"
# Slow answers, so that the nodes' requests overlap the first fill.
echo 1.5 >"$NPM_STATE/delay"
echo 1.5 >"$GEN/zip_delay"

UPSTREAM_ARGS=(--npm-upstream "$NPM_URL" --go-upstream "$GO_URL" --go-verify=false)

# fleet_round TAG TARBALL ZIP [serve args...]: three new nodes, 10 concurrent
# requests on each for the tarball and for the zip; checks every answer
# against the upstream's bytes; sets ROUND_URLS, NPM_FETCHES and GO_FETCHES.
fleet_round() {
  local tag="$1" tarball="$2" zip="$3"; shift 3
  local n i pids=()
  ROUND_URLS=()
  ROUND_LOGS=()
  for n in a b c; do
    start_cellar "$IT_TMP/$tag-$n" "${S3_ARGS[@]}" "${UPSTREAM_ARGS[@]}" "$@"
    ROUND_URLS+=("$CELLAR_URL")
    ROUND_LOGS+=("$CELLAR_LOG")
  done
  local npm_mark go_mark
  npm_mark=$(wc -l <"$NPM_LOG")
  go_mark=$(wc -l <"$GO_LOG")
  for i in $(seq 0 29); do
    local url=${ROUND_URLS[$((i % 3))]}
    curl -sf --max-time 120 -o "$IT_TMP/$tag-npm-$i" "$url/npm/${tarball%%/*}/-/${tarball#*/}" &
    pids+=($!)
    curl -sf --max-time 120 -o "$IT_TMP/$tag-go-$i" "$url/go/$zip" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail "$tag: request $i failed"; done
  curl -sf -o "$IT_TMP/$tag-npm-direct" "$NPM_URL/${tarball%%/*}/-/${tarball#*/}" || fail "direct tarball"
  for i in $(seq 0 29); do
    cmp -s "$IT_TMP/$tag-npm-$i" "$IT_TMP/$tag-npm-direct" || fail "$tag: tarball answer $i differs from the upstream's"
    cmp -s "$IT_TMP/$tag-go-$i" "$GEN/proxy/$zip" || fail "$tag: zip answer $i differs from the upstream's"
  done
  NPM_FETCHES=$(tail -n +"$((npm_mark + 1))" "$NPM_LOG" | grep -c -- "/-/${tarball#*/}" || true)
  GO_FETCHES=$(tail -n +"$((go_mark + 1))" "$GO_LOG" | grep -c -- "$zip" || true)
  # The direct download above is one more tarball request.
  NPM_FETCHES=$((NPM_FETCHES - 1))
}

# --- 1. with Redis: one upstream request per file ---------------------------------
fleet_round redis dep-b/dep-b-1.0.0.tgz "${ZIPS[0]}" --redis-url "$REDIS_URL"
[[ $NPM_FETCHES -eq 1 ]] || fail "3 nodes with Redis, 30 cold requests: $NPM_FETCHES upstream tarball requests, want 1"
[[ $GO_FETCHES -eq 1 ]] || fail "3 nodes with Redis, 30 cold requests: $GO_FETCHES upstream zip requests, want 1"
# Every node names itself in its log lines, and the names differ.
names=$(for log in "${ROUND_LOGS[@]}"; do grep -o '"node":"[^"]*"' "$log" | sort -u; done | sort -u | wc -l)
[[ $names -eq 3 ]] || fail "3 nodes should log 3 distinct node ids, found $names"
# The two nodes that waited say so.
fleet=0
for CELLAR_URL in "${ROUND_URLS[@]}"; do
  fleet=$((fleet + $(metric 'cellar_cache_fills_total{namespace="npm",result="fleet"}')))
done
[[ $fleet -eq 2 ]] || fail "expected 2 npm fills served from another node's fill, metrics say $fleet"
pass "Redis: 30 concurrent cold requests each for a tarball and a zip over 3 nodes -> 1 upstream request each"

# --- 2. without Redis: each node on its own ---------------------------------------
fleet_round alone dep-a/dep-a-1.0.0.tgz "${ZIPS[1]}"
(( NPM_FETCHES >= 1 && NPM_FETCHES <= 3 )) || fail "3 nodes without Redis: $NPM_FETCHES tarball requests, want 1 to 3"
(( GO_FETCHES >= 1 && GO_FETCHES <= 3 )) || fail "3 nodes without Redis: $GO_FETCHES zip requests, want 1 to 3"
pass "without Redis: $NPM_FETCHES tarball and $GO_FETCHES zip requests for 3 nodes (at most one per node)"

# --- 3. first write wins across nodes ---------------------------------------------
put_race() {  # put_race PATH_PREFIX KEY: 20 concurrent PUTs of KEY, different bodies, over the nodes
  local prefix="$1" key="$2" i pids=()
  for i in $(seq 0 19); do
    head -c $((200000 + i * 1000)) /dev/urandom >"$IT_TMP/body-$key-$i"
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -X PUT --data-binary @"$IT_TMP/body-$key-$i" \
      -H 'Content-Type: application/octet-stream' "${ROUND_URLS[$((i % 3))]}$prefix$key" >"$IT_TMP/code-$key-$i" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail "PUT $i of $key did not complete"; done
}
one_body_everywhere() {  # one_body_everywhere PATH KEY: prints the index of the stored body
  local path="$1" key="$2" n winner="" i
  for n in 0 1 2; do
    curl -sf --max-time 60 -o "$IT_TMP/got-$key-$n" "${ROUND_URLS[$n]}$path" || fail "node $n cannot GET $path"
    for i in $(seq 0 19); do
      if cmp -s "$IT_TMP/got-$key-$n" "$IT_TMP/body-$key-$i"; then
        [[ -z "$winner" || "$winner" == "$i" ]] || fail "$path: node $n serves body $i, another node body $winner"
        winner=$i
        continue 2
      fi
    done
    fail "$path: node $n serves a body nobody uploaded ($(stat -c %s "$IT_TMP/got-$key-$n") bytes)"
  done
  echo "$winner"
}
TURBO_HASH=fleetrace0123456789abcdef
put_race /turbo/v8/artifacts/ "$TURBO_HASH"
for i in $(seq 0 19); do
  [[ $(cat "$IT_TMP/code-$TURBO_HASH-$i") == 200 ]] || fail "turbo PUT $i: HTTP $(cat "$IT_TMP/code-$TURBO_HASH-$i")"
done
w=$(one_body_everywhere "/turbo/v8/artifacts/$TURBO_HASH" "$TURBO_HASH")
[[ $(s3_keys "entries/" | grep -c "turbo") -ge 1 ]] || fail "no turbo entry manifest in the bucket"
NX_HASH=fleetracenx0123456789
put_race /nx/v1/cache/ "$NX_HASH"
ok=$(cat "$IT_TMP"/code-"$NX_HASH"-* | grep -c '^200$' || true)
conflict=$(cat "$IT_TMP"/code-"$NX_HASH"-* | grep -c '^409$' || true)
[[ $ok -eq 1 && $conflict -eq 19 ]] || fail "Nx: $ok PUTs stored and $conflict refused with 409, want 1 and 19"
wn=$(one_body_everywhere "/nx/v1/cache/$NX_HASH" "$NX_HASH")
[[ $(cat "$IT_TMP/code-$NX_HASH-$wn") == 200 ]] || fail "Nx: the body served is not the one whose PUT got 200"
pass "first write wins across nodes: 20 turbo PUTs (all 200) and 20 Nx PUTs (1 x 200, 19 x 409) of one key, one body (turbo #$w, Nx #$wn) served whole by every node"
echo "all fleet checks passed"
