#!/usr/bin/env bash
# it_git: the REAL git (Debian 12: 2.39.5) cloning and fetching through
# cellar's git caching proxy (/git/<host[:port]>/<path>), offline.
#
# fake_git_upstream.py serves synthetic bare repositories (git_lib.sh) with
# `git http-backend`, logs every request as JSON (v2 command, wants/haves,
# auth, status, bytes) and injects faults. Clients reach cellar through
#   git -c url."$CELLAR_URL/git/127.0.0.1:$UP_PORT/".insteadOf=http://127.0.0.1:$UP_PORT/
# and get a dead proxy for the upstream URL itself, so a request that is not
# rewritten fails instead of silently going direct. "Pack POSTs" below are
# upstream git-upload-pack POSTs whose v2 command is `fetch` (or any v0 POST).
#
#   a. cold and warm clones, protocol v2 and v0 (and across protocols): refs,
#      HEAD, checkout and `git fsck` equal a direct clone; ls-remote equals
#      the upstream's; a cold clone makes exactly 1 upstream pack POST, a warm
#      one 0; an empty repository clones;
#   b. freshness: upstream commit, force-push, branch deletion, tag creation
#      and deletion, default-branch change, empty repository getting its first
#      commit: `git fetch`/clone through cellar (v2 and v0) sees each change;
#   c. exact-SHA fetches: the tip and a non-tip commit reachable only from
#      refs/pull/1/head, `fetch --depth=1 origin +<sha>:refs/...`, a pull ref
#      created after the mirror was warm, an unknown SHA (fails, no hang);
#   d. --depth 1 (then --unshallow), --shallow-since, --filter=blob:none with a
#      later checkout that lazily fetches blobs through cellar; none of it
#      makes an upstream pack POST once the repository is warm;
#   e. 20 concurrent cold clones (v2 and v0) of a 200-commit repository with a
#      slow upstream: exactly 1 upstream pack POST, 20 correct clones; then
#      fetches with a 3000-commit have-list (gzip, chunked POSTs);
#   f. kill -9 of cellar (and its children) while it fetches a cold
#      repository from a trickling upstream; restart on the same data dir: no
#      ref of any mirror names a missing object, clones are correct, the warm
#      mirrors survived (no upstream pack POST for them);
#   g. upstream answering 503 / resetting connections: without
#      --git-serve-stale a clone fails with a message naming the upstream;
#      with it a warm repository clones correctly, a cold one still fails;
#   h. private repository (Basic alice:s3cret upstream): no credentials ->
#      401 and the clone fails, wrong password -> fails, right one -> works;
#      afterwards (mirror warm) clients without or with wrong credentials still
#      get nothing (git, and hand-made ls-refs/fetch POSTs with curl); the
#      password and its base64 never appear in cellar's logs, its data dir or
#      any process's argv during a fetch;
#   i. `git push` through cellar is refused with a message; nothing reaches
#      upstream's receive-pack;
#   j. bad paths (.., %2e%2e, ., encoded slash, no repository, bad service)
#      -> 400/403/404 and never reach upstream (an empty segment may be
#      collapsed instead); hosts or ports not in --git-allowed-hosts ->
#      403/404 with a message; unknown repository -> git says not found;
#   k. cellar's git children ignore the configuration of the HOME cellar runs
#      with (a hostile ~/.gitconfig rewriting the upstream URL).
#
# Usage: bash git_test.sh /path/to/cellar
#        GIT_TEST_DIRECT=1 bash git_test.sh   (no cellar: every scenario against
#        the fake upstream directly, to check the test itself; expected counts
#        change accordingly and cellar-only checks are skipped)
if [[ "${GIT_TEST_DIRECT:-0}" == 1 && $# -eq 0 ]]; then set -- /bin/true; fi
source "$(dirname "$0")/lib.sh"
IT_DIR="$(cd "$(dirname "$0")" && pwd)"
command -v git >/dev/null || fail "git is not installed (apt-get install git)"
command -v python3 >/dev/null || fail "python3 is not installed"
[[ -x "$(git --exec-path)/git-http-backend" ]] || fail "git http-backend is missing"
source "$IT_DIR/git_lib.sh"
git_client_env

DIRECT="${GIT_TEST_DIRECT:-0}"
START=$SECONDS
ok() { echo "ok - $* [$((SECONDS - START)) s]"; }
skip() { echo "skip - $* (GIT_TEST_DIRECT=1)"; }
cellar_only() { [[ "$DIRECT" != 1 ]]; }

make_upstream_repos "$IT_TMP/upstream"
start_fake_git_upstream "$IT_TMP/upstream"
ok "fake upstream on port $UP_PORT with 8 repositories"

DATA="$IT_TMP/data"
GIT_CELLAR_ARGS=(--git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT")
CELLAR_HOME="$IT_TMP/cellar-home"
mkdir -p "$CELLAR_HOME"

# set_route: ROUTE (extra git options) and BASE (the URL prefix that serves
# the upstream's repositories: cellar's /git/127.0.0.1:$UP_PORT, or the
# upstream itself in direct mode).
set_route() {
  if [[ "$DIRECT" == 1 ]]; then
    ROUTE=()
    BASE="$UP_URL"
  else
    ROUTE=(-c "url.$CELLAR_URL/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/"
      -c "http.$UP_URL/.proxy=http://127.0.0.1:9")
    BASE="$CELLAR_URL/git/127.0.0.1:$UP_PORT"
  fi
}
# start_git_cellar [extra args]: cellar on $DATA with the git flags; its HOME
# is a directory of its own.
start_git_cellar() {
  if [[ "$DIRECT" == 1 ]]; then set_route; return; fi
  HOME="$CELLAR_HOME" start_cellar "$DATA" "${GIT_CELLAR_ARGS[@]}" "$@"
  set_route
}
stop_git_cellar() { [[ "$DIRECT" == 1 ]] || stop_cellar; }

# g PROTO ARGS...: git with the given protocol.version, routed through cellar.
g() {
  local p="$1"; shift
  timeout -k 5 120 git -c protocol.version="$p" "${ROUTE[@]}" "$@"
}
# u REPO: the URL a client uses (the upstream's; the insteadOf rewrites it).
u() { echo "$UP_URL/$1"; }

ERR="$IT_TMP/git.err"
OUT="$IT_TMP/git.out"
# diagnose: the evidence for a failure (git stderr, cellar log, upstream log).
diagnose() {
  echo "--- git stderr (last 25 lines):" >&2; tail -n 25 "$ERR" >&2 || true
  if [[ "$DIRECT" != 1 && -n "${CELLAR_LOG:-}" ]]; then
    echo "--- cellar log (last 25 lines):" >&2; tail -n 25 "$CELLAR_LOG" >&2 || true
  fi
  echo "--- upstream log (last 8 requests):" >&2; tail -n 8 "$UP_LOG" >&2 || true
}
# must DESC CMD...: CMD must succeed.
must() {
  local desc="$1"; shift
  "$@" >"$OUT" 2>"$ERR" || { local rc=$?; diagnose; fail "$desc: exit $rc: $*"; }
}
# must_fail DESC REGEX CMD...: CMD must fail and its stderr match REGEX
# (extended, case-insensitive).
must_fail() {
  local desc="$1" re="$2"; shift 2
  if "$@" >"$OUT" 2>"$ERR"; then diagnose; fail "$desc: succeeded, expected a failure: $*"; fi
  grep -Eiq -- "$re" "$ERR" || { diagnose; fail "$desc: git's message does not match /$re/"; }
}

# ref_clone REPO DEST: a clone straight from the upstream's directory (no
# HTTP, not logged): the reference for what a clone must look like.
ref_clone() { rm -rf "$2"; git clone -q --no-hardlinks "$UP_ROOT/$1" "$2" 2>"$ERR" || { cat "$ERR" >&2; fail "reference clone of $1"; }; }
refs_of() { git -C "$1" for-each-ref --format='%(objectname) %(refname)'; }
# check_clone DESC DIR REPO [nofsck]: DIR is a correct clone of REPO as it is
# upstream now: same refs and HEAD as a direct clone, identical checkout,
# clean status, `git fsck` clean.
check_clone() {
  local desc="$1" dir="$2" repo="$3" ref="$IT_TMP/ref-check"
  ref_clone "$repo" "$ref"
  local a b
  a="$(refs_of "$dir")"; b="$(refs_of "$ref")"
  [[ "$a" == "$b" ]] || fail "$desc: refs differ from a direct clone:"$'\n'"$(diff <(echo "$b") <(echo "$a"))"
  [[ "$(git -C "$dir" symbolic-ref -q HEAD || true)" == "$(git -C "$ref" symbolic-ref -q HEAD || true)" ]] ||
    fail "$desc: HEAD is $(git -C "$dir" symbolic-ref -q HEAD), want $(git -C "$ref" symbolic-ref -q HEAD)"
  if git -C "$ref" rev-parse -q --verify HEAD >/dev/null; then
    [[ "$(git -C "$dir" rev-parse HEAD)" == "$(git -C "$ref" rev-parse HEAD)" ]] || fail "$desc: HEAD commit differs"
    diff -r --no-dereference -x .git "$ref" "$dir" >"$IT_TMP/tree.diff" 2>&1 ||
      fail "$desc: checkout differs from a direct clone: $(head -n 10 "$IT_TMP/tree.diff")"
    [[ -z "$(git -C "$dir" status --porcelain)" ]] || fail "$desc: git status not clean: $(git -C "$dir" status --porcelain | head -n 5)"
  fi
  if [[ "${4:-}" != nofsck ]]; then
    git -C "$dir" fsck --no-progress >"$IT_TMP/fsck.out" 2>&1 || fail "$desc: git fsck failed: $(head -n 10 "$IT_TMP/fsck.out")"
  fi
}
# expect_packs DESC SINCE REPO WANT_CELLAR WANT_DIRECT: upstream pack POSTs
# for REPO since SINCE.
expect_packs() {
  local desc="$1" since="$2" repo="$3" want n
  if [[ "$DIRECT" == 1 ]]; then want="$5"; else want="$4"; fi
  n="$(up_packs "$since" "$repo")"
  if [[ "$want" == +* ]]; then
    ((n >= ${want#+})) || fail "$desc: $n upstream pack POSTs for $repo, want at least ${want#+}"
  elif [[ "$n" != "$want" ]]; then
    echo "--- upstream requests since the mark:" >&2; up_since "$since" | grep -F "\"repo\":\"$repo\"" | tail -n 10 >&2 || true
    fail "$desc: $n upstream pack POSTs for $repo, want $want"
  fi
}
ls_remote_same() {  # ls_remote_same DESC PROTO REPO
  local got want
  got="$(g "$2" ls-remote "$(u "$3")" 2>"$ERR")" || { diagnose; fail "$1: ls-remote failed"; }
  want="$(git -c protocol.version="$2" ls-remote "$UP_ROOT/$3")"
  [[ "$got" == "$want" ]] || fail "$1: ls-remote differs from the upstream's:"$'\n'"$(diff <(echo "$want") <(echo "$got"))"
}
# curl_code ARGS...: status of a curl request; body in $IT_TMP/body, headers
# in $IT_TMP/headers.
curl_code() { curl -s --path-as-is -D "$IT_TMP/headers" -o "$IT_TMP/body" -w '%{http_code}' --max-time 60 "$@" || true; }
# pkt LINE: one pkt-line with LINE plus a newline.
pkt() { printf '%04x%s\n' $((${#1} + 5)) "$1"; }

start_git_cellar
if [[ "$DIRECT" == 1 ]]; then
  echo "# GIT_TEST_DIRECT=1: clients talk to the fake upstream directly"
else
  ok "cellar on port $CELLAR_PORT (${GIT_CELLAR_ARGS[*]})"
fi
# warm clones must not go upstream; in direct mode every clone does.
PACK_DIRECT=1

# ---------------------------------------------------------------------------
echo "# a. cold and warm clones, v2 and v0"
for spec in "2 acme/small.git" "0 acme/tools.git"; do
  read -r P R <<<"$spec"
  m=$(up_mark)
  must "cold clone v$P of $R" g "$P" clone -q "$(u "$R")" "$IT_TMP/a-cold-v$P"
  check_clone "cold clone v$P of $R" "$IT_TMP/a-cold-v$P" "$R"
  expect_packs "cold clone v$P of $R" "$m" "$R" 1 1
  ok "cold clone, protocol v$P: refs, HEAD, checkout, fsck as a direct clone; 1 upstream pack POST"
  m=$(up_mark)
  must "warm clone v$P of $R" g "$P" clone -q "$(u "$R")" "$IT_TMP/a-warm-v$P"
  check_clone "warm clone v$P of $R" "$IT_TMP/a-warm-v$P" "$R"
  expect_packs "warm clone v$P of $R" "$m" "$R" 0 "$PACK_DIRECT"
  ls_remote_same "ls-remote v$P of $R" "$P" "$R"
  ok "warm clone, protocol v$P: correct, no upstream pack POST; ls-remote equals upstream"
done
m=$(up_mark)
must "warm clone v0 of a repository warmed by v2" g 0 clone -q "$(u acme/small.git)" "$IT_TMP/a-x-v0"
check_clone "v0 clone of acme/small.git" "$IT_TMP/a-x-v0" acme/small.git
must "warm clone v2 of a repository warmed by v0" g 2 clone -q "$(u acme/tools.git)" "$IT_TMP/a-x-v2"
check_clone "v2 clone of acme/tools.git" "$IT_TMP/a-x-v2" acme/tools.git
expect_packs "cross-protocol warm clones" "$m" acme/small.git 0 "$PACK_DIRECT"
expect_packs "cross-protocol warm clones" "$m" acme/tools.git 0 "$PACK_DIRECT"
ls_remote_same "ls-remote v0 of acme/small.git" 0 acme/small.git
ls_remote_same "ls-remote v2 of acme/tools.git" 2 acme/tools.git
ok "warm clones across protocols (v0 after v2, v2 after v0): correct, no upstream pack POST"
for P in 2 0; do
  must "clone v$P of an empty repository" g "$P" clone "$(u empty.git)" "$IT_TMP/a-empty-v$P"
  grep -q "empty repository" "$ERR" || fail "clone v$P of empty.git: no 'empty repository' warning: $(cat "$ERR")"
  [[ -z "$(refs_of "$IT_TMP/a-empty-v$P")" ]] || fail "clone v$P of empty.git has refs: $(refs_of "$IT_TMP/a-empty-v$P")"
done
ok "empty repository clones (v2, v0)"

# ---------------------------------------------------------------------------
echo "# b. freshness: pushes, force-pushes, deletions, default branch"
PUSHER="$IT_TMP/pusher"
git clone -q "$UP_ROOT/acme/small.git" "$PUSHER"
CL2="$IT_TMP/a-cold-v2"  # v2 clone of acme/small
CL0="$IT_TMP/a-x-v0"     # v0 clone of acme/small
up_tip() { git --git-dir="$UP_ROOT/$1" rev-parse "$2"; }
fetch_both() {  # fetch_both DESC [fetch args]
  local desc="$1"; shift
  must "$desc (v2 fetch)" g 2 -C "$CL2" fetch -q "$@" origin
  must "$desc (v0 fetch)" g 0 -C "$CL0" fetch -q "$@" origin
}
echo "new" >"$PUSHER/new.txt"
git -C "$PUSHER" add new.txt && git -C "$PUSHER" commit -q -m "new upstream commit"
git -C "$PUSHER" push -q origin main
NEW=$(up_tip acme/small.git main)
fetch_both "fetch after an upstream push"
for c in "$CL2" "$CL0"; do
  [[ "$(git -C "$c" rev-parse origin/main)" == "$NEW" ]] || fail "fetch in $c: origin/main is $(git -C "$c" rev-parse origin/main), want $NEW"
  git -C "$c" fsck --no-progress >/dev/null 2>&1 || fail "fsck after fetch in $c"
done
ok "upstream push seen by git fetch through cellar (v2, v0)"

git -C "$PUSHER" reset -q --hard HEAD~2
echo "rewritten" >"$PUSHER/rewritten.txt"
git -C "$PUSHER" add rewritten.txt && git -C "$PUSHER" commit -q -m "rewritten history"
git -C "$PUSHER" push -q -f origin main
FORCED=$(up_tip acme/small.git main)
fetch_both "fetch after a force-push"
for c in "$CL2" "$CL0"; do
  [[ "$(git -C "$c" rev-parse origin/main)" == "$FORCED" ]] || fail "fetch after force-push in $c: origin/main is $(git -C "$c" rev-parse origin/main), want $FORCED"
  git -C "$c" merge-base --is-ancestor "$NEW" origin/main && fail "fetch after force-push in $c: the old tip is still an ancestor"
done
ok "force-push seen by git fetch through cellar (v2, v0)"

git -C "$PUSHER" push -q origin :feature :refs/tags/v0.1
git -C "$PUSHER" tag -a -m "release 2.0" v2.0
git -C "$PUSHER" push -q origin v2.0
fetch_both "fetch --prune --prune-tags after branch/tag changes" --prune --prune-tags --tags
for c in "$CL2" "$CL0"; do
  git -C "$c" rev-parse -q --verify origin/feature >/dev/null && fail "$c: origin/feature survived its deletion upstream"
  git -C "$c" rev-parse -q --verify refs/tags/v0.1 >/dev/null && fail "$c: tag v0.1 survived its deletion upstream"
  [[ "$(git -C "$c" cat-file -t v2.0 2>/dev/null)" == tag ]] || fail "$c: annotated tag v2.0 missing after fetch"
  [[ "$(git -C "$c" rev-parse v2.0)" == "$(up_tip acme/small.git v2.0)" ]] || fail "$c: tag v2.0 differs"
done
ls_remote_same "ls-remote v2 after ref changes" 2 acme/small.git
ls_remote_same "ls-remote v0 after ref changes" 0 acme/small.git
for P in 2 0; do
  must "clone v$P after ref changes" g "$P" clone -q "$(u acme/small.git)" "$IT_TMP/b-clone-v$P"
  check_clone "clone v$P after ref changes" "$IT_TMP/b-clone-v$P" acme/small.git
done
ok "branch deletion, tag deletion, new annotated tag seen through cellar (fetch --prune, ls-remote, clone; v2, v0)"

git --git-dir="$UP_ROOT/acme/tools.git" symbolic-ref HEAD refs/heads/feature
for P in 2 0; do
  must "clone v$P after a default-branch change" g "$P" clone -q "$(u acme/tools.git)" "$IT_TMP/b-head-v$P"
  [[ "$(git -C "$IT_TMP/b-head-v$P" symbolic-ref HEAD)" == refs/heads/feature ]] ||
    fail "clone v$P after the upstream default branch became feature: HEAD is $(git -C "$IT_TMP/b-head-v$P" symbolic-ref HEAD)"
  check_clone "clone v$P after a default-branch change" "$IT_TMP/b-head-v$P" acme/tools.git
done
ok "default-branch change upstream followed by clones through cellar (v2, v0)"

EPUSH="$IT_TMP/empty-pusher"
git init -q "$EPUSH" && echo first >"$EPUSH/f" && git -C "$EPUSH" add f && git -C "$EPUSH" commit -q -m first
git -C "$EPUSH" push -q "$UP_ROOT/empty.git" main
for P in 2 0; do
  must "fetch v$P in a clone of a formerly empty repository" g "$P" -C "$IT_TMP/a-empty-v$P" fetch -q origin
  [[ "$(git -C "$IT_TMP/a-empty-v$P" rev-parse origin/main)" == "$(up_tip empty.git main)" ]] ||
    fail "fetch v$P after the first push to empty.git: origin/main missing or wrong"
  must "clone v$P of a formerly empty repository" g "$P" clone -q "$(u empty.git)" "$IT_TMP/b-empty-v$P"
  check_clone "clone v$P of a formerly empty repository" "$IT_TMP/b-empty-v$P" empty.git
done
ok "empty repository gets its first commit: fetch and clone through cellar see it (v2, v0)"

# ---------------------------------------------------------------------------
echo "# c. exact-SHA fetches (pull-request refs)"
PR_TIP=$(up_tip acme/small.git refs/pull/1/head)
PR_MID=$(up_tip acme/small.git refs/pull/1/head~1)
git --git-dir="$UP_ROOT/acme/small.git" merge-base --is-ancestor "$PR_MID" main && fail "test setup: the pull-request commit is reachable from main"
for P in 2 0; do
  d="$IT_TMP/b-clone-v$P"
  for sha in "$PR_TIP" "$PR_MID"; do
    must "fetch v$P origin <sha of refs/pull/1/head$([[ $sha == "$PR_MID" ]] && echo '~1')>" g "$P" -C "$d" fetch -q origin "$sha"
    [[ "$(git -C "$d" cat-file -t "$sha" 2>/dev/null)" == commit ]] || fail "fetch v$P origin $sha: commit not present afterwards"
    [[ "$(cut -f1 "$d/.git/FETCH_HEAD" | head -n 1)" == "$sha" ]] || fail "fetch v$P origin $sha: FETCH_HEAD is $(head -n 1 "$d/.git/FETCH_HEAD")"
  done
  git init -q "$IT_TMP/c-shallow-v$P"
  must "fetch v$P --depth=1 origin +<sha>:refs/heads/pr" g "$P" -C "$IT_TMP/c-shallow-v$P" fetch -q --depth=1 "$(u acme/small.git)" "+$PR_TIP:refs/heads/pr"
  [[ "$(git -C "$IT_TMP/c-shallow-v$P" rev-parse refs/heads/pr)" == "$PR_TIP" ]] || fail "fetch --depth=1 +sha: refs/heads/pr wrong"
  [[ "$(git -C "$IT_TMP/c-shallow-v$P" rev-list --count refs/heads/pr)" == 1 ]] || fail "fetch --depth=1 +sha: history is not 1 commit deep"
done
ok "fetch of the tip and of a non-tip commit reachable only from refs/pull/1/head; --depth=1 +sha:ref (v2, v0)"

git -C "$PUSHER" checkout -q -b pr2 origin/main
echo "pr2" >"$PUSHER/pr2.txt" && git -C "$PUSHER" add pr2.txt && git -C "$PUSHER" commit -q -m "pull request 2"
PR2=$(git -C "$PUSHER" rev-parse HEAD)
echo "pr2 second" >>"$PUSHER/pr2.txt" && git -C "$PUSHER" commit -q -a -m "pull request 2, second commit"
PR2_TIP=$(git -C "$PUSHER" rev-parse HEAD)
git -C "$PUSHER" push -q origin HEAD:refs/pull/2/head
for P in 2 0; do
  d="$IT_TMP/b-clone-v$P"
  sha="$PR2_TIP"; [[ "$P" == 0 ]] && sha="$PR2"
  must "fetch v$P origin <sha of a pull ref created after the mirror was warm>" g "$P" -C "$d" fetch -q origin "$sha"
  [[ "$(git -C "$d" cat-file -t "$sha" 2>/dev/null)" == commit ]] || fail "fetch v$P of a new pull-request commit: not present"
done
ok "fetch by SHA of a pull ref pushed after the mirror was warm (v2 tip, v0 non-tip)"
for P in 2 0; do
  must_fail "fetch v$P of an unknown SHA" "not our ref|remote error|couldn't find|upload-pack|fatal" \
    g "$P" -C "$IT_TMP/b-clone-v$P" fetch -q origin 0123456789abcdef0123456789abcdef01234567
done
ok "fetch of an unknown SHA fails cleanly (v2, v0)"

# ---------------------------------------------------------------------------
echo "# d. shallow and partial clones"
m=$(up_mark)
REF_COUNT=$(git --git-dir="$UP_ROOT/acme/small.git" rev-list --count main)
for P in 2 0; do
  d="$IT_TMP/d-depth-v$P"
  must "clone v$P --depth 1" g "$P" clone -q --depth 1 "$(u acme/small.git)" "$d"
  [[ "$(git -C "$d" rev-parse --is-shallow-repository)" == true ]] || fail "clone v$P --depth 1 is not shallow"
  [[ "$(git -C "$d" rev-list --count HEAD)" == 1 ]] || fail "clone v$P --depth 1 has $(git -C "$d" rev-list --count HEAD) commits"
  [[ "$(git -C "$d" rev-parse HEAD)" == "$(up_tip acme/small.git main)" ]] || fail "clone v$P --depth 1: wrong HEAD"
  git -C "$d" fsck --no-progress >/dev/null 2>&1 || fail "clone v$P --depth 1: fsck failed"
  must "fetch v$P --unshallow" g "$P" -C "$d" fetch -q --unshallow origin
  [[ "$(git -C "$d" rev-list --count HEAD)" == "$REF_COUNT" ]] || fail "fetch v$P --unshallow: $(git -C "$d" rev-list --count HEAD) commits, want $REF_COUNT"
  # tags not on the fetched history were not followed by the shallow clone
  must "fetch v$P --tags" g "$P" -C "$d" fetch -q --tags origin
  check_clone "clone v$P --depth 1 after --unshallow" "$d" acme/small.git
done
must "clone v2 --shallow-since" g 2 clone -q --shallow-since=1700000050 "$(u acme/tools.git)" "$IT_TMP/d-since"
# acme/tools main: c1 (1700000000) c2 (..100) c3 (..200); HEAD is feature now: c1 c2 c4 (..300)
[[ "$(git -C "$IT_TMP/d-since" rev-list --count HEAD)" == 2 ]] || fail "clone --shallow-since: $(git -C "$IT_TMP/d-since" rev-list --count HEAD) commits, want 2"
ok "--depth 1 then --unshallow (v2, v0), --shallow-since (v2)"
for P in 2 0; do
  d="$IT_TMP/d-filter-v$P"
  must "clone v$P --filter=blob:none" g "$P" clone -q --filter=blob:none "$(u acme/small.git)" "$d"
  check_clone "clone v$P --filter=blob:none" "$d" acme/small.git nofsck
  [[ "$(git -C "$d" config remote.origin.promisor)" == true ]] || fail "clone v$P --filter=blob:none is not a partial clone"
  missing=$(git -C "$d" rev-list --objects --all --missing=print | grep -c '^?' || true)
  ((missing > 0)) || fail "clone v$P --filter=blob:none: no blob is missing, the filter was not applied"
  must "checkout v$P of an old tag in a partial clone (lazy blob fetch)" g "$P" -C "$d" checkout -q v1.0
  ref_clone acme/small.git "$IT_TMP/ref-v1"
  git -C "$IT_TMP/ref-v1" checkout -q v1.0
  diff -r --no-dereference -x .git "$IT_TMP/ref-v1" "$d" >"$IT_TMP/tree.diff" 2>&1 || fail "partial clone v$P at v1.0 differs: $(head -n 5 "$IT_TMP/tree.diff")"
  [[ -z "$(git -C "$d" rev-list --objects --missing=print --no-walk "v1.0^{commit}" | grep '^?' || true)" ]] || fail "partial clone v$P: blobs of v1.0 still missing after checkout"
done
expect_packs "shallow and partial clones of a warm repository" "$m" acme/small.git 0 +8
ok "--filter=blob:none clone and lazy blob fetch on checkout through cellar (v2, v0); no upstream pack POST"

# ---------------------------------------------------------------------------
echo "# e. 20 concurrent cold clones"
up_fault slow_pack 1500
m=$(up_mark)
pids=()
for i in $(seq 1 20); do
  P=2; ((i % 4 == 0)) && P=0
  (g "$P" clone -q "$(u medium.git)" "$IT_TMP/e-$i" >"$IT_TMP/e-$i.log" 2>&1; echo $? >"$IT_TMP/e-$i.rc") &
  pids+=($!)
done
wait "${pids[@]}" || true
up_clear slow_pack
for i in $(seq 1 20); do
  [[ "$(cat "$IT_TMP/e-$i.rc")" == 0 ]] || { cat "$IT_TMP/e-$i.log" >&2; ERR="$IT_TMP/e-$i.log" diagnose; fail "concurrent clone $i failed"; }
done
REF_MEDIUM="$(git --git-dir="$UP_ROOT/medium.git" for-each-ref --format='%(objectname) %(refname)' refs/heads refs/tags |
  sed 's# refs/heads/# refs/remotes/origin/#')"
for i in $(seq 1 20); do
  got="$(git -C "$IT_TMP/e-$i" for-each-ref --format='%(objectname) %(refname)' refs/remotes/origin/main refs/remotes/origin/side refs/tags)"
  [[ "$got" == "$REF_MEDIUM" ]] || fail "concurrent clone $i: refs differ: $(diff <(echo "$REF_MEDIUM") <(echo "$got") | head -n 5)"
  git -C "$IT_TMP/e-$i" fsck --no-progress >"$IT_TMP/fsck.out" 2>&1 || fail "concurrent clone $i: fsck: $(head -n 5 "$IT_TMP/fsck.out")"
done
check_clone "concurrent clone 1" "$IT_TMP/e-1" medium.git nofsck
check_clone "concurrent clone 4 (v0)" "$IT_TMP/e-4" medium.git nofsck
expect_packs "20 concurrent cold clones" "$m" medium.git 1 20
ok "20 concurrent cold clones (15 v2, 5 v0): all correct, fsck clean; $(up_packs "$m" medium.git) upstream pack POST(s)"

# A long have-list: 3000 local commits the upstream has never seen make git
# negotiate in rounds of 16, 32, ... 1024 haves: with http.postBuffer=100000
# the smaller rounds are gzip'd POSTs and the larger ones chunked (git
# streams a request when its buffer cannot take another 64 KiB packet).
MPUSH="$IT_TMP/medium-pusher"
git clone -q "$UP_ROOT/medium.git" "$MPUSH"
for i in 1 4; do
  python3 - "$i" <<'PY' | git -C "$IT_TMP/e-$i" fast-import --quiet
import sys
out = sys.stdout
out.write("reset refs/heads/local\nfrom refs/remotes/origin/main\n\n")
for k in range(3000):
    msg = "local %s %d\n" % (sys.argv[1], k)
    out.write("commit refs/heads/local\ncommitter L <l@example.com> %d +0000\ndata %d\n%s\n" % (1800000000 + k, len(msg), msg))
PY
done
echo "more" >"$MPUSH/more.txt" && git -C "$MPUSH" add more.txt && git -C "$MPUSH" commit -q -m more && git -C "$MPUSH" push -q origin main
m=$(up_mark)
must "v2 fetch with a 3000-commit have-list" g 2 -C "$IT_TMP/e-1" -c http.postBuffer=100000 fetch -q origin
must "v0 fetch with a 3000-commit have-list" g 0 -C "$IT_TMP/e-4" -c http.postBuffer=100000 fetch -q origin
for i in 1 4; do
  [[ "$(git -C "$IT_TMP/e-$i" rev-parse origin/main)" == "$(up_tip medium.git main)" ]] || fail "fetch with a long have-list in e-$i: origin/main wrong"
  git -C "$IT_TMP/e-$i" fsck --no-progress --connectivity-only >/dev/null 2>&1 || fail "fetch with a long have-list in e-$i: fsck failed"
done
if [[ "$DIRECT" == 1 ]]; then
  [[ "$(up_count "$m" repo=medium.git gzip=true)" -gt 0 ]] || fail "test setup: the long have-list did not produce gzip'd POSTs"
  [[ "$(up_count "$m" repo=medium.git chunked=true)" -gt 0 ]] || fail "test setup: the long have-list did not produce chunked POSTs"
fi
ok "fetches with a 3000-commit have-list (gzip'd, chunked POSTs) through cellar (v2, v0)"

# ---------------------------------------------------------------------------
echo "# f. kill -9 during a cold fetch, restart"
up_fault trickle "16384 40"
: >"$UP_LOG.started"
(g 2 clone -q "$(u medium2.git)" "$IT_TMP/f-crash" >"$IT_TMP/f-crash.log" 2>&1; echo $? >"$IT_TMP/f-crash.rc") &
CRASH_CLIENT=$!
for _ in $(seq 1 300); do
  grep -qE '"path":"/medium2.git/git-upload-pack","command":"(fetch|v0)"' "$UP_LOG.started" && break
  sleep 0.05
done
grep -qE '"path":"/medium2.git/git-upload-pack","command":"(fetch|v0)"' "$UP_LOG.started" || { diagnose; fail "no upstream pack fetch for medium2.git started"; }
sleep 0.8
if [[ "$DIRECT" == 1 ]]; then
  kill_tree_9 "$CRASH_CLIENT"
else
  [[ "$(cat "/proc/$CELLAR_PID/comm")" == "$(basename "$CELLAR_BIN" | cut -c1-15)" ]] || fail "test setup: CELLAR_PID $CELLAR_PID is not cellar"
  kill_tree_9 "$CELLAR_PID"
  wait "$CELLAR_PID" 2>/dev/null || true
fi
wait "$CRASH_CLIENT" 2>/dev/null || true
[[ "$(cat "$IT_TMP/f-crash.rc" 2>/dev/null || echo killed)" != 0 ]] || fail "the clone during the crash succeeded; the kill came too late to test anything"
up_clear trickle
echo "  upstream pack fetch at the crash: $(grep '"repo":"medium2.git"' "$UP_LOG" | grep '"pack":true' | tail -n 1 || echo 'not finished')"
if cellar_only; then
  start_git_cellar
  sleep 0.5
  for r in $(bare_repos_under "$DATA"); do
    refs_resolve "$r" >"$IT_TMP/refs.out" || fail "after the crash, a ref of $r names a missing object: $(head -n 5 "$IT_TMP/refs.out")"
    git --git-dir="$r" fsck --connectivity-only --no-progress >"$IT_TMP/fsck.out" 2>&1 ||
      fail "after the crash, fsck --connectivity-only of $r failed: $(head -n 5 "$IT_TMP/fsck.out")"
  done
  ok "restart after kill -9: every ref of every mirror under the data dir resolves, connectivity intact ($(bare_repos_under "$DATA" | wc -l) repositories)"
fi
for P in 2 0; do
  must "clone v$P of medium2.git after the crash" g "$P" clone -q "$(u medium2.git)" "$IT_TMP/f-after-v$P"
  check_clone "clone v$P of medium2.git after the crash" "$IT_TMP/f-after-v$P" medium2.git
done
m=$(up_mark)
must "clone of a repository that was warm before the crash" g 2 clone -q "$(u acme/small.git)" "$IT_TMP/f-small"
check_clone "clone of acme/small.git after the crash" "$IT_TMP/f-small" acme/small.git
expect_packs "clone of a repository that was warm before the crash" "$m" acme/small.git 0 "$PACK_DIRECT"
ok "after the crash: the interrupted repository clones correctly (v2, v0); a warm mirror survived (no upstream pack POST)"

# ---------------------------------------------------------------------------
echo "# g. upstream down"
for fault in down refuse; do
  up_fault "$fault"
  for P in 2 0; do
    if cellar_only; then
      must_fail "clone v$P of a warm repository, upstream $fault, no --git-serve-stale" "upstream" \
        g "$P" clone -q "$(u acme/small.git)" "$IT_TMP/g-$fault-v$P"
    else
      must_fail "clone v$P, upstream $fault" "503|reset|empty reply|recv failure" g "$P" clone -q "$(u acme/small.git)" "$IT_TMP/g-$fault-v$P"
    fi
    [[ ! -e "$IT_TMP/g-$fault-v$P/.git" ]] || fail "clone v$P with upstream $fault left a repository behind"
  done
  up_clear "$fault"
done
ok "upstream down (503) and refusing (reset): clones fail with a message naming the upstream (v2, v0)"
if cellar_only; then
  stop_git_cellar
  start_git_cellar --git-serve-stale
  # Stale copies are served only to clients the upstream accepted before
  # (--git-max-stale), so this instance sees one clone while the upstream is up.
  must "clone with --git-serve-stale while the upstream is up" g 2 clone -q "$(u acme/small.git)" "$IT_TMP/g-stale-up"
  for fault in down refuse; do
    up_fault "$fault"
    for P in 2 0; do
      must "clone v$P of a warm repository, upstream $fault, --git-serve-stale" g "$P" clone -q "$(u acme/small.git)" "$IT_TMP/g-stale-$fault-v$P"
      check_clone "stale clone v$P (upstream $fault)" "$IT_TMP/g-stale-$fault-v$P" acme/small.git
    done
    must_fail "clone of a cold repository, upstream $fault, --git-serve-stale" "upstream" g 2 clone -q "$(u acme/never.git)" "$IT_TMP/g-cold-$fault"
    up_clear "$fault"
  done
  ok "--git-serve-stale: warm repository clones correctly while the upstream is down or refusing (v2, v0); a cold one fails with a message"
  # Not asserted: a restart during the outage forgets which clients the
  # upstream accepted; report what happens.
  stop_git_cellar
  up_fault down
  start_git_cellar --git-serve-stale
  if g 2 clone -q "$(u acme/small.git)" "$IT_TMP/g-restarted" >"$OUT" 2>"$ERR"; then
    echo "  note: after a restart during the outage, --git-serve-stale still serves the warm repository"
  else
    echo "  note: after a restart during the outage, --git-serve-stale refuses the warm repository: $(grep -m1 '^remote:' "$ERR" || tail -n 1 "$ERR")"
  fi
  up_clear down
  stop_git_cellar
  start_git_cellar
else
  skip "--git-serve-stale"
fi

# ---------------------------------------------------------------------------
echo "# h. private repository"
PW_FILE="$IT_TMP/password"
echo s3cret >"$PW_FILE"
B64="$(printf alice:s3cret | base64)"
# The password is read from a file, so it never appears in the client's argv.
CRED_OK=(-c credential.helper= -c "credential.helper=!f() { test \"\$1\" = get && echo username=alice && echo password=\$(cat $PW_FILE); }; f")
CRED_BAD=(-c credential.helper= -c "credential.helper=!f() { test \"\$1\" = get && echo username=alice && echo password=wrong; }; f")
PRIV="$BASE/private/secret.git"
c=$(curl_code "$PRIV/info/refs?service=git-upload-pack")
[[ "$c" == 401 ]] || fail "GET info/refs of a private repository without credentials: HTTP $c, want 401: $(head -c 200 "$IT_TMP/body")"
grep -qi '^WWW-Authenticate: *Basic' "$IT_TMP/headers" || fail "401 without WWW-Authenticate: Basic: $(cat "$IT_TMP/headers")"
c=$(curl_code -u alice:wrong "$PRIV/info/refs?service=git-upload-pack")
[[ "$c" =~ ^(401|403)$ ]] || fail "GET info/refs of a private repository with a wrong password: HTTP $c, want 401/403"
for P in 2 0; do
  must_fail "clone v$P of a private repository without credentials" "could not read Username|Authentication failed|401" \
    g "$P" clone -q "$(u private/secret.git)" "$IT_TMP/h-none-v$P"
  must_fail "clone v$P of a private repository with a wrong password" "403|401|Authentication failed" \
    g "$P" "${CRED_BAD[@]}" clone -q "$(u private/secret.git)" "$IT_TMP/h-bad-v$P"
done
ok "private repository, cold: no credentials -> 401 (WWW-Authenticate), wrong password -> refused (v2, v0)"
m=$(up_mark)
for P in 2 0; do
  must "clone v$P of a private repository with credentials" g "$P" "${CRED_OK[@]}" clone -q "$(u private/secret.git)" "$IT_TMP/h-ok-v$P"
  check_clone "clone v$P of private/secret.git" "$IT_TMP/h-ok-v$P" private/secret.git
done
ok "private repository with the right credentials clones correctly (v2, v0)"
for P in 2 0; do
  must_fail "clone v$P of a WARM private repository without credentials" "could not read Username|Authentication failed|401" \
    g "$P" clone -q "$(u private/secret.git)" "$IT_TMP/h-none2-v$P"
  must_fail "clone v$P of a WARM private repository with a wrong password" "403|401|Authentication failed" \
    g "$P" "${CRED_BAD[@]}" clone -q "$(u private/secret.git)" "$IT_TMP/h-bad2-v$P"
done
# Hand-made requests that skip the GET: a v2 ls-refs and a v2/v0 fetch for
# the tip of main, without and with wrong credentials.
PRIV_TIP=$(up_tip private/secret.git main)
{ pkt "command=ls-refs"; pkt "object-format=sha1"; printf 0001; pkt "peel"; pkt "symrefs"; printf 0000; } >"$IT_TMP/lsrefs.req"
{ pkt "command=fetch"; pkt "object-format=sha1"; printf 0001; pkt "want $PRIV_TIP"; pkt "no-progress"; pkt "done"; printf 0000; } >"$IT_TMP/fetch.req"
{ pkt "want $PRIV_TIP multi_ack_detailed side-band-64k ofs-delta no-progress"; printf 0000; pkt "done"; } >"$IT_TMP/fetch0.req"
for creds in none wrong; do
  cargs=(); [[ "$creds" == wrong ]] && cargs=(-u alice:wrong)
  c=$(curl_code "${cargs[@]}" -H 'Git-Protocol: version=2' "$PRIV/info/refs?service=git-upload-pack")
  [[ "$c" =~ ^(200|401|403)$ ]] || fail "v2 GET info/refs of a warm private repository, $creds credentials: HTTP $c"
  ! grep -q "$PRIV_TIP" "$IT_TMP/body" || fail "v2 GET info/refs, $creds credentials: the answer names a ref of the private repository"
  for req in lsrefs fetch fetch0; do
    hp=(-H 'Git-Protocol: version=2'); [[ "$req" == fetch0 ]] && hp=()
    c=$(curl_code "${cargs[@]}" "${hp[@]}" -H 'Content-Type: application/x-git-upload-pack-request' \
      --data-binary "@$IT_TMP/$req.req" "$PRIV/git-upload-pack")
    [[ "$c" =~ ^(401|403|404)$ ]] || fail "POST git-upload-pack ($req) to a warm private repository, $creds credentials: HTTP $c, want 401/403/404 ($(head -c 200 "$IT_TMP/body" | tr -c '[:print:]' .))"
    ! grep -aq -e PACK -e "$PRIV_TIP" "$IT_TMP/body" || fail "POST git-upload-pack ($req), $creds credentials: the answer carries repository data"
    ! grep -aqi -e "$B64" "$IT_TMP/headers" || fail "a response header carries the credential"
  done
done
ok "warm private repository: no credentials / wrong password -> nothing served (git v2/v0; raw ls-refs, v2 and v0 fetch POSTs -> 401/403/404)"

# Credentials in argv during a fetch: a cold private repository with a slow upstream.
up_fault slow_pack 2000
: >"$IT_TMP/ps.txt"
(g 2 "${CRED_OK[@]}" clone -q "$(u private/secret2.git)" "$IT_TMP/h-ps" >"$IT_TMP/h-ps.log" 2>&1; echo $? >"$IT_TMP/h-ps.rc") &
PS_CLIENT=$!
while kill -0 "$PS_CLIENT" 2>/dev/null; do
  ps -eo pid=,args= >>"$IT_TMP/ps.txt" 2>/dev/null || true
  sleep 0.05
done
wait "$PS_CLIENT" || true
up_clear slow_pack
[[ "$(cat "$IT_TMP/h-ps.rc")" == 0 ]] || { cat "$IT_TMP/h-ps.log" >&2; fail "clone of private/secret2.git with credentials failed"; }
check_clone "clone of private/secret2.git" "$IT_TMP/h-ps" private/secret2.git
grep -F -e s3cret -e "$B64" "$IT_TMP/ps.txt" >"$IT_TMP/ps.leak" && fail "a process's argv carries the credential: $(head -n 3 "$IT_TMP/ps.leak")"
echo "  ps argv lines sampled: $(grep -c . "$IT_TMP/ps.txt"); samples showing a git fetch, clone or upload-pack: $(grep -cE 'git.* (clone|fetch|upload-pack|index-pack|http-backend|remote-http)' "$IT_TMP/ps.txt" || true)"
if cellar_only; then
  leaks=$(grep -rlaF -e s3cret -e "$B64" "$DATA" "$IT_TMP"/cellar-*.log 2>/dev/null || true)
  [[ -z "$leaks" ]] || fail "the password or its base64 is stored on disk or logged: $leaks"
  ok "credentials never in argv during a fetch, in cellar's logs or in its data dir"
else
  ok "credentials never in argv during a fetch (cellar log/data dir checks skipped)"
fi

# ---------------------------------------------------------------------------
echo "# i. push through cellar"
m=$(up_mark)
BEFORE="$(git --git-dir="$UP_ROOT/acme/small.git" for-each-ref)"
echo pushed >"$CL2/pushed.txt" && git -C "$CL2" add pushed.txt && git -C "$CL2" commit -q -m "try to push"
for P in 2 0; do
  if cellar_only; then
    must_fail "git push v$P through cellar" "^remote: .*[a-z]|remote error" g "$P" -C "$CL2" push origin HEAD:refs/heads/pushed
  else
    must_fail "git push v$P (receive-pack disabled upstream)" "403" g "$P" -C "$CL2" push origin HEAD:refs/heads/pushed
  fi
done
[[ "$(git --git-dir="$UP_ROOT/acme/small.git" for-each-ref)" == "$BEFORE" ]] || fail "a push through cellar changed the upstream's refs"
[[ "$(up_count "$m" method=POST service=git-receive-pack)" == 0 ]] || fail "a receive-pack POST reached the upstream"
ok "git push through cellar is refused with a message ($(grep -m1 -E '^remote:|remote error' "$ERR" || true)); nothing reached upstream"

# ---------------------------------------------------------------------------
echo "# j. bad paths"
m=$(up_mark)
Q="info/refs?service=git-upload-pack"
BAD_PATHS=""
if cellar_only; then
  for p in "../x.git/$Q" "acme/../acme/small.git/$Q" "acme/%2e%2e/acme/small.git/$Q" "acme/%2E%2E/small.git/$Q" \
    "acme/./small.git/$Q" "acme%2fsmall.git/$Q"; do
    c=$(curl_code "$BASE/$p")
    [[ "$c" =~ ^(400|404)$ ]] || BAD_PATHS+="    GET $BASE/$p: HTTP $c, want 400/404 ($(head -c 60 "$IT_TMP/body" | tr -c '[:print:]' .))"$'\n'
  done
  # An empty segment may be refused or collapsed, but never sent upstream
  # (checked with the upstream log below).
  c=$(curl_code "$BASE/acme//small.git/$Q")
  [[ "$c" =~ ^(200|400|404)$ ]] || BAD_PATHS+="    GET $BASE/acme//small.git/$Q: HTTP $c, want 400/404 or 200 for acme/small.git"$'\n'
  [[ "$c" != 200 ]] || echo "  note: /acme//small.git is answered as /acme/small.git (collapsed, not refused)"
  [[ -z "$BAD_PATHS" ]] || fail "paths with empty, '.' or '..' segments or encoded slashes were not refused:"$'\n'"$BAD_PATHS$(up_since "$m" | grep -E '//|\.\.|%2e|%2f|/\./' | cut -d, -f2 | sed 's/^/    reached upstream: /')"
else
  c=$(curl_code "$BASE/acme/../acme/small.git/$Q")
  [[ "$c" != 200 ]] || fail "the fake upstream served a path with '..'"
fi
c=$(curl_code "$BASE/acme/small.git/info/refs?service=git-frobnicate")
[[ "$c" =~ ^(400|403|404)$ ]] || fail "GET info/refs?service=git-frobnicate: HTTP $c, want 400/403/404"
if cellar_only; then
  c=$(curl_code "$CELLAR_URL/git/evil.example.com/x.git/$Q")
  [[ "$c" =~ ^(403|404)$ ]] || fail "GET /git/evil.example.com/x.git/...: HTTP $c, want 403/404"
  [[ -s "$IT_TMP/body" ]] || fail "GET /git/evil.example.com/x.git/...: HTTP $c without a message"
  c=$(curl_code "$CELLAR_URL/git/127.0.0.1:1/acme/small.git/$Q")
  [[ "$c" =~ ^(403|404)$ ]] || fail "GET /git/127.0.0.1:1/... (port not allowed): HTTP $c, want 403/404"
  [[ -s "$IT_TMP/body" ]] || fail "GET /git/127.0.0.1:1/...: HTTP $c without a message"
  c=$(curl_code "$CELLAR_URL/git/127.0.0.1:$UP_PORT/$Q")
  [[ "$c" =~ ^(400|404)$ ]] || fail "GET /git/127.0.0.1:$UP_PORT/info/refs (no repository path): HTTP $c, want 400/404"
  must_fail "clone through cellar of a host that is not allowed" "403|404|not allowed|not found|denied" \
    git -c protocol.version=2 clone -q "$CELLAR_URL/git/evil.example.com/x.git" "$IT_TMP/j-evil"
  bad=$(up_since "$m" | grep -E '//|\.\.|%2e|%2f|/\./' || true)
  [[ -z "$bad" ]] || fail "a bad path reached the upstream: $(echo "$bad" | head -n 3)"
fi
for P in 2 0; do
  must_fail "clone v$P of a repository the upstream does not have" "not found|404" g "$P" clone -q "$(u acme/nope.git)" "$IT_TMP/j-nope-v$P"
done
ok "bad paths -> 400/404 without reaching upstream; disallowed hosts -> 403/404 with a message; unknown repository -> not found"

# ---------------------------------------------------------------------------
echo "# k. cellar's git children ignore cellar's own ~/.gitconfig"
if cellar_only; then
  HOSTILE="$IT_TMP/hostile-home"
  mkdir -p "$HOSTILE"
  cat >"$HOSTILE/.gitconfig" <<EOF
[url "http://127.0.0.1:9/"]
	insteadOf = $UP_URL/
[http]
	proxy = http://127.0.0.1:9
EOF
  MAIN_URL="$CELLAR_URL" MAIN_PID="$CELLAR_PID" MAIN_LOG="$CELLAR_LOG" MAIN_PORT="$CELLAR_PORT"
  HOME="$HOSTILE" start_cellar "$IT_TMP/data-k" "${GIT_CELLAR_ARGS[@]}"
  set_route
  must "clone through a cellar whose HOME has a hostile .gitconfig" g 2 clone -q "$(u acme/tools.git)" "$IT_TMP/k-clone"
  check_clone "clone through a cellar with a hostile HOME" "$IT_TMP/k-clone" acme/tools.git
  stop_cellar
  CELLAR_URL="$MAIN_URL" CELLAR_PID="$MAIN_PID" CELLAR_LOG="$MAIN_LOG" CELLAR_PORT="$MAIN_PORT"
  set_route
  ok "a hostile ~/.gitconfig of the cellar process (insteadOf, http.proxy) does not affect its upstream fetches"
else
  skip "config isolation"
fi

if cellar_only; then
  echo "  cellar_git_* series exported: $(curl -s "$CELLAR_URL/metrics" | grep -c '^cellar_git_' || true)"
  stop_git_cellar
fi
echo "  upstream requests: $(up_mark) ($(up_count 0 pack=true) pack POSTs)"
echo "PASS: git_test ($((SECONDS - START)) s$([[ "$DIRECT" == 1 ]] && echo ', direct mode'))"
