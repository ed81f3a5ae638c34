#!/usr/bin/env bash
# it_gradle: the REAL Gradle client (Debian 12: Gradle 4.4.1 on OpenJDK 17,
# which runs offline here) against `cellar serve`, plus a few curl requests
# shaped exactly like Gradle 4.4.1's for the cases a build can't trigger
# deterministically.
#
# Real Gradle (fixtures/gradle: two Java subprojects, local cache off, remote
# HttpBuildCache at $CELLAR_URL/gradle/cache/ with push = true):
#   1. cold build: both compileJava tasks run and are pushed (cellar puts == 2);
#   2. a fresh copy of the project: both tasks come FROM-CACHE, cellar counts
#      2 gradle hits, nothing new is pushed, class files are byte-identical;
#   3. read-only token (Basic auth, token as password) with push = true: the
#      build must still SUCCEED on 4.4.1 (PUT answered 2xx and discarded) and
#      nothing is stored;
#   4. --max-entry-size smaller than the artifacts: build still succeeds
#      (4.x gets 2xx-and-discard, not 413) and nothing is stored.
# Replayed with curl (Gradle 4.4.1 headers): unknown key GET -> 404, PUT 200,
# GET 200 with the same bytes, oversize PUT -> 2xx discarded (and 413 for a
# Gradle 5+ X-Gradle-Version), read-only token PUT -> 2xx discarded, rw PUT 200.
# Usage: bash gradle_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

FIXTURE="$(cd "$(dirname "$0")/fixtures/gradle" && pwd)"
command -v gradle >/dev/null || fail "gradle is not installed (scripts/install-deps.sh --with-test-tools)"

# All Gradle state stays in the scratch dir; no daemon outlives the test.
# Not --offline: Gradle 4.4.1 turns the remote build cache off in offline mode
# ("Remote build cache is disabled when running with --offline."). The fixture
# declares no repositories and no external dependencies, so nothing is fetched.
GRADLE_HOME_DIR="$IT_TMP/gradle-home"
export HOME="$IT_TMP/home"
mkdir -p "$HOME"
unset GRADLE_OPTS GRADLE_USER_HOME CELLAR_GRADLE_USER CELLAR_GRADLE_PASSWORD
export JAVA_OPTS="-Duser.home=$HOME"

