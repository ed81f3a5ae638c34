#!/usr/bin/env bash
# Installs everything cellar needs to build, test and benchmark on Debian 12, as root.
# Idempotent: packages already present are skipped quickly by apt-get.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libsqlite3-dev libzstd-dev libssl-dev libyaml-cpp-dev libzip-dev
  nlohmann-json3-dev libcurl4-openssl-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  libarchive-dev libhiredis-dev
)
# Real clients and peers used by the integration tests and benchmarks; clang
# and its runtimes for the fuzz targets (scripts/fuzz.sh); Ceph's monitor,
# OSD and S3 gateway for the S3 tests (scripts/s3-rgw.sh); Prometheus' promtool
# for the alert rules in deploy/; Chromium for the dashboard's browser test.
TEST_PACKAGES=(curl python3 zstd gradle bazel-bootstrap golang-go golang-golang-x-mod-dev zip nginx-light wrk procps psmisc openssl iproute2
  clang libclang-rt-14-dev
  ceph-mon ceph-osd radosgw ceph-common uuid-runtime redis-server
  prometheus chromium)

want=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--with-test-tools" ]]; then want+=("${TEST_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Only its promtool is wanted: the package's own server stays off.
  if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi
echo "install-deps: all packages present"
# Node.js clients (pnpm, yarn) for the npm tests, pinned, into tools/node;
# installs Debian's nodejs and npm first when node is missing.
if [[ "${1:-}" == "--with-test-tools" ]]; then
  bash "$(dirname "$0")/install-node-clients.sh" >/dev/null || { echo "install-deps: node clients failed" >&2; exit 1; }
fi
