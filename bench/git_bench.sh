#!/usr/bin/env bash
# Clone time and upstream bytes of a medium git repository (~75 MB packed,
# 5,000 commits), in one run, for:
#   file    reference: `git clone file://<bare repo>` (no HTTP, no network);
#   direct  `git clone http://UPSTREAM/bench.git` straight from the upstream;
#   cold    the same through cellar's git proxy (url.<cellar>.insteadOf), a
#           new cellar with an empty data dir every run;
#   warm    through cellar, its mirror present (one cellar, empty client dir
#           every run);
#   local   `cellar git clone --server CELLAR --cache-dir DIR`, the runner's
#           local mirror present (the "local tier"), a new checkout dir;
# each over two networks between the root namespace (clients, cellar) and the
# upstream (its own network namespace):
#   lan     a plain veth pair, no qdisc;
#   wan     40 ms RTT and 100 Mbit/s each way. This kernel has no netem
#           (CONFIG_NET_SCH_NETEM is not set and modules are disabled), so
#           the delay is bench/git_bench_net.py's userspace packet delay line
#           between two TUN devices (20 ms each way, packets kept in order,
#           TCP end to end: handshakes and slow start see the RTT) and the
#           rate a tbf qdisc (100mbit, burst 32kb, latency 40ms) on both
#           TUN devices' egress. With netem present the script still uses this
#           path, so numbers stay comparable between machines.
# Only the upstream sits behind the WAN: cellar's upstream side (cold fills,
# ref listings) crosses it, cellar <-> client is loopback, as on a CI LAN.
#
#   sudo bash bench/git_bench.sh [RUNS]     (default 3; median per cell)
#   COMMITS=5000 SEED=20261130              the generated repository
#   DELAY_MS=20 RATE=100mbit                the emulated WAN (one-way delay)
#   REPO_CACHE=tools/bench/git              where generated repositories are
#                                           kept (gitignored; keyed by the
#                                           generator's hash and arguments)
#   CLONE_DIR=DIR                           client checkouts and the runner's
#                                           local-tier cache (default /dev/shm
#                                           when it is a tmpfs with room)
#
# The upstream is tests/integration/fake_git_upstream.py (git 2.39 http-backend
# behind a small Python HTTP/1.1 server) started through git_bench_net.py so
# it can listen on the namespace's addresses. The repository comes from
# bench/make_git_bench_repo.py (deterministic: same commit ids every time),
# packed with `git repack -adf` (bitmaps on, as git does for bare repos) and
# cached; the first run builds it (~1 min). Upstream bytes are the fake's own
# log (response body bytes of every request during the clone); "wire" is
# rx+tx of the root-side device of the network used (IP packets, both
# directions). Every clone is checked (HEAD is the expected commit, all refs
# present). Untimed warm-ups first: one file:// clone (page cache), one clone
# through the warm cellar per network (fills its mirrors) and one
# `cellar git clone` per network (creates the local mirrors); then RUNS rounds
# over the 9 cells, order rotated every round. Prints every run, a table of
# medians (wall s; "server s", the longest response of the server the client
# talked to, from the fake's log or cellar's access log; upstream MB; wire MB)
# and the ratios. cellar runs from a copy of the binary taken at start (a
# rebuild in build/ during the run cannot swap it). Needs root (ip netns,
# tun, tc), iproute2, git, python3, chrt (util-linux; else nice), a build
# (scripts/build.sh). ~5 min on the 2-core VM at 3 rounds, +1-1.5 min the
# first time (generating the repository, 75 MB in REPO_CACHE); space: ~0.3 GB
# in /tmp, ~0.3 GB in CLONE_DIR at a time. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR="$PWD"
RUNS="${1:-3}"
COMMITS="${COMMITS:-5000}"
SEED="${SEED:-20261130}"
DELAY_MS="${DELAY_MS:-20}"
RATE="${RATE:-100mbit}"
REPO_CACHE="${REPO_CACHE:-tools/bench/git}"
BUILD="${BUILD:-build}"
CELLAR="$(readlink -f "$BUILD/src/cli/cellar" 2>/dev/null || true)"
die() { echo "git_bench: $*" >&2; exit 1; }
source bench/bench_lib.sh  # the script runs from the repository root
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ -n "$CELLAR" && -x "$CELLAR" ]] || die "no cellar binary at $BUILD/src/cli/cellar; build first: scripts/build.sh"
[[ $EUID -eq 0 ]] || die "needs root (network namespaces, TUN devices, tc)"
for c in ip tc git python3; do
  command -v "$c" >/dev/null || die "$c is not installed (ip/tc: apt-get install iproute2)"
