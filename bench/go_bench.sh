#!/usr/bin/env bash
# Side-by-side benchmark of a warm `go mod download` (the real go command,
# empty GOMODCACHE every time) of one project with >= 50 modules, fetched:
#   cellar  through cellar's Go module proxy (/go/), its cache already filled;
#   file    from GOPROXY=file:// on the same module tree (the client's floor:
#           no HTTP at all);
#   nginx   from nginx-light serving that tree as static files.
#
#   bash bench/go_bench.sh [RUNS_PER_CONTENDER]     (default 5)
#   MODULES=80 bash bench/go_bench.sh               (module count, >= 50)
#   MODCACHE_DIR=DIR bash bench/go_bench.sh         (where the module caches go;
#                      default /dev/shm if it is a tmpfs with room, else /tmp)
#
# bench/make_go_bench_modules.py generates the modules (deterministic; 60 zips
# of 2 KB to 1.2 MB, 7.3 MiB, 40 MB unpacked) and a consumer whose go.sum is
# complete. nginx is also cellar's upstream. One untimed run per contender
# first (the cellar one fills cellar's cache, the only cold run it gets), then
# the contenders take turns, the order rotated every round. Every run gets a
# new, empty GOMODCACHE directory; they are all deleted only at exit, and by
# default they live on tmpfs: on ext4 without a journal (this VM) creating
# files within ~30 s of deleting thousands of others is slow (ialloc's
# recently_deleted() scan); deleting the cache before every run made the go
# command's system time grow 0.2 s -> 1.3 s over 14 runs, and a previous
# benchmark's cleanup slows the next one. With no deletes, disk and tmpfs
# give the same times (the writes stay in the page cache). `sync` runs outside
# the timing. Prints every run, then median and min wall seconds per contender
# and the ratios cellar/file, cellar/nginx and nginx/file (wall-time ratios:
# lower is better, 1.00 = as fast). Space: ~40 MB per run (~0.7 GB at 5 runs).
# Needs a build (scripts/build.sh), golang-go and nginx-light (installed by
# scripts/install-deps.sh --with-test-tools). See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
MODULES="${MODULES:-60}"
BUILD="${BUILD:-build}"
CELLAR="$(readlink -f "$BUILD/src/cli/cellar" 2>/dev/null || true)"
die() { echo "go_bench: $*" >&2; exit 1; }
source bench/bench_lib.sh  # the script runs from the repository root
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS_PER_CONTENDER must be a positive integer, got '$RUNS'"
[[ -n "$CELLAR" && -x "$CELLAR" ]] || die "no cellar binary at $BUILD/src/cli/cellar; build first: scripts/build.sh"
command -v go >/dev/null || die "go is not installed (apt-get install golang-go)"
command -v nginx >/dev/null || die "nginx is not installed (apt-get install nginx-light)"
command -v python3 >/dev/null || die "python3 is not installed"
command -v curl >/dev/null || die "curl is not installed"

