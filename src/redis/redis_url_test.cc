#include "redis/redis_url.h"

#include <gtest/gtest.h>

namespace cellar::redis {
namespace {

TEST(RedisUrlTest, TcpWithDefaults) {
  RedisUrl url = ParseRedisUrl("redis://cache.internal").value();
  EXPECT_EQ(url.host, "cache.internal");
  EXPECT_EQ(url.port, 6379);
  EXPECT_EQ(url.db, 0);
  EXPECT_EQ(url.password, "");
  EXPECT_EQ(url.Display(), "redis://cache.internal:6379/0");
}

TEST(RedisUrlTest, UserPasswordPortAndDb) {
  RedisUrl url = ParseRedisUrl("redis://cellar:p%40ss%3Aword@10.0.0.5:6380/3").value();
  EXPECT_EQ(url.user, "cellar");
  EXPECT_EQ(url.password, "p@ss:word");
  EXPECT_EQ(url.host, "10.0.0.5");
  EXPECT_EQ(url.port, 6380);
  EXPECT_EQ(url.db, 3);
  EXPECT_EQ(url.Display(), "redis://cellar@10.0.0.5:6380/3");
}

TEST(RedisUrlTest, PasswordAloneInEitherSpelling) {
  EXPECT_EQ(ParseRedisUrl("redis://:secret@h").value().password, "secret");
  RedisUrl url = ParseRedisUrl("redis://secret@h").value();
  EXPECT_EQ(url.password, "secret");
  EXPECT_EQ(url.user, "");
  EXPECT_EQ(url.Display().find("secret"), std::string::npos);
}

TEST(RedisUrlTest, Ipv6Host) {
  RedisUrl url = ParseRedisUrl("redis://[::1]:7000").value();
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 7000);
  EXPECT_EQ(url.Display(), "redis://[::1]:7000/0");
}

TEST(RedisUrlTest, UnixSocket) {
  RedisUrl url = ParseRedisUrl("unix:///run/redis/redis.sock?db=2").value();
  EXPECT_EQ(url.socket_path, "/run/redis/redis.sock");
  EXPECT_EQ(url.db, 2);
  EXPECT_EQ(url.host, "");
  EXPECT_EQ(ParseRedisUrl("unix://relative.sock").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseRedisUrl("unix:///x.sock?timeout=3").status().code(), Code::kInvalidArgument);
}

TEST(RedisUrlTest, MalformedUrlsAreRefusedWithoutShowingThePassword) {
  for (const char* bad : {"http://h:6379", "redis://", "redis://:pw@", "redis://h:0", "redis://h:65536",
                          "redis://h:port", "redis://h/db", "redis://h/-1", "redis://[::1", "redis://u:p%zz@h",
                          "redis://u:topsecret@h:99999"}) {
    Result<RedisUrl> url = ParseRedisUrl(bad);
    ASSERT_FALSE(url.ok()) << bad;
    EXPECT_EQ(url.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(url.status().message().find("topsecret"), std::string::npos);
    EXPECT_NE(url.status().message().find("--redis-url"), std::string::npos);
  }
}

TEST(RedisUrlTest, TlsUrlsAreRefusedWithWhatToDoInstead) {
  Result<RedisUrl> url = ParseRedisUrl("rediss://:topsecret@redis.internal:6380/0");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.status().code(), Code::kInvalidArgument);
  EXPECT_NE(url.status().message().find("TLS"), std::string::npos) << url.status().message();
  EXPECT_NE(url.status().message().find("stunnel"), std::string::npos);
  EXPECT_EQ(url.status().message().find("topsecret"), std::string::npos);
}

}  // namespace
}  // namespace cellar::redis
