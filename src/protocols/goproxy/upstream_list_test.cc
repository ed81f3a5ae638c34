#include "protocols/goproxy/upstream_list.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cellar::goproxy
