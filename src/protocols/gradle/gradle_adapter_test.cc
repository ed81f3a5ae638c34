#include "protocols/gradle/gradle_adapter.h"

#include <gtest/gtest.h>

namespace cellar::gradle {
namespace {

TEST(GradlePathTest, AcceptsHexKeysOfAnyLength) {
  EXPECT_TRUE(ParseGradlePath(std::string(32, 'a')));
  EXPECT_TRUE(ParseGradlePath("cache/" + std::string(40, '1')));
}

TEST(GradlePathTest, RejectsNonHexAndTraversal) {
  EXPECT_FALSE(ParseGradlePath("cache/XYZ"));
  EXPECT_FALSE(ParseGradlePath("../" + std::string(32, 'a')));
  EXPECT_FALSE(ParseGradlePath(std::string(200, 'a')));
}

}  // namespace
}  // namespace cellar::gradle
