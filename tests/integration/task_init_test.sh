#!/usr/bin/env bash
# it_task_init: `cellar init` + `cellar run` accepted the way a turbo user
# would check them: on turbo monorepos the task graph cellar plans must be the
# one the REAL turbo (pinned in scripts/install-node-clients.sh) plans.
#
# Fixtures are generated here, four of them: turbo.json v1 ("pipeline") and v2
# ("tasks"), each as npm workspaces with plain semver ranges ("^1.0.0") and as
# pnpm workspaces with "workspace:*". Seven packages:
#
#   core <- lib-a <- app          (app -> lib-a, lib-b -> core: a diamond)
#   core <- lib-b <- app
#   lib-b <- shim <- docs         (shim has no build and no test script:
#   shim  <- app                   ^build passes through it to lib-b#build)
#   gen                           (no dependencies; app#build needs gen#build,
#                                  a pkg#task dependency)
#
# build: dependsOn ^build, outputs dist/**; test: dependsOn build (same
# package); core, lib-a and app have a test script, lib-b, docs and gen not.
# Workspace dependencies use dependencies, devDependencies and
# optionalDependencies, never peerDependencies: turbo ignores peers when it
# builds its package graph, cellar counts them (docs/cellar-yml.md), so a peer
# would make the graphs differ on purpose.
# Every build writes dist/out.txt from its dependencies' dist/out.txt (so it
# fails when run before them) and appends its name to a log at the root.
#
#   1. per fixture: `cellar init` writes cellar.yml; the edges (task,
#      dependency) of `cellar run build test --dry=json` equal those of
#      `turbo run build test --dry=json`. turbo lists tasks a package has no
#      script for (command "<NONEXISTENT>"); cellar passes through them, so
#      those nodes are contracted out of turbo's graph (their dependents get
#      their dependencies) before the sets are compared. turbo 2 no longer
#      reads v1's "pipeline", so for the v1 fixtures turbo plans from the same
#      file with "pipeline" renamed to "tasks" (the semantics are unchanged);
#      cellar init reads the v1 file as it is.
#   2. `cellar init` a second time refuses to overwrite cellar.yml (non-zero
#      exit, file unchanged); --force overwrites.
#   3. `cellar init` on go.mod, Cargo.toml and requirements.txt fixtures
#      writes a config that `cellar run <its tasks> --dry` accepts.
#   4. the npm v2 fixture's config run for real (`cellar run build`): every
#      build output exists with the content its dependencies gave it, core's
#      build ran once; a second run is all local cache hits.
#   5. why did it miss: a changed root lockfile changes every hash (global
#      part), and `--dry=json` must show which input changed, not only new
#      hashes (docs/task-hash.md, the global manifest).
#   6. create-turbo's own build inputs, ["$TURBO_DEFAULT$", ".env*"], with
#      .env*.local git-ignored: the files cellar hashes for gen#build after
#      `cellar init --force` are the files turbo hashes (its --dry=json
#      "inputs"), .env.local included; else editing .env.local is a stale hit.
#
# Usage: bash task_init_test.sh /path/to/cellar
set -euo pipefail   # before lib.sh: without it (and its $IT_TMP) nothing may run
source "$(dirname "$0")/lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$IT_DIR/../.." && pwd)"
INSTALLER="scripts/install-node-clients.sh"
CLIENT_BIN="${CELLAR_NODE_CLIENTS_BIN:-$REPO/tools/node/node_modules/.bin}"
TURBO="$CLIENT_BIN/turbo"
PNPM="$CLIENT_BIN/pnpm"
command -v node >/dev/null || fail "node is not installed (run $INSTALLER)"
command -v npm >/dev/null || fail "npm is not installed (run $INSTALLER)"
[[ -x "$TURBO" ]] || fail "turbo not found at $TURBO: run $INSTALLER (or set CELLAR_NODE_CLIENTS_BIN)"
[[ -x "$PNPM" ]] || fail "pnpm not found at $PNPM: run $INSTALLER (or set CELLAR_NODE_CLIENTS_BIN)"

# --- isolation (as in turbo_test.sh): nothing of the caller steers turbo -----------
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(TURBO_|VERCEL_|npm_config_|NPM_CONFIG_|CELLAR_)' || true)
export HOME="$IT_TMP/home"
mkdir -p "$HOME"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1
export npm_config_update_notifier=false NO_COLOR=1 FORCE_COLOR=0
PNPM_VERSION="$(cd / && "$PNPM" --version)"
export PNPM_VERSION
echo "info - node $(node --version), npm $(npm --version), turbo $(cd / && "$TURBO" --version), pnpm $PNPM_VERSION"

