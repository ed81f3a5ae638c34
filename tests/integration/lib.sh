# Shared helpers for integration tests (bash). Source it; $1 of the test is
# the cellar binary. Every test gets a scratch directory that is removed at
# exit, and every server it starts is stopped at exit.
set -euo pipefail

CELLAR_BIN="${1:?usage: $0 /path/to/cellar}"
CELLAR_BIN="$(readlink -f "$CELLAR_BIN")"
IT_TMP="$(mktemp -d /tmp/cellar-it.XXXXXX)"
CELLAR_PIDS=()

it_cleanup() {
  local pid
  for pid in "${CELLAR_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CELLAR_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$IT_TMP"
}
trap it_cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# start_cellar DATA_DIR [extra serve args...]: starts a server on port 0 and
# sets CELLAR_PORT, CELLAR_PID, CELLAR_URL and CELLAR_LOG.
start_cellar() {
  local data_dir="$1"; shift
  CELLAR_LOG="$IT_TMP/cellar-$RANDOM.log"
  # CELLAR_SERVE_EXTRA: arguments for every server, e.g. --storage s3 (with_s3.sh).
  # shellcheck disable=SC2086
  "$CELLAR_BIN" serve --listen 127.0.0.1:0 --data-dir "$data_dir" "$@" ${CELLAR_SERVE_EXTRA:-} >"$CELLAR_LOG" 2>&1 &
  CELLAR_PID=$!
  CELLAR_PIDS+=("$CELLAR_PID")
  local i
  for i in $(seq 1 100); do
    CELLAR_PORT=$(grep -o '"msg":"cellar listening".*"port":[0-9]*' "$CELLAR_LOG" 2>/dev/null | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
    [[ -n "$CELLAR_PORT" ]] && break
    kill -0 "$CELLAR_PID" 2>/dev/null || { cat "$CELLAR_LOG" >&2; fail "cellar exited at start-up"; }
    sleep 0.05
  done
  [[ -n "$CELLAR_PORT" ]] || fail "cellar did not report its port"
  CELLAR_URL="http://127.0.0.1:$CELLAR_PORT"
}

stop_cellar() {
  kill -TERM "$CELLAR_PID" 2>/dev/null || true
  wait "$CELLAR_PID" 2>/dev/null || true
}

# metric NAME_WITH_LABELS: prints the value of one exact series (0 if absent).
metric() {
  curl -s "$CELLAR_URL/metrics" | awk -v k="$1" '$1 == k { print $2; found=1 } END { if (!found) print 0 }'
}

# metric_at URL SERIES: one series of the node at URL's /metrics, as an
# integer (0 when absent): for tests that run several nodes.
metric_at() { curl -s "$1/metrics" | awk -v k="$2" '$1 == k { v=$2 } END { print int(v) }'; }

# get CURL_ARGS...: GET through curl; body in $IT_TMP/body, headers in
# $IT_TMP/headers; prints the status (000 when the connection failed).
get() { curl -s -D "$IT_TMP/headers" -o "$IT_TMP/body" -w '%{http_code}' --max-time 30 "$@" || true; }
# expect_code REGEX DESC CURL_ARGS...
expect_code() {
  local want="$1" desc="$2" code; shift 2
  code=$(get "$@")
  [[ "$code" =~ ^($want)$ ]] || fail "$desc: GET ${*: -1} -> HTTP $code (want $want): $(head -c 300 "$IT_TMP/body")"
  pass "$desc (HTTP $code)"
}
# header NAME: value of a response header of the last get (empty if absent).
header() { grep -i "^$1:" "$IT_TMP/headers" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //' || true; }
