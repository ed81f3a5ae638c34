# Helpers for the git integration tests (source after lib.sh): an isolated
# git client environment, synthetic upstream repositories, the fake upstream
# (fake_git_upstream.py: git http-backend behind a small HTTP server) and
# queries on its request log.
#
# Variables set here: IT_DIR, UP_ROOT (GIT_PROJECT_ROOT of the fake),
# UP_PORT, UP_URL, UP_LOG, UP_CTL (control directory), UP_PID.

IT_DIR="${IT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"

# git_client_env: every git (client, fixture builder) gets its own HOME with a
# minimal global config, no system config and no prompts; nothing from the
# caller's environment may steer git elsewhere.
git_client_env() {
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
  unset GIT_CONFIG GIT_CONFIG_GLOBAL GIT_CONFIG_COUNT GIT_CONFIG_PARAMETERS GIT_PROTOCOL
  unset GIT_ASKPASS SSH_ASKPASS GIT_SSL_NO_VERIFY GIT_TRACE GIT_TRACE_PACKET GIT_CURL_VERBOSE
  unset NO_PROXY no_proxy
  export HOME="$IT_TMP/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
  export GIT_AUTHOR_NAME="A U Thor" GIT_AUTHOR_EMAIL=author@example.com
  export GIT_COMMITTER_NAME="C O Mitter" GIT_COMMITTER_EMAIL=committer@example.com
  mkdir -p "$HOME"
  cat >"$HOME/.gitconfig" <<'EOF'
[user]
	name = A U Thor
	email = author@example.com
[init]
	defaultBranch = main
[advice]
	detachedHead = false
[gc]
	auto = 0
[maintenance]
	auto = false
EOF
}

# --- synthetic repositories ------------------------------------------------

# _new_bare DIR: an empty bare repository with the upstream configuration.
_new_bare() {
  git init -q --bare -b main "$1"
  git -C "$1" config uploadpack.allowFilter true
  git -C "$1" config uploadpack.allowReachableSHA1InWant true
}

# make_small_repo DIR [SALT]: a bare repository with
#   main:  c1 (README.md, src/main.c, bin/tool.sh 100755, link -> README.md,
#          data/blob.bin) -> c2 (src/main.c changed, docs/guide.md)
#          -> c3 (README.md changed)
#   feature: c2 -> c4 (feature.txt)
#   refs/pull/1/head: c3 -> p1 (pr.txt) -> p2 (pr.txt changed): reachable
#          only from there
#   tags: v0.1 (lightweight, c1), v1.0 (annotated, c3)
# SALT makes the content (and every oid) differ between repositories.
make_small_repo() {
  local dir="$1" salt="${2:-}"
  _new_bare "$dir"
  git -C "$dir" fast-import --quiet <<EOF
commit refs/heads/main
mark :1
author A U Thor <author@example.com> 1700000000 +0000
committer C O Mitter <committer@example.com> 1700000000 +0000
data <<MSG
initial $salt
MSG
M 100644 inline README.md
data <<DATA
# small $salt
DATA
M 100644 inline src/main.c
data <<DATA
int main(void) { return 0; } /* $salt */
DATA
M 100755 inline bin/tool.sh
data <<DATA
#!/bin/sh
echo tool $salt
DATA
M 120000 inline link
data <<DATA
README.md
DATA
M 100644 inline data/blob.bin
data <<DATA
$(head -c 3000 /dev/zero | tr '\0' 'x')$salt
DATA

commit refs/heads/main
mark :2
author A U Thor <author@example.com> 1700000100 +0000
committer C O Mitter <committer@example.com> 1700000100 +0000
data <<MSG
second $salt
MSG
from :1
M 100644 inline src/main.c
data <<DATA
int main(void) { return 1; } /* $salt */
DATA
M 100644 inline docs/guide.md
data <<DATA
guide $salt
DATA

commit refs/heads/main
mark :3
author A U Thor <author@example.com> 1700000200 +0000
committer C O Mitter <committer@example.com> 1700000200 +0000
data <<MSG
third $salt
MSG
from :2
M 100644 inline README.md
data <<DATA
# small $salt, third revision
DATA

commit refs/heads/feature
mark :4
author A U Thor <author@example.com> 1700000300 +0000
committer C O Mitter <committer@example.com> 1700000300 +0000
data <<MSG
feature work $salt
MSG
from :2
M 100644 inline feature.txt
data <<DATA
feature $salt
DATA

commit refs/pull/1/head
mark :5
author P R Author <pr@example.com> 1700000400 +0000
committer P R Author <pr@example.com> 1700000400 +0000
data <<MSG
pull request, first commit $salt
MSG
from :3
M 100644 inline pr.txt
data <<DATA
pr one $salt
DATA

commit refs/pull/1/head
mark :6
author P R Author <pr@example.com> 1700000500 +0000
committer P R Author <pr@example.com> 1700000500 +0000
data <<MSG
pull request, second commit $salt
MSG
from :5
M 100644 inline pr.txt
data <<DATA
pr two $salt
DATA

reset refs/tags/v0.1
from :1

tag v1.0
from :3
tagger T Agger <tagger@example.com> 1700000600 +0000
data <<MSG
release 1.0 $salt
MSG

EOF
}

