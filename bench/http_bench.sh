#!/usr/bin/env bash
# Side-by-side benchmark: cellar's Bazel endpoint vs nginx (static files +
# WebDAV PUT) on this machine, same load generator, same blobs.
#
#   bash bench/http_bench.sh [SECONDS_PER_CELL]
#
# Needs a release build (scripts/build.sh) and nginx-light, installed by
# scripts/install-deps.sh --with-test-tools. Prints one JSON line per cell
# and a table of cellar/nginx ratios; see BENCHMARKS.md for recorded runs.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-5}"
BUILD="${BUILD:-build}"
CELLAR="$BUILD/src/cli/cellar"
LOADGEN="$BUILD/bench/loadgen"
[[ -x "$CELLAR" && -x "$LOADGEN" ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
WORK="$(mktemp -d /tmp/cellar-bench.XXXXXX)"
NGINX_PID=""; CELLAR_PID=""
cleanup() {
  [[ -n "$CELLAR_PID" ]] && kill "$CELLAR_PID" 2>/dev/null || true
  [[ -n "$NGINX_PID" ]] && kill "$NGINX_PID" 2>/dev/null || true
  sleep 0.3; rm -rf "$WORK"
}
trap cleanup EXIT

# --- nginx: serves /bazel/cas/<hash> from disk, accepts WebDAV PUT. ---
mkdir -p "$WORK/nginx-root/bazel/cas" "$WORK/nginx-tmp"
NGINX_PORT=$((20000 + RANDOM % 20000))
cat > "$WORK/nginx.conf" <<CONF
user root;
worker_processes $(nproc);
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log $WORK/nginx-access.log;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $WORK/nginx-tmp;
  client_max_body_size 0;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/nginx-root;
    location /bazel/ { dav_methods PUT; create_full_put_path on; }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!

# --- cellar: embedded default, access log to a file like nginx. ---
"$CELLAR" serve --listen 127.0.0.1:0 --data-dir "$WORK/cellar-data" --max-size 200GiB 2>"$WORK/cellar.log" &
CELLAR_PID=$!
for _ in $(seq 100); do grep -q '"port"' "$WORK/cellar.log" 2>/dev/null && break; sleep 0.05; done
CELLAR_PORT=$(grep -o '"port":[0-9]*' "$WORK/cellar.log" | head -1 | cut -d: -f2)
sleep 0.3

declare -A RESULT
run_cell() {  # run_cell SERVER MODE SIZE CONC
  local server=$1 mode=$2 size=$3 conc=$4 port
  [[ $server == cellar ]] && port=$CELLAR_PORT || port=$NGINX_PORT
  local out
  out=$("$LOADGEN" "$mode" "http://127.0.0.1:$port/bazel/cas" "$size" "$conc" "$SECS" "$SEEDED")
  echo "$server $out"
  RESULT["$server,$mode,$size,$conc"]="$out"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

for size in 4096 16777216; do
  if [[ $size == 4096 ]]; then SEEDED=1000; else SEEDED=16; fi
  "$LOADGEN" seed "http://127.0.0.1:$CELLAR_PORT/bazel/cas" "$size" "$SEEDED"
  "$LOADGEN" seed "http://127.0.0.1:$NGINX_PORT/bazel/cas" "$size" "$SEEDED"
  for conc in 1 16 64; do
    for mode in get put; do
      for server in nginx cellar; do run_cell $server $mode $size $conc; done
    done
  done
done

RSS_KB=$(awk '/VmHWM/ {print $2}' /proc/$CELLAR_PID/status)
echo
echo "| op | size | conc | nginx req/s | cellar req/s | ratio | nginx p99 ms | cellar p99 ms |"
echo "|---|---|---|---|---|---|---|---|"
for size in 4096 16777216; do
  for conc in 1 16 64; do
    for mode in get put; do
      n="${RESULT[nginx,$mode,$size,$conc]}"; c="${RESULT[cellar,$mode,$size,$conc]}"
      nr=$(field "$n" rps); cr=$(field "$c" rps)
      ratio=$(python3 -c "print(f'{$cr/$nr:.2f}' if $nr > 0 else 'n/a')")
      label=$([[ $size == 4096 ]] && echo "4 KiB" || echo "16 MiB")
      echo "| ${mode^^} | $label | $conc | $nr | $cr | $ratio | $(field "$n" p99_ms) | $(field "$c" p99_ms) |"
    done
  done
done
echo
echo "cellar peak RSS: $((RSS_KB / 1024)) MiB"
