#!/usr/bin/env bash
# Side-by-side benchmark of cellar's npm registry (/npm/) against Verdaccio,
# both pull-through caches of the same upstream, both warm, in one run:
#
#   1. `npm ci` of bench/fixtures/npm-300 (a committed lockfile of ~330 pure-JS
#      packages: no install scripts, no native or optional dependencies) with an
#      empty npm cache and a fresh node_modules every run. npm rewrites the
#      lockfile's registry.npmjs.org URLs to --registry (replace-registry-host=
#      npmjs, its default), so every tarball goes through the proxy under test.
#      One untimed run per proxy fills it, then RUNS timed runs each, the order
#      rotated every round. Two reference lines: "npm floor" (the same npm ci
#      from a pre-filled npm cache with --offline: npm's own unpacking and
#      bookkeeping, no HTTP at all; no proxy can beat it) and "direct" (one run
#      straight against the upstream; the internet, so only indicative).
#   2. wrk -t2 -c64 --latency for WRK_SECS seconds against each server: a large
#      packument with `Accept: application/json` (what npm 11 asks for while
#      resolving) and with `Accept: application/vnd.npm.install-v1+json` (the
#      abbreviated form), and one tarball. Each URL is fetched and checked once
#      first, so both serve it from their cache.
#
#   bash bench/npm_bench.sh [RUNS_PER_CONTENDER]        (default 3)
#   NPM_ON=disk|tmpfs|both     where npm's cache and node_modules live (default both:
#                              the work dir under /tmp, like a CI runner's disk, and
#                              TMPFS_DIR (default /dev/shm), where the client's floor
#                              is lower and the disk's noise is gone)
#   WRK_SECS=10                seconds per wrk cell
#   PACKUMENT=eslint           the large packument (must be in the lockfile)
#   TARBALL_PKG=lodash         the package whose locked tarball wrk fetches
#   NPM_UPSTREAM=https://registry.npmjs.org   upstream of both proxies
#   TOOLS=tools/bench          where Verdaccio is installed (pinned; installed if missing)
#
# Verdaccio runs with its default settings (packuments fresh for 2 minutes,
# `maxage`), a config written into the work dir: storage there, one uplink
# (NPM_UPSTREAM), '@*/*' and '**' readable by $all and proxied, logs at warn to
# a file. cellar runs with its defaults (--npm-max-age 5m) and no access log.
# Prints every run, the tables and the ratios (npm ci: verdaccio/cellar wall
# time, higher = cellar faster; wrk: cellar/verdaccio req/s and
# verdaccio/cellar p99), the CPU time each server spends per npm ci, and both
# servers' peak RSS. Needs a build
# (scripts/build.sh), node >= 20 with npm, wrk, curl and python3, and access to
# NPM_UPSTREAM. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
BUILD="${BUILD:-build}"
TOOLS="${TOOLS:-tools/bench}"
VERDACCIO_VERSION=6.8.0  # the newest 6.x that still runs on node 20 (6.9+ need node 22)
WRK_SECS="${WRK_SECS:-10}"
PACKUMENT="${PACKUMENT:-eslint}"
TARBALL_PKG="${TARBALL_PKG:-lodash}"
UPSTREAM="${NPM_UPSTREAM:-https://registry.npmjs.org}"
UPSTREAM="${UPSTREAM%/}"
FIXTURE="$PWD/bench/fixtures/npm-300"
CELLAR="$(readlink -f "$BUILD/src/cli/cellar" 2>/dev/null || true)"
die() { echo "npm_bench: $*" >&2; exit 1; }
source bench/bench_lib.sh  # the script runs from the repository root
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS_PER_CONTENDER must be a positive integer, got '$RUNS'"
[[ "$WRK_SECS" =~ ^[1-9][0-9]*$ ]] || die "WRK_SECS must be a positive integer, got '$WRK_SECS'"
[[ -n "$CELLAR" && -x "$CELLAR" ]] || die "no cellar binary at $BUILD/src/cli/cellar; build first: scripts/build.sh"
for tool in node npm wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh --with-test-tools)"
done
[[ -f "$FIXTURE/package.json" && -f "$FIXTURE/package-lock.json" ]] || die "missing fixture $FIXTURE"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
(( NODE_MAJOR >= 20 )) || die "Verdaccio $VERDACCIO_VERSION needs node >= 20, this is $(node --version)"

# --- npm: isolated from the caller's configuration ----------------------------
for v in $(compgen -e | grep -i '^npm_config_' || true); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

