#!/usr/bin/env bash
# Bazel HTTP remote cache semantics (/bazel/ac, /bazel/cas) driven by curl:
# CAS round trip and digest check, AC overwrite, empty blob, misses, path
# validation, methods, slash collapsing, auth (Bearer, Basic in both base64
# alphabets, read-only and namespace-limited tokens), metrics, access log,
# health endpoints and the refusal to listen publicly without tokens.
# Usage: bash bazel_http_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

sha() { sha256sum "$1" | cut -d' ' -f1; }
# http_code ARGS...: runs curl, prints only the status code; the body goes to
# $IT_TMP/body and the headers to $IT_TMP/headers.
http_code() {
  curl -s -o "$IT_TMP/body" -D "$IT_TMP/headers" -w '%{http_code}' "$@" || true
}
expect_code() {  # expect_code WANT DESCRIPTION CURL_ARGS...
  local want="$1" what="$2"; shift 2
  local got
  got=$(http_code "$@")
  [[ "$got" == "$want" ]] || fail "$what: expected HTTP $want, got $got (body: $(head -c 300 "$IT_TMP/body"))"
}
stat_field() {  # stat_field PYTHON_EXPR over the stats JSON `s`
  curl -s "$CELLAR_URL/api/v1/stats" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

# ---------------------------------------------------------------- open server
DATA="$IT_TMP/data"
start_cellar "$DATA" --eviction-interval 1s
U="$CELLAR_URL"

head -c 100000 /dev/urandom >"$IT_TMP/blob"
H=$(sha "$IT_TMP/blob")
printf 'something else entirely' >"$IT_TMP/other"
HO=$(sha "$IT_TMP/other")
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# Digest mismatch first, on an empty store: 400, readable, nothing stored.
expect_code 400 "CAS PUT with wrong digest" -T "$IT_TMP/blob" "$U/bazel/cas/$HO"
grep -qi "sha-256\|sha256\|digest\|hash" "$IT_TMP/body" || fail "digest mismatch message not readable: $(cat "$IT_TMP/body")"
grep -q "$HO" "$IT_TMP/body" || fail "digest mismatch message does not name the expected digest: $(cat "$IT_TMP/body")"
expect_code 404 "GET after refused CAS PUT" "$U/bazel/cas/$HO"
[[ $(stat_field "s['entries']") == 0 ]] || fail "refused CAS upload left an index entry: $(curl -s "$U/api/v1/stats")"
[[ $(stat_field "s['blobs']") == 0 ]] || fail "refused CAS upload left a blob: $(curl -s "$U/api/v1/stats")"
[[ $(stat_field "'bazel/cas' in s['namespaces']") == False ]] || fail "stats list a bazel/cas namespace after a refused upload"
[[ -z "$(find "$DATA/blobs" -type f 2>/dev/null)" ]] || fail "blob files on disk after a refused upload"
expect_code 400 "CAS PUT of an empty body under a non-empty digest" -X PUT -H "Content-Length: 0" "$U/bazel/cas/$HO"
expect_code 400 "CAS PUT with Content-Encoding: gzip" -H "Content-Encoding: gzip" -T "$IT_TMP/other" "$U/bazel/cas/$HO"
[[ $(stat_field "s['entries']") == 0 ]] || fail "refused CAS uploads left an index entry"
pass "CAS digest mismatch (and empty body, gzip encoding) -> 400 with message, nothing stored"

# CAS round trip.
expect_code 200 "CAS PUT" -T "$IT_TMP/blob" "$U/bazel/cas/$H"
expect_code 200 "CAS GET" -o "$IT_TMP/got" "$U/bazel/cas/$H"
curl -s -o "$IT_TMP/got" "$U/bazel/cas/$H"
cmp -s "$IT_TMP/blob" "$IT_TMP/got" || fail "CAS GET body differs from the uploaded bytes"
expect_code 200 "CAS HEAD" -I "$U/bazel/cas/$H"
grep -qi "^content-length: 100000" "$IT_TMP/headers" || fail "HEAD lacks Content-Length 100000: $(cat "$IT_TMP/headers")"
[[ $(stat_field "s['namespaces']['bazel/cas']['entries']") == 1 ]] || fail "stats do not show the CAS entry"
pass "CAS PUT/GET/HEAD round trip (bytes identical)"

# Duplicate CAS upload: 200, still one entry; a duplicate with wrong bytes is refused.
expect_code 200 "duplicate CAS PUT" -T "$IT_TMP/blob" "$U/bazel/cas/$H"
[[ $(stat_field "s['namespaces']['bazel/cas']['entries']") == 1 ]] || fail "duplicate CAS PUT created a second entry"
head -c 100000 /dev/zero >"$IT_TMP/zeros"
expect_code 400 "duplicate-key CAS PUT with wrong bytes" -T "$IT_TMP/zeros" "$U/bazel/cas/$H"
curl -s -o "$IT_TMP/got" "$U/bazel/cas/$H"
cmp -s "$IT_TMP/blob" "$IT_TMP/got" || fail "a refused re-upload changed the stored blob"
pass "duplicate CAS upload -> 200 (wrong bytes under an existing digest -> 400)"

# AC: store, overwrite, read back the new value. AC bodies are ActionResult
# protobufs (validated); these carry only stdout_raw (field 5).
AK=$(printf 'action-key' | sha256sum | cut -d' ' -f1)
# action_result FILE STDOUT [OUTPUT_FILE_SHA256 SIZE]: writes a serialized ActionResult.
action_result() {
  python3 - "$@" <<'PY'
import sys
def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80]); v >>= 7
    return out + bytes([v])
