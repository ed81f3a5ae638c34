#!/usr/bin/env bash
# fleet_bench: what one node costs in fleet mode, and 1, 2 and 3 nodes on
# one bucket side by side, on this machine:
#   - a Ceph RGW of its own (scripts/s3-rgw.sh, memstore) on non-default
#     ports, and a redis-server on a unix socket;
#   - for 1, 2 and 3 nodes (`cellar serve --storage s3 --redis-url`, a fresh
#     prefix each): every node gets the same seeded mixed set of N turbo
#     artifacts under its own hashes (bench/turbo_loadgen*.go, CONC
#     connections per node, all nodes at once):
#       put         each node stores its set (write-through to the bucket),
#       get local   each node reads its set back (local-tier hits),
#       get remote  each node reads its neighbour's set (2 and 3 nodes):
#                   entries recovered from the bucket, blobs read through;
#   - per phase: aggregate MB/s and requests/s over the phase's wall time,
#     and per request: the nodes' CPU (utime+stime), S3 requests
#     (cellar_s3_requests_total), Redis commands (INFO total_commands_processed)
#     and RGW's CPU.
# All processes share this machine's cores: expect no scale-out, read the
# per-request costs (docs/fleet.md).
#
# Usage (root: RGW runs Ceph daemons; about 2 minutes):
#   bash bench/fleet_bench.sh
# Environment: N=300 artifacts per node and phase, CONC=8 connections per node,
#   RGW_PORT=7490 MON_PORT=3310 MON_V1_PORT=6790, BUILD=build.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
N="${N:-300}"
CONC="${CONC:-8}"
SEED=20260101
TOKEN=fleet-bench-token-0123456789
die() { echo "fleet_bench: $*" >&2; exit 1; }
source bench/bench_lib.sh
[[ "$N" =~ ^[1-9][0-9]*$ && "$CONC" =~ ^[1-9][0-9]*$ ]] || die "N and CONC must be positive integers"
for tool in go curl python3 redis-server redis-cli; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/install-deps.sh --with-test-tools)"
done
[[ $(id -u) -eq 0 ]] || die "run as root: scripts/s3-rgw.sh runs the Ceph daemons"
CELLAR="$(readlink -f "$BUILD/src/cli/cellar" 2>/dev/null || true)"
[[ -n "$CELLAR" && -x "$CELLAR" ]] || die "no cellar binary at $BUILD/src/cli/cellar; build first: scripts/build.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export RGW_PORT="${RGW_PORT:-7490}" MON_PORT="${MON_PORT:-3310}" MON_V1_PORT="${MON_V1_PORT:-6790}"

