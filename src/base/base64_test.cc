#include "base/base64.h"

#include <gtest/gtest.h>

namespace cellar {
namespace {

TEST(Base64Test, RoundTripsBothAlphabets) {
  std::string data = "\xfb\xff\xfe user:pass";
  EXPECT_EQ(*Base64DecodeAny(Base64Encode(data)), data);
  EXPECT_EQ(*Base64DecodeAny(Base64UrlEncode(data)), data);
  EXPECT_NE(Base64Encode(data).find('+'), std::string::npos);
  EXPECT_NE(Base64UrlEncode(data).find('-'), std::string::npos);
}

TEST(Base64Test, KnownAnswer) {
  EXPECT_EQ(Base64Encode("user:tok"), "dXNlcjp0b2s=");
  EXPECT_EQ(*Base64DecodeAny("dXNlcjp0b2s"), "user:tok");
}

TEST(Base64Test, RejectsGarbage) {
  EXPECT_FALSE(Base64DecodeAny("a").has_value());
  EXPECT_FALSE(Base64DecodeAny("ab$d").has_value());
}

}  // namespace
}  // namespace cellar