WORK="$(mktemp -d /tmp/cellar-gobench.XXXXXX)"
NGINX_PID=""; CELLAR_PID=""; CACHES=""
cleanup() {
  [[ -n "$CELLAR_PID" ]] && kill "$CELLAR_PID" 2>/dev/null || true
  [[ -n "$NGINX_PID" ]] && kill "$NGINX_PID" 2>/dev/null || true
  [[ -n "$CELLAR_PID" ]] && wait "$CELLAR_PID" 2>/dev/null || true
  [[ -n "$NGINX_PID" ]] && wait "$NGINX_PID" 2>/dev/null || true
  [[ -n "$CACHES" ]] && rm -rf "$CACHES"
  rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

# --- the module tree and the consumer project ---------------------------------
GEN="$WORK/gen"
python3 bench/make_go_bench_modules.py "$GEN" "$MODULES" || die "make_go_bench_modules.py failed"
EXPECTED_ZIPS=$(awk '$1 == "zips" {print $2}' "$GEN/expected.txt")
ZIP_BYTES=$(awk '$1 == "bytes" {print $2}' "$GEN/expected.txt")
cp "$GEN/consumer/go.sum" "$WORK/go.sum.orig"

# --- nginx: static files from the same tree ------------------------------------
mkdir -p "$WORK/nginx-tmp"
NGINX_PORT=$((20000 + RANDOM % 20000))
# As root, workers must stay root to read the 0700 mktemp directory.
NGINX_USER=""; [[ $EUID -eq 0 ]] && NGINX_USER="user root;"
cat > "$WORK/nginx.conf" <<CONF
$NGINX_USER
worker_processes $(nproc);
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log $WORK/nginx-access.log;
  default_type application/octet-stream;
  sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $WORK/nginx-tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $GEN/proxy;
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" 2>"$WORK/nginx.stderr" &
NGINX_PID=$!
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
FIRST_LIST="$(cd "$GEN/proxy" && find . -name list | head -1 | cut -c3-)"
for _ in $(seq 100); do
  curl -sf -o /dev/null "$NGINX_URL/$FIRST_LIST" && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx.stderr" "$WORK/nginx-error.log" >&2 2>/dev/null; die "nginx exited at start-up"; }
  sleep 0.05
done
curl -sf -o /dev/null "$NGINX_URL/$FIRST_LIST" || die "nginx does not answer on $NGINX_URL"

# --- cellar: pull-through Go proxy in front of nginx ---------------------------
CELLAR_ARGS=(serve --listen 127.0.0.1:0 --data-dir "$WORK/cellar-data" --go-upstream "$NGINX_URL")
# --go-verify=false: the generated modules are not in sum.golang.org, so cellar
# must not check them against a checksum database (the client still checks
# every file against go.sum). Older builds have no such flag and never verify.
if "$CELLAR" serve --help 2>&1 | grep -q -- '--go-verify'; then
  CELLAR_ARGS+=(--go-verify=false)
fi
"$CELLAR" "${CELLAR_ARGS[@]}" >"$WORK/cellar.log" 2>&1 &
CELLAR_PID=$!
CELLAR_PORT=$(cellar_port "$CELLAR_PID" "$WORK/cellar.log")
CELLAR_URL="http://127.0.0.1:$CELLAR_PORT/go"

# --- the go command: isolated from the caller's environment --------------------
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
unset GOPRIVATE GONOPROXY GONOSUMDB GOINSECURE GOWORK GOROOT GOEXPERIMENT GOFLAGS GOPROXY
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME="$WORK/home" GOPATH="$WORK/gopath" GOCACHE="$WORK/gocache"
export GOENV=off GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on
export GOFLAGS=-modcacherw  # writable module caches: rm -rf needs no chmod
mkdir -p "$HOME"
declare -A PROXY=([cellar]="$CELLAR_URL" [file]="file://$GEN/proxy" [nginx]="$NGINX_URL")
CONTENDERS=(cellar file nginx)

if [[ -z "${MODCACHE_DIR:-}" ]]; then
  MODCACHE_DIR="$WORK"
  NEED_KB=$(( (RUNS + 1) * 3 * MODULES * 1024 * 2 ))  # ~0.7 MB per module and run, x2
  if [[ -d /dev/shm && -w /dev/shm && "$(stat -f -c %T /dev/shm)" == tmpfs ]] &&
     (( $(df -Pk /dev/shm | awk 'NR == 2 {print $4}') > NEED_KB )); then
    MODCACHE_DIR=/dev/shm
  fi
fi
[[ -d "$MODCACHE_DIR" && -w "$MODCACHE_DIR" ]] || die "MODCACHE_DIR $MODCACHE_DIR is not a writable directory"
CACHES="$(mktemp -d "$MODCACHE_DIR/cellar-gobench-modcache.XXXXXX")"
CACHE_NO=0

nginx_lines() { wc -l <"$WORK/nginx-access.log"; }

# download NAME: one `go mod download` through NAME into a new, empty module
# cache; sets SECS to its wall time. Fails the benchmark on any error.
download() {
  local name=$1 t0 t1 zips modcache
  CACHE_NO=$((CACHE_NO + 1))
  modcache="$CACHES/$CACHE_NO"
  sync
  t0=$EPOCHREALTIME
  if ! (cd "$GEN/consumer" && GOPROXY="${PROXY[$name]}" GOMODCACHE="$modcache" go mod download) \
      >"$WORK/go-$name.out" 2>&1; then
    cat "$WORK/go-$name.out" >&2
    [[ $name == cellar ]] && { echo "--- last cellar log lines:" >&2; tail -n 20 "$WORK/cellar.log" >&2; }
    die "go mod download through $name (GOPROXY=${PROXY[$name]}) failed"
  fi
  t1=$EPOCHREALTIME
  SECS=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
  zips=$(find "$modcache/cache/download" -name '*.zip' | wc -l)
  [[ $zips -eq $EXPECTED_ZIPS ]] || die "$name: module cache holds $zips zips, expected $EXPECTED_ZIPS"
  cmp -s "$GEN/consumer/go.sum" "$WORK/go.sum.orig" || die "$name: go mod download changed go.sum"
}

echo "go_bench: $MODULES modules, $EXPECTED_ZIPS zips, $((ZIP_BYTES / 1024)) KiB of zips;" \
  "$(go version | cut -d' ' -f3); $RUNS timed runs per contender; module caches in $MODCACHE_DIR" \
  "($(stat -f -c %T "$CACHES")); cellar ${CELLAR_ARGS[*]:5}"
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$LOAD0" -v n="$(nproc)" 'BEGIN { exit !(l > n / 4) }' &&
  echo "go_bench: warning: load average $LOAD0 on $(nproc) cores; timings will be noisy" >&2

# Warm-up, untimed: the first cellar run fills its cache; the others warm the
# page cache and the go command's own files.
for name in "${CONTENDERS[@]}"; do
  before=$(nginx_lines)
  download "$name"
  echo "warm-up $name: ${SECS}s ($(( $(nginx_lines) - before )) requests to nginx)"
done
declare -A TIMES=()
CELLAR_UPSTREAM=0
for ((round = 0; round < RUNS; round++)); do
  for ((k = 0; k < ${#CONTENDERS[@]}; k++)); do
    name=${CONTENDERS[$(( (round + k) % ${#CONTENDERS[@]} ))]}
    before=$(nginx_lines)
    download "$name"
    [[ $name == cellar ]] && CELLAR_UPSTREAM=$(( CELLAR_UPSTREAM + $(nginx_lines) - before ))
    [[ $name == nginx ]] && REQS=$(( $(nginx_lines) - before ))
    TIMES[$name]+="$SECS "
    echo "run $((round + 1)) $name ${SECS}s"
  done
done
kill -0 "$CELLAR_PID" 2>/dev/null || die "cellar died during the benchmark"
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$CELLAR_PID/status")

python3 - "${TIMES[cellar]}" "${TIMES[file]}" "${TIMES[nginx]}" <<'PY'
import statistics, sys
t = {n: [float(x) for x in v.split()] for n, v in zip(("cellar", "file", "nginx"), sys.argv[1:])}
med = {n: statistics.median(v) for n, v in t.items()}
low = {n: min(v) for n, v in t.items()}
label = {"cellar": "cellar (warm cache)", "file": "GOPROXY=file://", "nginx": "nginx (static files)"}
print()
print("| contender | median s | min s | cellar/this (median) | cellar/this (min) |")
print("|---|---|---|---|---|")
for n in ("cellar", "file", "nginx"):
    print("| %s | %.3f | %.3f | %.2f | %.2f |" % (
        label[n], med[n], low[n], med["cellar"] / med[n], low["cellar"] / low[n]))
print()
print("Wall-time ratios: lower is better, 1.00 = as fast, < 1 = cellar faster.")
print("cellar/file  = %.2f (median), %.2f (min)   target <= 1.10" % (
    med["cellar"] / med["file"], low["cellar"] / low["file"]))
print("cellar/nginx = %.2f (median), %.2f (min)" % (
    med["cellar"] / med["nginx"], low["cellar"] / low["nginx"]))
print("nginx/file   = %.2f (median), %.2f (min)   what plain HTTP costs the go command" % (
    med["nginx"] / med["file"], low["nginx"] / low["file"]))
PY
echo "HTTP requests per download: ${REQS:-?}; upstream requests during timed cellar runs: $CELLAR_UPSTREAM (0 = fully warm)"
echo "cellar peak RSS: $((RSS_KB / 1024)) MiB; load average at start $LOAD0, at end $(cut -d' ' -f1 /proc/loadavg)"
