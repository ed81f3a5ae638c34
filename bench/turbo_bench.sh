#!/usr/bin/env bash
# Side-by-side benchmark of cellar's Turborepo remote cache (/turbo/v8/...)
# against turborepo-remote-cache (ducktors; Node/Fastify, local-disk storage),
# both started by this script and measured in the same run with the same load
# generator (bench/turbo_loadgen.go, built here with the Go standard library):
#
#   1. 1,000 artifacts of mixed sizes (fixed seeded distribution, 10 KiB to
#      10 MiB, mostly small; see turbo_loadgen.go; ~493 MB in all): PUT all of
#      them, then GET all of them, at concurrency 1, 16 and 64 (closed loop, one
#      keep-alive connection per client). Every concurrency level uses a new
#      set of hashes, so every PUT is a real write; GETs are hits of the
#      artifacts just written (warm page cache, as for a build right after CI
#      uploaded), in a different order. ROUNDS rounds of all levels (new hashes
#      every round), the servers' order alternating; the tables give medians.
#   2. One 500 MiB artifact: PUT, then GET (one round). The load generator
#      produces and checks the bytes while they move; it never holds them.
#   3. The machine's ceiling for durable uploads (CEILING=1, the default): before
#      the servers' PUT phases of each level, the load generator writes the
#      same artifacts straight to files in the data dir (temp file, write,
#      fsync, rename; no HTTP, no server: turbo_loadgen -mode files). cellar
#      answers a PUT only once the artifact is on disk, so this bounds its PUT
#      throughput here; the table shows it as "files". At the top concurrency
#      the report adds a CPU bound: the files run's CPU plus the load
#      generator's, over the cores, is the least a PUT phase of any durable
#      HTTP server can take on this machine.
#
# Every GET body is compared byte for byte with what was PUT, and a sample has
# its SHA-256 checked, so a server that answers garbage or short bodies gets
# errors, not throughput. Before each phase: `sync` (untimed), then the
# server's peak-RSS counter is reset (/proc/PID/clear_refs), so the VmHWM read
# after the phase is that phase's peak. The `sync` after each PUT phase is timed
# and printed: turborepo-remote-cache writes files without fsync, cellar fsyncs
# every blob before it names it, so part of the peer's PUT work is still in the
# page cache when its phase ends.
#
#   bash bench/turbo_bench.sh
#   CONCS="1 16 64"      concurrency levels
#   N=1000               artifacts per level
#   ROUNDS=3             rounds of the mixed set (medians); the default run takes
#                        about 5.5 min on the 2-core VM
#   BIG_MIB=500          size of the single large artifact (0: skip it)
#   DATA_ON=disk|tmpfs   where both servers keep their data (default disk: a
#                        work dir under /tmp, ext4 on the VM disk; tmpfs: under
#                        /dev/shm, where fsync costs nothing)
#   AUTH=token|none      token (default): both servers require a bearer token
#                        and the load generator sends it, as turbo does; none:
#                        anonymous (peer AUTH_MODE=none, cellar without --token)
#   SERVERS="peer cellar"  which servers to run (both by default; one alone is
#                        for debugging and prints no ratios)
#   TOOLS=tools/bench    turborepo-remote-cache goes to $TOOLS/turbo (pinned;
#                        installed from the npm registry if missing)
#   BUILD=build          where the cellar binary is ($BUILD/src/cli/cellar)
#   KEEP_WORK=1          leave the work dir (data of both servers) in place:
#                        back-to-back runs then do not create files where the
#                        last run just deleted thousands (see spread_subdirs)
#   CEILING=1            measure the durable-write ceiling (0: skip it)
#   CELLAR_FLAGS=""      extra flags for cellar serve (e.g. "--worker-threads 8"),
#                        for experiments; the recorded runs use the defaults
#
# Servers: turborepo-remote-cache with STORAGE_PROVIDER=local, STORAGE_PATH in
# the work dir, BODY_LIMIT 1 GiB (its default, 100 MiB, refuses the large
# artifact with 413), LOG_LEVEL=warn (its default, info, logs every request);
# cellar with its defaults and --access-log=false. Needs node >= 20 with npm,
# go >= 1.19 (golang-go), curl and python3, and a cellar build with /turbo.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
TOOLS="${TOOLS:-tools/bench}"
PEER_VERSION=2.12.0  # turborepo-remote-cache, newest on the registry (engines: node >= 20)
CONCS="${CONCS:-1 16 64}"
N="${N:-1000}"
ROUNDS="${ROUNDS:-3}"
BIG_MIB="${BIG_MIB:-500}"
DATA_ON="${DATA_ON:-disk}"
AUTH="${AUTH:-token}"
SERVERS="${SERVERS:-peer cellar}"
CEILING="${CEILING:-1}"
SEED=20260101
SLUG=bench
TOKEN=turbo-bench-token-0123456789
PEER_BODY_LIMIT=$((1 << 30))
die() { echo "turbo_bench: $*" >&2; exit 1; }
source bench/bench_lib.sh  # the script runs from the repository root
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$BIG_MIB" =~ ^[0-9]+$ ]] || die "BIG_MIB must be a non-negative integer"
(( BIG_MIB * 1048576 < PEER_BODY_LIMIT )) || die "BIG_MIB must stay below the peer's BODY_LIMIT (1 GiB)"
[[ "$AUTH" == token || "$AUTH" == none ]] || die "AUTH must be token or none"
[[ "$CEILING" == 0 || "$CEILING" == 1 ]] || die "CEILING must be 0 or 1"
for c in $CONCS; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONCS must be positive integers"; done
for s in $SERVERS; do [[ $s == peer || $s == cellar ]] || die "SERVERS may name peer and cellar only"; done
for tool in node npm go curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install nodejs npm golang-go curl python3)"
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

