#include "protocols/ccache/ccache_adapter.h"

#include <gtest/gtest.h>

namespace cellar::ccache {
namespace {

TEST(CcachePathTest, AcceptsEveryLayoutInTheDefaultNamespace) {
  const std::string subdirs = "ab/" + std::string(31, 'c');
  const std::string flat(33, 'v');
  const std::string bazel = "ac/" + std::string(64, 'f');
  for (const std::string& path : {subdirs, flat, bazel}) {
    auto t = ParseCcachePath(path);
    ASSERT_TRUE(t) << path;
    EXPECT_EQ(t->ns, "ccache");
    EXPECT_EQ(t->key, path);
  }
}

// Issue 13, defect 11: the prefix was kept as part of the key in the one
// "ccache" namespace, so no token could be limited to a team.
TEST(CcachePathTest, ThePrefixIsTheTeamNamespace) {
  const std::string subdirs = "ab/" + std::string(31, '0');
  const std::string flat(33, 'v');
  const std::string bazel = "ac/" + std::string(64, 'f');
  for (const std::string& key : {subdirs, flat, bazel}) {
    auto t = ParseCcachePath("team-a/" + key);
    ASSERT_TRUE(t) << key;
    EXPECT_EQ(t->ns, "ccache/team-a");
    EXPECT_EQ(t->key, key);
    t = ParseCcachePath("org/team-b/" + key);
    ASSERT_TRUE(t) << key;
    EXPECT_EQ(t->ns, "ccache/org/team-b");
    EXPECT_EQ(t->key, key);
  }
  // Layout directories are never mistaken for a team: the key is matched
  // from the end, and the three layouts' key lengths differ.
  auto t = ParseCcachePath("ab/" + flat);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ns, "ccache/ab");
  EXPECT_EQ(t->key, flat);
  t = ParseCcachePath("ac/" + subdirs);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ns, "ccache/ac");
  EXPECT_EQ(t->key, subdirs);
}

TEST(CcachePathTest, RejectsTraversalAndJunk) {
  EXPECT_FALSE(ParseCcachePath("../ab/" + std::string(31, 'c')));
  EXPECT_FALSE(ParseCcachePath("ab/" + std::string(31, 'z')));  // not base32hex
  EXPECT_FALSE(ParseCcachePath("ab//" + std::string(31, 'c')));
  EXPECT_FALSE(ParseCcachePath("%2e%2e/" + std::string(33, 'a')));
  EXPECT_FALSE(ParseCcachePath(""));
  EXPECT_FALSE(ParseCcachePath("a%00b/" + std::string(33, 'a')));
  EXPECT_FALSE(ParseCcachePath("../" + std::string(33, 'a')));
  EXPECT_FALSE(ParseCcachePath(std::string(480, 'a') + "/" + std::string(33, 'a')));
  EXPECT_FALSE(ParseCcachePath("a/b/c/d/e/f/g/h/" + std::string(33, 'a')));
}

}  // namespace
}  // namespace cellar::ccache
