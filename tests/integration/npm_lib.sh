# Helpers for integration tests with the fake npm registry (source after
# lib.sh and go_lib.sh, for wait_for_file).

# start_fake_npm_registry: fake_npm_registry.py on a free port, its state in
# $IT_TMP/registry, stopped at exit with the cellar servers; sets NPM_URL,
# NPM_LOG (one line per request) and NPM_STATE (where its fault and publish
# switches go).
start_fake_npm_registry() {
  NPM_STATE="$IT_TMP/registry"
  mkdir -p "$NPM_STATE"
  NPM_LOG="$IT_TMP/npm-upstream.log"
  python3 "$IT_DIR/fake_npm_registry.py" "$NPM_STATE" "$IT_TMP/npm.port" "$NPM_LOG" >"$IT_TMP/npm.err" 2>&1 &
  CELLAR_PIDS+=("$!")
  wait_for_file "$IT_TMP/npm.port" "fake npm registry" "$IT_TMP/npm.err"
  NPM_URL="http://127.0.0.1:$(cat "$IT_TMP/npm.port")"
}
