#!/usr/bin/env bash
# Builds cellar and its Debian package. Usage: scripts/package.sh [BUILD_DIR]
# Prints the path of cellar_<version>_<arch>.deb (in BUILD_DIR/package/).
# Install it with `dpkg -i` (or `apt install ./cellar_*.deb` for its dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh "$dir" >/dev/null
(cd "$dir" && cpack -G DEB -B "$PWD/package" >/dev/null)
ls "$PWD/$dir"/package/cellar_*.deb
