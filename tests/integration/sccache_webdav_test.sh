#!/usr/bin/env bash
# it_sccache_webdav: the WebDAV subset sccache needs, against a real
# `cellar serve`. No sccache with a WebDAV backend can be installed here
# (Debian 12's sccache 0.4.0-pre.6 has no remote backend and upstream
# release binaries come from GitHub, which is unreachable), so this replays
# the requests OpenDAL's WebDAV service sends for sccache: the
# .sccache_check read/write probe, PROPFIND (Depth 0) of an object and of
# its parent collections, MKCOL of missing parents, PUT, GET, and the
# responses it parses (207 multistatus with resourcetype, getcontentlength,
# getlastmodified). Plus auth, overwrite, DELETE and bad paths.
# Usage: bash sccache_webdav_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"

RW=rw-secret-0123456789
RO=ro-secret-0123456789
TEAM_A=team-a-secret-0123456789
TEAM_B=team-b-secret-0123456789
start_cellar "$IT_TMP/data" --token "ci:$RW:read,write" --token "pr:$RO:read" \
  --token "a:$TEAM_A:read,write:sccache/team-a" --token "b:$TEAM_B:read,write:sccache/team-b"
B="$CELLAR_URL/sccache"
AUTH=(-H "Authorization: Bearer $RW")
PROPFIND_BODY='<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
propfind() {  # propfind URL [curl args]: OpenDAL's stat request
  local url="$1"; shift
  get -X PROPFIND -H 'Depth: 0' -H 'Content-Type: application/xml' --data "$PROPFIND_BODY" "$@" "$url"
}
# dav_prop FILE ELEMENT: text of the first DAV: element (after parsing the XML
# the way any client would); "<collection>" for a collection resourcetype.
dav_prop() {
  python3 - "$1" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{DAV:}multistatus", root.tag
el = root.find(".//{DAV:}" + sys.argv[2])
if el is None:
    print("")
elif sys.argv[2] == "resourcetype":
    print("<collection>" if el.find("{DAV:}collection") is not None else "<file>")
else:
    print(el.text or "")
PY
}

# --- sccache start-up: read, then write, the check file ----------------------
expect_code 404 "probe read of .sccache_check before it exists" "${AUTH[@]}" "$B/.sccache_check"
code=$(propfind "$B/.sccache_check" "${AUTH[@]}")
[[ "$code" == 404 ]] || fail "PROPFIND of a missing file: $code"
pass "PROPFIND of a missing file is 404"
code=$(propfind "$B/" "${AUTH[@]}")
[[ "$code" == 207 && "$(dav_prop "$IT_TMP/body" resourcetype)" == "<collection>" ]] || fail "root PROPFIND: $code"
pass "PROPFIND of the root is 207 with a collection resourcetype"
expect_code 201 "probe write of .sccache_check" "${AUTH[@]}" -X PUT --data-binary 'Hello, World!' "$B/.sccache_check"
expect_code 204 "rewriting the probe overwrites (204)" "${AUTH[@]}" -X PUT --data-binary 'Hello, World!' "$B/.sccache_check"
expect_code 200 "probe read back" "${AUTH[@]}" "$B/.sccache_check"
[[ "$(cat "$IT_TMP/body")" == 'Hello, World!' ]] || fail "probe body"

# --- an object write: stat parents, MKCOL, PUT -------------------------------
key=$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)
obj="$B/${key:0:1}/${key:1:1}/${key:2:1}/$key"
code=$(propfind "$B/${key:0:1}/${key:1:1}/${key:2:1}/" "${AUTH[@]}")
[[ "$code" == 207 && "$(dav_prop "$IT_TMP/body" resourcetype)" == "<collection>" ]] || fail "parent PROPFIND: $code"
pass "PROPFIND of a parent collection is 207 (directories are implied)"
expect_code 201 "MKCOL of a parent" "${AUTH[@]}" -X MKCOL "$B/${key:0:1}/"
head -c 300000 /dev/urandom >"$IT_TMP/object"
expect_code 201 "PUT of a new object" "${AUTH[@]}" -X PUT --data-binary "@$IT_TMP/object" "$obj"
code=$(propfind "$obj" "${AUTH[@]}")
[[ "$code" == 207 ]] || fail "object PROPFIND: $code"
[[ "$(dav_prop "$IT_TMP/body" resourcetype)" == "<file>" ]] || fail "object resourcetype"
[[ "$(dav_prop "$IT_TMP/body" getcontentlength)" == 300000 ]] || fail "object getcontentlength"
[[ "$(dav_prop "$IT_TMP/body" getlastmodified)" =~ GMT$ ]] || fail "object getlastmodified"
[[ "$(dav_prop "$IT_TMP/body" status)" == "HTTP/1.1 200 OK" ]] || fail "propstat status"
pass "PROPFIND of an object: file, getcontentlength, getlastmodified, status 200"
code=$(propfind "$B/${key:0:1}/${key:1:1}" "${AUTH[@]}")
[[ "$code" == 207 && "$(dav_prop "$IT_TMP/body" resourcetype)" == "<collection>" ]] || fail "slashless dir: $code"
pass "PROPFIND of a directory without the trailing slash is a collection"
expect_code 200 "GET of the object" "${AUTH[@]}" "$obj"
cmp -s "$IT_TMP/body" "$IT_TMP/object" || fail "object bytes differ"
pass "the object comes back byte-identical"