want() { [[ " $SERVERS " == *" $1 "* ]]; }
CELLAR=""
if want cellar; then
  CELLAR="$(readlink -f "$BUILD/src/cli/cellar" 2>/dev/null || true)"
  [[ -n "$CELLAR" && -x "$CELLAR" ]] || die "no cellar binary at $BUILD/src/cli/cellar; build first: scripts/build.sh"
fi

# --- turborepo-remote-cache: pinned, installed into $TOOLS/turbo if missing ----
PEER_DIR="$TOOLS/turbo"
peer_version() {
  node -p 'require(require("path").resolve(process.argv[1], "node_modules/turborepo-remote-cache/package.json")).version' \
    "$PEER_DIR" 2>/dev/null || true
}
if want peer && [[ "$(peer_version)" != "$PEER_VERSION" ]]; then
  echo "turbo_bench: installing turborepo-remote-cache@$PEER_VERSION into $PEER_DIR" >&2
  mkdir -p "$PEER_DIR"
  cat > "$PEER_DIR/package.json" <<JSON
{
  "private": true,
  "description": "generated by bench/turbo_bench.sh; do not edit",
  "dependencies": { "turborepo-remote-cache": "$PEER_VERSION" }
}
JSON
  npm install --prefix "$PEER_DIR" --no-audit --no-fund --loglevel=error >&2 \
    || die "npm install --prefix $PEER_DIR turborepo-remote-cache@$PEER_VERSION failed"
  [[ "$(peer_version)" == "$PEER_VERSION" ]] || die "turborepo-remote-cache $PEER_VERSION did not install into $PEER_DIR"
fi
PEER_CLI="$(readlink -f "$PEER_DIR/node_modules/turborepo-remote-cache/dist/cli.js" 2>/dev/null || true)"

WORK="$(mktemp -d /tmp/cellar-turbobench.XXXXXX)"
SHM=""
case "$DATA_ON" in
  disk) DATA="$WORK/data"; mkdir "$DATA"; spread_subdirs "$DATA" ;;
  tmpfs)
    [[ -d /dev/shm && -w /dev/shm && "$(stat -f -c %T /dev/shm)" == tmpfs ]] || die "/dev/shm is not a writable tmpfs"
    SHM="$(mktemp -d /dev/shm/cellar-turbobench.XXXXXX)"; DATA="$SHM" ;;
  *) die "DATA_ON must be disk or tmpfs" ;;