def field(n, b): return varint(n << 3 | 2) + varint(len(b)) + b
msg = field(5, sys.argv[2].encode())
if len(sys.argv) > 3:
    digest = field(1, sys.argv[3].encode()) + varint(2 << 3) + varint(int(sys.argv[4]))
    msg = field(2, field(1, b"bazel-out/out.bin") + field(2, digest)) + msg
open(sys.argv[1], "wb").write(msg)
PY
}
action_result "$IT_TMP/ac1" 'action result v1'
action_result "$IT_TMP/ac2" 'action result v2, longer than the first'
expect_code 200 "AC PUT" -T "$IT_TMP/ac1" "$U/bazel/ac/$AK"
curl -s -o "$IT_TMP/got" "$U/bazel/ac/$AK"; cmp -s "$IT_TMP/ac1" "$IT_TMP/got" || fail "AC GET did not return v1"
expect_code 200 "AC overwrite" -T "$IT_TMP/ac2" "$U/bazel/ac/$AK"
curl -s -o "$IT_TMP/got" "$U/bazel/ac/$AK"; cmp -s "$IT_TMP/ac2" "$IT_TMP/got" || fail "AC GET after overwrite did not return v2"
[[ $(stat_field "s['namespaces']['bazel/ac']['entries']") == 1 ]] || fail "AC overwrite left more than one entry"
pass "AC PUT, overwrite, GET returns the new value"

# Validated AC: garbage is refused; a result whose output blob is missing
# from CAS is a miss (Bazel would fail later), and a hit once it is present.
printf 'not a protobuf' >"$IT_TMP/ac-garbage"
expect_code 400 "AC PUT of a non-ActionResult" -T "$IT_TMP/ac-garbage" "$U/bazel/ac/$AK"
curl -s -o "$IT_TMP/got" "$U/bazel/ac/$AK"; cmp -s "$IT_TMP/ac2" "$IT_TMP/got" || fail "refused AC PUT changed the entry"
head -c 5000 /dev/urandom >"$IT_TMP/out-blob"
OUT_H=$(sha256sum "$IT_TMP/out-blob" | cut -d' ' -f1)
AK2=$(printf 'action-key-2' | sha256sum | cut -d' ' -f1)
action_result "$IT_TMP/ac3" 'with output' "$OUT_H" 5000
expect_code 200 "AC PUT referencing a missing CAS blob" -T "$IT_TMP/ac3" "$U/bazel/ac/$AK2"
expect_code 404 "AC GET while its CAS blob is missing" "$U/bazel/ac/$AK2"
expect_code 200 "CAS PUT of the output blob" -T "$IT_TMP/out-blob" "$U/bazel/cas/$OUT_H"
expect_code 200 "AC GET once its CAS blob exists" "$U/bazel/ac/$AK2"
pass "validated AC: garbage -> 400; missing CAS output -> 404; present -> 200"
# An action result cannot exceed 16 MiB: reading stops there, not at the
# entry limit (4 GiB by default).
out=$(head -c $((512 << 20)) /dev/zero | curl -s -o "$IT_TMP/body" -w '%{http_code} %{size_upload}' -H 'Expect:' \
  -T - "$U/bazel/ac/$AK" || true)
