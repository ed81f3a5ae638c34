#include "server/config.h"

#include <fstream>

#include <gtest/gtest.h>

namespace cellar::server {
namespace {

Result<Config> Load(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  bool help = false;
  return LoadConfig(args, env, &help);
}

TEST(ConfigTest, Defaults) {
  auto c = Load({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->data_dir, "./cellar-data");
}

TEST(ConfigTest, FlagsBeatEnvironmentBeatFile) {
  std::string path = testing::TempDir() + "/cellar-config-test.yaml";
  {
    std::ofstream f(path);
    f << "listen: 127.0.0.1:1111\nmax_size: 1GiB\ndata_dir: /from/file\nttl: 7d\n";
  }
  auto c = Load({"--config", path, "--listen=127.0.0.1:3333"},
                {{"CELLAR_LISTEN", "127.0.0.1:2222"}, {"CELLAR_DATA_DIR", "/from/env"}});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->port, 3333);
  EXPECT_EQ(c->data_dir, "/from/env");
  EXPECT_EQ(c->max_size_bytes, 1ULL << 30);
  EXPECT_EQ(c->ttl_ms, 7LL * 86'400'000);
}

TEST(ConfigTest, TokensFromFlagsAndYaml) {
  std::string path = testing::TempDir() + "/cellar-config-tokens.yaml";
  {
    std::ofstream f(path);
    f << "token:\n  - name: ci\n    secret: abcdefghij\n    scopes: read,write\n    namespaces: [bazel]\n";
  }
  auto c = Load({"--config", path});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  ASSERT_EQ(c->tokens.size(), 1u);
  EXPECT_EQ(c->tokens[0].namespaces[0], "bazel");
  c = Load({"--token", "a:aaaaaaaaaa:read", "--token=b:bbbbbbbbbb:admin"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->tokens.size(), 2u);
}

TEST(ConfigTest, RejectsBadValuesWithReadableMessages) {
  auto c = Load({"--max-size", "lots"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("--max-size"), std::string::npos);
  EXPECT_FALSE(Load({"--listen", "nohost"}).ok());
  EXPECT_FALSE(Load({"--bogus"}).ok());
  EXPECT_FALSE(Load({"--low-watermark=0.95"}).ok());
}

TEST(ConfigTest, RefusesPublicBindWithoutTokens) {
  auto c = *Load({"--listen", "0.0.0.0:8080"});
  EXPECT_FALSE(CheckExposure(c).ok());
  c.allow_anonymous = true;
  EXPECT_TRUE(CheckExposure(c).ok());
  auto t = *Load({"--listen", "0.0.0.0:8080", "--token", "a:aaaaaaaaaa:read"});
  EXPECT_TRUE(CheckExposure(t).ok());
}

TEST(ConfigTest, HelpListsEveryOption) {
  std::string help = ConfigHelp();
  for (const char* flag : {"--listen", "--data-dir", "--max-size", "--token", "--allow-anonymous", "--ttl"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace cellar::server
