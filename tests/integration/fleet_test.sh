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
#      and a turbo artifact written through one node is found by the other
#      two from Redis's copy of its manifest: one bucket GET each, the blob;
#      30 concurrent cold requests for one packument (slow registry) make one
#      upstream request;
#   2. the same for a new tarball and zip with three nodes without Redis:
#      each node fills on its own, so at most three upstream requests each
#      (and every answer still right);
#   3. 20 concurrent turbo PUTs of one hash with different bodies, and 20 Nx
#      PUTs, spread over the three nodes: exactly one body is stored (the
#      bucket's create-only entry manifest decides, no Redis needed), every
#      turbo PUT is answered 200, exactly one Nx PUT 200 and the others 409,
#      and every node serves the one stored body, whole;
#   4. Redis killed with SIGKILL while three nodes fill and write (cold
#      tarballs and zips, turbo PUTs read back through other nodes): every
#      request still gets the right bytes, and so do new cold files while
#      Redis stays down (at most one upstream request per node); the nodes
#      say so (cellar_redis_up 0, a warning in the log). Redis restarted:
#      once the nodes see it again, 30 cold requests for a new tarball and a
#      new zip make one upstream request each again;
#   5. the node filling a tarball killed with SIGKILL half-way (the upstream
#      sent its headers and holds back the body): a node waiting for the
#      fill takes over once the dead node's lease expires (30 s), and it and
#      a third node, which reads the tarball back from the bucket, serve the
#      upstream's bytes: nothing partial was published; and a node killed
#      half-way through receiving a 40 MiB turbo upload: no entry and no
#      blob of it appear in the bucket (a blob goes up only once all its
#      bytes are in and checked),
#      and another node then stores the same key and every node serves it;
#   6. fleet eviction: a bucket limit of 2 MiB (on one node; a new prefix),
#      12 artifacts of 256 KiB written through a second node while a third
#      keeps reading two of them: the bucket's blobs end under the limit,
#      the two hot artifacts survive (a node with an empty disk serves them)
#      and the coldest are gone from the bucket;
#   7. invalidation: two nodes hold an npm packument; a new version is
#      published upstream; the node with a short --npm-max-age revalidates
#      and finds it, and the other node, whose copy is still young, serves
#      the new version at once instead of when its own copy ages out.
# Usage: bash fleet_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"
source "$(dirname "$0")/redis_lib.sh"
source "$(dirname "$0")/go_lib.sh"
source "$(dirname "$0")/npm_lib.sh"
IT_DIR="$(cd "$(dirname "$0")" && pwd)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

s3_setup fleet-fill
start_redis

