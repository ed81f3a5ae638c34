#!/usr/bin/env bash
# Side-by-side benchmark of `cellar run build` against the real `turbo run
# build` (turbo pinned in scripts/install-node-clients.sh), with the machine's
# own ceiling (the same build commands run by make, no task runner) in the same
# run, on a generated monorepo (bench/make_task_bench_repo.py: 50 npm-workspace
# packages on 4 levels, dependencies with plain semver ranges, 200 source files
# each; every package's build is `npm run build` -> `node build.js`, which
# bundles src/ into dist/ and fails when a dependency's dist/ is missing).
#
# Both runners use one `cellar serve` (started here, data on the VM disk) as
# their remote cache: turbo through /turbo (TURBO_API, TURBO_TOKEN,
# TURBO_TEAM), cellar through /v1/negotiate (cellar.yml's remote block).
# Each runner works in a checkout of its own (git clones of the generated
# repository); both run with the same concurrency (CONC, default: the number
# of cores), which is also make's -j for the ceiling. Scenarios, in this order:
#
#   cold     every task misses both caches (a fresh BENCH_SALT, which both
#            configs hash as an env key, so no server state is reset), local
#            caches and outputs wiped: build, store locally, upload. Also run:
#            "bare", `make -jCONC` of the same commands in dependency order
#            (the ceiling: no hashing, no cache, no logs kept).
#   local    nothing changed since the last run: every task a local hit.
#   remote   the same checkout with local caches (.turbo/, .cellar/,
#            node_modules/.cache) and outputs wiped, as on a fresh CI clone:
#            every task a remote hit, outputs restored.
#   changed  one source file of a bottom-level package edited (new content
#            every repetition): that package and its dependents rebuild, the
#            rest hit locally. "bare" rebuilds exactly those packages.
#
# Repetitions (REPS, COLD_REPS) rotate the order of the runners. Each run is
# checked, untimed, before it counts: exit status 0, the runner's own
# "Cached: N cached, M total" line says the expected number of hits, and the
# outputs (every file under packages/*/dist, by SHA-256) equal the bare
# build's. Measured per run by bench/measure_run.py: wall time, CPU (user+sys
# of the runner and every task process it waited for), peak RSS of the runner
# process itself and of the largest process of the tree, and the cache
# server's CPU meanwhile. The report gives medians and minimums, and the
# ratios cellar/turbo and runner/bare.
#
#   bash bench/task_runner_bench.sh            # COLD_REPS=2 REPS=3: 5.2 min at load ~4 on the 2-core VM
#   bash bench/task_runner_bench.sh --quick    # smoke test: 8 packages x 20 files, 1 repetition
#   RUNNERS="turbo cellar"   which runners to measure ("turbo" alone: turbo and the ceiling)
#   PACKAGES=50 FILES=200    size of the generated monorepo
#   REPS=5 COLD_REPS=3       repetitions of the hit/changed scenarios and of the cold one
#   CONC=$(nproc)            task concurrency of both runners and make -j
#   BUILD=build              where the cellar binary is ($BUILD/src/cli/cellar)
#   REPO_CACHE=tools/bench   the generated repository is kept here between runs
#                            (keyed by the generator's content and parameters)
#   KEEP_WORK=1              leave the work dir (checkouts, logs, server data)
#   RESULTS_JSON=FILE        also copy the per-run JSON lines to FILE
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "task_runner_bench: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [[ $QUICK == 1 ]]; then
  PACKAGES="${PACKAGES:-8}"; FILES="${FILES:-20}"; REPS="${REPS:-1}"; COLD_REPS="${COLD_REPS:-1}"