read -r code sent <<<"$out"
echo "  AC PUT of a 512 MiB body: HTTP $code after $((sent >> 20)) MiB sent"
[[ "$code" == 400 || "$code" == 000 ]] || fail "oversized AC PUT: HTTP $code"
(( sent < (256 << 20) )) || fail "the server read $((sent >> 20)) MiB of an action result"
curl -s -o "$IT_TMP/got" "$U/bazel/ac/$AK"; cmp -s "$IT_TMP/ac2" "$IT_TMP/got" || fail "oversized AC PUT changed the entry"
pass "an oversized action result is refused at 16 MiB; the entry is unchanged"

# Empty blob always exists; misses are 404.
expect_code 200 "HEAD empty blob" -I "$U/bazel/cas/$EMPTY"
expect_code 200 "GET empty blob" "$U/bazel/cas/$EMPTY"
[[ ! -s "$IT_TMP/body" ]] || fail "empty blob GET returned a body"
: >"$IT_TMP/empty"
expect_code 200 "PUT empty blob" -T "$IT_TMP/empty" "$U/bazel/cas/$EMPTY"
MISS=$(printf 'never stored' | sha256sum | cut -d' ' -f1)
expect_code 404 "CAS miss" "$U/bazel/cas/$MISS"
expect_code 404 "CAS HEAD miss" -I "$U/bazel/cas/$MISS"
expect_code 404 "AC miss" "$U/bazel/ac/$MISS"
pass "empty blob HEAD/GET -> 200; misses -> 404"

# Malformed paths: 400 or 404, never stored.
entries_before=$(stat_field "s['entries']")
UPPER=$(echo "$H" | tr a-f A-F)
bad_paths=(
  "/bazel/cas/$UPPER"
  "/bazel/cas/${H:0:63}"
  "/bazel/cas/${H}0"
  "/bazel/cas/../cas/$H"
  "/bazel/../bazel/cas/$H"
  "/bazel/x/../../cas/$H"
  "/bazel/cas%2f$H"
  "/bazel/..%2fcas/$H"
  "/bazel/%2e%2e/cas/$H"
  "/bazel/cas/$H/extra"
  "/bazel/blob/$H"
)
for p in "${bad_paths[@]}"; do
  for m in GET PUT; do
    if [[ $m == PUT ]]; then got=$(http_code --path-as-is -T "$IT_TMP/blob" "$U$p")
    else got=$(http_code --path-as-is "$U$p"); fi
    [[ "$got" == 400 || "$got" == 404 ]] || fail "$m $p: expected 400 or 404, got $got"
  done
done
[[ $(stat_field "s['entries']") == "$entries_before" ]] || fail "a malformed path stored something"
pass "uppercase, 63/65 hex chars, '..', %2f and unknown kinds -> 400/404, nothing stored"

# Methods and slash collapsing.
expect_code 405 "DELETE on CAS" -X DELETE "$U/bazel/cas/$H"
grep -qi "^allow:" "$IT_TMP/headers" || fail "405 without Allow header"
expect_code 405 "POST on CAS" -X POST --data-binary @"$IT_TMP/other" "$U/bazel/cas/$HO"
expect_code 200 "GET //bazel//cas/<h>" --path-as-is -o "$IT_TMP/got" "$U//bazel//cas/$H"
curl -s --path-as-is -o "$IT_TMP/got" "$U//bazel//cas//$H"
cmp -s "$IT_TMP/blob" "$IT_TMP/got" || fail "//bazel//cas//<h> returned other bytes"
pass "DELETE/POST -> 405 with Allow; //bazel//cas/<h> works"

