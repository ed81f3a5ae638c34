#!/usr/bin/env bash
# it_dashboard: the dashboard in a real browser (Debian's headless Chromium
# driven by puppeteer-core, dashboard_browser.js) after a known workload
# through real clients: two `npm install`s through the fake npm registry
# (the second from an empty npm cache: tarball hits), two `go mod download`s
# of the generated modules through the fake Go proxy (the second from an
# empty module cache), a start-up warm-up and two `git clone`s of a
# repository on the fake git upstream, and two `turbo run build`s of the
# turbo fixture (4 misses and 4 uploads, then 4 hits).
#   1. sign-in is required (the API answers 401 without a token, 403 for a
#      token without admin), a wrong token is refused on the page;
#   2. every number on the overview, top, upstream, storage, git and fleet
#      pages equals the JSON API's; the per-protocol and per-namespace
#      numbers equal the workload's, counted from the access log (requests,
#      hits, misses, bytes served); build time saved equals the time turbo's
#      own run summary says its cache hits saved; the git page shows the
#      mirror, its two clones and the warm-up run;
#   3. no request of the page leaves the server under test (checked by the
#      browser's request interception);
#   4. the history survives a restart; entries expired by --ttl afterwards
#      show as evictions, per namespace, with their sizes.
# Screenshots of each page are kept in build/test-artifacts/dashboard/.
# Usage: bash dashboard_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/go_lib.sh"
source "$(dirname "$0")/npm_lib.sh"
source "$(dirname "$0")/git_lib.sh"
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
GEN="$IT_TMP/gen"
python3 "$IT_DIR/make_go_modules.py" "$GEN" >/dev/null || fail "make_go_modules.py failed"
start_fake_goproxy "$GEN/proxy" goupstream
start_fake_sumdb "$GEN/proxy" sum.example.test
git_client_env
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
start_fake_git_upstream "$IT_TMP/upstream"
make_small_repo "$UP_ROOT/acme/small.git"
cat >"$IT_TMP/warmup.yaml" <<YAML
schedule: "*/30 * * * *"
parallelism: 1
at_start: true
repositories:
  - url: $UP_URL/acme/small.git
    branches: [main]
YAML
SERVE_ARGS=(--npm-upstream "$NPM_URL" --token "ops:$ADMIN:admin" --token "ci:$CI:read,write" --anonymous-scopes read
  --max-size 2GiB --npm-max-age 2s --go-upstream "$FAKE_URL" --go-sumdb "sum.example.test=$SUMDB_URL"
  --git-upstream-scheme http --git-allowed-hosts "127.0.0.1:$UP_PORT" --git-warmup "$IT_TMP/warmup.yaml")
start_cellar "$IT_TMP/data" "${SERVE_ARGS[@]}"
admin_get() { curl -sf -H "Authorization: Bearer $ADMIN" "$CELLAR_URL/api/v1/$1"; }

# --- the workload ---------------------------------------------------------------
for i in 1 2; do
  dir="$IT_TMP/npm$i"
  mkdir -p "$dir"
  echo '{"name":"w","version":"1.0.0","private":true,"dependencies":{"left-pad-lite":"^1.0.0","dep-a":"^1.0.0"}}' \
    >"$dir/package.json"
  (cd "$dir" && npm install --registry "$CELLAR_URL/npm/" --cache "$IT_TMP/npm-cache$i" --no-audit --no-fund \
    --update-notifier=false) >"$IT_TMP/npm$i.out" 2>&1 || { cat "$IT_TMP/npm$i.out"; fail "npm install $i"; }
done
for i in 1 2; do
  cp -R "$GEN/consumer" "$IT_TMP/go$i"
  (go_isolated_env && cd "$IT_TMP/go$i" && GOPROXY="$CELLAR_URL/go" GOMODCACHE="$IT_TMP/gomod$i" go mod download) \
    >"$IT_TMP/go$i.out" 2>&1 || { tail -20 "$IT_TMP/go$i.out"; fail "go mod download $i"; }
done
# The start-up warm-up first (so the clones are hits), then two clones.
for _ in $(seq 1 100); do
  admin_get git >"$IT_TMP/git-api.json" && grep -q '"last_run": {' "$IT_TMP/git-api.json" && break
  sleep 0.1
