# Helpers for the Go integration tests (source after lib.sh): an isolated go
# environment, the fake upstream proxy and the fake checksum database.

# Nothing from the caller's environment may steer go or curl elsewhere.
go_isolated_env() {
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
  unset GOPRIVATE GONOPROXY GONOSUMDB GOINSECURE GOWORK GOROOT GOEXPERIMENT
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  export HOME="$IT_TMP/home" GOPATH="$IT_TMP/gopath" GOCACHE="$IT_TMP/gocache"
  export GOENV=off GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on
  # -modcacherw: module caches stay writable, so the scratch dir can be removed.
  export GOFLAGS="-mod=mod -modcacherw"
  mkdir -p "$HOME"
}

# wait_for_file FILE WHAT ERRFILE
wait_for_file() {
  local _
  for _ in $(seq 1 200); do
    [[ -s "$1" ]] && return 0
    sleep 0.05
  done
  cat "$3" >&2 || true
  fail "$2 did not start"
}

# start_fake_goproxy PROXY_DIR TAG: serves PROXY_DIR (control files next to
# it: down, zip_delay, tamper, auth); sets FAKE_URL and FAKE_LOG.
start_fake_goproxy() {
  local dir="$1" tag="$2"
  FAKE_LOG="$IT_TMP/$tag.log"
  : >"$FAKE_LOG"
  python3 "$IT_DIR/fake_goproxy.py" "$dir" "$IT_TMP/$tag.port" "$FAKE_LOG" >"$IT_TMP/$tag.err" 2>&1 &
  CELLAR_PIDS+=("$!")  # stopped with the cellar servers at exit
  wait_for_file "$IT_TMP/$tag.port" "fake upstream $tag" "$IT_TMP/$tag.err"
  FAKE_URL="http://127.0.0.1:$(cat "$IT_TMP/$tag.port")"
}

# start_fake_sumdb PROXY_DIR NAME [-preload]: a checksum database for every
# module in PROXY_DIR (hashes taken at start-up, so later tampering shows);
# sets SUMDB_URL, SUMDB_LOG, SUMDB_VKEY (the GOSUMDB value) and SUMDB_PID.
start_fake_sumdb() {
  local dir="$1" name="$2"; shift 2
  local bin
  bin="$(bash "$IT_DIR/build_fake_sumdb.sh" "$IT_TMP/sumdb-build")" || fail "could not build the fake checksum database"
  SUMDB_LOG="$IT_TMP/sumdb-$name.log"
  rm -f "$IT_TMP/sumdb-$name.port" "$IT_TMP/sumdb-$name.key"
  "$bin" -proxy "$dir" -name "$name" -port-file "$IT_TMP/sumdb-$name.port" -log "$SUMDB_LOG" \
    -key-file "$IT_TMP/sumdb-$name.key" "$@" >"$IT_TMP/sumdb-$name.err" 2>&1 &
  SUMDB_PID=$!
  CELLAR_PIDS+=("$SUMDB_PID")
  wait_for_file "$IT_TMP/sumdb-$name.port" "fake checksum database" "$IT_TMP/sumdb-$name.err"
  SUMDB_URL="http://127.0.0.1:$(cat "$IT_TMP/sumdb-$name.port")"
  SUMDB_VKEY="$(cat "$IT_TMP/sumdb-$name.key")"
}

