#include "base/digest.h"

#include <gtest/gtest.h>

namespace cellar {
namespace {

TEST(DigestTest, HexRoundTrip) {
  std::string hex(64, 'a');
  hex[0] = '0';
  auto d = Digest::FromHex(hex);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->Hex(), hex);
}

TEST(DigestTest, RejectsUppercaseAndWrongLength) {
  EXPECT_FALSE(Digest::FromHex(std::string(64, 'A')).ok());
  EXPECT_FALSE(Digest::FromHex(std::string(63, 'a')).ok());
  EXPECT_FALSE(Digest::FromHex(std::string(62, 'a') + "/.").ok());
}

}  // namespace
}  // namespace cellar