esac
declare -A PID=()
cleanup() {
  local s
  for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done
  for s in "${!PID[@]}"; do wait "${PID[$s]}" 2>/dev/null || true; done
  if [[ -n "${KEEP_WORK:-}" ]]; then
    echo "turbo_bench: KEEP_WORK set; left $WORK${SHM:+ and $SHM}" >&2
  else
    rm -rf "$WORK"
    [[ -n "$SHM" ]] && rm -rf "$SHM"
  fi
  return 0
}
trap cleanup EXIT

# --- load generator ---------------------------------------------------------------
LOADGEN=$(build_loadgen "$WORK")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
AUTH_ARGS=(); [[ $AUTH == token ]] && AUTH_ARGS=(-H "Authorization: Bearer $TOKEN")
declare -A BASE=() LOG=()

# --- turborepo-remote-cache -------------------------------------------------------
if want peer; then
  PEER_PORT=$(free_port)
  mkdir -p "$DATA/peer"
  LOG[peer]="$WORK/peer.log"
  peer_env=(NODE_ENV=production HOST=127.0.0.1 PORT="$PEER_PORT" STORAGE_PROVIDER=local
    STORAGE_PATH="$DATA/peer" STORAGE_PATH_USE_TMP_FOLDER=false BODY_LIMIT="$PEER_BODY_LIMIT" LOG_LEVEL=warn)
  [[ $AUTH == token ]] && peer_env+=(AUTH_MODE=static TURBO_TOKEN="$TOKEN") || peer_env+=(AUTH_MODE=none)
  env "${peer_env[@]}" node "$PEER_CLI" >"${LOG[peer]}" 2>&1 &
  PID[peer]=$!
  BASE[peer]="http://127.0.0.1:$PEER_PORT"
  for _ in $(seq 200); do
    curl -sf -o /dev/null "${BASE[peer]}/v8/artifacts/status" && break
    kill -0 "${PID[peer]}" 2>/dev/null || { cat "${LOG[peer]}" >&2; die "turborepo-remote-cache exited at start-up"; }
    sleep 0.1
  done
  curl -sf -o /dev/null "${BASE[peer]}/v8/artifacts/status" || die "turborepo-remote-cache does not answer on ${BASE[peer]}"
fi

# --- cellar -----------------------------------------------------------------------
if want cellar; then
  LOG[cellar]="$WORK/cellar.log"
  cellar_args=(serve --listen 127.0.0.1:0 --data-dir "$DATA/cellar" --access-log=false)
  [[ $AUTH == token ]] && cellar_args+=(--token "bench:$TOKEN:read,write")
  # shellcheck disable=SC2206  # CELLAR_FLAGS is split on purpose
  cellar_args+=(${CELLAR_FLAGS:-})
  "$CELLAR" "${cellar_args[@]}" >"${LOG[cellar]}" 2>&1 &
  PID[cellar]=$!
  port=$(cellar_port "${PID[cellar]}" "${LOG[cellar]}")
  BASE[cellar]="http://127.0.0.1:$port/turbo"
  code=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH_ARGS[@]}" "${BASE[cellar]}/v8/artifacts/status" || true)
  [[ $code == 200 ]] || die "cellar answers $code to GET /turbo/v8/artifacts/status: this build has no Turborepo API"
fi

