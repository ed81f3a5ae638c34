#!/usr/bin/env bash
# The dashboard's JSON with a big store: an index of ENTRIES entries (default
# a million, spread over 8 namespaces) and a full week of per-minute history
# (30 route/result pairs a minute), then 200 requests to each endpoint the
# dashboard reads, one connection, answers timed end to end. Target (issue
# 18): every answer under 50 ms.
#
#   bash bench/dashboard_api_bench.sh [ENTRIES]
#
# Filling the index takes about two minutes per million entries (Python's
# sqlite3, through the schema's triggers). Results: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES="${1:-1000000}"
CELLAR="${BUILD:-build}/src/cli/cellar"
[[ -x "$CELLAR" ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
WORK="$(mktemp -d /tmp/cellar-dash-bench.XXXXXX)"
CELLAR_PID=""
cleanup() { [[ -n "$CELLAR_PID" ]] && kill "$CELLAR_PID" 2>/dev/null || true; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT
start() {
  "$CELLAR" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --access-log=false 2>"$WORK/cellar.log" &
  CELLAR_PID=$!
  for _ in $(seq 200); do grep -q '"port"' "$WORK/cellar.log" 2>/dev/null && break; sleep 0.05; done
  PORT=$(grep -o '"port":[0-9]*' "$WORK/cellar.log" | head -1 | cut -d: -f2)
}
start  # creates index.db and stats.db with the current schema
kill "$CELLAR_PID"; wait "$CELLAR_PID" 2>/dev/null || true; CELLAR_PID=""

python3 - "$WORK/data" "$ENTRIES" <<'PY'
import hashlib, sqlite3, sys, time
data, n = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
db = sqlite3.connect(data + "/index.db")
db.create_function("cellar_now_ms", 0, lambda: now)
nss = ["npm/tarball", "go/zip", "go/mod", "turbo/acme", "bazel/cas", "bazel/ac", "ccache", "gradle"]
db.execute("BEGIN")
for i in range(n):
    d = hashlib.blake2s(str(i).encode()).digest()
    db.execute("INSERT INTO blobs (digest, size, stored_size, refcount) VALUES (?, ?, ?, 0)", (d, 1000 + i % 5000, 900 + i % 5000))
    db.execute("INSERT INTO entries (ns, key, digest, size, content_type, created_ms, last_access_ms, hits, "
               "fetched_at_ms, max_age_ms, attributes) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
               (nss[i % 8], "key-%08d" % i, d, 1000 + i % 5000, "application/octet-stream", now, now, i % 7, 0, 0, ""))
db.execute("COMMIT")
st = sqlite3.connect(data + "/stats.db")
minute = now // 60000
routes = ["npm", "goproxy", "turbo", "bazel", "ccache", "gradle"]
results = ["hit", "miss", "fill", "", "stale"]
st.execute("BEGIN")
for m in range(minute - 7 * 24 * 60, minute):
    for r in routes:
        for res in results:
            st.execute("INSERT INTO minutes VALUES (?,?,?,?,?,?,?,?)", (m, r, res, 10, 0, 100, 40000, 30))
st.execute("INSERT INTO hours SELECT minute / 60, route, result, sum(requests), sum(errors), sum(bytes_in), "
           "sum(bytes_out), sum(duration_ms) FROM minutes GROUP BY 1, 2, 3")
st.execute("COMMIT")
print("filled: %d entries, %d history rows" % (n, st.execute("select count(*) from minutes").fetchone()[0]))
PY
start
python3 - "$PORT" <<'PY'
import http.client, statistics, sys, time
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port)
print("| endpoint | p50 ms | p99 ms | max ms | bytes |")
print("|---|---|---|---|---|")
for path in ["/api/v1/stats", "/api/v1/history?range=1h", "/api/v1/history?range=24h",
             "/api/v1/history?range=7d", "/api/v1/top?limit=20", "/api/v1/upstreams", "/api/v1/entries?namespace=npm/tarball&limit=100"]:
    times, size = [], 0
    for _ in range(200):
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, (path, r.status, body[:200])
        size = len(body)
    times.sort()
    print("| %s | %.1f | %.1f | %.1f | %d |" % (path, statistics.median(times), times[int(len(times) * 0.99) - 1],
                                             times[-1], size))
PY
