#!/usr/bin/env bash
# it_dashboard: the dashboard in a real browser (Debian's headless Chromium
# driven by puppeteer-core, dashboard_browser.js) after a known workload
# through real clients: two `npm install`s through the fake npm registry
# (the second from an empty npm cache: tarball hits) and two `turbo run
# build`s of the turbo fixture (4 misses and 4 uploads, then 4 hits).
#   1. sign-in is required (the API answers 401 without a token, 403 for a
#      token without admin), a wrong token is refused on the page;
#   2. every number on the overview, upstream and storage pages equals the
#      JSON API's, and the per-protocol numbers equal the workload's, counted
#      from the access log (requests, hits, misses, bytes served);
#   3. no request of the page leaves the server under test (checked by the
#      browser's request interception);
#   4. the history survives a restart.
# Screenshots of each page are kept in build/test-artifacts/dashboard/.
# Usage: bash dashboard_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/go_lib.sh"
source "$(dirname "$0")/npm_lib.sh"
IT_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$IT_DIR/../.." && pwd)"
CLIENTS_DIR="${CELLAR_NODE_CLIENTS_DIR:-$REPO/tools/node}"
TURBO="$CLIENTS_DIR/node_modules/.bin/turbo"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
[[ -x "$CHROMIUM" ]] || fail "chromium is not installed (scripts/install-deps.sh --with-test-tools)"
[[ -d "$CLIENTS_DIR/node_modules/puppeteer-core" && -x "$TURBO" ]] ||
  fail "puppeteer-core or turbo missing in $CLIENTS_DIR (scripts/install-node-clients.sh)"
SHOTS="${CELLAR_TEST_ARTIFACTS:-$(cd "$(dirname "$CELLAR_BIN")/../.." && pwd)/test-artifacts}/dashboard"
mkdir -p "$SHOTS"

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(TURBO_|VERCEL_|npm_config_|NPM_CONFIG_)' || true)
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME="$IT_TMP/home" TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1 NO_COLOR=1
mkdir -p "$HOME"

ADMIN=ops-dashboard-secret-1
CI=ci-turbo-secret-00001
start_fake_npm_registry
SERVE_ARGS=(--npm-upstream "$NPM_URL" --token "ops:$ADMIN:admin" --token "ci:$CI:read,write" --anonymous-scopes read
  --max-size 2GiB)
start_cellar "$IT_TMP/data" "${SERVE_ARGS[@]}"

# --- the workload ---------------------------------------------------------------
for i in 1 2; do
  dir="$IT_TMP/npm$i"
  mkdir -p "$dir"
  echo '{"name":"w","version":"1.0.0","private":true,"dependencies":{"left-pad-lite":"^1.0.0","dep-a":"^1.0.0"}}' \
    >"$dir/package.json"
  (cd "$dir" && npm install --registry "$CELLAR_URL/npm/" --cache "$IT_TMP/npm-cache$i" --no-audit --no-fund \
    --update-notifier=false) >"$IT_TMP/npm$i.out" 2>&1 || { cat "$IT_TMP/npm$i.out"; fail "npm install $i"; }
done
WS="$IT_TMP/ws"
cp -R "$IT_DIR/fixtures/turbo-monorepo" "$WS"
for i in 1 2; do
  rm -rf "$WS/.turbo" "$WS/node_modules" "$WS"/packages/*/dist "$WS"/apps/*/dist "$WS"/packages/*/.turbo "$WS"/apps/*/.turbo
  (cd "$WS" && TURBO_API="$CELLAR_URL/turbo" TURBO_TOKEN="$CI" TURBO_TEAM=acme "$TURBO" run build --ui=stream) \
    >"$IT_TMP/turbo$i.out" 2>&1 || { tail -30 "$IT_TMP/turbo$i.out"; fail "turbo run $i"; }
done
grep -q "4 cached, 4 total" "$IT_TMP/turbo2.out" || { tail -5 "$IT_TMP/turbo2.out"; fail "the second turbo run did not hit"; }
pass "workload: two npm installs and two turbo runs through cellar"

