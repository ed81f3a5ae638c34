// LooksIncompressible: says "skip zstd" only where zstd could not have saved
// the 10% FsBlobWriter requires.
#include "store/compressibility.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "store/blob_test_util.h"

namespace cellar::store {
namespace {

std::vector<uint8_t> AsU8(const Bytes& bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  return std::vector<uint8_t>(p, p + bytes.size());
}

std::vector<uint8_t> ZstdCompressed(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// What FsBlobWriter would decide with zstd at its default level.
bool ZstdSavesTenPercent(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  return n * 10 <= in.size() * 9;
}

std::vector<uint8_t> Base64Of(const std::vector<uint8_t>& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 2 < in.size(); i += 3) {
    const uint32_t v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  return out;
}

TEST(ByteEntropyTest, KnownDistributions) {
  EXPECT_EQ(ByteEntropyBits({}), 0);
  EXPECT_EQ(ByteEntropyBits(std::vector<uint8_t>(1000, 'a')), 0);
  std::vector<uint8_t> two(1000);
  for (size_t i = 0; i < two.size(); ++i) two[i] = i % 2 ? 'a' : 'b';
  EXPECT_DOUBLE_EQ(ByteEntropyBits(two), 1.0);
  std::vector<uint8_t> all(256 * 16);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  EXPECT_DOUBLE_EQ(ByteEntropyBits(all), 8.0);
}

TEST(LooksIncompressibleTest, RandomAndAlreadyCompressedBytesAreSkipped) {
  const std::vector<uint8_t> random = AsU8(MakeContent(128 << 10, Content::kRandom));
  EXPECT_TRUE(LooksIncompressible(random));
  EXPECT_FALSE(ZstdSavesTenPercent(random));

  const std::vector<uint8_t> packed = ZstdCompressed(AsU8(MakeContent(1 << 20, Content::kText)));
  ASSERT_GE(packed.size(), 4096u);
  EXPECT_TRUE(LooksIncompressible(packed));
  EXPECT_FALSE(ZstdSavesTenPercent(packed));
}

TEST(LooksIncompressibleTest, CompressibleBytesAreTried) {
  for (const std::vector<uint8_t>& data : {
           AsU8(MakeContent(128 << 10, Content::kText)),
           std::vector<uint8_t>(128 << 10, 0),
           Base64Of(AsU8(MakeContent(96 << 10, Content::kRandom))),
       }) {
    EXPECT_FALSE(LooksIncompressible(data));
    EXPECT_TRUE(ZstdSavesTenPercent(data));
  }
}

TEST(LooksIncompressibleTest, CompressibleHeaderBeforeRandomPayloadIsTried) {
  std::vector<uint8_t> data = AsU8(MakeContent(32 << 10, Content::kText));
  const std::vector<uint8_t> tail = AsU8(MakeContent(96 << 10, Content::kRandom));
  data.insert(data.end(), tail.begin(), tail.end());
  EXPECT_FALSE(LooksIncompressible(data));
}

TEST(LooksIncompressibleTest, TooFewBytesToJudgeAreTried) {
  EXPECT_FALSE(LooksIncompressible(AsU8(MakeContent(4095, Content::kRandom))));
  EXPECT_TRUE(LooksIncompressible(AsU8(MakeContent(4096, Content::kRandom))));
  EXPECT_FALSE(LooksIncompressible({}));
}

}  // namespace
}  // namespace cellar::store