WORK="$(mktemp -d /tmp/cellar-fleetbench.XXXXXX)"
RGW_DIR="$WORK/rgw"
RGW_STARTED=0
REDIS_PID=""
NODE_PIDS=()
cleanup() {
  local p
  for p in "${NODE_PIDS[@]}" $REDIS_PID; do kill "$p" 2>/dev/null || true; done
  for p in "${NODE_PIDS[@]}" $REDIS_PID; do wait "$p" 2>/dev/null || true; done
  [[ $RGW_STARTED == 0 ]] || bash scripts/s3-rgw.sh down "$RGW_DIR" >/dev/null 2>&1 || true
  [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

T_START=$EPOCHREALTIME
echo "fleet_bench: starting RGW on 127.0.0.1:$RGW_PORT and redis-server" >&2
RGW_STARTED=1
bash scripts/s3-rgw.sh up "$RGW_DIR" >/dev/null || die "scripts/s3-rgw.sh up failed"
set -a
# shellcheck disable=SC1091
source "$RGW_DIR/env"
set +a
mapfile -t RGW_PIDS < <(cat "$RGW_DIR"/pids/*.pid)
REDIS_SOCK="$WORK/redis.sock"
redis-server --port 0 --unixsocket "$REDIS_SOCK" --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 1 100); do [[ -S "$REDIS_SOCK" ]] && break; sleep 0.05; done
[[ -S "$REDIS_SOCK" ]] || die "redis-server did not start: $(cat "$WORK/redis.log")"
LOADGEN=$(build_loadgen "$WORK")
RUN_ID=$(date +%s)-$$
CLK_TCK=$(getconf CLK_TCK)
redis_commands() { redis-cli -s "$REDIS_SOCK" INFO stats | awk -F: '/^total_commands_processed/ { print $2 + 0 }'; }
s3_requests() {  # summed over the nodes in BASES
  local b t=0
  for b in "${BASES[@]}"; do
    t=$(( t + $(curl -s -H "Authorization: Bearer $TOKEN" "$b/metrics" |
      awk '$1 ~ /^cellar_s3_requests_total\{/ { v += $2 } END { printf "%d\n", v }') ))
  done
  echo "$t"
}
RESULTS="$WORK/results.jsonl"; : > "$RESULTS"

# phase NODES NAME MODE SHIFT: every node k runs the load generator against
# node k, on the set of node (k + SHIFT) % NODES, all at once.
phase() {
  local nodes=$1 name=$2 mode=$3 shift_by=$4 k pids=() cpu0 cpu1 rgw0 rgw1 red0 red1 s30 s31 t0 t1
  cpu0=$(cpu_ticks "${NODE_PIDS[@]}"); rgw0=$(cpu_ticks "${RGW_PIDS[@]}" "$REDIS_PID")
  red0=$(redis_commands); s30=$(s3_requests); t0=$EPOCHREALTIME
  for ((k = 0; k < nodes; k++)); do
    "$LOADGEN" -api turbo -mode "$mode" -base "${BASES[$k]}/turbo" -set "n$nodes-k$(( (k + shift_by) % nodes ))-$RUN_ID" \
      -conc "$CONC" -seed "$SEED" -n "$N" -slug bench -token "$TOKEN" > "$WORK/out-$k.json" &
    pids+=($!)
  done
  for k in "${!pids[@]}"; do wait "${pids[$k]}" || die "$nodes nodes, $name: load generator $k failed"; done
  t1=$EPOCHREALTIME
  cpu1=$(cpu_ticks "${NODE_PIDS[@]}"); rgw1=$(cpu_ticks "${RGW_PIDS[@]}" "$REDIS_PID")
  red1=$(redis_commands); s31=$(s3_requests)
  python3 - "$WORK" "$nodes" "$name" "$t0" "$t1" "$((cpu1 - cpu0))" "$((rgw1 - rgw0))" "$((red1 - red0))" \
    "$((s31 - s30))" "$CLK_TCK" >> "$RESULTS" <<'PY'
import glob, json, sys
work, nodes, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0, t1 = float(sys.argv[4]), float(sys.argv[5])
outs = [json.load(open("%s/out-%d.json" % (work, k))) for k in range(nodes)]
req = sum(o["requests"] for o in outs)
print(json.dumps(dict(nodes=nodes, phase=name, seconds=t1 - t0, bytes=sum(o["bytes"] for o in outs), requests=req,
                      errors=sum(o["errors"] for o in outs), cpu_s=int(sys.argv[6]) / int(sys.argv[10]),
                      store_cpu_s=int(sys.argv[7]) / int(sys.argv[10]), redis_cmds=int(sys.argv[8]),
                      s3_requests=int(sys.argv[9]))))
PY
  tail -n 1 "$RESULTS" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print("fleet_bench: %d node(s) %-10s %6d req %3d err %7.1f MB/s  cellar CPU %5.2f s  S3 %d  Redis %d" % (
    r["nodes"], r["phase"], r["requests"], r["errors"], r["bytes"] / 1e6 / r["seconds"], r["cpu_s"],
    r["s3_requests"], r["redis_cmds"]), file=sys.stderr)'
}

LOAD0=$(cut -d' ' -f1 /proc/loadavg)
for nodes in 1 2 3; do
  NODE_PIDS=(); BASES=()
  for ((k = 0; k < nodes; k++)); do
    log="$WORK/n$nodes-$k.log"
    "$CELLAR" serve --listen 127.0.0.1:0 --data-dir "$WORK/data/n$nodes-$k" --access-log=false \
      --token "bench:$TOKEN:read,write" --storage s3 --s3-bucket "$CELLAR_S3_BUCKET" \
      --s3-prefix "fleetbench-$RUN_ID-n$nodes" --redis-url "unix://$REDIS_SOCK" --node-id "n$nodes-$k" >"$log" 2>&1 &
    NODE_PIDS+=($!)
    BASES+=("http://127.0.0.1:$(cellar_port "$!" "$log" 600)")
  done
  phase "$nodes" put put 0
  phase "$nodes" "get local" get 0
  (( nodes == 1 )) || phase "$nodes" "get remote" get 1
  for p in "${NODE_PIDS[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
  NODE_PIDS=()
done

python3 - "$RESULTS" "$N" "$CONC" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print("Fleet mode, %s artifacts per node and phase, %s connections per node; RGW (memstore), Redis, the nodes"
      % (sys.argv[2], sys.argv[3]))
print("and the load generators share this machine's cores. Per request: the nodes' CPU, S3 requests the nodes")
print("made, Redis commands (all clients), the CPU of RGW and Redis.")
print()
print("| nodes | phase | MB/s | req/s | errors | cellar CPU ms/req | S3 requests/req | Redis commands/req | RGW+Redis CPU ms/req |")
print("|---|---|---|---|---|---|---|---|---|")
base = {}
for r in rows:
    rps = r["requests"] / r["seconds"]
    base.setdefault(r["phase"], rps)
    print("| %d | %s | %.1f | %.1f (%.2fx 1 node) | %d | %.2f | %.2f | %.3f | %.2f |" % (
        r["nodes"], r["phase"], r["bytes"] / 1e6 / r["seconds"], rps, rps / base[r["phase"]], r["errors"],
        1000 * r["cpu_s"] / r["requests"], r["s3_requests"] / r["requests"], r["redis_cmds"] / r["requests"],
        1000 * r["store_cpu_s"] / r["requests"]))
if any(r["errors"] for r in rows):
    sys.exit("fleet_bench: some requests failed")
PY
echo "fleet_bench: load average at start $LOAD0, at end $(cut -d' ' -f1 /proc/loadavg); took $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1])))" "$T_START" "$EPOCHREALTIME") s"
