#!/usr/bin/env bash
# it_s3_fleet: two `cellar serve --storage s3` nodes on one bucket of a real
# Ceph RGW, and the bucket going away under them:
#   1. node A stores a turbo artifact, a Bazel CAS blob and action result, a
#      ccache entry (curl) and an npm tarball pulled through from a fake
#      registry; each is published as an entry manifest beside its blob;
#   2. node B, an EMPTY data dir on the same bucket and no reachable npm
#      registry, serves all of them byte for byte (entries recovered from
#      the bucket, blobs read through), and the package's packument A
#      fetched, as fresh; an unknown key is still a 404;
#   3. RGW stopped: A's /readyz turns 503, its local hits keep answering 200, writes answer 503 with
#      a clear message on every protocol, an entry only in the bucket is a
#      miss (404) on B;
#   4. RGW back: /readyz is 200 again and writes succeed again.
# The test runs its own single-node RGW (scripts/s3-rgw.sh) on ports of its
# own, so stopping it never disturbs a cluster someone else is using. Needs
# root and Debian 12's Ceph packages; fails, never skips, when RGW cannot be
# started.
# Usage: bash s3_fleet_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IT_DIR="$ROOT/tests/integration"
export RGW_PORT=${FLEET_RGW_PORT:-7482} MON_PORT=${FLEET_MON_PORT:-3302} MON_V1_PORT=${FLEET_MON_V1_PORT:-6782}
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

T0=$(date +%s)
s3_private_rgw
S3_ARGS=(--storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "fleet")

# A fake npm registry for node A only.
python3 "$IT_DIR/fake_npm_registry.py" "$IT_TMP/registry" "$IT_TMP/up.port" "$IT_TMP/up.log" >"$IT_TMP/up.err" 2>&1 &
REGISTRY_PID=$!
CELLAR_PIDS+=("$REGISTRY_PID")
for _ in $(seq 1 600); do [[ -s "$IT_TMP/up.port" ]] && break; sleep 0.05; done
[[ -s "$IT_TMP/up.port" ]] || { cat "$IT_TMP/up.err" >&2; fail "fake npm registry did not start"; }
UP_URL="http://127.0.0.1:$(cat "$IT_TMP/up.port")"

# put_code URL FILE: PUT FILE's bytes, prints the status.
put_code() {
  curl -s -o "$IT_TMP/put.body" -w '%{http_code}' --max-time 60 -X PUT \
    -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$1" || true
}
# expect_put WANT DESC URL FILE
expect_put() {
  local code
  code=$(put_code "$3" "$4")
  [[ "$code" == "$1" ]] || fail "$2: PUT $3 -> HTTP $code (want $1): $(head -c 300 "$IT_TMP/put.body")"
  pass "$2 (HTTP $code)"
}
# expect_bytes DESC URL FILE: GET answers 200 with exactly FILE's bytes.
expect_bytes() {
  expect_code 200 "$1" "$2"
  cmp -s "$IT_TMP/body" "$3" || fail "$1: the body differs from what was stored"
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- 1. node A stores on four protocols ----------------------------------------
head -c 5000 /dev/urandom >"$IT_TMP/turbo.bin"
head -c $((2 << 20)) /dev/urandom >"$IT_TMP/cas.bin"
head -c 9000 /dev/urandom >"$IT_TMP/ccache.bin"
head -c 4000 /dev/urandom >"$IT_TMP/unread.bin"
# An ActionResult (protobuf) with stdout_raw and one output file, the CAS blob:
# serving it on B needs the CAS entry too (cellar checks the outputs exist).
python3 - "$IT_TMP/ac.bin" "$(sha256_of "$IT_TMP/cas.bin")" "$(stat -c %s "$IT_TMP/cas.bin")" <<'PY'
import sys
def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80]); v >>= 7
    return out + bytes([v])
