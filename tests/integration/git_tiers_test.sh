#!/usr/bin/env bash
# it_git_tiers: the runner-local tier (`cellar git clone`) and mirror eviction.
#   - cellar git clone through a cellar server: first clone creates the local
#     mirror (tier "server"), the second is a local-tier hit (tier "local")
#     with no upstream pack traffic; checkouts equal a direct clone; origin
#     is the real URL; --branch and --depth; an upstream push is seen by the
#     next clone; origin-only mode (no server); 4 concurrent clones on one
#     runner share the mirror safely; a bad URL fails clearly.
#   - eviction: with --git-max-size below the sum of three mirrors, the least
#     recently used is evicted, counted in metrics, and comes back on demand.
# Usage: bash git_tiers_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

git_client_env
make_upstream_repos "$IT_TMP/up"
start_fake_git_upstream "$IT_TMP/up"
start_cellar "$IT_TMP/data" --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT"
CACHE="$IT_TMP/runner-cache"
clone() {  # clone OUT ARGS...: cellar git clone, stderr (the report) in OUT
  local out="$1"; shift
  "$CELLAR_BIN" git clone --cache-dir "$CACHE" "$@" 2>"$out" || { cat "$out" >&2; return 1; }
}
same_as_direct() {  # same_as_direct DIR REPO [git clone args]: tree and refs equal a direct clone
  local dir="$1" repo="$2"; shift 2
  rm -rf "$IT_TMP/direct"
  git clone -q "$@" "$UP_URL/$repo" "$IT_TMP/direct"
  [[ "$(git -C "$dir" rev-parse HEAD^{tree})" == "$(git -C "$IT_TMP/direct" rev-parse HEAD^{tree})" ]] ||
    fail "$dir: checkout differs from a direct clone"
  [[ "$(git -C "$dir" for-each-ref --format='%(objectname) %(refname)' refs/remotes refs/tags)" == \
     "$(git -C "$IT_TMP/direct" for-each-ref --format='%(objectname) %(refname)' refs/remotes refs/tags)" ]] ||
    fail "$dir: refs differ from a direct clone"
  git -C "$dir" fsck --no-progress >/dev/null 2>&1 || fail "$dir: fsck"
}

# --- local tier through the server ---------------------------------------------
m=$(up_mark)
clone "$IT_TMP/r1" --server "$CELLAR_URL" "$UP_URL/acme/small.git" "$IT_TMP/w1"
grep -q "tier server" "$IT_TMP/r1" || fail "first clone should create the mirror from the server: $(cat "$IT_TMP/r1")"
grep -qE "mirror update [0-9.]+s, checkout [0-9.]+s, total [0-9.]+s" "$IT_TMP/r1" || fail "no timings: $(cat "$IT_TMP/r1")"
same_as_direct "$IT_TMP/w1" acme/small.git
[[ "$(git -C "$IT_TMP/w1" remote get-url origin)" == "$UP_URL/acme/small.git" ]] || fail "origin is not the real URL"
[[ -f "$CACHE/127.0.0.1:$UP_PORT/acme/small.git/HEAD" ]] || fail "no local mirror under the cache dir"
pass "first cellar git clone: mirror created from the server, checkout equals a direct clone, origin is the real URL"
m=$(up_mark)
clone "$IT_TMP/r2" --server "$CELLAR_URL" "$UP_URL/acme/small.git" "$IT_TMP/w2"
grep -q "tier local" "$IT_TMP/r2" || fail "second clone should be a local-tier hit: $(cat "$IT_TMP/r2")"
[[ "$(up_packs "$m" acme/small.git)" == 0 ]] || fail "local-tier hit caused upstream pack traffic: $(up_since "$m")"
same_as_direct "$IT_TMP/w2" acme/small.git
pass "second cellar git clone: local tier, no upstream pack traffic"
clone "$IT_TMP/r3" --server "$CELLAR_URL" --branch feature --depth 1 "$UP_URL/acme/small.git" "$IT_TMP/w3"
[[ "$(git -C "$IT_TMP/w3" rev-parse --abbrev-ref HEAD)" == feature ]] || fail "--branch not honoured"
[[ "$(git -C "$IT_TMP/w3" rev-list --count HEAD)" == 1 ]] || fail "--depth 1 not honoured"
pass "--branch and --depth"
# An upstream push is seen by the next clone (the mirror is updated first).
git clone -q "$IT_TMP/up/acme/small.git" "$IT_TMP/pusher"
echo new >"$IT_TMP/pusher/new.txt"
git -C "$IT_TMP/pusher" add new.txt && git -C "$IT_TMP/pusher" commit -qm new
git -C "$IT_TMP/pusher" push -q origin HEAD:main
clone "$IT_TMP/r4" --server "$CELLAR_URL" "$UP_URL/acme/small.git" "$IT_TMP/w4"
[[ "$(git -C "$IT_TMP/w4" rev-parse HEAD)" == "$(git -C "$IT_TMP/pusher" rev-parse HEAD)" ]] || fail "push not seen"
pass "a push upstream is in the next local-tier clone"
# Concurrent clones on one runner share the mirror (flock) and all succeed.
pids=()
for i in 1 2 3 4; do
  clone "$IT_TMP/rc$i" --server "$CELLAR_URL" "$UP_URL/acme/tools.git" "$IT_TMP/wc$i" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent cellar git clone failed"; done
