#!/usr/bin/env bash
# What tracing costs a hit: 4 KiB Bazel CAS GETs at concurrency 64 against
# cellar with tracing off, at 1% sampling and at 100% sampling (spans sent
# to a fake OTLP collector on loopback, tests/integration/fake_otlp_collector.py,
# which parses and stores every span in Python on the same two cores), at
# 100% into a sink that only receives (nginx answering 200 to every POST:
# cellar's own export cost with a collector that costs next to nothing
# here, as one on another machine would), and at 100% with a collector
# that is down. Also cellar's CPU per request in each mode (utime + stime
# from /proc, all threads). The modes are interleaved over
# several rounds on the same store; the median of each is reported with its
# ratio to "off". Targets (issue 18): >= 0.98 at 1%, >= 0.90 at 100%.
#
#   bash bench/tracing_bench.sh [SECONDS_PER_CELL] [ROUNDS]
#
# Needs a release build (scripts/build.sh). Results: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-5}"
ROUNDS="${2:-3}"
BUILD="${BUILD:-build}"
CELLAR="$BUILD/src/cli/cellar"
LOADGEN="$BUILD/bench/loadgen"
[[ -x "$CELLAR" && -x "$LOADGEN" ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
WORK="$(mktemp -d /tmp/cellar-trace-bench.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3; rm -rf "$WORK"
}
trap cleanup EXIT

python3 tests/integration/fake_otlp_collector.py "$WORK/otlp.port" "$WORK/otlp" 2>"$WORK/otlp.err" &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$WORK/otlp.port" ]] && break; sleep 0.05; done
OTLP="http://127.0.0.1:$(cat "$WORK/otlp.port")"
DEAD="http://127.0.0.1:9"  # discard port: nothing listens
# The sink: nginx on a free port, reading and dropping every body.
SINK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
error_log $WORK/nginx/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  client_body_temp_path $WORK/nginx;
  proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx;
  scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$SINK_PORT; location / { return 200 '{}'; } }
}
NGINX
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2>"$WORK/nginx/start.err" &
PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$SINK_PORT/" && break; sleep 0.05; done
SINK="http://127.0.0.1:$SINK_PORT"

start() {  # start NAME ARGS...: a cellar on the shared store; sets PORT
  local name=$1; shift
  "$CELLAR" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --access-log=false "$@" 2>"$WORK/$name.log" &
  CELLAR_PID=$!
  for _ in $(seq 100); do grep -q '"port"' "$WORK/$name.log" 2>/dev/null && break; sleep 0.05; done
  PORT=$(grep -o '"port":[0-9]*' "$WORK/$name.log" | head -1 | cut -d: -f2)
}
stop() { kill "$CELLAR_PID"; wait "$CELLAR_PID" 2>/dev/null || true; }

start seed
"$LOADGEN" seed "http://127.0.0.1:$PORT/bazel/cas" 4096 1000
stop

declare -A RUNS
declare -A CPU
read -r -a MODES <<<"${TRACE_BENCH_MODES:-off sampled-1pct sampled-100pct sink-100pct dead-collector-100pct}"
args_for() {
  case $1 in
    off) ;;
    sampled-1pct) echo "--otlp-endpoint $OTLP --trace-sampling 0.01" ;;
    sampled-100pct) echo "--otlp-endpoint $OTLP --trace-sampling 1" ;;
    sink-100pct) echo "--otlp-endpoint $SINK --trace-sampling 1" ;;
    dead-collector-100pct) echo "--otlp-endpoint $DEAD --trace-sampling 1" ;;
  esac
}
for round in $(seq "$ROUNDS"); do
  for mode in "${MODES[@]}"; do
    # shellcheck disable=SC2046
    start "$mode" $(args_for "$mode")
    sleep 0.3
    c0=$(awk '{print $14 + $15}' "/proc/$CELLAR_PID/stat")
    out=$("$LOADGEN" get "http://127.0.0.1:$PORT/bazel/cas" 4096 64 "$SECS" 1000)
    sleep 1  # the last batch of spans leaves
    c1=$(awk '{print $14 + $15}' "/proc/$CELLAR_PID/stat")
    echo "round $round $mode $out"
    RUNS[$mode]+="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rps"])' "$out") "
    CPU[$mode]+="$(python3 -c 'import json,sys; print(round((int(sys.argv[2]) - int(sys.argv[1])) * 1e6 / 100 / json.loads(sys.argv[3])["requests"], 2))' "$c0" "$c1" "$out") "
    stop
  done
done
cat "$WORK/nginx/error.log" 2>/dev/null | tail -3 || true
spans=$(cat "$WORK"/otlp/*.json 2>/dev/null | grep -o '"spanId"' | wc -l || true)
echo
echo "| tracing | median req/s | runs | ratio to off | cellar CPU µs per request (median) |"
echo "|---|---|---|---|---|"
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' $1; }
base=$(median "${RUNS[off]}")
for mode in "${MODES[@]}"; do
  m=$(median "${RUNS[$mode]}")
  echo "| $mode | $m | ${RUNS[$mode]}| $(python3 -c "print(f'{$m/$base:.3f}')") | $(median "${CPU[$mode]}") |"
done
echo
echo "spans received by the collector: $spans"