# --- sanity: one round trip through each server with curl -------------------------
head -c 123457 /dev/urandom > "$WORK/probe"
for s in $SERVERS; do
  url="${BASE[$s]}/v8/artifacts/00000000deadbeef?slug=$SLUG"
  code=$(curl -s -o "$WORK/probe.out" -w '%{http_code}' "${AUTH_ARGS[@]}" -X PUT -H 'Content-Type: application/octet-stream' \
    -H 'x-artifact-duration: 42' --data-binary @"$WORK/probe" "$url")
  [[ $code == 200 || $code == 202 ]] || die "$s: probe PUT answered $code: $(head -c 300 "$WORK/probe.out")"
  code=$(curl -s -o "$WORK/probe.out" -w '%{http_code}' "${AUTH_ARGS[@]}" "$url")
  [[ $code == 200 ]] && cmp -s "$WORK/probe" "$WORK/probe.out" || die "$s: probe GET answered $code or a different body"
  code=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH_ARGS[@]}" -I "$url")
  [[ $code == 200 ]] || die "$s: probe HEAD answered $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' "${AUTH_ARGS[@]}" "${BASE[$s]}/v8/artifacts/00000000feedface?slug=$SLUG")
  [[ $code == 404 ]] || die "$s: GET of a missing artifact answered $code, not 404"
  if [[ $AUTH == token ]]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong-token-000' "$url")
    [[ $code == 401 || $code == 403 ]] || die "$s: GET with a wrong token answered $code"
  fi
done

# --- measurement helpers ----------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
check_alive() {
  local s=$1 status=0
  kill -0 "${PID[$s]}" 2>/dev/null && return 0
  wait "${PID[$s]}" 2>/dev/null || status=$?
  (( status > 128 )) && status="$status (killed by SIG$(kill -l $((status - 128))))"
  echo "--- last $s log lines:" >&2; tail -n 30 "${LOG[$s]}" >&2
  unset "PID[$s]"
  die "$s died $2; exit status $status"
}
RESULTS="$WORK/results.jsonl"; : > "$RESULTS"
declare -A IDLE_RSS=()
for s in $SERVERS; do IDLE_RSS[$s]=$(rss_kib "${PID[$s]}"); done

# phase SERVER CELL MODE SET CONC [LOADGEN ARGS...]: one load generator run with
# the server's peak RSS and CPU time around it; appends a JSON line to RESULTS.
phase() {
  local s=$1 cell=$2 mode=$3 set=$4 conc=$5 pid=${PID[$1]} out cpu0 cpu1 hwm t0 t1 flush=0
  shift 5
  sync
  echo 5 > "/proc/$pid/clear_refs"
  cpu0=$(cpu_ticks "$pid")
  out=$("$LOADGEN" -mode "$mode" -base "${BASE[$s]}" -set "$set" -conc "$conc" -seed "$SEED" -slug "$SLUG" \
    $([[ $AUTH == token ]] && echo "-token $TOKEN") "$@") || die "$s $cell $mode: load generator failed"
  cpu1=$(cpu_ticks "$pid")
  hwm=$(hwm_kib "$pid")
  if [[ $mode == put ]]; then
    t0=$EPOCHREALTIME; sync; t1=$EPOCHREALTIME
    flush=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
  fi
  check_alive "$s" "during $cell $mode"
  python3 - "$out" "$s" "$cell" "$hwm" "$(( cpu1 - cpu0 ))" "$CLK_TCK" "$flush" "${ROUND:-1}" >> "$RESULTS" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r.update(server=sys.argv[2], cell=sys.argv[3], hwm_kib=int(sys.argv[4]),
         cpu_s=int(sys.argv[5]) / int(sys.argv[6]), flush_s=float(sys.argv[7]), round=int(sys.argv[8]))
print(json.dumps(r))
PY
  python3 - "$RESULTS" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print("r%d %-6s %-6s %-3s c=%-3d %5d req %3d err  %8.1f MB/s %8.1f req/s  p50 %8.2f ms  p99 %8.2f ms  peak RSS %6.1f MiB  CPU %5.2f s%s%s" % (
    r["round"], r["server"], r["cell"], r["mode"], r["conc"], r["requests"], r["errors"], r["mbps"], r["rps"],
    r["p50_ms"], r["p99_ms"], r["hwm_kib"] / 1024, r["cpu_s"],
    "  sync after %.2f s" % r["flush_s"] if r["mode"] == "put" else "",
    "  FIRST ERROR: " + r["first_error"] if r.get("first_error") else ""), flush=True)
PY
}