done
[[ -c /dev/net/tun ]] || die "no /dev/net/tun (kernel without CONFIG_TUN)"
T_START=$EPOCHREALTIME

# --- the repository (cached) ------------------------------------------------------
KEY=$( { sha256sum bench/make_git_bench_repo.py | cut -c1-64; echo "$COMMITS $SEED"; } | sha256sum | cut -c1-16)
REPO_ROOT="$ROOT_DIR/$REPO_CACHE/$KEY"
REPO="$REPO_ROOT/bench.git"
if [[ ! -f "$REPO_ROOT/done" ]]; then
  echo "git_bench: generating the repository into $REPO_ROOT (cached for later runs) ..."
  rm -rf "$REPO_ROOT" "$REPO_ROOT.tmp"
  mkdir -p "$REPO_ROOT.tmp"
  (
    export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    t0=$EPOCHREALTIME
    git init -q --bare -b main "$REPO_ROOT.tmp/bench.git"
    git -C "$REPO_ROOT.tmp/bench.git" config uploadpack.allowFilter true
    git -C "$REPO_ROOT.tmp/bench.git" config uploadpack.allowReachableSHA1InWant true
    python3 bench/make_git_bench_repo.py --commits "$COMMITS" --seed "$SEED" |
      git -C "$REPO_ROOT.tmp/bench.git" fast-import --quiet
    git -C "$REPO_ROOT.tmp/bench.git" repack -adf -q
    git -C "$REPO_ROOT.tmp/bench.git" gc -q --prune=now
    echo "generated in $(python3 -c "print(f'{$EPOCHREALTIME - $t0:.0f}')") s" >"$REPO_ROOT.tmp/done"
  ) || { rm -rf "$REPO_ROOT.tmp"; die "generating the repository failed"; }
  mv "$REPO_ROOT.tmp" "$REPO_ROOT"
fi
HEAD_OID=$(git --git-dir="$REPO" rev-parse main)
NREFS=$(git --git-dir="$REPO" for-each-ref | wc -l)
PACK_BYTES=$(find "$REPO/objects/pack" -name '*.pack' -printf '%s\n' | awk '{s += $1} END {print s}')
NPACKS=$(find "$REPO/objects/pack" -name '*.pack' | wc -l)
NOBJ=$(git --git-dir="$REPO" count-objects -v | awk '$1 == "in-pack:" {print $2}')
NCOMMITS=$(git --git-dir="$REPO" rev-list --count --all)
BITMAP=no; compgen -G "$REPO/objects/pack/*.bitmap" >/dev/null && BITMAP=yes

# --- scratch space, cleanup ---------------------------------------------------------
WORK="$(mktemp -d /tmp/cellar-gitbench.XXXXXX)"
if [[ -z "${CLONE_DIR:-}" ]]; then
  CLONE_DIR="$WORK"
  if [[ -d /dev/shm && -w /dev/shm && "$(stat -f -c %T /dev/shm)" == tmpfs ]] &&
     (( $(df -Pk /dev/shm | awk 'NR == 2 {print $4}') > 2 * 1024 * 1024 )); then
    CLONE_DIR=/dev/shm
  fi