fi
BUILD="${BUILD:-build}"
RUNNERS="${RUNNERS:-turbo cellar}"
PACKAGES="${PACKAGES:-50}"
FILES="${FILES:-200}"
REPS="${REPS:-5}"
COLD_REPS="${COLD_REPS:-3}"
CONC="${CONC:-$(nproc)}"
REPO_CACHE="${REPO_CACHE:-tools/bench}"
TOKEN=task-bench-token-0123456789
TEAM=bench
die() { echo "task_runner_bench: $*" >&2; exit 1; }
note() { echo "task_runner_bench: $*" >&2; }
source bench/bench_lib.sh
for v in PACKAGES FILES REPS COLD_REPS CONC; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
((PACKAGES >= 4)) || die "PACKAGES must be at least 4 (one per level)"
for r in $RUNNERS; do [[ $r == turbo || $r == cellar ]] || die "RUNNERS may name turbo and cellar only"; done
for tool in node npm git make curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install nodejs npm git make curl python3)"
done
want() { [[ " $RUNNERS " == *" $1 "* ]]; }

# --- clients and server -------------------------------------------------------------
CELLAR="$(readlink -f "$BUILD/src/cli/cellar" 2>/dev/null || true)"
[[ -n "$CELLAR" && -x "$CELLAR" ]] || die "no cellar binary at $BUILD/src/cli/cellar; build first: scripts/build.sh"
if want cellar; then
  "$CELLAR" run --help >/dev/null 2>&1 ||
    die "this cellar build has no 'cellar run'; RUNNERS=turbo measures turbo and the ceiling alone"
fi
NODE_BIN="$(bash scripts/install-node-clients.sh)" || die "scripts/install-node-clients.sh failed"
# The native turbo binary, not the node shim in .bin that looks it up and
# starts it: the shim costs a node start-up per run that a turbo user with a
# global or native install does not pay.
TURBO="$(readlink -f "$NODE_BIN/../@turbo/linux-64/bin/turbo" 2>/dev/null || true)"
[[ -x "$TURBO" ]] || TURBO="$NODE_BIN/turbo"

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1  # for turbo --version

WORK="$(mktemp -d /tmp/cellar-taskbench.XXXXXX)"
spread_subdirs "$WORK"
# npm's settings go in the HOME of the run, not in npm_config_* variables,
# which turbo does not pass to its tasks (see RUN_ENV below).
export HOME="$WORK/home"
mkdir -p "$HOME" "$WORK/logs"
printf 'update-notifier=false\nfund=false\naudit=false\n' >"$HOME/.npmrc"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ -n "${KEEP_WORK:-}" ]]; then note "KEEP_WORK set; left $WORK"; else rm -rf "$WORK"; fi
  return 0
}
trap cleanup EXIT

SERVER_LOG="$WORK/cellar.log"
mkdir -p "$WORK/data"; spread_subdirs "$WORK/data"
"$CELLAR" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --access-log=false \
  --token "bench:$TOKEN:read,write" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
PORT=$(cellar_port "$SERVER_PID" "$SERVER_LOG")
URL="http://127.0.0.1:$PORT"
code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/turbo/v8/artifacts/status" || true)
[[ $code == 200 ]] || die "cellar answers $code to GET /turbo/v8/artifacts/status"
# Every runner starts with this environment and nothing else. turbo hands its
# tasks only a filtered environment (strict env mode) and make and cellar the
# whole one; a variable such as NODE_EXTRA_CA_CERTS (node then parses the CA
# bundle at every start, twice per `npm run`) would otherwise cost the other
# runners' tasks CPU that turbo's do not pay.
RUN_ENV=(PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  TURBO_API="$URL/turbo" TURBO_TOKEN="$TOKEN" TURBO_TEAM="$TEAM"
  TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1
  CELLAR_BENCH_URL="$URL" CELLAR_BENCH_TOKEN="$TOKEN")

# --- the monorepo ---------------------------------------------------------------------
# Generating 10,000 files takes minutes on a busy VM, so the repository is
# kept in REPO_CACHE under a key of the generator's content and parameters.
GEN=bench/make_task_bench_repo.py
KEY=$( { cat "$GEN"; echo "$PACKAGES $FILES"; } | sha256sum | cut -c1-16)
mkdir -p "$REPO_CACHE"
REPO="$(cd "$REPO_CACHE" && pwd)/task-bench-repo-$KEY"
if [[ ! -f "$REPO.graph.tsv" || ! -d "$REPO/.git" ]]; then
  note "generating the monorepo ($PACKAGES packages x $FILES files) in $REPO"
  rm -rf "$REPO" "$REPO.graph.tsv" "$REPO.tmp" "$REPO.tmp.graph.tsv"
  python3 "$GEN" "$REPO.tmp" --packages "$PACKAGES" --files "$FILES" || die "generating the monorepo failed"
  mv "$REPO.tmp.graph.tsv" "$REPO.graph.tsv"
  mv "$REPO.tmp" "$REPO"
