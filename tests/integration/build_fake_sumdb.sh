#!/usr/bin/env bash
# Builds tests/integration/fake_sumdb (a fake Go checksum database) offline,
# in GOPATH mode, against Debian's golang-golang-x-mod-dev sources, and prints
# the path of the binary: OUTDIR/fake_sumdb. The Go build cache lives in
# OUTDIR/gocache, so a rebuild into the same OUTDIR is nearly free.
# Usage: bash build_fake_sumdb.sh OUTDIR
set -euo pipefail

OUTDIR="${1:?usage: $0 OUTDIR}"
SRC_DIR="$(cd "$(dirname "$0")/fake_sumdb" && pwd)"
GOCODE=/usr/share/gocode

command -v go >/dev/null || { echo "build_fake_sumdb: go is not installed (apt-get install golang-go)" >&2; exit 1; }
if [[ ! -d "$GOCODE/src/golang.org/x/mod/sumdb" ]]; then
  echo "build_fake_sumdb: $GOCODE/src/golang.org/x/mod is missing (apt-get install golang-golang-x-mod-dev)" >&2
  exit 1
fi

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
# Only the environment below steers this build: no modules, no network, no
# user go env file, no toolchain switching.
(
  cd "$SRC_DIR"
  env -u GOFLAGS -u GOROOT -u GOEXPERIMENT -u GOWORK \
    GO111MODULE=off GOPATH="$GOCODE" GOCACHE="$OUTDIR/gocache" GOENV=off \
    GOTOOLCHAIN=local GOPROXY=off \
    go build -o "$OUTDIR/fake_sumdb" main.go
) >&2 || { echo "build_fake_sumdb: go build failed" >&2; exit 1; }
echo "$OUTDIR/fake_sumdb"
