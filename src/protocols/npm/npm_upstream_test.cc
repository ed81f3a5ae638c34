#include "protocols/npm/npm_upstream.h"

#include <gtest/gtest.h>

namespace cellar::npm {
namespace {

TEST(NpmUpstreamTest, ParsesUrlAndCredentials) {
  auto up = ParseUpstream("https://registry.npmjs.org");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->base_url, "https://registry.npmjs.org/");
  EXPECT_TRUE(up->authorization.empty());

  auto basic = ParseUpstream("https://ci:s3cret@npm.corp.example/repo/");
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->base_url, "https://npm.corp.example/repo/");
  EXPECT_EQ(basic->authorization, "Basic Y2k6czNjcmV0");  // base64("ci:s3cret")
  EXPECT_FALSE(ParseUpstream("ftp://x").ok());
}

TEST(NpmUpstreamTest, CredentialsOnlyForItsOwnUrls) {
  auto up = *ParseUpstream("https://npm.corp.example/repo", "TOKEN");
  env::HttpRequest mine;
  mine.url = "https://npm.corp.example/repo/@corp%2fx";
  up.Authorize(mine);
  ASSERT_EQ(mine.headers.size(), 1u);
  EXPECT_EQ(mine.headers[0].second, "Bearer TOKEN");
  for (const char* other : {"https://evil.example/repo/x", "https://npm.corp.example/other/x",
                            "https://npm.corp.example.evil.test/repo/x", "http://npm.corp.example/repo/x"}) {
    env::HttpRequest r;
    r.url = other;
    up.Authorize(r);
    EXPECT_TRUE(r.headers.empty()) << other;
  }
}

TEST(NpmUpstreamTest, ScopeRoutes) {
  auto routes = ParseScopeRoutes("@corp,@corp2=https://npm.corp.example/ token:SECRET; @other=https://u:p@npm.other/");
  ASSERT_TRUE(routes.ok()) << routes.error().message();
  ASSERT_EQ(routes->size(), 2u);
  auto fallback = *ParseUpstream("https://registry.npmjs.org/");
  EXPECT_EQ(UpstreamFor(*routes, fallback, "@corp2/pkg").base_url, "https://npm.corp.example/");
  EXPECT_EQ(UpstreamFor(*routes, fallback, "@corp2/pkg").authorization, "Bearer SECRET");
  EXPECT_EQ(UpstreamFor(*routes, fallback, "@other/x").base_url, "https://npm.other/");
  EXPECT_EQ(UpstreamFor(*routes, fallback, "@corporate/x").base_url, "https://registry.npmjs.org/");
  EXPECT_EQ(UpstreamFor(*routes, fallback, "lodash").base_url, "https://registry.npmjs.org/");
  EXPECT_FALSE(ParseScopeRoutes("corp=https://x").ok());
  EXPECT_FALSE(ParseScopeRoutes("@corp").ok());
  auto bad = ParseScopeRoutes("@corp=ftp://u:SECRET@x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().find("SECRET"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace cellar::npm
