#!/usr/bin/env bash
# s3-rgw.sh up|down|status [DIR]
#
# A throwaway S3-compatible object store for cellar's S3 tests and benchmarks:
# one Ceph monitor, one OSD (memstore: objects live in RAM) and one radosgw,
# all bound to 127.0.0.1, all state under DIR (default /tmp/cellar-rgw).
# Needs root (apt-get and the ceph daemons). Debian 12 packages: ceph-mon,
# ceph-osd, radosgw, ceph-common; `up` installs the missing ones.
#
#   up      starts the cluster, creates an S3 user and a bucket, prints the
#           endpoint and writes DIR/env (shell assignments: AWS_ENDPOINT_URL,
#           AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
#           CELLAR_S3_BUCKET) for tests to source. When DIR already holds a
#           running cluster that answers, it is reused (same output).
#   down    stops the daemons this script started for DIR (by recorded PID,
#           checking each PID still names the expected program) and removes DIR.
#   status  exit 0 when DIR holds a running, answering cluster.
#
# Ports: RGW_PORT (7480) for S3, MON_PORT (3300, msgr2) and MON_V1_PORT (6789)
# for the monitor; the OSD takes free ports in Ceph's default 6800-7300 range.
# Only one cluster per host at the default ports: `up` refuses with a clear
# message when one of them is taken. Other knobs: S3_ACCESS_KEY, S3_SECRET_KEY,
# S3_BUCKET (cellar-test), MEMSTORE_BYTES (4 GiB cap; RAM is used only for what
# is stored), READY_TIMEOUT (120 s per stage), SKIP_INSTALL=1.
set -Eeuo pipefail

CMD=${1:-}
DIR=${2:-/tmp/cellar-rgw}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-3300}
MON_V1_PORT=${MON_V1_PORT:-6789}
ACCESS_KEY=${S3_ACCESS_KEY:-cellar-test-key}
SECRET_KEY=${S3_SECRET_KEY:-cellar-test-secret}
BUCKET=${S3_BUCKET:-cellar-test}
MEMSTORE_BYTES=${MEMSTORE_BYTES:-4294967296}
READY_TIMEOUT=${READY_TIMEOUT:-120}
SKIP_INSTALL=${SKIP_INSTALL:-0}
STAMP=.cellar-rgw   # marks a directory as ours: nothing else is ever removed
PY=/usr/bin/python3  # the ceph CLI is Python; avoid shims on PATH

say() { printf 's3-rgw: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Is PID running (not a zombie) and, when NAME is given, that program?
running() {
  local pid=$1 name=${2:-} state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z ]] || return 1
  [[ -z "$name" || "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]]
}
program_of() {  # daemon name -> executable name
  case "$1" in mon.*) echo ceph-mon ;; osd.*) echo ceph-osd ;; rgw.*) echo radosgw ;; esac
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A signed ListBuckets succeeds: the gateway is up and knows our user. curl
# does not send x-amz-content-sha256 itself, and RGW insists on it.
s3_answers() {
  local code
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    --user "$ACCESS_KEY:$SECRET_KEY" "http://127.0.0.1:$RGW_PORT/") || return 1
  [[ "$code" == 200 ]]
}

