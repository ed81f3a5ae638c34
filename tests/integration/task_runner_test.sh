#!/usr/bin/env bash
# it_task_runner: `cellar run` against a real `cellar serve` (negotiate API).
# Builds an npm-workspaces monorepo (plain semver ranges) in git: a diamond
# app -> lib-a, lib-b -> core (core#build appends to a counter: it must run
# once), a 3-level ^build chain, env_keys, outputs that are files, a
# directory, a symlink and an executable script. Then: local hits; a clean
# clone elsewhere is all remote hits with byte-identical outputs and
# replayed logs; one changed input re-runs exactly that task and its
# dependents; an env_keys change re-runs; server down -> warning, exit 0;
# read-only token -> hits, no uploads, one clear message; two concurrent runs
# upload each artifact once; SIGINT mid-run leaves no partial cache entry;
# a cycle and a YAML error are clear failures; the VelocityCache README
# velocity.yml runs unchanged.
# Usage: bash task_runner_test.sh /path/to/cellar
source "$(dirname "$0")/lib.sh"
# IT_KEEP=1 keeps the scratch directory for a look after a failure.
[[ -n "${IT_KEEP:-}" ]] && trap 'for p in "${CELLAR_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; echo "kept $IT_TMP"' EXIT

RW=rw-secret-0123456789
RO=ro-secret-0123456789
ADMIN=admin-secret-0123456789
start_cellar "$IT_TMP/data" --token "ci:$RW:read,write" --token "pr:$RO:read" --token "ops:$ADMIN:admin"
export CELLAR_IT_COUNTER="$IT_TMP/core-runs"
: >"$CELLAR_IT_COUNTER"
unset CI || true

git_q() { git -c user.name=it -c user.email=it@example.com -c init.defaultBranch=main "$@" >/dev/null 2>&1; }
puts_stored() { curl -s -H "Authorization: Bearer $RW" "$CELLAR_URL/metrics" | grep '^cellar_negotiate_transfers_total{' | grep 'op="put"' | grep 'result="stored"' | awk '{s+=$2} END {print s+0}'; }

# run DIR TOKEN [args...]: cellar run build in DIR; output in $IT_TMP/out, exit code in $rc.
run() {
  local dir="$1" token="$2"; shift 2
  set +e
  (cd "$dir" && CELLAR_REMOTE_URL="${REMOTE_URL:-$CELLAR_URL}" CELLAR_TOKEN="$token" "$CELLAR_BIN" run build "$@") >"$IT_TMP/out" 2>&1
  rc=$?
  set -e
}
count() { grep -c -- "$1" "$IT_TMP/out" || true; }
show() { echo "---- output"; cat "$IT_TMP/out"; echo "----"; }

write_pkg() {  # write_pkg DIR NAME DEPS_JSON
  mkdir -p "$1/src"
  printf '{"name":"%s","version":"1.0.0","private":true,%s}\n' "$2" "$3" >"$1/package.json"
}