done
grep -q '"last_run": {' "$IT_TMP/git-api.json" || fail "the start-up warm-up did not finish: $(cat "$IT_TMP/git-api.json")"
for i in 1 2; do
  timeout -k 5 120 git -c "url.$CELLAR_URL/git/127.0.0.1:$UP_PORT/.insteadOf=$UP_URL/" \
    -c "http.$UP_URL/.proxy=http://127.0.0.1:9" clone -q "$UP_URL/acme/small.git" "$IT_TMP/clone$i" \
    >"$IT_TMP/git$i.out" 2>&1 || { cat "$IT_TMP/git$i.out"; fail "git clone $i"; }
done
WS="$IT_TMP/ws"
cp -R "$IT_DIR/fixtures/turbo-monorepo" "$WS"
for i in 1 2; do
  rm -rf "$WS/.turbo" "$WS/node_modules" "$WS"/packages/*/dist "$WS"/apps/*/dist "$WS"/packages/*/.turbo "$WS"/apps/*/.turbo
  (cd "$WS" && TURBO_API="$CELLAR_URL/turbo" TURBO_TOKEN="$CI" TURBO_TEAM=acme "$TURBO" run build --ui=stream --summarize) \
    >"$IT_TMP/turbo$i.out" 2>&1 || { tail -30 "$IT_TMP/turbo$i.out"; fail "turbo run $i"; }
done
grep -q "4 cached, 4 total" "$IT_TMP/turbo2.out" || { tail -5 "$IT_TMP/turbo2.out"; fail "the second turbo run did not hit"; }
# One stale answer: the registry down and the packument past --npm-max-age.
touch "$NPM_STATE/down"
sleep 2.1
code=$(get "$CELLAR_URL/npm/left-pad-lite")
rm -f "$NPM_STATE/down"
[[ "$code" == 200 ]] || fail "a stale packument with the registry down: HTTP $code"
# What turbo itself says the second run's cache hits saved (its run summary
# takes each hit's time from the x-artifact-duration cellar returned).
TURBO_SAVED=$(python3 -c '
import glob, json, sys
runs = glob.glob(sys.argv[1] + "/.turbo/runs/*.json")
if len(runs) != 1: sys.exit("run summaries: %r" % runs)
tasks = json.load(open(runs[0]))["tasks"]
print(sum(t["cache"].get("timeSaved", 0) for t in tasks if t["cache"]["status"] == "HIT"))' "$WS") ||
  fail "reading turbo's run summary"
[[ "$TURBO_SAVED" -gt 0 ]] || fail "turbo's summary shows no time saved"
pass "workload: two npm installs, two go mod downloads, a warm-up and two git clones, two turbo runs, a stale packument through cellar"

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
for api in "history?range=1h" upstreams stats "top?limit=20" git fleet; do
  curl -sf -H "Authorization: Bearer $ADMIN" "$CELLAR_URL/api/v1/$api" >"$IT_TMP/api-${api%%\?*}.json" ||
    fail "GET /api/v1/$api"
done
admin_get "top?limit=1000" >"$IT_TMP/api-top-all.json" || fail "GET /api/v1/top?limit=1000"
python3 - "$IT_TMP" "$CELLAR_LOG" "$TURBO_SAVED" "$UP_PORT" <<'PY' || fail "the dashboard's numbers"
import json, sys
tmp, log, turbo_saved, up_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
page = json.load(open(tmp + "/page.json"))
hist = json.load(open(tmp + "/api-history.json"))
ups = json.load(open(tmp + "/api-upstreams.json"))
top = json.load(open(tmp + "/api-top.json"))
stats = json.load(open(tmp + "/api-stats.json"))
git = json.load(open(tmp + "/api-git.json"))
fleet = json.load(open(tmp + "/api-fleet.json"))
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
                    ("bytes-from-cache", "bytes_from_cache"), ("bytes-from-upstreams", "bytes_from_upstreams"),
                    ("time-saved", "time_saved_ms"), ("evicted-bytes", "evicted_bytes"),
                    ("evicted-entries", "evicted_entries")]:
    check(testid, o[testid]["value"], t[key])
# Build time saved: what turbo's own summary says its hits saved.
check("build time saved vs turbo's run summary", t["time_saved_ms"], turbo_saved)
check("turbo hits that carried a duration", t["time_saved_hits"], 4)
check("hit-rate", float(o["hit-rate"]["value"]), float(t["hit_rate"]))
# The workload, from the access log (the dashboard leaves out its own routes).
HITS = {"hit", "stale", "revalidated", "negative"}
MISSES = {"miss", "fill", "uncached"}
ops = {"api", "ui", "metrics", "healthz", "health", "readyz", "unmatched"}
want = {}
want_ns = {}
for line in open(log):
    if '"type":"access"' not in line:
        continue
    a = json.loads(line)
    if a["route"] in ops:
        continue
    c = a.get("cache", "")
    counted = [want.setdefault(a["route"], {"requests": 0, "hits": 0, "misses": 0, "bytes": 0})]
    if "namespace" in a:
        counted.append(want_ns.setdefault(a["namespace"], {"requests": 0, "hits": 0, "misses": 0, "bytes": 0}))
    for w in counted:
        w["requests"] += 1
        w["bytes"] += a["bytes_out"]
        w["hits"] += c in HITS
        w["misses"] += c in MISSES
