#include "hash/sha256.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cellar::hash {
namespace {

std::string Hex(const std::array<uint8_t, kSha256OutLen>& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::span<const std::byte> AsBytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

constexpr char kEmpty[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kMillionA[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Hex(Sha256({})), kEmpty);
  EXPECT_EQ(Hex(Sha256(AsBytes("abc"))), kAbc);
  const std::string million(1000000, 'a');
  EXPECT_EQ(Hex(Sha256(AsBytes(million))), kMillionA);

  Sha256Hasher h;
  EXPECT_EQ(Hex(h.Finalize()), kEmpty);
  h.Update("abc", 3);
  EXPECT_EQ(Hex(h.Finalize()), kAbc);
  for (int i = 0; i < 1000; ++i) h.Update(million.data(), 1000);
  EXPECT_EQ(Hex(h.Finalize()), kMillionA);
}

TEST(Sha256Test, StreamingMatchesOneShot) {
  std::mt19937 rng(5);
  std::vector<uint8_t> data(200000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const auto want = Sha256(std::as_bytes(std::span(data)));
  for (size_t piece : {1, 55, 64, 65, 4096, 99999}) {
    Sha256Hasher h;
    for (size_t pos = 0; pos < data.size(); pos += piece) {
      const size_t n = std::min(piece, data.size() - pos);
      h.Update(std::as_bytes(std::span(data.data() + pos, n)));
    }
    EXPECT_EQ(h.Finalize(), want) << piece;
  }
}

TEST(Sha256Test, ResetAndMove) {
  Sha256Hasher h;
  h.Update("garbage", 7);
  h.Reset();
  h.Update("abc", 3);
  Sha256Hasher moved = std::move(h);
  EXPECT_EQ(Hex(moved.Finalize()), kAbc);
  Sha256Hasher assigned;
  assigned.Update("x", 1);
  assigned = std::move(moved);
  assigned.Update("abc", 3);
  EXPECT_EQ(Hex(assigned.Finalize()), kAbc);
  static_assert(!std::is_copy_constructible_v<Sha256Hasher>);
  static_assert(std::is_nothrow_move_constructible_v<Sha256Hasher>);
}

}  // namespace
}  // namespace cellar::hash
