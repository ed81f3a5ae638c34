// Throughput of BLAKE3 (best, AVX2 and portable backends) and OpenSSL SHA-256.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <string_view>
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

void BM_Blake3(benchmark::State& state, std::string_view limit) {
  const auto data = Input(static_cast<size_t>(state.range(0)));
  cellar::hash::Blake3LimitBackendForTest(limit);
  state.SetLabel(std::string(cellar::hash::Blake3Backend()));
  for (auto _ : state) {
    benchmark::DoNotOptimize(cellar::hash::Blake3(data));
  }
  cellar::hash::Blake3LimitBackendForTest("");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
}

void BM_Blake3Best(benchmark::State& state) { BM_Blake3(state, ""); }
void BM_Blake3Avx2(benchmark::State& state) { BM_Blake3(state, "avx2"); }
void BM_Blake3Portable(benchmark::State& state) { BM_Blake3(state, "portable"); }

void BM_Sha256(benchmark::State& state) {
  const auto data = Input(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(cellar::hash::Sha256(data));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
}

BENCHMARK(BM_Blake3Best)->Arg(64 << 10)->Arg(16 << 20);
BENCHMARK(BM_Blake3Avx2)->Arg(64 << 10)->Arg(16 << 20);
BENCHMARK(BM_Blake3Portable)->Arg(64 << 10)->Arg(16 << 20);
BENCHMARK(BM_Sha256)->Arg(64 << 10)->Arg(16 << 20);

}  // namespace

BENCHMARK_MAIN();
