#!/usr/bin/env bash
# it_bazel_client: the REAL Bazel client (Debian 12's bazel-bootstrap 4.2.3)
# against `cellar serve` through its HTTP remote cache (--remote_cache=http://).
#
# The workspace in fixtures/bazel holds genrules only: cc_* rules make Bazel
# 4.2.3 download @rules_cc, which is impossible offline, while genrules need no
# external repository. Each build uses a fresh copy of the workspace and its
# own --output_base under $IT_TMP (the equivalent of `clean --expunge`), runs
# in --batch mode (no server outlives the test) with --spawn_strategy=local
# (no dependency on user namespaces for linux-sandbox), and keeps Debian's
# /etc/bazel/bazelrc (it sets the install base) but not ~/.bazelrc.
#
#   1. anonymous cellar: build 1 executes the 4 genrules locally and uploads
#      AC and CAS entries; build 2 (new output base) reports
#      "4 remote cache hit", cellar counts the hits, and outputs are identical;
#   2. cellar with --token ci:<secret>:read,write and the URL userinfo form
#      --remote_cache=http://ci:<secret>@127.0.0.1:PORT/bazel/<instance>.
#      The secret is chosen so base64 and base64url differ ("+" vs "-"), and
#      Bazel sends base64url, so this fails if cellar only decodes base64;
#   3. a few curl requests shaped like Bazel's (Accept: */*, Content-Length):
#      unknown key 404, CAS digest mismatch 400 and not stored, Basic auth in
#      both alphabets, wrong or missing credentials 401;
#   4. tokens limited to bazel/team-a and bazel/team-b: each team's builds use
#      its own instance (/bazel/team-a), team b sees none of team a's results,
#      and team a's token is refused (403) everywhere else.
# Usage: bash bazel_client_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

FIXTURE="$(cd "$(dirname "$0")/fixtures/bazel" && pwd)"
command -v bazel >/dev/null || fail "bazel is not installed (scripts/install-deps.sh --with-test-tools)"

export HOME="$IT_TMP/home"
mkdir -p "$HOME"
BAZEL_ROOT="$IT_TMP/bazel-root"
NGEN=4   # genrules in fixtures/bazel/BUILD
OUTPUTS=(greeting.txt shout.txt numbers.txt bundle.txt bundle.sum)
SECRET='s3cret~~~bazel'   # base64("ci:"+SECRET) has "+", base64url has "-"
INSTANCE=ci-instance