# --- auth, methods, bad paths -------------------------------------------------
expect_code 401 "no token" "$obj"
[[ -n "$(header WWW-Authenticate)" ]] || fail "401 without WWW-Authenticate"
expect_code 403 "read-only token may not PUT" -H "Authorization: Bearer $RO" -X PUT --data-binary x "$obj"
expect_code 200 "read-only token may GET" -H "Authorization: Bearer $RO" "$obj"
expect_code 200 "OPTIONS" "${AUTH[@]}" -X OPTIONS "$B/"
[[ "$(header DAV)" == 1 ]] || fail "OPTIONS without DAV: 1"
expect_code 400 "dot-dot segment" "${AUTH[@]}" --path-as-is -X PUT --data-binary x "$B/a/../../etc/passwd"
expect_code 400 "encoded characters" "${AUTH[@]}" -X PUT --data-binary x "$B/a/%2e%2e/b"
expect_code 405 "PUT on a collection" "${AUTH[@]}" -X PUT --data-binary x "$B/a/"
expect_code 204 "DELETE" "${AUTH[@]}" -X DELETE "$obj"
expect_code 404 "GET after DELETE" "${AUTH[@]}" "$obj"
expect_code 404 "DELETE of a missing object" "${AUTH[@]}" -X DELETE "$obj"
# A PROPFIND body is read but not needed: past 64 KiB the server stops
# reading (413, or a reset that overtakes it) instead of taking any amount.
out=$(head -c $((64 << 20)) /dev/zero | curl -s -o "$IT_TMP/body" -w '%{http_code} %{size_upload}' -H 'Expect:' \
  "${AUTH[@]}" -X PROPFIND -H 'Depth: 0' -H 'Transfer-Encoding: chunked' --data-binary @- "$B/" || true)
read -r code sent <<<"$out"
echo "  PROPFIND with a 64 MiB body: HTTP $code after $((sent >> 20)) MiB sent"
[[ "$code" == 413 || "$code" == 000 ]] || fail "PROPFIND with a 64 MiB body: HTTP $code"
(( sent < (32 << 20) )) || fail "the server read $((sent >> 20)) MiB of a PROPFIND body"
expect_code 207 "PROPFIND still served after an oversized one" "${AUTH[@]}" -X PROPFIND -H 'Depth: 0' "$B/"
pass "an oversized PROPFIND body is cut off at 64 KiB"

# --- teams: /sccache/~<team>/ is a namespace of its own (issue 13, defect 11) --
TA=(-H "Authorization: Bearer $TEAM_A")
TB=(-H "Authorization: Bearer $TEAM_B")
code=$(propfind "$B/~team-a/" "${TA[@]}")
[[ "$code" == 207 && "$(dav_prop "$IT_TMP/body" resourcetype)" == "<collection>" ]] || fail "team root PROPFIND: $code"
expect_code 201 "team a MKCOL" "${TA[@]}" -X MKCOL "$B/~team-a/a/"
expect_code 201 "team a probe write" "${TA[@]}" -X PUT --data-binary 'probe of team a' "$B/~team-a/.sccache_check"
expect_code 201 "team b probe write, same key" "${TB[@]}" -X PUT --data-binary 'probe of team b!' "$B/~team-b/.sccache_check"
expect_code 200 "team a reads its probe" "${TA[@]}" "$B/~team-a/.sccache_check"
[[ "$(cat "$IT_TMP/body")" == 'probe of team a' ]] || fail "team a probe: $(cat "$IT_TMP/body")"
expect_code 200 "team b reads its probe" "${TB[@]}" "$B/~team-b/.sccache_check"
[[ "$(cat "$IT_TMP/body")" == 'probe of team b!' ]] || fail "team b probe: $(cat "$IT_TMP/body")"
code=$(propfind "$B/~team-b/.sccache_check" "${TB[@]}")
[[ "$code" == 207 && "$(dav_prop "$IT_TMP/body" getcontentlength)" == 16 ]] || fail "team b probe PROPFIND: $code"
expect_code 200 "the default namespace keeps its own probe" "${AUTH[@]}" "$B/.sccache_check"
[[ "$(cat "$IT_TMP/body")" == 'Hello, World!' ]] || fail "default probe changed: $(cat "$IT_TMP/body")"
pass "teams: one key, three values (default, team a, team b)"
expect_code 403 "team a token GET in team b" "${TA[@]}" "$B/~team-b/.sccache_check"
expect_code 403 "team a token PUT in team b" "${TA[@]}" -X PUT --data-binary x "$B/~team-b/.sccache_check"
expect_code 403 "team a token DELETE in team b" "${TA[@]}" -X DELETE "$B/~team-b/.sccache_check"
expect_code 403 "team a token MKCOL in team b" "${TA[@]}" -X MKCOL "$B/~team-b/a/"
code=$(propfind "$B/~team-b/" "${TA[@]}"); [[ "$code" == 403 ]] || fail "team a token PROPFIND in team b: $code"
expect_code 403 "team a token in the default namespace" "${TA[@]}" "$B/.sccache_check"
expect_code 403 "team a token in team-a-2" "${TA[@]}" "$B/~team-a-2/.sccache_check"
expect_code 200 "team b's probe unchanged" "${TB[@]}" "$B/~team-b/.sccache_check"
[[ "$(cat "$IT_TMP/body")" == 'probe of team b!' ]] || fail "refused requests changed team b's probe"
expect_code 200 "an unlimited token reads team a" "${AUTH[@]}" "$B/~team-a/.sccache_check"
pass "teams: a team token gets 403 in other teams and in the default namespace"
for bad in "~" "~/x" "~.." "~a%00b/x" "~a%2fb/x" "~a~b/x" "~$(printf 'a%.0s' {1..101})/x"; do
  expect_code 400 "bad team '${bad:0:12}'" "${AUTH[@]}" --path-as-is -X PUT --data-binary x "$B/$bad"
  grep -q "team" "$IT_TMP/body" || fail "bad team '$bad': unreadable answer $(cat "$IT_TMP/body")"
done
pass "teams: empty, dot-dot, NUL, encoded slash, '~' and overlong team names -> 400 with the reason"