# --- 1. sign-in ---------------------------------------------------------------------
code=$(get "$CELLAR_URL/api/v1/history")
[[ "$code" == 401 ]] || fail "/api/v1/history without a token: HTTP $code"
code=$(get -H "Authorization: Bearer $CI" "$CELLAR_URL/api/v1/history")
[[ "$code" == 403 ]] || fail "/api/v1/history with a non-admin token: HTTP $code"
code=$(get "$CELLAR_URL/ui/")
[[ "$code" == 200 && "$(header Content-Security-Policy)" == *"default-src 'self'"* ]] || fail "/ui/: HTTP $code"

# --- 2. the page against the API and the workload --------------------------------
node "$IT_DIR/dashboard_browser.js" "$CLIENTS_DIR" "$CELLAR_URL" "$ADMIN" "$SHOTS" >"$IT_TMP/page.json" \
  2>"$IT_TMP/browser.err" || { cat "$IT_TMP/browser.err"; fail "the browser run failed"; }
for api in "history?range=1h" upstreams stats "top?limit=20"; do
  curl -sf -H "Authorization: Bearer $ADMIN" "$CELLAR_URL/api/v1/$api" >"$IT_TMP/api-${api%%\?*}.json" ||
    fail "GET /api/v1/$api"
done
python3 - "$IT_TMP" "$CELLAR_LOG" <<'PY' || fail "the dashboard's numbers"
import json, sys
tmp, log = sys.argv[1], sys.argv[2]
page = json.load(open(tmp + "/page.json"))
hist = json.load(open(tmp + "/api-history.json"))
ups = json.load(open(tmp + "/api-upstreams.json"))
top = json.load(open(tmp + "/api-top.json"))
stats = json.load(open(tmp + "/api-stats.json"))
def check(what, got, want):
    if str(got) != str(want):
        sys.exit("%s: page shows %r, expected %r" % (what, got, want))
if "refused" not in page["signin_error"]:
    sys.exit("wrong token: %r" % page["signin_error"])
if page["outside"]:
    sys.exit("requests left the server: %r" % page["outside"])
if page["errors"]:
    sys.exit("page errors: %r" % page["errors"])
t, o = hist["totals"], page["overview"]
for testid, key in [("requests", "requests"), ("bytes-served", "bytes_served"),
                    ("bytes-from-cache", "bytes_from_cache"), ("bytes-from-upstreams", "bytes_from_upstreams")]:
    check(testid, o[testid]["value"], t[key])
check("hit-rate", float(o["hit-rate"]["value"]), float(t["hit_rate"]))
# The workload, from the access log (the dashboard leaves out its own routes).
HITS = {"hit", "stale", "revalidated", "negative"}
MISSES = {"miss", "fill", "uncached"}
ops = {"api", "ui", "metrics", "healthz", "health", "readyz", "unmatched"}
want = {}
for line in open(log):
    if '"type":"access"' not in line:
        continue
    a = json.loads(line)
    if a["route"] in ops:
        continue
    w = want.setdefault(a["route"], {"requests": 0, "hits": 0, "misses": 0, "bytes": 0})
    w["requests"] += 1
    w["bytes"] += a["bytes_out"]
    c = a.get("cache", "")
    w["hits"] += c in HITS
    w["misses"] += c in MISSES
if set(want) != {"npm", "turbo"}:
    sys.exit("routes in the access log: %r" % sorted(want))
check("total requests vs workload", t["requests"], sum(w["requests"] for w in want.values()))
api_protocols = {p["protocol"]: p for p in hist["protocols"]}
for route, w in want.items():
    row = page["overview"]["protocols"].get(route)
    if row is None:
        sys.exit("no row for %s on the page" % route)
    # Protocol, Requests, Hits, Misses, Hit rate, Served, From cache, Errors
    check(route + " requests", row[1], w["requests"])
    check(route + " hits", row[2], w["hits"])
    check(route + " misses", row[3], w["misses"])
    check(route + " bytes served", row[5], w["bytes"])
    check(route + " requests (API)", api_protocols[route]["requests"], w["requests"])
