#!/usr/bin/env bash
# it_nx: the REAL Nx CLI (pinned in scripts/install-node-clients.sh) using
# cellar as its self-hosted remote cache (/nx, Nx's "custom remote cache"
# OpenAPI: PUT/GET /v1/cache/<hash>), plus curl checks of the API.
#
# fixtures/nx-workspace: three projects (project.json, nx:run-commands
# "node build.js") with a cacheable "build" target writing dist/: shared <-
# feature <- app; feature's and app's builds read their dependency's dist/ and
# fail without it, so "^build" must order them. Outputs include a 768 KiB
# incompressible file, a nested tree and an executable script. The workspace
# has no dependencies: node_modules/nx is a symlink to the pinned nx, so
# nothing is installed during the test.
#
# Every run starts from a wiped workspace (no .nx, no dist/), so a cache hit
# can only come from cellar; tasks' cache status is read from Nx's
# .nx/cache/run.json:
#   1. cold: 3 misses, 3 PUTs answered 200; cellar lists exactly the 3 task
#      hashes under "nx"; each stored artifact is an intact tar.gz holding the
#      task's outputs;
#   2. warm: 3 remote-cache hits ("[remote cache]", terminal output replayed),
#      no uploads, outputs byte-identical to run 1 (content and modes);
#   3. server URL with a trailing slash (Nx then sends //v1/...): 3 hits;
#   4. a read-only token on a changed workspace (a PR build): the unchanged
#      tasks hit, the changed one builds, cellar answers its PUT 403, Nx
#      skips it silently and succeeds, nothing new is stored;
#   5. a concurrent writer stores the changed task's hash first (the task
#      itself PUTs NX_TASK_HASH): Nx's own PUT gets 409, Nx succeeds, the
#      first body is kept;
#   6. curl: PUT -> exactly 200, again -> 409 (first body kept); the auth,
#      method and bad-hash matrix is in src/protocols/nx/nx_handler_test.cc;
#   7. a bad token: Nx fails the run and reports "Unauthorized" with cellar's
#      message (Nx requires the 401's Content-Type to be exactly text/plain).
#
# Clients: node from PATH; nx from the pinned install of
# scripts/install-node-clients.sh (tools/node/node_modules, or the bin
# directory in $CELLAR_NODE_CLIENTS_BIN).
#
# Usage: bash nx_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/task_cache_lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$IT_DIR/../.." && pwd)"
FIXTURE="$IT_DIR/fixtures/nx-workspace"
INSTALLER="scripts/install-node-clients.sh"

CLIENT_BIN="${CELLAR_NODE_CLIENTS_BIN:-$REPO/tools/node/node_modules/.bin}"
NX="$CLIENT_BIN/nx"
command -v node >/dev/null || fail "node is not installed (run $INSTALLER)"
command -v curl >/dev/null || fail "curl is not installed"
[[ -x "$NX" ]] || fail "nx not found at $NX: run $INSTALLER (or set CELLAR_NODE_CLIENTS_BIN)"
NX_PKG="$(cd "$(dirname "$(readlink -f "$NX")")/../.." && pwd)"   # .../node_modules/nx (bin: dist/bin/nx.js)
[[ -f "$NX_PKG/package.json" ]] || fail "cannot find the nx package of $NX (looked at $NX_PKG)"
[[ -f "$FIXTURE/nx.json" ]] || fail "fixture $FIXTURE is incomplete"

# --- isolation ------------------------------------------------------------------
# No NX_* setting, proxy or user config of the caller may steer Nx; a HOME
# and TMPDIR of our own (Nx keeps state in ~/.nx and copies its native module
# to $TMPDIR/.nx, which is kept across runs: it is no task cache).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME NODE_OPTIONS
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(NX_|NXCLOUD_|npm_config_|NPM_CONFIG_)' || true)
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME="$IT_TMP/home" TMPDIR="$IT_TMP/tmp"
mkdir -p "$HOME" "$TMPDIR"
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NX_INTERACTIVE=false NX_SKIP_NX_CACHE=false
export CI=true NO_COLOR=1 FORCE_COLOR=0

NX_V="$(node -p 'require(process.argv[1]).version' "$NX_PKG/package.json")"
echo "info - node $(node --version), nx $NX_V ($NX_PKG)"

# --- cellar -----------------------------------------------------------------------
W=nx-writer-secret-1   # read,write (CI)
R=nx-reader-secret-1   # read only (pull requests)
A=nx-admin-secret-1    # admin: lists entries
start_cellar "$IT_TMP/data" --token "ci:$W:read,write" --token "pr:$R:read" --token "admin:$A:read,write,admin"
SERVER="$CELLAR_URL/nx"
CACHE="$SERVER/v1/cache"