if set(want) != {"npm", "turbo", "goproxy", "git"}:
    sys.exit("routes in the access log: %r" % sorted(want))
# git: both clones' packs came from the warmed mirror.
check("git hits", page["overview"]["protocols"]["git"][2], 2)
check("git misses", page["overview"]["protocols"]["git"][3], 0)
# go: the second download's files all came from the cache.
if int(page["overview"]["protocols"]["goproxy"][2]) < 20:
    sys.exit("goproxy hits: %r" % page["overview"]["protocols"]["goproxy"])
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
# Per namespace: the page shows the API's rows, and they are the access
# log's (whose lines name the namespace a request was authorized for).
api_ns = {n["namespace"]: n for n in hist["namespaces"]}
if set(page["overview"]["namespaces"]) != set(api_ns) or set(api_ns) != set(want_ns):
    sys.exit("namespaces: page %r, API %r, access log %r" % (
        sorted(page["overview"]["namespaces"]), sorted(api_ns), sorted(want_ns)))
for name, row in page["overview"]["namespaces"].items():
    n, w = api_ns[name], want_ns[name]
    # Namespace, Requests, Hits, Misses, Hit rate, Served, From cache, Evicted entries, Evicted
    for i, key in [(1, "requests"), (2, "hits"), (3, "misses"), (5, "bytes_served"), (6, "bytes_from_cache")]:
        check(name + " " + key, row[i], n[key])
    check(name + " requests (access log)", n["requests"], w["requests"])
    check(name + " hits (access log)", n["hits"], w["hits"])
    check(name + " bytes (access log)", n["bytes_served"], w["bytes"])
turbo_ns = [n for n in api_ns if n.startswith("turbo/")]
if len(turbo_ns) != 1 or api_ns[turbo_ns[0]]["hits"] != 4:
    sys.exit("turbo namespaces: %r" % {k: api_ns[k] for k in turbo_ns})
# Git: the mirror, its two clones, the start-up warm-up.
g = page["git"]
check("mirrors", g["mirrors"]["value"], len(git["mirrors"]))
check("mirror bytes", g["mirror-bytes"]["value"], git["total_bytes"])
repo = "127.0.0.1:%s/acme/small" % up_port
if [m["repo"] for m in git["mirrors"]] != [repo] and [m["repo"] for m in git["mirrors"]] != [repo + ".git"]:
    sys.exit("mirrors: %r" % git["mirrors"])
m = git["mirrors"][0]
row = g["rows"][m["repo"]]
# Repository, Size, Last fetch, Last use, Clones served
check("mirror size", row[1], m["bytes"])
check("mirror last fetch", row[2], m["last_fetch_ms"])
check("clones served", row[4], m["clones_served"])
check("clones served (workload)", m["clones_served"], 2)
run = git["warmup"]["last_run"]
if run["on_demand"] or [r["ok"] for r in run["results"]] != [True]:
    sys.exit("warm-up run: %r" % run)
check("warm-up next run", g["warmup-next"]["value"], git["warmup"]["next_run_ms"])
check("warm-up last run", g["warmup-last"]["value"], run["finished_ms"])
shown = g["warmup-results"]
if [[c[0], c[1], c[3]] for c in shown] != [[r["url"], "ok", ""] for r in run["results"]] or \
        abs(float(shown[0][2]) - run["results"][0]["seconds"]) > 1e-9:
    sys.exit("warm-up results: page %r, API %r" % (shown, run["results"]))
# Fleet: one node on its own disk, no bucket, no Redis.
fl = page["fleet"]
check("local tier", fl["tier-local"]["value"], fleet["tiers"]["local"]["stored_bytes"])
check("local tier (stats)", fleet["tiers"]["local"]["stored_bytes"], stats["stored_bytes"])
if fleet["tiers"]["shared"] is not None or fleet["fleet"] is not None or fl["nodes"]:
    sys.exit("fleet: %r / page %r" % (fleet, fl))