# check_failed MSG: a failed check after which the remaining ones still mean
# something; the test fails at the end.
FAILED=()
check_failed() { echo "FAIL: $*" >&2; FAILED+=("$(cut -c1-60 <<<"$*")..."); }

# --- fixtures -----------------------------------------------------------------------
# make_js_fixture DIR v1|v2 npm|pnpm
make_js_fixture() {
  local dir="$1" turbo_version="$2" pm="$3"
  mkdir -p "$dir"
  node - "$dir" "$turbo_version" "$pm" <<'EOF'
const fs = require('fs'), path = require('path');
const [dir, tv, pm] = process.argv.slice(2);
const spec = pm === 'pnpm' ? 'workspace:*' : '^1.0.0';
// name -> [directory, dependencies, has build, has test, dependency field]
const pkgs = {
  core:    ['packages/core',  [],                         true,  true,  'dependencies'],
  'lib-a': ['packages/lib-a', ['core'],                   true,  true,  'dependencies'],
  'lib-b': ['packages/lib-b', ['core'],                   true,  false, 'devDependencies'],
  shim:    ['packages/shim',  ['lib-b'],                  false, false, 'dependencies'],
  gen:     ['tools/gen',      [],                         true,  false, 'dependencies'],
  app:     ['apps/app',       ['lib-a', 'lib-b', 'shim'], true,  true,  'dependencies'],
  docs:    ['apps/docs',      ['shim'],                   true,  false, 'optionalDependencies'],
};
const write = (rel, text) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
};
const json = (rel, obj) => write(rel, JSON.stringify(obj, null, 2) + '\n');
const root = { name: 'acc-root', version: '1.0.0', private: true };
if (pm === 'pnpm') {
  root.packageManager = 'pnpm@' + process.env.PNPM_VERSION;  // the one installed: pnpm would fetch another
  write('pnpm-workspace.yaml', 'packages:\n  - "packages/*"\n  - "apps/*"\n  - "tools/*"\n');
} else {
  root.packageManager = 'npm@10.9.2';
  root.workspaces = ['packages/*', 'apps/*', 'tools/*'];
}
json('package.json', root);
write('.gitignore', 'node_modules\ndist\n.turbo\n.cellar\n');
// build.js: reads the dist/out.txt of the workspace dependencies that build
// (shim's are reached through it), fails when one is missing.
write('build.js', `
const fs = require('fs'), path = require('path');
const [name, deps] = [process.argv[2], process.argv.slice(3)];
const lines = [name + ' built'];
for (const d of deps) lines.push(...fs.readFileSync(path.join('..', '..', d, 'dist', 'out.txt'), 'utf8').trim().split('\\n').map(l => '  ' + l));
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync(path.join('dist', 'out.txt'), lines.join('\\n') + '\\n');
fs.appendFileSync(path.join('..', '..', 'builds.log'), name + '\\n');
console.log(name + ': built');
`);
const buildsOf = (name) => {  // the dirs of the nearest dependencies that build
  const out = [];
  for (const d of pkgs[name][1]) {
    if (pkgs[d][2]) out.push(pkgs[d][0]); else out.push(...buildsOf(d));
  }
  return [...new Set(out)];
};
for (const [name, [rel, deps, build, test, field]] of Object.entries(pkgs)) {
  const pj = { name: '@acc/' + name, version: '1.0.0', private: true, scripts: {} };
  if (deps.length) pj[field] = Object.fromEntries(deps.map(d => ['@acc/' + d, spec]));
  if (build) pj.scripts.build = 'node ../../build.js ' + name + ' ' + buildsOf(name).join(' ');
  if (name === 'app') pj.scripts.build += ' tools/gen';
  if (test) pj.scripts.test = 'node -e "require(\'fs\').statSync(\'dist/out.txt\')"';
  pj.scripts.lint = 'true';
  json(rel + '/package.json', pj);
  write(rel + '/src/index.js', 'module.exports = ' + JSON.stringify(name) + ';\n');
}
const tasks = {
  build: { dependsOn: ['^build'], outputs: ['dist/**'] },
  test: { dependsOn: ['build'], outputs: [] },
  '@acc/app#build': { dependsOn: ['^build', '@acc/gen#build'], outputs: ['dist/**'] },
};
const turbo = tv === 'v1' ? { $schema: 'https://turbo.build/schema.json', pipeline: tasks }
                          : { $schema: 'https://turborepo.com/schema.json', tasks };
