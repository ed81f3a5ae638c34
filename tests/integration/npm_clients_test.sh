#!/usr/bin/env bash
# it_npm_clients: the REAL npm, pnpm and yarn (berry) clients installing a real
# project through cellar's npm registry front-end (/npm/), whose upstream is
# the real https://registry.npmjs.org (needs network access to it).
#
# fixtures/npm-project: express 4 and ten more packages pinned at exact
# versions, 104 package versions in all (110 entries in npm's tree), scoped
# ones among them (@babel/code-frame -> @babel/helper-validator-identifier,
# @types/node), none with install scripts; its package-lock.json was made
# against the real registry (`resolved` URLs at https://registry.npmjs.org).
#
# Every run is a fresh copy of the fixture with a brand-new HOME (so empty npm
# cache, pnpm store and metadata cache, yarn cache and global folder), and
# every client is configured to talk to cellar only: registry=$CELLAR_URL/npm/
# in ~/.npmrc (npm, pnpm), npmRegistryServer in .yarnrc.yml (yarn), and every
# https request is sent to a "blackhole" proxy that refuses and logs it, so a
# client that fetches anything from the internet by itself (e.g. a
# dist.tarball URL cellar did not rewrite) fails the test.
#   1. npm install (no lockfile), cellar cold: succeeds, the top-level deps are
#      there at their pinned versions, require('express') works; cellar fetched
#      at least one tarball per installed package version from upstream;
#   2. npm install again (no lockfile, empty npm cache): ZERO upstream tarball
#      requests (cellar_npm_upstream_requests_total{kind="tarball"} unchanged),
#      every tarball a cellar hit;
#   3. npm ci with the committed lockfile (empty cache): succeeds; npm rewrites
#      the lockfile's registry.npmjs.org URLs to cellar (replace-registry-host),
#      so every tarball goes through cellar (hit or upstream fetch); a second
#      npm ci with an empty cache makes zero upstream tarball requests;
#   4. pnpm install (no lockfile, empty store) twice: both succeed through
#      cellar, the second makes zero upstream tarball requests;
#   5. yarn install (berry, node-modules linker, no lockfile, empty cache and
#      global folder) twice: same.
# Prints the time each client step took.
#
# Clients: node and npm from PATH; pnpm and yarn from the pinned install of
# scripts/install-node-clients.sh (tools/node/node_modules/.bin, or the
# directory in $CELLAR_NODE_CLIENTS_BIN).
#
# Debugging aid: NPM_TEST_DIRECT=1 skips cellar entirely and points every
# client straight at https://registry.npmjs.org/ (no blackhole proxy, no
# metric assertions; the cellar argument is still required but not used), to
# tell a client/fixture problem from a cellar one:
#   NPM_TEST_DIRECT=1 bash tests/integration/npm_clients_test.sh /dev/null
#
# Usage: bash npm_clients_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$IT_DIR/../.." && pwd)"
FIXTURE="$IT_DIR/fixtures/npm-project"
DIRECT="${NPM_TEST_DIRECT:-0}"
UPSTREAM="https://registry.npmjs.org"
INSTALLER="scripts/install-node-clients.sh"

# --- clients ----------------------------------------------------------------
CLIENT_BIN="${CELLAR_NODE_CLIENTS_BIN:-$REPO/tools/node/node_modules/.bin}"
command -v node >/dev/null || fail "node is not installed (run $INSTALLER)"
command -v npm >/dev/null || fail "npm is not installed (run $INSTALLER)"
command -v python3 >/dev/null || fail "python3 is not installed (scripts/install-deps.sh --with-test-tools)"
PNPM="$CLIENT_BIN/pnpm"
YARN="$CLIENT_BIN/yarn"
[[ -x "$PNPM" ]] || fail "pnpm not found at $PNPM: run $INSTALLER (or set CELLAR_NODE_CLIENTS_BIN)"
[[ -x "$YARN" ]] || fail "yarn not found at $YARN: run $INSTALLER (or set CELLAR_NODE_CLIENTS_BIN)"
[[ -f "$FIXTURE/package.json" && -f "$FIXTURE/package-lock.json" ]] || fail "fixture $FIXTURE is incomplete"