make_repo() {
  local r="$1"
  mkdir -p "$r"
  cat >"$r/package.json" <<'JSON'
{"name":"mono","private":true,"workspaces":["apps/*","packages/*"]}
JSON
  cat >"$r/cellar.yml" <<'YAML'
version: 1
remote:
  enabled: true
  url: "http://127.0.0.1:9"   # replaced by CELLAR_REMOTE_URL in the test
pipeline:
  build:
    command: "sh build.sh"
    outputs: ["dist"]
    depends_on: ["^build"]
  lib-b#build:
    command: "sh build.sh"
    outputs: ["dist"]
    depends_on: ["^build"]
    env_keys: ["LIB_B_FLAVOR"]
  app#build:
    command: "sh build.sh"
    outputs: ["dist", "bin/app.sh", "latest.txt"]
    depends_on: ["^build"]
YAML
  printf 'dist/\nbin/\nlatest.txt\n.cellar/\n' >"$r/.gitignore"
  write_pkg "$r/packages/core" core '"dependencies":{}'
  echo "core source" >"$r/packages/core/src/core.txt"
  cat >"$r/packages/core/build.sh" <<'SH'
echo "core built"
echo run >>"$CELLAR_IT_COUNTER"
[ -n "$IT_SLEEP" ] && sleep "$IT_SLEEP"
mkdir -p dist && cp src/core.txt dist/core.txt
SH
  write_pkg "$r/packages/lib-a" lib-a '"dependencies":{"core":"^1.0.0"}'
  echo "lib-a source" >"$r/packages/lib-a/src/a.txt"
  cat >"$r/packages/lib-a/build.sh" <<'SH'
echo "lib-a built"
mkdir -p dist && cat ../core/dist/core.txt src/a.txt >dist/a.txt
SH
  write_pkg "$r/packages/lib-b" lib-b '"devDependencies":{"core":"~1.0.0"}'
  echo "lib-b source" >"$r/packages/lib-b/src/b.txt"
  cat >"$r/packages/lib-b/build.sh" <<'SH'
echo "lib-b built flavor=${LIB_B_FLAVOR:-plain}" >&2
mkdir -p dist && cat ../core/dist/core.txt src/b.txt >dist/b.txt && echo "${LIB_B_FLAVOR:-plain}" >dist/flavor
SH
  write_pkg "$r/apps/app" app '"dependencies":{"lib-a":"^1.0.0","lib-b":"*"}'
  echo "app source" >"$r/apps/app/src/app.txt"
  cat >"$r/apps/app/build.sh" <<'SH'
echo "app built"
mkdir -p dist/assets/empty bin
cat ../../packages/lib-a/dist/a.txt ../../packages/lib-b/dist/b.txt src/app.txt >dist/app.txt
printf '#!/bin/sh\necho hello from app\n' >bin/app.sh && chmod 755 bin/app.sh
ln -sfn dist/app.txt latest.txt
SH
  (cd "$r" && git_q init && git_q add -A && git_q commit -m fixture)
}

