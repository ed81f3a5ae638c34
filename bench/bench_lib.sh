# Helpers shared by the benchmark scripts (source it; the caller defines die).

# cellar_port PID LOG [TRIES]: waits for the cellar started as PID (output in
# LOG) to report its listening port and prints it; prints LOG and fails when
# cellar exits first or reports nothing after TRIES polls 50 ms apart
# (default 100). Use as port=$(cellar_port ...) under set -e.
cellar_port() {
  local pid="$1" log="$2" tries="${3:-100}" port="" _
  for _ in $(seq "$tries"); do
    port=$(grep -o '"msg":"cellar listening".*"port":[0-9]*' "$log" 2>/dev/null |
      grep -o '"port":[0-9]*' | cut -d: -f2 || true)
    [[ -n "$port" ]] && { echo "$port"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "cellar exited at start-up"; }
    sleep 0.05
  done
  cat "$log" >&2
  die "cellar did not report its port"
}

# spread_subdirs DIR: asks ext4 to place DIR's subdirectories in block groups
# of their own (the TOPDIR attribute, as for directories under /). On this
# VM's ext4, which runs without a journal, creating a file in a block group
# where many inodes were deleted in the last minutes rescans them all: under
# /tmp, after test and bench runs, one create cost 200-460 us instead of
# 13 us, which both servers paid once per artifact and which measured the
# directory's history rather than the server. A no-op elsewhere.
spread_subdirs() {
  chattr +T "$1" 2>/dev/null || true
}

# build_loadgen WORK: builds the load generator (bench/turbo_loadgen*.go,
# Go standard library only, no network) in WORK/loadgen and prints the
# binary's path. Use as LOADGEN=$(build_loadgen "$WORK") under set -e.
build_loadgen() {
  local work="$1" src
  mkdir -p "$work/loadgen"
  for src in bench/turbo_loadgen*.go; do
    [[ $src == *_test.go ]] || cp "$src" "$work/loadgen/"
  done
  printf 'module turbo_loadgen\n\ngo 1.19\n' > "$work/loadgen/go.mod"
  (cd "$work/loadgen" && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off GOCACHE="$work/gocache" \
    go build -o turbo_loadgen .) >&2 || die "building the load generator failed"
  echo "$work/loadgen/turbo_loadgen"
}

# cpu_ticks PID...: the user+system CPU the processes have used so far, in
# clock ticks (getconf CLK_TCK per second), summed.
cpu_ticks() {
  local p t=0
  for p in "$@"; do t=$(( t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}') )); done
  echo "$t"
}
