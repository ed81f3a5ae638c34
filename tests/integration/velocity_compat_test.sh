#!/usr/bin/env bash
# it_velocity_compat: a VelocityCache deployment switched to cellar. The
# server is configured only through VelocityCache's environment (VC_*), and
# its CLI's requests are replayed as the CLI sends them
# (velocity_cli_replay.go: the negotiate call with its token, transfers that
# must answer exactly 200, the token sent only to the server's own host):
#   1. VC_STORAGE_DRIVER=local: upload, skipped re-upload, remote hit, miss;
#      VelocityCache's own /v1/proxy/blob/ requests with a bearer token;
#      /health; cellar's own flag still wins over the environment;
#   2. VC_STORAGE_DRIVER=s3 on a real Ceph RGW: the upload goes through
#      cellar to the bucket, the download is a presigned bucket URL (no token
#      sent there), and a second node with an empty disk serves it.
# The status matrix is in src/protocols/negotiate/velocity_proxy_test.cc.
# Usage: bash velocity_compat_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"
source "$(dirname "$0")/go_lib.sh"

go_isolated_env
export GOFLAGS=  # one file, standard library only: no module needed
REPLAY="$IT_TMP/velocity_cli_replay"
go build -o "$REPLAY" "$(dirname "$0")/velocity_cli_replay.go" || fail "building the CLI replay"

TOKEN=vc-shared-secret-0123
art="$IT_TMP/artifact.zip"
head -c 300000 /dev/urandom >"$art"
hash=$(sha256sum "$art" | cut -d' ' -f1)  # the CLI's keys are SHA-256 hex

# start_vc_cellar DATA_DIR [extra serve args]: cellar configured the
# VelocityCache way (start_cellar's --listen 127.0.0.1:0 replaces VC_PORT).
start_vc_cellar() {
  local dir="$1"; shift
  VC_PORT=8080 VC_AUTH_TOKEN=$TOKEN VC_LOCAL_ROOT="$dir" VC_RETENTION_DAYS=7 start_cellar "$dir" "$@"
}

# 1. The local driver.
VC_STORAGE_DRIVER=local start_vc_cellar "$IT_TMP/local"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" upload "$hash" "$art") || fail "CLI upload: $out"
[[ "$out" == uploaded ]] || fail "CLI upload: $out"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" upload "$hash" "$art") || fail "CLI re-upload: $out"
[[ "$out" == skipped ]] || fail "CLI re-upload: $out"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" download "$hash" "$IT_TMP/got") || fail "CLI download: $out"
[[ "$out" == hit ]] && cmp -s "$art" "$IT_TMP/got" || fail "CLI download: $out, or other bytes"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" download "$(echo other | sha256sum | cut -d' ' -f1)" "$IT_TMP/none")
[[ "$out" == miss ]] || fail "CLI download of an unknown hash: $out"
out=$("$REPLAY" "$CELLAR_URL" wrong-token-0123456 upload "$hash" "$art" 2>&1) && fail "a wrong token uploaded: $out"
pass "local driver: the CLI's upload, skipped re-upload, remote hit and miss all answer as it requires"

code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" --data-binary "@$art" \
  "$CELLAR_URL/v1/proxy/blob/direct1")
[[ "$code" == 200 ]] || fail "PUT /v1/proxy/blob/ with the token: HTTP $code"
code=$(get -H "Authorization: Bearer $TOKEN" "$CELLAR_URL/v1/proxy/blob/direct1")
[[ "$code" == 200 ]] && cmp -s "$art" "$IT_TMP/body" || fail "GET /v1/proxy/blob/: HTTP $code"
[[ "$(header Content-Type)" == application/octet-stream ]] || fail "Content-Type: $(header Content-Type)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$art" "$CELLAR_URL/v1/proxy/blob/direct2")
[[ "$code" == 401 ]] || fail "PUT /v1/proxy/blob/ without the token: HTTP $code"
code=$(get -H "Authorization: Bearer $TOKEN" "$CELLAR_URL/v1/proxy/blob/never-put")
[[ "$code" == 404 ]] && grep -q "File not found" "$IT_TMP/body" || fail "GET of a missing blob: HTTP $code"
code=$(get "$CELLAR_URL/health")
[[ "$code" == 200 && "$(cat "$IT_TMP/body")" == '{"status":"up"}' ]] || fail "/health: $code $(cat "$IT_TMP/body")"
pass "VelocityCache's /v1/proxy/blob/ PUT and GET with a bearer token, 401 without, 404 File not found; /health"
stop_cellar

# cellar's own flag wins over the environment: /v1/blobs/ URLs again.
VC_STORAGE_DRIVER=local start_vc_cellar "$IT_TMP/local" --negotiate-urls cellar
url=$(curl -s -H "Authorization: Bearer $TOKEN" -d '{"hash":"flag1","action":"upload"}' "$CELLAR_URL/v1/negotiate" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
[[ "$url" == "$CELLAR_URL/v1/blobs/flag1?"* ]] || fail "--negotiate-urls cellar with VC_* set: $url"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" download "$hash" "$IT_TMP/got2") || fail "download after restart: $out"
[[ "$out" == hit ]] && cmp -s "$art" "$IT_TMP/got2" || fail "download after restart: $out"
pass "--negotiate-urls cellar overrides the VC_* default; artifacts survive the restart"
stop_cellar

# 2. The S3 driver on a real RGW.
s3_setup velocity
s3_vc() {  # VelocityCache's S3 variables, bucket under a fresh prefix
  VC_STORAGE_DRIVER=s3 VC_S3_BUCKET="$CELLAR_S3_BUCKET" VC_S3_REGION="$AWS_REGION" \
    VC_S3_ENDPOINT="$AWS_ENDPOINT_URL" start_vc_cellar "$@" --s3-prefix "$S3_PREFIX"
}
s3_vc "$IT_TMP/s3a"
first_url=$CELLAR_URL
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" upload "$hash" "$art") || fail "CLI upload (s3): $out"
[[ "$out" == uploaded ]] || fail "CLI upload (s3): $out"
[[ -n "$(s3_keys blobs/)" ]] || fail "no blob in the bucket after the upload"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" upload "$hash" "$art") || fail "CLI re-upload (s3): $out"
[[ "$out" == skipped ]] || fail "CLI re-upload (s3): $out"
durl=$(curl -s -H "Authorization: Bearer $TOKEN" -d "{\"hash\":\"$hash\",\"action\":\"download\"}" \
  "$CELLAR_URL/v1/negotiate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
[[ "$durl" == "$AWS_ENDPOINT_URL/"*"X-Amz-Signature="* ]] || fail "download URL is not a presigned bucket URL: $durl"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" download "$hash" "$IT_TMP/got3") || fail "CLI download (s3): $out"
[[ "$out" == hit ]] && cmp -s "$art" "$IT_TMP/got3" || fail "CLI download (s3): $out"
pass "S3 driver: the CLI uploads through cellar to the bucket and downloads from a presigned bucket URL"

s3_vc "$IT_TMP/s3b"  # a second node, empty disk, same bucket
[[ "$CELLAR_URL" != "$first_url" ]] || fail "second node"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" download "$hash" "$IT_TMP/got4") || fail "second node download: $out"
[[ "$out" == hit ]] && cmp -s "$art" "$IT_TMP/got4" || fail "second node download: $out"
out=$("$REPLAY" "$CELLAR_URL" "$TOKEN" upload "$hash" "$art") || fail "second node re-upload: $out"
[[ "$out" == skipped ]] || fail "second node re-upload: $out"
pass "S3 driver: a second node with an empty disk serves the first node's artifact and skips its re-upload"
