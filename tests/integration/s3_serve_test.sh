#!/usr/bin/env bash
# it_s3_serve: `cellar serve --storage s3` against a real Ceph RGW (started
# with scripts/s3-rgw.sh, or the one already running in $CELLAR_RGW_DIR),
# driven with curl through the turbo API:
#   1. start-up refuses wrong credentials and a missing bucket, with a clear
#      message that never quotes the secret;
#   2. node A: PUT two artifacts (one small, one 3 MiB, multipart in the
#      bucket), GET them back byte-identical; each blob is an object under
#      <prefix>/blobs/ before the PUT is answered (write-through), and a
#      second PUT of the same bytes adds no object;
#   3. node B, an empty data dir on the same bucket: the artifacts are hits,
#      their entries recovered from the manifests A published beside the
#      blobs (it_s3_fleet covers more protocols and the bucket going away);
#   4. node C, a data dir holding only a copy of A's index (no blobs): both
#      artifacts are hits, byte-identical, read through from the bucket into
#      C's local tier (its blobs/ fills), and stay hits when read again.
# Needs root on Debian 12 (s3-rgw.sh installs Ceph when missing); fails,
# never skips, when the server cannot be started.
# Usage: bash s3_serve_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RGW=("bash" "$ROOT/scripts/s3-rgw.sh")
RGW_DIR=${CELLAR_RGW_DIR:-/tmp/cellar-rgw}
command -v curl >/dev/null || fail "curl is not installed"

STARTED_RGW=0
PREFIX=""
s3_cleanup() {
  [[ -z "$PREFIX" ]] || remove_prefix || true
  it_cleanup
  [[ $STARTED_RGW == 0 ]] || "${RGW[@]}" down "$RGW_DIR"
}
trap s3_cleanup EXIT
if "${RGW[@]}" status "$RGW_DIR"; then
  echo "using the RGW already running in $RGW_DIR"
else
  STARTED_RGW=1
  "${RGW[@]}" up "$RGW_DIR"
fi
set -a
# shellcheck disable=SC1091
source "$RGW_DIR/env"
set +a
PREFIX="it-serve-$$-$(date +%s)"
S3_ARGS=(--storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "$PREFIX")

