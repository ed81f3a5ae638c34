#!/usr/bin/env bash
# it_s3_large_artifact: a 2 GiB artifact through `cellar serve --storage s3`
# by multipart, with flat memory (issue 15):
#   1. node A PUTs a 2 GiB turbo artifact streamed from a deterministic
#      generator (det_stream.py) into `curl -T -` (chunked, no file on the
#      client side); A answers once the blob is in the bucket;
#   2. A's peak RSS (VmHWM, which covers every moment) stays under
#      RSS_LIMIT_MIB; the bucket got the blob by multipart: A counts its
#      upload_part and complete_multipart requests in /metrics, and the
#      bucket lists one 2 GiB object under <prefix>/blobs/ whose ETag ends in
#      "-<parts>" (S3's mark of a multipart object);
#   3. node B, an EMPTY data dir on the same bucket, GETs it (entry recovered
#      from the bucket, blob read through into B's local tier): the SHA-256
#      and size match what was sent, and B's peak RSS stays under the limit.
# The test runs its own single-node RGW (scripts/s3-rgw.sh) on ports of its
# own, with room for the 2 GiB object in RAM (MEMSTORE_BYTES). Needs root and
# Debian 12's Ceph packages; fails, never skips, when RGW cannot be started.
# LARGE_ARTIFACT_MIB overrides the size (default 2048).
# Usage: bash s3_large_artifact_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"  # s3_private_rgw, s3_request and s3_keys

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IT_DIR="$ROOT/tests/integration"
export RGW_PORT=${LARGE_RGW_PORT:-7486} MON_PORT=${LARGE_MON_PORT:-3306} MON_V1_PORT=${LARGE_MON_V1_PORT:-6786}
export MEMSTORE_BYTES=$((6 << 30))
SIZE_MIB=${LARGE_ARTIFACT_MIB:-2048}
PART_MIB=8  # S3BlobStore's part size (docs/s3.md section 5)
# Measured on the 2-core VM: VmHWM 21 MiB on both nodes (the upload spools
# to a file and sends 8 MiB parts from it with pread; the read-through
# streams into the local tier). The limit leaves room for the parts in
# flight (4 x 8 MiB) should they ever be buffered, and for allocator noise;
# buffering the body would show as gigabytes.
RSS_LIMIT_MIB=150
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

T0=$(date +%s)
s3_private_rgw
S3_PREFIX="large"
S3_ARGS=(--storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "$S3_PREFIX" --max-entry-size 3GiB --max-size 8GiB)
echo "RGW up in $(( $(date +%s) - T0 )) s"

