#!/usr/bin/env bash
# it_ccache: the real ccache client (Debian 12: 4.7.5) against `cellar serve`.
#
# For each remote layout (subdirs, flat, bazel) a fresh cellar is started and
# the C project in fixtures/ccache is compiled twice, each time with a new,
# empty CCACHE_DIR, so the second build can only be served by cellar. Asserts:
#   - build 1: every compile is a miss and its results are uploaded (PUT 2xx,
#     no remote errors or timeouts), and cellar counted exactly those puts;
#   - build 2: every compile is a remote hit, nothing is compiled, cellar's
#     hit counter rose by the number of remote reads ccache reports;
#   - build 2's object files are byte-identical to build 1's;
#   - the URLs ccache used have the shape of the configured layout
#     (subdirs: xx/<31>, flat: <33>, bazel: ac/<64 hex>);
#   - a changed compile (negative control) is a miss, not a false hit.
# Usage: bash ccache_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

FIXTURE="$(cd "$(dirname "$0")/fixtures/ccache" && pwd)"
command -v ccache >/dev/null || fail "ccache is not installed (scripts/install-deps.sh)"
CC_BIN="$(command -v gcc || command -v cc || true)"
[[ -n "$CC_BIN" ]] || fail "no C compiler found"

# Isolate from the caller's ccache settings: no CCACHE_* variable may leak in,
# and the config file is an empty one inside the scratch dir.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^CCACHE_' || true)
export CCACHE_CONFIGPATH="$IT_TMP/ccache.conf"
: >"$CCACHE_CONFIGPATH"
export CCACHE_LOGFILE="$IT_TMP/ccache.log"

