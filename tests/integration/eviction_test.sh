#!/usr/bin/env bash
# Eviction through the real server: with --max-size 2MiB the store is kept
# under the high watermark by evicting least-recently-used entries, their
# blob files are deleted from disk, and recently read entries survive.
# --max-size is a hard limit: uploads evict inline to make room (12 x 1 MiB
# into 5 MiB all succeed and the store never passes it) and a body larger
# than the store is refused. On a file system smaller than --max-size (a
# 20 MB tmpfs; skipped when mount is not permitted) uploads keep succeeding
# once it is full, and the store restarts healthy.
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

# --- --max-size is a hard limit, kept by evicting inline (issue 13) ---
DATA5="$IT_TMP/data5"
start_cellar "$DATA5" --max-size 5MiB --eviction-interval 1h --gc-grace 1h --access-log=false
U="$CELLAR_URL"
max=$((5 * 1024 * 1024))
blob_bytes() { find "$1/blobs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
for i in $(seq 1 12); do
  head -c 1048576 /dev/urandom >"$IT_TMP/m$i"
  code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' -T "$IT_TMP/m$i" "$U/ccache/$(key $((100 + i)))")
  [[ $code == 200 ]] || fail "1 MiB upload $i into a 5 MiB store answered $code: $(head -c 200 "$IT_TMP/body")"
  b=$(stored_bytes)
  ((b <= max)) || fail "after upload $i the store holds $b bytes, above --max-size $max"
  d=$(blob_bytes "$DATA5")
  ((d <= max)) || fail "after upload $i the blob files hold $d bytes, above --max-size $max"
done
curl -sf -o "$IT_TMP/got" "$U/ccache/$(key 112)" || fail "the last 1 MiB upload is not readable"
cmp -s "$IT_TMP/m12" "$IT_TMP/got" || fail "the last 1 MiB upload reads back different bytes"
pass "12 sequential 1 MiB uploads into a 5 MiB store all succeed; the store stays <= $max bytes"

head -c $((50 * 1024 * 1024)) /dev/zero >"$IT_TMP/big"
code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' -T "$IT_TMP/big" "$U/ccache/$(key 200)")
[[ $code == 507 ]] || fail "a 50 MB upload into a 5 MiB store answered $code: $(head -c 200 "$IT_TMP/body")"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$U/ccache/$(key 200)") == 404 ]] || fail "the refused 50 MB upload is readable"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$U/ccache/$(key 112)") == 200 ]] || fail "a refused upload evicted the newest entry"
pass "a 50 MB upload with Content-Length is refused (507) before its body is read, evicting nothing"
# Without a length the body is refused once it passes what the store holds
# (what it evicted on the way is gone: its size was not known).
code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' -H 'Transfer-Encoding: chunked' -T "$IT_TMP/big" "$U/ccache/$(key 201)")
[[ $code == 507 || $code == 000 ]] || fail "a chunked 50 MB upload into a 5 MiB store answered $code"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$U/ccache/$(key 201)") == 404 ]] || fail "the refused chunked upload is readable"
b=$(stored_bytes)
((b <= max)) || fail "after the refused uploads the store holds $b bytes"
pass "a chunked 50 MB upload is refused (HTTP $code) and the store stays <= $max bytes"
stop_cellar
"$CELLAR_BIN" verify --data-dir "$DATA5" >/dev/null || fail "verify found problems after inline eviction"

# --- a file system smaller than --max-size fills up (issue 13) ---
SMALL="$IT_TMP/tmpfs"
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=20m tmpfs "$SMALL" 2>/dev/null; then
  echo "skip - cannot mount a tmpfs here (needs root); the full-disk case did not run"
  exit 0
fi
trap 'it_cleanup_tmpfs' EXIT
it_cleanup_tmpfs() { it_cleanup_servers_only; umount "$SMALL" 2>/dev/null || true; rm -rf "$IT_TMP"; }
it_cleanup_servers_only() {
  local pid
  for pid in "${CELLAR_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CELLAR_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
start_cellar "$SMALL/data" --max-size 1G --eviction-interval 1s --gc-grace 1h --access-log=false
U="$CELLAR_URL"
for i in $(seq 1 40); do
  head -c 1048576 /dev/urandom >"$IT_TMP/f"
  code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' -T "$IT_TMP/f" "$U/ccache/$(key $((150 + i)))")
  [[ $code == 200 ]] || fail "1 MiB upload $i into a full 20 MB file system answered $code: $(head -c 200 "$IT_TMP/body")"
done
cp "$IT_TMP/f" "$IT_TMP/last"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$U/ccache/$(key 151)") == 404 ]] || fail "the oldest entry was not evicted on a full file system"
pass "40 x 1 MiB into a 20 MB file system with --max-size 1G: every upload succeeds, older entries evicted"
grep -q 'disk is full' "$CELLAR_LOG" && fail "the server logged a full-disk failure: $(grep 'disk is full' "$CELLAR_LOG" | head -1)"
stop_cellar

start_cellar "$SMALL/data" --max-size 1G --eviction-interval 1s --gc-grace 1h --access-log=false
U="$CELLAR_URL"
curl -sf -o "$IT_TMP/got" "$U/ccache/$(key 190)" || fail "the newest entry is not readable after a restart"
cmp -s "$IT_TMP/last" "$IT_TMP/got" || fail "the newest entry reads back different bytes after a restart"
for i in $(seq 41 50); do
  head -c 1048576 /dev/urandom >"$IT_TMP/f"
  code=$(curl -s -o "$IT_TMP/body" -w '%{http_code}' -T "$IT_TMP/f" "$U/ccache/$(key $((150 + i)))")
  [[ $code == 200 ]] || fail "upload $i after a restart on a full file system answered $code: $(head -c 200 "$IT_TMP/body")"
done
stop_cellar
"$CELLAR_BIN" verify --data-dir "$SMALL/data" >/dev/null || fail "verify found problems on the full file system"
pass "after a restart on the full file system uploads keep succeeding and verify is clean"

# With 0 bytes free, `cellar verify` still reports the store: it opens the
# index read-only (a shared SQLite open needs room for its -shm file).
dd if=/dev/zero of="$SMALL/filler" bs=64k 2>/dev/null || true
[[ $(df --output=avail -B1 "$SMALL" | tail -1 | tr -d ' ') == 0 ]] || fail "the tmpfs still has room after filling it"
rc=0; "$CELLAR_BIN" verify --data-dir "$SMALL/data" >"$IT_TMP/verify-full.out" 2>&1 || rc=$?
[[ $rc == 0 ]] || fail "verify on a file system with 0 bytes free exited $rc: $(head -c 300 "$IT_TMP/verify-full.out")"
grep -q "^blobs ok: [1-9]" "$IT_TMP/verify-full.out" || fail "verify on a full file system reported no blobs: $(cat "$IT_TMP/verify-full.out")"
grep -q "entries with missing blobs: 0" "$IT_TMP/verify-full.out" || fail "verify on a full file system: $(cat "$IT_TMP/verify-full.out")"
rm -f "$SMALL/filler"
pass "verify reports the store on a file system with 0 bytes free"