# s3 CURL_ARGS... URL_TAIL: a signed request to the bucket (path-style).
s3() {
  local tail="${*: -1}"
  curl -s --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "${@:1:$#-1}" "$AWS_ENDPOINT_URL/$CELLAR_S3_BUCKET$tail"
}
# Number of blob objects under our prefix (the "/" in a query must be
# percent-encoded, or the signature curl computes does not match).
blob_objects() { s3 "?list-type=2&prefix=$PREFIX%2Fblobs%2F" | grep -o '<Key>[^<]*</Key>' | wc -l; }
remove_prefix() {
  local key
  for key in $(s3 "?list-type=2&prefix=$PREFIX%2F" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'); do
    s3 -X DELETE "/$key" >/dev/null || true
  done
}

# --- 1. start-up checks ---------------------------------------------------------
refused() {  # refused DESC WANT_REGEX [env assignments...] -- serve args...
  local desc="$1" want="$2"; shift 2
  local envs=()
  while [[ "$1" != -- ]]; do envs+=("$1"); shift; done
  shift
  local out="$IT_TMP/refused.log" rc=0
  env "${envs[@]}" timeout 60 "$CELLAR_BIN" serve --listen 127.0.0.1:0 --data-dir "$IT_TMP/refused" "$@" \
    >"$out" 2>&1 || rc=$?
  [[ $rc -ne 0 && $rc -ne 124 ]] || fail "$desc: serve should exit with an error at start-up (rc $rc): $(cat "$out")"
  grep -Eq "$want" "$out" || fail "$desc: message lacks /$want/: $(cat "$out")"
  ! grep -q "WrongSecretValue42" "$out" || fail "$desc: the message quotes the secret"
  pass "$desc: $(grep -Eo "$want" "$out" | head -1)"
}
refused "wrong secret" "access denied" AWS_SECRET_ACCESS_KEY=WrongSecretValue42 -- "${S3_ARGS[@]}"
refused "missing bucket" "does not exist" -- --storage s3 --s3-bucket "no-such-bucket-$$"
refused "no credentials" "credentials are not set" AWS_ACCESS_KEY_ID= -- "${S3_ARGS[@]}"

# --- 2. node A: write-through -------------------------------------------------
W=writer-token-0123456789
TOKENS=(--token "ci:$W:read,write")
start_cellar "$IT_TMP/a" "${S3_ARGS[@]}" "${TOKENS[@]}"
grep -q "\"storage\":\"s3 $AWS_ENDPOINT_URL" "$CELLAR_LOG" || fail "start-up log does not name the bucket: $(cat "$CELLAR_LOG")"
ART="/turbo/v8/artifacts"
head -c 3000 /dev/urandom >"$IT_TMP/small"
head -c $((3 << 20)) /dev/urandom >"$IT_TMP/large"
H1=aaaa000000000001
H2=aaaa000000000002
[[ $(blob_objects) -eq 0 ]] || fail "prefix $PREFIX is not empty"
put() {  # put HASH FILE
  curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $W" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$CELLAR_URL$ART/$1?slug=acme"
}
[[ $(put $H1 "$IT_TMP/small") == 200 ]] || fail "PUT small artifact"
[[ $(blob_objects) -eq 1 ]] || fail "after the first PUT answered, the bucket should hold 1 blob, has $(blob_objects)"
[[ $(put $H2 "$IT_TMP/large") == 200 ]] || fail "PUT large artifact"
[[ $(blob_objects) -eq 2 ]] || fail "after the second PUT answered, the bucket should hold 2 blobs, has $(blob_objects)"
pass "node A: each PUT is in the bucket when answered (write-through)"

# check_get DESC HASH FILE: GET answers 200 with exactly FILE's bytes.
check_get() {
  expect_code 200 "$1" -H "Authorization: Bearer $W" "$CELLAR_URL$ART/$2?slug=acme"
  cmp -s "$IT_TMP/body" "$3" || fail "$1: body differs from what was PUT"
}
check_get "node A: GET small" $H1 "$IT_TMP/small"
check_get "node A: GET large" $H2 "$IT_TMP/large"
cp "$IT_TMP/small" "$IT_TMP/small-again"
[[ $(put aaaa000000000003 "$IT_TMP/small-again") == 200 ]] || fail "PUT of the same bytes under another hash"
[[ $(blob_objects) -eq 2 ]] || fail "the same bytes again should add no object, bucket has $(blob_objects)"
pass "node A: the same bytes under another key add no object (dedupe)"
stop_cellar  # flushes A's index

# --- 3. node B: empty data dir -------------------------------------------------
start_cellar "$IT_TMP/b" "${S3_ARGS[@]}" "${TOKENS[@]}"
check_get "node B (empty data dir): entry recovered from the bucket" $H1 "$IT_TMP/small"
expect_code 404 "node B: a hash nobody stored is a miss" -H "Authorization: Bearer $W" "$CELLAR_URL$ART/ffff000000000009?slug=acme"
stop_cellar

# --- 4. node C: A's index, no blobs --------------------------------------------
mkdir -p "$IT_TMP/c"
cp "$IT_TMP"/a/index.db* "$IT_TMP/c/"
start_cellar "$IT_TMP/c" "${S3_ARGS[@]}" "${TOKENS[@]}"
local_blobs() { find "$IT_TMP/c/blobs" -type f 2>/dev/null | wc -l; }
[[ $(local_blobs) -eq 0 ]] || fail "node C starts with blobs on disk"
check_get "node C: GET small, read through from the bucket" $H1 "$IT_TMP/small"
check_get "node C: GET large, read through from the bucket" $H2 "$IT_TMP/large"
[[ $(local_blobs) -eq 2 ]] || fail "node C's local tier should hold the 2 blobs it read through, has $(local_blobs)"
pass "node C: the blobs read through are in its local tier"
check_get "node C: GET large again (local hit)" $H2 "$IT_TMP/large"
check_get "node C: the other key of the same bytes" aaaa000000000003 "$IT_TMP/small"
stop_cellar
echo "all s3 serve checks passed"
