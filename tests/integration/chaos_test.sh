#!/usr/bin/env bash
# it_chaos: a bounded, seeded mixed workload over every protocol family while
# the server is killed with SIGKILL and restarted, on a data dir that fills up.
#
# The data dir is a 64 MiB tmpfs (CHAOS_TMPFS_MB; a plain directory, and no
# full disk, when mount is refused or CHAOS_TMPFS_MB=0) with --max-size 256MiB above it, so the file system fills
# before the size limit is reached and the store must still make progress.
# chaos_workload.py runs CHAOS_WORKERS (8) threads for CHAOS_SECONDS (90):
# turbo, Nx, negotiate (signed URLs) and Bazel CAS (immutable: first write
# wins), ccache, Gradle, sccache and Bazel AC (overwritable), npm packuments
# and tarballs and Go .info/.mod/.zip through fake upstreams; 0 B to 4 MiB,
# half compressible. It kills the server 3 to 5 times at seeded moments and
# restarts it on the same data dir. Checked all along:
#   - a 200 carries a complete body (Content-Length = body) made of bytes that
#     were written to that key (for immutable keys: the first write's, unless
#     the key was evicted); Bazel CAS bodies hash to their name; keys never
#     written are never served; pull-through bodies are the upstream's bytes;
#   - a conflicting write to an immutable key does not replace it while no
#     eviction or restart came in between;
#   - error answers never show the data dir's paths or SQLite's messages;
#   - the server never exits on its own, restarts after every kill, stops on
#     SIGTERM, and writes are never refused for more than CHAOS_WEDGE_SECONDS
#     (20) in a row (507 and the other full-disk answers are counted).
# Then, after the clean stop: `cellar verify` on a copy of the data dir (no
# corrupt blob, no entry without its blob); a restart where every key reads
# back exact or 404 (evicted), every pull-through file is served exact, and
# fresh writes are stored; a clean stop and `cellar verify` again. Every phase
# runs even when an earlier one failed; the test fails at the end.
#
# CHAOS_SEED replays a run (the op sequence of each worker and the kill times;
# thread interleaving still varies). Every write and read is in the journal
# (journal.jsonl), kept with the server logs in CHAOS_KEEP (a directory) when
# set. CHAOS_MAX_SIZE (256MiB) below the tmpfs size exercises eviction by size
# under the same workload instead of a full disk.
# Usage: bash chaos_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
source "$IT_DIR/go_lib.sh"
SEED="${CHAOS_SEED:-$(( $(date +%s%N) % 1000000000 ))}"
SECONDS_RUN="${CHAOS_SECONDS:-90}"
WORKERS="${CHAOS_WORKERS:-8}"
WEDGE="${CHAOS_WEDGE_SECONDS:-20}"
TMPFS_MB="${CHAOS_TMPFS_MB:-64}"
MAX_SIZE="${CHAOS_MAX_SIZE:-256MiB}"  # below the tmpfs: eviction by size instead of a full disk
echo "info - CHAOS_SEED=$SEED CHAOS_SECONDS=$SECONDS_RUN (replay: CHAOS_SEED=$SEED bash $0 \$CELLAR)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