# run_gradle NAME: copies the fixture to $IT_TMP/NAME and builds :app:compileJava
# there (which also compiles :lib). Output in $IT_TMP/NAME.out.
run_gradle() {
  local name="$1" dir="$IT_TMP/$1"
  cp -R "$FIXTURE" "$dir"
  export CELLAR_GRADLE_CACHE_URL="$CELLAR_URL/${GRADLE_CACHE_PATH:-gradle/cache/}"
  if ! (cd "$dir" && gradle -g "$GRADLE_HOME_DIR" --no-daemon --build-cache \
          --console=plain -i :app:compileJava) >"$IT_TMP/$name.out" 2>&1; then
    tail -n 60 "$IT_TMP/$name.out" >&2
    fail "$name: gradle build failed"
  fi
  grep -q 'BUILD SUCCESSFUL' "$IT_TMP/$name.out" || fail "$name: no BUILD SUCCESSFUL"
  grep -q 'Using remote HTTP build cache' "$IT_TMP/$name.out" || fail "$name: remote build cache not in use"
  # A non-2xx PUT/GET shows up as "Could not store/load entry ..." and turns
  # the remote cache off for the rest of the build.
  if grep -E 'Could not (store|load)|build cache was disabled' "$IT_TMP/$name.out" >&2; then
    fail "$name: gradle reported a remote build cache error"
  fi
}
# task_outcome NAME TASK: the plain-console outcome word of TASK ("" = executed).
task_outcome() {
  local line
  line=$(grep -E "^(> Task )?$2( [A-Z-]+)?\$" "$IT_TMP/$1.out" | tail -n 1) ||
    fail "$1: task $2 not in gradle output"
  line=${line#> Task }
  echo "${line#$2}" | tr -d ' '
}
# When tokens are configured /metrics needs credentials too; lib.sh's metric()
# sends none, so this variant passes $METRICS_AUTH (user:secret) if set.
METRICS_AUTH=
auth_metric() {
  curl -s ${METRICS_AUTH:+-u "$METRICS_AUTH"} "$CELLAR_URL/metrics" |
    awk -v k="$1" '$1 == k { print $2; found=1 } END { if (!found) print 0 }'
}
expect_metric() { # expect_metric SERIES VALUE WHAT
  local got; got=$(auth_metric "$1")
  curl -s -f -o /dev/null ${METRICS_AUTH:+-u "$METRICS_AUTH"} "$CELLAR_URL/metrics" ||
    fail "$3: cannot read $CELLAR_URL/metrics"
  [[ "$got" == "$2" ]] || { curl -s ${METRICS_AUTH:+-u "$METRICS_AUTH"} "$CELLAR_URL/metrics" | grep gradle >&2 || true
    fail "$3: $1 = $got, expected $2"; }
}

PUTS='cellar_cache_puts_total{namespace="gradle"}'
HITS='cellar_cache_lookups_total{namespace="gradle",result="hit"}'
MISSES='cellar_cache_lookups_total{namespace="gradle",result="miss"}'
TASKS=(:lib:compileJava :app:compileJava)

# ---- 1 + 2: push, then hit from a fresh checkout ---------------------------
start_cellar "$IT_TMP/data-main"
run_gradle build1
for t in "${TASKS[@]}"; do
  o=$(task_outcome build1 "$t")
  [[ -z "$o" ]] || fail "build1: $t outcome '$o', expected it to run"
done
expect_metric "$PUTS" 2 build1
expect_metric "$MISSES" 2 build1
expect_metric "$HITS" 0 build1
pass "build1: 2 compileJava tasks ran and were pushed to cellar"

run_gradle build2
for t in "${TASKS[@]}"; do
  o=$(task_outcome build2 "$t")
  [[ "$o" == FROM-CACHE ]] || { tail -n 40 "$IT_TMP/build2.out" >&2; fail "build2: $t outcome '$o', expected FROM-CACHE"; }
done
expect_metric "$HITS" 2 build2
expect_metric "$PUTS" 2 build2
expect_metric "$MISSES" 2 build2
n=0
while read -r cls; do
  cmp -s "$IT_TMP/build1/$cls" "$IT_TMP/build2/$cls" || fail "build2: $cls differs from build1"
  n=$((n + 1))
done < <(cd "$IT_TMP/build1" && find . -path '*/build/classes/*' -name '*.class' | sort)
((n == 3)) || fail "expected 3 class files, found $n"
pass "build2: both tasks FROM-CACHE, 2 cellar hits, $n class files identical"
# Every request Gradle sent carried its version header and used the cache root.
# Gradle used the cache root for all 6 requests (2 GET + 2 PUT, then 2 GET).
gpaths=$(grep '"user_agent":"Gradle/4.4.1' "$CELLAR_LOG" | grep -o '"path":"[^"]*"' | cut -d'"' -f4 || true)
[[ $(grep -cE '^/gradle/cache/[0-9a-f]{32}$' <<<"$gpaths") -eq 6 && $(wc -l <<<"$gpaths") -eq 6 ]] ||
  fail "expected 6 Gradle requests under /gradle/cache/, got: $(tr '\n' ' ' <<<"$gpaths")"
stop_cellar

# ---- 3: read-only token, push = true: must not fail the 4.4.1 build ---------
start_cellar "$IT_TMP/data-ro" --token ro:readonly-secret:read --token rw:readwrite-secret:read,write
METRICS_AUTH=ro:readonly-secret
export CELLAR_GRADLE_USER=ro CELLAR_GRADLE_PASSWORD=readonly-secret
run_gradle build-ro
for t in "${TASKS[@]}"; do
  o=$(task_outcome build-ro "$t")
  [[ -z "$o" ]] || fail "build-ro: $t outcome '$o', expected it to run"
done
expect_metric "$PUTS" 0 build-ro
expect_metric "$MISSES" 2 build-ro
[[ $(grep -c '"method":"PUT".*"status":200.*"cache":"discarded"' "$CELLAR_LOG") -eq 2 ]] ||
  fail "build-ro: expected 2 PUTs answered 200 and discarded"
pass "build-ro: read-only push answered 2xx and discarded, build succeeded"
unset CELLAR_GRADLE_USER CELLAR_GRADLE_PASSWORD
METRICS_AUTH=
stop_cellar

# ---- 4: artifacts over --max-entry-size: 2xx-and-discard for Gradle 4.x -----
start_cellar "$IT_TMP/data-small" --max-entry-size 64
run_gradle build-small
expect_metric "$PUTS" 0 build-small
[[ $(grep -c '"method":"PUT".*"status":200.*"cache":"discarded"' "$CELLAR_LOG") -eq 2 ]] ||
  fail "build-small: expected 2 oversize PUTs answered 200 and discarded"
pass "build-small: oversize pushes answered 2xx and discarded, build succeeded"

# ---- replay: exact Gradle 4.4.1 requests with curl --------------------------
ACCEPT='Accept: application/vnd.gradle.build-cache-artifact.v1, */*'
CTYPE='Content-Type: application/vnd.gradle.build-cache-artifact.v1'
# gput URL FILE [version] [curl args...]: prints the status code.
gput() {
  local url="$1" file="$2" ver="${3:-4.4.1}"; shift 3 || shift $#
  curl -s -o /dev/null -w '%{http_code}' -X PUT -H "$CTYPE" -H "X-Gradle-Version: $ver" \
    -H 'Expect:' --data-binary "@$file" "$@" "$url" || true  # 000 when unanswered
}
gget() { # gget URL OUTFILE [curl args...]
  local url="$1" out="$2"; shift 2
  curl -s -o "$out" -w '%{http_code}' -H "$ACCEPT" -H 'X-Gradle-Version: 4.4.1' "$@" "$url" || true
}
head -c 32 /dev/urandom >"$IT_TMP/small.bin"
head -c 4096 /dev/urandom >"$IT_TMP/big.bin"
K1=0123456789abcdef0123456789abcdef
K2=fedcba9876543210fedcba9876543210
K3=00112233445566778899aabbccddeeff
C="$CELLAR_URL/gradle/cache"

s=$(gget "$C/$K1" /dev/null); [[ $s == 404 ]] || fail "GET unknown key: $s, expected 404"
s=$(gput "$C/$K1" "$IT_TMP/small.bin"); [[ $s == 200 ]] || fail "PUT small: $s, expected 200"
s=$(gget "$C/$K1" "$IT_TMP/got.bin"); [[ $s == 200 ]] || fail "GET stored key: $s, expected 200"
cmp -s "$IT_TMP/small.bin" "$IT_TMP/got.bin" || fail "GET returned different bytes"
s=$(gput "$C/$K2" "$IT_TMP/big.bin"); [[ $s == 2?? ]] || fail "oversize PUT (4.4.1): $s, expected 2xx"
s=$(gget "$C/$K2" /dev/null); [[ $s == 404 ]] || fail "oversize PUT was stored (GET $s)"
s=$(gput "$C/$K3" "$IT_TMP/big.bin" 8.5); [[ $s == 413 ]] || fail "oversize PUT (Gradle 8.5): $s, expected 413"
expect_metric "$PUTS" 1 replay
pass "replay: 404 miss, PUT/GET round trip, oversize 2xx-discard on 4.4.1 and 413 on 8.x"
stop_cellar

start_cellar "$IT_TMP/data-replay-auth" --token ro:readonly-secret:read --token rw:readwrite-secret:read,write
METRICS_AUTH=ro:readonly-secret
C="$CELLAR_URL/gradle/cache"
s=$(gput "$C/$K1" "$IT_TMP/small.bin" 4.4.1 -u ro:readonly-secret); [[ $s == 2?? ]] || fail "read-only PUT: $s, expected 2xx"
s=$(gget "$C/$K1" /dev/null -u ro:readonly-secret); [[ $s == 404 ]] || fail "read-only PUT was stored (GET $s)"
s=$(gput "$C/$K1" "$IT_TMP/small.bin" 4.4.1 -u rw:readwrite-secret); [[ $s == 200 ]] || fail "read-write PUT: $s, expected 200"
s=$(gget "$C/$K1" "$IT_TMP/got2.bin" -u ro:readonly-secret); [[ $s == 200 ]] || fail "GET after rw PUT: $s, expected 200"
cmp -s "$IT_TMP/small.bin" "$IT_TMP/got2.bin" || fail "GET after rw PUT returned different bytes"
expect_metric "$PUTS" 1 replay-auth
pass "replay: read-only token PUT 2xx and discarded, read-write token PUT stored"
# Issue 13, defect 5: a PUT without credentials while tokens are configured
# threw std::bad_variant_access and the connection closed unanswered (000).
s=$(gput "$C/$K2" "$IT_TMP/small.bin" 4.4.1); [[ $s == 401 ]] || fail "PUT without credentials: $s, expected 401"
s=$(gput "$C/$K2" "$IT_TMP/small.bin" 8.5); [[ $s == 401 ]] || fail "PUT without credentials (Gradle 8.5): $s, expected 401"
s=$(gget "$C/$K2" /dev/null); [[ $s == 401 ]] || fail "GET without credentials: $s, expected 401"
s=$(gput "$C/$K2" "$IT_TMP/small.bin" 4.4.1 -u rw:wrong-secret-1); [[ $s == 401 ]] || fail "PUT with a wrong token: $s, expected 401"
s=$(gget "$C/$K2" /dev/null -u rw:readwrite-secret); [[ $s == 404 ]] || fail "refused PUTs stored something (GET $s)"
pass "replay: PUT without or with wrong credentials -> 401, nothing stored"
stop_cellar

# ---- 5: teams: /gradle/<team>/cache/ is a namespace of its own -------------
# (issue 13, defect 11) Tokens limited to gradle/team-a and gradle/team-b.
start_cellar "$IT_TMP/data-teams" --token a:team-a-secret:read,write:gradle/team-a \
  --token b:team-b-secret:read,write:gradle/team-b --token admin:admin-secret:admin
METRICS_AUTH=admin:admin-secret
export GRADLE_CACHE_PATH=gradle/team-a/cache/ CELLAR_GRADLE_USER=a CELLAR_GRADLE_PASSWORD=team-a-secret
run_gradle team-a-1
for t in "${TASKS[@]}"; do [[ -z "$(task_outcome team-a-1 "$t")" ]] || fail "team-a-1: $t did not run"; done
expect_metric "$PUTS" 2 team-a-1
run_gradle team-a-2
for t in "${TASKS[@]}"; do
  [[ "$(task_outcome team-a-2 "$t")" == FROM-CACHE ]] || fail "team-a-2: $t not FROM-CACHE"
done
expect_metric "$HITS" 2 team-a-2
export GRADLE_CACHE_PATH=gradle/team-b/cache/ CELLAR_GRADLE_USER=b CELLAR_GRADLE_PASSWORD=team-b-secret
run_gradle team-b-1
for t in "${TASKS[@]}"; do [[ -z "$(task_outcome team-b-1 "$t")" ]] || fail "team-b-1: $t came from team a's cache"; done
expect_metric "$PUTS" 4 team-b-1
expect_metric "$HITS" 2 team-b-1
tpaths=$(grep '"user_agent":"Gradle/4.4.1' "$CELLAR_LOG" | grep -o '"path":"[^"]*"' | cut -d'"' -f4 || true)
[[ $(grep -cE '^/gradle/team-(a|b)/cache/[0-9a-f]{32}$' <<<"$tpaths") -eq $(wc -l <<<"$tpaths") ]] ||
  fail "teams: Gradle requests outside /gradle/<team>/cache/: $(tr '\n' ' ' <<<"$tpaths")"
unset GRADLE_CACHE_PATH CELLAR_GRADLE_USER CELLAR_GRADLE_PASSWORD
pass "teams: team a pushed and hit under /gradle/team-a/cache/, team b saw none of it"

# Same key, two teams; another team's token is refused (403), not discarded.
C="$CELLAR_URL/gradle/cache"
T="$CELLAR_URL/gradle/team-a/cache"
U2="$CELLAR_URL/gradle/team-b/cache"
printf 'value of team a' >"$IT_TMP/va.bin"
printf 'value of team b' >"$IT_TMP/vb.bin"
s=$(gput "$T/$K3" "$IT_TMP/va.bin" 4.4.1 -u a:team-a-secret); [[ $s == 200 ]] || fail "team a PUT: $s"
s=$(gput "$U2/$K3" "$IT_TMP/vb.bin" 4.4.1 -u b:team-b-secret); [[ $s == 200 ]] || fail "team b PUT: $s"
s=$(gget "$T/$K3" "$IT_TMP/got-a.bin" -u a:team-a-secret); [[ $s == 200 ]] || fail "team a GET: $s"
s=$(gget "$U2/$K3" "$IT_TMP/got-b.bin" -u b:team-b-secret); [[ $s == 200 ]] || fail "team b GET: $s"
cmp -s "$IT_TMP/va.bin" "$IT_TMP/got-a.bin" && cmp -s "$IT_TMP/vb.bin" "$IT_TMP/got-b.bin" || fail "team values mixed up"
s=$(gget "$U2/$K3" /dev/null -u a:team-a-secret); [[ $s == 403 ]] || fail "team a's token GET in team b: $s, expected 403"
s=$(gput "$U2/$K3" "$IT_TMP/va.bin" 4.4.1 -u a:team-a-secret); [[ $s == 403 ]] || fail "team a's token PUT in team b: $s, expected 403"
s=$(gget "$C/$K3" /dev/null -u a:team-a-secret); [[ $s == 403 ]] || fail "team a's token GET in the default namespace: $s, expected 403"
s=$(gget "$U2/$K3" "$IT_TMP/got-b.bin" -u b:team-b-secret); [[ $s == 200 ]] && cmp -s "$IT_TMP/vb.bin" "$IT_TMP/got-b.bin" ||
  fail "team b's value changed by a refused PUT"
pass "replay: one key, two team values; team a's token gets 403 in team b and in the default namespace"
stop_cellar

echo "gradle: all checks passed"