# --- helpers ----------------------------------------------------------------------
WS="$IT_TMP/ws"
cp -R "$FIXTURE" "$WS"
rm -rf "$WS/node_modules" "$WS/.nx"   # (only links, if a developer made them in the fixture)
mkdir "$WS/node_modules"
ln -s "$NX_PKG" "$WS/node_modules/nx"
PROJECTS=(libs/shared libs/feature apps/app)
NTASKS=${#PROJECTS[@]}

# wipe: the workspace as after a fresh clone (no local cache or workspace
# data, no outputs). Careful: node_modules/nx is a symlink into the pinned
# install and must never be globbed into.
wipe() {
  local p
  rm -rf "$WS/.nx" "$HOME/.nx"
  for p in "${PROJECTS[@]}"; do rm -rf "${WS:?}/$p/dist"; done
}

TIMES=()

# nx_run NAME VAR=VALUE...: wipes the workspace and runs `nx run-many -t
# build` in it with the given environment; output in $IT_TMP/NAME.out, its
# tasks from .nx/cache/run.json in $IT_TMP/NAME.tasks ("taskId hash
# cacheStatus exitCode"), the access-log lines it caused in $STEP_LOG.
nx_run() {
  local name="$1"; shift
  OUT="$IT_TMP/$name.out"
  TASKS="$IT_TMP/$name.tasks"
  wipe
  mark_log
  local start; start=$(now)
  if ! (cd "$WS" && env "$@" "$NX" run-many -t build --output-style=stream) >"$OUT" 2>&1; then
    tail -n 40 "$OUT" >&2
    echo "--- last cellar log lines:" >&2; tail -n 20 "$CELLAR_LOG" >&2
    fail "$name: nx run-many -t build failed"
  fi
  local secs; secs=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  TIMES+=("$name ${secs}s")
  STEP_LOG="$(new_log)"
  kill -0 "$CELLAR_PID" 2>/dev/null || { tail -n 30 "$CELLAR_LOG" >&2; fail "$name: cellar died"; }
  [[ -f "$WS/.nx/cache/run.json" ]] || fail "$name: Nx wrote no .nx/cache/run.json"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const t of r.tasks) console.log(t.taskId, t.hash, t.cacheStatus, t.status);
  ' "$WS/.nx/cache/run.json" | sort >"$TASKS"
  [[ $(wc -l <"$TASKS") -eq $NTASKS ]] || fail "$name: run.json lists $(wc -l <"$TASKS") tasks, want $NTASKS"
  awk '$4 != 0' "$TASKS" | grep -q . && fail "$name: a task failed: $(tr '\n' ';' <"$TASKS")"
  return 0
}
# expect_tasks NAME CACHE_STATUS [TASK_REGEX]: tasks matching (default all)
# have this cacheStatus (cache-miss, local-cache-hit, remote-cache-hit).
expect_tasks() {
  local bad
  bad=$(grep -E "^${3:-.}" "$TASKS" | awk -v s="$2" '$3 != s' || true)
  [[ -z "$bad" ]] || { cat "$TASKS" >&2; tail -n 30 "$OUT" >&2; fail "$1: want $2, got: $(tr '\n' ';' <<<"$bad")"; }
}
task_hash() { awk -v t="$2" '$1 == t { print $2 }' "$1"; }

# ================================================================================
# 1. cold run: every task misses and is uploaded
# ================================================================================
ENV_W=(NX_SELF_HOSTED_REMOTE_CACHE_SERVER="$SERVER" NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN="$W")
nx_run run1 "${ENV_W[@]}"
expect_tasks run1 cache-miss
hashes "$TASKS" >"$IT_TMP/keys"
grep -Eqv '^[0-9]{1,20}$' "$IT_TMP/keys" && fail "run1: unexpected task hash format: $(tr '\n' ' ' <"$IT_TMP/keys")"
manifest >"$IT_TMP/manifest1"
grep -q MISSING "$IT_TMP/manifest1" && fail "run1: outputs missing: $(grep MISSING "$IT_TMP/manifest1")"
grep -q "value = 42" "$WS/libs/feature/dist/index.js" || fail "run1: feature output wrong"
grep -q "feature value 42" "$WS/apps/app/dist/report.txt" || fail "run1: app output wrong"

puts=$(count_log PUT '/nx/v1/cache/[0-9]+' 200)
[[ "$puts" -eq "$NTASKS" ]] || { echo "$STEP_LOG" >&2; fail "run1: $puts PUTs answered 200, want $NTASKS"; }
[[ $(count_log PUT '.*' '[0-9]+') -eq "$NTASKS" ]] || { echo "$STEP_LOG" >&2; fail "run1: unexpected PUTs (retries?)"; }
misses=$(count_log GET '/nx/v1/cache/[0-9]+' 404)
[[ "$misses" -eq "$NTASKS" ]] || fail "run1: $misses GETs answered 404, want $NTASKS"
expect_entries "run1" nx "$IT_TMP/keys"

