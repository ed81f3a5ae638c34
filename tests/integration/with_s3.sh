#!/usr/bin/env bash
# with_s3.sh SCRIPT CELLAR_BIN: runs another integration test script with
# every `cellar serve` it starts on `--storage s3` (a real Ceph RGW, a fresh
# key prefix), so the real clients' suites (turbo, npm, go, ccache) prove
# the protocols unchanged on the S3 backend. lib.sh's start_cellar adds
# $CELLAR_SERVE_EXTRA to each server's arguments.
# Usage: bash with_s3.sh turbo_test.sh /path/to/cellar
set -euo pipefail
IT_DIR="$(cd "$(dirname "$0")" && pwd)"
script="$1"
shift
source "$IT_DIR/lib.sh"  # takes $1, the cellar binary
source "$IT_DIR/s3_lib.sh"
s3_setup "$(basename "$script" .sh)"
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
export CELLAR_SERVE_EXTRA="${S3_ARGS[*]}"
echo "running $script with: $CELLAR_SERVE_EXTRA"
rc=0
bash "$IT_DIR/$script" "$@" || rc=$?
[[ $rc -eq 0 ]] || fail "$script failed on --storage s3 (rc $rc)"
[[ $(s3_keys blobs/ | wc -l) -gt 0 ]] || fail "$script stored nothing in the bucket: was --storage s3 in effect?"
pass "$script passed on --storage s3 ($(s3_keys blobs/ | wc -l) blobs in the bucket)"
