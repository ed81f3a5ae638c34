#!/usr/bin/env bash
# Crash recovery: 50 concurrent CAS uploads (100 KB to 5 MB, half of them
# compressible), SIGKILL of the server while most are mid-body, then:
#   1. `cellar verify` on a copy of the data dir exactly as the crash left it,
#   2. restart on the same dir: every blob served is byte-exact, and every
#      upload that was answered 200 before the crash is still served,
#   3. re-uploading every blob works, and
#   4. `cellar verify` and a second `cellar serve` refuse the live data dir
#      (index lock) without touching its tmp/, and
#   5. `cellar verify` after a clean stop, and
#   6. bit rot under a live server (issue 13, defect 7): one byte flipped in
#      a stored zstd blob (10 KB and 5 MB) is never served as a 200 with
#      wrong bytes and takes the file out of service; a re-PUT of a damaged
#      raw blob repairs it for every namespace that refers to it; a damaged
#      raw blob is found by the background scrub (--scrub-rate).
# Verifies 1-5 must report zero corrupt blobs and zero entries with missing blobs.
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

# ---- 6. bit rot under a live server ------------------------------------------
ROT="$IT_TMP/rot"
start_cellar "$ROT"
python3 - "$IT_TMP" <<'PY'
import random, sys
words = [b"cache ", b"blob ", b"digest ", b"zstd ", b"tarball ", b"module ", b"\n"]
for name, size in (("small", 10_000), ("large", 5 << 20)):
    rnd = random.Random(name)
    out = bytearray()
    while len(out) < size:
        out += rnd.choice(words)
    open(f"{sys.argv[1]}/rot-{name}", "wb").write(bytes(out[:size]))
PY
SMALL_KEY=ab/rotsmallrotsmallrotsmallrot0001
LARGE_KEY=ab/rotlargerotlargerotlargerot0002
GRADLE_KEY=0123456789abcdef0123456789ab0002
put() { curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Expect:' --data-binary "@$1" "$2"; }
# blob_of FILE: the path of the blob file holding FILE's bytes (newest blob
# file of its logical size; checks it is zstd-compressed).
blob_of() {
  python3 - "$ROT/blobs" "$1" <<'PY'
import os, struct, sys
size = os.path.getsize(sys.argv[2])
found = []
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        head = open(p, "rb").read(16)
        if head[:4] == b"CLB\x01" and struct.unpack("<Q", head[8:16])[0] == size:
            found.append((os.path.getmtime(p), p, head[4]))
assert found, "no blob file of that size"
_, path, fmt = max(found)
assert fmt == 1, f"{path} is not zstd (format {fmt})"
print(path)
PY
}
flip() {  # flip FILE OFFSET
  python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^0x10]))' "$1" "$2"
}
same() { cmp -s "$1" "$2"; }

head -c $((2 << 20)) /dev/urandom >"$IT_TMP/rot-raw2m"
RAW_KEY=ab/rotbinrotbinrotbinrotbinrot0004
[[ $(put "$IT_TMP/rot-small" "$CELLAR_URL/ccache/$SMALL_KEY") == 200 ]] || fail "rot: PUT small"
[[ $(put "$IT_TMP/rot-large" "$CELLAR_URL/ccache/$LARGE_KEY") == 200 ]] || fail "rot: PUT large"
[[ $(put "$IT_TMP/rot-raw2m" "$CELLAR_URL/ccache/$RAW_KEY") == 200 ]] || fail "rot: PUT raw 2 MB"
[[ $(put "$IT_TMP/rot-raw2m" "$CELLAR_URL/gradle/cache/$GRADLE_KEY") == 200 ]] || fail "rot: PUT raw 2 MB (gradle)"
small_blob=$(blob_of "$IT_TMP/rot-small") || fail "rot: small blob file not found or not zstd"
large_blob=$(blob_of "$IT_TMP/rot-large") || fail "rot: large blob file not found or not zstd"
raw2m_blob=$(find "$ROT/blobs" -type f -size $(( (2 << 20) + 16 ))c)
[[ -n "$raw2m_blob" ]] || fail "rot: raw 2 MB blob file not found"
flip "$small_blob" $(( $(stat -c %s "$small_blob") / 2 ))
flip "$large_blob" $(( $(stat -c %s "$large_blob") * 3 / 4 ))
flip "$raw2m_blob" 100000

code=$(get "$CELLAR_URL/ccache/$SMALL_KEY")
[[ "$code" != 200 ]] || fail "rot: damaged 10 KB zstd blob served as 200"
[[ ! -e "$small_blob" && -e "$ROT/quarantine/$(basename "$small_blob")" ]] ||
  fail "rot: damaged small blob was not quarantined"