json('turbo.json', turbo);
EOF
  # A real lockfile (turbo reads it), made offline: only workspace links.
  if [[ "$pm" == pnpm ]]; then
    (cd "$dir" && "$PNPM" install --lockfile-only --offline --ignore-scripts >"$IT_TMP/lock.log" 2>&1) ||
      { cat "$IT_TMP/lock.log" >&2; fail "pnpm could not write the lockfile of $dir"; }
    [[ -f "$dir/pnpm-lock.yaml" ]] || fail "no pnpm-lock.yaml in $dir"
  else
    (cd "$dir" && npm install --package-lock-only --offline --ignore-scripts --no-audit --no-fund >"$IT_TMP/lock.log" 2>&1) ||
      { cat "$IT_TMP/lock.log" >&2; fail "npm could not write the lockfile of $dir"; }
    [[ -f "$dir/package-lock.json" ]] || fail "no package-lock.json in $dir"
  fi
  (cd "$dir" && git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm fixture)
}

# edges FILE [turbo]: a dry-run JSON (turbo's or cellar's: tasks[].taskId,
# tasks[].dependencies, tasks[].command) as sorted "task -> dependency" lines;
# a task with no dependency is "task -> -". With "turbo", tasks whose command
# is <NONEXISTENT> are contracted out first.
edges() {
  node - "$1" "${2:-}" <<'EOF'
const fs = require('fs');
const [file, mode] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
if (!Array.isArray(doc.tasks)) { console.error('no tasks array in ' + file); process.exit(2); }
const deps = new Map(), gone = new Set();
for (const t of doc.tasks) {
  if (typeof t.taskId !== 'string' || !Array.isArray(t.dependencies)) {
    console.error('task without taskId/dependencies in ' + file + ': ' + JSON.stringify(t).slice(0, 200));
    process.exit(2);
  }
  deps.set(t.taskId, t.dependencies);
  if (mode === 'turbo' && t.command === '<NONEXISTENT>') gone.add(t.taskId);
}
const real = (id, seen = new Set()) => {  // the kept tasks id stands for
  if (!gone.has(id)) return [id];
  if (seen.has(id)) return [];
  seen.add(id);
  return (deps.get(id) || []).flatMap(d => real(d, seen));
};
const out = new Set();
for (const [id, ds] of deps) {
  if (gone.has(id)) continue;
  const flat = [...new Set(ds.flatMap(d => real(d)))];
  if (!flat.length) out.add(id + ' -> -');
  for (const d of flat) out.add(id + ' -> ' + d);
}
console.log([...out].sort().join('\n'));
EOF
}

# raw_tasks FILE: each task of a dry-run JSON as "taskId command [dependencies]".
raw_tasks() {
  node -e 'for (const t of require(process.argv[1]).tasks) console.log(t.taskId, t.command, JSON.stringify(t.dependencies))' "$1"
}