# Issue 13, defect 11: an instance prefix is a namespace of its own (it was
# ignored, so every team shared one action cache).
expect_code 404 "GET under an instance of a blob only in the default CAS" "$U/bazel/main-instance/cas/$H"
expect_code 200 "CAS PUT under the instance" -T "$IT_TMP/blob" "$U/bazel/main-instance/cas/$H"
expect_code 200 "CAS GET under the instance" -o "$IT_TMP/got" "$U/bazel/main-instance/cas/$H"
curl -s -o "$IT_TMP/got" "$U/bazel/main-instance/cas/$H"
cmp -s "$IT_TMP/blob" "$IT_TMP/got" || fail "instance CAS GET returned other bytes"
# An instance's AC entry is served only while its outputs are in the
# instance's own CAS (OUT_H is in the default CAS only, so far).
expect_code 200 "instance AC PUT referencing an output" -T "$IT_TMP/ac3" "$U/bazel/main-instance/ac/$AK2"
expect_code 404 "instance AC GET while the output is only in the default CAS" "$U/bazel/main-instance/ac/$AK2"
expect_code 200 "CAS PUT of the output under the instance" -T "$IT_TMP/out-blob" "$U/bazel/main-instance/cas/$OUT_H"
expect_code 200 "instance AC GET once its output is in the instance's CAS" "$U/bazel/main-instance/ac/$AK2"
# The same AC key holds one value per instance; the default's is untouched.
expect_code 200 "AC PUT of the same key under another instance" -T "$IT_TMP/ac1" "$U/bazel/other/team/ac/$AK"
curl -s -o "$IT_TMP/got" "$U/bazel/other/team/ac/$AK"; cmp -s "$IT_TMP/ac1" "$IT_TMP/got" || fail "instance AC value"
curl -s -o "$IT_TMP/got" "$U/bazel/ac/$AK"; cmp -s "$IT_TMP/ac2" "$IT_TMP/got" || fail "default AC value changed"
[[ $(stat_field "s['namespaces']['bazel/main-instance/cas']['entries']") == 2 ]] || fail "stats lack bazel/main-instance/cas"
for p in "/bazel/ac/cas/$H" "/bazel/cas/ac/$AK" "/bazel/x/cas/y/ac/$AK"; do
  expect_code 400 "instance with a segment named ac/cas ($p)" -T "$IT_TMP/blob" "$U$p"
  grep -q "'ac' or 'cas'" "$IT_TMP/body" || fail "$p: unreadable refusal: $(cat "$IT_TMP/body")"
done
pass "instances are namespaces: own CAS and AC, AC validated against its own CAS, ac/cas refused as instance names"

expect_code 200 "/healthz" "$U/healthz"
expect_code 200 "/readyz" "$U/readyz"
pass "/healthz and /readyz -> 200"

# Metrics: exact increments for a hit, plus the series every dashboard needs.
hits_before=$(metric 'cellar_cache_lookups_total{namespace="bazel",result="hit"}')
curl -s -o /dev/null "$U/bazel/cas/$H"
hits_after=$(metric 'cellar_cache_lookups_total{namespace="bazel",result="hit"}')
[[ $(python3 -c "print(int(float('$hits_after')) - int(float('$hits_before')))") == 1 ]] ||
  fail "one CAS hit moved cellar_cache_lookups_total{namespace=\"bazel\",result=\"hit\"} from $hits_before to $hits_after"
puts=$(metric 'cellar_http_requests_total{route="bazel",method="PUT",status="200"}')
python3 -c "import sys; sys.exit(0 if float('$puts') >= 4 else 1)" || fail "cellar_http_requests_total for bazel PUT 200 is $puts"
bad=$(metric 'cellar_http_requests_total{route="bazel",method="PUT",status="400"}')
python3 -c "import sys; sys.exit(0 if float('$bad') >= 2 else 1)" || fail "cellar_http_requests_total for bazel PUT 400 is $bad"
curl -s "$U/metrics" >"$IT_TMP/metrics"
grep -q '^cellar_http_request_duration_seconds_bucket{route="bazel",le="+Inf"} [1-9]' "$IT_TMP/metrics" ||
  fail "no +Inf histogram bucket for route bazel"