MNT="$IT_TMP/tmpfs"
PIDFILE="$IT_TMP/cellar.pid"
MOUNTED=0
chaos_cleanup() {
  local rc=$?
  # The workload's server (it may have died with the driver).
  if [[ -s "$PIDFILE" ]]; then kill -KILL "$(cat "$PIDFILE")" 2>/dev/null || true; fi
  local pid
  for pid in "${CELLAR_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CELLAR_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "${CHAOS_KEEP:-}" ]]; then
    mkdir -p "$CHAOS_KEEP" && cp "$IT_TMP"/work/* "$IT_TMP"/*.log "$CHAOS_KEEP"/ 2>/dev/null || true
  fi
  if ((MOUNTED)); then umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true; fi
  it_cleanup
  exit $rc
}
trap chaos_cleanup EXIT

mkdir -p "$MNT" "$IT_TMP/work"
if [[ "$TMPFS_MB" == 0 ]]; then
  echo "NOTE: CHAOS_TMPFS_MB=0: data dir on a plain directory, the disk will not fill"
elif mount -t tmpfs -o "size=${TMPFS_MB}m" tmpfs "$MNT" 2>"$IT_TMP/mount.err"; then
  MOUNTED=1
  echo "info - data dir on a $TMPFS_MB MiB tmpfs, --max-size $MAX_SIZE"
else
  echo "NOTE: cannot mount a tmpfs ($(cat "$IT_TMP/mount.err")): data dir on a plain directory," \
    "the disk will not fill (no full-disk coverage in this run)"
fi
DATA="$MNT/data"

# --- fake upstreams -----------------------------------------------------------
mkdir -p "$IT_TMP/registry"
python3 "$IT_DIR/fake_npm_registry.py" "$IT_TMP/registry" "$IT_TMP/npm.port" "$IT_TMP/npm-upstream.log" \
  >"$IT_TMP/npm.err" 2>&1 &
CELLAR_PIDS+=("$!")
python3 "$IT_DIR/make_go_modules.py" "$IT_TMP/gen" >/dev/null || fail "make_go_modules.py failed"
start_fake_goproxy "$IT_TMP/gen/proxy" goproxy
for _ in $(seq 1 600); do [[ -s "$IT_TMP/npm.port" ]] && break; sleep 0.05; done
[[ -s "$IT_TMP/npm.port" ]] || { cat "$IT_TMP/npm.err" >&2; fail "fake npm registry did not start"; }
NPM_URL="http://127.0.0.1:$(cat "$IT_TMP/npm.port")"

# --- the run ------------------------------------------------------------------
# The Go files are not checked against a checksum database here (that needs
# the fake sumdb built with go; goproxy_test.sh covers it): --go-verify=false.
SERVE_ARGS=(--max-size "$MAX_SIZE" --eviction-interval 1s --gc-grace 5s --drain-timeout 10s
  --worker-threads 4 --npm-upstream "$NPM_URL" --go-upstream "$FAKE_URL" --go-verify=false)
CFG="$IT_TMP/work/config.json"
python3 - "$CFG" "$CELLAR_BIN" "$DATA" "$IT_TMP/work" "$PIDFILE" "$SEED" "$SECONDS_RUN" "$WORKERS" \
  "$WEDGE" "$NPM_URL" "$IT_TMP/gen/proxy" "${SERVE_ARGS[@]}" <<'EOF'
import json, sys
a = sys.argv
json.dump({"cellar": a[2], "data": a[3], "work": a[4], "pidfile": a[5], "seed": int(a[6]),
           "seconds": float(a[7]), "workers": int(a[8]), "wedge_seconds": float(a[9]),
           "npm_upstream": a[10], "go_proxy_dir": a[11], "serve_args": a[12:],
           "model": a[4] + "/model.json"}, open(a[1], "w"), indent=1)
EOF

# Every phase runs even when an earlier one failed (the later ones say how
# bad it was); the test fails at the end if any did.
FAILURES=()
failed() { echo "FAIL: $* (CHAOS_SEED=$SEED)" >&2; FAILURES+=("$*"); }

run_verify() {  # run_verify DIR WHAT
  local rc=0
  "$CELLAR_BIN" verify --data-dir "$1" >"$IT_TMP/verify.out" 2>&1 || rc=$?
  sed "s/^/  verify ($2): /" "$IT_TMP/verify.out"
  if [[ $rc != 0 ]]; then failed "cellar verify ($2) exited $rc"
  elif ! grep -q "^blobs corrupt: 0$" "$IT_TMP/verify.out"; then failed "verify ($2) found corrupt blobs"
  elif ! grep -q "^entries with missing blobs: 0$" "$IT_TMP/verify.out"; then
    failed "verify ($2) found entries with missing blobs"
  else pass "verify $2: no corrupt blob, no entry without its blob"; fi
}

df_line() { df -k "$MNT" | awk 'NR == 2 { printf "%d of %d KiB used", $3, $2 }'; }

if python3 "$IT_DIR/chaos_workload.py" run "$CFG"; then
  pass "mixed workload with kill -9 and restarts: every 200 exact, first writes kept, never wedged"
else
  failed "invariants broken during the run"
fi
# The driver stops its server; if the driver itself died, its server must not
# hold the data dir.
if [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  kill -KILL "$(cat "$PIDFILE")" 2>/dev/null || true
  sleep 0.5
fi
: >"$PIDFILE"
echo "info - data dir after the run: $(df_line)"

cp -a "$DATA" "$IT_TMP/verify-copy"
run_verify "$IT_TMP/verify-copy" "after the run"
rm -rf "$IT_TMP/verify-copy"

start_cellar "$DATA" "${SERVE_ARGS[@]}"
if python3 "$IT_DIR/chaos_workload.py" check "$CFG" "$CELLAR_PORT" "$CELLAR_LOG"; then
  pass "after the final restart: every key exact or evicted, pull-through exact, new writes stored"
else
  grep -v '"type":"access"' "$CELLAR_LOG" | tail -n 8 | cut -c1-400 | sed 's/^/  server: /'
  failed "read-back after the final restart"
fi
stop_cellar
run_verify "$DATA" "after the final stop"

if ((${#FAILURES[@]})); then
  echo "FAIL: chaos_test (CHAOS_SEED=$SEED): ${#FAILURES[@]} failed phase(s):" >&2
  printf '  %s\n' "${FAILURES[@]}" >&2
  exit 1
fi
echo "PASS: chaos_test (CHAOS_SEED=$SEED)"