fi
GRAPH="$REPO.graph.tsv"
NTASKS=$(wc -l <"$GRAPH")
TASK_CMD="npm run build"  # what turbo runs for the package.json script, and cellar.yml's command
CKS=(bare); for r in $RUNNERS; do CKS+=("$r"); done
for ck in "${CKS[@]}"; do
  git clone -q "$REPO" "$WORK/$ck" || die "git clone of $REPO failed"
done

# The package whose source the "changed" scenario edits: the bottom-level
# package with the fewest dependents (at least one), and the packages that
# rebuild (it and everything above it), in topological order.
read -r CHANGED_PKG AFFECTED < <(python3 - "$GRAPH" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
deps = {r[0]: r[2:] for r in rows}
order = [r[0] for r in rows]
def above(p):
    out = {p}
    changed = True
    while changed:
        changed = False
        for q in order:
            if q not in out and any(d in out for d in deps[q]):
                out.add(q)
                changed = True
    return out
best = None
for r in rows:
    if r[1] != "0":
        continue
    n = len(above(r[0]))
    if n >= 2 and (best is None or n < best[1]):
        best = (r[0], n)
if best is None:
    sys.exit("no bottom-level package has dependents")
aff = above(best[0])
print(best[0], ",".join(q for q in order if q in aff))
PY
)
NAFFECTED=$(tr ',' '\n' <<<"$AFFECTED" | wc -l)

