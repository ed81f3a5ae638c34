#include "protocols/sccache/sccache_adapter.h"

#include <gtest/gtest.h>

namespace cellar::sccache {
namespace {

TEST(DavPathTest, DefaultNamespaceKeepsTodaysPaths) {
  auto p = ParseDavPath("/a/b/c/abcdef");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ns, "sccache");
  EXPECT_EQ(p->key, "a/b/c/abcdef");
  EXPECT_FALSE(p->collection);
  for (std::string_view root : {"", "/"}) {
    auto r = ParseDavPath(root);
    ASSERT_TRUE(r.ok()) << root;
    EXPECT_EQ(r->ns, "sccache");
    EXPECT_TRUE(r->key.empty());
    EXPECT_TRUE(r->collection);
  }
  auto dir = ParseDavPath("/a/b/");
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir->key, "a/b");
  EXPECT_TRUE(dir->collection);
  // A key prefix named like a team without the '~' is still a key.
  EXPECT_EQ(ParseDavPath("/team-a/.sccache_check")->ns, "sccache");
}

TEST(DavPathTest, TildeSegmentSelectsTheTeamNamespace) {
  auto p = ParseDavPath("/~team-a/a/b/c/abcdef");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ns, "sccache/team-a");
  EXPECT_EQ(p->key, "a/b/c/abcdef");
  for (std::string_view root : {"/~team-a", "/~team-a/"}) {
    auto r = ParseDavPath(root);
    ASSERT_TRUE(r.ok()) << root;
    EXPECT_EQ(r->ns, "sccache/team-a");
    EXPECT_TRUE(r->key.empty());
    EXPECT_TRUE(r->collection);
  }
  EXPECT_EQ(ParseDavPath("/~team-a/.sccache_check")->key, ".sccache_check");
}

TEST(DavPathTest, BadTeamsAndKeysAreRefusedWithAReason) {
  for (std::string_view bad : {"/~", "/~/x", "/~..", "/~./x", "/~a%2fb/x", "/~a%00b/x", "/~a b/x", "/~a~b/x"}) {
    auto p = ParseDavPath(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code(), Code::kInvalidArgument);
    EXPECT_NE(p.error().message().find("team"), std::string::npos) << bad;
  }
  EXPECT_FALSE(ParseDavPath("/~" + std::string(101, 'a') + "/x").ok());
  EXPECT_TRUE(ParseDavPath("/~" + std::string(100, 'a') + "/x").ok());
  EXPECT_FALSE(ParseDavPath("/~team/../x").ok());
  EXPECT_FALSE(ParseDavPath("/~team/~other/x").ok());  // one team, and '~' is no key character
  EXPECT_FALSE(ParseDavPath("/a/../b").ok());
}

}  // namespace
}  // namespace cellar::sccache