for i in 1 2 3 4; do same_as_direct "$IT_TMP/wc$i" acme/tools.git; done
[[ $(cat "$IT_TMP"/rc* | grep -c "tier server") == 1 ]] || fail "concurrent clones created the mirror more than once"
pass "4 concurrent clones on one runner: one mirror creation, 4 correct checkouts"
# Origin-only (no server).
clone "$IT_TMP/r5" "$UP_URL/medium.git" "$IT_TMP/w5"
grep -q "tier origin" "$IT_TMP/r5" || fail "no server: the mirror should come from the origin"
same_as_direct "$IT_TMP/w5" medium.git
pass "without a server the mirror comes from the origin"
# Bad input.
if "$CELLAR_BIN" git clone --cache-dir "$CACHE" "https://h/../etc" "$IT_TMP/bad" 2>"$IT_TMP/rb"; then fail "bad URL accepted"; fi
grep -q "bad repository path" "$IT_TMP/rb" || fail "bad URL message: $(cat "$IT_TMP/rb")"
if "$CELLAR_BIN" git clone --cache-dir "$CACHE" "$UP_URL/acme/small.git" "$IT_TMP/w1" 2>"$IT_TMP/rb"; then fail "non-empty destination accepted"; fi
grep -q "not empty" "$IT_TMP/rb" || fail "non-empty destination message: $(cat "$IT_TMP/rb")"
pass "bad URL and non-empty destination fail with a message"
# A repository whose name starts with '-' becomes the default directory, not
# an option of git clone; credentials in the URL never reach the report.
git clone -q --bare "$IT_TMP/up/acme/small.git" "$IT_TMP/up/acme/-dash.git"
mkdir "$IT_TMP/dashcwd"
(cd "$IT_TMP/dashcwd" && "$CELLAR_BIN" git clone --cache-dir "$CACHE" "$UP_URL/acme/-dash.git") 2>"$IT_TMP/rd" ||
  fail "clone of acme/-dash.git failed: $(cat "$IT_TMP/rd")"
same_as_direct "$IT_TMP/dashcwd/-dash" acme/-dash.git
creds_url="http://ci-user:s3cret-pw@${UP_URL#http://}/acme/small.git"
clone "$IT_TMP/rc" "$creds_url" "$IT_TMP/wc"
grep -q "s3cret" "$IT_TMP/rc" && fail "the report shows the URL's password: $(cat "$IT_TMP/rc")"
grep -q "cloned http://127.0.0.1:$UP_PORT/acme/small.git" "$IT_TMP/rc" || fail "report lacks the URL: $(cat "$IT_TMP/rc")"
pass "a repository named -dash clones into ./-dash; a URL's credentials stay out of the report"
stop_cellar

# --- eviction ----------------------------------------------------------------------
start_cellar "$IT_TMP/data-evict" --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT"
direct() { git -c "url.$CELLAR_URL/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" clone -q "$UP_URL/$1" "$2"; }
direct medium.git "$IT_TMP/e1"
one=$(du -sb "$IT_TMP/data-evict/git/mirrors/127.0.0.1:$UP_PORT/medium.git" | cut -f1)
fetched=$(metric 'cellar_git_bytes_fetched_total')
[[ "${fetched%.*}" -gt $((one / 2)) ]] || fail "cellar_git_bytes_fetched_total is $fetched after a ${one}-byte mirror was built"
pass "upstream bytes fetched are counted ($fetched)"
stop_cellar
# Room for one and a half medium-sized mirrors.
limit=$((one * 3 / 2))
start_cellar "$IT_TMP/data-evict" --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT" --git-max-size "$limit"
M="$IT_TMP/data-evict/git/mirrors/127.0.0.1:$UP_PORT"
sleep 1.1  # distinct last-use times
direct medium2.git "$IT_TMP/e2"
sleep 1.1
direct acme/small.git "$IT_TMP/e3"
direct acme/tools.git "$IT_TMP/e4"
[[ ! -d "$M/medium.git" ]] || fail "the least recently used mirror (medium) was not evicted (limit $limit)"
[[ -d "$M/medium2.git" && -d "$M/acme/tools.git" ]] || fail "recently used mirrors were evicted"
[[ $(metric 'cellar_git_evictions_total') -ge 1 ]] || fail "eviction not counted"
pass "over --git-max-size the least recently used mirror is evicted and counted"
m=$(up_mark)
direct medium.git "$IT_TMP/e5"
[[ -d "$M/medium.git" ]] || fail "evicted mirror not rebuilt"
[[ "$(up_packs "$m" medium.git)" -ge 1 ]] || fail "rebuilding an evicted mirror should fetch upstream"
git -C "$IT_TMP/e5" fsck --no-progress >/dev/null 2>&1 || fail "clone after eviction: fsck"
pass "an evicted repository is rebuilt on the next clone"
stop_cellar