# ceiling_phase SET CONC: durable file writes of the set, no server (see 3. above).
ceiling_phase() {
  local out
  sync
  out=$("$LOADGEN" -mode files -dir "$DATA/files" -set "$1" -conc "$2" -seed "$SEED" -n "$N") ||
    die "files c=$2: load generator failed"
  python3 - "$out" "$ROUND" >> "$RESULTS" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r.update(server="files", cell="mixed", mode="put", hwm_kib=0, cpu_s=r["client_cpu_s"], flush_s=0.0, round=int(sys.argv[2]))
print(json.dumps(r))
PY
  python3 - "$RESULTS" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print("r%d files  mixed  put c=%-3d %5d req %3d err  %8.1f MB/s  (durable file writes, no HTTP; CPU %.2f s)%s" % (
    r["round"], r["conc"], r["requests"], r["errors"], r["mbps"], r["cpu_s"],
    "  FIRST ERROR: " + r["first_error"] if r.get("first_error") else ""), flush=True)
PY
}

RUN_ID=$(date +%s)-$$
"$LOADGEN" -mode sizes -n "$N" -seed "$SEED" | python3 -c '
import json, sys
d = json.load(sys.stdin)
b = d["bands"]
print("turbo_bench: mixed set: %d artifacts, %s bytes (%.1f MB) per concurrency level; %d of 10-100 KiB, %d of 100 KiB-1 MiB, "
      "%d of 1-5 MiB, %d of 5-10 MiB; median %.1f KiB, mean %.1f KiB, min %.1f KiB, max %.2f MiB" % (
      d["n"], format(d["total_bytes"], ","), d["total_bytes"] / 1e6, b["10K-100K"], b["100K-1M"], b["1M-5M"], b["5M-10M"],
      d["median"] / 1024, d["mean"] / 1024, d["min"] / 1024, d["max"] / 1048576))'

echo "turbo_bench: servers: $SERVERS; turborepo-remote-cache $PEER_VERSION on node $(node --version);" \
  "$([[ -n $CELLAR ]] && echo "cellar $CELLAR"); data on $DATA_ON ($DATA); auth: $AUTH; $(nproc) cores;" \
  "$(go version | cut -d' ' -f3) load generator"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$LOAD0" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }' &&
  echo "turbo_bench: warning: load average $LOAD0 on $(nproc) cores; timings will be noisy" >&2