# --- isolation ----------------------------------------------------------------
# Nothing from the caller's environment may steer a client elsewhere: no proxy
# variables, no npm_config_*/YARN_*/PNPM_* settings, a HOME of our own (set
# per run below). NODE_EXTRA_CA_CERTS and npm's global npmrc are kept: they
# may carry the CA a TLS-intercepting egress needs (direct mode; cellar's own
# upstream traffic does not go through the clients).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(npm_config_|NPM_CONFIG_|npm_package_|npm_lifecycle_|YARN_|PNPM_|COREPACK_)' || true)
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
# As in CI: pnpm and yarn would refuse to write a lockfile by default; the
# commands below say so explicitly, so a local run behaves the same.
export CI=true
export HOME="$IT_TMP/home"
mkdir -p "$HOME"

NODE_V="$(node --version)"; NPM_V="$(npm --version)"
PNPM_V="$(cd / && "$PNPM" --version)" || fail "$PNPM does not run (re-run $INSTALLER)"
YARN_V="$(cd / && YARN_ENABLE_TELEMETRY=0 "$YARN" --version)" || fail "$YARN does not run (re-run $INSTALLER)"
echo "info - node $NODE_V, npm $NPM_V, pnpm $PNPM_V, yarn $YARN_V"

# Top-level dependencies and their exact versions, from the fixture.
mapfile -t DEPS < <(node -e '
  const d = require(process.argv[1]).dependencies;
  for (const [k, v] of Object.entries(d)) console.log(k + " " + v);' "$FIXTURE/package.json")
((${#DEPS[@]} >= 5)) || fail "fixture lists only ${#DEPS[@]} dependencies"
# Packages we require() after each install (@types/* have no entry point).
REQUIRES=()
for d in "${DEPS[@]}"; do [[ "${d%% *}" == @types/* ]] || REQUIRES+=("${d%% *}"); done

# --- cellar, or the real registry in direct mode -----------------------------
UP_TGZ='cellar_npm_upstream_requests_total{kind="tarball"}'
HIT_TGZ='cellar_npm_requests_total{kind="tarball",result="hit"}'
if [[ "$DIRECT" == 1 ]]; then
  REGISTRY="$UPSTREAM/"
  VIA="directly from $UPSTREAM"; ZERO=""
  echo "info - NPM_TEST_DIRECT=1: clients talk to $REGISTRY directly; cellar and metric checks skipped"
else
  start_cellar "$IT_TMP/data" --npm-upstream "$UPSTREAM"
  REGISTRY="$CELLAR_URL/npm/"
  VIA="through cellar"; ZERO=": 0 upstream tarball requests"

  # Blackhole proxy for https: logs and refuses every request, so a client
  # that bypasses cellar fails loudly (its log has "CONNECT host:443"; the
  # client's own error names the URL).
  BH_LOG="$IT_TMP/blackhole.log"
  : >"$BH_LOG"
  cat >"$IT_TMP/blackhole.py" <<'PY'
import socketserver, sys
port_file, log_file = sys.argv[1], sys.argv[2]
class H(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(8192).decode("latin-1").strip()
        with open(log_file, "a") as f:
            f.write(line + "\n")
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
socketserver.ThreadingTCPServer.allow_reuse_address = True
s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
  python3 "$IT_TMP/blackhole.py" "$IT_TMP/blackhole.port" "$BH_LOG" >"$IT_TMP/blackhole.err" 2>&1 &
  CELLAR_PIDS+=("$!")  # stopped with the servers at exit
  for _ in $(seq 1 200); do [[ -s "$IT_TMP/blackhole.port" ]] && break; sleep 0.05; done
  [[ -s "$IT_TMP/blackhole.port" ]] || { cat "$IT_TMP/blackhole.err" >&2; fail "blackhole proxy did not start"; }
  BLACKHOLE="http://127.0.0.1:$(cat "$IT_TMP/blackhole.port")/"
fi

mval() { metric "$1" | awk '{ printf "%d", $1 }'; }
snap() {  # snap: remembers the tarball counters before a step
  [[ "$DIRECT" == 1 ]] && return 0
  UP0=$(mval "$UP_TGZ"); HIT0=$(mval "$HIT_TGZ")
}
deltas() {  # deltas: sets D_UP and D_HIT, the counters' growth since snap
  D_UP=$(($(mval "$UP_TGZ") - UP0)); D_HIT=$(($(mval "$HIT_TGZ") - HIT0))
}

# --- timing -------------------------------------------------------------------
STEP_NAMES=()
STEP_SECS=()
now() { date +%s.%N; }
record_time() {  # record_time NAME START
  local secs
  secs=$(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  STEP_NAMES+=("$1"); STEP_SECS+=("$secs")
  echo "time - $1: ${secs}s"
}

# --- one client run -------------------------------------------------------------
# new_run NAME [lockfile]: fresh copy of the fixture in $IT_TMP/NAME/proj
# (package-lock.json only with "lockfile"), a new empty HOME in
# $IT_TMP/NAME/home with an .npmrc pointing at the registry. Sets RUN, PROJ.
new_run() {
  RUN="$IT_TMP/$1"
  PROJ="$RUN/proj"
  [[ ! -e "$RUN" ]] || fail "$1: run directory is not fresh"
  mkdir -p "$RUN/home" "$PROJ"
  cp "$FIXTURE/package.json" "$PROJ/"
  [[ "${2:-}" == lockfile ]] && cp "$FIXTURE/package-lock.json" "$PROJ/"
  {
    echo "registry=$REGISTRY"
    # npm's default, made explicit: lockfile URLs at registry.npmjs.org are
    # fetched from the configured registry instead.
    echo "replace-registry-host=npmjs"
    echo "audit=false"
    echo "fund=false"
    echo "update-notifier=false"
    if [[ "$DIRECT" != 1 ]]; then
      echo "https-proxy=$BLACKHOLE"
      echo "noproxy=127.0.0.1,localhost"
    fi
  } >"$RUN/home/.npmrc"
}

# client NAME CMD...: runs CMD in $PROJ with HOME=$RUN/home, output in
# $RUN/out; on a non-zero exit prints the output and cellar's log and fails.
client() {
  local name="$1"; shift
  local start; start=$(now)
  if ! (cd "$PROJ" && HOME="$RUN/home" "$@") >"$RUN/out" 2>&1; then
    tail -n 60 "$RUN/out" >&2
    if [[ "$DIRECT" != 1 ]]; then
      echo "--- requests the blackhole proxy refused:" >&2; head -n 20 "$BH_LOG" >&2
      echo "--- last cellar log lines:" >&2; tail -n 30 "$CELLAR_LOG" >&2
    fi
    fail "$name: '$*' failed (non-zero exit status; last lines of its output above)"
  fi
  record_time "$name" "$start"
  if [[ "$DIRECT" != 1 ]]; then
    kill -0 "$CELLAR_PID" 2>/dev/null || { tail -n 30 "$CELLAR_LOG" >&2; fail "$name: cellar died"; }
    [[ ! -s "$BH_LOG" ]] || fail "$name: a client bypassed cellar and tried the internet directly: $(head -n 5 "$BH_LOG")"
  fi
}

# check_project NAME: every top-level dependency installed at its pinned
# version, and all of them load in node.
check_project() {
  local d name want got
  for d in "${DEPS[@]}"; do
    name="${d%% *}"; want="${d#* }"
    [[ -f "$PROJ/node_modules/$name/package.json" ]] || fail "$1: node_modules/$name missing"
    got=$(node -p 'require(process.argv[1]).version' "$PROJ/node_modules/$name/package.json")
    [[ "$got" == "$want" ]] || fail "$1: node_modules/$name is $got, want $want"
  done
  (cd "$PROJ" && node -e '
    for (const m of process.argv.slice(1)) require(m);
    const app = require("express")();
    if (typeof app.listen !== "function") throw new Error("express() is not an app");
    const { codeFrameColumns } = require("@babel/code-frame");
    if (!codeFrameColumns("a\nb", { start: { line: 2 } }).includes("> 2 | b")) throw new Error("@babel/code-frame broken");
  ' "${REQUIRES[@]}") >"$RUN/require.out" 2>&1 || { cat "$RUN/require.out" >&2; fail "$1: require() of the installed packages failed"; }
}

# Package versions installed, per client layout (one tarball each).
npm_pkg_count() {  # from npm's hidden lockfile (or the given lockfile)
  node -e '
    const p = require(process.argv[1]).packages; const s = new Set();
    for (const [k, v] of Object.entries(p)) {
      if (!k || v.link) continue;
      s.add((v.name || k.slice(k.lastIndexOf("node_modules/") + 13)) + "@" + v.version);
    }
    console.log(s.size);' "${1:-$PROJ/node_modules/.package-lock.json}"
}
pnpm_pkg_count() { find "$PROJ/node_modules/.pnpm" -mindepth 1 -maxdepth 1 -type d -name '*@*' | wc -l; }
yarn_pkg_count() { grep -cE '^  resolution: ".+@npm:' "$PROJ/yarn.lock" || true; }

# expect_through_cellar NAME N: at least N tarball requests reached cellar in
# this step (each a hit or an upstream fetch).
expect_through_cellar() {
  [[ "$DIRECT" == 1 ]] && return 0
  deltas
  (( D_HIT + D_UP >= $2 )) ||
    fail "$1: $2 package versions installed but cellar served only $D_HIT tarball hits + $D_UP upstream fetches"
  echo "info - $1: $2 package versions; cellar tarball hits +$D_HIT, upstream tarball fetches +$D_UP"
}
# expect_no_upstream NAME N: zero upstream tarball requests in this step, and
# at least N tarball hits.
expect_no_upstream() {
  [[ "$DIRECT" == 1 ]] && return 0
  deltas
  (( D_UP == 0 )) || fail "$1: cellar fetched $D_UP tarballs upstream although all were cached"
  (( D_HIT >= $2 )) || fail "$1: $2 package versions installed but only $D_HIT cellar tarball hits"
  echo "info - $1: $2 package versions, $D_HIT cellar tarball hits, 0 upstream tarball fetches"
}

# --- 1. npm install, cellar cold ----------------------------------------------
NPM_FLAGS=(--no-audit --no-fund --update-notifier=false)
new_run npm-cold
snap
client "npm install (cold)" npm install --cache "$RUN/home/npm-cache" "${NPM_FLAGS[@]}"
check_project "npm install (cold)"
N=$(npm_pkg_count)
(( N >= 50 )) || fail "npm install (cold): only $N packages installed"
if [[ "$DIRECT" != 1 ]]; then
  deltas
  (( D_UP >= N )) || fail "npm install (cold): $N package versions installed, only $D_UP upstream tarball fetches by an empty cellar"
  echo "info - npm install (cold): $N package versions; cellar fetched $D_UP tarballs upstream"
fi
pass "npm install $VIA (cold): $N package versions, top-level deps pinned, require() works"

# --- 2. npm install again, empty npm cache -----------------------------------
new_run npm-warm
snap
client "npm install (empty npm cache)" npm install --cache "$RUN/home/npm-cache" "${NPM_FLAGS[@]}"
check_project "npm install (empty npm cache)"
N=$(npm_pkg_count)
expect_no_upstream "npm install (empty npm cache)" "$N"
pass "npm install again with an empty npm cache$ZERO"

# --- 3. npm ci with the committed lockfile ------------------------------------
N_LOCK=$(npm_pkg_count "$FIXTURE/package-lock.json")
for round in 1 2; do
  new_run "npm-ci-$round" lockfile
  snap
  client "npm ci #$round" npm ci --cache "$RUN/home/npm-cache" "${NPM_FLAGS[@]}"
  check_project "npm ci #$round"
  cmp -s "$PROJ/package-lock.json" "$FIXTURE/package-lock.json" || fail "npm ci #$round changed package-lock.json"
  if ((round == 1)); then
    expect_through_cellar "npm ci #1" "$N_LOCK"
  else
    expect_no_upstream "npm ci #2 (empty npm cache)" "$N_LOCK"
  fi
done
pass "npm ci with the committed lockfile (registry.npmjs.org URLs) $VIA; again with an empty cache$ZERO"

# --- 4. pnpm ----------------------------------------------------------------------
for round in 1 2; do
  new_run "pnpm-$round"
  snap
  client "pnpm install #$round" "$PNPM" install --no-frozen-lockfile --store-dir "$RUN/home/pnpm-store" \
    --config.cache-dir="$RUN/home/pnpm-cache" --config.state-dir="$RUN/home/pnpm-state" --reporter=append-only
  check_project "pnpm install #$round"
  N=$(pnpm_pkg_count)
  (( N >= 50 )) || fail "pnpm install #$round: only $N packages in node_modules/.pnpm"
  if ((round == 1)); then
    expect_through_cellar "pnpm install #1" "$N"
  else
    expect_no_upstream "pnpm install #2 (empty store)" "$N"
  fi
done
pass "pnpm install $VIA; again with an empty store$ZERO"

# --- 5. yarn (berry) ----------------------------------------------------------------
for round in 1 2; do
  new_run "yarn-$round"
  {
    echo "npmRegistryServer: \"${REGISTRY%/}\""
    echo "unsafeHttpWhitelist: [\"127.0.0.1\"]"
    echo "enableTelemetry: false"
    echo "enableGlobalCache: false"
    # no copy of the cache in the global folder either: every run starts empty
    echo "enableMirror: false"
    echo "enableImmutableInstalls: false"
    echo "enableProgressBars: false"
    echo "nodeLinker: node-modules"
    echo "cacheFolder: \"$RUN/home/yarn-cache\""
    echo "globalFolder: \"$RUN/home/yarn-global\""
    if [[ "$DIRECT" != 1 ]]; then echo "httpsProxy: \"$BLACKHOLE\""; fi
  } >"$PROJ/.yarnrc.yml"
  snap
  client "yarn install #$round" "$YARN" install
  check_project "yarn install #$round"
  N=$(yarn_pkg_count)
  (( N >= 50 )) || fail "yarn install #$round: only $N npm packages in yarn.lock"
  # yarn records a package's tarball URL in the lockfile (__archiveUrl) only
  # when it is not the conventional one under npmRegistryServer.
  ! grep -q '__archiveUrl' "$PROJ/yarn.lock" ||
    echo "info - yarn install #$round: yarn.lock has non-conventional tarball URLs: $(grep -o '__archiveUrl=[^"]*' "$PROJ/yarn.lock" | head -n 1)"
  if ((round == 1)); then
    expect_through_cellar "yarn install #1" "$N"
  else
    expect_no_upstream "yarn install #2 (empty cache)" "$N"
  fi
done
pass "yarn install $VIA; again with an empty cache$ZERO"

# --- summary ----------------------------------------------------------------------
echo "timings ($VIA):"
for i in "${!STEP_NAMES[@]}"; do printf '  %-32s %6ss\n' "${STEP_NAMES[$i]}" "${STEP_SECS[$i]}"; done
echo "npm clients test finished in ${SECONDS}s"
