#include "tasks/cache/url_origin.h"

#include <gtest/gtest.h>

namespace cellar::taskcache {
namespace {

TEST(UrlOriginTest, DefaultPortsAndCaseAreNormalised) {
  EXPECT_TRUE(SameOrigin("http://Cache.Local/v1/negotiate", "HTTP://cache.local:80/v1/blobs/x?sig=1"));
  EXPECT_TRUE(SameOrigin("https://cache.local/a", "https://cache.local:443/b"));
  EXPECT_TRUE(SameOrigin("http://[::1]:8080/a", "http://[::1]:8080"));
}

TEST(UrlOriginTest, AnyDifferenceInSchemeHostOrPortIsAnotherOrigin) {
  EXPECT_FALSE(SameOrigin("http://cache.local/a", "https://cache.local/a"));
  EXPECT_FALSE(SameOrigin("http://cache.local:8080/a", "http://cache.local:8081/a"));
  EXPECT_FALSE(SameOrigin("http://cache.local/a", "http://cache.local.evil.example/a"));
  EXPECT_FALSE(SameOrigin("http://127.0.0.1:9/a", "http://localhost:9/a"));
  // User info does not change the host it is sent to.
  EXPECT_TRUE(SameOrigin("http://cache.local@other.example/a", "http://other.example/"));
  EXPECT_FALSE(SameOrigin("http://cache.local@other.example/a", "http://cache.local/"));
}

TEST(UrlOriginTest, OnlyAbsoluteHttpUrlsHaveAnOrigin) {
  EXPECT_FALSE(ParseOrigin("/v1/blobs/x"));
  EXPECT_FALSE(ParseOrigin("ftp://host/x"));
  EXPECT_FALSE(ParseOrigin("http:///x"));
  EXPECT_FALSE(ParseOrigin("http://host:99999/"));
  EXPECT_FALSE(SameOrigin("garbage", "garbage"));
  auto o = ParseOrigin("https://s3.example.com:9000/bucket/k?X-Sig=1");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->scheme, "https");
  EXPECT_EQ(o->host, "s3.example.com");
  EXPECT_EQ(o->port, 9000);
}

TEST(UrlOriginTest, MessagesNeverShowSignaturesOrPasswords) {
  EXPECT_EQ(UrlForMessages("http://h:1/v1/blobs/k?method=GET&sig=abc"), "http://h:1/v1/blobs/k");
  EXPECT_EQ(UrlForMessages("https://user:pw@h/x#frag"), "https://h/x");
}

}  // namespace
}  // namespace cellar::taskcache