# turbo: 4 misses (GET 404) and 4 uploads, then 4 hits.
check("turbo hits", page["overview"]["protocols"]["turbo"][2], 4)
check("turbo misses", page["overview"]["protocols"]["turbo"][3], 4)
# npm: the second install's 3 tarballs came from the cache.
if int(page["overview"]["protocols"]["npm"][2]) < 3:
    sys.exit("npm hits: %r" % page["overview"]["protocols"]["npm"])
if int(page["overview"]["bars"]) < 1:
    sys.exit("no bars in the chart")
# Upstream health: the fake registry, as the API reports it.
api_ups = {u["host"]: u for u in ups["upstreams"]}
if set(page["upstreams"]) != set(api_ups) or len(api_ups) != 1:
    sys.exit("upstream hosts: page %r, API %r" % (sorted(page["upstreams"]), sorted(api_ups)))
for host, row in page["upstreams"].items():
    u = api_ups[host]
    check(host + " requests", row[1], u["requests"])
    check(host + " errors", row[2], u["errors"])
    check(host + " bytes", row[3], u["bytes"])
    check(host + " last success", row[6], u["last_success_ms"])
    if int(u["requests"]) < 5 or int(u["errors"]) != 0:
        sys.exit("upstream numbers: %r" % u)
# Top lists: the page shows the API's rows in the API's order.
for testid, key, cols in [("most-hit", "most_hit", ["namespace", "key", "hits", "size"]),
                          ("largest", "largest", ["namespace", "key", "size", "hits"]),
                          ("most-missed", "most_missed", ["protocol", "path", "count"])]:
    want_rows = [[str(r[c]) for c in cols] for r in top[key]]
    if page["top"][testid] != want_rows:
        sys.exit("%s: page %r, API %r" % (testid, page["top"][testid][:3], want_rows[:3]))
# Every turbo artifact was hit once (the second run); the misses list names
# the turbo GETs that missed in the first run.
turbo_hits = [r for r in top["most_hit"] if r["namespace"].startswith("turbo/")]
if len(turbo_hits) != 4 or any(r["hits"] != 1 for r in turbo_hits):
    sys.exit("turbo entries in most_hit: %r" % turbo_hits)
turbo_missed = [m for m in top["most_missed"] if m["protocol"] == "turbo"]
if len(turbo_missed) != 4 or any(m["count"] != 1 for m in turbo_missed):
    sys.exit("turbo misses: %r" % turbo_missed)
sizes = [r["size"] for r in top["largest"]]
if sizes != sorted(sizes, reverse=True) or not sizes:
    sys.exit("largest is not by size: %r" % sizes)
s = page["storage"]
check("stored bytes", s["stored-bytes"]["value"], stats["stored_bytes"])
check("max bytes", s["max-bytes"]["value"], 2 << 30)
check("entries", s["entries"]["value"], stats["entries"])
for name, ns in stats["namespaces"].items():
    row = s["namespaces"].get(name)
    if row is None:
        sys.exit("namespace %s missing on the page" % name)
    check(name + " entries", row[1], ns["entries"])
    check(name + " bytes", row[2], ns["bytes"])
print("requests %s, hit rate %.3f, served %s, from cache %s, upstream %s" % (
    t["requests"], t["hit_rate"], t["bytes_served"], t["bytes_from_cache"], t["bytes_from_upstreams"]))
PY
for shot in signin overview top upstreams storage; do
  [[ -s "$SHOTS/$shot.png" ]] || fail "no screenshot of $shot"
done
pass "sign-in required; every number on the pages equals the API's and the workload's; nothing loaded from elsewhere; screenshots in $SHOTS"

# --- 4. after a restart -------------------------------------------------------------
before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["requests"])' "$IT_TMP/api-history.json")
stop_cellar
start_cellar "$IT_TMP/data" "${SERVE_ARGS[@]}"
after=$(curl -sf -H "Authorization: Bearer $ADMIN" "$CELLAR_URL/api/v1/history?range=24h" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
[[ "$after" == "$before" ]] || fail "history after a restart: $after requests, $before before"
code=$(get -H "Authorization: Bearer $ADMIN" "$CELLAR_URL/api/v1/history?range=2h")
[[ "$code" == 400 ]] || fail "a bad range: HTTP $code"
pass "the history survives a restart ($after requests); a bad range is a 400"
stop_cellar
