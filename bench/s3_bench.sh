#!/usr/bin/env bash
# cellar on S3-compatible storage (issue 15), measured in one run on one
# machine. The script starts everything it measures:
#   - a Ceph RGW of its own (scripts/s3-rgw.sh, memstore: objects in RAM) on
#     non-default ports, in a directory of its own;
#   - cellar "local": `cellar serve` on the local-disk default;
#   - cellar "s3": `cellar serve --storage s3`, the data dir as local tier in
#     front of the bucket, on a fresh key prefix.
# Load: bench/turbo_loadgen*.go (Go standard library), a fixed seeded set of N
# incompressible artifacts of mixed sizes (10 KiB to 10 MiB, mostly small; the
# same sizes as bench/turbo_bench.sh), every GET body compared byte for byte
# with what was PUT.
#
# (a) Turborepo API throughput, PUT then GET of the set at each concurrency of
#     CONCS (closed loop, one keep-alive connection per client), fresh hashes
#     per level, through:
#       local   PUT/GET /turbo/v8/artifacts/<hash> on cellar local;
#       s3      the same on cellar s3: a PUT is answered once the blob and its
#               entry manifest are in the bucket (write-through); the GETs are
#               local-tier hits (the node just stored them; checked with
#               cellar_tiered_reads_total);
#       direct  the same objects PUT/GET straight to RGW, SigV4-signed by the
#               load generator (UNSIGNED-PAYLOAD, as cellar sends): the ceiling.
#     Targets: s3 PUT >= 0.8x direct PUT; s3 GET within 10% of local GET.
# (b) Negotiate API (docs/protocols/negotiate.md), the set moved at NEG_CONC as
#     cellar run moves it (uploads: negotiate, PUT, commit; downloads: batch
#     lookup, then GETs), through:
#       proxied local  cellar local's own signed /v1/blobs/ URLs: every byte
#                      through cellar;
#       proxied s3     uploads without "presigned": /v1/blobs/ on cellar s3,
#                      which writes them through to the bucket (downloads of
#                      blobs in the bucket are always presigned, so none here);
#       presigned      cellar s3 with "presigned": true: PUT to a staging object
#                      in the bucket plus a commit (cellar reads the staged
#                      object back to hash and store it); GETs straight from
#                      the bucket.
#     Twice: with the mixed set (mostly small artifacts: per-request costs
#     dominate) and with LARGE_N artifacts of LARGE_MIB MiB each (per-byte
#     costs dominate). Reported: cellar's CPU seconds (utime+stime from
#     /proc/PID/stat around the phase) per GB moved, and throughput. Target:
#     presigned <= 2% of the CPU proxying the same bytes costs.
# Around every phase: `sync` (untimed), cellar's peak-RSS counter reset
# (/proc/PID/clear_refs), then VmHWM read after it, so the peak is the
# phase's; RGW's CPU (radosgw + ceph-osd + ceph-mon) is recorded too.
#
#   nice -n 10 bash bench/s3_bench.sh     (needs root for RGW; about 3-5 minutes)
#   N=400                artifacts per set (~200 MB)
#   CONCS="4 16"         concurrency levels of (a)
#   NEG_CONC=8           concurrency of (b)
#   LARGE_N=16 LARGE_MIB=32  the large set of (b) (LARGE_N=0: skip it)
#   ROUNDS=1             rounds of everything (fresh hashes; the tables give medians)
#   BUILD=build          where the cellar binary is ($BUILD/src/cli/cellar)
#   RGW_PORT=7488 MON_PORT=3308 MON_V1_PORT=6788   RGW's ports (not the defaults
#                        the tests use); RGW_DIR=<work dir>/rgw
#   MEMSTORE_BYTES=6GiB  RGW's RAM cap (bytes)
#   KEEP_WORK=1          leave the work dir (both data dirs) in place
# Needs go >= 1.19 (golang-go), curl, python3 and Debian 12's Ceph packages
# (scripts/s3-rgw.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${BUILD:-build}"
N="${N:-400}"
CONCS="${CONCS:-4 16}"
NEG_CONC="${NEG_CONC:-8}"
LARGE_N="${LARGE_N:-16}"
LARGE_MIB="${LARGE_MIB:-32}"
ROUNDS="${ROUNDS:-1}"
SEED=20260101
SLUG=bench
TOKEN=s3-bench-token-0123456789
die() { echo "s3_bench: $*" >&2; exit 1; }
source bench/bench_lib.sh  # the script runs from the repository root
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ "$LARGE_N" =~ ^[0-9]+$ && "$LARGE_MIB" =~ ^[1-9][0-9]*$ ]] || die "LARGE_N and LARGE_MIB must be integers"
for c in $CONCS $NEG_CONC; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONCS and NEG_CONC must be positive integers"; done
for tool in go curl python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install golang-go curl python3)"
done
[[ $(id -u) -eq 0 ]] || die "run as root: scripts/s3-rgw.sh runs the Ceph daemons"
CELLAR="$(readlink -f "$BUILD/src/cli/cellar" 2>/dev/null || true)"
[[ -n "$CELLAR" && -x "$CELLAR" ]] || die "no cellar binary at $BUILD/src/cli/cellar; build first: scripts/build.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export RGW_PORT="${RGW_PORT:-7488}" MON_PORT="${MON_PORT:-3308}" MON_V1_PORT="${MON_V1_PORT:-6788}"
export MEMSTORE_BYTES="${MEMSTORE_BYTES:-6442450944}"