fi
CLONES="$(mktemp -d "$CLONE_DIR/cellar-gitbench-clones.XXXXXX")"
# A private copy of the binary: a rebuild in $BUILD during the run must not
# swap it (or make it vanish) under the benchmark.
for _ in $(seq 60); do
  cp "$CELLAR" "$WORK/cellar" 2>/dev/null && "$WORK/cellar" version >/dev/null 2>&1 && break
  sleep 1
done
"$WORK/cellar" version >/dev/null 2>&1 || die "cannot run a copy of $CELLAR"
CELLAR_INFO="$(date -r "$CELLAR" '+%F %T') sha256 $(sha256sum "$WORK/cellar" | cut -c1-12)"
CELLAR="$WORK/cellar"
TAG="cgb$$"                    # namespace and device names (<= 15 chars)
NS="$TAG"; VETH="${TAG}v"; VETH_NS="${TAG}w"; TUN="${TAG}r"; TUN_NS="${TAG}u"
NET_UP=0; UP_PID=""; DELAY_PID=""; CELLAR_PID=""; WCELLAR_PID=""
stop_pid() {  # stop_pid PID: TERM, wait (it is our child)
  [[ -n "$1" ]] || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  stop_pid "$CELLAR_PID"; stop_pid "$WCELLAR_PID"; stop_pid "$UP_PID"; stop_pid "$DELAY_PID"
  if ((NET_UP)); then
    ip netns del "$NS" 2>/dev/null
    ip link del "$TUN" 2>/dev/null
    ip link del "$VETH" 2>/dev/null
  fi
  rm -rf "$CLONES" "$WORK"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the network ------------------------------------------------------------------------
# Two /24s nobody on this host uses: 10.N.1.0 (veth, "lan"), 10.N.2.0 (tun, "wan").
OCT=""
for _ in $(seq 50); do
  n=$((100 + RANDOM % 150))
  ip -o addr show | grep -q " 10\.$n\." || { OCT=$n; break; }
done
[[ -n "$OCT" ]] || die "no free 10.N.0.0/16 for the benchmark network"
LAN_HOST="10.$OCT.1.2"; WAN_HOST="10.$OCT.2.2"
NET_UP=1
ip netns add "$NS" || die "ip netns add failed (kernel without CONFIG_NET_NS?)"
ip -n "$NS" link set lo up
ip link add "$VETH" type veth peer name "$VETH_NS" netns "$NS" || die "cannot create a veth pair"
ip addr add "10.$OCT.1.1/24" dev "$VETH"; ip link set "$VETH" up
ip -n "$NS" addr add "$LAN_HOST/24" dev "$VETH_NS"; ip -n "$NS" link set "$VETH_NS" up
ip tuntap add dev "$TUN" mode tun || die "cannot create a TUN device"
ip -n "$NS" tuntap add dev "$TUN_NS" mode tun || die "cannot create a TUN device in the namespace"
ip addr add "10.$OCT.2.1/24" dev "$TUN"; ip link set "$TUN" up
ip -n "$NS" addr add "$WAN_HOST/24" dev "$TUN_NS"; ip -n "$NS" link set "$TUN_NS" up
TBF=(tbf rate "$RATE" burst 32kb latency 40ms)
tc qdisc add dev "$TUN" root "${TBF[@]}" || die "tc tbf failed (kernel without CONFIG_NET_SCH_TBF?)"
tc -n "$NS" qdisc add dev "$TUN_NS" root "${TBF[@]}" || die "tc tbf failed in the namespace"
NETEM="not available: $(tc qdisc add dev "$VETH" root netem delay 1ms 2>&1 | head -n1 || true)"
tc qdisc del dev "$VETH" root 2>/dev/null && NETEM="available (unused, see the header)"
# The delay line runs SCHED_FIFO (it sleeps in epoll and uses ~10% of a core
# at 100 Mbit/s): on a busy machine a late packet is extra delay the
# benchmark did not ask for. It counts late packets; they are printed at the end.
PRIO=(chrt -f 10); command -v chrt >/dev/null || PRIO=(nice -n -10)
"${PRIO[@]}" python3 bench/git_bench_net.py delay "$TUN" "$NS" "$TUN_NS" "$DELAY_MS" "$WORK/delay.ready" \
  2>"$WORK/delay.log" &
DELAY_PID=$!
mkdir -p "$WORK/upstream-home"
HOME="$WORK/upstream-home" GIT_CONFIG_NOSYSTEM=1 ip netns exec "$NS" \
  python3 bench/git_bench_net.py upstream 0.0.0.0 "$REPO_ROOT" "$WORK/upstream.ports" "$WORK/upstream.log" \
  "$WORK/upstream-control" >"$WORK/upstream.err" 2>&1 &
UP_PID=$!
for _ in $(seq 200); do
  [[ -s "$WORK/upstream.ports" && -s "$WORK/delay.ready" ]] && break
  kill -0 "$UP_PID" 2>/dev/null || { cat "$WORK/upstream.err" >&2; die "the upstream exited at start-up"; }
  kill -0 "$DELAY_PID" 2>/dev/null || { cat "$WORK/delay.log" >&2; die "the delay line exited at start-up"; }
  sleep 0.05
done
[[ -s "$WORK/upstream.ports" && -s "$WORK/delay.ready" ]] || die "the upstream or the delay line did not start"
read -r UP_PORT PROBE_PORT <"$WORK/upstream.ports"
declare -A HOST=([lan]="$LAN_HOST:$UP_PORT" [wan]="$WAN_HOST:$UP_PORT")
declare -A DEV=([lan]="$VETH" [wan]="$TUN")
PROBE_LAN=$(python3 bench/git_bench_net.py probe "$LAN_HOST" "$PROBE_PORT" 100) || die "probe over the lan failed"
PROBE_WAN=$(python3 bench/git_bench_net.py probe "$WAN_HOST" "$PROBE_PORT" 25) || die "probe over the wan failed"

# --- git clients: isolated configuration ------------------------------------------------
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy NO_PROXY no_proxy
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
unset GIT_CONFIG GIT_CONFIG_GLOBAL GIT_CONFIG_COUNT GIT_CONFIG_PARAMETERS GIT_PROTOCOL
unset GIT_TRACE GIT_TRACE_PACKET GIT_CURL_VERBOSE GIT_ASKPASS SSH_ASKPASS
export HOME="$WORK/home" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
mkdir -p "$HOME"
printf '[advice]\n\tdetachedHead = false\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n' >"$HOME/.gitconfig"

# --- cellar -------------------------------------------------------------------------------
# start_cellar DATA_DIR: sets CELLAR_PID, CELLAR_URL, CELLAR_LOG.
start_cellar() {
  CELLAR_LOG="$1.log"
  "$CELLAR" serve --listen 127.0.0.1:0 --data-dir "$1" --git-upstream-scheme http \
    --git-allowed-hosts "${HOST[lan]},${HOST[wan]}" >"$CELLAR_LOG" 2>&1 &
  CELLAR_PID=$!
  local port
  port=$(cellar_port "$CELLAR_PID" "$CELLAR_LOG" 200)
  CELLAR_URL="http://127.0.0.1:$port"
}
start_cellar "$WORK/cellar-warm"
WCELLAR_PID=$CELLAR_PID; WCELLAR_URL=$CELLAR_URL; WCELLAR_LOG=$CELLAR_LOG; CELLAR_PID=""
RUNNER_CACHE="$CLONES/runner-cache"

# --- one clone ------------------------------------------------------------------------------
up_lines() { wc -l <"$WORK/upstream.log" | tr -d ' '; }
dev_bytes() { echo $(( $(cat "/sys/class/net/$1/statistics/rx_bytes") + $(cat "/sys/class/net/$1/statistics/tx_bytes") )); }
# longest LOG SINCE KEY: the longest response (KEY: "ms" in the upstream log,
# "duration_ms" in cellar's access log) among the lines after line SINCE, in s.
longest() {
  tail -n "+$(($2 + 1))" "$1" | python3 -c '
import json, sys
k = sys.argv[1]
v = [json.loads(l).get(k, 0) for l in sys.stdin if l.startswith("{")]
print("%.2f" % (max(v + [0]) / 1000.0))' "$3"
}
CLONE_NO=0; COLD_NO=0
# clone CELL: one clone of CELL (file, or {direct,cold,warm,local}-{lan,wan});
# sets SECS, UPB (upstream response bytes), UPREQ (upstream requests), WIRE,
# SRV (the longest response of the server the client talked to, in s).
clone() {
  local cell=$1 kind=${1%-*} net=${1#*-} dest url cellar_url cellar_log log before c0 w0 t0 t1 rc=0
  CLONE_NO=$((CLONE_NO + 1))
  dest="$CLONES/c$CLONE_NO"
  url="http://${HOST[$net]:-none}/bench.git"
  log="$WORK/clone-$CLONE_NO.err"
  cellar_url=$WCELLAR_URL; cellar_log=$WCELLAR_LOG
  if [[ $kind == cold ]]; then
    COLD_NO=$((COLD_NO + 1))
    start_cellar "$WORK/cellar-cold-$COLD_NO"
    cellar_url=$CELLAR_URL; cellar_log=$CELLAR_LOG
  fi
  sync
  before=$(up_lines)
  c0=$(wc -l <"$cellar_log")
  w0=0; [[ $kind != file ]] && w0=$(dev_bytes "${DEV[$net]}")
  t0=$EPOCHREALTIME
  case $kind in
    file) git clone -q "file://$REPO" "$dest" 2>"$log" || rc=$? ;;
    direct) git clone -q "$url" "$dest" 2>"$log" || rc=$? ;;
    cold | warm) git -c "url.$cellar_url/git/${HOST[$net]}/.insteadOf=http://${HOST[$net]}/" \
      clone -q "$url" "$dest" 2>"$log" || rc=$? ;;
    local) "$CELLAR" git clone --server "$cellar_url" --cache-dir "$RUNNER_CACHE" "$url" "$dest" 2>"$log" || rc=$? ;;
  esac
  t1=$EPOCHREALTIME
  SECS=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
  WIRE=0; [[ $kind != file ]] && WIRE=$(( $(dev_bytes "${DEV[$net]}") - w0 ))
  UPREQ=$(( $(up_lines) - before ))
  case $kind in
    file) SRV=0 ;;
    direct) SRV=$(longest "$WORK/upstream.log" "$before" ms) ;;
    *) SRV=$(longest "$cellar_log" "$c0" duration_ms) ;;
  esac
  UPB=$(tail -n "+$((before + 1))" "$WORK/upstream.log" | python3 -c \
    'import json, sys; print(sum(json.loads(l)["bytes"] for l in sys.stdin if l.strip()))')
  if ((rc != 0)); then
    cat "$log" >&2
    if [[ $kind == cold || $kind == warm || $kind == local ]]; then
      echo "--- cellar log (last 30 lines):" >&2
      tail -n 30 "$cellar_log" >&2
    fi
    echo "--- upstream log of this clone:" >&2
    tail -n "+$((before + 1))" "$WORK/upstream.log" >&2
    die "$cell: clone failed (exit $rc)"
  fi
  if [[ $kind == cold ]]; then
    stop_pid "$CELLAR_PID"; CELLAR_PID=""
    rm -rf "$WORK/cellar-cold-$COLD_NO"
  fi
  [[ "$(git -C "$dest" rev-parse HEAD)" == "$HEAD_OID" ]] || die "$cell: HEAD is not $HEAD_OID"
  local nrefs
  nrefs=$(git -C "$dest" for-each-ref refs/remotes refs/tags | grep -vc 'refs/remotes/origin/HEAD$' || true)
  ((nrefs == NREFS)) || die "$cell: the clone has $nrefs refs, the upstream $NREFS"
  if [[ $kind == local ]]; then
    REPORT=$(grep 'cellar: cloned' "$log" || true)
    TIER=$(grep -o 'tier [a-z]*' <<<"$REPORT" | cut -d' ' -f2)
  fi
  rm -rf "$dest"
}

