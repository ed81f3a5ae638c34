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

TEST(ConfigTest, StorageIsLocalUnlessS3IsAsked) {
  auto c = Load({}, {{"AWS_ENDPOINT_URL", "http://127.0.0.1:7480"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage, "local");
  EXPECT_EQ(c->s3_endpoint, "");  // the environment is read only for s3 storage
  EXPECT_FALSE(Load({"--storage", "tape"}).ok());
}

// content-cache's `serve --listen :8080 --storage ./cache`.
TEST(ConfigTest, ContentCacheStyleListenAndStorageDirectory) {
  auto c = Load({"--listen", ":8080", "--storage", "./cache"});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->host, "127.0.0.1");  // no tokens: not exposed to the network
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("127.0.0.1 only"), std::string::npos);
  EXPECT_TRUE(CheckExposure(*c).ok());
  EXPECT_EQ(c->storage, "local");
  EXPECT_EQ(c->data_dir, "./cache");
  auto t = Load({"--listen=:9090", "--token", "a:aaaaaaaaaa:read"});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "0.0.0.0");
  EXPECT_TRUE(t->warnings.empty());
  EXPECT_EQ(Load({"--listen=:9090", "--allow-anonymous"})->host, "0.0.0.0");
  EXPECT_EQ(Load({"--storage", "/var/cache/cellar"})->data_dir, "/var/cache/cellar");
  auto typo = Load({"--storage", "S3"});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message().find("a directory such as ./cache"), std::string::npos);
  EXPECT_FALSE(Load({"--listen", ":99999"}).ok());
}

// VelocityCache's server environment, its README's docker-compose example.
TEST(ConfigTest, VelocityCacheEnvironmentAndCellarsOwnSettingsWin) {
  std::map<std::string, std::string> vc = {{"VC_PORT", "8080"},
                                           {"VC_AUTH_TOKEN", "secret-token"},
                                           {"VC_STORAGE_DRIVER", "s3"},
                                           {"VC_S3_ENDPOINT", "http://minio:9000"},
                                           {"VC_S3_BUCKET", "velocity-cache"},
                                           {"VC_S3_REGION", "us-east-1"},
                                           {"VC_BASE_URL", "http://cache.example:8080"},
                                           {"VC_RETENTION_DAYS", "14"},
                                           {"VC_LOCAL_ROOT", "/srv/velocity"}};
  auto c = Load({}, vc);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->host, "0.0.0.0");  // a token is configured
  EXPECT_EQ(c->port, 8080);
  ASSERT_EQ(c->tokens.size(), 1u);
  EXPECT_EQ(c->storage, "s3");
  EXPECT_EQ(c->s3_endpoint, "http://minio:9000");
  EXPECT_EQ(c->s3_bucket, "velocity-cache");
  EXPECT_EQ(c->s3_region, "us-east-1");
  EXPECT_EQ(c->public_url, "http://cache.example:8080");
  EXPECT_EQ(c->ttl_ms, 14LL * 24 * 3600 * 1000);
  EXPECT_EQ(c->data_dir, "/srv/velocity");

  // cellar's own environment and flags win.
  vc["CELLAR_STORAGE"] = "local";
  auto own = Load({"--listen", "127.0.0.1:9999", "--token", "ci:cccccccccc:read"}, vc);
  ASSERT_TRUE(own.ok()) << own.error().ToString();
  EXPECT_EQ(own->storage, "local");
  EXPECT_EQ(own->host, "127.0.0.1");
  EXPECT_EQ(own->port, 9999);
  ASSERT_EQ(own->tokens.size(), 1u);

  EXPECT_FALSE(Load({}, {{"VC_STORAGE_DRIVER", "gcs"}}).ok());
  EXPECT_FALSE(Load({}, {{"VC_RETENTION_DAYS", "two weeks"}}).ok());
  auto colon = Load({}, {{"VC_AUTH_TOKEN", "has:colon"}});
  ASSERT_FALSE(colon.ok());
  EXPECT_NE(colon.error().message().find("VC_AUTH_TOKEN"), std::string::npos);
}