SRC="$IT_TMP/src"
cp -R "$FIXTURE" "$SRC"
SOURCES=()
for f in "$SRC"/*.c; do SOURCES+=("$(basename "$f" .c)"); done
N=${#SOURCES[@]}
((N >= 3)) || fail "fixture has only $N C files"

# stat NAME: value of one counter from `ccache --print-stats` for $CCACHE_DIR.
stat() {
  ccache --print-stats | awk -F'\t' -v k="$1" '$1 == k { print $2; found=1 } END { if (!found) print "missing" }'
}
expect_stat() { # expect_stat NAME OP VALUE (OP: -eq -ge ...)
  local got; got=$(stat "$1")
  [[ "$got" != missing ]] || fail "$LAYOUT: ccache --print-stats has no counter $1"
  [ "$got" "$2" "$3" ] || { ccache --print-stats >&2; tail -n 40 "$CCACHE_LOGFILE" >&2 || true
    fail "$LAYOUT build $BUILD: $1 = $got, expected $2 $3"; }
}

# build OUTDIR: compiles every fixture source through ccache into OUTDIR with
# a brand-new local cache directory, then links and runs the program.
build() {
  local out="$1" s
  export CCACHE_DIR="$IT_TMP/ccache-dir-$LAYOUT-$BUILD"
  [[ ! -e "$CCACHE_DIR" ]] || fail "ccache dir $CCACHE_DIR is not fresh"
  mkdir -p "$out"
  (cd "$SRC" && for s in "${SOURCES[@]}"; do
     ccache "$CC_BIN" -O2 -Wall -c "$s.c" -o "$out/$s.o" || exit 1
   done) || fail "$LAYOUT build $BUILD: compile failed"
  "$CC_BIN" -o "$out/calc" "$out"/*.o || fail "$LAYOUT build $BUILD: link failed"
  [[ "$("$out/calc")" == "5 20 "* ]] || fail "$LAYOUT build $BUILD: program output wrong"
}

run_layout() {
  LAYOUT="$1"
  local path_re="$2"
  start_cellar "$IT_TMP/data-$LAYOUT"
  export CCACHE_REMOTE_STORAGE="$CELLAR_URL/ccache|layout=$LAYOUT"

  # ---- build 1: cold local cache, cold cellar --------------------------
  BUILD=1
  build "$IT_TMP/out-$LAYOUT-1"
  expect_stat cache_miss -eq "$N"
  expect_stat direct_cache_hit -eq 0
  expect_stat preprocessed_cache_hit -eq 0
  expect_stat remote_storage_hit -eq 0
  expect_stat remote_storage_miss -eq "$N"
  expect_stat remote_storage_error -eq 0
  expect_stat remote_storage_timeout -eq 0
  # one result and one manifest per compile
  expect_stat remote_storage_write -ge $((2 * N))
  local writes1 puts1 hits1 misses1
  writes1=$(stat remote_storage_write)
  puts1=$(metric 'cellar_cache_puts_total{namespace="ccache"}')
  hits1=$(metric 'cellar_cache_lookups_total{namespace="ccache",result="hit"}')
  misses1=$(metric 'cellar_cache_lookups_total{namespace="ccache",result="miss"}')
  [[ "$puts1" -eq "$writes1" ]] || fail "$LAYOUT: cellar counted $puts1 ccache puts, ccache wrote $writes1"
  [[ "$hits1" -eq 0 ]] || fail "$LAYOUT: cellar counted $hits1 ccache hits on a cold cache"
  [[ "$misses1" -ge "$N" ]] || fail "$LAYOUT: cellar counted only $misses1 ccache misses in build 1"
  pass "$LAYOUT: build 1 missed $N times and uploaded $writes1 entries"

  # ---- build 2: new empty local cache, so hits can only come from cellar --
  BUILD=2
  build "$IT_TMP/out-$LAYOUT-2"
  expect_stat cache_miss -eq 0
  expect_stat direct_cache_hit -eq "$N"
  expect_stat local_storage_hit -eq 0
  expect_stat remote_storage_hit -eq "$N"
  expect_stat remote_storage_miss -eq 0
  expect_stat remote_storage_error -eq 0
  expect_stat remote_storage_timeout -eq 0
  expect_stat remote_storage_read_hit -ge $((2 * N))
  local reads2 hits2 puts2
  reads2=$(stat remote_storage_read_hit)
  hits2=$(metric 'cellar_cache_lookups_total{namespace="ccache",result="hit"}')
  puts2=$(metric 'cellar_cache_puts_total{namespace="ccache"}')
  [[ $((hits2 - hits1)) -eq "$reads2" ]] ||
    fail "$LAYOUT: cellar counted $((hits2 - hits1)) ccache hits in build 2, ccache read $reads2"
  [[ "$puts2" -eq "$puts1" ]] || fail "$LAYOUT: build 2 uploaded $((puts2 - puts1)) entries, expected none"
  pass "$LAYOUT: build 2 served $N compiles from cellar ($reads2 remote reads)"

  local s
  for s in "${SOURCES[@]}"; do
    cmp -s "$IT_TMP/out-$LAYOUT-1/$s.o" "$IT_TMP/out-$LAYOUT-2/$s.o" ||
      fail "$LAYOUT: $s.o from cellar differs from the compiled one"
  done
  pass "$LAYOUT: $N object files byte-identical"

  # ---- URL shape: every ccache request used the configured layout --------
  local paths bad
  paths=$(grep '"type":"access"' "$CELLAR_LOG" | grep '"user_agent":"ccache/' |
          grep -o '"path":"[^"]*"' | cut -d'"' -f4 || true)
  [[ $(wc -l <<<"$paths") -ge $((4 * N)) ]] || fail "$LAYOUT: too few ccache requests in the access log"
  bad=$(grep -Ev "^$path_re\$" <<<"$paths" || true)
  [[ -z "$bad" ]] || fail "$LAYOUT: unexpected request paths: $(head -3 <<<"$bad" | tr '\n' ' ')"
  pass "$LAYOUT: all $(wc -l <<<"$paths") requests match $path_re"

  stop_cellar
}

# ccache keys: 4 hex digits + 29 base32hex digits (0-9a-v), 33 chars.
run_layout subdirs '/ccache/[0-9a-v]{2}/[0-9a-v]{31}'
run_layout flat '/ccache/[0-9a-v]{33}'
run_layout bazel '/ccache/ac/[0-9a-f]{64}'

# ---- negative control: a different compile must not be a (false) hit ------
LAYOUT=control BUILD=3
start_cellar "$IT_TMP/data-subdirs"   # reuses the populated subdirs store
export CCACHE_REMOTE_STORAGE="$CELLAR_URL/ccache|layout=subdirs"
export CCACHE_DIR="$IT_TMP/ccache-dir-control"
(cd "$SRC" && ccache "$CC_BIN" -O2 -Wall -c "${SOURCES[0]}.c" -o "$IT_TMP/known.o" &&
   ccache "$CC_BIN" -O0 -Wall -c "${SOURCES[0]}.c" -o "$IT_TMP/changed.o") ||
  fail "control compile failed"
expect_stat remote_storage_hit -eq 1   # the unchanged compile still hits after a restart
expect_stat remote_storage_miss -eq 1
expect_stat cache_miss -eq 1
stop_cellar
pass "control: restarted cellar still serves hits, a changed compile misses"

# ---- teams: a URL prefix is a namespace of its own (issue 13, defect 11) ---
# /ccache/<team>/... is stored in ccache/<team>; a token limited to it reaches
# nothing else, and the same compile in two teams is two entries.
TEAM_A=team-a-secret-0123
TEAM_B=team-b-secret-0123
start_cellar "$IT_TMP/data-teams" --token "a:$TEAM_A:read,write:ccache/team-a" \
  --token "b:$TEAM_B:read,write:ccache/team-b" --token "all:all-secret-0123:read,write"
LAYOUT=team-a BUILD=1
export CCACHE_REMOTE_STORAGE="$CELLAR_URL/ccache/team-a|layout=subdirs|bearer-token=$TEAM_A"
build "$IT_TMP/out-team-a-1"
expect_stat remote_storage_miss -eq "$N"
expect_stat remote_storage_error -eq 0
expect_stat remote_storage_write -ge $((2 * N))
BUILD=2
build "$IT_TMP/out-team-a-2"
expect_stat remote_storage_hit -eq "$N"
expect_stat remote_storage_error -eq 0
pass "team-a: build 1 stored under /ccache/team-a, build 2 served all $N compiles from there"
LAYOUT=team-b BUILD=1
export CCACHE_REMOTE_STORAGE="$CELLAR_URL/ccache/team-b|layout=subdirs|bearer-token=$TEAM_B"
build "$IT_TMP/out-team-b-1"
expect_stat remote_storage_hit -eq 0
expect_stat remote_storage_miss -eq "$N"
expect_stat remote_storage_error -eq 0
pass "team-b: none of team a's entries visible, its own stored"
LAYOUT=cross BUILD=1
export CCACHE_REMOTE_STORAGE="$CELLAR_URL/ccache/team-b|layout=subdirs|bearer-token=$TEAM_A"
build "$IT_TMP/out-cross-1"
expect_stat remote_storage_hit -eq 0
cross=$(grep '"type":"access"' "$CELLAR_LOG" | grep '"path":"/ccache/team-b/' | grep '"principal":"a"' || true)
[[ -n "$cross" ]] || fail "cross: no request with team a's token on team b's URL in the access log"
not403=$(grep -v '"status":403' <<<"$cross" || true)
[[ -z "$not403" ]] || fail "cross: team a's token was not refused: $(head -1 <<<"$not403")"
pass "cross: team a's token on team b's URL gets 403 on all $(wc -l <<<"$cross") requests, ccache compiles locally"

# The same key holds one value per team; the default namespace is separate.
K="/ab/$(printf 'c%.0s' {1..31})"
C="$CELLAR_URL/ccache"
cc() { curl -s -o "$IT_TMP/body" -w '%{http_code}' "$@" || true; }
[[ $(cc -H "Authorization: Bearer $TEAM_A" -X PUT --data-binary 'value of a' "$C/team-a$K") == 200 ]] || fail "team a PUT"
[[ $(cc -H "Authorization: Bearer $TEAM_B" -X PUT --data-binary 'value of b' "$C/team-b$K") == 200 ]] || fail "team b PUT"
[[ $(cc -H "Authorization: Bearer $TEAM_A" "$C/team-a$K") == 200 && $(cat "$IT_TMP/body") == 'value of a' ]] || fail "team a GET"
[[ $(cc -H "Authorization: Bearer $TEAM_B" "$C/team-b$K") == 200 && $(cat "$IT_TMP/body") == 'value of b' ]] || fail "team b GET"
[[ $(cc -H "Authorization: Bearer all-secret-0123" "$C$K") == 404 ]] || fail "the default namespace sees a team's key"
for req in "GET" "PUT --data-binary x" "DELETE"; do
  # shellcheck disable=SC2086
  code=$(cc -H "Authorization: Bearer $TEAM_A" -X $req "$C/team-b$K")
  [[ $code == 403 ]] || fail "team a's token, $req in team b: $code, expected 403"
  code=$(cc -H "Authorization: Bearer $TEAM_A" -X $req "$C$K")
  [[ $code == 403 ]] || fail "team a's token, $req in the default namespace: $code, expected 403"
done
[[ $(cc -H "Authorization: Bearer $TEAM_B" "$C/team-b$K") == 200 && $(cat "$IT_TMP/body") == 'value of b' ]] ||
  fail "team b's value changed by refused requests"
[[ $(cc -H "Authorization: Bearer all-secret-0123" "$C/team-a$K") == 200 ]] || fail "an unlimited token reads team a"
stop_cellar
pass "teams: one key, two values; team a's token gets 403 in team b and in the default namespace"

echo "ccache: all checks passed"
