#include "protocols/common/protocol.h"

#include <gtest/gtest.h>

namespace cellar::protocols {
namespace {

TEST(SafeKeyPathTest, Rules) {
  EXPECT_TRUE(IsSafeKeyPath("a/b.c/d_e-f", 4, 100));
  EXPECT_FALSE(IsSafeKeyPath("a/../b", 4, 100));
  EXPECT_FALSE(IsSafeKeyPath("./a", 4, 100));
  EXPECT_FALSE(IsSafeKeyPath("a/b/c/d/e", 4, 100));
  EXPECT_FALSE(IsSafeKeyPath("a b", 4, 100));
  EXPECT_FALSE(IsSafeKeyPath("a%2fb", 4, 100));
  EXPECT_FALSE(IsSafeKeyPath(std::string(101, 'a'), 4, 100));
}

}  // namespace
}  // namespace cellar::protocols
