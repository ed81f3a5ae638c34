# Redis for the fleet tests (bash; source after lib.sh).
# start_redis: a throwaway redis-server on a unix socket in $IT_TMP (no
# persistence), stopped at exit with the cellar servers; sets REDIS_SOCK,
# REDIS_PID and REDIS_URL (the --redis-url value).
start_redis() {
  command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/install-deps.sh --with-test-tools)"
  REDIS_SOCK="$IT_TMP/redis.sock"
  redis-server --port 0 --unixsocket "$REDIS_SOCK" --save "" --appendonly no --dir "$IT_TMP" \
    >"$IT_TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  CELLAR_PIDS+=("$REDIS_PID")
  local _
  for _ in $(seq 1 100); do [[ -S "$REDIS_SOCK" ]] && break; sleep 0.05; done
  [[ -S "$REDIS_SOCK" ]] || fail "redis-server did not start: $(cat "$IT_TMP/redis.log")"
  REDIS_URL="unix://$REDIS_SOCK"
}
