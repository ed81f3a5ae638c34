#!/usr/bin/env bash
# it_negotiate_presigned: the negotiate API with `cellar serve --storage s3`
# against a real Ceph RGW (scripts/s3-rgw.sh, or the one already running in
# $CELLAR_RGW_DIR): presigned upload + commit and presigned download, 50
# concurrent uploads of one key, an upload killed half-way, size and digest
# enforced by the store (negotiate_presigned.py), then expired presigned and
# commit URLs (403) with a short --signed-url-ttl, and `cellar run`'s remote
# cache client (task_cache_real_server_test) uploading and downloading
# through presigned URLs.
# The commit rules in-process: src/protocols/negotiate/negotiate_presigned_test.cc.
# Usage: bash negotiate_presigned_test.sh /path/to/cellar /path/to/task_cache_real_server_test
source "$(dirname "$0")/lib.sh"
CLIENT_TEST_BIN="${2:?usage: $0 CELLAR_BIN TASK_CACHE_REAL_SERVER_TEST_BIN}"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RGW=("bash" "$ROOT/scripts/s3-rgw.sh")
RGW_DIR=${CELLAR_RGW_DIR:-/tmp/cellar-rgw}
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
PREFIX="it-presign-$$-$(date +%s)"
S3_ARGS=(--storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "$PREFIX")
s3() {  # s3 CURL_ARGS... URL_TAIL: a signed request to the bucket
  local tail="${*: -1}"
  curl -s --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "${@:1:$#-1}" "$AWS_ENDPOINT_URL/$CELLAR_S3_BUCKET$tail"
}
objects() { s3 "?list-type=2&prefix=$PREFIX%2F$1%2F" | grep -o '<Key>[^<]*</Key>' | wc -l; }
remove_prefix() {
  local key
  for key in $(s3 "?list-type=2&prefix=$PREFIX%2F" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'); do
    s3 -X DELETE "/$key" >/dev/null || true
  done
}

W=writer-token-0123456789
start_cellar "$IT_TMP/a" "${S3_ARGS[@]}" --token "ci:$W:read,write"
python3 "$(dirname "$0")/negotiate_presigned.py" "$CELLAR_URL" "$W" "$AWS_ENDPOINT_URL" || fail "presigned checks"
[[ $(objects staging) -eq 0 ]] || fail "staging objects left behind: $(objects staging)"
pass "no staging object is left behind"
answers=$(curl -s -H "Authorization: Bearer $W" "$CELLAR_URL/metrics" |
  awk '$1 == "cellar_negotiate_answers_total{status=\"upload_needed\",url=\"presigned\"}" { print $2 }')
commits=$(curl -s -H "Authorization: Bearer $W" "$CELLAR_URL/metrics" |
  awk '$1 == "cellar_negotiate_transfers_total{op=\"commit\",result=\"stored\"}" { print $2 }')
[[ "${answers:-0}" -ge 5 && "${commits:-0}" -ge 3 ]] || fail "metrics: presigned answers '$answers', commits '$commits'"
pass "metrics count presigned answers ($answers) and commits ($commits)"
stop_cellar

# `cellar run`'s remote cache client (NegotiateRemoteCache) on the same
# backend: its real-server suite uploads through presigned PUT + commit and
# downloads through presigned GETs (the token only ever goes to cellar).
R=ro-token-0123456789
start_cellar "$IT_TMP/c" "${S3_ARGS[@]}" --token "ci:$W:read,write" --token "pr:$R:read"
CELLAR_TEST_URL="$CELLAR_URL" CELLAR_TEST_RW="$W" CELLAR_TEST_RO="$R" "$CLIENT_TEST_BIN" \
  || fail "remote cache client against cellar serve --storage s3"
metrics=$(curl -s -H "Authorization: Bearer $W" "$CELLAR_URL/metrics")
commits=$(awk '$1 == "cellar_negotiate_transfers_total{op=\"commit\",result=\"stored\"}" { print $2 }' <<<"$metrics")
puts=$(awk '$1 == "cellar_negotiate_transfers_total{op=\"put\",result=\"stored\"}" { print $2 }' <<<"$metrics")
found=$(awk '$1 == "cellar_negotiate_answers_total{status=\"found\",url=\"presigned\"}" { print $2 }' <<<"$metrics")
[[ "${commits:-0}" == 4 && -z "$puts" && "${found:-0}" -ge 1 ]] ||
  fail "client: commits '$commits' (want 4), proxied puts '$puts' (want none), presigned downloads '$found'"
pass "cellar run's client uploads by presigned PUT + commit ($commits) and downloads presigned ($found)"
stop_cellar

# Expired URLs: the object store refuses a presigned PUT or GET past its
# lifetime (403), cellar an expired commit URL (403).
start_cellar "$IT_TMP/b" "${S3_ARGS[@]}" --token "ci:$W:read,write" --signed-url-ttl 3s
head -c 5000 /dev/urandom >"$IT_TMP/blob"
sha=$(sha256sum "$IT_TMP/blob" | cut -d' ' -f1)
answer=$(curl -s -H "Authorization: Bearer $W" \
  -d "{\"hash\":\"exp1\",\"action\":\"upload\",\"size\":5000,\"sha256\":\"$sha\",\"presigned\":true}" "$CELLAR_URL/v1/negotiate")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$answer" "$1"; }
put_url=$(field url)
commit_url=$(field commit_url)
sleep 7
code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $sha" --data-binary "@$IT_TMP/blob" "$put_url")
[[ "$code" == 403 ]] || fail "expired presigned PUT: HTTP $code $(head -c 300 "$IT_TMP/body")"
code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' -X POST "$commit_url")
[[ "$code" == 403 ]] || fail "expired commit URL: HTTP $code $(cat "$IT_TMP/body")"
pass "expired presigned PUT (403 from the store) and commit URL (403 from cellar)"
answer=$(curl -s -H "Authorization: Bearer $W" \
  -d "{\"hash\":\"exp2\",\"action\":\"upload\",\"size\":5000,\"sha256\":\"$sha\",\"presigned\":true}" "$CELLAR_URL/v1/negotiate")
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $sha" --data-binary "@$IT_TMP/blob" "$(field url)")
[[ "$code" == 200 ]] || fail "presigned PUT within its 3 s lifetime: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$(field commit_url)")
[[ "$code" == 201 ]] || fail "commit within its lifetime: HTTP $code"
answer=$(curl -s -H "Authorization: Bearer $W" -d '{"hash":"exp2","action":"download"}' "$CELLAR_URL/v1/negotiate")
get_url=$(field url)
[[ "$get_url" == "$AWS_ENDPOINT_URL"/* ]] || fail "download answer is not presigned: $answer"
code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' "$get_url")
[[ "$code" == 200 ]] && cmp -s "$IT_TMP/body" "$IT_TMP/blob" || fail "presigned GET within its lifetime: HTTP $code"
sleep 7
code=$(curl -s -o /dev/null -w '%{http_code}' "$get_url")
[[ "$code" == 403 ]] || fail "expired presigned GET: HTTP $code"
pass "expired presigned GET (403 from the store)"
stop_cellar
echo "all presigned negotiate checks passed"