def field(n, b): return varint(n << 3 | 2) + varint(len(b)) + b
digest = field(1, sys.argv[2].encode()) + varint(2 << 3) + varint(int(sys.argv[3]))
msg = field(2, field(1, b"bazel-out/out.bin") + field(2, digest)) + field(5, b"built on node A")
open(sys.argv[1], "wb").write(msg)
PY
TURBO="/turbo/v8/artifacts/fleet0001?slug=acme"
CAS="/bazel/cas/$(sha256_of "$IT_TMP/cas.bin")"
AC="/bazel/ac/$(printf '%064d' 7)"
CCACHE="/ccache/ab/cdefghijklmnopqrstuv0123456789a"
TARBALL="/npm/@acme/widget/-/widget-2.0.0.tgz"

start_cellar "$IT_TMP/a" "${S3_ARGS[@]}" --npm-upstream "$UP_URL"
A_URL=$CELLAR_URL
A_PID=$CELLAR_PID
expect_put 200 "A: turbo PUT" "$A_URL$TURBO" "$IT_TMP/turbo.bin"
expect_put 200 "A: Bazel CAS PUT" "$A_URL$CAS" "$IT_TMP/cas.bin"
expect_put 200 "A: Bazel AC PUT" "$A_URL$AC" "$IT_TMP/ac.bin"
expect_put 200 "A: ccache PUT" "$A_URL$CCACHE" "$IT_TMP/ccache.bin"
expect_put 200 "A: turbo PUT of an artifact B will not read before the outage" \
  "$A_URL/turbo/v8/artifacts/fleet0002?slug=acme" "$IT_TMP/unread.bin"
expect_code 200 "A: npm tarball pulled through from the registry" "$A_URL$TARBALL"
cp "$IT_TMP/body" "$IT_TMP/tarball.tgz"
published=$(metric 'cellar_cache_shared_entries_total{result="published"}')
[[ "${published%.*}" -ge 6 ]] || fail "A published $published entries, want 6: $(curl -s "$A_URL/metrics" | grep shared_entries)"
pass "A: 6 entries published to the bucket"

# --- 2. node B: empty data dir, same bucket, the npm registry gone --------------
kill "$REGISTRY_PID"
wait "$REGISTRY_PID" 2>/dev/null || true
start_cellar "$IT_TMP/b" "${S3_ARGS[@]}" --npm-upstream "$UP_URL"
B_URL=$CELLAR_URL
[[ -z "$(ls -A "$IT_TMP/b/blobs" 2>/dev/null)" ]] || fail "B starts with blobs"
expect_bytes "B: turbo artifact from the bucket" "$B_URL$TURBO" "$IT_TMP/turbo.bin"
expect_bytes "B: Bazel CAS blob from the bucket" "$B_URL$CAS" "$IT_TMP/cas.bin"
expect_bytes "B: Bazel action result from the bucket" "$B_URL$AC" "$IT_TMP/ac.bin"
expect_bytes "B: ccache entry from the bucket" "$B_URL$CCACHE" "$IT_TMP/ccache.bin"
expect_bytes "B: npm tarball from the bucket (its registry is unreachable)" "$B_URL$TARBALL" "$IT_TMP/tarball.tgz"
expect_code 404 "B: a key nobody stored is still a miss" "$B_URL/turbo/v8/artifacts/fleet9999?slug=acme"
recovered=$(curl -s "$B_URL/metrics" | awk '$1 == "cellar_cache_shared_entries_total{result=\"recovered\"}" { print $2 }')
[[ "${recovered%.*}" == 5 ]] || fail "B recovered ${recovered:-0} entries, want 5"
pass "B: 5 entries recovered from the bucket"
# The packument A fetched for the tarball is shared too, with its age: B,
# whose registry is unreachable, serves it as fresh (no stale marking),
# its tarball URLs rewritten to B's own address.
expect_code 200 "B: npm packument from A's fresh copy in the bucket (its registry is unreachable)" \
  -H 'Accept: application/vnd.npm.install-v1+json' "$B_URL/npm/@acme%2fwidget"
