#include "base/strings.h"

#include <gtest/gtest.h>

namespace cellar {
namespace {

TEST(StringsTest, CollapseSlashes) {
  EXPECT_EQ(CollapseSlashes("//v8//artifacts/x"), "/v8/artifacts/x");
}

TEST(StringsTest, PercentDecodeRejectsEncodedSlashUnlessAllowed) {
  EXPECT_EQ(*PercentDecode("a%20b", false), "a b");
  EXPECT_FALSE(PercentDecode("a%2fb", false).has_value());
  EXPECT_EQ(*PercentDecode("@s%2Fn", true), "@s/n");
  EXPECT_FALSE(PercentDecode("bad%2", true).has_value());
  EXPECT_FALSE(PercentDecode("bad%zz", true).has_value());
  EXPECT_FALSE(PercentDecode("nul%00", true).has_value());
}

TEST(StringsTest, ParsesSizesAndDurations) {
  EXPECT_EQ(*ParseByteSize("64KiB"), 65536u);
  EXPECT_EQ(*ParseByteSize("20GiB"), 20ULL << 30);
  EXPECT_FALSE(ParseByteSize("12 parsecs").has_value());
  EXPECT_EQ(*ParseDurationMs("5m"), 300000);
  EXPECT_EQ(*ParseDurationMs("30"), 30000);
  EXPECT_FALSE(ParseDurationMs("-3s").has_value());
  EXPECT_FALSE(ParseUint64("99999999999999999999999").has_value());
}

// Found by fuzz/strings_fuzz: 106751991168 days overflowed int64 milliseconds.
TEST(StringsTest, DurationsThatOverflowAreRefused) {
  EXPECT_EQ(*ParseDurationMs("106751991167d"), int64_t{106751991167} * 86'400'000);
  EXPECT_FALSE(ParseDurationMs("106751991168d").has_value());
  EXPECT_FALSE(ParseDurationMs("1099511627776d").has_value());
  EXPECT_EQ(*ParseDurationMs("1099511627776h"), int64_t{1099511627776} * 3'600'000);
}

TEST(StringsTest, XmlEscape) { EXPECT_EQ(XmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"); }

TEST(StringsTest, JsonEscape) { EXPECT_EQ(JsonEscape("a\"b\\\n\x01"), "a\\\"b\\\\\\n\\u0001"); }

TEST(StringsTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secrets"));
}

}  // namespace
}  // namespace cellar
