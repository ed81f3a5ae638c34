#!/usr/bin/env bash
# it_git_shared_tier: fleet mode's shared git tier, with the real git, two
# `cellar serve --storage s3` nodes on one Ceph RGW bucket and the fake git
# upstream (git_lib.sh):
#   1. a clone through node A builds A's mirror from the upstream, and A then
#      publishes it to the bucket (a bundle under blobs/, a manifest under
#      documents/git/);
#   2. node B, on an empty data dir, builds its mirror from the bucket: the
#      clone through B equals a direct clone and B asks the upstream for no
#      pack at all (nothing changed upstream);
#   3. after an upstream push, a clone through a third node C restores from
#      the bucket and fetches only the new commit from the upstream (one
#      small pack POST), and equals a direct clone;
#   4. with the upstream down, a fourth node D on an empty data dir does not
#      serve the bucket's copy: it cannot check that the client may read the
#      repository (it may be private), so the clone fails with a message;
#   5. with Redis (redis-server on a unix socket): three nodes with empty data
#      dirs, three concurrent cold clones of one repository (slow upstream
#      packs): exactly one upstream pack;
#   6. three more nodes started one after another with one warm-up file (three
#      repositories, slow upstream packs): the start-up runs split the list,
#      each repository is fetched from the upstream once, by more than one
#      node in all, and the others report it skipped;
#   7. fleet-wide eviction of mirrors' copies: a node with a bucket TTL of 6 s
#      evicts every mirror's copy nobody cloned (manifest, then its bundles),
#      and keeps the one it keeps serving; a fresh node then clones an evicted
#      repository from the upstream, whole;
#   8. refs invalidation: a node serving refs from its mirror under
#      --git-ref-ttl 1h; after an upstream push a clone through a node with
#      strong freshness fetches and announces its new refs in Redis; the next
#      clone through the TTL node gets the new commit at once, not an hour
#      later;
#   9. Redis killed: clones still work and cellar_redis_up reads 0.
# Usage: bash git_shared_tier_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"
source "$(dirname "$0")/s3_lib.sh"
source "$(dirname "$0")/redis_lib.sh"

