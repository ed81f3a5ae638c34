#!/usr/bin/env bash
# Configures and builds cellar. Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# ccache keeps rebuilds fast; CELLAR_WERROR=ON in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
shift || true
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/cellar-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
# Paths relative to the checkout, so a fresh clone in another folder (CI)
# still hits the cache filled by earlier builds.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
if [[ ! -f "$dir/build.ninja" ]]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
fi
cmake --build "$dir" -j "$(nproc)"
