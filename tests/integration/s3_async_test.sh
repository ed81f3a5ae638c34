#!/usr/bin/env bash
# it_s3_async: `cellar serve --storage s3 --s3-upload=async` on a real Ceph
# RGW, through an outage and a crash:
#   1. node A (async) starts with the bucket up; RGW is then stopped;
#   2. A still acknowledges turbo PUTs (200) and serves them back; /metrics
#      shows them pending in the outbox, and the drainer's attempts failing;
#   3. A is killed with SIGKILL (no shutdown: only what is durable survives);
#   4. RGW is restarted (an empty bucket: RGW keeps objects in memory), then
#      A on the same data dir: the outbox drains (the pending gauge reaches 0)
#      without any manual step;
#   5. node B, an EMPTY data dir on the same bucket, serves every artifact
#      byte for byte (entries recovered from the bucket, blobs read through).
# Runs its own RGW on ports of its own (stopping it must not disturb anyone
# else's). Needs root and Debian 12's Ceph packages; fails, never skips,
# when RGW cannot be started.
# Usage: bash s3_async_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

export RGW_PORT=${ASYNC_RGW_PORT:-7488} MON_PORT=${ASYNC_MON_PORT:-3308} MON_V1_PORT=${ASYNC_MON_V1_PORT:-6788}
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

T0=$(date +%s)
s3_private_rgw
S3_ARGS=(--storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "async")

put_code() {
  curl -s -o "$IT_TMP/put.body" -w '%{http_code}' --max-time 60 -X PUT \
    -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$1" || true
}
artifact() { echo "/turbo/v8/artifacts/async$(printf '%04d' "$1")?slug=acme"; }

# --- 1. node A, async uploads; then the bucket goes away --------------------------
start_cellar "$IT_TMP/a" "${S3_ARGS[@]}" --s3-upload=async
A_URL=$CELLAR_URL
A_PID=$CELLAR_PID
grep -q '"msg":"outbox draining to the bucket"' "$CELLAR_LOG" || fail "A did not start its outbox drainer"
"${S3_RGW[@]}" down "$S3_RGW_DIR" >/dev/null 2>&1
pass "RGW stopped under node A"

# --- 2. A acknowledges writes with the bucket down --------------------------------
N=6
for i in $(seq 1 $N); do
  size=$((i * 7000))
  [[ $i -eq $N ]] && size=$((12 << 20))  # multipart once it drains
  head -c "$size" /dev/urandom >"$IT_TMP/art$i.bin"
  code=$(put_code "$A_URL$(artifact "$i")" "$IT_TMP/art$i.bin")
  [[ "$code" == 200 ]] || fail "A, RGW down: turbo PUT $i -> HTTP $code: $(head -c 300 "$IT_TMP/put.body")"
done
pass "A, RGW down: $N turbo PUTs acknowledged"
for i in $(seq 1 $N); do
  expect_code 200 "A, RGW down: artifact $i is a local hit" "$A_URL$(artifact "$i")"
  cmp -s "$IT_TMP/body" "$IT_TMP/art$i.bin" || fail "A served other bytes for artifact $i"
done
pending=$(metric_at "$A_URL" cellar_outbox_pending_records)
[[ "$pending" -eq $((2 * N)) ]] || fail "A has $pending outbox records pending, want $((2 * N)) (a blob and a publish per PUT)"
pass "A: $pending records wait in the outbox"
[[ $(ls "$IT_TMP/a/outbox" | grep -c '\.rec$') -eq $((2 * N)) ]] || fail "the outbox records are not on disk: $(ls "$IT_TMP/a/outbox")"
for _ in $(seq 1 100); do
  [[ $(metric_at "$A_URL" 'cellar_outbox_records_total{kind="blob",result="failed"}') -ge 1 ]] && break
  sleep 0.1
done
[[ $(metric_at "$A_URL" 'cellar_outbox_records_total{kind="blob",result="failed"}') -ge 1 ]] ||
  fail "A's drainer attempts against the stopped bucket are not counted: $(curl -s "$A_URL/metrics" | grep outbox)"
grep -q '"msg":"outbox cannot drain; retrying with backoff"' "$CELLAR_LOG" || fail "A did not log its stuck backlog"
pass "A: the drainer retries and says why"

# --- 3. A crashes ----------------------------------------------------------------
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null || true
pass "A killed with SIGKILL"

# --- 4. the bucket comes back, then A: the outbox drains --------------------------
"${S3_RGW[@]}" up "$S3_RGW_DIR" >/dev/null
start_cellar "$IT_TMP/a" "${S3_ARGS[@]}" --s3-upload=async
A_URL=$CELLAR_URL
grep -q "\"pending\":$((2 * N))" "$CELLAR_LOG" || fail "A did not resume its $((2 * N)) records: $(grep outbox "$CELLAR_LOG")"
drained=0
for _ in $(seq 1 600); do
  if [[ $(metric_at "$A_URL" cellar_outbox_pending_records) -eq 0 ]]; then
    drained=1
    break
  fi
  sleep 0.1
done
[[ $drained == 1 ]] || fail "A's outbox did not drain: $(curl -s "$A_URL/metrics" | grep outbox); $(grep outbox "$CELLAR_LOG" | tail -5)"
[[ $(metric_at "$A_URL" 'cellar_outbox_records_total{kind="blob",result="drained"}') -eq $N ]] ||
  fail "not every blob was drained: $(curl -s "$A_URL/metrics" | grep outbox_records)"
[[ $(metric_at "$A_URL" 'cellar_outbox_records_total{kind="publish",result="drained"}') -eq $N ]] ||
  fail "not every entry was published: $(curl -s "$A_URL/metrics" | grep outbox_records)"
[[ -z "$(ls "$IT_TMP/a/outbox" | grep '\.rec$')" ]] || fail "records are left on disk: $(ls "$IT_TMP/a/outbox")"
pass "A, restarted on the same data dir: the outbox drained to the bucket"

# --- 5. node B, an empty data dir, serves it all from the bucket ------------------
start_cellar "$IT_TMP/b" "${S3_ARGS[@]}"
B_URL=$CELLAR_URL
for i in $(seq 1 $N); do
  expect_code 200 "B: artifact $i from the bucket" "$B_URL$(artifact "$i")"
  cmp -s "$IT_TMP/body" "$IT_TMP/art$i.bin" || fail "B served other bytes for artifact $i"
done
[[ $(metric_at "$B_URL" 'cellar_tiered_reads_total{source="remote"}') -ge $N ]] ||
  fail "B did not read the blobs through the bucket: $(curl -s "$B_URL/metrics" | grep tiered_reads)"
echo "all s3 async checks passed in $(( $(date +%s) - T0 )) s"
