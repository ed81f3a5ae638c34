#!/usr/bin/env bash
# The S3 backend against a real S3 server: starts a throwaway Ceph RGW with
# scripts/s3-rgw.sh (or reuses one already running in $CELLAR_RGW_DIR), runs
# the s3_rgw_test gtest binary against it (BlobStore conformance, multipart,
# listing, presigned URLs, credential errors) and stops what it started.
# Needs root on Debian 12 (s3-rgw.sh installs Ceph when missing); fails,
# never skips, when the server cannot be started.
# Usage: s3_rgw_test.sh path/to/s3_rgw_test [gtest args...]
set -euo pipefail
TEST_BIN=$(readlink -f "${1:?usage: $0 path/to/s3_rgw_test [gtest args...]}")
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RGW=("bash" "$ROOT/scripts/s3-rgw.sh")
RGW_DIR=${CELLAR_RGW_DIR:-/tmp/cellar-rgw}

if "${RGW[@]}" status "$RGW_DIR"; then
  echo "using the RGW already running in $RGW_DIR"
else
  "${RGW[@]}" up "$RGW_DIR"
  trap '"${RGW[@]}" down "$RGW_DIR"' EXIT
fi
set -a
# shellcheck disable=SC1091
source "$RGW_DIR/env"
set +a
"$TEST_BIN" "$@"