grep -q '^cellar_http_request_duration_seconds_bucket{route="bazel",le="0.001"} ' "$IT_TMP/metrics" ||
  fail "no finite histogram bucket for route bazel"
grep -q '^cellar_http_request_duration_seconds_count{route="bazel"} ' "$IT_TMP/metrics" || fail "no histogram _count"
# The store gauges are refreshed by the maintenance loop (every eviction-interval).
for _ in $(seq 1 50); do
  sb=$(metric cellar_store_bytes)
  python3 -c "import sys; sys.exit(0 if float('$sb') > 0 else 1)" && break
  sleep 0.1
done
python3 -c "import sys; sys.exit(0 if float('$sb') >= 100000 else 1)" || fail "cellar_store_bytes is $sb after storing 100000 bytes"
pass "metrics: requests_total, lookups hit (+1 per hit), store_bytes=$sb, histogram buckets"

# Access log: one JSON line per request.
for i in 1 2 3 4 5; do
  curl -s -o /dev/null -A "it-access-$i" "$U/bazel/cas/$H"
done
curl -s -o /dev/null -A "it-access-miss" "$U/bazel/cas/$MISS"
curl -s -o /dev/null -A "it-access-put" -T "$IT_TMP/ac1" "$U/bazel/ac/$MISS"
sleep 0.3
python3 - "$CELLAR_LOG" <<'EOF' || fail "access log check failed"
import json, sys
want = {f"it-access-{i}": ("GET", 200) for i in range(1, 6)}
want["it-access-miss"] = ("GET", 404)
want["it-access-put"] = ("PUT", 200)
seen = {}
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        continue
    try:
        rec = json.loads(line)
    except ValueError as e:
        print(f"log line is not JSON ({e}): {line[:200]}", file=sys.stderr); sys.exit(1)
    n += 1
    ua = rec.get("user_agent")
    if rec.get("type") == "access" and ua in want:
        seen[ua] = seen.get(ua, 0) + 1
        m, st = want[ua]
        if rec.get("method") != m or rec.get("status") != st or rec.get("route") != "bazel":
            print(f"unexpected access record for {ua}: {rec}", file=sys.stderr); sys.exit(1)
        for k in ("ts", "path", "bytes_in", "bytes_out", "duration_ms", "remote"):
            if k not in rec:
                print(f"access record lacks {k}: {rec}", file=sys.stderr); sys.exit(1)
for ua in want:
    if seen.get(ua) != 1:
        print(f"{ua}: {seen.get(ua, 0)} access lines, want 1", file=sys.stderr); sys.exit(1)
print(f"{n} log lines, all JSON")
EOF
pass "access log: one JSON line per request"
stop_cellar

# ---------------------------------------------------------------- auth
ADMIN=admin-secret-1
BU='b64-secret??>>'   # standard base64 of "bazel:$BU" has '/', base64url has '_'
start_cellar "$IT_TMP/auth" --token rw:rw-secret-1:read,write --token ro:ro-secret-1:read \
  --token ns:ns-secret-1:read,write:ccache --token "bu:$BU:read,write" --token "admin:$ADMIN:admin" \
  --token ta:team-a-secret:read,write:bazel/team-a --token tb:team-b-secret:read,write:bazel/team-b
U="$CELLAR_URL"
B64=$(python3 -c 'import base64,sys; print(base64.b64encode(sys.argv[1].encode()).decode())' "bazel:$BU")
B64URL=$(python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.argv[1].encode()).decode())' "bazel:$BU")
[[ "$B64" != "$B64URL" && "$B64URL" == *=* ]] || fail "test setup: secret does not exercise both alphabets ($B64 / $B64URL)"
B64URL_NOPAD="${B64URL%%=*}"
B64_RW=$(printf 'user:rw-secret-1' | base64 -w0)

