#!/usr/bin/env bash
# Large-object streaming: a 2 GiB PUT to /bazel/cas/<sha256> (so the digest
# check must stream too) and its GET, while the server's resident memory is
# sampled. Peak RSS (VmHWM, which also covers moments between samples) must
# stay below RSS_LIMIT_MIB, and the GET body must hash to the digest.
# The body is generated on the fly by big_stream.py; only the server writes it
# to disk. LARGE_STREAM_MIB overrides the size (default 2048).
# Usage: bash large_streaming_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
SIZE_MIB="${LARGE_STREAM_MIB:-2048}"
RSS_LIMIT_MIB=150

start_cellar "$IT_TMP/data" --max-entry-size 4GiB
[[ "$(cat /proc/$CELLAR_PID/comm)" == cellar ]] || fail "test setup: CELLAR_PID is not the cellar process"

start=$(date +%s.%N)
res=$(python3 "$(dirname "$0")/big_stream.py" "$CELLAR_PORT" "$CELLAR_PID" "$SIZE_MIB") ||
  fail "big_stream.py failed"
echo "  $res"
kill -0 "$CELLAR_PID" 2>/dev/null || { tail -5 "$CELLAR_LOG" >&2; fail "cellar died during the transfer"; }

python3 - "$res" "$SIZE_MIB" "$RSS_LIMIT_MIB" <<'EOF' || fail "large streaming check failed"
import json, sys
r = json.loads(sys.argv[1]); size = int(sys.argv[2]) << 20; limit_kib = int(sys.argv[3]) * 1024
errors = []
if r["put_status"] != 200:
    errors.append(f"PUT answered {r['put_status']}: {r['put_body']}")
if r["get_status"] != 200:
    errors.append(f"GET answered {r['get_status']}")
if r["get_content_length"] != str(size):
    errors.append(f"GET Content-Length {r['get_content_length']}, want {size}")
if r["get_bytes"] != size:
    errors.append(f"GET returned {r['get_bytes']} bytes, want {size}")
if r["get_sha256"] != r["sha256"]:
    errors.append(f"GET body hashes to {r['get_sha256']}, want {r['sha256']}")
peak = max(r["vm_hwm_kib"], r["rss_peak_sampled_kib"])
if peak >= limit_kib:
    errors.append(f"peak RSS {peak // 1024} MiB >= {limit_kib // 1024} MiB: the body is buffered in memory")
print(f"  peak RSS: VmHWM {r['vm_hwm_kib'] / 1024:.1f} MiB, max sampled VmRSS "
      f"{r['rss_peak_sampled_kib'] / 1024:.1f} MiB (start {r['rss_start_kib'] / 1024:.1f} MiB); "
      f"PUT {size / r['put_s'] / 1e6:.0f} MB/s in {r['put_s']} s, GET {size / max(r['get_s'], 0.001) / 1e6:.0f} MB/s in {r['get_s']} s")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

stored=$(curl -s "$CELLAR_URL/api/v1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['namespaces']['bazel/cas']['bytes'])")
[[ "$stored" == $((SIZE_MIB << 20)) ]] || fail "stats show $stored bytes for bazel/cas, want $((SIZE_MIB << 20))"
elapsed=$(python3 -c "import time; print(round(time.time() - $start, 1))")
pass "$SIZE_MIB MiB CAS PUT+GET streamed in ${elapsed} s, SHA-256 matches, peak RSS under $RSS_LIMIT_MIB MiB"
stop_cellar
echo "PASS: large_streaming_test"
