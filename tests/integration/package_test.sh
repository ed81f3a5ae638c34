#!/usr/bin/env bash
# it_package: the Debian package. `cpack -G DEB` builds it from this build
# directory; its contents and control files are checked; it installs with
# `dpkg -i` (as root, when no cellar package is installed already), the
# systemd unit passes `systemd-analyze verify`, the installed binary serves
# the packaged /etc/cellar/cellar.yaml as the service user, and `dpkg --purge`
# removes it with its user and data.
# Usage: bash package_test.sh /path/to/cellar /path/to/build-dir
source "$(dirname "$0")/lib.sh"
BUILD_DIR=$(readlink -f "${2:?usage: $0 CELLAR_BIN BUILD_DIR}")

(cd "$IT_TMP" && cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$IT_TMP/pkg" >"$IT_TMP/cpack.log" 2>&1) ||
  { cat "$IT_TMP/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$(ls "$IT_TMP"/pkg/cellar_*.deb)
version=$("$CELLAR_BIN" version | awk '{ print $2 }')
[[ "$(basename "$deb")" == "cellar_${version}_$(dpkg --print-architecture).deb" ]] || fail "package name $(basename "$deb")"
dpkg-deb --contents "$deb" >"$IT_TMP/contents"
for f in ./usr/bin/cellar ./usr/lib/systemd/system/cellar.service ./etc/cellar/cellar.yaml \
  ./usr/share/man/man1/cellar.1.gz ./usr/share/doc/cellar/README.md ./usr/share/doc/cellar/cellar-serve-options.txt \
  ./usr/share/doc/cellar/deploy/grafana-dashboard.json ./usr/share/doc/cellar/deploy/prometheus-alerts.yml; do
  grep -q " $f\$" "$IT_TMP/contents" || fail "the package lacks $f"
done
if grep -Eq ' \./usr/(bin|lib)/.*(_test|bench)' "$IT_TMP/contents"; then fail "the package holds test programs"; fi
dpkg-deb --info "$deb" >"$IT_TMP/info"
grep -q "^ Depends:.*libcurl4.*git" "$IT_TMP/info" || fail "Depends: $(grep Depends "$IT_TMP/info")"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/cellar/cellar.yaml || fail "cellar.yaml is not a conffile"
pass "cpack builds $(basename "$deb") ($(( $(stat -c %s "$deb") / 1024 )) KiB): binary, unit, conffile, man page, deploy/"

if [[ $(id -u) -ne 0 ]]; then
  echo "not root: dpkg -i skipped"
  exit 0
fi
if dpkg-query -W -f='${Status}' cellar 2>/dev/null | grep -q "install ok installed"; then
  echo "a cellar package is installed on this machine already: dpkg -i skipped, it is left as it is"
  exit 0
fi
purge() { dpkg --purge cellar >/dev/null 2>&1 || true; it_cleanup; }
trap purge EXIT
dpkg -i "$deb" >"$IT_TMP/dpkg.log" 2>&1 || { cat "$IT_TMP/dpkg.log" >&2; fail "dpkg -i"; }
getent passwd cellar >/dev/null || fail "postinst did not create the cellar user"
[[ "$(stat -c %U:%a /var/lib/cellar)" == cellar:750 ]] || fail "/var/lib/cellar: $(stat -c %U:%a /var/lib/cellar)"
[[ "$(/usr/bin/cellar version)" == "cellar $version" ]] || fail "installed binary: $(/usr/bin/cellar version)"
MANPAGER=cat man -l /usr/share/man/man1/cellar.1.gz 2>/dev/null | grep -q -- "--negotiate-urls" ||
  fail "cellar(1) does not list the serve options"
pass "dpkg -i installs it: the service user, /var/lib/cellar (cellar, 0750), the binary, cellar(1)"

systemd-analyze verify /usr/lib/systemd/system/cellar.service >"$IT_TMP/verify" 2>&1 ||
  { cat "$IT_TMP/verify" >&2; fail "systemd-analyze verify cellar.service"; }
# The sandbox options an operator expects; `verify` only checks they parse.
for opt in User=cellar StateDirectory=cellar ProtectSystem=strict NoNewPrivileges=yes ProtectHome=yes PrivateTmp=yes \
  "ExecStart=/usr/bin/cellar serve --config /etc/cellar/cellar.yaml"; do
  grep -qx "$opt" /usr/lib/systemd/system/cellar.service || fail "cellar.service lacks $opt"
done
pass "the systemd unit passes systemd-analyze verify, runs as cellar with ProtectSystem=strict"

# What ExecStart runs, as the unit's user (no systemd here to start it):
# the packaged configuration on the embedded default, port 0 instead of 8080.
CELLAR_BIN=/usr/bin/cellar
log="$IT_TMP/service.log"
runuser -u cellar -- /usr/bin/cellar serve --config /etc/cellar/cellar.yaml --listen 127.0.0.1:0 >"$log" 2>&1 &
CELLAR_PIDS+=("$!")
for _ in $(seq 1 100); do
  port=$(grep -o '"msg":"cellar listening".*"port":[0-9]*' "$log" | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "${port:-}" ]] || { cat "$log" >&2; fail "the installed cellar did not start"; }
url="http://127.0.0.1:$port"
[[ "$(curl -s "$url/healthz")" == ok ]] || fail "/healthz"
head -c 5000 /dev/urandom >"$IT_TMP/artifact"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary "@$IT_TMP/artifact" "$url/turbo/v8/artifacts/abc123")
[[ "$code" =~ ^20[0-9]$ ]] || fail "turbo PUT to the installed cellar: HTTP $code"
curl -s -o "$IT_TMP/back" "$url/turbo/v8/artifacts/abc123" && cmp -s "$IT_TMP/artifact" "$IT_TMP/back" ||
  fail "turbo GET from the installed cellar"
[[ -f /var/lib/cellar/index.db && "$(stat -c %U /var/lib/cellar/index.db)" == cellar ]] ||
  fail "the service's data is not in /var/lib/cellar, owned by cellar"
pass "the installed binary serves the packaged cellar.yaml as user cellar, data in /var/lib/cellar"
kill -TERM "${CELLAR_PIDS[-1]}"; wait "${CELLAR_PIDS[-1]}" 2>/dev/null || true

dpkg --purge cellar >"$IT_TMP/dpkg.log" 2>&1 || { cat "$IT_TMP/dpkg.log" >&2; fail "dpkg --purge"; }
[[ ! -e /usr/bin/cellar && ! -e /var/lib/cellar && ! -e /etc/cellar/cellar.yaml ]] || fail "purge left files behind"
getent passwd cellar >/dev/null && fail "purge left the cellar user"
pass "dpkg --purge removes the binary, the configuration, the data and the user"