# Upstreams: the fake npm registry and a Go module proxy over generated modules.
start_fake_npm_registry
GEN="$IT_TMP/gen"
python3 "$IT_DIR/make_go_modules.py" "$GEN" >/dev/null || fail "make_go_modules.py failed"
start_fake_goproxy "$GEN/proxy" goproxy
GO_URL="$FAKE_URL"
GO_LOG="$FAKE_LOG"
# Module zips nobody asked for yet, taken in order by the parts below.
mapfile -t ZIPS < <(cd "$GEN/proxy" && find . -name '*.zip' | sed 's|^\./||' | sort)
[[ ${#ZIPS[@]} -ge 12 ]] || fail "the generated proxy has fewer than 12 module zips"
# Slow answers, so that the nodes' requests overlap the first fill.
echo 1.5 >"$NPM_STATE/delay"
echo 1.5 >"$GEN/zip_delay"

UPSTREAM_ARGS=(--npm-upstream "$NPM_URL" --go-upstream "$GO_URL" --go-verify=false)

# start_fleet TAG [serve args...]: three new nodes on the bucket; sets
# ROUND_URLS, ROUND_LOGS and ROUND_PIDS.
start_fleet() {
  local tag="$1" n; shift
  ROUND_URLS=()
  ROUND_LOGS=()
  ROUND_PIDS=()
  for n in a b c; do
    start_cellar "$IT_TMP/$tag-$n" "${S3_ARGS[@]}" "${UPSTREAM_ARGS[@]}" "$@"
    ROUND_URLS+=("$CELLAR_URL")
    ROUND_LOGS+=("$CELLAR_LOG")
    ROUND_PIDS+=("$CELLAR_PID")
  done
}

# cold_round TAG TARBALL ZIP: 10 concurrent requests on each node of
# ROUND_URLS for the tarball and for the zip; checks every answer against
# the upstream's bytes; sets NPM_FETCHES and GO_FETCHES.
cold_round() {
  local tag="$1" tarball="$2" zip="$3"
  local i pids=()
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

# fleet_round TAG TARBALL ZIP [serve args...]: start_fleet, then cold_round.
fleet_round() {
  local tag="$1" tarball="$2" zip="$3"; shift 3
  start_fleet "$tag" "$@"
  cold_round "$tag" "$tarball" "$zip"
}

# --- 1. with Redis: one upstream request per file ---------------------------------
fleet_round redis dep-b/dep-b-1.0.0.tgz "${ZIPS[0]}" --redis-url "$REDIS_URL" --fleet-stats-interval 500ms
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
# Fleet totals: every node's stats name the three nodes and their sum.
own_sum=0
for n in 0 1 2; do
  own_sum=$((own_sum + $(curl -sf "${ROUND_URLS[$n]}/api/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])')))
done
for n in 0 1 2; do
  for _ in $(seq 1 50); do
    fleet=$(curl -sf "${ROUND_URLS[$n]}/api/v1/stats" | python3 -c '
import json, sys
f = json.load(sys.stdin).get("fleet", {})
print(f.get("nodes", 0), f.get("stored_bytes", 0), len(f.get("per_node", [])))')
    [[ $fleet == "3 $own_sum 3" ]] && break
    sleep 0.2
  done
  [[ $fleet == "3 $own_sum 3" ]] || fail "node $n: /api/v1/stats fleet says '$fleet' (nodes, stored bytes, per-node rows), want '3 $own_sum 3'"
  [[ $(metric_at "${ROUND_URLS[$n]}" cellar_fleet_nodes) == 3 ]] || fail "node $n: cellar_fleet_nodes is not 3"
  [[ $(metric_at "${ROUND_URLS[$n]}" cellar_fleet_stored_bytes) == "$own_sum" ]] || fail "node $n: cellar_fleet_stored_bytes is not $own_sum"
  # The dashboard's fleet page: this node's tiers (the bucket, Redis without
  # its password) and the three nodes.
  curl -sf "${ROUND_URLS[$n]}/api/v1/fleet" | python3 -c '
import json, sys
f = json.load(sys.stdin)
t = f["tiers"]
assert t["local"]["kind"] == "disk", t
assert t["shared"]["kind"] == "s3" and t["shared"]["bucket"] and t["shared"]["upload"] == "sync", t
assert t["coordination"]["kind"] == "redis" and t["coordination"]["url"], t
assert f["fleet"]["available"] and len(f["fleet"]["per_node"]) == 3, f
assert f["node"] in [r["node"] for r in f["fleet"]["per_node"]], f
assert sum(r["stored_bytes"] for r in f["fleet"]["per_node"]) == f["fleet"]["stored_bytes"], f
' || fail "node $n: /api/v1/fleet: $(curl -s "${ROUND_URLS[$n]}/api/v1/fleet")"
done
pass "fleet totals: every node's /api/v1/stats, /api/v1/fleet and /metrics count 3 nodes and $own_sum stored bytes, the sum of theirs"
# Hot entries: an artifact written through node 0 is found by nodes 1 and 2
# from Redis's copy of its manifest, so the blob is their only bucket GET.
head -c 50000 /dev/urandom >"$IT_TMP/hot-artifact"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$IT_TMP/hot-artifact" \
  -H 'Content-Type: application/octet-stream' "${ROUND_URLS[0]}/turbo/v8/artifacts/hotentry01") == 200 ]] ||
  fail "PUT of hotentry01 through node 0"
for n in 1 2; do
  gets=$(metric_at "${ROUND_URLS[$n]}" 'cellar_s3_requests_total{operation="get",result="ok"}')
  hot=$(metric_at "${ROUND_URLS[$n]}" 'cellar_hot_entries_total{result="hot"}')
  curl -sf -o "$IT_TMP/hot-got-$n" "${ROUND_URLS[$n]}/turbo/v8/artifacts/hotentry01" || fail "node $n: GET hotentry01"
  cmp -s "$IT_TMP/hot-artifact" "$IT_TMP/hot-got-$n" || fail "node $n: hotentry01 differs"
  gets=$(($(metric_at "${ROUND_URLS[$n]}" 'cellar_s3_requests_total{operation="get",result="ok"}') - gets))
  hot=$(($(metric_at "${ROUND_URLS[$n]}" 'cellar_hot_entries_total{result="hot"}') - hot))
  [[ $hot -eq 1 && $gets -eq 1 ]] ||
    fail "node $n: a first read of another node's artifact made $gets bucket GETs and $hot Redis lookups, want 1 (the blob) and 1"
done
pass "hot entries: another node's new artifact is found through Redis, one bucket GET (its blob) per node"
# Packuments: 30 concurrent cold requests for one packument over the three
# nodes, the registry slow to answer: one upstream request; the nodes that
# waited for the lease take the holder's copy from the bucket.
echo 1.5 >"$NPM_STATE/doc_delay"
npm_mark=$(wc -l <"$NPM_LOG")
pids=()
for i in $(seq 0 29); do
  curl -sf --max-time 120 -H 'Accept: application/vnd.npm.install-v1+json' -o "$IT_TMP/doc-$i" \
    "${ROUND_URLS[$((i % 3))]}/npm/left-pad-lite" &
  pids+=($!)
done
for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail "cold packument request $i failed"; done
rm -f "$NPM_STATE/doc_delay"
for i in $(seq 0 29); do
  grep -q '"name":"left-pad-lite"' "$IT_TMP/doc-$i" || fail "cold packument answer $i: $(head -c 200 "$IT_TMP/doc-$i")"
done
doc_fetches=$(tail -n +"$((npm_mark + 1))" "$NPM_LOG" | grep -c '^GET /left-pad-lite ' || true)
[[ $doc_fetches -eq 1 ]] || fail "30 cold packument requests over 3 nodes: $doc_fetches upstream requests, want 1"
pass "Redis: 30 concurrent cold requests for a packument over 3 nodes -> 1 upstream request"

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

# --- 4. Redis killed in the middle of a mixed run, then back ----------------------
# New packages for the cold requests of this part (the fake registry makes them).
printf 'fleetx 1.0.0\nfleety 1.0.0\nfleetz 1.0.0\n' >"$NPM_STATE/publish"
start_fleet flaky --redis-url "$REDIS_URL"
turbo_writes() {  # 12 turbo PUTs over the nodes, each read back whole through the next node
  local i pids=() code
  for i in $(seq 0 11); do
    (
      head -c $((30000 + i * 5000)) /dev/urandom >"$IT_TMP/flaky-turbo-$i"
      code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X PUT --data-binary @"$IT_TMP/flaky-turbo-$i" \
        -H 'Content-Type: application/octet-stream' "${ROUND_URLS[$((i % 3))]}/turbo/v8/artifacts/flaky$i")
      [[ $code == 200 ]] || { echo "turbo PUT $i: HTTP $code" >&2; exit 1; }
      curl -sf --max-time 60 -o "$IT_TMP/flaky-turbo-got-$i" "${ROUND_URLS[$(((i + 1) % 3))]}/turbo/v8/artifacts/flaky$i" ||
        { echo "turbo GET $i through another node failed" >&2; exit 1; }
      cmp -s "$IT_TMP/flaky-turbo-$i" "$IT_TMP/flaky-turbo-got-$i" || { echo "turbo artifact $i differs" >&2; exit 1; }
    ) &
    pids+=($!)
    sleep 0.1
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || exit 1; done
}
cold_round flaky-1 fleetx/fleetx-1.0.0.tgz "${ZIPS[2]}" >"$IT_TMP/flaky-1.out" 2>&1 &
cold_pid=$!
turbo_writes >"$IT_TMP/flaky-turbo.out" 2>&1 &
turbo_pid=$!
sleep 0.7  # the first fill holds its lease, the other requests wait on it
kill -9 "$REDIS_PID"
wait "$cold_pid" || fail "cold requests while Redis was killed: $(tail -n 5 "$IT_TMP/flaky-1.out")"
wait "$turbo_pid" || fail "turbo writes while Redis was killed: $(tail -n 5 "$IT_TMP/flaky-turbo.out")"
# Redis stays down: new cold files still come right, each node on its own.
cold_round flaky-2 fleety/fleety-1.0.0.tgz "${ZIPS[3]}"
(( NPM_FETCHES >= 1 && NPM_FETCHES <= 3 )) || fail "Redis down: $NPM_FETCHES tarball requests for 3 nodes, want 1 to 3"
(( GO_FETCHES >= 1 && GO_FETCHES <= 3 )) || fail "Redis down: $GO_FETCHES zip requests for 3 nodes, want 1 to 3"
for n in 0 1 2; do
  CELLAR_URL=${ROUND_URLS[$n]}
  [[ $(metric_at "$CELLAR_URL" cellar_redis_up) == 0 ]] || fail "node $n: cellar_redis_up is $(metric_at "$CELLAR_URL" cellar_redis_up) with Redis killed"
  grep -q 'carrying on without it' "${ROUND_LOGS[$n]}" || fail "node $n logged no warning that Redis is gone"
done
pass "Redis killed mid-run: every tarball, zip and turbo answer right; with Redis down $NPM_FETCHES tarball and $GO_FETCHES zip requests for 3 nodes"
# Redis back on the same socket. A node retries after a back-off (at most
# 10 s); each node's next fills find it.
rm -f "$REDIS_SOCK"
start_redis
next_zip=6
for n in 0 1 2; do
  CELLAR_URL=${ROUND_URLS[$n]}
  for _ in $(seq 1 30); do
    [[ $(metric_at "$CELLAR_URL" cellar_redis_up) == 1 ]] && break
    (( next_zip < ${#ZIPS[@]} - 1 )) || fail "node $n did not reconnect to Redis before the test ran out of zips"
    curl -sf --max-time 60 -o /dev/null "$CELLAR_URL/go/${ZIPS[$next_zip]}" || fail "probe zip ${ZIPS[$next_zip]} on node $n"
    next_zip=$((next_zip + 1))
    sleep 1
  done
  [[ $(metric_at "$CELLAR_URL" cellar_redis_up) == 1 ]] || fail "node $n does not see Redis again"
done
cold_round flaky-3 fleetz/fleetz-1.0.0.tgz "${ZIPS[4]}"
[[ $NPM_FETCHES -eq 1 ]] || fail "Redis back: $NPM_FETCHES upstream tarball requests for 30 cold requests, want 1"
[[ $GO_FETCHES -eq 1 ]] || fail "Redis back: $GO_FETCHES upstream zip requests for 30 cold requests, want 1"
pass "Redis back: the nodes reconnect and 30 cold requests over 3 nodes make 1 upstream request each again"

# --- 5. the filling node killed half-way -------------------------------------------
echo 'fleetk 1.0.0' >>"$NPM_STATE/publish"
echo '3 body' >"$NPM_STATE/delay"  # headers now, the body 3 s later
KILLED_TGZ=fleetk/-/fleetk-1.0.0.tgz
npm_mark=$(wc -l <"$NPM_LOG")
curl -s --max-time 60 -o /dev/null "${ROUND_URLS[0]}/npm/$KILLED_TGZ" &
doomed=$!
for _ in $(seq 1 100); do  # node 0 is fetching: the upstream logged the request
  tail -n +"$((npm_mark + 1))" "$NPM_LOG" | grep -q -- "/-/fleetk-1.0.0.tgz" && break
  sleep 0.05
done
curl -sf --max-time 120 -o "$IT_TMP/killed-b" "${ROUND_URLS[1]}/npm/$KILLED_TGZ" &
waiter=$!
sleep 1  # node 1 waits on node 0's lease
kill -9 "${ROUND_PIDS[0]}"
wait "$doomed" || true
wait "$waiter" || fail "the node waiting on a killed node's fill did not complete it"
echo 0 >"$NPM_STATE/delay"
curl -sf -o "$IT_TMP/killed-direct" "$NPM_URL/$KILLED_TGZ" || fail "direct fleetk tarball"
cmp -s "$IT_TMP/killed-b" "$IT_TMP/killed-direct" || fail "node 1 took over the fill with other bytes than the upstream's"
curl -sf --max-time 60 -o "$IT_TMP/killed-c" "${ROUND_URLS[2]}/npm/$KILLED_TGZ" || fail "node 2 cannot serve the tarball"
cmp -s "$IT_TMP/killed-c" "$IT_TMP/killed-direct" || fail "node 2 serves other bytes than the upstream's"
fetches=$(tail -n +"$((npm_mark + 1))" "$NPM_LOG" | grep -c -- "/-/fleetk-1.0.0.tgz" || true)
# The killed fill, node 1's and the direct download above.
[[ $fetches -eq 3 ]] || fail "expected 3 upstream requests for the tarball (killed fill, takeover, direct), got $fetches"
pass "a node killed half-way through a fill: its lease expired, another node completed the fill, every node serves the upstream's bytes"
# A node killed while an upload streams through it.
start_cellar "$IT_TMP/killed-upload" "${S3_ARGS[@]}" "${UPSTREAM_ARGS[@]}" --redis-url "$REDIS_URL"
doomed_pid=$CELLAR_PID
head -c $((40 << 20)) /dev/urandom >"$IT_TMP/big-upload"
blobs_before=$(s3_keys blobs/ | sort)
curl -s -o /dev/null --max-time 60 --limit-rate 8M -X PUT -T "$IT_TMP/big-upload" \
  -H 'Content-Type: application/octet-stream' "$CELLAR_URL/turbo/v8/artifacts/killedupload" &
upload=$!
sleep 2.5  # about half of it sent
kill -9 "$doomed_pid"
wait "$upload" || true
blobs_after=$(s3_keys blobs/ | sort)
[[ "$blobs_before" == "$blobs_after" ]] || fail "a blob appeared in the bucket from an upload killed half-way: $(comm -13 <(echo "$blobs_before") <(echo "$blobs_after"))"
code=$(curl -s -o /dev/null -w '%{http_code}' "${ROUND_URLS[1]}/turbo/v8/artifacts/killedupload")
[[ $code == 404 ]] || fail "the key of an upload killed half-way is served by another node: HTTP $code"
[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 120 -X PUT -T "$IT_TMP/big-upload" \
  -H 'Content-Type: application/octet-stream' "${ROUND_URLS[1]}/turbo/v8/artifacts/killedupload") == 200 ]] ||
  fail "the key of an upload killed half-way cannot be stored through another node"
for n in 1 2; do
  curl -sf --max-time 120 -o "$IT_TMP/big-got-$n" "${ROUND_URLS[$n]}/turbo/v8/artifacts/killedupload" || fail "node $n cannot GET killedupload"
  cmp -s "$IT_TMP/big-got-$n" "$IT_TMP/big-upload" || fail "node $n serves other bytes for killedupload"
done
pass "a node killed half-way through a 40 MiB upload: nothing of it in the bucket, the key stored afterwards through another node and served whole"

# --- 6. fleet eviction --------------------------------------------------------------
S3_PREFIX="$S3_PREFIX-evict"
S3_ARGS=(--storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "$S3_PREFIX")
LIMIT=$((2 << 20))
start_cellar "$IT_TMP/evict-a" "${S3_ARGS[@]}" --redis-url "$REDIS_URL" --fleet-stats-interval 300ms \
  --bucket-max-size "$LIMIT" --bucket-eviction-interval 1s --bucket-gc-grace 1s
EVICTOR_URL=$CELLAR_URL
start_cellar "$IT_TMP/evict-b" "${S3_ARGS[@]}" --redis-url "$REDIS_URL" --fleet-stats-interval 300ms
WRITER_URL=$CELLAR_URL
start_cellar "$IT_TMP/evict-c" "${S3_ARGS[@]}" --redis-url "$REDIS_URL" --fleet-stats-interval 300ms
READER_URL=$CELLAR_URL
put_artifact() {  # put_artifact NAME: 256 KiB of random bytes through the writer node
  head -c 262144 /dev/urandom >"$IT_TMP/evict-$1"
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X PUT --data-binary @"$IT_TMP/evict-$1" \
    -H 'Content-Type: application/octet-stream' "$WRITER_URL/turbo/v8/artifacts/$1") == 200 ]] || fail "PUT $1"
}
read_hot() {
  local h
  for h in hot0 hot1; do
    curl -sf --max-time 60 -o /dev/null "$READER_URL/turbo/v8/artifacts/$h" || fail "reading $h through the reader node"
  done
}
put_artifact hot0
put_artifact hot1
for i in $(seq 0 9); do
  put_artifact "cold$i"
  read_hot
  sleep 0.4
done
read_hot
converged=0
for _ in $(seq 1 50); do
  if (( $(s3_bytes blobs/) <= LIMIT )) && (( $(metric_at "$EVICTOR_URL" 'cellar_bucket_evicted_total{reason="size"}') > 0 )); then
    converged=1
    break
  fi
  sleep 0.3
done
(( converged )) || fail "the bucket holds $(s3_bytes blobs/) bytes of blobs, over its limit of $LIMIT (evictions: $(metric_at "$EVICTOR_URL" 'cellar_bucket_evicted_total{reason="size"}'))"
start_cellar "$IT_TMP/evict-d" "${S3_ARGS[@]}"
for h in hot0 hot1; do
  curl -sf --max-time 60 -o "$IT_TMP/evict-got-$h" "$CELLAR_URL/turbo/v8/artifacts/$h" || fail "the hot artifact $h was evicted from the bucket"
  cmp -s "$IT_TMP/evict-got-$h" "$IT_TMP/evict-$h" || fail "the hot artifact $h comes back with other bytes"
done
gone=0
for i in $(seq 0 9); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 "$CELLAR_URL/turbo/v8/artifacts/cold$i")
  [[ $code == 404 ]] && gone=$((gone + 1))
done
(( gone >= 4 )) || fail "only $gone of 10 cold artifacts left the bucket"
# Every node's disk keeps its own copies: the writer still serves an evicted one.
curl -sf --max-time 60 -o /dev/null "$WRITER_URL/turbo/v8/artifacts/cold0" || fail "the writer lost its own copy of cold0"
pass "fleet eviction: bucket blobs $(s3_bytes blobs/) bytes under a limit of $LIMIT, the 2 hot artifacts kept, $gone of 10 cold ones evicted from the bucket"

# --- 7. a revalidated packument reaches the other nodes --------------------------------
echo 'fleetinv 1.0.0' >>"$NPM_STATE/publish"
start_cellar "$IT_TMP/inv-a" "${S3_ARGS[@]}" "${UPSTREAM_ARGS[@]}" --redis-url "$REDIS_URL" --npm-max-age 1s
QUICK_URL=$CELLAR_URL
start_cellar "$IT_TMP/inv-b" "${S3_ARGS[@]}" "${UPSTREAM_ARGS[@]}" --redis-url "$REDIS_URL" --npm-max-age 1h
SLOW_URL=$CELLAR_URL
latest_on() { curl -sf --max-time 30 "$1/npm/fleetinv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dist-tags"]["latest"])'; }
[[ $(latest_on "$QUICK_URL") == 1.0.0 && $(latest_on "$SLOW_URL") == 1.0.0 ]] || fail "fleetinv 1.0.0 is not served by both nodes"
echo 'fleetinv 1.1.0' >>"$NPM_STATE/publish"
[[ $(latest_on "$SLOW_URL") == 1.0.0 ]] || fail "the node with a 1 h max age revalidated on its own"
sleep 1.2
[[ $(latest_on "$QUICK_URL") == 1.1.0 ]] || fail "the node with a 1 s max age did not find fleetinv 1.1.0"
[[ $(latest_on "$SLOW_URL") == 1.1.0 ]] || fail "the other node still serves its older packument after the fleet found 1.1.0"
pass "invalidation: a packument revalidated on one node is refreshed on the other at once, not after its 1 h max age"
echo "all fleet checks passed"