# hwm_mib PID: the process's peak resident memory so far.
hwm_mib() { awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$1/status"; }

# --- 1. node A: a 2 GiB chunked PUT ----------------------------------------------
start_cellar "$IT_TMP/a" "${S3_ARGS[@]}"
A_URL=$CELLAR_URL
A_PID=$CELLAR_PID
[[ "$(cat "/proc/$A_PID/comm")" == cellar ]] || fail "test setup: CELLAR_PID is not the cellar process"
KEY="/turbo/v8/artifacts/b16a26e0f1a2c3d4?slug=acme"
t=$(date +%s)
code=$(python3 "$IT_DIR/det_stream.py" gen "$SIZE_MIB" 11 "$IT_TMP/sent" |
  curl -s -o "$IT_TMP/put.body" -w '%{http_code}' --max-time 170 -X PUT -T - -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' "$A_URL$KEY") || true
read -r sent_sha sent_bytes <"$IT_TMP/sent"
[[ "$code" == 200 ]] || fail "A: PUT of $SIZE_MIB MiB answered HTTP $code: $(head -c 300 "$IT_TMP/put.body")"
[[ "$sent_bytes" == $((SIZE_MIB << 20)) ]] || fail "the generator sent $sent_bytes bytes"
pass "A: $SIZE_MIB MiB turbo PUT (chunked) stored in $(( $(date +%s) - t )) s"

# --- 2. flat memory on A; multipart in the bucket --------------------------------
kill -0 "$A_PID" || fail "A died during the PUT"
a_hwm=$(hwm_mib "$A_PID")
echo "A: peak RSS (VmHWM) $a_hwm MiB"
(( a_hwm < RSS_LIMIT_MIB )) || fail "A's peak RSS is $a_hwm MiB >= $RSS_LIMIT_MIB MiB: the upload is buffered in memory"
pass "A: peak RSS $a_hwm MiB < $RSS_LIMIT_MIB MiB"
parts=$(( (SIZE_MIB + PART_MIB - 1) / PART_MIB ))
got_parts=$(metric_at "$A_URL" 'cellar_s3_requests_total{operation="upload_part",result="ok"}')
completed=$(metric_at "$A_URL" 'cellar_s3_requests_total{operation="complete_multipart",result="ok"}')
(( got_parts >= parts && completed >= 1 )) ||
  fail "A's metrics show $got_parts parts and $completed completed uploads, want $parts and 1: $(curl -s "$A_URL/metrics" | grep s3_requests_total)"
pass "A: multipart upload in /metrics ($got_parts parts, $completed completed)"
s3_request "?list-type=2&prefix=$S3_PREFIX%2Fblobs%2F" >"$IT_TMP/list.xml"
python3 - "$IT_TMP/list.xml" "$((SIZE_MIB << 20))" "$parts" <<'PY' || fail "the bucket does not hold the blob as a multipart object"
import re, sys
xml = open(sys.argv[1]).read()
size, parts = int(sys.argv[2]), int(sys.argv[3])
objs = re.findall(r"<Contents>(.*?)</Contents>", xml, re.S)
big = [o for o in objs if int(re.search(r"<Size>(\d+)</Size>", o).group(1)) == size]
if len(big) != 1:
    sys.exit("want one object of %d bytes under blobs/, listing: %s" % (size, xml[:600]))
etag = re.search(r"<ETag>(.*?)</ETag>", big[0]).group(1).replace("&quot;", "").strip('"')
if not etag.endswith("-%d" % parts):
    sys.exit("ETag %s does not end in -%d: not a %d-part upload" % (etag, parts, parts))
print("ok - bucket: %s, %d bytes, ETag %s" % (re.search(r"<Key>(.*?)</Key>", big[0]).group(1), size, etag))
PY
[[ -z "$(s3_request "?prefix=$S3_PREFIX%2F&uploads=" | grep -o '<Upload>' || true)" ]] ||
  fail "multipart uploads are left open in the bucket"
pass "bucket: no multipart upload left open"

# --- 3. node B: empty data dir, same bucket, read-through GET --------------------
start_cellar "$IT_TMP/b" "${S3_ARGS[@]}"
B_URL=$CELLAR_URL
B_PID=$CELLAR_PID
t=$(date +%s)
got=$(curl -s -D "$IT_TMP/get.headers" --max-time 170 "$B_URL$KEY" | python3 "$IT_DIR/det_stream.py" hash)
status=$(head -n 1 "$IT_TMP/get.headers" | tr -d '\r')
[[ "$status" == *" 200"* ]] || fail "B: GET answered '$status'"
[[ "$got" == "$sent_sha $sent_bytes" ]] || fail "B: GET returned '$got', sent '$sent_sha $sent_bytes'"
pass "B: $SIZE_MIB MiB read through from the bucket in $(( $(date +%s) - t )) s, SHA-256 matches"
[[ $(metric_at "$B_URL" 'cellar_tiered_reads_total{source="remote"}') -ge 1 ]] ||
  fail "B did not read through the bucket: $(curl -s "$B_URL/metrics" | grep tiered_reads)"
kill -0 "$B_PID" || fail "B died during the GET"
b_hwm=$(hwm_mib "$B_PID")
echo "B: peak RSS (VmHWM) $b_hwm MiB"
(( b_hwm < RSS_LIMIT_MIB )) || fail "B's peak RSS is $b_hwm MiB >= $RSS_LIMIT_MIB MiB: the download is buffered in memory"
pass "B: peak RSS $b_hwm MiB < $RSS_LIMIT_MIB MiB"
echo "all large-artifact checks passed in $(( $(date +%s) - T0 )) s"