grep -q "\"$B_URL/npm/@acme/widget/-/widget-2.0.0.tgz\"" "$IT_TMP/body" ||
  fail "B's packument does not point at B ($B_URL): $(grep -o '"tarball":"[^"]*"' "$IT_TMP/body" | head -2)"
[[ -z "$(header Warning)" && -z "$(header X-Cellar-Stale)" ]] || fail "B marked A's fresh packument stale: $(cat "$IT_TMP/headers")"
[[ $(metric_at "$B_URL" 'cellar_cache_shared_entries_total{result="recovered"}') -eq 6 ]] ||
  fail "B did not recover the packument from the bucket"
[[ $(metric_at "$B_URL" 'cellar_tiered_reads_total{source="remote"}') -ge 4 ]] ||
  fail "B's reads through the bucket are not counted: $(curl -s "$B_URL/metrics" | grep tiered_reads)"
[[ $(metric_at "$A_URL" 'cellar_s3_requests_total{operation="put",result="ok"}') -ge 11 ]] ||
  fail "A's S3 PUTs (5 blobs + 6 manifests) are not counted: $(curl -s "$A_URL/metrics" | grep s3_requests)"
pass "S3 requests and tiered reads are in /metrics"

# --- 3. the bucket goes away -----------------------------------------------------
# readyz_becomes URL CODE: /readyz answers CODE within 15 s (the bucket is
# checked in the background, at most every 5 s, when a probe finds the last
# check older than that).
readyz_becomes() {
  local i code=""
  for i in $(seq 1 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1/readyz")
    [[ "$code" == "$2" ]] && return 0
    sleep 0.1
  done
  fail "$1/readyz: HTTP $code, want $2"
}
readyz_becomes "$A_URL" 200
"${S3_RGW[@]}" down "$S3_RGW_DIR" >/dev/null 2>&1
readyz_becomes "$A_URL" 503
[[ $(curl -s "$A_URL/readyz") == *"S3 bucket cannot be reached"* ]] || fail "/readyz does not say why it is not ready"
expect_bytes "A, RGW down: turbo artifact still a local hit" "$A_URL$TURBO" "$IT_TMP/turbo.bin"
expect_bytes "A, RGW down: Bazel CAS blob still a local hit" "$A_URL$CAS" "$IT_TMP/cas.bin"
expect_bytes "B, RGW down: ccache entry still a local hit" "$B_URL$CCACHE" "$IT_TMP/ccache.bin"
head -c 3000 /dev/urandom >"$IT_TMP/new.bin"
expect_put 503 "A, RGW down: turbo PUT refused" "$A_URL/turbo/v8/artifacts/fleet0003?slug=acme" "$IT_TMP/new.bin"
grep -q "cannot be reached" "$IT_TMP/put.body" || fail "the 503 does not say why: $(cat "$IT_TMP/put.body")"
expect_put 503 "A, RGW down: Bazel CAS PUT refused" "$A_URL/bazel/cas/$(sha256_of "$IT_TMP/new.bin")" "$IT_TMP/new.bin"
expect_put 503 "A, RGW down: ccache PUT refused" "$A_URL/ccache/ab/cdefghijklmnopqrstuv0123456789b" "$IT_TMP/new.bin"
expect_code 404 "A: the refused turbo PUT left no entry" "$A_URL/turbo/v8/artifacts/fleet0003?slug=acme"
expect_code 404 "B, RGW down: an entry only in the bucket is a miss" "$B_URL/turbo/v8/artifacts/fleet0002?slug=acme"
kill -0 "$A_PID" || fail "A died while the bucket was down"
[[ $(metric_at "$A_URL" 'cellar_s3_requests_total{operation="put",result="Unavailable"}') -ge 1 ]] ||
  fail "A's failed S3 requests are not counted: $(curl -s "$A_URL/metrics" | grep s3_requests)"

# --- 4. the bucket comes back (an empty one: RGW keeps objects in memory) --------
"${S3_RGW[@]}" up "$S3_RGW_DIR" >/dev/null
readyz_becomes "$A_URL" 200
expect_put 200 "A, RGW back: turbo PUT stored" "$A_URL/turbo/v8/artifacts/fleet0003?slug=acme" "$IT_TMP/new.bin"
expect_put 200 "A, RGW back: ccache PUT stored" "$A_URL/ccache/ab/cdefghijklmnopqrstuv0123456789b" "$IT_TMP/new.bin"
expect_bytes "B, RGW back: reads A's new artifact" "$B_URL/turbo/v8/artifacts/fleet0003?slug=acme" "$IT_TMP/new.bin"
echo "all s3 fleet checks passed in $(( $(date +%s) - T0 )) s"