# run_bazel NAME REMOTE_CACHE_URL: builds //:bundle in a fresh workspace copy
# $IT_TMP/ws-NAME with output base $BAZEL_ROOT/NAME. Log: $IT_TMP/NAME.out.
run_bazel() {
  local name="$1" url="$2" ws="$IT_TMP/ws-$1"
  cp -R "$FIXTURE" "$ws"
  if ! (cd "$ws" && bazel --nohome_rc --batch --output_user_root="$BAZEL_ROOT" \
          --output_base="$BAZEL_ROOT/$name" build --spawn_strategy=local \
          --remote_cache="$url" --remote_timeout=30 --color=no --curses=no //:bundle) \
          >"$IT_TMP/$name.out" 2>&1; then
    grep -v 'linux-sandbox' "$IT_TMP/$name.out" | tail -n 40 >&2
    fail "$name: bazel build failed"
  fi
  grep -q "Target //:bundle up-to-date" "$IT_TMP/$name.out" || fail "$name: build did not complete"
  # A failing remote cache is only a warning in Bazel; treat it as an error.
  if grep -iE 'WARNING: (Reading from|Writing to) Remote Cache|remote cache.*(error|fail)' \
       "$IT_TMP/$name.out" >&2; then
    fail "$name: bazel reported a remote cache problem"
  fi
  for o in "${OUTPUTS[@]}"; do
    [[ -s "$ws/bazel-bin/$o" ]] || fail "$name: output $o missing"
  done
}
# summary_count NAME KIND: N from "INFO: M processes: N KIND, ..." (0 if absent).
summary_count() {
  local line
  line=$(grep -E '^INFO: [0-9]+ process(es)?' "$IT_TMP/$1.out" | tail -n 1) ||
    fail "$1: no process summary in bazel output"
  grep -oE "[0-9]+ $2" <<<"$line" | grep -oE '^[0-9]+' || echo 0
}
# auth-aware metric reader (lib.sh's metric() sends no credentials).
METRICS_AUTH=
m() {
  curl -s ${METRICS_AUTH:+-u "$METRICS_AUTH"} "$CELLAR_URL/metrics" |
    awk -v k="$1" '$1 == k { print $2; found=1 } END { if (!found) print 0 }'
}
HITS='cellar_cache_lookups_total{namespace="bazel",result="hit"}'
PUTS='cellar_cache_puts_total{namespace="bazel"}'
GET200='cellar_http_requests_total{route="bazel",method="GET",status="200"}'
GET404='cellar_http_requests_total{route="bazel",method="GET",status="404"}'
PUT200='cellar_http_requests_total{route="bazel",method="PUT",status="200"}'
non200() { # requests on the bazel route with a status other than 200/404
  curl -s ${METRICS_AUTH:+-u "$METRICS_AUTH"} "$CELLAR_URL/metrics" |
    awk '$1 ~ /^cellar_http_requests_total\{route="bazel",/ && $1 !~ /status="(200|404)"/ { n += $2 } END { print n + 0 }'
}

# cold_then_warm TAG URL_PREFIX: build 1 populates cellar, build 2 hits it.
cold_then_warm() {
  local tag="$1" url="$2" c1 h2 o

  run_bazel "$tag-1" "$url"
  c1=$(summary_count "$tag-1" 'remote cache hit')
  [[ "$c1" -eq 0 ]] || fail "$tag-1: $c1 remote cache hits on an empty cellar"
  [[ $(summary_count "$tag-1" local) -eq $NGEN ]] ||
    fail "$tag-1: expected $NGEN locally executed processes: $(grep 'processes:' "$IT_TMP/$tag-1.out")"
  local puts1 hits1 get200_1 put200_1 get404_1
  puts1=$(m "$PUTS"); hits1=$(m "$HITS"); get200_1=$(m "$GET200")
  put200_1=$(m "$PUT200"); get404_1=$(m "$GET404")
  [[ "$get404_1" -eq $NGEN ]] || fail "$tag-1: expected $NGEN AC misses (GET 404), got $get404_1"
  [[ "$get200_1" -eq 0 ]] || fail "$tag-1: $get200_1 GET 200 on an empty cellar"
  # every action: one AC entry, plus at least one CAS blob per output file
  [[ "$put200_1" -ge $((NGEN + ${#OUTPUTS[@]})) ]] ||
    fail "$tag-1: only $put200_1 successful PUTs"
  [[ "$puts1" -ge $((NGEN + ${#OUTPUTS[@]})) ]] || fail "$tag-1: cellar stored only $puts1 entries"
  [[ $(non200) -eq 0 ]] || fail "$tag-1: cellar answered $(non200) bazel requests with an error"
  pass "$tag-1: $NGEN actions ran locally, $put200_1 uploads stored"

  run_bazel "$tag-2" "$url"
  h2=$(summary_count "$tag-2" 'remote cache hit')
  [[ "$h2" -eq $NGEN ]] ||
    fail "$tag-2: expected $NGEN remote cache hits: $(grep 'processes:' "$IT_TMP/$tag-2.out")"
  [[ $(summary_count "$tag-2" local) -eq 0 ]] || fail "$tag-2: actions ran locally despite a warm cache"
  local hits2 get200_2
  hits2=$(m "$HITS"); get200_2=$(m "$GET200")
  # 4 AC hits + one CAS download per output file
  [[ $((get200_2 - get200_1)) -eq $((NGEN + ${#OUTPUTS[@]})) ]] ||
    fail "$tag-2: expected $((NGEN + ${#OUTPUTS[@]})) GET 200, got $((get200_2 - get200_1))"
  [[ $((hits2 - hits1)) -eq $((get200_2 - get200_1)) ]] ||
    fail "$tag-2: cellar hit counter rose by $((hits2 - hits1)), GET 200 by $((get200_2 - get200_1))"
  [[ $(m "$PUTS") -eq "$puts1" ]] || fail "$tag-2: a fully cached build stored new entries"
  [[ $(non200) -eq 0 ]] || fail "$tag-2: cellar answered $(non200) bazel requests with an error"
  for o in "${OUTPUTS[@]}"; do
    cmp -s "$IT_TMP/ws-$tag-1/bazel-bin/$o" "$IT_TMP/ws-$tag-2/bazel-bin/$o" ||
      fail "$tag-2: $o from the cache differs from the built one"
  done
  pass "$tag-2: $h2 remote cache hits, $((hits2 - hits1)) cellar hits, outputs identical"
}

# ---- 1: anonymous ----------------------------------------------------------
start_cellar "$IT_TMP/data-anon"
cold_then_warm anon "$CELLAR_URL/bazel"
paths=$(grep '"route":"bazel"' "$CELLAR_LOG" | grep -o '"path":"[^"]*"' | cut -d'"' -f4)
bad=$(grep -Ev '^/bazel/(ac|cas)/[0-9a-f]{64}$' <<<"$paths" || true)
[[ -z "$bad" ]] || fail "anon: unexpected request paths: $(head -3 <<<"$bad" | tr '\n' ' ')"
foreign=$(grep '"route":"bazel"' "$CELLAR_LOG" | grep -v '"user_agent":"bazel/' || true)
[[ -z "$foreign" ]] || fail "anon: a bazel-route request did not come from bazel: $(head -1 <<<"$foreign")"
pass "anon: all $(wc -l <<<"$paths") requests were /bazel/{ac,cas}/<sha256> from bazel"

# ---- 3a: curl replays of Bazel-shaped requests (anonymous server) ----------
B="$CELLAR_URL/bazel"
printf 'some blob' >"$IT_TMP/blob"
BLOB_SHA=$(sha256sum "$IT_TMP/blob" | cut -d' ' -f1)
WRONG_SHA=$(printf 'other blob' | sha256sum | cut -d' ' -f1)
bget() { curl -s -o "${2:-/dev/null}" -w '%{http_code}' -H 'Accept: */*' "${@:3}" "$1"; }
bput() { curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Expect:' --data-binary "@$2" "${@:3}" "$1"; }
s=$(bget "$B/cas/$WRONG_SHA"); [[ $s == 404 ]] || fail "GET unknown CAS: $s, expected 404"
s=$(bget "$B/ac/$WRONG_SHA"); [[ $s == 404 ]] || fail "GET unknown AC: $s, expected 404"
s=$(bput "$B/cas/$WRONG_SHA" "$IT_TMP/blob"); [[ $s == 400 ]] || fail "CAS digest mismatch PUT: $s, expected 400"
s=$(bget "$B/cas/$WRONG_SHA"); [[ $s == 404 ]] || fail "mismatched CAS blob was stored (GET $s)"
s=$(bput "$B/cas/$BLOB_SHA" "$IT_TMP/blob"); [[ $s == 200 ]] || fail "CAS PUT: $s, expected 200"
s=$(bget "$B/cas/$BLOB_SHA" "$IT_TMP/blob.got"); [[ $s == 200 ]] || fail "CAS GET: $s, expected 200"
cmp -s "$IT_TMP/blob" "$IT_TMP/blob.got" || fail "CAS GET returned different bytes"
s=$(bput "$B/cas/$BLOB_SHA" "$IT_TMP/blob"); [[ $s == 200 ]] || fail "duplicate CAS PUT: $s, expected 200"
pass "replay: 404 misses, CAS digest mismatch 400 and not stored, CAS round trip"
stop_cellar

# ---- 2: Basic auth from URL userinfo (base64url) + instance prefix ---------
start_cellar "$IT_TMP/data-auth" --token "ci:$SECRET:read,write" \
  --token "ta:team-a-secret:read,write:bazel/team-a" --token "tb:team-b-secret:read,write:bazel/team-b"
METRICS_AUTH="ci:$SECRET"
AUTH_URL="http://ci:$SECRET@127.0.0.1:$CELLAR_PORT/bazel/$INSTANCE"
cold_then_warm auth "$AUTH_URL"
alog=$(grep '"route":"bazel"' "$CELLAR_LOG" || true)
[[ $(wc -l <<<"$alog") -ge 20 ]] || fail "auth: too few bazel requests in the access log"
unauth=$(grep -v '"principal":"ci"' <<<"$alog" || true)
[[ -z "$unauth" ]] || fail "auth: request not authenticated as ci: $(head -1 <<<"$unauth")"
bad=$(grep -o '"path":"[^"]*"' <<<"$alog" | cut -d'"' -f4 |
      grep -Ev "^/bazel/$INSTANCE/(ac|cas)/[0-9a-f]{64}\$" || true)
[[ -z "$bad" ]] || fail "auth: request outside /bazel/$INSTANCE/: $(head -1 <<<"$bad")"
pass "auth: Bazel's base64url Basic credentials accepted for every request"

# ---- 3b: curl replays of the auth variants ---------------------------------
B="$CELLAR_URL/bazel/$INSTANCE"
STD=$(printf 'ci:%s' "$SECRET" | base64 -w0)
URLSAFE=$(tr '+/' '-_' <<<"$STD")
URLSAFE_NOPAD=${URLSAFE%%=*}
[[ "$STD" != "$URLSAFE" ]] || fail "test setup: secret does not distinguish the base64 alphabets"
s=$(bget "$B/cas/$WRONG_SHA"); [[ $s == 401 ]] || fail "GET without credentials: $s, expected 401"
s=$(bput "$B/cas/$BLOB_SHA" "$IT_TMP/blob"); [[ $s == 401 ]] || fail "PUT without credentials: $s, expected 401"
s=$(bget "$B/cas/$WRONG_SHA" /dev/null -u 'ci:wrong'); [[ $s == 401 ]] || fail "GET with a wrong secret: $s, expected 401"
for cred in "$STD" "$URLSAFE" "$URLSAFE_NOPAD"; do
  s=$(bput "$B/cas/$BLOB_SHA" "$IT_TMP/blob" -H "Authorization: Basic $cred")
  [[ $s == 200 ]] || fail "PUT with Basic $cred: $s, expected 200"
  s=$(bget "$B/cas/$BLOB_SHA" /dev/null -H "Authorization: Basic $cred")
  [[ $s == 200 ]] || fail "GET with Basic $cred: $s, expected 200"
done
pass "replay: Basic auth in base64, base64url and unpadded base64url; 401 without or with wrong secret"

# ---- 4: instances are namespaces; tokens limited to one (issue 13, defect 11)
# Team b builds the same targets after team a: its instance holds none of team
# a's results, so every action runs; team a's second build hits its own.
TEAM_A_URL="http://ta:team-a-secret@127.0.0.1:$CELLAR_PORT/bazel/team-a"
TEAM_B_URL="http://tb:team-b-secret@127.0.0.1:$CELLAR_PORT/bazel/team-b"
run_bazel team-a-1 "$TEAM_A_URL"
[[ $(summary_count team-a-1 local) -eq $NGEN ]] || fail "team-a-1: actions did not run: $(grep 'processes:' "$IT_TMP/team-a-1.out")"
[[ $(summary_count team-a-1 'remote cache hit') -eq 0 ]] || fail "team-a-1: hits from another instance"
run_bazel team-b-1 "$TEAM_B_URL"
[[ $(summary_count team-b-1 'remote cache hit') -eq 0 ]] || fail "team-b-1: team a's results leaked into team b"
[[ $(summary_count team-b-1 local) -eq $NGEN ]] || fail "team-b-1: expected $NGEN local actions"
run_bazel team-a-2 "$TEAM_A_URL"
[[ $(summary_count team-a-2 'remote cache hit') -eq $NGEN ]] ||
  fail "team-a-2: expected $NGEN remote cache hits: $(grep 'processes:' "$IT_TMP/team-a-2.out")"
tlog=$(grep '"route":"bazel"' "$CELLAR_LOG" | grep '"principal":"t[ab]"' || true)
refused=$(grep -v '"status":\(200\|404\)' <<<"$tlog" || true)
[[ -z "$refused" ]] || fail "teams: a team build got an error: $(head -1 <<<"$refused")"
pass "teams: team b's build ran every action despite team a's cache, team a's rebuild hit its own instance"
TA_B="$CELLAR_URL/bazel/team-b"
s=$(bget "$TA_B/cas/$BLOB_SHA" /dev/null -u ta:team-a-secret); [[ $s == 403 ]] || fail "team a GET in team b: $s, expected 403"
s=$(bput "$TA_B/cas/$BLOB_SHA" "$IT_TMP/blob" -u ta:team-a-secret); [[ $s == 403 ]] || fail "team a PUT in team b: $s, expected 403"
s=$(bget "$CELLAR_URL/bazel/cas/$BLOB_SHA" /dev/null -u ta:team-a-secret); [[ $s == 403 ]] ||
  fail "team a GET in the default instance: $s, expected 403"
s=$(bget "$CELLAR_URL/bazel/$INSTANCE/cas/$BLOB_SHA" /dev/null -u ta:team-a-secret); [[ $s == 403 ]] ||
  fail "team a GET in $INSTANCE: $s, expected 403"
pass "teams: team a's token gets 403 in team b, the default and $INSTANCE"
stop_cellar

echo "bazel client: all checks passed"