# --- Verdaccio: pinned, installed into $TOOLS if missing ----------------------
VERDACCIO="$TOOLS/node_modules/.bin/verdaccio"
installed_version() {
  node -p 'require(require("path").resolve(process.argv[1], "node_modules/verdaccio/package.json")).version' \
    "$TOOLS" 2>/dev/null || true
}
if [[ "$(installed_version)" != "$VERDACCIO_VERSION" ]]; then
  echo "npm_bench: installing verdaccio@$VERDACCIO_VERSION into $TOOLS" >&2
  mkdir -p "$TOOLS"
  # The override: verdaccio-audit asks for node-fetch by the dist-tag "cjs",
  # which not every registry mirror carries; 2.7.0 is what that tag names.
  cat > "$TOOLS/package.json" <<JSON
{
  "private": true,
  "description": "generated by bench/npm_bench.sh; do not edit",
  "dependencies": { "verdaccio": "$VERDACCIO_VERSION" },
  "overrides": { "node-fetch@cjs": "2.7.0" }
}
JSON
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error >&2 \
    || die "npm install --prefix $TOOLS verdaccio@$VERDACCIO_VERSION failed"
  [[ "$(installed_version)" == "$VERDACCIO_VERSION" ]] || die "verdaccio $VERDACCIO_VERSION did not install into $TOOLS"
fi
VERDACCIO="$(readlink -f "$VERDACCIO")"

WORK="$(mktemp -d /tmp/cellar-npmbench.XXXXXX)"
CELLAR_PID=""; VERDACCIO_PID=""; SHM=""
cleanup() {
  [[ -n "$CELLAR_PID" ]] && kill "$CELLAR_PID" 2>/dev/null || true
  [[ -n "$VERDACCIO_PID" ]] && kill "$VERDACCIO_PID" 2>/dev/null || true
  [[ -n "$CELLAR_PID" ]] && wait "$CELLAR_PID" 2>/dev/null || true
  [[ -n "$VERDACCIO_PID" ]] && wait "$VERDACCIO_PID" 2>/dev/null || true
  rm -rf "$WORK"
  [[ -n "$SHM" ]] && rm -rf "$SHM"
  return 0
}
trap cleanup EXIT

export NPM_CONFIG_USERCONFIG="$WORK/npmrc"
cat > "$NPM_CONFIG_USERCONFIG" <<'RC'
update-notifier=false
audit=false
fund=false
progress=false
loglevel=warn
replace-registry-host=npmjs
RC

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- Verdaccio ------------------------------------------------------------------
VERDACCIO_PORT=$(free_port)
mkdir -p "$WORK/verdaccio/storage"
cat > "$WORK/verdaccio/config.yaml" <<YAML
storage: $WORK/verdaccio/storage
uplinks:
  npmjs:
    url: $UPSTREAM/
packages:
  '@*/*':
    access: \$all
    proxy: npmjs
  '**':
    access: \$all
    proxy: npmjs
listen: 127.0.0.1:$VERDACCIO_PORT
log: { type: file, path: $WORK/verdaccio.log, level: warn }
YAML
"$VERDACCIO" --config "$WORK/verdaccio/config.yaml" >"$WORK/verdaccio.out" 2>&1 &
VERDACCIO_PID=$!
VERDACCIO_URL="http://127.0.0.1:$VERDACCIO_PORT/"
for _ in $(seq 200); do
  curl -sf -o /dev/null "${VERDACCIO_URL}-/ping" && break
  kill -0 "$VERDACCIO_PID" 2>/dev/null || { cat "$WORK/verdaccio.out" "$WORK/verdaccio.log" >&2 2>/dev/null; die "verdaccio exited at start-up"; }
  sleep 0.1
done
curl -sf -o /dev/null "${VERDACCIO_URL}-/ping" || die "verdaccio does not answer on $VERDACCIO_URL"

# --- cellar -----------------------------------------------------------------------
CELLAR_ARGS=(serve --listen 127.0.0.1:0 --data-dir "$WORK/cellar-data" --access-log=false --npm-upstream "$UPSTREAM")
"$CELLAR" "${CELLAR_ARGS[@]}" >"$WORK/cellar.log" 2>&1 &
CELLAR_PID=$!
CELLAR_PORT=$(cellar_port "$CELLAR_PID" "$WORK/cellar.log")
CELLAR_BASE="http://127.0.0.1:$CELLAR_PORT"
CELLAR_URL="$CELLAR_BASE/npm/"

