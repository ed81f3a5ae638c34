#include "hash/blake3.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace cellar::hash {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes FromHex(const std::string& hex) {
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

Bytes TestInput(size_t len) {
  Bytes in(len);
  for (size_t i = 0; i < len; ++i) in[i] = static_cast<uint8_t>(i % 251);
  return in;
}

Bytes RandomBytes(size_t len, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(len);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

struct Vectors {
  std::string key;
  std::string context;
  struct Case {
    size_t input_len;
    Bytes hash, keyed_hash, derive_key;
  };
  std::vector<Case> cases;
};

const Vectors& LoadVectors() {
  static const Vectors vectors = [] {
    std::ifstream f(std::string(CELLAR_TESTDATA_DIR) +
                    "/blake3_test_vectors.json");
    EXPECT_TRUE(f.good()) << "missing blake3_test_vectors.json";
    const nlohmann::json j = nlohmann::json::parse(f);
    Vectors v;
    v.key = j.at("key").get<std::string>();
    v.context = j.at("context_string").get<std::string>();
    for (const auto& c : j.at("cases")) {
      v.cases.push_back({c.at("input_len").get<size_t>(),
                         FromHex(c.at("hash").get<std::string>()),
                         FromHex(c.at("keyed_hash").get<std::string>()),
                         FromHex(c.at("derive_key").get<std::string>())});
    }
    return v;
  }();
  return vectors;
}

enum class Mode { kHash, kKeyed, kDerive };

Blake3Hasher MakeHasher(Mode mode) {
  const Vectors& v = LoadVectors();
  switch (mode) {
    case Mode::kKeyed: {
      std::array<uint8_t, kBlake3KeyLen> key;
      std::memcpy(key.data(), v.key.data(), key.size());
      return Blake3Hasher::Keyed(key);
    }
    case Mode::kDerive:
      return Blake3Hasher::DeriveKey(v.context);
    case Mode::kHash:
      break;
  }
  return Blake3Hasher();
}

const Bytes& Expected(const Vectors::Case& c, Mode mode) {
  switch (mode) {
    case Mode::kKeyed:
      return c.keyed_hash;
    case Mode::kDerive:
      return c.derive_key;
    case Mode::kHash:
      break;
  }
  return c.hash;
}

constexpr Mode kModes[] = {Mode::kHash, Mode::kKeyed, Mode::kDerive};

Bytes Extended(const Blake3Hasher& h, size_t len) {
  Bytes out(len);
  h.Finalize(out);
  return out;
}

// Feeds `in` in pieces whose sizes come from `next_piece`.
template <typename NextPiece>
void FeedInPieces(Blake3Hasher& h, const Bytes& in, NextPiece next_piece) {
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t n = std::min(next_piece(), in.size() - pos);
    h.Update(in.data() + pos, n);
    pos += n;
  }
}

// The backend the hasher should use when limited to `limit` ("" = none).
std::string_view ExpectedBackend(std::string_view limit) {
  if (limit == "portable") return "portable";
#if defined(__x86_64__) || defined(__i386__)
  if (limit.empty() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2"))
    return "avx512";
  return __builtin_cpu_supports("avx2") ? "avx2" : "portable";
#else
  return "portable";
#endif
}

// Runs every test with each backend limit: none (the CPU's best), AVX2 and
// portable.
class Blake3Test : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override { Blake3LimitBackendForTest(GetParam()); }
  void TearDown() override { Blake3LimitBackendForTest(""); }
};

TEST_P(Blake3Test, BackendName) { EXPECT_EQ(Blake3Backend(), ExpectedBackend(GetParam())); }