# make_medium_repo DIR SEED [COMMITS]: a bare repository with COMMITS (200)
# commits on main over 40 files of incompressible text (about 1.5 MB
# packed), a tag every 50 commits and a side branch.
make_medium_repo() {
  local dir="$1" seed="$2" n="${3:-200}"
  _new_bare "$dir"
  python3 - "$seed" "$n" <<'PY' | git -C "$dir" fast-import --quiet
import base64, random, sys
seed, n = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)
out = sys.stdout.buffer
def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
for i in range(1, n + 1):
    t = 1700000000 + i * 60
    out.write(b"commit refs/heads/main\nmark :%d\n" % i)
    out.write(b"author A U Thor <author@example.com> %d +0000\n" % t)
    out.write(b"committer C O Mitter <committer@example.com> %d +0000\n" % t)
    data(b"commit %d of %d (seed %d)\n" % (i, n, seed))
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
    for _ in range(3):
        f = rnd.randrange(40)
        body = base64.encodebytes(rnd.randbytes(1800))
        out.write(b"M 100644 inline dir%d/file%02d.txt\n" % (f % 4, f))
        data(body)
    if i % 50 == 0:
        out.write(b"reset refs/tags/r%d\nfrom :%d\n\n" % (i, i))
    if i == n // 2:
        out.write(b"reset refs/heads/side\nfrom :%d\n\n" % i)
out.write(b"commit refs/heads/side\nmark :%d\n" % (n + 1))
out.write(b"author A U Thor <author@example.com> 1800000000 +0000\n")
out.write(b"committer C O Mitter <committer@example.com> 1800000000 +0000\n")
data(b"side branch commit\n")
out.write(b"M 100644 inline side.txt\n")
data(b"side\n")
PY
}

# make_upstream_repos ROOT: the repositories the git tests use.
#   acme/small.git, acme/tools.git (same shape, other content), acme/never.git
#   (never fetched through cellar), empty.git, medium.git, medium2.git,
#   private/secret.git, private/secret2.git.
make_upstream_repos() {
  local root="$1"
  mkdir -p "$root/acme" "$root/private"
  make_small_repo "$root/acme/small.git" small
  make_small_repo "$root/acme/tools.git" tools
  make_small_repo "$root/acme/never.git" never
  make_small_repo "$root/private/secret.git" secret
  make_small_repo "$root/private/secret2.git" secret2
  _new_bare "$root/empty.git"
  make_medium_repo "$root/medium.git" 1
  make_medium_repo "$root/medium2.git" 2
}

# --- fake upstream -----------------------------------------------------------