read -r -a ORDER <<< "$SERVERS"
k=0
for ((round = 1; round <= ROUNDS; round++)); do
  for conc in $CONCS; do
    [[ $CEILING == 1 ]] && ROUND=$round ceiling_phase "mixed-r$round-c$conc-$RUN_ID" "$conc"
    # Alternate which server goes first, level by level and round by round.
    for ((j = 0; j < ${#ORDER[@]}; j++)); do
      s=${ORDER[$(( (j + k) % ${#ORDER[@]} ))]}
      set="mixed-r$round-c$conc-$RUN_ID"
      ROUND=$round phase "$s" "mixed" put "$set" "$conc" -n "$N"
      ROUND=$round phase "$s" "mixed" get "$set" "$conc" -n "$N"
    done
    k=$((k + 1))
  done
done
if (( BIG_MIB > 0 )); then
  for ((j = 0; j < ${#ORDER[@]}; j++)); do
    s=${ORDER[$(( (j + k) % ${#ORDER[@]} ))]}
    ROUND=1 phase "$s" "big" put "big-$RUN_ID" 1 -size $((BIG_MIB * 1048576))
    ROUND=1 phase "$s" "big" get "big-$RUN_ID" 1 -size $((BIG_MIB * 1048576))
  done
fi

declare -A END_RSS=()
for s in $SERVERS; do check_alive "$s" "by the end"; END_RSS[$s]=$(rss_kib "${PID[$s]}"); done
for s in $SERVERS; do
  du_bytes=$(du -sb "$DATA/$s" | cut -f1)
  echo "turbo_bench: $s idle RSS at start $(( IDLE_RSS[$s] / 1024 )) MiB, at the end $(( END_RSS[$s] / 1024 )) MiB" \
    "($(awk '/^Rss(Anon|File|Shmem)/ {printf "%s%s %d MiB", sep, $1, $2 / 1024; sep=", "}' "/proc/${PID[$s]}/status"));" \
    "data dir $(( du_bytes / 1048576 )) MiB"
done
grep -iE '"level":(50|60)|"level":"(error|fatal)"' "${LOG[peer]:-/dev/null}" | head -5 || true

python3 - "$RESULTS" "$PEER_VERSION" "$BIG_MIB" "$N" "$ROUNDS" "$(nproc)" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
peer_v, big_mib, n, rounds = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
cores = int(sys.argv[6])
servers = []
for r in rows:
    if r["server"] not in servers and r["server"] != "files":
        servers.append(r["server"])
name = {"peer": "turborepo-remote-cache " + peer_v, "cellar": "cellar",
        "files": "files: durable writes, no HTTP (ceiling)"}
cells = sorted({(r["cell"], r["mode"], r["conc"]) for r in rows}, key=lambda k: (k[0] == "big", k[2], k[1] != "put"))

def agg(s, cell, mode, conc):
    """Median over rounds of throughput and latency; peak RSS and errors: worst round."""
    rs = [r for r in rows if (r["server"], r["cell"], r["mode"], r["conc"]) == (s, cell, mode, conc)]
    if not rs:
        return None
    med = lambda k: statistics.median(r[k] for r in rs)
    return dict(n=len(rs), mbps=med("mbps"), rps=med("rps"), p50=med("p50_ms"), p99=med("p99_ms"),
                lo=min(r["mbps"] for r in rs), hi=max(r["mbps"] for r in rs),
                hwm=max(r["hwm_kib"] for r in rs) / 1024, cpu=med("cpu_s"), ccpu=med("client_cpu_s"),
                errors=sum(r["errors"] for r in rs), flush=med("flush_s"), bytes=med("bytes"), secs=med("seconds"))

def label(cell):
    return "{:,} mixed".format(n) if cell == "mixed" else "1 × %s MiB" % big_mib

print()
print("Mixed set: median of %d rounds (fresh hashes every round and level); MB/s range = min-max over the rounds;" % rounds)
print("peak RSS = highest VmHWM of the phase over the rounds; the %s MiB artifact: one round." % big_mib)
print()
print("| artifacts | op | conc | server | MB/s | MB/s range | req/s | p50 ms | p99 ms | peak RSS MiB | server CPU s | loadgen CPU s | errors | sync after PUT s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for cell, mode, conc in cells:
    for s in ["files"] + servers:
        a = agg(s, cell, mode, conc)
        if not a:
            continue
        if s == "files":
            print("| %s | %s | %d | %s | %.1f | %.0f-%.0f | %.1f | %.2f | %.2f | - | - | %.2f | %d | - |" % (
                label(cell), mode.upper(), conc, name[s], a["mbps"], a["lo"], a["hi"], a["rps"], a["p50"],
                a["p99"], a["ccpu"], a["errors"]))
            continue
        print("| %s | %s | %d | %s | %.1f | %.0f-%.0f | %.1f | %.2f | %.2f | %.0f | %.2f | %.2f | %d | %s |" % (
            label(cell), mode.upper(), conc, name[s], a["mbps"], a["lo"], a["hi"], a["rps"], a["p50"], a["p99"],
            a["hwm"], a["cpu"], a["ccpu"], a["errors"], "%.2f" % a["flush"] if mode == "put" else "-"))
if len(servers) == 2:
    def ratio(x, y):
        return "%.2f" % (x / y) if y > 0 else "n/a"
    print()
    print("Ratios of the medians: throughput cellar/peer (higher = cellar faster; req/s ratios equal MB/s ratios,")
    print("same requests); latency and peak RSS peer/cellar (higher = cellar lower). Per round: MB/s cellar/peer")
    print("of each round, both servers measured back to back.")
    print()
    print("| artifacts | op | conc | MB/s cellar/peer | per round | p50 peer/cellar | p99 peer/cellar | peak RSS peer/cellar |")
    print("|---|---|---|---|---|---|---|---|")
    for cell, mode, conc in cells:
        c, p = agg("cellar", cell, mode, conc), agg("peer", cell, mode, conc)
        if not c or not p:
            continue
        per = []
        for rd in sorted({r["round"] for r in rows}):
            rc = [r for r in rows if (r["server"], r["cell"], r["mode"], r["conc"], r["round"]) == ("cellar", cell, mode, conc, rd)]
            rp = [r for r in rows if (r["server"], r["cell"], r["mode"], r["conc"], r["round"]) == ("peer", cell, mode, conc, rd)]
            if rc and rp:
                per.append(ratio(rc[0]["mbps"], rp[0]["mbps"]))
        print("| %s | %s | %d | **%s** | %s | %s | %s | %s |" % (label(cell), mode.upper(), conc,
              ratio(c["mbps"], p["mbps"]), " / ".join(per), ratio(p["p50"], c["p50"]), ratio(p["p99"], c["p99"]),
              ratio(p["hwm"], c["hwm"])))
    print()
    mixed_concs = [k[2] for k in cells if k[0] == "mixed"]
    if mixed_concs:
        conc = max(mixed_concs)
        cp, pp = agg("cellar", "mixed", "put", conc), agg("peer", "mixed", "put", conc)
        cg, pg = agg("cellar", "mixed", "get", conc), agg("peer", "mixed", "get", conc)
        if cp and pp and cg and pg:
            both_c = (cp["bytes"] + cg["bytes"]) / (cp["secs"] + cg["secs"])
            both_p = (pp["bytes"] + pg["bytes"]) / (pp["secs"] + pg["secs"])
            print("issue target, >= 3x the peer's throughput at concurrency %d (medians): PUT %.2fx, GET %.2fx, "
                  "PUT+GET %.2fx" % (conc, cp["mbps"] / pp["mbps"], cg["mbps"] / pg["mbps"], both_c / both_p))
            fc = agg("files", "mixed", "put", conc)
            if fc:
                print("durable-write ceiling at concurrency %d (files, median %.1f MB/s): %.2fx the peer's PUT; cellar's PUT "
                      "reaches %.0f%% of it" % (conc, fc["mbps"], fc["mbps"] / pp["mbps"], 100 * cp["mbps"] / fc["mbps"]))
                # A durable server does at least what the files run did (copy
                # the bytes in, write, fsync, rename), and the load generator
                # needs its own CPU to send them, on the same cores.
                need = fc["cpu"] + cp["ccpu"]
                bound = cp["bytes"] / 1e6 / (need / cores)
                print("CPU bound at concurrency %d: the files run's CPU (%.2f s) plus the load generator's (%.2f s) on %d "
                      "cores allow at most %.0f MB/s for a durable HTTP server, %.2fx the peer's PUT" % (
                          conc, fc["cpu"], cp["ccpu"], cores, bound, bound / pp["mbps"]))
for s in servers:
    parts = []
    for cell, mode, conc in cells:
        a = agg(s, cell, mode, conc)
        if a:
            parts.append("%s %s %.0f" % ("c=%d" % conc if cell == "mixed" else "%s MiB" % big_mib, mode.upper(), a["hwm"]))
    print("%s peak RSS per phase (MiB): %s; max %.0f MiB" % (
        name[s], ", ".join(parts), max(r["hwm_kib"] for r in rows if r["server"] == s) / 1024))
errs = sum(r["errors"] for r in rows)
if errs:
    print("ERRORS: %d requests failed; first errors:" % errs)
    for r in rows:
        if r.get("first_error"):
            print("  round %d %s %s %s c=%d: %s" % (r["round"], r["server"], r["cell"], r["mode"], r["conc"], r["first_error"]))
print("bodies checked: %d GET bodies compared byte for byte (%.0f MB), %d SHA-256 samples" % (
    sum(r["requests"] - r["errors"] for r in rows if r["mode"] == "get"),
    sum(r.get("verified_bytes", 0) for r in rows) / 1e6, sum(r.get("sha256_checked", 0) for r in rows)))
if errs:
    sys.exit(3)
PY
echo "load average at start $LOAD0, at end $(cut -d' ' -f1 /proc/loadavg)"