# --- 1. cellar init + the task graph against turbo's --------------------------------
for tv in v1 v2; do
  for pm in npm pnpm; do
    name="$tv-$pm"
    WS="$IT_TMP/$name"
    make_js_fixture "$WS" "$tv" "$pm"

    # turbo's plan (v1: from the same tasks under the v2 key; see the header).
    TW="$IT_TMP/turbo-$name"
    cp -R "$WS" "$TW"
    if [[ "$tv" == v1 ]]; then
      node -e 'const f=process.argv[1], j=require(f); j.tasks=j.pipeline; delete j.pipeline;
               require("fs").writeFileSync(f, JSON.stringify(j, null, 2))' "$TW/turbo.json"
    fi
    (cd "$TW" && "$TURBO" run build test --dry=json) >"$IT_TMP/$name.turbo.json" 2>"$IT_TMP/$name.turbo.err" ||
      { cat "$IT_TMP/$name.turbo.err" >&2; fail "$name: turbo run build test --dry=json failed"; }
    edges "$IT_TMP/$name.turbo.json" turbo >"$IT_TMP/$name.turbo.edges" || fail "$name: cannot read turbo's dry-run JSON"
    # The fixture is what the header says (else the comparison proves little).
    for e in '@acc/app#build -> @acc/gen#build' '@acc/app#build -> @acc/lib-a#build' \
             '@acc/app#build -> @acc/lib-b#build' '@acc/docs#build -> @acc/lib-b#build' \
             '@acc/lib-a#build -> @acc/core#build' '@acc/lib-b#build -> @acc/core#build' \
             '@acc/core#test -> @acc/core#build' '@acc/core#build -> -'; do
      grep -qxF "$e" "$IT_TMP/$name.turbo.edges" || { raw_tasks "$IT_TMP/$name.turbo.json" >&2; fail "$name: turbo's graph lacks '$e'"; }
    done
    grep -q '@acc/shim#' "$IT_TMP/$name.turbo.edges" && fail "$name: shim's tasks were not contracted"

    (cd "$WS" && "$CELLAR_BIN" init) >"$IT_TMP/$name.init.out" 2>&1 ||
      { cat "$IT_TMP/$name.init.out" >&2; fail "$name: cellar init failed"; }
    [[ -f "$WS/cellar.yml" ]] || fail "$name: cellar init wrote no cellar.yml"
    (cd "$WS" && "$CELLAR_BIN" run build test --dry=json) >"$IT_TMP/$name.cellar.json" 2>"$IT_TMP/$name.cellar.err" ||
      { cat "$IT_TMP/$name.cellar.err" "$WS/cellar.yml" >&2; fail "$name: cellar run build test --dry=json failed"; }
    edges "$IT_TMP/$name.cellar.json" >"$IT_TMP/$name.cellar.edges" ||
      { head -c 2000 "$IT_TMP/$name.cellar.json" >&2; fail "$name: cannot read cellar's dry-run JSON"; }
    if ! diff "$IT_TMP/$name.turbo.edges" "$IT_TMP/$name.cellar.edges" >"$IT_TMP/$name.diff"; then
      echo "--- $name: < turbo, > cellar" >&2; cat "$IT_TMP/$name.diff" >&2
      echo "--- cellar.yml:" >&2; cat "$WS/cellar.yml" >&2
      fail "$name: cellar's task graph differs from turbo's"
    fi
    [[ -z "$(cd "$WS" && git status --porcelain --ignored -- dist '*/dist' builds.log)" ]] ||
      fail "$name: --dry ran something"
    pass "$name: cellar init + run --dry=json plans turbo's graph ($(wc -l <"$IT_TMP/$name.cellar.edges") edges)"
  done
done

# --- 2. an existing cellar.yml is not overwritten ------------------------------------
WS="$IT_TMP/v2-npm"
echo "# edited by hand" >>"$WS/cellar.yml"
cp "$WS/cellar.yml" "$IT_TMP/edited.yml"
if (cd "$WS" && "$CELLAR_BIN" init) >"$IT_TMP/again.out" 2>&1; then
  fail "cellar init overwrote (or accepted) an existing cellar.yml: $(cat "$IT_TMP/again.out")"
fi
cmp -s "$WS/cellar.yml" "$IT_TMP/edited.yml" || fail "cellar init changed the existing cellar.yml"
grep -qi 'cellar.yml' "$IT_TMP/again.out" || fail "cellar init's refusal does not name cellar.yml: $(cat "$IT_TMP/again.out")"
(cd "$WS" && "$CELLAR_BIN" init --force) >"$IT_TMP/force.out" 2>&1 || fail "cellar init --force failed: $(cat "$IT_TMP/force.out")"
grep -q '# edited by hand' "$WS/cellar.yml" && fail "cellar init --force did not rewrite cellar.yml"
pass "cellar init refuses to overwrite cellar.yml ($(head -n 1 "$IT_TMP/again.out")); --force rewrites it"