declare -A REGISTRY=([cellar]="$CELLAR_URL" [verdaccio]="$VERDACCIO_URL" [direct]="$UPSTREAM/")
CONTENDERS=(cellar verdaccio floor)

# cellar's counters: tarball requests served, and requests it sent upstream.
metric_sum() {  # metric_sum NAME [LABEL_FILTER]
  curl -sf "$CELLAR_BASE/metrics" | awk -v m="$1" -v f="${2:-}" \
    'index($0, m) == 1 && (f == "" || index($0, f) > 0) { s += $NF } END { printf "%d\n", s }'
}

EXPECTED_PKGS=$(python3 -c 'import json, sys; print(sum(1 for k in json.load(open(sys.argv[1]))["packages"] if k))' \
  "$FIXTURE/package-lock.json")

# Where npm's cache and node_modules live; see the header.
NPM_ON="${NPM_ON:-both}"
TMPFS_DIR="${TMPFS_DIR:-/dev/shm}"
case "$NPM_ON" in
  disk) KINDS=(disk) ;;
  tmpfs|both)
    if [[ -d "$TMPFS_DIR" && -w "$TMPFS_DIR" && "$(stat -f -c %T "$TMPFS_DIR")" == tmpfs ]]; then
      SHM="$(mktemp -d "$TMPFS_DIR/cellar-npmbench.XXXXXX")"
      [[ $NPM_ON == both ]] && KINDS=(disk tmpfs) || KINDS=(tmpfs)
    elif [[ $NPM_ON == both ]]; then
      echo "npm_bench: $TMPFS_DIR is not a writable tmpfs; npm on disk only" >&2
      KINDS=(disk)
    else
      die "$TMPFS_DIR is not a writable tmpfs (set TMPFS_DIR)"
    fi ;;
  *) die "NPM_ON must be disk, tmpfs or both, got '$NPM_ON'" ;;
esac

# npm_ci NAME BASE: one `npm ci` of the fixture in a fresh directory under
# BASE; sets SECS to its wall time. NAME is a contender, "direct", or "floor"
# (offline, from BASE/cache-floor, which "fill-floor" fills once through
# cellar). The npm cache is emptied before every run except the floor's.
# Fails the benchmark on any error or an incomplete node_modules.
npm_ci() {
  local name=$1 base=$2 dir="$2/ci" cache="$2/cache-$1" t0 t1 got
  local args=(ci --no-audit --no-fund)
  case "$name" in
    floor) args+=(--offline --cache "$base/cache-floor") ;;
    fill-floor) rm -rf "$base/cache-floor"; args+=(--cache "$base/cache-floor" --registry "$CELLAR_URL") ;;
    *) rm -rf "$cache"; args+=(--cache "$cache" --registry "${REGISTRY[$name]}") ;;
  esac
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$FIXTURE/package.json" "$FIXTURE/package-lock.json" "$dir/"
  sync
  t0=$EPOCHREALTIME
  if ! (cd "$dir" && npm "${args[@]}") >"$WORK/npm-$name.out" 2>&1; then
    cat "$WORK/npm-$name.out" >&2
    echo "--- last cellar log lines:" >&2; tail -n 20 "$WORK/cellar.log" >&2
    echo "--- last verdaccio log lines:" >&2; tail -n 20 "$WORK/verdaccio.log" >&2
    die "npm ci ($name: npm ${args[*]}) failed"
  fi
  t1=$EPOCHREALTIME
  SECS=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
  got=$(python3 -c 'import json, sys; print(sum(1 for k in json.load(open(sys.argv[1]))["packages"] if k))' \
    "$dir/node_modules/.package-lock.json" 2>/dev/null || echo 0)
  [[ $got -eq $EXPECTED_PKGS ]] || die "$name: node_modules holds $got packages, expected $EXPECTED_PKGS"
  rm -rf "$dir"
  [[ $name == floor || $name == fill-floor ]] || rm -rf "$cache"
}

echo "npm_bench: fixture $EXPECTED_PKGS packages; node $(node --version), npm $(npm --version)," \
  "verdaccio $VERDACCIO_VERSION, $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); upstream $UPSTREAM;" \
  "$RUNS timed runs per contender; npm cache and node_modules on: ${KINDS[*]}"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$LOAD0" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }' &&
  echo "npm_bench: warning: load average $LOAD0 on $(nproc) cores; timings will be noisy" >&2

