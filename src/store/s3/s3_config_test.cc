#include "store/s3/s3_config.h"

#include <gtest/gtest.h>

#include <map>

namespace cellar::s3 {
namespace {

TEST(S3ConfigTest, EnvironmentFillsWhatIsSet) {
  std::map<std::string, std::string> env = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:7480"},
                                            {"AWS_DEFAULT_REGION", "eu-west-1"},
                                            {"AWS_ACCESS_KEY_ID", "AK"},
                                            {"AWS_SECRET_ACCESS_KEY", "SK"},
                                            {"AWS_SESSION_TOKEN", ""}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  S3Config config;
  config.bucket = "b";
  config.credentials.session_token = "kept";
  ApplyEnvironment(config, getenv);
  EXPECT_EQ(config.endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(config.region, "eu-west-1");
  EXPECT_EQ(config.credentials.access_key_id, "AK");
  EXPECT_EQ(config.credentials.secret_access_key, "SK");
  EXPECT_EQ(config.credentials.session_token, "kept");  // empty variables do not clear
  env["AWS_REGION"] = "us-west-2";
  ApplyEnvironment(config, getenv);
  EXPECT_EQ(config.region, "us-west-2");
  EXPECT_TRUE(Validate(config).ok());
}

TEST(S3ConfigTest, ValidateNamesTheProblemNeverTheSecret) {
  S3Config config;
  config.credentials = {"AK", "TopSecret", "TokenSecret"};
  EXPECT_NE(Validate(config).message().find("endpoint"), std::string::npos);
  config.endpoint = "127.0.0.1:7480";
  EXPECT_NE(Validate(config).message().find("scheme"), std::string::npos);
  config.endpoint = "http://h/path";
  EXPECT_FALSE(Validate(config).ok());
  config.endpoint = "http://h";
  EXPECT_NE(Validate(config).message().find("bucket"), std::string::npos);
  config.bucket = "b";
  config.credentials.secret_access_key.clear();
  EXPECT_NE(Validate(config).message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  config.credentials.secret_access_key = "TopSecret";
  EXPECT_TRUE(Validate(config).ok());
  const std::string described = config.Describe();
  EXPECT_EQ(described.find("TopSecret"), std::string::npos);
  EXPECT_EQ(described.find("TokenSecret"), std::string::npos);
  EXPECT_NE(described.find("bucket=b"), std::string::npos);
}

TEST(S3ConfigTest, PathAndVirtualHostUrls) {
  S3Config config;
  config.endpoint = "https://s3.us-east-1.amazonaws.com:443/";
  config.bucket = "my-bucket";
  Result<ObjectUrl> path = UrlFor(config, "a b/c+d");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->Full(), "https://s3.us-east-1.amazonaws.com/my-bucket/a%20b/c%2Bd");
  EXPECT_EQ(UrlFor(config, "")->Full(), "https://s3.us-east-1.amazonaws.com/my-bucket");
  config.addressing = Addressing::kVirtualHost;
  EXPECT_EQ(UrlFor(config, "k")->Full(), "https://my-bucket.s3.us-east-1.amazonaws.com/k");
  EXPECT_EQ(UrlFor(config, "")->Full(), "https://my-bucket.s3.us-east-1.amazonaws.com/");
  config.endpoint = "http://127.0.0.1:7480";
  config.addressing = Addressing::kPath;
  EXPECT_EQ(UrlFor(config, "k")->host, "127.0.0.1:7480");
}

}  // namespace
}  // namespace cellar::s3