TEST_P(Blake3Test, OfficialVectorsOneShot) {
  const Vectors& v = LoadVectors();
  ASSERT_GE(v.cases.size(), 30u);
  for (const auto& c : v.cases) {
    const Bytes in = TestInput(c.input_len);
    for (Mode mode : kModes) {
      SCOPED_TRACE("len=" + std::to_string(c.input_len) +
                   " mode=" + std::to_string(static_cast<int>(mode)));
      const Bytes& want = Expected(c, mode);
      Blake3Hasher h = MakeHasher(mode);
      h.Update(in.data(), in.size());
      EXPECT_EQ(Extended(h, want.size()), want);

      const std::array<uint8_t, 32> short_out = h.Finalize();
      EXPECT_TRUE(std::equal(short_out.begin(), short_out.end(), want.begin()));

      for (size_t offset : {0, 1, 31, 32, 63, 64, 65, 100, 128, 130}) {
        for (size_t len : {size_t{1}, size_t{3}, want.size() - offset}) {
          if (offset + len > want.size()) continue;
          Bytes out(len);
          h.FinalizeSeek(offset, out);
          EXPECT_TRUE(std::equal(out.begin(), out.end(), want.begin() + offset))
              << "offset=" << offset << " len=" << len;
        }
      }
      if (mode == Mode::kHash) {
        const auto one_shot = Blake3(std::as_bytes(std::span(in)));
        EXPECT_TRUE(std::equal(one_shot.begin(), one_shot.end(), want.begin()));
      }
    }
  }
}

TEST_P(Blake3Test, OfficialVectorsIncremental) {
  const Vectors& v = LoadVectors();
  const size_t kPieces[] = {1,    7,    63,   64,   65,   1023,
                            1024, 1025, 3000, 8192, 65537};
  for (const auto& c : v.cases) {
    const Bytes in = TestInput(c.input_len);
    for (Mode mode : kModes) {
      const Bytes& want = Expected(c, mode);
      for (size_t piece : kPieces) {
        Blake3Hasher h = MakeHasher(mode);
        FeedInPieces(h, in, [&] { return piece; });
        EXPECT_EQ(Extended(h, want.size()), want)
            << "len=" << c.input_len << " piece=" << piece;
      }
      std::mt19937 rng(1234 + c.input_len);
      for (int round = 0; round < 3; ++round) {
        Blake3Hasher h = MakeHasher(mode);
        // Empty updates included on purpose.
        std::uniform_int_distribution<size_t> dist(0, round == 0 ? 100 : 5000);
        FeedInPieces(h, in, [&] { return dist(rng); });
        EXPECT_EQ(Extended(h, want.size()), want)
            << "len=" << c.input_len << " random round=" << round;
      }
    }
  }
}

TEST_P(Blake3Test, UpdateAfterFinalize) {
  const Vectors& v = LoadVectors();
  for (const auto& c : v.cases) {
    const Bytes in = TestInput(c.input_len);
    for (Mode mode : kModes) {
      const Bytes& want = Expected(c, mode);
      const size_t half = c.input_len / 2;
      Blake3Hasher h = MakeHasher(mode);
      h.Update(in.data(), half);
      Blake3Hasher prefix = MakeHasher(mode);
      prefix.Update(in.data(), half);
      EXPECT_EQ(h.Finalize(), prefix.Finalize());
      (void)h.Finalize();  // Finalizing twice changes nothing.
      h.Update(in.data() + half, in.size() - half);
      EXPECT_EQ(Extended(h, want.size()), want) << "len=" << c.input_len;
      EXPECT_EQ(Extended(h, want.size()), want) << "len=" << c.input_len;
    }
  }
}

TEST_P(Blake3Test, Reset) {
  const Vectors& v = LoadVectors();
  const Bytes junk = RandomBytes(5000, 7);
  for (const auto& c : v.cases) {
    const Bytes in = TestInput(c.input_len);
    for (Mode mode : kModes) {
      const Bytes& want = Expected(c, mode);
      Blake3Hasher h = MakeHasher(mode);
      h.Update(junk.data(), junk.size() - c.input_len % 3000);
      h.Reset();
      h.Update(in.data(), in.size());
      EXPECT_EQ(Extended(h, want.size()), want) << "len=" << c.input_len;
      h.Reset();
      h.Update(in.data(), in.size());
      EXPECT_EQ(Extended(h, want.size()), want) << "len=" << c.input_len;
    }
  }
}

TEST_P(Blake3Test, SpanUpdateMatchesPointerUpdate) {
  const Bytes in = RandomBytes(10000, 3);
  Blake3Hasher a, b;
  a.Update(in.data(), in.size());
  b.Update(std::as_bytes(std::span(in)));
  EXPECT_EQ(a.Finalize(), b.Finalize());
}