# Every output with type, mode, link target and content digest.
tree_of() {
  (cd "$1" && find packages/*/dist apps/app/dist apps/app/bin apps/app/latest.txt -printf '%y %m %p %l\n' | sort |
    while read -r type mode path link; do
      if [[ "$type" == f ]]; then echo "$type $mode $path $(sha256sum "$path" | cut -d' ' -f1)"; else echo "$type $mode $path $link"; fi
    done)
}

A="$IT_TMP/a"
make_repo "$A"

# 1. Cold run: every task runs once (the diamond's core once), uploads finish before exit.
run "$A" "$RW"
[[ $rc == 0 ]] || { show; fail "cold run exited $rc"; }
[[ $(wc -l <"$CELLAR_IT_COUNTER") == 1 ]] || { show; fail "core#build ran $(wc -l <"$CELLAR_IT_COUNTER") times"; }
[[ $(count "cache miss, executing") == 4 ]] || { show; fail "cold run: expected 4 misses"; }
grep -q "core:build: core built" "$IT_TMP/out" || { show; fail "live output not prefixed"; }
grep -q "lib-b:build: lib-b built flavor=plain" "$IT_TMP/out" || { show; fail "stderr not captured"; }
[[ -x "$A/apps/app/bin/app.sh" && -L "$A/apps/app/latest.txt" ]] || fail "fixture outputs missing"
[[ $(puts_stored) == 4 ]] || { show; fail "expected 4 uploads stored, metrics say $(puts_stored)"; }
pass "cold run: 4 tasks ran, core#build once, 4 artifacts uploaded"

# 2. Same checkout again: all local hits, logs replayed.
run "$A" "$RW"
[[ $rc == 0 && $(count "cache hit (local), replaying logs") == 4 ]] || { show; fail "second run not all local hits"; }
grep -q "ALL CACHED" "$IT_TMP/out" || { show; fail "no all-cached line"; }
grep -q "core:build: core built" "$IT_TMP/out" || { show; fail "log not replayed"; }
[[ $(wc -l <"$CELLAR_IT_COUNTER") == 1 ]] || fail "a hit ran core#build"
pass "second run: 4 local hits, logs replayed"

# 3. A clean clone at another path: all remote hits, identical outputs.
B="$IT_TMP/elsewhere/b"
mkdir -p "$IT_TMP/elsewhere" && git_q clone "$A" "$B"
run "$B" "$RW" --summarize
[[ $rc == 0 && $(count "cache hit (remote), replaying logs") == 4 ]] || { show; fail "clone not all remote hits"; }
# The uploads declared each task's duration, so the server's dashboard
# counts the remote hits' build time saved: what the run itself reports.
saved_run=$(python3 -c '
import glob, json, sys
runs = glob.glob(sys.argv[1] + "/.cellar/runs/*.json")
assert len(runs) == 1, runs
print(sum(t["cache"]["timeSavedMs"] for t in json.load(open(runs[0]))["tasks"]))' "$B") || fail "reading the run summary"
saved_server=$(curl -sf -H "Authorization: Bearer $ADMIN" "$CELLAR_URL/api/v1/history" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["time_saved_ms"])') || fail "GET /api/v1/history"
[[ "$saved_run" -gt 0 && "$saved_run" == "$saved_server" ]] || fail "build time saved: the run says $saved_run ms, the server $saved_server ms"
rm -rf "$B/.cellar/runs"
grep -q "core:build: core built" "$IT_TMP/out" || { show; fail "remote hit did not replay the log"; }
[[ $(wc -l <"$CELLAR_IT_COUNTER") == 1 ]] || fail "a remote hit ran core#build"
diff <(tree_of "$A") <(tree_of "$B") || fail "restored outputs differ from the originals"
[[ "$(readlink "$B/apps/app/latest.txt")" == dist/app.txt && "$("$B/apps/app/bin/app.sh")" == "hello from app" ]] ||
  fail "symlink or executable not restored as such"
pass "clean clone elsewhere: 4 remote hits, outputs byte-identical (modes, symlink, empty dir), logs replayed"

# 4. One changed input: exactly that task and its dependents re-run.
echo "changed" >>"$B/packages/lib-a/src/a.txt"
run "$B" "$RW"
[[ $rc == 0 && $(count "cache miss, executing") == 2 ]] || { show; fail "changed input: expected 2 misses"; }
grep -q "lib-a:build: cache miss" "$IT_TMP/out" && grep -q "app:build: cache miss" "$IT_TMP/out" &&
  grep -q "core:build: cache hit" "$IT_TMP/out" && grep -q "lib-b:build: cache hit" "$IT_TMP/out" || { show; fail "wrong tasks re-ran"; }
pass "one changed input re-ran lib-a#build and app#build only"

# 5. An env_keys value change re-runs lib-b and its dependent.
LIB_B_FLAVOR=spicy run "$B" "$RW"
[[ $rc == 0 && $(count "cache miss, executing") == 2 ]] || { show; fail "env change: expected 2 misses"; }
grep -q "lib-b:build: cache miss" "$IT_TMP/out" && grep -q "app:build: cache miss" "$IT_TMP/out" || { show; fail "env change re-ran the wrong tasks"; }
[[ "$(cat "$B/packages/lib-b/dist/flavor")" == spicy ]] || fail "env value did not reach the task"
pass "env_keys change re-ran lib-b#build and app#build"

# 6. Remote down: one warning, local build, exit 0.
C="$IT_TMP/c"; git_q clone "$A" "$C"
REMOTE_URL="http://127.0.0.1:1" run "$C" "$RW"
[[ $rc == 0 && $(count "cache miss, executing") == 4 ]] || { show; fail "remote down: exit $rc"; }
[[ $(count "warning") == 1 ]] || { show; fail "remote down: expected exactly one warning"; }
pass "remote down: one warning, everything built locally, exit 0"

# 7. Read-only token: hits work, nothing is uploaded, one clear message.
D="$IT_TMP/d"; git_q clone "$A" "$D"
echo "ro change" >>"$D/packages/lib-b/src/b.txt"
before=$(puts_stored)
run "$D" "$RO"
[[ $rc == 0 ]] || { show; fail "read-only run exited $rc"; }
[[ $(count "cache hit (remote)") == 2 && $(count "cache miss") == 2 ]] || { show; fail "read-only: expected 2 remote hits, 2 misses"; }
grep -qi "upload.*disabled\|disabled.*upload" "$IT_TMP/out" || { show; fail "read-only: no message that uploads are disabled"; }
[[ $(puts_stored) == "$before" ]] || fail "read-only token uploaded something"
pass "read-only token: remote hits, no uploads, says uploads are disabled"

# 8. Two runs at once on two checkouts: each new artifact uploaded once.
E="$IT_TMP/e"; F="$IT_TMP/f"; git_q clone "$A" "$E"; git_q clone "$A" "$F"
before=$(puts_stored)
(cd "$E" && CELLAR_REMOTE_URL="$CELLAR_URL" CELLAR_TOKEN="$RW" LIB_B_FLAVOR=concurrent "$CELLAR_BIN" run build >"$IT_TMP/out-e" 2>&1) &
pe=$!
(cd "$F" && CELLAR_REMOTE_URL="$CELLAR_URL" CELLAR_TOKEN="$RW" LIB_B_FLAVOR=concurrent "$CELLAR_BIN" run build >"$IT_TMP/out-f" 2>&1) &
pf=$!
wait $pe || { cat "$IT_TMP/out-e"; fail "concurrent run e failed"; }
wait $pf || { cat "$IT_TMP/out-f"; fail "concurrent run f failed"; }
[[ $(( $(puts_stored) - before )) == 2 ]] || { cat "$IT_TMP/out-e" "$IT_TMP/out-f"; fail "concurrent runs stored $(( $(puts_stored) - before )) artifacts, want 2"; }
pass "two concurrent runs: the 2 new artifacts were each stored once"

# 9. SIGINT mid-run: children stopped, exit 130, no partial entry in either cache.
G="$IT_TMP/g"; git_q clone "$A" "$G"
echo "sigint change" >>"$G/packages/core/src/core.txt"
before=$(puts_stored)
(cd "$G" && CELLAR_REMOTE_URL="$CELLAR_URL" CELLAR_TOKEN="$RW" IT_SLEEP=37.25 exec "$CELLAR_BIN" run build >"$IT_TMP/out" 2>&1) &
pg=$!
for i in $(seq 1 100); do grep -q "core built" "$IT_TMP/out" 2>/dev/null && break; sleep 0.1; done
kill -INT $pg
set +e; wait $pg; rc=$?; set -e
[[ $rc == 130 ]] || { show; fail "SIGINT: exit $rc, want 130"; }
sleep 0.5
pgrep -f "sleep 37.25" >/dev/null && fail "the task's sleep survived SIGINT"
[[ -z "$(find "$G/.cellar/cache" -type f 2>/dev/null)" ]] || { find "$G/.cellar/cache"; fail "SIGINT left files in the local cache"; }
[[ $(puts_stored) == "$before" ]] || fail "SIGINT: something was uploaded"
pass "SIGINT mid-run: exit 130, task group stopped, nothing in either cache"

# 10. Clear failures: a cycle and a YAML error.
H="$IT_TMP/h"; mkdir -p "$H/packages/x" "$H/packages/y"
echo '{"name":"cyc","private":true,"workspaces":["packages/*"]}' >"$H/package.json"
echo '{"name":"x","dependencies":{"y":"1.0.0"}}' >"$H/packages/x/package.json"
echo '{"name":"y","dependencies":{"x":"1.0.0"}}' >"$H/packages/y/package.json"
printf 'version: 1\npipeline:\n  build:\n    command: "true"\n    depends_on: ["^build"]\n' >"$H/cellar.yml"
run "$H" ""
[[ $rc != 0 ]] && grep -q "cycle" "$IT_TMP/out" || { show; fail "cycle not refused clearly"; }
grep -q "x#build" "$IT_TMP/out" || { show; fail "cycle message does not name the tasks"; }
printf 'version: 1\npipeline:\n  build:\n    command: "true"\n   outputs: [dist\n' >"$H/cellar.yml"
run "$H" ""
[[ $rc != 0 ]] && grep -q "cellar.yml:[0-9]*:[0-9]*" "$IT_TMP/out" || { show; fail "YAML error without file:line:col"; }
pass "a cycle and a YAML error: non-zero exit, clear messages"

# 11. VelocityCache's README velocity.yml, unchanged (its remote at localhost:8080 is not there).
V="$IT_TMP/v"; mkdir -p "$V/packages/lib/src" "$V/apps/web/src"
cat >"$V/velocity.yml" <<'YAML'
version: 1
remote:
  enabled: true
  url: "http://localhost:8080"
  token: "${VC_AUTH_TOKEN}" # Supports env var expansion

pipeline:
  build:
    command: "npm run build"
    inputs:
      - "src/**"
      - "package.json"
    outputs:
      - "dist/**"
    depends_on:
      - "^build" # Topological dependency
YAML
echo '{"name":"velo","private":true}' >"$V/package.json"
echo '{"name":"lib","version":"1.0.0","scripts":{"build":"mkdir -p dist && cp src/x.js dist/"}}' >"$V/packages/lib/package.json"
echo 'x' >"$V/packages/lib/src/x.js"
echo '{"name":"web","version":"1.0.0","dependencies":{"lib":"^1.0.0"},"scripts":{"build":"mkdir -p dist && cp ../../packages/lib/dist/x.js dist/ && cp src/y.js dist/"}}' >"$V/apps/web/package.json"
echo 'y' >"$V/apps/web/src/y.js"
set +e
(cd "$V" && VC_AUTH_TOKEN=secret-token "$CELLAR_BIN" run build) >"$IT_TMP/out" 2>&1; rc=$?
set -e
[[ $rc == 0 && -f "$V/apps/web/dist/x.js" ]] || { show; fail "VelocityCache README example did not run"; }
grep -q "lib:build: cache miss" "$IT_TMP/out" && grep -q "web:build: cache miss" "$IT_TMP/out" || { show; fail "README example: tasks not run"; }
set +e
(cd "$V" && VC_AUTH_TOKEN=secret-token "$CELLAR_BIN" run build) >"$IT_TMP/out" 2>&1; rc=$?
set -e
[[ $rc == 0 && $(count "cache hit (local)") == 2 ]] || { show; fail "README example: second run not local hits"; }
pass "the VelocityCache README velocity.yml runs unchanged (remote absent: warning), then hits locally"

# 12. --dry=json, --summarize, clean.
run "$B" "$RW" --dry=json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t={x["taskId"]:x for x in d["tasks"]}; assert set(t)=={"core#build","lib-a#build","lib-b#build","app#build"}; assert t["app#build"]["dependencies"]==["lib-a#build","lib-b#build"]; assert "src/core.txt" in t["core#build"]["inputs"], t["core#build"]["inputs"]' "$IT_TMP/out" ||
  { show; fail "--dry=json"; }
run "$B" "$RW" --summarize
summary=$(grep -o '/[^ ]*\.cellar/runs/[^ ]*\.json' "$IT_TMP/out")
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["totals"]["total"]==4; assert all("cache" in t for t in d["tasks"])' "$summary" || fail "--summarize"
(cd "$B" && "$CELLAR_BIN" clean >/dev/null) && [[ ! -d "$B/.cellar" ]] || fail "cellar clean left .cellar"
pass "--dry=json lists tasks, deps and inputs; --summarize writes .cellar/runs; clean removes .cellar"

# 13. Malicious remote artifacts are refused: an entry with '../', an absolute
# path, or one written through a symlink that leaves the package, stored under
# core#build's hash by a writer with a token. Each run treats it as a miss
# (one warning naming the artifact), builds core itself, writes nothing
# outside the package, and exits 0.
put_artifact() {  # put_artifact HASH FILE: upload FILE under HASH through the negotiate API
  python3 - "$CELLAR_URL" "$RW" "$1" "$2" <<'PY'
import json, sys, urllib.request
base, token, key, path = sys.argv[1:]
body = open(path, "rb").read()
req = urllib.request.Request(base + "/v1/negotiate", method="POST",
    data=json.dumps({"hash": key, "action": "upload"}).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
ans = json.load(urllib.request.urlopen(req))
assert ans["status"] == "upload_needed", ans
urllib.request.urlopen(urllib.request.Request(ans["url"], data=body, method="PUT")).read()
PY
}
# evil_artifact KIND OUT: a tar.zst in the artifact layout (meta.json, log,
# files/...) whose one bad entry is of KIND.
evil_artifact() {
  python3 - "$1" "$2.tar" "$IT_TMP" <<'PY'
import io, json, sys, tarfile
kind, out, victim = sys.argv[1:]
def add(t, name, data=b"", typ=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name); ti.type = typ; ti.linkname = link; ti.mode = 0o644; ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if data else None)
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    add(t, "meta.json", json.dumps({"format": 1, "task": "core#build", "duration_ms": 1, "log_bytes": 0}).encode())
    add(t, "log")
    add(t, "files/dist/", typ=tarfile.DIRTYPE)
    if kind == "dotdot":
        add(t, "files/dist/../../../escaped-dotdot", b"pwned\n")
    elif kind == "absolute":
        add(t, victim + "/escaped-absolute", b"pwned\n")
    else:  # a link out of the package, then a file written through it
        add(t, "files/dist/out", typ=tarfile.SYMTYPE, link=victim)
        add(t, "files/dist/out/escaped-symlink", b"pwned\n")
    add(t, "files/dist/core.txt", b"not what core builds\n")
PY
  zstd -q --check -f "$2.tar" -o "$2" && rm -f "$2.tar"
}
M="$IT_TMP/m"
make_repo "$M"
for kind in dotdot absolute symlink; do
  echo "core source for $kind" >"$M/packages/core/src/core.txt"
  rm -rf "$M/.cellar" "$M/packages/core/dist"
  run "$M" "$RW" --dry=json
  core_hash=$(python3 -c 'import json,sys; print({t["taskId"]: t["hash"] for t in json.load(open(sys.argv[1]))["tasks"]}["core#build"])' "$IT_TMP/out")
  evil_artifact "$kind" "$IT_TMP/evil-$kind.tar.zst"
  put_artifact "$core_hash" "$IT_TMP/evil-$kind.tar.zst" || fail "could not store the $kind artifact"
  run "$M" "$RW" -p core
  [[ $rc == 0 ]] || { show; fail "$kind artifact: run failed"; }
  grep -q "core:build: cache miss, executing" "$IT_TMP/out" && grep -q "could not be restored" "$IT_TMP/out" ||
    { show; fail "$kind artifact: not refused as a miss with a warning"; }
  [[ "$(cat "$M/packages/core/dist/core.txt")" == "core source for $kind" ]] || fail "$kind artifact: core's own output missing"
  [[ -z "$(find "$IT_TMP" -maxdepth 4 -name 'escaped-*' -print -quit)" ]] || fail "$kind artifact wrote outside the package"
done
pass "malicious remote artifacts ('../', absolute path, write through a symlink) are refused: a miss with a warning, nothing written outside"

# 14. Run inside a package: only that package and what it needs (as turbo
# scopes a run to the current package).
S="$IT_TMP/s"
make_repo "$S"
run "$S/packages/lib-a" "$RW"
[[ $rc == 0 ]] || { show; fail "run inside packages/lib-a exited $rc"; }
grep -q "lib-a:build: cache" "$IT_TMP/out" && grep -q "core:build: cache" "$IT_TMP/out" || { show; fail "scoped run skipped lib-a or core"; }
! grep -q "app:build\|lib-b:build" "$IT_TMP/out" || { show; fail "run inside packages/lib-a ran other packages"; }
grep -q "in package lib-a" "$IT_TMP/out" || { show; fail "scoping not announced"; }
pass "a run inside packages/lib-a builds lib-a and core only"

# 15. Where a file's identity comes from never hides a change. In a git
# checkout, git's index vouches for every clean tracked input: a run reads no
# input file, so nothing goes into .cellar/file-digests. Outside git (a copy
# without .git), once the sources are older than its racy window, a full hit
# answers them from the digest memo. In both, a same-size edit with the old
# mtime put back must still miss.
same_size_edit() {  # same_size_edit DIR TEXT: rewrite core.txt with TEXT (as long as "core source"), old mtime
  local f="$1/packages/core/src/core.txt"
  touch -r "$f" "$IT_TMP/stamp"
  printf '%s\n' "$2" >"$f"
  touch -r "$IT_TMP/stamp" "$f"
}
sleep 3
run "$S" "$RW"
[[ $rc == 0 && $(count "cache hit (") == 4 ]] || { show; fail "git checkout: expected 4 hits"; }
[[ ! -e "$S/.cellar/file-digests" ]] || fail "a run in a clean git checkout read input files ($(stat -c %s "$S/.cellar/file-digests") bytes of memo)"
same_size_edit "$S" "CORE SOURCE"
run "$S" "$RW"
[[ $rc == 0 ]] && grep -q "core:build: cache miss, executing" "$IT_TMP/out" || { show; fail "git checkout: same-size edit with the old mtime was a hit"; }
[[ "$(cat "$S/packages/core/dist/core.txt")" == "CORE SOURCE" ]] || fail "core not rebuilt from the edited source"
N="$IT_TMP/no-git"
make_repo "$N" && rm -rf "$N/.git"
sleep 3
run "$N" "$RW"
[[ $rc == 0 && -s "$N/.cellar/file-digests" ]] || { show; fail "no digest memo after a run outside git"; }
# 64 bytes of header and checksum, 72 per file: the 4 packages' sources, build.sh and package.json.
(( $(stat -c %s "$N/.cellar/file-digests") == 64 + 72 * 12 )) || fail "memo does not hold exactly the 12 input files"
run "$N" "$RW"
[[ $rc == 0 && $(count "cache hit (local)") == 4 ]] || { show; fail "memo run: expected 4 local hits"; }
same_size_edit "$N" "Core Source"   # content no run has built yet
run "$N" "$RW"
[[ $rc == 0 ]] && grep -q "core:build: cache miss, executing" "$IT_TMP/out" || { show; fail "outside git: same-size edit with the old mtime was a hit"; }
[[ "$(cat "$N/packages/core/dist/core.txt")" == "Core Source" ]] || fail "core not rebuilt from the edited source outside git"
pass "clean tracked inputs come from git's index unread, the memo answers unchanged files outside git, and neither hides a same-size edit with the old mtime"

# 16. A local hit whose outputs are untouched since they last matched the
# artifact replays the log without extracting it; an edited or deleted output
# is restored by the next hit all the same.
T="$IT_TMP/t"
make_repo "$T"
run "$T" "$RW"
[[ $rc == 0 ]] || { show; fail "stamp fixture: first run exited $rc"; }
sleep 3   # past the racy window: the next hit compares, then stamps
run "$T" "$RW"
[[ $rc == 0 && $(count "cache hit (local)") == 4 ]] || { show; fail "stamp fixture: expected 4 local hits"; }
(( $(ls "$T/.cellar/outputs" | wc -l) == 4 )) || fail "expected 4 output stamps, found $(ls "$T/.cellar/outputs" 2>/dev/null | wc -l)"
cp "$T/apps/app/dist/app.txt" "$IT_TMP/app.txt.good"
run "$T" "$RW"
[[ $rc == 0 && $(count "cache hit (local), replaying logs") == 4 ]] || { show; fail "stamped run: expected 4 local hits"; }
grep -q "app:build: app built" "$IT_TMP/out" || { show; fail "stamped hit did not replay the log"; }
printf 'tampered\n' >"$T/apps/app/dist/app.txt"
rm -f "$T/packages/core/dist/core.txt"
run "$T" "$RW"
[[ $rc == 0 && $(count "cache hit (local)") == 4 ]] || { show; fail "after edits: expected 4 local hits"; }
cmp -s "$T/apps/app/dist/app.txt" "$IT_TMP/app.txt.good" || fail "an edited output was not restored by a stamped hit"
[[ "$(cat "$T/packages/core/dist/core.txt" 2>/dev/null)" == "core source" ]] || fail "a deleted output was not restored by a stamped hit"
pass "untouched outputs of local hits are not extracted again; edited and deleted ones are restored"
