#!/usr/bin/env bash
# Quick start: installs what cellar needs, builds it and runs `cellar serve`
# on the embedded default (127.0.0.1:8080, ./cellar-data). Extra arguments go
# to `cellar serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build -DCELLAR_BUILD_BENCH=OFF
exec ./build/src/cli/cellar serve "$@"
