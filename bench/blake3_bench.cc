// Throughput of BLAKE3 (automatic and portable backends) and OpenSSL SHA-256.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <vector>

#include "hash/blake3.h"
#include "hash/sha256.h"

namespace {

std::vector<std::byte> Input(size_t len) {
  std::vector<std::byte> data(len);
  for (size_t i = 0; i < len; ++i)
    data[i] = static_cast<std::byte>(i * 131 + 7);
  return data;
}

void BM_Blake3(benchmark::State& state, bool portable) {
  const auto data = Input(static_cast<size_t>(state.range(0)));
  cellar::hash::Blake3ForcePortableForTest(portable);
  state.SetLabel(std::string(cellar::hash::Blake3Backend()));
  for (auto _ : state) {
    benchmark::DoNotOptimize(cellar::hash::Blake3(data));
  }
  cellar::hash::Blake3ForcePortableForTest(false);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
}

void BM_Blake3Auto(benchmark::State& state) { BM_Blake3(state, false); }
void BM_Blake3Portable(benchmark::State& state) { BM_Blake3(state, true); }

void BM_Sha256(benchmark::State& state) {
  const auto data = Input(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(cellar::hash::Sha256(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
}

BENCHMARK(BM_Blake3Auto)->Arg(64 << 10)->Arg(16 << 20);
BENCHMARK(BM_Blake3Portable)->Arg(64 << 10)->Arg(16 << 20);
BENCHMARK(BM_Sha256)->Arg(64 << 10)->Arg(16 << 20);

}  // namespace

BENCHMARK_MAIN();
