#include "protocols/ccache/ccache_adapter.h"

#include <gtest/gtest.h>

namespace cellar::ccache {
namespace {

TEST(CcachePathTest, AcceptsEveryLayout) {
  EXPECT_TRUE(ParseCcachePath("ab/" + std::string(31, 'c')));              // subdirs
  EXPECT_TRUE(ParseCcachePath(std::string(33, 'v')));                      // flat
  EXPECT_TRUE(ParseCcachePath("ac/" + std::string(64, 'f')));              // bazel
  EXPECT_TRUE(ParseCcachePath("team-a/ab/" + std::string(31, '0')));       // with a prefix
}

TEST(CcachePathTest, RejectsTraversalAndJunk) {
  EXPECT_FALSE(ParseCcachePath("../ab/" + std::string(31, 'c')));
  EXPECT_FALSE(ParseCcachePath("ab/" + std::string(31, 'z')));  // not base32hex
  EXPECT_FALSE(ParseCcachePath("ab//" + std::string(31, 'c')));
  EXPECT_FALSE(ParseCcachePath("%2e%2e/" + std::string(33, 'a')));
  EXPECT_FALSE(ParseCcachePath(""));
}

}  // namespace
}  // namespace cellar::ccache