# start_fake_git_upstream ROOT: serves ROOT; sets UP_PORT, UP_URL, UP_LOG,
# UP_CTL and UP_PID. The server (and the git http-backend it runs) gets a
# HOME of its own, so nothing of the clients' configuration applies to it.
start_fake_git_upstream() {
  UP_ROOT="$1"
  UP_LOG="$IT_TMP/upstream.log"
  UP_CTL="$IT_TMP/upstream-control"
  mkdir -p "$UP_CTL" "$IT_TMP/upstream-home"
  rm -f "$IT_TMP/upstream.port"
  HOME="$IT_TMP/upstream-home" python3 "$IT_DIR/fake_git_upstream.py" "$UP_ROOT" "$IT_TMP/upstream.port" \
    "$UP_LOG" "$UP_CTL" >"$IT_TMP/upstream.err" 2>&1 &
  UP_PID=$!
  CELLAR_PIDS+=("$UP_PID")  # stopped with the cellar servers at exit
  local _
  for _ in $(seq 1 200); do
    [[ -s "$IT_TMP/upstream.port" ]] && break
    kill -0 "$UP_PID" 2>/dev/null || break
    sleep 0.05
  done
  [[ -s "$IT_TMP/upstream.port" ]] || { cat "$IT_TMP/upstream.err" >&2; fail "fake git upstream did not start"; }
  UP_PORT="$(cat "$IT_TMP/upstream.port")"
  UP_URL="http://127.0.0.1:$UP_PORT"
}

# up_fault NAME [CONTENT]: switch a fault on (down, refuse, slow, slow_pack,
# trickle); up_clear NAME...: switch faults off.
up_fault() { printf '%s\n' "${2:-}" >"$UP_CTL/$1"; }
up_clear() { local f; for f in "$@"; do rm -f "$UP_CTL/$f"; done; }

# up_mark: the number of lines in the upstream log (a position for up_count).
up_mark() { wc -l <"$UP_LOG" | tr -d ' '; }
# up_count SINCE FILTER...: log entries after line SINCE matching every
# FILTER (key=value, key~=substring; see fake_git_upstream.py --query).
up_count() {
  local since="$1"; shift
  python3 "$IT_DIR/fake_git_upstream.py" --query "$UP_LOG" "--since=$since" "$@"
}
# up_packs SINCE REPO: upstream pack POSTs (git-upload-pack, v2 fetch or v0)
# for REPO (as in the upstream URL, e.g. acme/small.git) after line SINCE.
up_packs() { up_count "$1" pack=true "repo=$2"; }
# up_since SINCE: the raw log entries after line SINCE (for messages).
up_since() { tail -n "+$(($1 + 1))" "$UP_LOG"; }

# --- git helpers ---------------------------------------------------------------

# kill_tree_9 PID: SIGKILL a process and all its descendants (a crash of the
# whole service: every process is stopped first, so none can spawn more).
kill_tree_9() {
  local all=("$1") frontier=("$1") next p c
  kill -STOP "$1" 2>/dev/null || true
  while ((${#frontier[@]})); do
    next=()
    for p in "${frontier[@]}"; do
      for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
        kill -STOP "$c" 2>/dev/null || true
        next+=("$c"); all+=("$c")
      done
    done
    frontier=("${next[@]}")
  done
  kill -KILL "${all[@]}" 2>/dev/null || true
}

# bare_repos_under DIR: every bare git repository below DIR (HEAD + objects/ + refs/).
bare_repos_under() {
  find "$1" -name HEAD -type f 2>/dev/null | while read -r h; do
    local d; d="$(dirname "$h")"
    [[ -d "$d/objects" && -d "$d/refs" ]] && echo "$d"
  done
  return 0
}

# refs_resolve GITDIR: fails (and prints the refs) when a ref of GITDIR names
# an object that is missing.
refs_resolve() {
  local missing
  missing="$(git --git-dir="$1" for-each-ref --format='%(objectname)' |
    git --git-dir="$1" cat-file --batch-check 2>&1 | grep ' missing$' || true)"
  [[ -z "$missing" ]] || { echo "$missing"; return 1; }
}