WORK="$(mktemp -d /tmp/cellar-s3bench.XXXXXX)"
RGW_DIR="${RGW_DIR:-$WORK/rgw}"
RGW_STARTED=0
declare -A PID=() LOG=()
cleanup() {
  local s
  for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done
  for s in "${!PID[@]}"; do wait "${PID[$s]}" 2>/dev/null || true; done
  [[ $RGW_STARTED == 0 ]] || bash scripts/s3-rgw.sh down "$RGW_DIR" >/dev/null 2>&1 || true
  if [[ -n "${KEEP_WORK:-}" ]]; then
    echo "s3_bench: KEEP_WORK set; left $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  return 0
}
trap cleanup EXIT

# --- RGW, the load generator, the two cellars ---------------------------------------
T_START=$EPOCHREALTIME
echo "s3_bench: starting RGW on 127.0.0.1:$RGW_PORT in $RGW_DIR" >&2
bash scripts/s3-rgw.sh status "$RGW_DIR" 2>/dev/null && die "$RGW_DIR already holds a running RGW; give RGW_DIR a new directory"
RGW_STARTED=1
bash scripts/s3-rgw.sh up "$RGW_DIR" >/dev/null || die "scripts/s3-rgw.sh up $RGW_DIR failed"
set -a
# shellcheck disable=SC1091
source "$RGW_DIR/env"
set +a
mapfile -t RGW_PIDS < <(cat "$RGW_DIR"/pids/*.pid)
RUN_ID=$(date +%s)-$$
PREFIX="s3bench-$RUN_ID"
DIRECT_BASE="$AWS_ENDPOINT_URL/$CELLAR_S3_BUCKET/$PREFIX/direct"
LOADGEN=$(build_loadgen "$WORK")

mkdir -p "$WORK/data"
spread_subdirs "$WORK/data"
declare -A BASE=()
start_node() {  # start_node NAME [serve args...]
  local name=$1 port
  shift
  LOG[$name]="$WORK/$name.log"
  "$CELLAR" serve --listen 127.0.0.1:0 --data-dir "$WORK/data/$name" --access-log=false \
    --token "bench:$TOKEN:read,write" "$@" >"${LOG[$name]}" 2>&1 &
  PID[$name]=$!
  port=$(cellar_port "${PID[$name]}" "${LOG[$name]}" 600)
  BASE[$name]="http://127.0.0.1:$port"
}
start_node local
start_node s3 --storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "$PREFIX/cellar"

# --- sanity: a turbo round trip through each node, and the s3 node really on S3 ---
head -c 123457 /dev/urandom > "$WORK/probe"
for s in local s3; do
  url="${BASE[$s]}/turbo/v8/artifacts/00000000deadbeef?slug=$SLUG"
  code=$(curl -s -o "$WORK/probe.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -X PUT \
    -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/probe" "$url")
  [[ $code == 200 || $code == 202 ]] || die "$s: probe PUT answered $code: $(head -c 300 "$WORK/probe.out")"
  code=$(curl -s -o "$WORK/probe.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")
  [[ $code == 200 ]] || die "$s: probe GET answered $code"
  cmp -s "$WORK/probe" "$WORK/probe.out" || die "$s: probe GET answered a different body"
done
# s3_requests: all S3 requests the s3 node made so far (every operation and result).
s3_requests() {
  curl -s -H "Authorization: Bearer $TOKEN" "${BASE[s3]}/metrics" |
    awk '$1 ~ /^cellar_s3_requests_total\{/ { v += $2 } END { printf "%d\n", v }'
}
# metric NODE SERIES: one series of a node's /metrics (0 when absent).
metric() { curl -s -H "Authorization: Bearer $TOKEN" "${BASE[$1]}/metrics" | awk -v k="$2" '$1 == k { v = $2 } END { printf "%d\n", v }'; }
(( $(metric s3 'cellar_s3_bytes_total{direction="upload"}') >= 123457 )) ||
  die "cellar s3 uploaded nothing to the bucket for the probe: is --storage s3 in effect?"

# --- measurement ---------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
check_alive() {
  local s=$1
  kill -0 "${PID[$s]}" 2>/dev/null && return 0
  echo "--- last $s log lines:" >&2; tail -n 30 "${LOG[$s]}" >&2
  unset "PID[$s]"
  die "cellar $s died $2"
}
RESULTS="$WORK/results.jsonl"; : > "$RESULTS"

# phase PART TARGET NODE API MODE SET CONC [LOADGEN ARGS...]: one load
# generator run (of the mixed set of N, unless the arguments say otherwise).
# NODE is the cellar measured (local or s3; "-" for direct, where the s3 node
# is idle and measured anyway); appends a JSON line to RESULTS and prints a
# summary line.
phase() {
  local part=$1 target=$2 node=$3 api=$4 mode=$5 set=$6 conc=$7 base out pid
  shift 7
  local args=("$@")
  (( ${#args[@]} > 0 )) || args=(-n "$N")
  local cpu0 cpu1 rgw0 rgw1 hwm up0 up1 loc0 loc1 rem0 rem1 req0 req1
  pid=${PID[${node/-/s3}]}
  case $api in
    s3) base=$DIRECT_BASE ;;
    turbo) base="${BASE[$node]}/turbo" ;;
    *) base="${BASE[$node]}" ;;
  esac
  sync
  echo 5 > "/proc/$pid/clear_refs"
  up0=$(metric s3 'cellar_s3_bytes_total{direction="upload"}')
  loc0=$(metric s3 'cellar_tiered_reads_total{source="local"}')
  rem0=$(metric s3 'cellar_tiered_reads_total{source="remote"}')
  req0=$(s3_requests)
  cpu0=$(cpu_ticks "$pid"); rgw0=$(cpu_ticks "${RGW_PIDS[@]}")
  out=$("$LOADGEN" -api "$api" -mode "$mode" -base "$base" -set "$set" -conc "$conc" -seed "$SEED" \
    -slug "$SLUG" -token "$TOKEN" "${args[@]}") || die "$target $api $mode: load generator failed"
  cpu1=$(cpu_ticks "$pid"); rgw1=$(cpu_ticks "${RGW_PIDS[@]}")
  hwm=$(hwm_kib "$pid")
  up1=$(metric s3 'cellar_s3_bytes_total{direction="upload"}')
  loc1=$(metric s3 'cellar_tiered_reads_total{source="local"}')
  rem1=$(metric s3 'cellar_tiered_reads_total{source="remote"}')
  req1=$(s3_requests)
  check_alive "${node/-/s3}" "during $target $mode"
  python3 - "$out" "$part" "$target" "$node" "$hwm" "$(( cpu1 - cpu0 ))" "$(( rgw1 - rgw0 ))" "$CLK_TCK" \
    "$(( up1 - up0 ))" "$(( loc1 - loc0 ))" "$(( rem1 - rem0 ))" "$ROUND" "$(( req1 - req0 ))" >> "$RESULTS" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
tck = int(sys.argv[8])
r.update(part=sys.argv[2], target=sys.argv[3], node=sys.argv[4], hwm_kib=int(sys.argv[5]),
         cpu_s=int(sys.argv[6]) / tck, rgw_cpu_s=int(sys.argv[7]) / tck, s3_upload_bytes=int(sys.argv[9]),
         tiered_local=int(sys.argv[10]), tiered_remote=int(sys.argv[11]), round=int(sys.argv[12]),
         cellar_s3_requests=int(sys.argv[13]))
print(json.dumps(r))
PY
  python3 - "$RESULTS" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
gb = r["bytes"] / 1e9
print("r%d (%s) %-14s %-3s c=%-3d %4d req %3d err %8.1f MB/s %7.1f req/s  p50 %7.2f ms  p99 %7.2f ms  "
      "cellar %s: CPU %5.2f s (%5.2f s/GB), peak RSS %5.1f MiB  RGW CPU %5.2f s%s%s" % (
    r["round"], r["part"], r["target"], r["mode"], r["conc"], r["requests"], r["errors"], r["mbps"], r["rps"],
    r["p50_ms"], r["p99_ms"], "s3" if r["node"] == "-" else r["node"], r["cpu_s"], r["cpu_s"] / gb if gb else 0,
    r["hwm_kib"] / 1024, r["rgw_cpu_s"], "  via " + json.dumps(r["via"]) if r.get("via") else "",
    "  FIRST ERROR: " + r["first_error"] if r.get("first_error") else ""), flush=True)
PY
}

"$LOADGEN" -mode sizes -n "$N" -seed "$SEED" | python3 -c '
import json, sys
d = json.load(sys.stdin)
b = d["bands"]
print("s3_bench: set of %d artifacts, %.1f MB (%d of 10-100 KiB, %d of 100 KiB-1 MiB, %d of 1-5 MiB, %d of 5-10 MiB; "
      "median %.1f KiB, max %.2f MiB)" % (d["n"], d["total_bytes"] / 1e6, b["10K-100K"], b["100K-1M"], b["1M-5M"],
      b["5M-10M"], d["median"] / 1024, d["max"] / 1048576))'
echo "s3_bench: cellar $CELLAR; RGW $(radosgw --version 2>/dev/null | awk '{print $3; exit}') at $AWS_ENDPOINT_URL" \
  "(memstore), prefix $PREFIX; $(nproc) cores; $(go version | cut -d' ' -f3) load generator"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$LOAD0" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }' &&
  echo "s3_bench: warning: load average $LOAD0 on $(nproc) cores; timings will be noisy" >&2

# target -> "node api" for part (a)
# direct2: the floor of a write-through cache that keeps one small entry
# object per artifact beside its blob (cellar's manifest is ~300 bytes of
# JSON): the same PUTs direct to RGW, each followed by such an object.
declare -A A_NODE=([local]=local [s3]=s3 [direct]=- [direct2]=-)
declare -A A_API=([local]=turbo [s3]=turbo [direct]=s3 [direct2]=s3)
declare -A A_ARGS=([local]="-n $N" [s3]="-n $N" [direct]="-n $N" [direct2]="-n $N -s3-manifest-bytes 300")
A_ORDER=(direct s3 local direct2)
# fresh_rgw: RGW restarted with an empty store before every round but the
# first. memstore keeps objects in RAM, and one round stores about 2.5 GB:
# a full store stalls writes instead of refusing them.
fresh_rgw() {
  bash scripts/s3-rgw.sh down "$RGW_DIR" >/dev/null 2>&1 || true
  bash scripts/s3-rgw.sh up "$RGW_DIR" >/dev/null || die "restarting RGW for round $ROUND failed"
  mapfile -t RGW_PIDS < <(cat "$RGW_DIR"/pids/*.pid)
  local _
  for _ in $(seq 1 100); do
    [[ $(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $TOKEN" "${BASE[s3]}/readyz") == 200 ]] && return 0
    sleep 0.2
  done
  die "cellar s3 is not ready 20 s after RGW restarted"
}
k=0
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  (( ROUND == 1 )) || fresh_rgw
  for conc in $CONCS; do
    # Rotate which target goes first, level by level.
    for ((j = 0; j < 4; j++)); do
      t=${A_ORDER[$(( (j + k) % 4 ))]}
      # shellcheck disable=SC2086 # A_ARGS holds several words
      phase a "$t" "${A_NODE[$t]}" "${A_API[$t]}" put "a-$t-r$ROUND-c$conc-$RUN_ID" "$conc" ${A_ARGS[$t]}
    done
    for ((j = 0; j < 3; j++)); do
      t=${A_ORDER[$(( (j + k) % 3 ))]}
      phase a "$t" "${A_NODE[$t]}" "${A_API[$t]}" get "a-$t-r$ROUND-c$conc-$RUN_ID" "$conc"
    done
    k=$((k + 1))
  done
  phase b "proxied local" local negotiate put "b-local-r$ROUND-$RUN_ID" "$NEG_CONC"
  phase b "proxied local" local negotiate get "b-local-r$ROUND-$RUN_ID" "$NEG_CONC"
  phase b "proxied s3" s3 negotiate put "b-s3proxy-r$ROUND-$RUN_ID" "$NEG_CONC"
  phase b "presigned" s3 negotiate-presigned put "b-presigned-r$ROUND-$RUN_ID" "$NEG_CONC"
  phase b "presigned" s3 negotiate-presigned get "b-presigned-r$ROUND-$RUN_ID" "$NEG_CONC"
  if (( LARGE_N > 0 )); then
    big=(-n "$LARGE_N" -each $((LARGE_MIB << 20)))
    phase bl "proxied local" local negotiate put "bl-local-r$ROUND-$RUN_ID" "$NEG_CONC" "${big[@]}"
    phase bl "proxied local" local negotiate get "bl-local-r$ROUND-$RUN_ID" "$NEG_CONC" "${big[@]}"
    phase bl "proxied s3" s3 negotiate put "bl-s3proxy-r$ROUND-$RUN_ID" "$NEG_CONC" "${big[@]}"
    phase bl "presigned" s3 negotiate-presigned put "bl-presigned-r$ROUND-$RUN_ID" "$NEG_CONC" "${big[@]}"
    phase bl "presigned" s3 negotiate-presigned get "bl-presigned-r$ROUND-$RUN_ID" "$NEG_CONC" "${big[@]}"
  fi
done
for s in local s3; do check_alive "$s" "by the end"; done

rc=0
python3 - "$RESULTS" "$N" "$ROUNDS" "$CLK_TCK" <<'PY' || rc=$?
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n, rounds, tck = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
med = statistics.median

def agg(part, target, mode, conc=None):
    rs = [r for r in rows if (r["part"], r["target"], r["mode"]) == (part, target, mode)
          and (conc is None or r["conc"] == conc)]
    if not rs:
        return None
    gb = [r["bytes"] / 1e9 for r in rs]
    return dict(mbps=med(r["mbps"] for r in rs), rps=med(r["rps"] for r in rs), p50=med(r["p50_ms"] for r in rs),
                p99=med(r["p99_ms"] for r in rs), cpu=med(r["cpu_s"] for r in rs),
                cpu_gb=med(r["cpu_s"] / (r["bytes"] / 1e9) for r in rs if r["bytes"]),
                rgw_gb=med(r["rgw_cpu_s"] / (r["bytes"] / 1e9) for r in rs if r["bytes"]),
                hwm=max(r["hwm_kib"] for r in rs) / 1024, errors=sum(r["errors"] for r in rs),
                via=rs[0].get("via"), up=med(r["s3_upload_bytes"] for r in rs), bytes=med(r["bytes"] for r in rs),
                loc=min(r["tiered_local"] for r in rs), rem=max(r["tiered_remote"] for r in rs),
                s3req=med(r["cellar_s3_requests"] / r["requests"] for r in rs),
                cpu_ms=med(1000 * r["cpu_s"] / r["requests"] for r in rs))

def ratio(x, y):
    return "%.2f" % (x / y) if x is not None and y else "n/a"

def verdict(ok):
    return "met" if ok else "NOT met"

print()
print("(a) Turborepo API, %d artifacts per set, median of %d round(s). cellar CPU/peak RSS: the node serving the"
      % (n, rounds))
print("    requests (for direct: the idle s3 node). RGW CPU: radosgw + ceph-osd + ceph-mon.")
print()
print("| op | conc | target | MB/s | req/s | p50 ms | p99 ms | cellar CPU s/GB | RGW CPU s/GB | S3 requests per artifact | cellar peak RSS MiB | errors |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
concs = sorted({r["conc"] for r in rows if r["part"] == "a"})
names = {"local": "cellar, local disk", "s3": "cellar --storage s3", "direct": "RGW direct (SigV4)",
         "direct2": "RGW direct, blob + 300 B entry object"}
for mode in ("put", "get"):
    for conc in concs:
        for t in ("local", "s3", "direct", "direct2"):
            a = agg("a", t, mode, conc)
            if a:
                print("| %s | %d | %s | %.1f | %.1f | %.2f | %.2f | %s | %.2f | %s | %.0f | %d |" % (
                    mode.upper(), conc, names[t], a["mbps"], a["rps"], a["p50"], a["p99"],
                    "%.2f" % a["cpu_gb"] if t != "direct" else "-", a["rgw_gb"],
                    {"s3": "%.1f (cellar's)" % a["s3req"], "direct": "1", "direct2": "2", "local": "-"}[t], a["hwm"], a["errors"]))
print()
print("| conc | s3 PUT / direct PUT (target >= 0.8) | s3 GET / local GET (target >= 0.9) | s3 PUT / local PUT "
      "| s3 PUT / direct blob + entry object PUT | direct blob + entry object / direct PUT |")
print("|---|---|---|---|---|---|")
for conc in concs:
    sp, dp, lp = agg("a", "s3", "put", conc), agg("a", "direct", "put", conc), agg("a", "local", "put", conc)
    d2 = agg("a", "direct2", "put", conc)
    sg, lg = agg("a", "s3", "get", conc), agg("a", "local", "get", conc)
    rp = sp["mbps"] / dp["mbps"] if sp and dp else None
    rg = sg["mbps"] / lg["mbps"] if sg and lg else None
    print("| %d | **%s** (%s) | **%s** (%s) | %s | %s | %s |" % (conc, ratio(sp and sp["mbps"], dp and dp["mbps"]),
          verdict(rp is not None and rp >= 0.8), ratio(sg and sg["mbps"], lg and lg["mbps"]),
          verdict(rg is not None and rg >= 0.9), ratio(sp and sp["mbps"], lp and lp["mbps"]),
          ratio(sp and sp["mbps"], d2 and d2["mbps"]), ratio(d2 and d2["mbps"], dp and dp["mbps"])))
checks = []
for conc in concs:
    sp, sg = agg("a", "s3", "put", conc), agg("a", "s3", "get", conc)
    if sp and sp["up"] < sp["bytes"]:
        checks.append("c=%d: cellar s3 sent %d bytes to the bucket during PUT, less than the %d stored" % (
            conc, sp["up"], sp["bytes"]))
    if sg and (sg["loc"] < n or sg["rem"] > 0):
        checks.append("c=%d: s3 GETs were not all local-tier hits (local %d, remote %d)" % (conc, sg["loc"], sg["rem"]))

def negotiate_table(part, title):
    if not agg(part, "presigned", "get"):
        return
    r0 = [r for r in rows if r["part"] == part][0]
    print()
    print("(%s) Negotiate API, %s, concurrency %d, median of %d round(s). CPU s/GB = cellar's CPU seconds"
          % (part, title, r0["conc"], rounds))
    print("    (utime+stime) per GB the phase moved, negotiations and commits included.")
    print()
    print("| op | path | MB/s | req/s | cellar CPU s | cellar CPU s/GB | cellar CPU ms/artifact | RGW CPU s/GB | cellar peak RSS MiB | URLs | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for mode in ("put", "get"):
        for t in ("proxied local", "proxied s3", "presigned"):
            b = agg(part, t, mode)
            if b:
                print("| %s | %s | %.1f | %.1f | %.2f | %.3f | %.2f | %.2f | %.0f | %s | %d |" % (
                    mode.upper(), t, b["mbps"], b["rps"], b["cpu"], b["cpu_gb"], b["cpu_ms"], b["rgw_gb"], b["hwm"],
                    ", ".join("%s %d" % kv for kv in sorted((b["via"] or {}).items())), b["errors"]))
    print()
    pg, lg = agg(part, "presigned", "get"), agg(part, "proxied local", "get")
    pp, sp, lp = agg(part, "presigned", "put"), agg(part, "proxied s3", "put"), agg(part, "proxied local", "put")
    for label, x, y in (("GET presigned / proxied local", pg, lg), ("PUT presigned / proxied s3", pp, sp),
                        ("PUT presigned / proxied local", pp, lp)):
        if x and y and not y["cpu_gb"]:
            print("(%s) cellar CPU per GB, %s: n/a, the proxied phase took less than a clock tick (%s); use a larger set" % (
                part, label, "10 ms" if tck == 100 else "1/%d s" % tck))
        elif x and y:
            r = x["cpu_gb"] / y["cpu_gb"]
            # /proc/PID/stat counts CPU in clock ticks: with few of them, give
            # the range one tick either way allows.
            xt, yt = round(x["cpu"] * tck), round(y["cpu"] * tck)
            k = y["bytes"] / x["bytes"]
            bounds, lo, hi = "", r, r
            if min(xt, yt) < 20:
                lo, hi = max(xt - 1, 0) / (yt + 1) * k, (xt + 1) / max(yt - 1, 1) * k
                bounds = " [%d vs %d clock ticks: %.1f-%.1f%%]" % (xt, yt, 100 * lo, 100 * hi)
            met = "met" if hi <= 0.02 else "NOT met" if lo > 0.02 else "undecided, too few clock ticks"
            print("(%s) cellar CPU per GB, %s: %.1f%%%s (target <= 2%%: %s); throughput %sx" % (
                part, label, 100 * r, bounds, met, ratio(x["mbps"], y["mbps"])))
    for t, want in (("presigned", "store"), ("proxied local", "cellar"), ("proxied s3", "cellar")):
        for mode in ("put", "get"):
            for r in rows:
                if (r["part"], r["target"], r["mode"]) == (part, t, mode) and (r.get("via") or {}).get(want, 0) != r["requests"]:
                    checks.append("(%s) %s %s: %d of %d URLs pointed at the %s (%s)" % (
                        part, t, mode, (r.get("via") or {}).get(want, 0), r["requests"], want, r.get("via")))

negotiate_table("b", "the mixed set of %d artifacts" % n)
big = [r for r in rows if r["part"] == "bl"]
if big:
    negotiate_table("bl", "%d artifacts of %.0f MiB" % (big[0]["requests"], big[0]["bytes"] / big[0]["requests"] / 1048576))
print()
parts = []
for s in ("local", "s3"):
    rs = [r for r in rows if (r["node"] if r["node"] != "-" else "s3") == s]
    parts.append("%s max %.0f MiB" % (s, max(r["hwm_kib"] for r in rs) / 1024))
print("cellar peak RSS over all phases: " + ", ".join(parts))
errs = sum(r["errors"] for r in rows)
print("bodies checked: %d GET bodies compared byte for byte (%.0f MB), %d SHA-256 samples" % (
    sum(r["requests"] - r["errors"] for r in rows if r["mode"] == "get"),
    sum(r.get("verified_bytes", 0) for r in rows) / 1e6, sum(r.get("sha256_checked", 0) for r in rows)))
for c in checks:
    print("CHECK FAILED: " + c)
if errs:
    print("ERRORS: %d requests failed; first errors:" % errs)
    for r in rows:
        if r.get("first_error"):
            print("  round %d (%s) %s %s c=%d: %s" % (r["round"], r["part"], r["target"], r["mode"], r["conc"],
                                                     r["first_error"]))
sys.exit(3 if errs or checks else 0)
PY
echo "load average at start $LOAD0, at end $(cut -d' ' -f1 /proc/loadavg);" \
  "the bench took $(python3 -c "print(round($EPOCHREALTIME - $T_START))") s"
exit $rc