# --- 3. root-language fixtures --------------------------------------------------------
# init_accepts NAME TASK...: cellar init in $IT_TMP/NAME, then run --dry of the tasks.
init_accepts() {
  local name="$1"; shift
  local ws="$IT_TMP/$name" t
  (cd "$ws" && "$CELLAR_BIN" init) >"$IT_TMP/$name.init.out" 2>&1 ||
    { cat "$IT_TMP/$name.init.out" >&2; fail "$name: cellar init failed"; }
  for t in "$@"; do
    grep -qE "^  \"?$t\"?:" "$ws/cellar.yml" || { cat "$ws/cellar.yml" >&2; fail "$name: cellar.yml has no '$t' task"; }
  done
  (cd "$ws" && "$CELLAR_BIN" run "$@" --dry) >"$IT_TMP/$name.dry" 2>&1 ||
    { cat "$IT_TMP/$name.dry" "$ws/cellar.yml" >&2; fail "$name: cellar run $* --dry refused init's config"; }
  for t in "$@"; do
    grep -q "$t" "$IT_TMP/$name.dry" || { cat "$IT_TMP/$name.dry" >&2; fail "$name: the dry run does not plan $t"; }
  done
  pass "$name: cellar init's config is accepted by cellar run $* --dry"
}
mkdir -p "$IT_TMP/go/cmd/hello" "$IT_TMP/cargo/src" "$IT_TMP/py/tests"
printf 'module example.test/hello\n\ngo 1.21\n' >"$IT_TMP/go/go.mod"
printf 'package main\n\nfunc main() {}\n' >"$IT_TMP/go/cmd/hello/main.go"
init_accepts go build test
printf '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n' >"$IT_TMP/cargo/Cargo.toml"
printf 'fn main() {}\n' >"$IT_TMP/cargo/src/main.rs"
init_accepts cargo build test
printf 'pytest\n' >"$IT_TMP/py/requirements.txt"
printf 'def test_ok():\n    assert True\n' >"$IT_TMP/py/tests/test_ok.py"
printf 'X = 1\n' >"$IT_TMP/py/app.py"
# The task names are whatever init chose; read them from the file.
(cd "$IT_TMP/py" && "$CELLAR_BIN" init) >"$IT_TMP/py.init.out" 2>&1 || { cat "$IT_TMP/py.init.out" >&2; fail "py: cellar init failed"; }
mapfile -t PY_TASKS < <(awk '/^pipeline:/ { p = 1; next } p && /^  "?[A-Za-z0-9_#@\/-]+"?:/ { sub(/^  /, ""); sub(/:.*/, ""); gsub(/"/, ""); print; next } p && /^[^ #]/ { p = 0 }' "$IT_TMP/py/cellar.yml")
((${#PY_TASKS[@]} >= 2)) || { cat "$IT_TMP/py/cellar.yml" >&2; fail "py: want a compile and a pytest task (pytest is listed), got: ${PY_TASKS[*]}"; }
grep -q 'pytest' "$IT_TMP/py/cellar.yml" || fail "py: pytest is listed but no task runs it"
rm "$IT_TMP/py/cellar.yml"
init_accepts py "${PY_TASKS[@]}"

# --- 4. the npm config run for real ---------------------------------------------------
WS="$IT_TMP/v2-npm"
(cd "$WS" && "$CELLAR_BIN" run build) >"$IT_TMP/real1.out" 2>&1 ||
  { cat "$IT_TMP/real1.out" >&2; fail "cellar run build failed on the npm fixture"; }
for p in packages/core packages/lib-a packages/lib-b tools/gen apps/app apps/docs; do
  [[ -s "$WS/$p/dist/out.txt" ]] || { cat "$IT_TMP/real1.out" >&2; fail "cellar run build: $p/dist/out.txt missing"; }
done
[[ -e "$WS/packages/shim/dist" ]] && fail "cellar run build: shim (no build script) has a dist/"
grep -qx '  lib-b built' "$WS/apps/docs/dist/out.txt" || fail "docs was not built from lib-b (through shim): $(cat "$WS/apps/docs/dist/out.txt")"
grep -qx '  gen built' "$WS/apps/app/dist/out.txt" || fail "app was not built from gen: $(cat "$WS/apps/app/dist/out.txt")"
n=$(grep -cx core "$WS/builds.log")
[[ "$n" -eq 1 ]] || fail "core#build ran $n times (diamond), want 1"
[[ $(wc -l <"$WS/builds.log") -eq 6 ]] || fail "want 6 builds, got: $(tr '\n' ' ' <"$WS/builds.log")"
cp -R "$WS/apps/app/dist" "$IT_TMP/app-dist-1"
rm -rf "$WS"/{packages,apps,tools}/*/dist
(cd "$WS" && "$CELLAR_BIN" run build) >"$IT_TMP/real2.out" 2>&1 ||
  { cat "$IT_TMP/real2.out" >&2; fail "second cellar run build failed"; }
[[ $(wc -l <"$WS/builds.log") -eq 6 ]] || { cat "$IT_TMP/real2.out" >&2; fail "second run executed builds (want all cache hits)"; }
[[ $(grep -c 'cache hit (local)' "$IT_TMP/real2.out") -eq 6 ]] || { cat "$IT_TMP/real2.out" >&2; fail "second run: want 6 'cache hit (local)' lines"; }
diff -r "$IT_TMP/app-dist-1" "$WS/apps/app/dist" >&2 || fail "second run: restored app/dist differs"
pass "cellar run build on init's config: 6 builds in order (core once), outputs present; second run 6 local hits, outputs restored"

# --- 5. --dry=json explains a global miss -------------------------------------------
(cd "$WS" && "$CELLAR_BIN" run build --dry=json) >"$IT_TMP/why1.json" || fail "dry run before the lockfile change failed"
echo >>"$WS/package-lock.json"
(cd "$WS" && "$CELLAR_BIN" run build --dry=json) >"$IT_TMP/why2.json" || fail "dry run after the lockfile change failed"
# without_hashes FILE: the JSON minus run ids, times, the hashes themselves
# and the hashes of dependencies (they change with the global part too): what
# is left is what went in.
without_hashes() {
  node -e '
    const strip = (v, key) => Array.isArray(v) ? v.map((x) => strip(x))
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v)
            .filter(([k]) => !/^(hash|globalHash|id|startedAtUnixMs)$/.test(k))
            .map(([k, x]) => [k, key === "dependencies" ? "<hash>" : strip(x, k)]))
        : v;
    console.log(JSON.stringify(strip(require(process.argv[1])), null, 1));' "$1"
}
[[ "$(node -e 'console.log(require(process.argv[1]).tasks[0].hash)' "$IT_TMP/why1.json")" != \
   "$(node -e 'console.log(require(process.argv[1]).tasks[0].hash)' "$IT_TMP/why2.json")" ]] ||
  fail "a changed package-lock.json did not change the task hashes"
if diff <(without_hashes "$IT_TMP/why1.json") <(without_hashes "$IT_TMP/why2.json") >/dev/null; then
  check_failed "package-lock.json changed and every hash with it, but --dry=json shows no input that changed (no global manifest: lockfiles, globalDependencies, task definitions)"
else
  pass "--dry=json shows what changed in the global part of the hash"
fi

# --- 6. $TURBO_DEFAULT$ plus extra inputs -------------------------------------------
git -C "$WS" checkout -q package-lock.json
node -e 'const f=process.argv[1], j=require(f); j.tasks.build.inputs=["$TURBO_DEFAULT$", ".env*"];
         require("fs").writeFileSync(f, JSON.stringify(j, null, 2))' "$WS/turbo.json"
printf '.env*.local\n' >>"$WS/.gitignore"
echo 'API=1' >"$WS/tools/gen/.env.local"
(cd "$WS" && "$CELLAR_BIN" init --force) >"$IT_TMP/env.init.out" 2>&1 || { cat "$IT_TMP/env.init.out" >&2; fail "cellar init --force failed"; }
# input_files FILE: the input file names of @acc/gen#build in a dry-run JSON.
input_files() {
  node -e 'const t=require(process.argv[1]).tasks.find((t) => t.taskId === "@acc/gen#build");
           console.log(Object.keys(t.inputs).sort().join(" "))' "$1"
}
(cd "$WS" && "$TURBO" run build --filter @acc/gen --dry=json) >"$IT_TMP/env.turbo.json" 2>"$IT_TMP/env.turbo.err" ||
  { cat "$IT_TMP/env.turbo.err" >&2; fail "turbo --dry=json with .env* inputs failed"; }
(cd "$WS" && "$CELLAR_BIN" run build --filter @acc/gen --dry=json) >"$IT_TMP/env.cellar.json" ||
  fail "cellar --dry=json with .env* inputs failed"
want=$(input_files "$IT_TMP/env.turbo.json")
got=$(input_files "$IT_TMP/env.cellar.json")
[[ "$want" == *.env.local* ]] || fail "turbo does not hash .env.local ($want): the fixture is wrong"
if [[ "$got" == "$want" ]]; then
  pass "inputs [\$TURBO_DEFAULT\$, .env*]: cellar hashes the files turbo hashes ($got)"
else
  check_failed "inputs [\$TURBO_DEFAULT\$, .env*]: turbo hashes '$want', cellar (after init) '$got' ($(grep -A3 '"build":' "$WS/cellar.yml" | tr '\n' ' '))"
fi

((${#FAILED[@]} == 0)) || fail "${#FAILED[@]} check(s) failed: ${FAILED[*]}"
