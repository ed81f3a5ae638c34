#!/usr/bin/env bash
# Eviction through the real server: with --max-size 2MiB the store is kept
# under the high watermark by evicting least-recently-used entries, their
# blob files are deleted from disk, recently read entries survive, and an
# upload that would pass the hard limit before eviction catches up gets 507.
source "$(dirname "$0")/lib.sh"

DATA="$IT_TMP/data"
start_cellar "$DATA" --max-size 2MiB --high-watermark 0.9 --low-watermark 0.6 \
  --eviction-interval 1s --gc-grace 1h --access-log=false
U="$CELLAR_URL"
key() { printf '%02x%031d' "$1" 0 | cut -c1-33 | sed 's/^\(..\)/\1\//'; }  # subdirs layout xx/<31>

put() { head -c 204800 /dev/urandom >"$IT_TMP/v$1"; curl -s -o /dev/null -w '%{http_code}' -T "$IT_TMP/v$1" "$U/ccache/$(key "$1")"; }
stored_bytes() { curl -s "$U/api/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stored_bytes"])'; }

for i in 0 1 2 3 4 5 6 7; do
  [[ $(put $i) == 200 ]] || fail "upload $i refused below the limit"
done
# Read entry 0 so it is the most recently used of the first batch.
curl -sf -o "$IT_TMP/got" "$U/ccache/$(key 0)" || fail "entry 0 not readable"
cmp -s "$IT_TMP/v0" "$IT_TMP/got" || fail "entry 0 bytes differ"
sleep 1.2
for i in 8 9 10 11; do
  code=$(put $i)
  [[ $code == 200 || $code == 507 ]] || fail "upload $i answered $code"
done

# Wait for an eviction pass to bring the store under the high watermark.
limit=$((2 * 1024 * 1024 * 9 / 10))
for _ in $(seq 50); do
  b=$(stored_bytes)
  ((b <= limit)) && break
  sleep 0.2
done
((b <= limit)) || fail "store still holds $b bytes, above the high watermark $limit"
pass "store kept under the high watermark ($b <= $limit bytes)"

[[ $(curl -s -o /dev/null -w '%{http_code}' "$U/ccache/$(key 1)") == 404 ]] || fail "least recently used entry 1 was not evicted"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$U/ccache/$(key 0)") == 200 ]] || fail "recently read entry 0 was evicted"
pass "LRU order: entry 1 evicted, recently read entry 0 kept"

evicted=$(metric 'cellar_cache_evictions_total{reason="size"}')
((evicted > 0)) || fail "cellar_cache_evictions_total{reason=\"size\"} is $evicted"
files=$(find "$DATA/blobs" -type f | wc -l)
blobs=$(curl -s "$U/api/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["blobs"])')
[[ $files == "$blobs" ]] || fail "$files blob files on disk but the index knows $blobs"
pass "evicted blobs deleted from disk ($files files = $blobs blobs, $evicted evictions)"

stop_cellar
"$CELLAR_BIN" verify --data-dir "$DATA" >/dev/null || fail "verify found problems after eviction"
pass "verify clean after eviction"
