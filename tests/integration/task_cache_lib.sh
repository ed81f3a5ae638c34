# Helpers shared by the task-runner cache tests (turbo_test.sh, nx_test.sh):
# access-log windows around one client run, task hash lists, output
# manifests and cellar's entry listing. Source after lib.sh and after
# setting WS (the workspace), PROJECTS (its project dirs, relative to WS) and
# A (an admin token).

now() { date +%s.%N; }

# Access-log lines are written in batches (every 100 ms): mark_log before a
# step, new_log after it prints the access lines the step produced.
mark_log() { sleep 0.3; LOG0=$(wc -l <"$CELLAR_LOG"); }
new_log() { sleep 0.3; tail -n +$((LOG0 + 1)) "$CELLAR_LOG" | grep '"type":"access"' || true; }
# count_log METHOD PATH_ERE STATUS_ERE: matching lines in $STEP_LOG.
count_log() {
  grep -E "\"method\":\"$1\",\"path\":\"$2\"" <<<"$STEP_LOG" | grep -Ec "\"status\":($3)," || true
}

# hashes TASKS_FILE: the task hashes (second column), sorted.
hashes() { awk '{ print $2 }' "$1" | sort; }

# manifest: every output below each project's dist/ (type, mode, path,
# symlink target, and the sha256 of regular files), so two runs' outputs can
# be compared.
manifest() {
  (cd "$WS" && for p in "${PROJECTS[@]}"; do
     [[ -d "$p/dist" ]] || { echo "MISSING $p/dist"; continue; }
     find "$p/dist" -printf '%y %m %p %l\n'
     find "$p/dist" -type f -exec sha256sum {} +
   done | sort)
}

# entries NS: the keys cellar lists in namespace NS, sorted.
entries() {
  local code
  code=$(get -H "Authorization: Bearer $A" "$CELLAR_URL/api/v1/entries?namespace=$1&limit=1000")
  [[ "$code" == 200 ]] || fail "GET /api/v1/entries?namespace=$1 -> $code: $(head -c 200 "$IT_TMP/body")"
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const e of j.entries) console.log(e.key);' "$IT_TMP/body" | sort
}
expect_entries() {  # expect_entries DESC NS FILE_WITH_SORTED_KEYS
  local got; got=$(entries "$2")
  [[ "$got" == "$(cat "$3")" ]] || fail "$1: cellar lists under $2: [$(tr '\n' ' ' <<<"$got")], want [$(tr '\n' ' ' <"$3")]"
}
