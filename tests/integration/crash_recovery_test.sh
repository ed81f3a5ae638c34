#!/usr/bin/env bash
# Crash recovery: 50 concurrent CAS uploads (100 KB to 5 MB, half of them
# compressible), SIGKILL of the server while most are mid-body, then:
#   1. `cellar verify` on a copy of the data dir exactly as the crash left it,
#   2. restart on the same dir: every blob served is byte-exact, and every
#      upload that was answered 200 before the crash is still served,
#   3. re-uploading every blob works, and
#   4. `cellar verify` and a second `cellar serve` refuse the live data dir
#      (index lock) without touching its tmp/, and
#   5. `cellar verify` after a clean stop.
# Each verify must report zero corrupt blobs and zero entries with missing blobs.
# Usage: bash crash_recovery_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
BLOBS="python3 $(dirname "$0")/crash_blobs.py"
SEED=20240611
N=50

run_verify() {  # run_verify DIR WHAT
  local rc=0
  "$CELLAR_BIN" verify --data-dir "$1" >"$IT_TMP/verify.out" 2>&1 || rc=$?
  sed "s/^/  verify ($2): /" "$IT_TMP/verify.out"
  [[ $rc == 0 ]] || fail "cellar verify ($2) exited $rc"
  grep -q "^blobs corrupt: 0$" "$IT_TMP/verify.out" || fail "verify ($2) found corrupt blobs"
  grep -q "^entries with missing blobs: 0$" "$IT_TMP/verify.out" || fail "verify ($2) found entries with missing blobs"
}

DATA="$IT_TMP/data"
start_cellar "$DATA" --worker-threads 4
[[ "$(cat /proc/$CELLAR_PID/comm)" == cellar ]] || fail "test setup: CELLAR_PID $CELLAR_PID is not the cellar process"

# Kill after 12 acknowledged uploads: the small ones finish first, the large
# ones are mid-body (the helper fails if none was in flight).
$BLOBS upload "$CELLAR_PORT" "$CELLAR_PID" "$SEED" "$N" 12 "$IT_TMP/results.json" ||
  fail "concurrent upload phase failed"
wait "$CELLAR_PID" 2>/dev/null && fail "cellar exited normally; expected SIGKILL" || true
kill -0 "$CELLAR_PID" 2>/dev/null && fail "cellar still running after SIGKILL"
tmp_left=$(find "$DATA/tmp" -type f | wc -l)
echo "  temp files left by the crash: $tmp_left"
pass "SIGKILL during 50 concurrent uploads"

cp -a "$DATA" "$IT_TMP/crashed-copy"
run_verify "$IT_TMP/crashed-copy" "state left by the crash"
pass "verify on the crashed data dir: no corrupt blobs, no dangling entries"

start_cellar "$DATA"
$BLOBS check "$CELLAR_PORT" "$SEED" "$N" "$IT_TMP/results.json" || fail "blobs after restart are wrong"
[[ -z "$(find "$DATA/tmp" -type f)" ]] || fail "temp files from the crash survived the restart"
pass "after restart: every 200 is byte-exact, every acknowledged upload survived, tmp/ emptied"

$BLOBS reupload "$CELLAR_PORT" "$SEED" "$N" || fail "re-upload after the crash failed"
entries=$(curl -s "$CELLAR_URL/api/v1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['namespaces']['bazel/cas']['entries'])")
[[ "$entries" == "$N" ]] || fail "expected $N CAS entries after re-upload, stats show $entries"
pass "re-uploading all $N blobs works; $N entries"
# Neither `cellar verify` nor a second `cellar serve` may touch a live
# server's data dir: both stop at the index lock, before tmp/ is cleared
# (an upload in flight keeps its temp file there).
printf 'in flight' >"$DATA/tmp/999999-1.tmp"
rc=0; "$CELLAR_BIN" verify --data-dir "$DATA" >"$IT_TMP/verify-live.out" 2>&1 || rc=$?
(( rc != 0 )) && grep -q "in use" "$IT_TMP/verify-live.out" || fail "verify on a live data dir: exit $rc: $(cat "$IT_TMP/verify-live.out")"
rc=0; timeout 20 "$CELLAR_BIN" serve --data-dir "$DATA" --listen 127.0.0.1:0 >"$IT_TMP/serve-live.out" 2>&1 || rc=$?
(( rc != 0 && rc != 124 )) && grep -q "in use" "$IT_TMP/serve-live.out" || fail "second serve on a live data dir: exit $rc: $(tail -3 "$IT_TMP/serve-live.out")"
[[ -f "$DATA/tmp/999999-1.tmp" ]] || fail "verify or a second serve cleared the live server's tmp/"
pass "verify and a second serve refuse a live data dir and leave its tmp/ alone"
stop_cellar

run_verify "$DATA" "after restart and clean stop"
grep -q "^blobs ok: $N$" "$IT_TMP/verify.out" || fail "verify should count $N good blobs"
pass "verify after clean stop: $N blobs ok"

echo "PASS: crash_recovery_test"
