#include "auth/url_signer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>
#include <vector>

#include <unistd.h>

namespace cellar::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;

SignedGrant Upload() {
  return SignedGrant{"PUT", "artifacts/team-a", "abc123", kNow + 300, 42, std::string(64, 'a'), std::nullopt};
}

TEST(UrlSigner, SignedQueryVerifies) {
  UrlSigner signer("0123456789abcdef0123456789abcdef");
  std::string q = signer.SignQuery(Upload());
  auto g = signer.Verify(q, "PUT", "artifacts/team-a", "abc123", kNow);
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->size, 42u);
  EXPECT_EQ(g->sha256, std::string(64, 'a'));
  EXPECT_EQ(g->expires_unix_s, kNow + 300);
}

TEST(UrlSigner, ExpiredIsRefused) {
  UrlSigner signer("0123456789abcdef0123456789abcdef");
  std::string q = signer.SignQuery(Upload());
  auto g = signer.Verify(q, "PUT", "artifacts/team-a", "abc123", kNow + 301);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code(), Code::kPermissionDenied);
  EXPECT_NE(g.error().message().find("expired"), std::string::npos);
}

TEST(UrlSigner, AnyChangeBreaksTheSignature) {
  UrlSigner signer("0123456789abcdef0123456789abcdef");
  std::string q = signer.SignQuery(Upload());
  // Another key, size, expiry, method or namespace.
  EXPECT_FALSE(signer.Verify(q, "PUT", "artifacts/team-a", "abc124", kNow).ok());
  std::string bigger = q;
  bigger.replace(bigger.find("size=42"), 7, "size=43");
  EXPECT_FALSE(signer.Verify(bigger, "PUT", "artifacts/team-a", "abc123", kNow).ok());
  std::string later = q;
  later.replace(later.find("expires="), 8 + 10, "expires=" + std::to_string(kNow + 9999));
  EXPECT_FALSE(signer.Verify(later, "PUT", "artifacts/team-a", "abc123", kNow).ok());
  EXPECT_FALSE(signer.Verify(q, "GET", "artifacts/team-a", "abc123", kNow).ok());
  EXPECT_FALSE(signer.Verify(q, "PUT", "artifacts/team-b", "abc123", kNow).ok());
  std::string no_digest = q;
  no_digest.erase(no_digest.find("&sha256="), 8 + 64);
  EXPECT_FALSE(signer.Verify(no_digest, "PUT", "artifacts/team-a", "abc123", kNow).ok());
  UrlSigner other("fedcba9876543210fedcba9876543210");
  EXPECT_FALSE(other.Verify(q, "PUT", "artifacts/team-a", "abc123", kNow).ok());
}

TEST(UrlSigner, ADeclaredDurationIsSignedToo) {
  UrlSigner signer("0123456789abcdef0123456789abcdef");
  SignedGrant grant = Upload();
  grant.duration_ms = 7250;
  std::string q = signer.SignQuery(grant);
  auto g = signer.Verify(q, "PUT", "artifacts/team-a", "abc123", kNow);
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->duration_ms, 7250u);
  std::string longer = q;
  longer.replace(longer.find("duration=7250"), 13, "duration=9999");
  EXPECT_FALSE(signer.Verify(longer, "PUT", "artifacts/team-a", "abc123", kNow).ok());
  std::string dropped = q;
  dropped.erase(dropped.find("&duration=7250"), 14);
  EXPECT_FALSE(signer.Verify(dropped, "PUT", "artifacts/team-a", "abc123", kNow).ok());
  // A grant without one keeps the form it always had.
  EXPECT_EQ(signer.SignQuery(Upload()).find("duration"), std::string::npos);
}

TEST(UrlSigner, MalformedQueriesAreRefused) {
  UrlSigner signer("0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(signer.Verify("", "GET", "a", "k", kNow).ok());
  EXPECT_FALSE(signer.Verify("method=GET&ns=a&expires=x&sig=00", "GET", "a", "k", kNow).ok());
  EXPECT_FALSE(signer.Verify("method=GET&ns=a%2&expires=1&sig=00", "GET", "a", "k", kNow).ok());
}

TEST(UrlSigner, KeyFileIsCreatedOnceAndReused) {
  auto dir = std::filesystem::temp_directory_path() / ("signer-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "signing.key").string();
  auto first = LoadOrCreateSigningKey(path);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 64u);
  auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::group_read, std::filesystem::perms::none);
  auto second = LoadOrCreateSigningKey(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  std::filesystem::remove_all(dir);
}

TEST(UrlSigner, UnreadableKeyIsAnErrorNotReplaced) {
  // open(2) fails with ELOOP (EACCES is the usual case, but root reads
  // everything): the file is there, so making a new key would be wrong.
  auto dir = std::filesystem::temp_directory_path() / ("signer-bad-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "signing.key";
  std::filesystem::create_symlink(path, path);
  EXPECT_FALSE(LoadOrCreateSigningKey(path.string()).ok());
  EXPECT_TRUE(std::filesystem::is_symlink(path));
  std::filesystem::remove_all(dir);
}

TEST(UrlSigner, ConcurrentCreatorsAgreeOnOneKey) {
  auto dir = std::filesystem::temp_directory_path() / ("signer-race-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "signing.key").string();
  std::vector<std::string> keys(8);
  std::vector<std::thread> threads;
  for (auto& k : keys) threads.emplace_back([&k, &path] { k = LoadOrCreateSigningKey(path).value(); });
  for (auto& t : threads) t.join();
  for (const auto& k : keys) EXPECT_EQ(k, keys.front());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cellar::auth