# --- running and checking ---------------------------------------------------------------
# bare_makefile [PKG...]: a makefile that runs $(CMD) in each named package
# (default: all), after those of its dependencies that are also named.
bare_makefile() {
  python3 - "$GRAPH" "$@" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
only = set(sys.argv[2:]) or {r[0] for r in rows}
names = [r[0] for r in rows if r[0] in only]
print(".PHONY: all " + " ".join(names))
print("all: " + " ".join(names))
for r in rows:
    if r[0] in only:
        print("%s: %s\n\t@cd packages/%s && $(CMD)" % (r[0], " ".join(d for d in r[2:] if d in only), r[0]))
PY
}
bare_makefile >"$WORK/bare-all.mk"
# shellcheck disable=SC2086  # AFFECTED is a comma list turned into words on purpose
bare_makefile ${AFFECTED//,/ } >"$WORK/bare-changed.mk"

wipe() {  # wipe CHECKOUT: local caches and outputs, as in a fresh clone
  rm -rf "$1/.turbo" "$1/.cellar" "$1/node_modules" "$1"/packages/*/dist "$1"/packages/*/.turbo
}
outputs_digest() {  # outputs_digest CHECKOUT: one hash over every output file's path and content
  (cd "$1" && find packages -path '*/dist/*' -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-16)
}
cached_line() {  # cached_line LOG: "CACHED TOTAL" from the runner's summary
  sed -n 's/^ *Cached: *\([0-9][0-9]*\) cached, \([0-9][0-9]*\) total.*/\1 \2/p' "$1" | tail -n 1
}

RESULTS="$WORK/results.jsonl"; : >"$RESULTS"
SALT=""
# one RUNNER SCENARIO REP WANT_CACHED: one measured run in the runner's checkout.
one() {
  local runner=$1 scen=$2 rep=$3 want=$4 ck="$WORK/$1" log="$WORK/logs/$2-$3-$1.log" cmd m cached=- total=-
  case $runner in
    bare)
      local mk="$WORK/bare-all.mk"; [[ $scen == changed ]] && mk="$WORK/bare-changed.mk"
      cmd=(make -s -f "$mk" -j"$CONC" CMD="$TASK_CMD") ;;
    turbo) cmd=("$TURBO" run build --concurrency "$CONC" --ui=stream) ;;
    cellar) cmd=("$CELLAR" run build --concurrency "$CONC") ;;
  esac
  m=$(cd "$ck" && env -i "${RUN_ENV[@]}" BENCH_SALT="$SALT" \
    python3 "$ROOT/bench/measure_run.py" "$log" --server-pid "$SERVER_PID" -- "${cmd[@]}") ||
    die "$runner $scen #$rep: measure_run.py failed"
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$SERVER_LOG" >&2; die "cellar serve died during $runner $scen #$rep"; }
  if [[ $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["exit"])' "$m") != 0 ]]; then
    tail -n 30 "$log" >&2
    die "$runner $scen #$rep failed (log above: $log)"
  fi
  if [[ $runner != bare ]]; then
    read -r cached total < <(cached_line "$log") || true
    [[ "$cached $total" == "$want $NTASKS" ]] || {
      tail -n 30 "$log" >&2
      die "$runner $scen #$rep: '${cached:-?} cached, ${total:-?} total', want '$want cached, $NTASKS total'"
    }
    if [[ $runner == turbo ]]; then
      grep -q 'Remote caching enabled' "$log" || die "$runner $scen #$rep: turbo did not enable its remote cache ($log)"
    fi
    # turbo's lines do not name the source of a hit; with its local cache
    # wiped, a hit can only be remote. cellar's say it.
    if [[ $runner == cellar && ($scen == remote || $scen == local) ]]; then
      local n; n=$(grep -c "cache hit ($scen)" "$log" || true)
      ((n == NTASKS)) || die "cellar $scen #$rep: $n 'cache hit ($scen)' lines, want $NTASKS ($log)"
    fi
  fi
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
r.update(runner=sys.argv[2], scenario=sys.argv[3], rep=int(sys.argv[4]), cached=sys.argv[5])
print(json.dumps(r))' "$m" "$runner" "$scen" "$rep" "$cached" >>"$RESULTS"
  printf '  %-7s %-6s #%d  %6.2f s wall  %6.2f s CPU  cached %s\n' "$scen" "$runner" "$rep" \
    "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["wall_s"])' "$m")" \
    "$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["user_s"] + r["sys_s"])' "$m")" "$cached" >&2
}
# rotated N RUNNER...: the runners, rotated left by N.
rotated() {
  local n=$1; shift
  local a=("$@") i
  for ((i = 0; i < ${#a[@]}; i++)); do echo "${a[$(( (i + n) % ${#a[@]} ))]}"; done
}
# same_outputs WHAT RUNNER...: their outputs equal the bare build's.
same_outputs() {
  local what=$1 r; shift
  for r in "$@"; do
    [[ "$(outputs_digest "$WORK/$r")" == "$EXPECTED" ]] || die "$what: $r's outputs differ from the bare build's"
  done
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
note "$NTASKS packages x $FILES source files, $(find "$REPO/packages" -type f | wc -l) files in packages/;" \
  "concurrency $CONC; runners: $RUNNERS (+ bare); turbo $(cd / && "$TURBO" --version) ($TURBO);" \
  "node $(node --version), npm $(npm --version); $("$CELLAR" --version) ($CELLAR, checkout at $(git -C "$ROOT" rev-parse --short HEAD)); load $LOAD0"
awk -v l="${LOAD0%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }' &&
  note "warning: load average ${LOAD0%% *} on $(nproc) cores; timings will be noisy"
T0=$SECONDS
NONCE="$(date +%s)-$$"

# (c) cold ---------------------------------------------------------------------------------
for ((rep = 1; rep <= COLD_REPS; rep++)); do
  SALT="cold-$NONCE-$rep"
  for r in $(rotated $((rep - 1)) "${CKS[@]}"); do
    wipe "$WORK/$r"
    one "$r" cold "$rep" 0
  done
  EXPECTED=$(outputs_digest "$WORK/bare")
  same_outputs "cold #$rep" $RUNNERS
done
# (a) local hits, with the last cold run's salt --------------------------------------------
for ((rep = 1; rep <= REPS; rep++)); do
  for r in $(rotated $((rep - 1)) $RUNNERS); do one "$r" local "$rep" "$NTASKS"; done
  same_outputs "local #$rep" $RUNNERS
done
# (b) remote hits: local caches and outputs wiped ------------------------------------------
for ((rep = 1; rep <= REPS; rep++)); do
  for r in $(rotated $((rep - 1)) $RUNNERS); do wipe "$WORK/$r"; one "$r" remote "$rep" "$NTASKS"; done
  same_outputs "remote #$rep" $RUNNERS
done
# (d) one source file changed ----------------------------------------------------------------
for ((rep = 1; rep <= REPS; rep++)); do
  for ck in "${CKS[@]}"; do
    echo "// bench edit $NONCE-$rep" >>"$WORK/$ck/packages/$CHANGED_PKG/src/mod000.js"
  done
  for r in $(rotated $((rep - 1)) "${CKS[@]}"); do one "$r" changed "$rep" $((NTASKS - NAFFECTED)); done
  EXPECTED=$(outputs_digest "$WORK/bare")
  same_outputs "changed #$rep" $RUNNERS
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
note "measured in $((SECONDS - T0)) s; load average at the end: $LOAD1"
[[ -n "${RESULTS_JSON:-}" ]] && cp "$RESULTS" "$RESULTS_JSON"

python3 - "$RESULTS" "$NTASKS" "$NAFFECTED" "$CHANGED_PKG" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ntasks, naffected, changed_pkg = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
runners = [r for r in ("bare", "turbo", "cellar") if any(x["runner"] == r for x in rows)]
scenarios = [("cold", "(c) cold: all miss, build, upload"), ("local", "(a) full local hit"),
             ("remote", "(b) full remote hit, clean checkout"),
             ("changed", "(d) one input changed (%s: %d of %d tasks run)" % (changed_pkg, naffected, ntasks))]

def runs(runner, scen):
    return [x for x in rows if x["runner"] == runner and x["scenario"] == scen]

def med(rs, f):
    return statistics.median(f(x) for x in rs)

cpu = lambda x: x["user_s"] + x["sys_s"]
print()
print("| scenario | runner | runs | wall median s | wall min s | CPU median s | runner peak RSS MiB | largest process MiB | server CPU s |")
print("|---|---|---|---|---|---|---|---|---|")
for scen, title in scenarios:
    for r in runners:
        rs = runs(r, scen)
        if not rs:
            continue
        print("| %s | %s | %d | %.3f | %.3f | %.3f | %.0f | %.0f | %.3f |" % (
            title, r, len(rs), med(rs, lambda x: x["wall_s"]), min(x["wall_s"] for x in rs), med(rs, cpu),
            max(x["self_rss_kib"] for x in rs) / 1024, max(x["tree_rss_kib"] for x in rs) / 1024,
            med(rs, lambda x: x["server_cpu_s"])))
print()
print("Ratios of medians (of minimums in brackets); CPU includes the task processes.")
print()
print("| scenario | cellar/turbo wall | cellar/turbo CPU | turbo/bare wall | cellar/bare wall | target |")
print("|---|---|---|---|---|---|")
target = {"cold": "cellar/bare < 1.05", "local": "cellar/turbo <= 0.5", "remote": "cellar/turbo <= 0.5", "changed": ""}
def ratio(a, b, scen, f):
    ra, rb = runs(a, scen), runs(b, scen)
    if not ra or not rb:
        return "-"
    return "%.2f (%.2f)" % (med(ra, f) / med(rb, f), min(f(x) for x in ra) / min(f(x) for x in rb))
wall = lambda x: x["wall_s"]
for scen, title in scenarios:
    print("| %s | %s | %s | %s | %s | %s |" % (
        title, ratio("cellar", "turbo", scen, wall), ratio("cellar", "turbo", scen, cpu),
        ratio("turbo", "bare", scen, wall), ratio("cellar", "bare", scen, wall), target[scen]))
PY
