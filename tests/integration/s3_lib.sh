# Helpers for integration tests on a real S3 server (Ceph RGW), sourced after
# lib.sh. s3_setup starts RGW with scripts/s3-rgw.sh (or reuses the one
# running in $CELLAR_RGW_DIR), loads its AWS_* variables, picks a fresh key
# prefix for this run in S3_PREFIX and sets S3_ARGS for `cellar serve`. At
# exit, the prefix's objects are removed and an RGW this run started is
# stopped.

S3_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
S3_RGW=("bash" "$S3_ROOT/scripts/s3-rgw.sh")
S3_RGW_DIR=${CELLAR_RGW_DIR:-/tmp/cellar-rgw}
S3_STARTED_RGW=0
S3_PREFIX=""

s3_cleanup() {
  [[ -z "$S3_PREFIX" ]] || s3_remove_prefix || true
  it_cleanup
  [[ $S3_STARTED_RGW == 0 ]] || "${S3_RGW[@]}" down "$S3_RGW_DIR"
}

# s3_private_rgw: an RGW of this test's own in $IT_TMP/rgw, for tests that
# stop and restart the bucket or need room of their own, on the ports the
# caller exported in RGW_PORT, MON_PORT and MON_V1_PORT (never the shared
# one's). Loads its AWS_* variables and sets S3_RGW_DIR; it is stopped and
# removed at exit. `"${S3_RGW[@]}" down|up "$S3_RGW_DIR"` stops and restarts it.
s3_private_rgw() {
  command -v curl >/dev/null || fail "curl is not installed"
  S3_RGW_DIR="$IT_TMP/rgw"
  trap s3_private_cleanup EXIT
  "${S3_RGW[@]}" up "$S3_RGW_DIR" >/dev/null
  set -a
  # shellcheck disable=SC1091
  source "$S3_RGW_DIR/env"
  set +a
}
s3_private_cleanup() {
  "${S3_RGW[@]}" down "$S3_RGW_DIR" >/dev/null 2>&1 || true
  it_cleanup
}

# s3_setup NAME: NAME goes into the prefix (it-NAME-<pid>-<time>).
s3_setup() {
  command -v curl >/dev/null || fail "curl is not installed"
  trap s3_cleanup EXIT
  if "${S3_RGW[@]}" status "$S3_RGW_DIR"; then
    echo "using the RGW already running in $S3_RGW_DIR"
  else
    S3_STARTED_RGW=1
    "${S3_RGW[@]}" up "$S3_RGW_DIR"
  fi
  set -a
  # shellcheck disable=SC1091
  source "$S3_RGW_DIR/env"
  set +a
  S3_PREFIX="it-$1-$$-$(date +%s)"
  S3_ARGS=(--storage s3 --s3-bucket "$CELLAR_S3_BUCKET" --s3-prefix "$S3_PREFIX")
}

# s3_request CURL_ARGS... URL_TAIL: a signed request to the bucket (path-style).
s3_request() {
  local tail="${*: -1}"
  curl -s --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    "${@:1:$#-1}" "$AWS_ENDPOINT_URL/$CELLAR_S3_BUCKET$tail"
}

# s3_keys SUBPREFIX: the keys under $S3_PREFIX/SUBPREFIX, one per line (the
# "/" in the query is percent-encoded, or curl's signature does not match).
s3_keys() {
  local sub="${1//\//%2F}"
  s3_request "?list-type=2&prefix=$S3_PREFIX%2F$sub" | grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g'
}

# s3_bytes SUBPREFIX: the bytes of the objects under $S3_PREFIX/SUBPREFIX
# (up to 1000 of them).
s3_bytes() {
  local sub="${1//\//%2F}"
  s3_request "?list-type=2&prefix=$S3_PREFIX%2F$sub" | grep -o '<Size>[0-9]*</Size>' | sed 's/<[^>]*>//g' |
    awk '{ s += $1 } END { print s + 0 }'
}

s3_remove_prefix() {
  local key
  for key in $(s3_keys ""); do s3_request -X DELETE "/$key" >/dev/null || true; done
}