expect_code 401 "GET without credentials" "$U/bazel/cas/$H"
grep -qi "^www-authenticate: .*bearer\|^www-authenticate: .*basic" "$IT_TMP/headers" || fail "401 without WWW-Authenticate: $(cat "$IT_TMP/headers")"
expect_code 401 "PUT without credentials" -T "$IT_TMP/blob" "$U/bazel/cas/$H"
grep -qi "^www-authenticate:" "$IT_TMP/headers" || fail "401 (PUT) without WWW-Authenticate"
expect_code 401 "wrong bearer token" -H "Authorization: Bearer rw-secret-2" "$U/bazel/cas/$H"
grep -qi "^www-authenticate:" "$IT_TMP/headers" || fail "401 (wrong token) without WWW-Authenticate"
expect_code 401 "wrong Basic password" -u "bazel:nope-nope-nope" "$U/bazel/cas/$H"
pass "no/wrong credentials -> 401 with WWW-Authenticate"

expect_code 403 "read-only token PUT" -H "Authorization: Bearer ro-secret-1" -T "$IT_TMP/blob" "$U/bazel/cas/$H"
expect_code 404 "read-only token GET (miss)" -H "Authorization: Bearer ro-secret-1" "$U/bazel/cas/$H"
expect_code 200 "rw token PUT via Bearer" -H "Authorization: Bearer rw-secret-1" -T "$IT_TMP/blob" "$U/bazel/cas/$H"
expect_code 200 "read-only token GET (hit)" -H "Authorization: Bearer ro-secret-1" -o "$IT_TMP/got" "$U/bazel/cas/$H"
curl -s -H "Authorization: Bearer ro-secret-1" -o "$IT_TMP/got" "$U/bazel/cas/$H"
cmp -s "$IT_TMP/blob" "$IT_TMP/got" || fail "authenticated GET returned other bytes"
expect_code 200 "rw token via Basic (standard base64)" -H "Authorization: Basic $B64_RW" -T "$IT_TMP/ac1" "$U/bazel/ac/$AK"
expect_code 200 "Basic, standard base64 with '/'" -H "Authorization: Basic $B64" -T "$IT_TMP/ac2" "$U/bazel/ac/$AK"
expect_code 200 "Basic, base64url with '_'" -H "Authorization: Basic $B64URL" -T "$IT_TMP/ac1" "$U/bazel/ac/$AK"
expect_code 200 "Basic, base64url without padding" -H "Authorization: Basic $B64URL_NOPAD" -T "$IT_TMP/ac2" "$U/bazel/ac/$AK"
expect_code 200 "GET via curl -u (URL userinfo style)" -u "bazel:$BU" "$U/bazel/ac/$AK"
cmp -s "$IT_TMP/ac2" "$IT_TMP/body" || fail "AC value after authenticated writes is wrong"
pass "ro PUT -> 403; rw Bearer, Basic base64 and base64url (with and without padding) -> 200"

expect_code 403 "namespace-limited token GET on bazel" -H "Authorization: Bearer ns-secret-1" "$U/bazel/cas/$H"
expect_code 403 "namespace-limited token PUT on bazel" -H "Authorization: Bearer ns-secret-1" -T "$IT_TMP/blob" "$U/bazel/cas/$H"
printf 'ccache value' >"$IT_TMP/cc"
expect_code 200 "namespace-limited token PUT on its namespace" -H "Authorization: Bearer ns-secret-1" -T "$IT_TMP/cc" \
  "$U/ccache/ab/cdefghijklmnopqrstuv0123456789a"
pass "token limited to ccache -> 403 on bazel, 200 on ccache"