s3_setup git-tier
git_client_env
make_upstream_repos "$IT_TMP/up"
start_fake_git_upstream "$IT_TMP/up"
GIT_ARGS=(--git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT")
REPO=acme/small.git

clone_via() {  # clone_via DIR: clones $REPO through the current node into DIR
  rm -rf "$1"
  git -c "url.$CELLAR_URL/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" clone -q "$UP_URL/$REPO" "$1" ||
    fail "clone through $CELLAR_URL into $1 failed: $(tail -5 "$CELLAR_LOG")"
}
same_as_direct() {  # same_as_direct DIR
  rm -rf "$IT_TMP/direct"
  git clone -q "$UP_URL/$REPO" "$IT_TMP/direct"
  [[ "$(git -C "$1" for-each-ref --format='%(objectname) %(refname)' refs/remotes refs/tags)" == \
     "$(git -C "$IT_TMP/direct" for-each-ref --format='%(objectname) %(refname)' refs/remotes refs/tags)" ]] ||
    fail "$1: refs differ from a direct clone"
  [[ "$(git -C "$1" rev-parse HEAD^{tree})" == "$(git -C "$IT_TMP/direct" rev-parse HEAD^{tree})" ]] ||
    fail "$1: checkout differs from a direct clone"
  git -C "$1" fsck --no-progress >/dev/null 2>&1 || fail "$1: fsck"
}
push_upstream_commit() {  # push_upstream_commit FILE MESSAGE: a new commit on $REPO's main, upstream
  rm -rf "$IT_TMP/push"
  git clone -q "$UP_URL/$REPO" "$IT_TMP/push"
  echo "$2" >"$IT_TMP/push/$1"
  git -C "$IT_TMP/push" add "$1"
  git -C "$IT_TMP/push" commit -q -m "$2"
  git -C "$IT_TMP/push" push -q "$IT_TMP/up/$REPO" HEAD:main
}
wait_metric() {  # wait_metric SERIES MIN: until the series reaches MIN (30 s)
  local i
  for i in $(seq 1 300); do
    [[ $(metric "$1") -ge $2 ]] && return 0
    sleep 0.1
  done
  fail "$1 stayed at $(metric "$1"), expected >= $2"
}
PUBLISHED='cellar_git_shared_tier_total{op="publish",result="ok"}'
RESTORED='cellar_git_shared_tier_total{op="restore",result="ok"}'

# --- 1. node A publishes --------------------------------------------------------
start_cellar "$IT_TMP/a" "${S3_ARGS[@]}" "${GIT_ARGS[@]}"
clone_via "$IT_TMP/wa"
same_as_direct "$IT_TMP/wa"
wait_metric "$PUBLISHED" 1
[[ $(s3_keys documents/git/ | grep -c 'manifest.json$') -eq 1 ]] || fail "no manifest in the bucket: $(s3_keys "")"
[[ $(s3_keys blobs/ | wc -l) -ge 1 ]] || fail "no bundle blob in the bucket"
pass "node A: clone from the upstream, mirror published to the bucket"
stop_cellar

# --- 2. node B restores ----------------------------------------------------------
start_cellar "$IT_TMP/b" "${S3_ARGS[@]}" "${GIT_ARGS[@]}"
m=$(up_mark)
clone_via "$IT_TMP/wb"
# (Counted before same_as_direct, whose direct clone is an upstream pack.)
[[ $(up_packs "$m" "$REPO") -eq 0 ]] || fail "node B asked the upstream for a pack: $(up_since "$m")"
same_as_direct "$IT_TMP/wb"
[[ $(metric "$RESTORED") -eq 1 ]] || fail "node B did not build its mirror from the bucket"
pass "node B (empty data dir): mirror from the bucket, no upstream pack"
stop_cellar

# --- 3. node C: bucket, then the delta from the upstream -------------------------
push_upstream_commit new-file "new upstream commit"
start_cellar "$IT_TMP/c" "${S3_ARGS[@]}" "${GIT_ARGS[@]}"
m=$(up_mark)
clone_via "$IT_TMP/wc"
[[ $(up_packs "$m" "$REPO") -eq 1 ]] || fail "node C should fetch exactly the delta (1 pack): $(up_since "$m")"
same_as_direct "$IT_TMP/wc"
[[ -f "$IT_TMP/wc/new-file" ]] || fail "node C's clone lacks the new commit"
[[ $(metric "$RESTORED") -eq 1 ]] || fail "node C did not build its mirror from the bucket"
wait_metric "$PUBLISHED" 1  # C publishes the increment
pass "node C: mirror from the bucket plus one upstream pack for the new commit"
stop_cellar

# --- 4. upstream down: no access check, no copy -----------------------------------
# The bucket holds the repository, but node D has never seen the upstream
# let anyone read it: it must not serve it (the repository may be private).
up_fault down
start_cellar "$IT_TMP/d" "${S3_ARGS[@]}" "${GIT_ARGS[@]}" --git-serve-stale
rm -rf "$IT_TMP/wd"
if git -c "url.$CELLAR_URL/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" clone -q "$UP_URL/$REPO" "$IT_TMP/wd" \
    2>"$IT_TMP/wd.err"; then
  fail "node D served a repository whose access it could not check"
fi
grep -q "unreachable" "$IT_TMP/wd.err" || fail "node D's refusal does not say why: $(cat "$IT_TMP/wd.err")"
up_clear down
pass "node D: upstream down, the bucket's copy is not served without an access check"
stop_cellar
# --- 5. Redis: one node at a time fetches a repository --------------------------
# Three nodes with empty data dirs get a cold clone of one repository at the
# same moment: with the fleet lease, one fetches from the upstream and
# publishes, the other two wait and build their mirrors from the bucket.
start_redis
REPO=acme/tools.git
up_fault slow_pack 1500  # the holder's fetch takes a while: the others must wait for it
URLS=()
for n in e f g; do
  start_cellar "$IT_TMP/$n" "${S3_ARGS[@]}" "${GIT_ARGS[@]}" --redis-url "$REDIS_URL"
  grep -q '"msg":"redis connected"' "$CELLAR_LOG" || fail "node $n did not connect to Redis: $(cat "$CELLAR_LOG")"
  URLS+=("$CELLAR_URL")
done
m=$(up_mark)
pids=()
for i in 0 1 2; do
  git -c "url.${URLS[$i]}/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" clone -q "$UP_URL/$REPO" "$IT_TMP/w5-$i" \
    2>"$IT_TMP/w5-$i.err" &
  pids+=($!)
done
for i in 0 1 2; do wait "${pids[$i]}" || fail "concurrent clone $i failed: $(cat "$IT_TMP/w5-$i.err")"; done
up_clear slow_pack
packs=$(up_packs "$m" "$REPO")
[[ $packs -eq 1 ]] || fail "3 nodes, 3 cold clones: expected 1 upstream pack with Redis, got $packs"
for i in 0 1 2; do same_as_direct "$IT_TMP/w5-$i"; done
pass "Redis: 3 nodes, 3 concurrent cold clones, 1 upstream pack"

# --- 6. Redis: the nodes' warm-up runs split the work ------------------------------
for r in w1 w2 w3; do make_small_repo "$IT_TMP/up/acme/$r.git" "$r"; done
cat >"$IT_TMP/warmup.yaml" <<YAML
parallelism: 1
at_start: true
repositories:
  - url: $UP_URL/acme/w1.git
    branches: [main]
    priority: 3
  - url: $UP_URL/acme/w2.git
    branches: [main]
    priority: 2
  - url: $UP_URL/acme/w3.git
    branches: [main]
    priority: 1
YAML
up_fault slow_pack 3000  # a node is still on its first repository when the next node starts
m=$(up_mark)
WARM_URLS=()
for n in h i j; do
  start_cellar "$IT_TMP/$n" "${S3_ARGS[@]}" "${GIT_ARGS[@]}" --redis-url "$REDIS_URL" --git-warmup "$IT_TMP/warmup.yaml"
  WARM_URLS+=("$CELLAR_URL")
done
warm_total() {  # warm_total RESULT: the nodes' cellar_git_warmups_total{result=RESULT}, summed
  local u sum=0
  for u in "${WARM_URLS[@]}"; do sum=$((sum + $(metric_at "$u" "cellar_git_warmups_total{result=\"$1\"}"))); done
  echo "$sum"
}
for _ in $(seq 1 300); do
  [[ $(($(warm_total ok) + $(warm_total skipped) + $(warm_total error))) -ge 9 ]] && break
  sleep 0.1
done
up_clear slow_pack
[[ $(warm_total ok) -eq 3 && $(warm_total skipped) -eq 6 && $(warm_total error) -eq 0 ]] ||
  fail "3 nodes x 3 repositories: expected 3 warmed and 6 skipped, got ok=$(warm_total ok) skipped=$(warm_total skipped) error=$(warm_total error)"
for r in w1 w2 w3; do
  [[ $(up_packs "$m" "acme/$r.git") -eq 1 ]] || fail "warm-up of acme/$r.git: $(up_packs "$m" "acme/$r.git") upstream packs, expected 1"
done
warming_nodes=0
for u in "${WARM_URLS[@]}"; do
  [[ $(metric_at "$u" 'cellar_git_warmups_total{result="ok"}') -gt 0 ]] && warming_nodes=$((warming_nodes + 1))
done
[[ $warming_nodes -ge 2 ]] || fail "one node warmed the whole list; the start-up runs did not split it"
pass "Redis: 3 nodes' start-up warm-ups split 3 repositories ($warming_nodes nodes warmed), 1 upstream pack each"

# --- 7. the bucket's TTL evicts mirrors' copies nobody clones ---------------------
mirror_docs() { s3_keys documents/git/ | grep -c '/manifest.json$' || true; }
[[ $(mirror_docs) -ge 5 ]] || fail "expected 5 mirrors' copies in the bucket, found: $(s3_keys documents/git/)"
bundles_before=$(s3_bytes blobs/)
start_cellar "$IT_TMP/k" "${S3_ARGS[@]}" "${GIT_ARGS[@]}" --redis-url "$REDIS_URL" --bucket-ttl 6s \
  --bucket-eviction-interval 3s --bucket-gc-grace 1s --fleet-stats-interval 1s  # its first clone is tallied before the first pass
REPO=acme/small.git
for _ in $(seq 1 40); do
  clone_via "$IT_TMP/w7"  # node k serves acme/small over and over: the fleet's tally keeps it fresh
  [[ $(mirror_docs) -eq 1 ]] && break
  sleep 0.5
done
[[ $(mirror_docs) -eq 1 ]] || fail "bucket TTL: $(mirror_docs) mirrors' copies left, expected 1: $(s3_keys documents/git/)"
s3_keys documents/git/ | grep -q '/acme/small[^/]*/manifest.json$' ||
  fail "bucket TTL evicted the mirror node k keeps serving: $(s3_keys documents/git/)"
[[ $(metric cellar_bucket_git_mirrors_evicted_total) -ge 4 ]] ||
  fail "cellar_bucket_git_mirrors_evicted_total is $(metric cellar_bucket_git_mirrors_evicted_total), expected >= 4"
for _ in $(seq 1 40); do
  [[ $(s3_bytes blobs/) -lt $bundles_before ]] && break
  sleep 0.25
done
[[ $(s3_bytes blobs/) -lt $bundles_before ]] || fail "the evicted mirrors' bundles were not collected ($bundles_before bytes before)"
start_cellar "$IT_TMP/l" "${S3_ARGS[@]}" "${GIT_ARGS[@]}" --redis-url "$REDIS_URL"
REPO=acme/w1.git
m=$(up_mark)
clone_via "$IT_TMP/w7b"
[[ $(up_packs "$m" "$REPO") -eq 1 ]] || fail "an evicted mirror's copy: expected 1 upstream pack, got $(up_packs "$m" "$REPO")"
same_as_direct "$IT_TMP/w7b"
pass "bucket TTL: 4 mirrors' copies nobody cloned evicted with their bundles, the one in use kept; an evicted repository clones from the upstream"

# --- 8. refs one node fetched supersede another node's within the ref TTL ----------
# (Node n8 serves refs from its mirror for an hour; node m8 always asks.)
REPO=acme/small.git
start_cellar "$IT_TMP/m8" "${S3_ARGS[@]}" "${GIT_ARGS[@]}" --redis-url "$REDIS_URL"  # strong freshness
FETCHER_URL=$CELLAR_URL
FETCHER_LOG=$CELLAR_LOG
clone_via "$IT_TMP/w8a"
start_cellar "$IT_TMP/n8" "${S3_ARGS[@]}" "${GIT_ARGS[@]}" --redis-url "$REDIS_URL" --git-ref-ttl 1h
SERVER_URL=$CELLAR_URL
SERVER_LOG=$CELLAR_LOG
clone_via "$IT_TMP/w8b"
clone_via "$IT_TMP/w8b"  # a second clone is answered from the mirror (TTL)
push_upstream_commit ttl-file "upstream commit under the ref TTL"
new_head=$(git -C "$IT_TMP/push" rev-parse HEAD)
CELLAR_URL=$FETCHER_URL  # asks the upstream for refs, fetches the new commit, announces its refs
CELLAR_LOG=$FETCHER_LOG
clone_via "$IT_TMP/w8d"
[[ $(git -C "$IT_TMP/w8d" rev-parse HEAD) == "$new_head" ]] || fail "the fetching node missed the push"
CELLAR_URL=$SERVER_URL
CELLAR_LOG=$SERVER_LOG
clone_via "$IT_TMP/w8c"
[[ $(git -C "$IT_TMP/w8c" rev-parse HEAD) == "$new_head" ]] ||
  fail "the other node served its own refs for the ref TTL after another node fetched new ones: $(tail -3 "$SERVER_LOG")"
same_as_direct "$IT_TMP/w8c"
grep -q '"msg":"git refs superseded' "$SERVER_LOG" || fail "the serving node did not say why it asked the upstream"
pass "refs invalidation: a push fetched by one node reaches clones through another node at once under --git-ref-ttl 1h"

# --- 9. Redis gone: every clone still works, each node on its own ------------------
kill -9 "$REDIS_PID"
REPO=acme/never.git
for i in 0 1 2; do
  git -c "url.${URLS[$i]}/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" clone -q "$UP_URL/$REPO" "$IT_TMP/w6-$i" ||
    fail "clone through node $i with Redis down failed"
  same_as_direct "$IT_TMP/w6-$i"
done
CELLAR_URL=${URLS[0]}
[[ $(metric cellar_redis_up) -eq 0 ]] || fail "cellar_redis_up should be 0 with Redis down"
pass "Redis down: clones still succeed, cellar_redis_up is 0"

echo "all shared git tier checks passed"
