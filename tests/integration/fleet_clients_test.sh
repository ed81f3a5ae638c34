#!/usr/bin/env bash
# it_fleet_clients: real package managers on a fleet. Three
# `cellar serve --storage s3 --redis-url` nodes (A, B, C) with empty data
# dirs on one Ceph RGW bucket and one redis-server, a fake npm registry, a
# fake Go module proxy and a fake checksum database:
#   1. npm: `npm install` of a scoped package and its dependencies through A
#      (the registry is asked for packuments and tarballs); the same install
#      through B and then C, each with an empty npm cache, asks the registry
#      nothing: packuments come from A's fresh copies in the bucket, tarballs
#      from A's entries, and node_modules are identical;
#   2. go: `go build` of the generated consumer without go.sum (so go checks
#      every module against the checksum database through cellar) through A,
#      then through B and C with empty module caches: neither the module
#      proxy nor the checksum database is asked anything for B and C, and the
#      programs print what they should.
# Usage: bash fleet_clients_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/s3_lib.sh"
source "$(dirname "$0")/redis_lib.sh"

IT_DIR="$(cd "$(dirname "$0")" && pwd)"
source "$IT_DIR/go_lib.sh"
source "$IT_DIR/npm_lib.sh"
for tool in npm go python3; do command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"; done
go_isolated_env  # also clears the proxy variables and sets HOME
unset npm_config_registry

s3_setup fleet-clients
start_redis

# --- upstreams -------------------------------------------------------------------
start_fake_npm_registry

GEN="$IT_TMP/gen"
python3 "$IT_DIR/make_go_modules.py" "$GEN" || fail "make_go_modules.py failed"
start_fake_goproxy "$GEN/proxy" goproxy
GO_LOG="$FAKE_LOG"
# -preload: every module's record is in the tree from the start, so every
# lookup names one tree size and every build needs the same tiles. (A tree
# that grows as modules are looked up makes concurrent go commands verify
# against different sizes, and a build may need a partial tile no earlier
# build asked for: one honest upstream request.)
start_fake_sumdb "$GEN/proxy" sum.example.test -preload
export GOSUMDB="$SUMDB_VKEY"  # name+key, no URL: go asks the proxy (cellar) for the database

# --- three nodes -----------------------------------------------------------------
URLS=()
for n in a b c; do
  start_cellar "$IT_TMP/$n" "${S3_ARGS[@]}" --redis-url "$REDIS_URL" --npm-upstream "$NPM_URL" \
    --go-upstream "$FAKE_URL" --go-sumdb "sum.example.test=$SUMDB_URL"
  URLS+=("$CELLAR_URL")
done
lines() { wc -l <"$1" | tr -d ' '; }

# --- 1. npm ------------------------------------------------------------------------
npm_install() {  # npm_install NODE_URL DIR: a fresh project installing through NODE_URL
  mkdir -p "$2"
  echo '{"name":"fleet-app","version":"1.0.0","private":true}' >"$2/package.json"
  (cd "$2" && npm --registry "$1/npm/" --cache "$2/.npm-cache" --no-audit --no-fund --update-notifier=false \
    --loglevel=error install @acme/widget@2.1.0 left-pad-lite) >"$2.out" 2>&1 ||
    { cat "$2.out" >&2; fail "npm install through $1 failed"; }
}
# (node_modules/.package-lock.json names the registry each install used: left out.)
tree_of() { (cd "$1/node_modules" && find . -type f ! -name .package-lock.json -print0 | sort -z | xargs -0 sha256sum); }
npm_install "${URLS[0]}" "$IT_TMP/npm-a"
(( $(lines "$NPM_LOG") > 0 )) || fail "npm through A asked the registry nothing"
for i in 1 2; do
  before=$(lines "$NPM_LOG")
  npm_install "${URLS[$i]}" "$IT_TMP/npm-$i"
  [[ $(lines "$NPM_LOG") -eq $before ]] ||
    fail "npm install through node $i asked the registry: $(tail -n "+$((before + 1))" "$NPM_LOG" | head -5)"
  [[ "$(tree_of "$IT_TMP/npm-$i")" == "$(tree_of "$IT_TMP/npm-a")" ]] || fail "node $i: node_modules differ from A's"
done
pass "npm: an install filled through A is installed through B and C with zero registry requests, identical"

# --- 2. go ------------------------------------------------------------------------
go_build() {  # go_build NODE_URL NAME: the consumer without go.sum, its own module cache
  local dir="$IT_TMP/$2"
  cp -R "$GEN/consumer" "$dir"
  rm -f "$dir/go.sum"
  (cd "$dir" && GOPROXY="$1/go" GOPATH="$IT_TMP/gopath-$2" GOMODCACHE="$IT_TMP/gopath-$2/pkg/mod" go build -o app .) \
    >"$IT_TMP/$2.out" 2>&1 || { cat "$IT_TMP/$2.out" >&2; fail "go build through $1 failed"; }
  [[ "$("$dir/app")" == "$(cat "$GEN/expected_output.txt")" ]] || fail "$2: the program prints something else"
  [[ -s "$dir/go.sum" ]] || fail "$2: go wrote no go.sum"
}
go_build "${URLS[0]}" go-a
(( $(lines "$GO_LOG") > 0 && $(lines "$SUMDB_LOG") > 0 )) || fail "go through A asked neither the proxy nor the database"
for i in 1 2; do
  proxy_before=$(lines "$GO_LOG")
  sumdb_before=$(lines "$SUMDB_LOG")
  go_build "${URLS[$i]}" "go-$i"
  [[ $(lines "$GO_LOG") -eq $proxy_before ]] ||
    fail "go build through node $i asked the module proxy: $(tail -n "+$((proxy_before + 1))" "$GO_LOG" | head -5)"
  [[ $(lines "$SUMDB_LOG") -eq $sumdb_before ]] ||
    fail "go build through node $i asked the checksum database: $(tail -n "+$((sumdb_before + 1))" "$SUMDB_LOG" | head -5)"
  cmp -s "$IT_TMP/go-$i/go.sum" "$IT_TMP/go-a/go.sum" || fail "node $i: go.sum differs from A's"
done
pass "go: a build (modules and checksum database) filled through A builds through B and C with zero upstream requests"

echo "all fleet client checks passed"