# --- warm-up -------------------------------------------------------------------------
cat >"$IT_TMP/warmup.yaml" <<YAML
parallelism: 2
at_start: true
repositories:
  - url: $UP_URL/acme/never.git
    branches: [main, feature]
    priority: 10
  - url: $UP_URL/medium2.git
    branches: [main]
YAML
start_cellar "$IT_TMP/data-warm" --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT" \
  --git-warmup "$IT_TMP/warmup.yaml"
for _ in $(seq 1 100); do
  [[ $(metric 'cellar_git_warmups_total{result="ok"}') -ge 2 ]] && break
  sleep 0.1
done
[[ $(metric 'cellar_git_warmups_total{result="ok"}') -ge 2 ]] || fail "start-up warm-up did not finish: $(grep warm-up "$CELLAR_LOG")"
pass "configured repositories are warmed at start-up"
m=$(up_mark)
direct acme/never.git "$IT_TMP/warm1"
[[ "$(up_packs "$m" acme/never.git)" == 0 ]] || fail "the first client clone of a warmed repository fetched upstream"
git -C "$IT_TMP/warm1" fsck --no-progress >/dev/null 2>&1 || fail "warmed clone: fsck"
pass "the first client clone of a warmed repository is a hit (no upstream pack traffic)"
code=$(curl -s -o "$IT_TMP/wu" -w '%{http_code}' -X POST \
  -d "{\"repositories\":[{\"url\":\"$UP_URL/acme/tools.git\",\"branches\":[\"main\"]}]}" "$CELLAR_URL/api/v1/git/warmup")
[[ "$code" == 200 ]] && grep -q '"ok":true' "$IT_TMP/wu" || fail "on-demand warm-up: HTTP $code $(cat "$IT_TMP/wu")"
m=$(up_mark)
direct acme/tools.git "$IT_TMP/warm2"
[[ "$(up_packs "$m" acme/tools.git)" == 0 ]] || fail "clone after on-demand warm-up fetched upstream"
pass "on-demand warm-up (POST /api/v1/git/warmup) makes the next clone a hit"
code=$(curl -s -o "$IT_TMP/wu" -w '%{http_code}' -X POST \
  -d "{\"repositories\":[{\"url\":\"$UP_URL/acme/tools.git\",\"branches\":[\"nope\"]},{\"url\":\"http://elsewhere.example/x.git\"}]}" \
  "$CELLAR_URL/api/v1/git/warmup")
[[ "$code" == 502 ]] && grep -q "branch 'nope' not found" "$IT_TMP/wu" && grep -q "not in --git-allowed-hosts" "$IT_TMP/wu" ||
  fail "failing warm-up: HTTP $code $(cat "$IT_TMP/wu")"
code=$(curl -s -o "$IT_TMP/wu" -w '%{http_code}' -X POST -d '{"repositories":[{"nourl":1}]}' "$CELLAR_URL/api/v1/git/warmup")
[[ "$code" == 400 ]] || fail "malformed warm-up request: HTTP $code"
pass "warm-up failures are reported per repository (missing branch, host not allowed); bad requests get 400"

# --- maintenance ----------------------------------------------------------------------
# Every fetch adds a pack to the mirror; past 8 they are repacked into one
# with a bitmap, so serving stays fast.
W="$IT_TMP/data-warm/git/mirrors/127.0.0.1:$UP_PORT/acme/tools.git"
git clone -q "$IT_TMP/up/acme/tools.git" "$IT_TMP/tools-pusher"
for i in $(seq 1 12); do
  echo "$i" >"$IT_TMP/tools-pusher/n.txt"
  git -C "$IT_TMP/tools-pusher" add n.txt && git -C "$IT_TMP/tools-pusher" commit -qm "n$i"
  git -C "$IT_TMP/tools-pusher" push -q origin HEAD:main
  git -C "$IT_TMP/warm2" -c "url.$CELLAR_URL/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" pull -q --ff-only