# Tokens limited to one instance (issue 13, defect 11).
TA=(-H "Authorization: Bearer team-a-secret")
TB=(-H "Authorization: Bearer team-b-secret")
expect_code 200 "team a CAS PUT in its instance" "${TA[@]}" -T "$IT_TMP/blob" "$U/bazel/team-a/cas/$H"
expect_code 200 "team a CAS GET in its instance" "${TA[@]}" "$U/bazel/team-a/cas/$H"
expect_code 404 "team b does not see team a's blob" "${TB[@]}" "$U/bazel/team-b/cas/$H"
expect_code 200 "team a AC PUT" "${TA[@]}" -T "$IT_TMP/ac1" "$U/bazel/team-a/ac/$AK"
expect_code 200 "team b AC PUT, same key" "${TB[@]}" -T "$IT_TMP/ac2" "$U/bazel/team-b/ac/$AK"
curl -s "${TA[@]}" -o "$IT_TMP/got" "$U/bazel/team-a/ac/$AK"; cmp -s "$IT_TMP/ac1" "$IT_TMP/got" || fail "team a AC value"
curl -s "${TB[@]}" -o "$IT_TMP/got" "$U/bazel/team-b/ac/$AK"; cmp -s "$IT_TMP/ac2" "$IT_TMP/got" || fail "team b AC value"
expect_code 403 "team a token GET in team b" "${TA[@]}" "$U/bazel/team-b/ac/$AK"
expect_code 403 "team a token PUT in team b" "${TA[@]}" -T "$IT_TMP/ac1" "$U/bazel/team-b/ac/$AK"
expect_code 403 "team a token CAS PUT in team b" "${TA[@]}" -T "$IT_TMP/blob" "$U/bazel/team-b/cas/$H"
expect_code 403 "team a token on the default namespace" "${TA[@]}" "$U/bazel/cas/$H"
expect_code 403 "team a token in team-a-2 (a prefix is not the team)" "${TA[@]}" "$U/bazel/team-a-2/cas/$H"
curl -s "${TB[@]}" -o "$IT_TMP/got" "$U/bazel/team-b/ac/$AK"; cmp -s "$IT_TMP/ac2" "$IT_TMP/got" || fail "refused PUT changed team b's AC"
expect_code 200 "an unlimited token reads team a" -H "Authorization: Bearer rw-secret-1" "$U/bazel/team-a/ac/$AK"
pass "instance-limited tokens: own instance 200, other instances and the default 403; one key, two values"

expect_code 200 "/healthz without credentials" "$U/healthz"
expect_code 200 "/readyz without credentials" "$U/readyz"
expect_code 401 "/metrics without credentials" "$U/metrics"
expect_code 200 "/metrics with a read token" -H "Authorization: Bearer ro-secret-1" "$U/metrics"
grep -q '^cellar_http_requests_total{route="bazel",method="PUT",status="403"} 4' "$IT_TMP/body" ||
  fail "metrics do not count the four 403 PUTs: $(grep 'route="bazel",method="PUT"' "$IT_TMP/body")"
expect_code 403 "/api/v1/stats with a read token" -H "Authorization: Bearer ro-secret-1" "$U/api/v1/stats"
expect_code 200 "/api/v1/stats with an admin token" -H "Authorization: Bearer $ADMIN" "$U/api/v1/stats"
pass "health endpoints open; /metrics needs read, /api/v1/stats needs admin"
stop_cellar

# ---------------------------------------------------------------- exposure
set +e
timeout 10 "$CELLAR_BIN" serve --listen 0.0.0.0:0 --data-dir "$IT_TMP/public" >"$IT_TMP/public.log" 2>&1
rc=$?
set -e
[[ $rc != 0 && $rc != 124 ]] || fail "serve on 0.0.0.0 without tokens: exit code $rc (want a quick non-zero exit)"
grep -qi "token\|anonymous\|loopback" "$IT_TMP/public.log" || fail "no clear message when refusing 0.0.0.0: $(cat "$IT_TMP/public.log")"
pass "0.0.0.0 without tokens refused (exit $rc): $(head -c 200 "$IT_TMP/public.log" | tr '\n' ' ')"

PUB_LOG="$IT_TMP/public2.log"
"$CELLAR_BIN" serve --listen 0.0.0.0:0 --allow-anonymous --data-dir "$IT_TMP/public" >"$PUB_LOG" 2>&1 &
PUB_PID=$!
CELLAR_PIDS+=("$PUB_PID")
port=""
for _ in $(seq 1 100); do
  port=$(grep -o '"msg":"cellar listening".*"port":[0-9]*' "$PUB_LOG" | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
  [[ -n "$port" ]] && break
  kill -0 "$PUB_PID" 2>/dev/null || fail "serve --allow-anonymous on 0.0.0.0 exited: $(cat "$PUB_LOG")"
  sleep 0.05
done
[[ -n "$port" ]] || fail "serve --allow-anonymous on 0.0.0.0 did not report a port"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" == 200 ]] || fail "public server not answering"
kill -TERM "$PUB_PID"; wait "$PUB_PID" || true
pass "0.0.0.0 with --allow-anonymous starts and serves"

echo "PASS: bazel_http_test"