echo "git_bench: repository $REPO_ROOT: $NCOMMITS commits, $NREFS refs, $NOBJ objects," \
  "$(awk -v b="$PACK_BYTES" 'BEGIN {printf "%.1f MB", b / 1e6}') in $NPACKS pack(s), bitmap $BITMAP, main $HEAD_OID" \
  "($(cat "$REPO_ROOT/done"))"
echo "git_bench: cellar $BUILD/src/cli/cellar of $CELLAR_INFO (copied)"
echo "git_bench: $(git --version), kernel $(uname -r), $(nproc) cores; netns/veth/tun/tbf ok; netem $NETEM"
echo "git_bench: lan = veth, $PROBE_LAN; wan = tun + userspace delay ${DELAY_MS} ms each way + tbf $RATE each way," \
  "$PROBE_WAN (probe: median TCP connect time; one download on a new connection)"
echo "git_bench: clones in $CLONES ($(stat -f -c %T "$CLONES")), cellar data in $WORK; $RUNS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- warm-ups (untimed in the table) --------------------------------------------------------
show() { printf '%-28s %7ss  server %6ss  upstream %6.2f MB in %d requests  wire %6.2f MB%s\n' "$1" "$SECS" \
  "$SRV" "$(awk -v b="$UPB" 'BEGIN {print b / 1e6}')" "$UPREQ" "$(awk -v b="$WIRE" 'BEGIN {print b / 1e6}')" "${2:-}"; }
