#!/usr/bin/env bash
# Installs everything, builds cellar (warnings as errors) and runs every
# test: unit tests, the unit tests again under ASan+UBSan, and the
# integration tests that drive the real server with real clients.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --with-test-tools || exit 1

passed=0
failed=0
step() {  # step NAME COMMAND...
  local name="$1"; shift
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - start))s)"
    passed=$((passed + 1))
  else
    echo "=== $name: FAILED ($((SECONDS - start))s)"
    failed=$((failed + 1))
  fi
}

step "build" bash scripts/build.sh build -DCELLAR_WERROR=ON
step "unit tests" ctest --test-dir build -L unit -j "$(nproc)" --output-on-failure --timeout 300
step "integration tests" ctest --test-dir build -L integration --output-on-failure --timeout 900
if [[ "${CELLAR_SKIP_SANITIZERS:-0}" != 1 ]]; then
  step "asan+ubsan build" bash scripts/build.sh build-asan -DCELLAR_WERROR=ON -DCELLAR_SANITIZE=ON -DCELLAR_BUILD_BENCH=OFF
  step "asan+ubsan unit tests" env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -L unit -j "$(nproc)" --output-on-failure --timeout 600
  step "fuzz (ASan+UBSan)" bash scripts/fuzz.sh ${CELLAR_FUZZ_SECONDS:-}
fi

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