# Stale answers: the one packument served while the registry was down.
if page["stale"] != {s["protocol"]: [s["protocol"], str(s["count"])] for s in ups["stale_served"]} or \
        [(s["protocol"], s["count"]) for s in ups["stale_served"]] != [("npm", 1)]:
    sys.exit("stale answers: page %r, API %r" % (page["stale"], ups["stale_served"]))
# Upstream health: the fake registry, the Go proxy and the checksum
# database (git's upstream is reached by git itself), as the API reports it.
api_ups = {u["host"]: u for u in ups["upstreams"]}
if set(page["upstreams"]) != set(api_ups) or len(api_ups) < 2:
    sys.exit("upstream hosts: page %r, API %r" % (sorted(page["upstreams"]), sorted(api_ups)))
for host, row in page["upstreams"].items():
    u = api_ups[host]
    check(host + " requests", row[1], u["requests"])
    check(host + " errors", row[2], u["errors"])
    check(host + " bytes", row[3], u["bytes"])
    check(host + " last success", row[6], u["last_success_ms"])
    if int(u["requests"]) < 1:
        sys.exit("upstream numbers: %r" % u)
# One failure in all: the registry, down for the stale packument.
if sum(int(u["errors"]) for u in api_ups.values()) != 1:
    sys.exit("upstream errors: %r" % api_ups)
# Top lists: the page shows the API's rows in the API's order.
for testid, key, cols in [("most-hit", "most_hit", ["namespace", "key", "hits", "size"]),
                          ("largest", "largest", ["namespace", "key", "size", "hits"]),
                          ("most-missed", "most_missed", ["protocol", "path", "count"])]:
    want_rows = [[str(r[c]) for c in cols] for r in top[key]]
    if page["top"][testid] != want_rows:
        sys.exit("%s: page %r, API %r" % (testid, page["top"][testid][:3], want_rows[:3]))
# Every turbo artifact was hit once (the second run); the misses list names
# the turbo GETs that missed in the first run.
top = json.load(open(tmp + "/api-top-all.json"))
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
for shot in signin overview top upstreams storage git fleet; do
  [[ -s "$SHOTS/$shot.png" ]] || fail "no screenshot of $shot"
done
pass "sign-in required; every number on the pages equals the API's and the workload's; nothing loaded from elsewhere; screenshots in $SHOTS"

# --- 4. after a restart -------------------------------------------------------------
# Restarted with a one-second TTL: every entry expires, and the history
# shows them as evictions.
before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["requests"])' "$IT_TMP/api-history.json")
stop_cellar
start_cellar "$IT_TMP/data" "${SERVE_ARGS[@]}" --ttl 1s --eviction-interval 1s
after=$(admin_get "history?range=24h" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
[[ "$after" == "$before" ]] || fail "history after a restart: $after requests, $before before"
code=$(get -H "Authorization: Bearer $ADMIN" "$CELLAR_URL/api/v1/history?range=2h")
[[ "$code" == 400 ]] || fail "a bad range: HTTP $code"
pass "the history survives a restart ($after requests); a bad range is a 400"
for _ in $(seq 1 100); do
  admin_get stats >"$IT_TMP/stats-after.json"
  grep -q '"entries": 0' "$IT_TMP/stats-after.json" && break
  sleep 0.2
done
admin_get "history?range=1h" >"$IT_TMP/history-after.json"
python3 - "$IT_TMP" <<'PY' || fail "evictions in the history"
import json, sys
tmp = sys.argv[1]
before = json.load(open(tmp + "/api-stats.json"))
after = json.load(open(tmp + "/stats-after.json"))
hist = json.load(open(tmp + "/history-after.json"))
if after["entries"] != 0:
    sys.exit("entries left after the TTL: %r" % after)
t = hist["totals"]
if t["evicted_entries"] != before["entries"]:
    sys.exit("evicted %d entries, the store held %d" % (t["evicted_entries"], before["entries"]))
got = {n["namespace"]: n["evicted_entries"] for n in hist["namespaces"] if n["evicted_entries"]}
want = {name: ns["entries"] for name, ns in before["namespaces"].items()}
if got != want:
    sys.exit("evicted per namespace %r, stored before %r" % (got, want))
if sum(p["evicted_bytes"] for p in hist["series"]) != t["evicted_bytes"] or t["evicted_bytes"] <= 0:
    sys.exit("evicted bytes: %r" % t)
print("evicted %d entries, %d bytes" % (t["evicted_entries"], t["evicted_bytes"]))
PY
pass "entries expired by --ttl show as evictions per namespace"
stop_cellar