done
packs=$(ls "$W/objects/pack/"*.pack | wc -l)
[[ $packs -le 9 ]] || fail "mirror has $packs packs after 12 fetches (no maintenance)"
ls "$W/objects/pack/"*.bitmap >/dev/null 2>&1 || fail "repacked mirror has no bitmap"
[[ "$(git -C "$IT_TMP/warm2" rev-parse HEAD)" == "$(git -C "$IT_TMP/tools-pusher" rev-parse HEAD)" ]] || fail "pulls"
pass "12 fetches later the mirror has $packs pack(s) with a bitmap (repacked past 8)"
stop_cellar

# --- TTL freshness -------------------------------------------------------------------
# With --git-ref-ttl, a mirror fetched within the TTL answers ref listings
# itself: a warm clone then makes no upstream request at all (the access
# decision is reused for --git-auth-ttl), at the price of refs up to the
# TTL old. Without it (the default) every clone asks the upstream for refs.
start_cellar "$IT_TMP/data-ttl" --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT" --git-ref-ttl 1h
direct acme/small.git "$IT_TMP/ttl1"
m=$(up_mark)
direct acme/small.git "$IT_TMP/ttl2"
[[ "$(up_count "$m" repo=acme/small.git)" == 0 ]] || fail "TTL mode: a warm clone still asked the upstream: $(up_since "$m")"
[[ "$(git -C "$IT_TMP/ttl2" rev-parse HEAD)" == "$(git -C "$IT_TMP/ttl1" rev-parse HEAD)" ]] || fail "TTL clone"
git -C "$IT_TMP/ttl2" fsck --no-progress >/dev/null 2>&1 || fail "TTL clone: fsck"
[[ $(metric 'cellar_git_requests_total{kind="ls_refs",result="ttl"}') -ge 1 ]] || fail "TTL serving not counted"
pass "--git-ref-ttl: a warm clone within the TTL makes no upstream request"
stop_cellar

# --- admission control --------------------------------------------------------------
# --git-max-packs 1: while one pack generation is held open (a client that
# stops reading a 16 MB pack), the next pack request gets 503 + Retry-After
# before any byte; once it ends, requests are served again.
big="$IT_TMP/up/big.git"
_new_bare "$big"
git clone -q "$big" "$IT_TMP/big-src" 2>/dev/null
head -c $((16 << 20)) /dev/urandom >"$IT_TMP/big-src/blob.bin"
git -C "$IT_TMP/big-src" add blob.bin && git -C "$IT_TMP/big-src" commit -qm big
git -C "$IT_TMP/big-src" push -q origin HEAD:main
start_cellar "$IT_TMP/data-cap" --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT" --git-max-packs 1
direct big.git "$IT_TMP/cap1"
tip=$(git -C "$IT_TMP/cap1" rev-parse HEAD)
exec {hold_in}> >(python3 "$(dirname "$0")/git_hold_fetch.py" "127.0.0.1:$CELLAR_PORT" "/git/127.0.0.1:$UP_PORT/big.git" \
  "$tip" >"$IT_TMP/hold.out" 2>&1)
for _ in $(seq 1 100); do [[ -s "$IT_TMP/hold.out" ]] && break; sleep 0.05; done
grep -q "200" "$IT_TMP/hold.out" || fail "holding fetch did not start: $(cat "$IT_TMP/hold.out")"
[[ $(metric 'cellar_git_pack_generations_in_flight') == 1 ]] || fail "pack generation in flight not counted"
if direct big.git "$IT_TMP/cap2" 2>"$IT_TMP/cap2.err"; then fail "a second pack generation was admitted beyond --git-max-packs 1"; fi
body=$(printf '0012command=fetch\n00010032want %s\n0009done\n0000' "$tip")
code=$(curl -s -D "$IT_TMP/cap.h" -o "$IT_TMP/cap.b" -w '%{http_code}' -H 'Git-Protocol: version=2' \
  -H 'Content-Type: application/x-git-upload-pack-request' --data-binary "$body" \
  "$CELLAR_URL/git/127.0.0.1:$UP_PORT/big.git/git-upload-pack")
[[ "$code" == 503 ]] && grep -qi '^Retry-After:' "$IT_TMP/cap.h" || fail "beyond the cap: HTTP $code $(cat "$IT_TMP/cap.b")"
echo done >&"$hold_in"
exec {hold_in}>&-
for _ in $(seq 1 100); do [[ $(metric 'cellar_git_pack_generations_in_flight') == 0 ]] && break; sleep 0.1; done
[[ $(metric 'cellar_git_pack_generations_in_flight') == 0 ]] || fail "the held generation was not released"
direct big.git "$IT_TMP/cap3" || fail "clone after the held generation ended"
pass "--git-max-packs: beyond the cap 503 + Retry-After before any byte; served again once a slot frees"
