// Presigning against published vectors: AWS's own example of a presigned
// GET (virtual-host addressing) and URLs botocore generated at a fixed time
// for path-style requests to a local endpoint (testdata/, described in its
// "about" field). Parameters are compared parsed, not as raw strings.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "store/s3/s3_config.h"
#include "store/s3/sigv4.h"

namespace cellar::s3 {
namespace {

struct ParsedUrl {
  std::string base;  // scheme://host/path
  std::map<std::string, std::string> query;
};

ParsedUrl Parse(const std::string& url) {
  ParsedUrl out;
  const size_t q = url.find('?');
  out.base = url.substr(0, q);
  std::string rest = q == std::string::npos ? "" : url.substr(q + 1);
  size_t pos = 0;
  while (pos <= rest.size() && !rest.empty()) {
    size_t amp = rest.find('&', pos);
    std::string item = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    const size_t eq = item.find('=');
    out.query[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

int64_t UnixOf(const std::string& amz_date) {
  struct tm tm {};
  EXPECT_NE(strptime(amz_date.c_str(), "%Y%m%dT%H%M%SZ", &tm), nullptr);
  return timegm(&tm);
}

nlohmann::json LoadVectors(const std::string& file = "sigv4_presign_vectors.json") {
  std::ifstream in(std::string(CELLAR_S3_TESTDATA) + "/" + file);
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

TEST(SigV4Test, EveryPublishedVectorMatches) {
  const nlohmann::json doc = LoadVectors();
  ASSERT_GE(doc["vectors"].size(), 5u);
  int checked = 0;
  for (const nlohmann::json& v : doc["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    S3Config config;
    config.region = v["region"];
    config.credentials.access_key_id = v["access_key"];
    config.credentials.secret_access_key = v["secret_key"];
    std::string key;
    if (v.contains("presigned_url")) {
      config.endpoint = v["endpoint"];
      config.bucket = v["bucket"];
      config.addressing = Addressing::kPath;
      key = v["key"];
    } else {
      // AWS's example names its object by a virtual-host URL.
      const std::regex url_re(R"(^(https?)://([^.]+)\.([^/]+)/(.*)$)");
      std::smatch m;
      const std::string url = v["url"];
      ASSERT_TRUE(std::regex_match(url, m, url_re));
      config.endpoint = m[1].str() + "://" + m[3].str();
      config.bucket = m[2];
      config.addressing = Addressing::kVirtualHost;
      key = m[4];
    }
    // Headers the generator was told to sign, besides host.
    std::vector<std::pair<std::string, std::string>> headers;
    std::smatch length;
    const std::string note = v.value("note", "");
    if (std::regex_search(note, length, std::regex(R"(ContentLength given to botocore: (\d+))"))) {
      headers.emplace_back("content-length", length[1]);
    }
    Result<std::string> got = PresignUrl(config, v["method"].get<std::string>(), key,
                                         UnixOf(v["amz_date"]),
                                         std::chrono::seconds(v["expires"].get<int>()), headers);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const ParsedUrl ours = Parse(*got);
    if (v.contains("presigned_url")) {
      const ParsedUrl want = Parse(v["presigned_url"]);
      EXPECT_EQ(ours.base, want.base);
      EXPECT_EQ(ours.query, want.query);
    } else {
      EXPECT_EQ(ours.base, v["url"].get<std::string>());
      EXPECT_EQ(ours.query.at("X-Amz-Signature"), v["signature"].get<std::string>());
      EXPECT_EQ(ours.query.at("X-Amz-SignedHeaders"), v["signed_headers"].get<std::string>());
      EXPECT_EQ(ours.query.at("X-Amz-Date"), v["amz_date"].get<std::string>());
      EXPECT_EQ(ours.query.at("X-Amz-Expires"), std::to_string(v["expires"].get<int>()));
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(doc["vectors"].size()));
}

// Temporary credentials: the token is a signed query parameter, sorted
// among the others (it comes after X-Amz-Expires, before X-Amz-SignedHeaders).
TEST(SigV4Test, SessionTokenVectorsMatch) {
  const nlohmann::json doc = LoadVectors("sigv4_session_token_vectors.json");
  ASSERT_EQ(doc["vectors"].size(), 2u);
  for (const nlohmann::json& v : doc["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    S3Config config;
    config.endpoint = v["endpoint"];
    config.bucket = v["bucket"];
    config.region = v["region"];
    config.addressing = v["addressing"] == "path" ? Addressing::kPath : Addressing::kVirtualHost;
    config.credentials = {v["access_key"], v["secret_key"], v["session_token"]};
    Result<std::string> got = PresignUrl(config, v["method"].get<std::string>(), v["key"].get<std::string>(),
                                         UnixOf(v["amz_date"]), std::chrono::seconds(v["expires"].get<int>()));
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const ParsedUrl ours = Parse(*got);
    const ParsedUrl want = Parse(v["presigned_url"]);
    EXPECT_EQ(ours.base, want.base);
    EXPECT_EQ(ours.query, want.query);
  }
}

TEST(SigV4Test, SignatureDependsOnEverySignedInput) {
  S3Config config;
  config.endpoint = "http://127.0.0.1:7480";
  config.bucket = "b";
  config.credentials = {"AK", "SECRET", ""};
  auto sig = [&](const S3Config& c, std::string_view method, std::string_view key, int64_t t,
                 std::vector<std::pair<std::string, std::string>> h = {}) {
    return Parse(*PresignUrl(c, method, key, t, std::chrono::seconds(60), h)).query.at("X-Amz-Signature");
  };
  const std::string base = sig(config, "GET", "k", 1'800'000'000);
  EXPECT_EQ(base, sig(config, "GET", "k", 1'800'000'000));
  EXPECT_NE(base, sig(config, "PUT", "k", 1'800'000'000));
  EXPECT_NE(base, sig(config, "GET", "k2", 1'800'000'000));
  EXPECT_NE(base, sig(config, "GET", "k", 1'800'000'001));
  EXPECT_NE(base, sig(config, "GET", "k", 1'800'000'000, {{"if-none-match", "*"}}));
  S3Config other = config;
  other.credentials.secret_access_key = "SECRET2";
  EXPECT_NE(base, sig(other, "GET", "k", 1'800'000'000));
  other = config;
  other.region = "eu-west-1";
  EXPECT_NE(base, sig(other, "GET", "k", 1'800'000'000));
}

TEST(SigV4Test, SessionTokenIsASignedQueryParameter) {
  S3Config config;
  config.endpoint = "https://s3.example.com";
  config.bucket = "b";
  config.credentials = {"AK", "SECRET", "tok/en+="};
  const ParsedUrl url = Parse(*PresignUrl(config, "GET", "k", 1'800'000'000, std::chrono::seconds(60)));
  EXPECT_EQ(url.query.at("X-Amz-Security-Token"), "tok%2Fen%2B%3D");
  config.credentials.session_token = "other";
  EXPECT_NE(Parse(*PresignUrl(config, "GET", "k", 1'800'000'000, std::chrono::seconds(60)))
                .query.at("X-Amz-Signature"),
            url.query.at("X-Amz-Signature"));
}

TEST(SigV4Test, PresignedUrlNeverContainsTheSecret) {
  S3Config config;
  config.endpoint = "https://s3.example.com";
  config.bucket = "b";
  config.credentials = {"AK", "VerySecretValue", ""};
  EXPECT_EQ(PresignUrl(config, "GET", "k", 1'800'000'000, std::chrono::seconds(60))->find("VerySecretValue"),
            std::string::npos);
}

TEST(SigV4Test, ExpiryMustBeOneSecondToSevenDays) {
  S3Config config;
  config.endpoint = "https://s3.example.com";
  config.bucket = "b";
  EXPECT_FALSE(PresignUrl(config, "GET", "k", 0, std::chrono::seconds(0)).ok());
  EXPECT_FALSE(PresignUrl(config, "GET", "k", 0, std::chrono::seconds(7 * 86400 + 1)).ok());
  EXPECT_TRUE(PresignUrl(config, "GET", "k", 0, std::chrono::seconds(7 * 86400)).ok());
}

TEST(SigV4Test, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("a-b_c.d~e/f g+h=%", true), "a-b_c.d~e/f%20g%2Bh%3D%25");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xc3\xbc", true), "%C3%BC");
}

TEST(SigV4Test, AmzDateIsUtc) { EXPECT_EQ(AmzDate(1369353600), "20130524T000000Z"); }

}  // namespace
}  // namespace cellar::s3
