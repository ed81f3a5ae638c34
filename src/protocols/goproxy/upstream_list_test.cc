#include "protocols/goproxy/upstream_list.h"

#include <gtest/gtest.h>

#include "env/fake_http_client.h"

namespace cellar::goproxy {
namespace {

TEST(UpstreamListTest, ParsesFallThroughSeparators) {
  auto ups = ParseUpstreamList("https://a.test/, http://b.test|https://c.test");
  ASSERT_TRUE(ups.ok());
  ASSERT_EQ(ups->size(), 3u);
  EXPECT_EQ((*ups)[0].base_url, "https://a.test");
  EXPECT_FALSE((*ups)[0].fall_through_on_error);
  EXPECT_TRUE((*ups)[1].fall_through_on_error);
  EXPECT_FALSE(ParseUpstreamList("https://a,,https://b").ok());
  EXPECT_FALSE(ParseUpstreamList("direct").ok());
}

TEST(UpstreamListTest, RedactsCredentials) {
  EXPECT_EQ(RedactUrl("https://user:secret@goproxy.corp/x"), "https://goproxy.corp/x");
  EXPECT_EQ(RedactUrl("https://goproxy.corp/a@b"), "https://goproxy.corp/a@b");
  EXPECT_EQ(RedactUrl("http://tok@h"), "http://h");
}

TEST(ModuleRoutesTest, ParsesRulesAndFindsTheFirstMatch) {
  auto routes = ParseModuleRoutes(
      "corp.example/*,git.internal=https://ci:s3cret@goproxy.corp|https://backup.corp ; private.test=off");
  ASSERT_TRUE(routes.ok()) << routes.error().message();
  ASSERT_EQ(routes->size(), 2u);
  const ModuleRoute* corp = FindRoute(*routes, "corp.example/team/repo");
  ASSERT_NE(corp, nullptr);
  ASSERT_EQ(corp->upstreams.size(), 2u);
  EXPECT_EQ(corp->upstreams[0].base_url, "https://ci:s3cret@goproxy.corp");
  EXPECT_TRUE(corp->upstreams[0].fall_through_on_error);
  EXPECT_EQ(FindRoute(*routes, "git.internal/x"), corp);
  const ModuleRoute* off = FindRoute(*routes, "private.test/m");
  ASSERT_NE(off, nullptr);
  EXPECT_TRUE(off->upstreams.empty());
  EXPECT_EQ(FindRoute(*routes, "example.test/m01"), nullptr);
  EXPECT_TRUE(ParseModuleRoutes("")->empty());
}

TEST(ModuleRoutesTest, ErrorsNeverShowCredentials) {
  auto bad = ParseModuleRoutes("corp.example=https://ci:s3cret@goproxy.corp,,x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().find("s3cret"), std::string::npos) << bad.error().message();
  auto no_eq = ParseModuleRoutes("https://ci:s3cret@goproxy.corp");
  ASSERT_FALSE(no_eq.ok());
  EXPECT_EQ(no_eq.error().message().find("s3cret"), std::string::npos) << no_eq.error().message();
  EXPECT_FALSE(ParseModuleRoutes("=https://a").ok());
}

// Issue 13: proxy.golang.org answers 400 for a version that cannot exist
// ("invalid version"); that is "not found" (the next proxy, or `,direct`, is
// tried), not a failure answered 502.
TEST(FetchFromUpstreamsTest, Upstream400IsNotFoundAndFallsThrough) {
  env::FakeHttpClient client;
  client.Set("http://a.test/m/@v/bad.info", env::FakeReply::WithStatus(400, "bad request: invalid version"));
  auto one = FetchFromUpstreams(client, *ParseUpstreamList("http://a.test"), "m/@v/bad.info");
  ASSERT_FALSE(one.ok());
  EXPECT_TRUE(one.error().IsNotFound()) << one.error().message();
  client.Set("http://b.test/m/@v/bad.info", env::FakeReply::Ok("{}"));
  auto two = FetchFromUpstreams(client, *ParseUpstreamList("http://a.test,http://b.test"), "m/@v/bad.info");
  ASSERT_TRUE(two.ok()) << two.error().message();
  EXPECT_EQ((*two)->head().status, 200);
  // Other failures still stop a ","-list: a 500 is not "not found".
  client.Set("http://a.test/m/@v/bad.info", env::FakeReply::WithStatus(500));
  auto failed = FetchFromUpstreams(client, *ParseUpstreamList("http://a.test,http://b.test"), "m/@v/bad.info");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Code::kUnavailable);
}

// Issue 13: a module routed to a private upstream (or "off") is never
// looked up in the public checksum database, as if it were in GONOSUMDB.
TEST(ModuleRoutesTest, RoutedModulesAreExemptFromTheChecksumDatabase) {
  auto routes = ParseModuleRoutes("corp.example/*=https://goproxy.corp;private.test=off");
  ASSERT_TRUE(routes.ok());
  auto nosumdb = ModulePatterns::Parse("secret.example");
  ASSERT_TRUE(nosumdb.ok());
  ModulePatterns exempt = SumdbExemptModules(*nosumdb, *routes);
  EXPECT_TRUE(exempt.Matches("corp.example/team/repo"));
  EXPECT_TRUE(exempt.Matches("private.test"));
  EXPECT_TRUE(exempt.Matches("secret.example/x"));
  EXPECT_FALSE(exempt.Matches("github.com/pkg/errors"));
  EXPECT_TRUE(SumdbExemptModules(ModulePatterns(), {}).empty());
}

}  // namespace
}  // namespace cellar::goproxy
