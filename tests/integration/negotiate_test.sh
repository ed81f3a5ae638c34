#!/usr/bin/env bash
# it_negotiate: cellar's negotiate API (POST /v1/negotiate[/batch] and
# signed /v1/blobs/<key> URLs) against a real `cellar serve`: single and
# batch round trips, 50 concurrent uploads of one key (one commit, readers
# see only complete artifacts), an upload killed half-way, a signing key
# shared by two servers, an endless chunked upload. The status matrix
# (tampered and expired URLs, scopes, bad requests) is in
# src/protocols/negotiate/negotiate_handler_test.cc.
# Usage: bash negotiate_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

RW=rw-secret-0123456789
RO=ro-secret-0123456789
start_cellar "$IT_TMP/data" --token "ci:$RW:read,write" --token "pr:$RO:read"
python3 "$(dirname "$0")/negotiate_client.py" "$CELLAR_URL" "$RW" "$RO" || fail "negotiate client checks"

# Batch namespaces that are not strings, expired and tampered URLs, scopes
# and methods: src/protocols/negotiate/negotiate_handler_test.cc (in-process,
# with a fake clock).
data="$IT_TMP/blob"
head -c 1000 /dev/urandom >"$data"
sha=$(sha256sum "$data" | cut -d' ' -f1)

# A signing key shared by two servers: a URL from one works on the other.
stop_cellar
start_cellar "$IT_TMP/data2" --token "ci:$RW:read,write" --signing-key fleet-key-0123456789abcdef
first_url="$CELLAR_URL"
url=$(curl -s -H "Authorization: Bearer $RW" -d "{\"hash\":\"fleet1\",\"action\":\"upload\",\"size\":1000,\"sha256\":\"$sha\"}" \
  "$first_url/v1/negotiate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
start_cellar "$IT_TMP/data3" --token "ci:$RW:read,write" --signing-key fleet-key-0123456789abcdef
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$data" "${url/$first_url/$CELLAR_URL}")
[[ "$code" == 201 ]] || fail "URL signed by another node with the same key: HTTP $code"
pass "a URL signed by one node is accepted by another node with the same --signing-key"
# A chunked upload longer than its declared size is cut off there: refused
# long before the client has sent its 256 MiB, nothing stored.
url=$(curl -s -H "Authorization: Bearer $RW" -d "{\"hash\":\"long1\",\"action\":\"upload\",\"size\":1000,\"sha256\":\"$sha\"}" \
  "$CELLAR_URL/v1/negotiate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
rm -f "$IT_TMP/body"  # no Expect: curl reports the 100 as the status when the server ends the upload early
out=$(head -c $((256 << 20)) /dev/zero | curl -s -o "$IT_TMP/body" -w '%{http_code} %{size_upload}' -H 'Expect:' -T - "$url" || true)
read -r code sent <<<"$out"
echo "  chunked body beyond its declared 1000 bytes: HTTP $code after $((sent / 1048576)) MiB sent"
# 000: the server closed while curl was still sending, and the reset can
# overtake the 400 (TCP drops the answer when unread bytes meet a close).
if [[ "$code" == 400 ]]; then
  grep -q "declared size" "$IT_TMP/body" || fail "over-long chunked upload: 400 without a reason: $(cat "$IT_TMP/body")"
else
  [[ "$code" == 000 ]] || fail "over-long chunked upload: HTTP $code $(cat "$IT_TMP/body" 2>/dev/null)"
fi
(( sent < (128 << 20) )) || fail "the server read $((sent >> 20)) MiB of a body declared as 1000 bytes"
curl -s -H "Authorization: Bearer $RW" -d '{"hash":"long1","action":"download"}' "$CELLAR_URL/v1/negotiate" |
  grep -q '"missing"' || fail "the over-long upload was stored"
pass "a chunked upload longer than its declared size is refused early (400), nothing stored"
[[ "$(stat -c %a "$IT_TMP/data/signing.key")" == 600 ]] || fail "generated signing.key is not mode 600"
pass "the generated signing key is private (mode 600)"
# /metrics needs read scope when tokens exist.
stored=$(curl -s -H "Authorization: Bearer $RW" "$CELLAR_URL/metrics" |
  awk '$1 == "cellar_negotiate_transfers_total{op=\"put\",result=\"stored\"}" { print $2 }')
[[ "${stored:-0}" -ge 1 ]] || fail "transfer metric: '${stored}'"
pass "negotiate metrics count transfers"