all_running() {
  local f n=0
  for f in "$DIR"/pids/*.pid; do
    [[ -f "$f" ]] || continue
    running "$(cat "$f")" "$(program_of "$(basename "$f" .pid)")" || return 1
    n=$((n + 1))
  done
  [[ $n -ge 3 ]]
}

print_endpoint() {
  # shellcheck disable=SC1091
  source "$DIR/env"
  cat <<EOF
endpoint   $AWS_ENDPOINT_URL (path-style; any region, e.g. $AWS_REGION)
bucket     $CELLAR_S3_BUCKET
access key $AWS_ACCESS_KEY_ID
env file   $DIR/env
pids       $(for f in "$DIR"/pids/*.pid; do printf '%s=%s ' "$(basename "$f" .pid)" "$(cat "$f")"; done)
EOF
}

install_missing() {
  local need=() tool pkg
  for pair in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw radosgw-admin:radosgw \
              ceph:ceph-common ceph-authtool:ceph-common monmaptool:ceph-common \
              uuidgen:uuid-runtime curl:curl setsid:util-linux; do
    tool=${pair%%:*}; pkg=${pair#*:}
    command -v "$tool" >/dev/null 2>&1 || need+=("$pkg")
  done
  [[ -x $PY ]] || need+=(python3)
  [[ ${#need[@]} -eq 0 ]] && return 0
  [[ "$SKIP_INSTALL" == 1 ]] && die "missing packages (SKIP_INSTALL=1): ${need[*]}"
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold \
    "${need[@]}" >/dev/null
}

STARTED=()
# launch NAME PROGRAM ARGS...: runs a daemon in the foreground (-f) in its own
# session, logs to DIR/log/NAME.out, records its PID in DIR/pids/NAME.pid.
launch() {
  local name=$1; shift
  setsid "$@" -f </dev/null >>"$DIR/log/$name.out" 2>&1 &
  local pid=$!
  echo "$pid" >"$DIR/pids/$name.pid"
  STARTED+=("$pid")
  sleep 0.3
  running "$pid" || { tail -n 20 "$DIR/log/$name.out" >&2; die "$name exited at once"; }
  # Without job control setsid execs in place, so $! is the daemon itself.
  [[ "$(cat "/proc/$pid/comm")" == "$(basename "$1")" ]] || die "pid $pid is not $1"
  say "started $name (pid $pid)"
}

# await WHAT CMD...: retries CMD every 0.3 s until it succeeds or READY_TIMEOUT.
await() {
  local what=$1; shift
  local until=$((SECONDS + READY_TIMEOUT))
  while ! "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $until ]] || die "gave up waiting for $what"
    sleep 0.3
  done
}

# On a failed `up`, stop what this run started and show the logs' tails.
undo_failed_up() {
  local rc=$? pid f
  [[ $rc -eq 0 ]] && return
  for f in "$DIR"/log/*.out "$DIR"/log/*.log; do
    [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 10 "$f" >&2; }
  done
  for pid in "${STARTED[@]}"; do running "$pid" && kill -TERM "$pid" 2>/dev/null; done
  sleep 1
  for pid in "${STARTED[@]}"; do running "$pid" && kill -KILL "$pid" 2>/dev/null; done
  rm -f "$DIR"/pids/*.pid
  say "up failed; stopped the daemons it started; logs kept in $DIR/log"
  exit "$rc"
}

write_conf() {
  cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $1
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
log to stderr = false
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/run
# one copy of everything, one OSD, no health nagging about either
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
# no manager daemon is run; S3 traffic does not need one
mon mgr mkfs grace = 315360000
# radosgw creates its pools one monitor command at a time; committing every
# 50 ms instead of every second makes the gateway ready in about a second
paxos propose interval = 0.05
paxos min wait = 0.01

[mon]
mon data = $DIR/mon/\$id
keyring = $DIR/mon/\$id/keyring

[osd]
osd data = $DIR/osd/\$id
keyring = $DIR/osd/\$id/keyring
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES

[client.rgw.a]
keyring = $DIR/rgw.keyring
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
# deleted objects' space is reclaimed after ~30 s instead of hours, so long
# test runs do not fill the RAM-backed OSD
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
}

cmd_up() {
  [[ $(id -u) -eq 0 ]] || die "run as root (installs packages, runs ceph daemons)"
  install_missing
  if [[ -f "$DIR/$STAMP" && -f "$DIR/env" ]] && all_running && s3_answers; then
    say "reusing the running cluster in $DIR"
    print_endpoint
    return 0
  fi
  if [[ -e "$DIR" ]]; then
    [[ -f "$DIR/$STAMP" || -z "$(ls -A "$DIR")" ]] \
      || die "$DIR is not empty and was not made by this script; refusing to use it"
    local f
    for f in "$DIR"/pids/*.pid; do
      [[ -f "$f" ]] || continue
      running "$(cat "$f")" && die "$DIR has a daemon running but not answering; run '$0 down $DIR' first"
    done
    rm -rf "$DIR"
  fi
  local port
  for port in "$RGW_PORT" "$MON_PORT" "$MON_V1_PORT"; do
    port_taken "$port" && die "127.0.0.1:$port is in use (another cluster? only one can run at these ports)"
  done

  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  touch "$DIR/$STAMP"
  mkdir -p "$DIR"/{mon/a,osd,rgw,run,log,pids}
  trap undo_failed_up EXIT
  export CEPH_CONF=$DIR/ceph.conf
  local conf=$DIR/ceph.conf
  local ceph=(ceph -c "$conf" --connect-timeout 10)
  local fsid; fsid=$(uuidgen)
  write_conf "$fsid"

  # monitor: keys for itself and the admin client, a one-entry monmap
  ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/keyring" >/dev/null
  monmaptool --create --fsid "$fsid" \
    --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_V1_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring" >>"$DIR/log/mkfs.out" 2>&1
  launch mon.a ceph-mon -c "$conf" -i a
  await "the monitor" "${ceph[@]}" mon stat

  # one OSD on memstore
  local uuid key id
  uuid=$(uuidgen)
  key=$(ceph-authtool --gen-print-key)
  id=$(printf '{"cephx_secret": "%s"}' "$key" | "${ceph[@]}" osd new "$uuid" -i -)
  [[ "$id" =~ ^[0-9]+$ ]] || die "'ceph osd new' answered '$id'"
  mkdir -p "$DIR/osd/$id"
  ceph-authtool --create-keyring "$DIR/osd/$id/keyring" --name "osd.$id" --add-key "$key" >/dev/null
  ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" >>"$DIR/log/mkfs.out" 2>&1
  launch "osd.$id" ceph-osd -c "$conf" -i "$id"
  osd_is_up() {
    "${ceph[@]}" osd stat -f json | "$PY" -c \
      'import json,sys; d=json.load(sys.stdin); d=d.get("osdmap",d); sys.exit(0 if d["num_up_osds"]>=1 and d["num_in_osds"]>=1 else 1)'
  }
  await "osd.$id" osd_is_up

  # the gateway, an S3 user with a fixed key pair, and the test bucket
  "${ceph[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$DIR/rgw.keyring"
  launch rgw.a radosgw -c "$conf" -n client.rgw.a
  rgw_listens() { [[ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$RGW_PORT/")" != 000 ]]; }
  await "radosgw on port $RGW_PORT" rgw_listens
  radosgw-admin -c "$conf" user create --uid=cellar-test --display-name="cellar tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$DIR/log/radosgw-admin.out"
  await "a signed request to be accepted" s3_answers
  local code
  code=$(curl -s -o "$DIR/log/create-bucket.out" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    --user "$ACCESS_KEY:$SECRET_KEY" "http://127.0.0.1:$RGW_PORT/$BUCKET")
  [[ "$code" == 200 ]] || die "creating bucket $BUCKET answered HTTP $code"

  cat >"$DIR/env" <<EOF
AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=us-east-1
CELLAR_S3_BUCKET=$BUCKET
CELLAR_RGW_DIR=$DIR
EOF
  trap - EXIT
  say "ready"
  print_endpoint
}

cmd_down() {
  [[ -d "$DIR" ]] || { say "$DIR does not exist; nothing to stop"; return 0; }
  [[ -f "$DIR/$STAMP" ]] || die "$DIR was not made by this script; refusing to touch it"
  local kind f pid name program until failed=0
  for kind in rgw osd mon; do  # the gateway first, the monitor last
    for f in "$DIR"/pids/"$kind".*.pid; do
      [[ -f "$f" ]] || continue
      name=$(basename "$f" .pid); pid=$(cat "$f"); program=$(program_of "$name")
      if ! running "$pid" "$program"; then
        rm -f "$f"; continue  # gone, or the PID now names another program
      fi
      say "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      until=$((SECONDS + 20))
      while running "$pid" "$program" && [[ $SECONDS -lt $until ]]; do sleep 0.2; done
      if running "$pid" "$program"; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
      fi
      if running "$pid" "$program"; then failed=1; say "$name (pid $pid) does not stop"; else rm -f "$f"; fi
    done
  done
  [[ $failed -eq 0 ]] || die "some daemons are still running; $DIR kept"
  rm -rf "$DIR"
  say "stopped; removed $DIR"
}

case "$CMD" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) [[ -f "$DIR/$STAMP" && -f "$DIR/env" ]] && all_running && s3_answers ;;
  *) echo "usage: $0 up|down|status [DIR]" >&2; exit 2 ;;
esac
