#include "protocols/npm/integrity.h"

#include <gtest/gtest.h>

namespace cellar::npm {
namespace {

std::span<const std::byte> Bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Expected values computed independently with Python's hashlib.
constexpr const char* kSha512 =
    "sha512-6v4IHpk8LhlrMxoEJQsbdqP/X7h2og9ojpR20GiIPC2rrYLY5HSaZg3bXMqtfBm/DzmeGVV69LUsE8YvhOvDTw==";
constexpr const char* kShasum = "9de7c6fdee5f578f6dcbfa5e78b88ae4abaa1913";

TEST(IntegrityTest, ComputesSri) {
  EXPECT_EQ(ComputeSri("sha512", "hello npm"), kSha512);
  EXPECT_EQ(ComputeSri("sha1", "hello npm"), "sha1-nefG/e5fV49ty/peeLiK5KuqGRM=");
}

TEST(IntegrityTest, PicksTheStrongestHash) {
  auto e = ParseIntegrity(std::string("sha1-nefG/e5fV49ty/peeLiK5KuqGRM= ") + kSha512);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->algorithm, "sha512");
  EXPECT_FALSE(ParseIntegrity("md5-abc"));
  EXPECT_FALSE(ParseIntegrity("sha512-notbase64!!"));
  EXPECT_FALSE(ParseIntegrity("sha512-AAAA"));  // wrong length
  EXPECT_FALSE(ParseIntegrity(""));
}

TEST(IntegrityTest, VerifierAcceptsMatchAndRefusesMismatch) {
  auto good = MakeIntegrityVerifier(*ParseIntegrity(kSha512), "x-1.0.0.tgz");
  good->Update(Bytes("hello "));
  good->Update(Bytes("npm"));
  EXPECT_TRUE(good->Finish(9).ok());

  auto bad = MakeIntegrityVerifier(*ParseIntegrity(kSha512), "x-1.0.0.tgz");
  bad->Update(Bytes("hello npx"));
  Status s = bad->Finish(9);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("integrity mismatch for x-1.0.0.tgz"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(kSha512), std::string::npos) << s.message();
}

TEST(IntegrityTest, LegacyShasum) {
  auto e = ParseShasum(kShasum);
  ASSERT_TRUE(e);
  auto v = MakeIntegrityVerifier(*e, "old.tgz");
  v->Update(Bytes("hello npm"));
  EXPECT_TRUE(v->Finish(9).ok());
  EXPECT_FALSE(ParseShasum("xyz"));
  EXPECT_FALSE(ParseShasum(std::string(40, 'g')));
}

}  // namespace
}  // namespace cellar::npm
