#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (Debian's clang, ASan+UBSan) in
# build-fuzz, replays every saved crash input in fuzz/regressions/<target>/,
# then runs each target for a bounded time from its seed corpus
# fuzz/corpus/<target>/ (targets run side by side, one per core). Without
# SECONDS_PER_TARGET the runs share a fixed budget of CELLAR_FUZZ_BUDGET
# CPU-seconds (default 300), so adding a target does not lengthen CI. Fails on
# any crash, leak, timeout, out-of-memory or broken invariant, and prints
# one summary line per target.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default budget / targets, at least 5)] [TARGET...]
# Inputs a run discovers are kept in build-fuzz/corpus/<target>/ (not in the
# repository); a crash input is written to build-fuzz/artifacts/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-}"
shift || true
budget="${CELLAR_FUZZ_BUDGET:-300}"
dir=build-fuzz
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/cellar-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"  # a clone in another folder reuses the cache
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"

# clang and libFuzzer's runtime (libclang-rt-14-dev) are test packages of
# scripts/install-deps.sh; install them here too when fuzz.sh runs alone.
can_link_fuzzer() {
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++ -x c++ -fsanitize=fuzzer,address,undefined - -o /tmp/cellar-fuzz-probe.$$ >/dev/null 2>&1
  local rc=$?
  rm -f /tmp/cellar-fuzz-probe.$$
  return $rc
}
if ! command -v clang++ >/dev/null || ! can_link_fuzzer; then
  echo "fuzz: installing clang and libclang-rt-14-dev"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
  can_link_fuzzer || { echo "fuzz: clang cannot link a libFuzzer target" >&2; exit 1; }
fi

start=$SECONDS
if [[ ! -f $dir/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCELLAR_FUZZ=ON -DCELLAR_BUILD_BENCH=OFF >/dev/null || exit 1
fi
cmake --build "$dir" -j "$(nproc)" || { echo "fuzz: build failed" >&2; exit 1; }
echo "fuzz: built in $((SECONDS - start))s"

if (($# == 0)); then
  set -- $(cd fuzz && ls *_fuzz.cc | sed 's/\.cc$//')
fi
if [[ -z $seconds ]]; then
  seconds=$((budget / $#))
  ((seconds >= 5)) || seconds=5
fi
echo "fuzz: $# targets, ${seconds}s each"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
flags=(-rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1)

# Every saved crash input must now pass.
failed=0
for t in "$@"; do
  [[ -d fuzz/regressions/$t ]] || continue
  mapfile -t inputs < <(find "fuzz/regressions/$t" -type f | sort)
  ((${#inputs[@]})) || continue
  if "$dir/fuzz/$t" "${flags[@]}" "${inputs[@]}" >"$dir/regressions-$t.log" 2>&1; then
    echo "fuzz $t: ${#inputs[@]} regression inputs pass"
  else
    echo "fuzz $t: a regression input fails again (log: $dir/regressions-$t.log)"
    tail -n 30 "$dir/regressions-$t.log"
    failed=1
  fi
done

# One bounded run per target, as many at once as there are cores.
run_one() {  # run_one TARGET SECONDS
  local t="$1" dir=build-fuzz
  mkdir -p "$dir/corpus/$t" "$dir/artifacts/$t"
  "$dir/fuzz/$t" -max_total_time="$2" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/$t/" "$dir/corpus/$t" "fuzz/corpus/$t" >"$dir/run-$t.log" 2>&1
  echo $? >"$dir/run-$t.rc"
}
export -f run_one
printf '%s\n' "$@" | xargs -P "$(nproc)" -I{} bash -c 'run_one "$1" "$2"' _ {} "$seconds"

for t in "$@"; do
  log="$dir/run-$t.log"
  rc=$(cat "$dir/run-$t.rc" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
  cov=$(sed -E -n 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
  corp=$(sed -E -n 's/.* corp: ([0-9]+).*/\1/p' <<<"$done_line")
  if [[ $rc == 0 ]]; then
    echo "fuzz $t: ok, ${runs:-?} runs in ${seconds}s, ${cov:-?} edges, corpus ${corp:-?}"
  else
    echo "fuzz $t: FAILED (exit $rc; log: $log)"
    grep -E 'ERROR: |invariant failed|runtime error|SUMMARY|Test unit written' "$log" | head -n 8
    echo "  keep the input: cp $dir/artifacts/$t/<file> fuzz/regressions/$t/ (see fuzz/README.md)"
    failed=1
  fi
done
echo "fuzz: done in $((SECONDS - start))s"
exit $failed