TEST(ConfigTest, S3SettingsFromFlagsThenTheAwsEnvironment) {
  auto c = Load({"--storage=s3", "--s3-bucket", "cache", "--s3-prefix", "team/a"},
                {{"AWS_ENDPOINT_URL", "http://127.0.0.1:7480"}, {"AWS_DEFAULT_REGION", "eu-west-1"},
                 {"AWS_SECRET_ACCESS_KEY", "NotAnOption"}});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->s3_endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(c->s3_bucket, "cache");
  EXPECT_EQ(c->s3_prefix, "team/a");
  EXPECT_EQ(c->s3_region, "eu-west-1");
  EXPECT_EQ(c->s3_addressing, "path");

  c = Load({"--storage=s3", "--s3-bucket=b", "--s3-region=us-west-2", "--s3-endpoint=https://r2.example:8443",
            "--s3-addressing=virtual-host"},
           {{"AWS_ENDPOINT_URL", "http://127.0.0.1:7480"}, {"AWS_REGION", "eu-west-1"}});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->s3_endpoint, "https://r2.example:8443");
  EXPECT_EQ(c->s3_region, "us-west-2");
  EXPECT_EQ(c->s3_addressing, "virtual-host");

  c = Load({"--storage=s3", "--s3-bucket=b"}, {{"CELLAR_S3_REGION", "ap-south-1"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->s3_endpoint, "https://s3.ap-south-1.amazonaws.com");
}

TEST(ConfigTest, S3MisconfigurationIsReadable) {
  auto c = Load({"--storage=s3"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("--s3-bucket"), std::string::npos);
  EXPECT_FALSE(Load({"--storage=s3", "--s3-bucket=b", "--s3-endpoint=127.0.0.1:7480"}).ok());
  EXPECT_FALSE(Load({"--storage=s3", "--s3-bucket=b", "--s3-endpoint=http://h/path"}).ok());
  EXPECT_FALSE(Load({"--storage=s3", "--s3-bucket=b"}, {{"AWS_ENDPOINT_URL", "ftp://h"}}).ok());
  EXPECT_FALSE(Load({"--s3-addressing=dns"}).ok());
}

TEST(ConfigTest, S3UploadIsSyncByDefaultAndAsyncNeedsABucket) {
  auto c = Load({"--storage=s3", "--s3-bucket=b"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->s3_upload, "sync");
  c = Load({"--storage=s3", "--s3-bucket=b", "--s3-upload=async"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->s3_upload, "async");
  c = Load({"--storage=s3", "--s3-bucket=b"}, {{"CELLAR_S3_UPLOAD", "async"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->s3_upload, "async");
  std::string path = testing::TempDir() + "/cellar-config-s3-upload.yaml";
  {
    std::ofstream f(path);
    f << "storage: s3\ns3_bucket: b\ns3_upload: async\n";
  }
  c = Load({"--config", path});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->s3_upload, "async");

  EXPECT_FALSE(Load({"--storage=s3", "--s3-bucket=b", "--s3-upload=later"}).ok());
  c = Load({"--s3-upload=async"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("--storage s3"), std::string::npos) << c.error().ToString();
  EXPECT_NE(ConfigHelp().find("--s3-upload"), std::string::npos);
}

TEST(ConfigTest, HelpNeverShowsCredentials) {
  const std::string help = ConfigHelp();
  for (const char* flag : {"--storage", "--s3-endpoint", "--s3-bucket", "--s3-prefix", "--s3-region"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  EXPECT_EQ(help.find("--aws"), std::string::npos);
  EXPECT_EQ(help.find("secret-access-key"), std::string::npos);
}

TEST(ConfigTest, HelpListsEveryOption) {
  std::string help = ConfigHelp();
  for (const char* flag : {"--listen", "--data-dir", "--max-size", "--token", "--allow-anonymous", "--ttl"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

// Tracing settings from OpenTelemetry's standard environment; cellar's own
// flags win, and bad values are refused naming where they came from.
TEST(ConfigTest, TracingFromOtelEnvironmentAndFlags) {
  auto off = Load({});
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->otlp_endpoint.empty());
  auto env = Load({}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318"},
                       {"OTEL_SERVICE_NAME", "cache-eu"},
                       {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci,team=build"},
                       {"OTEL_TRACES_SAMPLER_ARG", "0.01"}});
  ASSERT_TRUE(env.ok()) << env.error().ToString();
  EXPECT_EQ(env->otlp_endpoint, "http://otel:4318");
  EXPECT_EQ(env->otlp_service_name, "cache-eu");
  EXPECT_EQ(env->otlp_resource_attributes, "deployment.environment=ci,team=build");
  EXPECT_DOUBLE_EQ(env->trace_sampling, 0.01);
  auto traces_url = Load({}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"},
                              {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4318/v1/traces"}});
  ASSERT_TRUE(traces_url.ok());
  EXPECT_EQ(traces_url->otlp_endpoint, "http://b:4318/v1/traces");
  auto flags = Load({"--otlp-endpoint", "http://c:4318", "--trace-sampling", "0"},
                    {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"}});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->otlp_endpoint, "http://c:4318");
  EXPECT_DOUBLE_EQ(flags->trace_sampling, 0);
  EXPECT_FALSE(Load({"--trace-sampling", "1.5"}).ok());
  EXPECT_FALSE(Load({"--otlp-endpoint", "otel:4318"}).ok());
  EXPECT_FALSE(Load({"--otlp-resource-attributes", "novalue"}).ok());
  auto bad = Load({}, {{"OTEL_TRACES_SAMPLER_ARG", "often"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().ToString().find("OTEL_TRACES_SAMPLER_ARG"), std::string::npos);
}

}  // namespace
}  // namespace cellar::server