pass "rot: damaged 10 KB zstd blob answers $code, quarantined"

rc=0; first=$(curl -s -o "$IT_TMP/rot-got" -w '%{http_code}' --max-time 30 "$CELLAR_URL/ccache/$LARGE_KEY") || rc=$?
if [[ $rc == 0 && "$first" == 200 ]]; then
  fail "rot: damaged 5 MB zstd blob served as a complete 200 ($(stat -c %s "$IT_TMP/rot-got") bytes)"
fi
[[ ! -e "$large_blob" && -e "$ROT/quarantine/$(basename "$large_blob")" ]] ||
  fail "rot: the failed read did not quarantine the damaged 5 MB blob"
code=$(get "$CELLAR_URL/ccache/$LARGE_KEY")
[[ "$code" == 404 ]] || fail "rot: damaged 5 MB blob after the failed read: HTTP $code, want a miss"
pass "rot: damaged 5 MB zstd blob not served as a 200 (HTTP $first, curl exit $rc), quarantined, then a miss"

# A raw blob goes out with sendfile and is not hashed per request; the
# re-upload check finds it: the damaged copy is quarantined and replaced.
[[ $(put "$IT_TMP/rot-raw2m" "$CELLAR_URL/ccache/$RAW_KEY") == 200 ]] || fail "rot: re-PUT raw 2 MB"
[[ -e "$ROT/quarantine/$(basename "$raw2m_blob")" ]] || fail "rot: re-PUT did not quarantine the damaged raw blob"
code=$(get "$CELLAR_URL/gradle/cache/$GRADLE_KEY")
[[ "$code" == 200 ]] && same "$IT_TMP/body" "$IT_TMP/rot-raw2m" ||
  fail "rot: gradle entry of the raw blob after the ccache re-PUT: HTTP $code"
pass "rot: re-PUT of a damaged raw 2 MB blob quarantines it and repairs the other namespace too"

[[ $(put "$IT_TMP/rot-small" "$CELLAR_URL/ccache/$SMALL_KEY") == 200 ]] || fail "rot: re-PUT small"
[[ $(put "$IT_TMP/rot-large" "$CELLAR_URL/ccache/$LARGE_KEY") == 200 ]] || fail "rot: re-PUT large"
code=$(get "$CELLAR_URL/ccache/$SMALL_KEY")
[[ "$code" == 200 ]] && same "$IT_TMP/body" "$IT_TMP/rot-small" || fail "rot: small blob after re-PUT: HTTP $code"
code=$(get "$CELLAR_URL/ccache/$LARGE_KEY")
[[ "$code" == 200 ]] && same "$IT_TMP/body" "$IT_TMP/rot-large" || fail "rot: large blob after re-PUT: HTTP $code"
quarantined=$(metric cellar_store_quarantined_total)
[[ "$quarantined" == 3 ]] || fail "rot: cellar_store_quarantined_total is $quarantined, want 3"
pass "rot: re-PUT of the zstd blobs serves exact bytes again; 3 quarantined"
# A raw blob (served with sendfile, so never hashed on read) damaged while
# the server is down is found by the background scrub (--scrub-rate).
head -c 300000 /dev/urandom >"$IT_TMP/rot-raw"
[[ $(put "$IT_TMP/rot-raw" "$CELLAR_URL/ccache/ab/rotbinrotbinrotbinrotbinrot0003") == 200 ]] || fail "rot: PUT raw"
stop_cellar
raw_blob=$(find "$ROT/blobs" -type f -size 300016c)
[[ -n "$raw_blob" ]] || fail "rot: raw blob file not found"
flip "$raw_blob" 5000
start_cellar "$ROT" --scrub-rate 50MiB
for _ in $(seq 1 100); do [[ -e "$ROT/quarantine/$(basename "$raw_blob")" ]] && break; sleep 0.1; done
[[ -e "$ROT/quarantine/$(basename "$raw_blob")" && ! -e "$raw_blob" ]] || fail "rot: the scrub did not quarantine the damaged raw blob"
[[ $(metric 'cellar_scrub_blobs_total{result="bad"}') == 1 ]] || fail "rot: scrub metrics: $(curl -s "$CELLAR_URL/metrics" | grep scrub)"
grep -q '"msg":"scrub found a corrupt blob"' "$CELLAR_LOG" || fail "rot: the scrub did not log the corrupt blob"
pass "rot: --scrub-rate quarantines a damaged raw blob, counts and logs it"
stop_cellar

echo "PASS: crash_recovery_test"