TIMES="$WORK/times.txt"; : > "$TIMES"
# CPU time (user + system) the server under test spends on one npm ci.
CLK_TCK=$(getconf CLK_TCK)
CELLAR_UPSTREAM=0; CELLAR_TARBALLS=0
for kind in "${KINDS[@]}"; do
  [[ $kind == disk ]] && BASE="$WORK/npm" || BASE="$SHM/npm"
  mkdir -p "$BASE"
  # Untimed: the first run through each proxy fills it (its only cold run);
  # later ones warm the page cache. fill-floor fills the floor's npm cache.
  for name in cellar verdaccio fill-floor; do
    npm_ci "$name" "$BASE"
    echo "$kind warm-up $name: ${SECS}s"
  done
  for ((round = 0; round < RUNS; round++)); do
    for ((k = 0; k < ${#CONTENDERS[@]}; k++)); do
      name=${CONTENDERS[$(( (round + k) % ${#CONTENDERS[@]} ))]}
      pid=""; [[ $name == cellar ]] && pid=$CELLAR_PID; [[ $name == verdaccio ]] && pid=$VERDACCIO_PID
      if [[ $name == cellar ]]; then
        up0=$(metric_sum cellar_npm_upstream_requests_total); tb0=$(metric_sum cellar_npm_requests_total 'kind="tarball"')
      fi
      [[ -n $pid ]] && cpu0=$(cpu_ticks "$pid")
      npm_ci "$name" "$BASE"
      cpu="-"
      [[ -n $pid ]] && cpu=$(python3 -c "print(f'{($(cpu_ticks "$pid") - $cpu0) / $CLK_TCK:.2f}')")
      if [[ $name == cellar ]]; then
        CELLAR_UPSTREAM=$(( CELLAR_UPSTREAM + $(metric_sum cellar_npm_upstream_requests_total) - up0 ))
        CELLAR_TARBALLS=$(( $(metric_sum cellar_npm_requests_total 'kind="tarball"') - tb0 ))
      fi
      echo "$kind $name $SECS $cpu" >> "$TIMES"
      echo "$kind run $((round + 1)) $name ${SECS}s$([[ $cpu != - ]] && echo " (server CPU ${cpu}s)")"
    done
  done
  # Reference, once: straight from the upstream (over the internet).
  npm_ci direct "$BASE"
  echo "$kind direct $SECS -" >> "$TIMES"
  echo "$kind reference direct ($UPSTREAM): ${SECS}s"
  rm -rf "$BASE"
done

# check_alive WHEN: fails the benchmark, with the server's exit status and last
# log lines, if cellar or Verdaccio is gone.
check_alive() {
  local name pid log status
  for name in cellar verdaccio; do
    [[ $name == cellar ]] && { pid=$CELLAR_PID; log="$WORK/cellar.log"; } \
      || { pid=$VERDACCIO_PID; log="$WORK/verdaccio.log"; }
    kill -0 "$pid" 2>/dev/null && continue
    status=0; wait "$pid" 2>/dev/null || status=$?
    (( status > 128 )) && status="$status (killed by SIG$(kill -l $((status - 128))))"
    echo "--- last $name log lines:" >&2; tail -n 20 "$log" >&2
    [[ $name == cellar ]] && CELLAR_PID="" || VERDACCIO_PID=""
    die "$name died $1; exit status $status"
  done
}
check_alive "during the npm ci runs"
vm_hwm_mib() { awk '/VmHWM/ {printf "%d\n", $2 / 1024}' "/proc/$1/status"; }
CELLAR_RSS_CI=$(vm_hwm_mib "$CELLAR_PID"); VERDACCIO_RSS_CI=$(vm_hwm_mib "$VERDACCIO_PID")

# --- wrk: packument and tarball hits under concurrency 64 ----------------------
read -r TARBALL_PATH TARBALL_INTEGRITY < <(python3 - "$FIXTURE/package-lock.json" "$TARBALL_PKG" "$PACKUMENT" <<'PY'
import json, sys, urllib.parse
pkgs = json.load(open(sys.argv[1]))["packages"]
for n in (sys.argv[2], sys.argv[3]):
    if "node_modules/" + n not in pkgs:
        sys.exit(f"npm_bench: {n} is not in the fixture's lockfile")
e = pkgs["node_modules/" + sys.argv[2]]
print(urllib.parse.urlsplit(e["resolved"]).path.lstrip("/"), e["integrity"])
PY
)
declare -A PREFIX=([cellar]="$CELLAR_URL" [verdaccio]="$VERDACCIO_URL")
CELLS=(full corgi tarball)
declare -A CELL_PATH=([full]="$PACKUMENT" [corgi]="$PACKUMENT" [tarball]="$TARBALL_PATH")
declare -A CELL_ACCEPT=([full]="application/json" [corgi]="application/vnd.npm.install-v1+json" [tarball]="*/*")
declare -A CELL_LABEL=([full]="packument $PACKUMENT (full, Accept: application/json)"
  [corgi]="packument $PACKUMENT (abbreviated, Accept: application/vnd.npm.install-v1+json)"
  [tarball]="tarball $(basename "$TARBALL_PATH")")
WRK="$WORK/wrk.txt"; : > "$WRK"
# check_url SERVER CELL: fetch once (fills/warms the cache), check the answer;
# prints the body size.
check_url() {
  local server=$1 cell=$2 url="${PREFIX[$1]}${CELL_PATH[$2]}" out="$WORK/body" code
  code=$(curl -s -o "$out" -w '%{http_code}' -H "Accept: ${CELL_ACCEPT[$cell]}" "$url") || die "$server: GET $url failed"
  code=$(curl -s -o "$out" -w '%{http_code}' -H "Accept: ${CELL_ACCEPT[$cell]}" "$url") || die "$server: GET $url failed"
  [[ $code == 200 ]] || die "$server: GET $url answered $code"
  if [[ $cell == tarball ]]; then
    python3 - "$out" "$TARBALL_INTEGRITY" "$server $url" <<'PY'
import base64, hashlib, sys
algo, want = sys.argv[2].split("-", 1)
got = base64.b64encode(hashlib.new(algo, open(sys.argv[1], "rb").read()).digest()).decode()
if got != want:
    sys.exit(f"npm_bench: {sys.argv[3]}: tarball integrity {algo}-{got}, lockfile says {sys.argv[2]}")
PY
  else
    python3 - "$out" "$PACKUMENT" "$server $url" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d.get("name") != sys.argv[2] or not d.get("versions"):
    sys.exit(f"npm_bench: {sys.argv[3]}: not the packument of {sys.argv[2]}")
PY
  fi
  stat -c %s "$out"
}
to_ms() {  # wrk's latency ("812.00us", "3.40ms", "1.20s", "1.02m") in ms
  python3 -c "
import re, sys
m = re.fullmatch(r'([0-9.]+)(us|ms|s|m)', sys.argv[1])
v = float(m.group(1)) * {'us': 1e-3, 'ms': 1, 's': 1e3, 'm': 6e4}[m.group(2)] if m else None
print('n/a' if v is None else '%.0f' % v if v >= 100 else '%.3g' % v)" "$1"
}
for cell in "${CELLS[@]}"; do
  for server in verdaccio cellar; do
    bytes=$(check_url "$server" "$cell")
    url="${PREFIX[$server]}${CELL_PATH[$cell]}"
    out=$(wrk -t2 -c64 -d"${WRK_SECS}s" --timeout 30s --latency -H "Accept: ${CELL_ACCEPT[$cell]}" "$url" 2>&1) \
      || { echo "$out" >&2; die "wrk against $url failed"; }
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    errs=$(awk '/Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} /Non-2xx/ {n += $NF} END {print n + 0}' <<<"$out")
    p99ms=$(to_ms "${p99:-x}")
    echo "wrk $cell $server: ${rps:-0} req/s, p99 ${p99ms} ms, ${reqs:-0} requests, ${errs:-0} errors, $bytes bytes per response"
    echo "$cell $server ${rps:-0} $p99ms ${reqs:-0} ${errs:-0} $bytes" >> "$WRK"
    sleep 0.5  # a server killed by wrk's disconnects is gone by now
    check_alive "during or right after the wrk $cell run against $server"
  done
done

CELLAR_RSS=$(vm_hwm_mib "$CELLAR_PID"); VERDACCIO_RSS=$(vm_hwm_mib "$VERDACCIO_PID")

python3 - "$TIMES" "$WRK" "$EXPECTED_PKGS" <<PY
import statistics, sys
times, cpu = {}, {}
for line in open(sys.argv[1]):
    kind, name, secs, used = line.split()
    times.setdefault(kind, {}).setdefault(name, []).append(float(secs))
    if used != "-":
        cpu.setdefault(kind, {}).setdefault(name, []).append(float(used))
label = {"cellar": "cellar (warm)", "verdaccio": "Verdaccio $VERDACCIO_VERSION (warm)",
         "floor": "npm floor (npm cache pre-filled, --offline)", "direct": "direct to $UPSTREAM (1 run)"}
print()
print("npm ci of %s packages, empty npm cache and fresh node_modules every run:" % sys.argv[3])
print()
print("| npm cache + node_modules | contender | median s | min s | verdaccio/this (median) | verdaccio/this (min) | server CPU s per run (median) |")
print("|---|---|---|---|---|---|---|")
for kind, d in times.items():
    med = {n: statistics.median(v) for n, v in d.items()}
    low = {n: min(v) for n, v in d.items()}
    for n in ("verdaccio", "cellar", "floor", "direct"):
        if n in d:
            used = cpu.get(kind, {}).get(n)
            print("| %s | %s | %.2f | %.2f | %.2f | %.2f | %s |" % (
                kind, label[n], med[n], low[n], med["verdaccio"] / med[n], low["verdaccio"] / low[n],
                "%.2f" % statistics.median(used) if used else "-"))
print()
print("Wall-time ratios verdaccio/cellar: higher is better for cellar, 2.00 = twice as fast.")
for kind, d in times.items():
    med = {n: statistics.median(v) for n, v in d.items()}
    low = {n: min(v) for n, v in d.items()}
    print("%-5s verdaccio/cellar = %.2f (median), %.2f (min)   target >= 2.00" % (
        kind, med["verdaccio"] / med["cellar"], low["verdaccio"] / low["cellar"]))
    print("%-5s verdaccio/floor  = %.2f (median)   the most any proxy could reach with this client" % (
        kind, med["verdaccio"] / med["floor"]))
    print("%-5s cellar/floor     = %.2f (median)   what HTTP through cellar adds to npm's own work" % (
        kind, med["cellar"] / med["floor"]))

rows = {}
for line in open(sys.argv[2]):
    cell, server, rps, p99, reqs, errs, size = line.split()
    rows.setdefault(cell, {})[server] = (float(rps), p99, int(reqs), int(errs), int(size))
names = {"full": "$PACKUMENT packument, full", "corgi": "$PACKUMENT packument, abbreviated",
         "tarball": "tarball $(basename "$TARBALL_PATH")"}
print()
print("wrk -t2 -c64 -d${WRK_SECS}s, cache hits:")
print()
print("| request | bytes verdaccio / cellar | verdaccio req/s | cellar req/s | cellar/verdaccio | verdaccio p99 ms | cellar p99 ms | verdaccio/cellar p99 | errors v / c |")
print("|---|---|---|---|---|---|---|---|---|")
def ratio(a, b):
    try:
        return "%.2f" % (float(a) / float(b)) if float(b) > 0 else "n/a"
    except ValueError:
        return "n/a"
for cell in ("full", "corgi", "tarball"):
    v, c = rows[cell]["verdaccio"], rows[cell]["cellar"]
    print("| %s | %d / %d | %.1f | %.1f | %s | %s | %s | %s | %d / %d |" % (
        names[cell], v[4], c[4], v[0], c[0], ratio(c[0], v[0]), v[1], c[1], ratio(v[1], c[1]), v[3], c[3]))
if rows["corgi"]["cellar"][4] == rows["full"]["cellar"][4]:
    print()
    print("note: cellar's abbreviated answer is as large as its full one: it passes on what the upstream")
    print("sends for the abbreviated Accept, and this upstream answered with the full document.")
print()
for cell in ("full", "corgi"):
    v, c = rows[cell]["verdaccio"], rows[cell]["cellar"]
    print("packument hits (%s): cellar/verdaccio req/s = %s   target >= 10" % (cell, ratio(c[0], v[0])))
PY
echo "cellar during timed npm ci runs: $CELLAR_TARBALLS tarball requests per run," \
  "$CELLAR_UPSTREAM upstream requests in all (0 = fully warm)"
echo "peak RSS (VmHWM) after the npm ci runs: cellar $CELLAR_RSS_CI MiB, verdaccio (node) $VERDACCIO_RSS_CI MiB;" \
  "at the end: cellar $CELLAR_RSS MiB, verdaccio (node) $VERDACCIO_RSS MiB"
echo "load average at start $LOAD0, at end $(cut -d' ' -f1 /proc/loadavg)"