# Each stored artifact is Nx's tar.gz of that task's outputs (gzip's CRC
# checks the bytes cellar returns).
for p in "${PROJECTS[@]}"; do
  name=$(basename "$p")
  h=$(task_hash "$TASKS" "$name:build")
  code=$(get -H "Authorization: Bearer $W" "$CACHE/$h")
  [[ "$code" == 200 ]] || fail "GET artifact of $name:build ($h) -> $code"
  tar -tzf "$IT_TMP/body" >"$IT_TMP/tar.list" 2>"$IT_TMP/tar.err" ||
    fail "artifact of $name:build is not an intact tar.gz: $(head -n 2 "$IT_TMP/tar.err")"
  while read -r f; do
    grep -qxF "$f" "$IT_TMP/tar.list" || fail "artifact of $name:build lacks $f: $(tr '\n' ' ' <"$IT_TMP/tar.list" | head -c 300)"
  done < <(cd "$WS" && find "$p/dist" -type f)
done
pass "run 1: $NTASKS misses uploaded (PUT 200); cellar holds exactly those $NTASKS artifacts, intact tar.gz with the outputs"

# ================================================================================
# 2. warm run from a wiped workspace: every task is a remote hit
# ================================================================================
nx_run run2 "${ENV_W[@]}"
expect_tasks run2 remote-cache-hit
[[ "$(hashes "$TASKS")" == "$(cat "$IT_TMP/keys")" ]] || fail "run2: task hashes differ from run 1"
[[ $(grep -c '\[remote cache\]' "$OUT") -eq $NTASKS ]] ||
  fail "run2: expected $NTASKS '[remote cache]' lines: $(grep -E '^> nx run' "$OUT" | tr '\n' ';')"
grep -q 'feature: built from shared, value 42' "$OUT" || fail "run2: feature's terminal output was not replayed"
manifest >"$IT_TMP/manifest2"
diff "$IT_TMP/manifest1" "$IT_TMP/manifest2" >&2 || fail "run2: restored outputs differ from run 1's"
[[ $(count_log PUT '.*' '[0-9]+') -eq 0 ]] || fail "run2: Nx uploaded although everything hit"
[[ $(count_log GET '/nx/v1/cache/[0-9]+' 200) -eq $NTASKS ]] || fail "run2: expected $NTASKS GETs answered 200"
expect_entries "run2" nx "$IT_TMP/keys"
pass "run 2: $NTASKS remote hits ([remote cache]), terminal output replayed, outputs byte-identical, no uploads"

# ================================================================================
# 3. server URL with a trailing slash: Nx sends //v1/cache/...
# ================================================================================
nx_run slash NX_SELF_HOSTED_REMOTE_CACHE_SERVER="$SERVER/" NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN="$W"
expect_tasks slash remote-cache-hit
manifest | diff "$IT_TMP/manifest1" - >&2 || fail "slash: restored outputs differ"
pass "server URL with a trailing slash: $NTASKS remote hits"

# ================================================================================
# 4. read-only token, one project changed (a pull-request build)
# ================================================================================
echo "// changed by a pull request" >>"$WS/apps/app/build.js"
nx_run readonly NX_SELF_HOSTED_REMOTE_CACHE_SERVER="$SERVER" NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN="$R"
expect_tasks readonly remote-cache-hit '(shared|feature):'
expect_tasks readonly cache-miss 'app:'
app_hash=$(task_hash "$TASKS" app:build)
grep -qx "$app_hash" "$IT_TMP/keys" && fail "readonly: changing app did not change its hash"
grep -q "feature value 42" "$WS/apps/app/dist/report.txt" || fail "readonly: app was not built"
forbidden=$(count_log PUT "/nx/v1/cache/$app_hash" 403)
[[ "$forbidden" -ge 1 ]] || { echo "$STEP_LOG" >&2; fail "readonly: cellar did not answer Nx's PUT of $app_hash with 403"; }
[[ $(count_log PUT '.*' '(1|2|5)[0-9][0-9]|409') -eq 0 ]] || fail "readonly: a PUT was answered other than 403"
expect_entries "readonly" nx "$IT_TMP/keys"
expect_code 404 "readonly: the changed artifact is not stored" -H "Authorization: Bearer $W" "$CACHE/$app_hash"
cp "$FIXTURE/apps/app/build.js" "$WS/apps/app/build.js"
pass "read-only token: 2 remote hits, app built, its PUT answered 403 ($forbidden) and skipped, Nx succeeded, nothing stored"

