#!/usr/bin/env bash
# it_task_cache_client: cellar run's remote cache client (src/tasks/cache)
# against a real `cellar serve`: round trip through the local cache,
# namespaces, a read-only token (hits, no uploads, one warning), an unknown
# token, a batch over the 1000-request limit, concurrent uploads of one hash.
# Then the client against a server that is down.
# Usage: bash task_cache_client_test.sh /path/to/cellar /path/to/task_cache_real_server_test
source "$(dirname "$0")/lib.sh"
TEST_BIN="${2:?usage: $0 CELLAR_BIN TEST_BIN}"

RW=rw-secret-0123456789
RO=ro-secret-0123456789
start_cellar "$IT_TMP/data" --token "ci:$RW:read,write" --token "pr:$RO:read"
CELLAR_TEST_URL="$CELLAR_URL" CELLAR_TEST_RW="$RW" CELLAR_TEST_RO="$RO" "$TEST_BIN" \
  || fail "remote cache client against cellar serve"
pass "remote cache client against cellar serve"

# The server's own view: each uploaded key stored exactly once.
stored=$(curl -s -H "Authorization: Bearer $RW" "$CELLAR_URL/metrics" |
  awk '$1 == "cellar_negotiate_transfers_total{op=\"put\",result=\"stored\"}" { print $2 }')
[[ "$stored" == 4 ]] || fail "server stored $stored uploads, want 4 (one per distinct hash)"
pass "every artifact stored once (4 stores)"

stop_cellar
out=$(CELLAR_TEST_URL="$CELLAR_URL" CELLAR_TEST_RW="$RW" CELLAR_TEST_RO="$RO" \
  "$TEST_BIN" --gtest_filter='*UnknownToken*' 2>&1) && fail "a stopped server answered: $out"
grep -q 'unreachable' <<<"$out" || fail "a stopped server is not reported as unreachable: $out"
pass "a stopped server is reported as unreachable"
