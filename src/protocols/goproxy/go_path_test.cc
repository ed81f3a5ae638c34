#include "protocols/goproxy/go_path.h"

#include <gtest/gtest.h>

namespace cellar::goproxy {
namespace {

TEST(GoPathTest, ParsesEveryEndpoint) {
  auto r = ParseGoPath("github.com/!azure/sdk/@v/list");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, GoFileKind::kList);
  EXPECT_EQ(r->module, "github.com/!azure/sdk");
  r = ParseGoPath("golang.org/x/net/@v/v0.1.0.zip");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, GoFileKind::kZip);
  EXPECT_EQ(r->version, "v0.1.0");
  EXPECT_EQ(ParseGoPath("example.com/m/@v/v1.2.3.mod")->kind, GoFileKind::kMod);
  EXPECT_EQ(ParseGoPath("example.com/m/@v/master.info")->kind, GoFileKind::kInfo);
  EXPECT_EQ(ParseGoPath("example.com/m/@latest")->kind, GoFileKind::kLatest);
  EXPECT_TRUE(ParseGoPath("example.com/m/@v/v2.0.0+incompatible.zip"));
}

TEST(GoPathTest, RejectsBadPaths) {
  EXPECT_FALSE(ParseGoPath("example.com/M/@v/list"));         // raw uppercase
  EXPECT_FALSE(ParseGoPath("example.com/!/@v/list"));         // bare "!"
  EXPECT_FALSE(ParseGoPath("example.com/../x/@v/list"));
  EXPECT_FALSE(ParseGoPath("example.com//x/@v/list"));
  EXPECT_FALSE(ParseGoPath("example.com/m/@v/master.zip"));   // zips need canonical versions
  EXPECT_FALSE(ParseGoPath("example.com/m/@v/v1.0.0.tar"));
  EXPECT_FALSE(ParseGoPath("example.com/m"));
  EXPECT_FALSE(ParseGoPath(std::string(600, 'a') + "/@v/list"));
  EXPECT_FALSE(ParseGoPath("example.com/m/@v/..info"));
}

TEST(GoPathTest, CanonicalVersions) {
  EXPECT_TRUE(IsCanonicalVersion("v1.2.3"));
  EXPECT_TRUE(IsCanonicalVersion("v0.0.0-20240101000000-abcdefabcdef"));
  EXPECT_TRUE(IsCanonicalVersion("v2.0.0+incompatible"));
  EXPECT_FALSE(IsCanonicalVersion("v1.2"));
  EXPECT_FALSE(IsCanonicalVersion("master"));
  EXPECT_FALSE(IsCanonicalVersion("v01.2.3"));
}

}  // namespace
}  // namespace cellar::goproxy