# ================================================================================
# 5. a concurrent writer wins the race: Nx's PUT gets 409
# ================================================================================
# The changed app build first stores "raced" under its own task hash, as an
# agent that finished the same task a moment earlier would.
{
  echo 'require("child_process").execFileSync("curl", ["-sf", "-X", "PUT", "--data-binary", "raced",'
  echo '  "-H", "Authorization: Bearer " + process.env.RACE_TOKEN, process.env.RACE_URL + "/" + process.env.NX_TASK_HASH]);'
  cat "$FIXTURE/apps/app/build.js"
} >"$WS/apps/app/build.js"
nx_run race "${ENV_W[@]}" RACE_URL="$CACHE" RACE_TOKEN="$W"
expect_tasks race remote-cache-hit '(shared|feature):'
expect_tasks race cache-miss 'app:'
race_hash=$(task_hash "$TASKS" app:build)
grep -qx "$race_hash" "$IT_TMP/keys" && fail "race: changing app did not change its hash"
[[ $(count_log PUT "/nx/v1/cache/$race_hash" 200) -eq 1 ]] || { echo "$STEP_LOG" >&2; fail "race: the racing PUT was not stored"; }
[[ $(count_log PUT "/nx/v1/cache/$race_hash" 409) -ge 1 ]] || { echo "$STEP_LOG" >&2; fail "race: Nx's own PUT was not answered 409"; }
expect_code 200 "race: the first write is kept" -H "Authorization: Bearer $W" "$CACHE/$race_hash"
[[ "$(cat "$IT_TMP/body")" == raced ]] || fail "race: GET returned other bytes than the first write"
cp "$FIXTURE/apps/app/build.js" "$WS/apps/app/build.js"
pass "race: Nx's PUT of an existing hash answered 409, Nx succeeded, the first write kept"

# ================================================================================
# 6. the API with curl
# ================================================================================
h1=$(head -n 1 "$IT_TMP/keys")
printf 'first nx body' >"$IT_TMP/first"
printf 'second nx body, different' >"$IT_TMP/second"
expect_code 200 "PUT new entry (exactly 200)" -X PUT -H "Authorization: Bearer $W" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$IT_TMP/first" "$CACHE/1234567890123"
expect_code 409 "PUT it again" -X PUT -H "Authorization: Bearer $W" \
  -H 'Content-Type: application/octet-stream' --data-binary @"$IT_TMP/second" "$CACHE/1234567890123"
expect_code 200 "GET it" -H "Authorization: Bearer $W" -H 'Accept: application/octet-stream' "$CACHE/1234567890123"
cmp -s "$IT_TMP/body" "$IT_TMP/first" || fail "first write did not win: GET returned '$(head -c 100 "$IT_TMP/body")'"
# The auth, method and bad-hash matrix runs in-process in
# src/protocols/nx/nx_handler_test.cc.
printf '%s\n' "$h1" 1234567890123 "$(cat "$IT_TMP/keys")" "$app_hash" "$race_hash" | sort -u | grep -v "^$app_hash\$" >"$IT_TMP/keys.all"
expect_entries "after the curl checks" nx "$IT_TMP/keys.all"

# ================================================================================
# 7. a bad token: Nx must fail, and say why
# ================================================================================
# Nx fails the run on a 401. It shows cellar's message ("Unauthorized: ...")
# only when the 401's Content-Type is exactly "text/plain"; otherwise it
# blames the server ("Misconfigured remote cache endpoint: Requests should
# respond with text/plain on 401s").
get -H "Authorization: Bearer not-a-token-at-all" "$CACHE/$h1" >/dev/null
ct401=$(header content-type)
wipe
OUT="$IT_TMP/badtoken.out"
if (cd "$WS" && NX_SELF_HOSTED_REMOTE_CACHE_SERVER="$SERVER" NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=not-a-token-at-all \
      "$NX" run-many -t build --output-style=stream) >"$OUT" 2>&1; then
  fail "bad token: Nx succeeded although cellar refused its credentials"
fi
grep -q 'Misconfigured remote cache endpoint' "$OUT" &&
  fail "bad token: Nx calls cellar misconfigured (401 Content-Type '$ct401', Nx wants exactly 'text/plain'): $(grep -m 1 Misconfigured "$OUT")"
grep -q 'Unauthorized' "$OUT" || { tail -n 20 "$OUT" >&2; fail "bad token: Nx did not report 'Unauthorized'"; }
pass "bad token: Nx fails with '$(grep -m 1 -o 'Unauthorized.*' "$OUT")'"

kill -0 "$CELLAR_PID" 2>/dev/null || fail "cellar died"
echo "timings:"
for t in "${TIMES[@]}"; do echo "  $t"; done
echo "nx test finished in ${SECONDS}s"