clone file; show "warm-up file"
for net in lan wan; do
  clone "warm-$net"; show "warm-up warm-$net (fills)"
  clone "local-$net"; show "warm-up local-$net" "  [$REPORT]"
  [[ $TIER == server ]] || die "first cellar git clone over $net: tier '$TIER', expected server: $REPORT"
done

# --- timed rounds --------------------------------------------------------------------------------
CELLS=(file direct-lan cold-lan warm-lan local-lan direct-wan cold-wan warm-wan local-wan)
declare -A TIMES=() BYTES=() WIRES=() REQS=() SRVS=()
for ((round = 0; round < RUNS; round++)); do
  for ((k = 0; k < ${#CELLS[@]}; k++)); do
    cell=${CELLS[$(( (round + k) % ${#CELLS[@]} ))]}
    clone "$cell"
    extra=""
    if [[ $cell == local-* ]]; then
      [[ $TIER == local ]] || die "$cell: tier '$TIER', expected local: $REPORT"
      extra="  [${REPORT#*: tier }]"
    fi
    show "run $((round + 1)) $cell" "$extra"
    TIMES[$cell]+="$SECS "; BYTES[$cell]+="$UPB "; WIRES[$cell]+="$WIRE "; REQS[$cell]+="$UPREQ "
    SRVS[$cell]+="$SRV "
  done
done
kill -0 "$WCELLAR_PID" 2>/dev/null || die "the warm cellar died during the benchmark"
RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$WCELLAR_PID/status")
MIRRORS=""
for h in "${HOST[lan]}" "${HOST[wan]}"; do
  m=$(find "$WORK/cellar-warm" -type d -path "*$h*" -name objects -prune 2>/dev/null | head -n1)
  [[ -n "$m" ]] || { MIRRORS+=" $h: not found;"; continue; }
  MIRRORS+=" $h: $(find "$m/pack" -name '*.pack' | wc -l) pack(s), $(find "$m/pack" -name '*.bitmap' | wc -l) bitmap(s),"
  MIRRORS+=" $(find "$m" -path '*/pack' -prune -o -type f -print | grep -c '/[0-9a-f][0-9a-f]/' || true) loose objects;"
done
stop_pid "$DELAY_PID"; DELAY_PID=""
DELAY_STATS=$(grep 'delay line:' "$WORK/delay.log" || echo "delay line: no report")
TUN_DROPS="tbf drops: root $(tc -s qdisc show dev "$TUN" | grep -o 'dropped [0-9]*' | cut -d' ' -f2),"
TUN_DROPS+=" upstream $(tc -n "$NS" -s qdisc show dev "$TUN_NS" | grep -o 'dropped [0-9]*' | cut -d' ' -f2)"

ARGS=()
for cell in "${CELLS[@]}"; do
  ARGS+=("$cell" "${TIMES[$cell]}" "${BYTES[$cell]}" "${WIRES[$cell]}" "${REQS[$cell]}" "${SRVS[$cell]}")
done
python3 - "${ARGS[@]}" <<'PY'
import statistics, sys
a = sys.argv[1:]
cells = {}
for i in range(0, len(a), 6):
    f = lambda s: [float(x) for x in s.split()]
    cells[a[i]] = dict(t=f(a[i + 1]), b=f(a[i + 2]), w=f(a[i + 3]), r=f(a[i + 4]), s=f(a[i + 5]))
med = {c: statistics.median(v["t"]) for c, v in cells.items()}
label = {"file": "file:// (local reference)", "direct": "direct from upstream", "cold": "through cellar, cold",
         "warm": "through cellar, warm", "local": "cellar git clone, warm local tier"}
print()
print("| clone | network | median s | min s | max s | server s | upstream MB | upstream requests | wire MB |")
print("|---|---|---|---|---|---|---|---|---|")
for c, v in cells.items():
    kind, _, net = c.partition("-")
    print("| %s | %s | %.2f | %.2f | %.2f | %s | %.3f | %d | %.3f |" % (
        label[kind], net or "-", med[c], min(v["t"]), max(v["t"]),
        "%.2f" % statistics.median(v["s"]) if kind != "file" else "-", statistics.median(v["b"]) / 1e6,
        statistics.median(v["r"]), statistics.median(v["w"]) / 1e6))
print()
print("| ratio | lan | wan | target |")
print("|---|---|---|---|")
r = lambda x, y: "%.2f" % (med[x] / med[y])
print("| warm through cellar / file:// | %s | %s | <= 1.2 |" % (r("warm-lan", "file"), r("warm-wan", "file")))
print("| direct / warm through cellar | %s | %s | >= 5 (wan) |" % (r("direct-lan", "warm-lan"), r("direct-wan", "warm-wan")))
print("| direct / cellar git clone (local tier) | %s | %s | |" % (r("direct-lan", "local-lan"), r("direct-wan", "local-wan")))
print("| cold through cellar / direct | %s | %s | |" % (r("cold-lan", "direct-lan"), r("cold-wan", "direct-wan")))
print("| upstream bytes, warm through cellar (median) | %d B | %d B | ~0 |" % (
    statistics.median(cells["warm-lan"]["b"]), statistics.median(cells["warm-wan"]["b"])))
print("| upstream bytes, local tier (median) | %d B | %d B | ~0 |" % (
    statistics.median(cells["local-lan"]["b"]), statistics.median(cells["local-wan"]["b"])))
PY
echo
echo "git_bench: warm cellar peak RSS $((RSS_KB / 1024)) MiB; its mirrors:$MIRRORS"
echo "git_bench: $DELAY_STATS; $TUN_DROPS"
echo "git_bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg); total $(python3 -c "print(f'{$EPOCHREALTIME - $T_START:.0f}')") s"
