#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "base/base64.h"

namespace cellar::auth {
namespace {

Authenticator MakeAuth() {
  std::vector<TokenSpec> tokens;
  tokens.push_back(*Authenticator::ParseTokenSpec("ci:writer-secret:read,write"));
  tokens.push_back(*Authenticator::ParseTokenSpec("pr:reader-secret:read:bazel,turbo/team-a"));
  return Authenticator(std::move(tokens), 0);
}

TEST(AuthenticatorTest, OpenServerGrantsEverything) {
  Authenticator a({}, 0);
  auto p = a.Authenticate(std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Can(kScopeWrite, "bazel/cas"));
  EXPECT_TRUE(a.Authenticate("Bearer whatever").ok());
}

TEST(AuthenticatorTest, BearerAndBasicInBothAlphabets) {
  auto a = MakeAuth();
  EXPECT_EQ(a.Authenticate("Bearer writer-secret")->name, "ci");
  EXPECT_EQ(a.Authenticate("Basic " + Base64Encode("u:writer-secret"))->name, "ci");
  // Characters that differ between the alphabets.
  std::vector<TokenSpec> t{*Authenticator::ParseTokenSpec("x:\xfb\xff\xbf\xfb\xff\xbf??:read")};
  Authenticator b(std::move(t), 0);
  std::string creds = std::string("user:") + "\xfb\xff\xbf\xfb\xff\xbf??";
  EXPECT_TRUE(b.Authenticate("Basic " + Base64Encode(creds)).ok());
  EXPECT_TRUE(b.Authenticate("Basic " + Base64UrlEncode(creds)).ok());
}

TEST(AuthenticatorTest, WrongTokenIsUnauthenticated) {
  auto a = MakeAuth();
  EXPECT_EQ(a.Authenticate("Bearer nope-nope-nope").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(a.Authenticate("Basic !!!").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(a.Authenticate("Digest abc").status().code(), Code::kUnauthenticated);
}

TEST(AuthenticatorTest, MissingCredentialsGetAnonymousScopes) {
  auto a = MakeAuth();
  auto p = a.Authenticate(std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->Can(kScopeRead, "bazel/ac"));
  Authenticator reads({*Authenticator::ParseTokenSpec("a:aaaaaaaaaa:admin")}, kScopeRead);
  EXPECT_TRUE(reads.Authenticate(std::nullopt)->Can(kScopeRead, "npm"));
  EXPECT_FALSE(reads.Authenticate(std::nullopt)->Can(kScopeWrite, "npm"));
}

TEST(AuthenticatorTest, ScopesAndNamespaces) {
  auto a = MakeAuth();
  auto pr = *a.Authenticate("Bearer reader-secret");
  EXPECT_TRUE(pr.Can(kScopeRead, "bazel/cas"));
  EXPECT_TRUE(pr.Can(kScopeRead, "turbo/team-a"));
  EXPECT_FALSE(pr.Can(kScopeRead, "turbo/team-ab"));
  EXPECT_FALSE(pr.Can(kScopeRead, "ccache"));
  EXPECT_FALSE(pr.Can(kScopeWrite, "bazel/cas"));
}

TEST(AuthenticatorTest, ParseTokenSpecRejectsBadInput) {
  EXPECT_FALSE(Authenticator::ParseTokenSpec("noscopes").ok());
  EXPECT_FALSE(Authenticator::ParseTokenSpec("a:short:read").ok());
  EXPECT_FALSE(Authenticator::ParseTokenSpec("a:longenough:fly").ok());
}

}  // namespace
}  // namespace cellar::auth