TEST_P(Blake3Test, LongOutputSeekConsistency) {
  const Bytes in = RandomBytes(5000, 11);
  Blake3Hasher h;
  h.Update(in.data(), in.size());
  const Bytes full = Extended(h, 2000);
  for (uint64_t offset : {1u, 63u, 64u, 500u, 1999u}) {
    Bytes part(2000 - offset);
    h.FinalizeSeek(offset, part);
    EXPECT_TRUE(std::equal(part.begin(), part.end(), full.begin() + offset));
  }
  // Output block counters above 32 bits.
  const uint64_t far = (uint64_t{1} << 38) + 5;
  Bytes wide(100), narrow(95);
  h.FinalizeSeek(far - 5, wide);
  h.FinalizeSeek(far, narrow);
  EXPECT_TRUE(std::equal(narrow.begin(), narrow.end(), wide.begin() + 5));
}

INSTANTIATE_TEST_SUITE_P(Backends, Blake3Test, ::testing::Values("", "avx2", "portable"),
                         [](const auto& info) {
                           return info.param.empty() ? std::string("Best") : std::string(info.param);
                         });

// Hashes `in` with the backend limited to `limit`, fed in `piece`-byte
// updates (0: one update), returning 64 bytes of output.
Bytes HashWith(std::string_view limit, const Bytes& in, size_t piece) {
  Blake3LimitBackendForTest(limit);
  Blake3Hasher h;
  if (piece == 0) {
    h.Update(in.data(), in.size());
  } else {
    FeedInPieces(h, in, [&] { return piece; });
  }
  Bytes out = Extended(h, 64);
  Blake3LimitBackendForTest("");
  return out;
}

TEST(Blake3BackendsTest, AgreeOnLargeRandomInputs) {
  const Bytes big = RandomBytes((1 << 20) + 17, 42);
  const Bytes want = HashWith("portable", big, 0);
  for (std::string_view limit : {"", "avx2"}) {
    EXPECT_EQ(HashWith(limit, big, 0), want) << limit;
    for (size_t piece : {1000, 4096, 65536, 100003}) {
      EXPECT_EQ(HashWith(limit, big, piece), want) << limit << " " << piece;
      EXPECT_EQ(HashWith("portable", big, piece), want) << piece;
    }
  }
  // Lengths around batch, lane-group and subtree boundaries.
  const size_t kChunk = 1024;
  for (size_t chunks : {2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 63, 64, 65, 127,
                        128, 129, 200, 1024}) {
    for (long delta : {-1L, 0L, 1L}) {
      const Bytes in(big.begin(), big.begin() + chunks * kChunk + delta);
      const Bytes p = HashWith("portable", in, 0);
      for (std::string_view limit : {"", "avx2"}) {
        EXPECT_EQ(HashWith(limit, in, 0), p) << limit << " " << chunks << " " << delta;
        EXPECT_EQ(HashWith(limit, in, 3 * kChunk), p) << limit << " " << chunks << " " << delta;
        EXPECT_EQ(HashWith(limit, in, 8 * kChunk + 1), p)
            << limit << " " << chunks << " " << delta;
        EXPECT_EQ(HashWith(limit, in, 16 * kChunk + 1), p)
            << limit << " " << chunks << " " << delta;
      }
    }
  }
}

TEST(Blake3BackendsTest, KeyedAndDeriveAgreeOnLargeInputs) {
  const Bytes big = RandomBytes(300 * 1024 + 5, 9);
  std::array<uint8_t, kBlake3KeyLen> key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7);
  Bytes results[3][2];
  const std::string_view limits[3] = {"portable", "avx2", ""};
  for (int backend = 0; backend < 3; ++backend) {
    Blake3LimitBackendForTest(limits[backend]);
    Blake3Hasher keyed = Blake3Hasher::Keyed(key);
    Blake3Hasher derive = Blake3Hasher::DeriveKey("cellar test context");
    keyed.Update(big.data(), big.size());
    derive.Update(big.data(), big.size());
    results[backend][0] = Extended(keyed, 100);
    results[backend][1] = Extended(derive, 100);
  }
  Blake3LimitBackendForTest("");
  for (int backend = 1; backend < 3; ++backend) {
    EXPECT_EQ(results[backend][0], results[0][0]) << limits[backend];
    EXPECT_EQ(results[backend][1], results[0][1]) << limits[backend];
  }
  EXPECT_NE(results[0][0], results[0][1]);
}

}  // namespace
}  // namespace cellar::hash
