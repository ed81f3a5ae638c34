// VelocityCache's data plane (/v1/proxy/blob/) in-process, with requests
// shaped as VelocityCache's CLI sends them: a bearer token on the negotiate
// call and on transfers to the server's own host, a PUT with
// Content-Length, and only 200 counted as success.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "hash/sha256.h"
#include "protocols/negotiate/negotiate_adapter.h"
#include "protocols/negotiate/velocity_proxy_adapter.h"
#include "testing/adapter_fixture.h"

namespace cellar::negotiate {
namespace {

using nlohmann::json;
using testing::kElsewhereToken;
using testing::kReaderToken;
using testing::kWriterToken;

class VelocityProxyTest : public testing::AdapterFixture {
 protected:
  VelocityProxyTest() : signer_("velocity-test-key-0123456789") {
    NegotiateOptions options;
    options.url_ttl_s = 60;
    options.blob_url_path = "/v1/proxy/blob/";
    Add(std::make_unique<NegotiateAdapter>(ctx_, signer_, options, registry_));
    Add(std::make_unique<VelocityProxyAdapter>(ctx_, signer_, registry_));
  }

  // What VelocityCache's CLI sends: {"hash","action"} and nothing else.
  std::pair<std::string, std::string> Negotiate(const std::string& hash, const std::string& action,
                                                std::string_view token = kWriterToken) {
    auto r = Post("/v1/negotiate", json{{"hash", hash}, {"action", action}}.dump(), token,
                  {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200u) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    std::string url = j.value("url", "");
    const std::string base = "http://cellar.test";
    if (url.starts_with(base)) url = url.substr(base.size());
    return {j.value("status", ""), url};
  }
  static std::string Sha(const std::string& data) {
    return ToHex(hash::Sha256(std::as_bytes(std::span(data.data(), data.size()))));
  }

  auth::UrlSigner signer_;
};

TEST_F(VelocityProxyTest, TheCliRoundTripGetsOnly200s) {
  const std::string data(150'000, 'v');
  const std::string key = Sha("inputs of a task");
  auto [status, put_url] = Negotiate(key, "upload");
  EXPECT_EQ(status, "upload_needed");
  ASSERT_TRUE(put_url.starts_with("/v1/proxy/blob/" + key + "?")) << put_url;
  auto r = Put(put_url, data);  // the CLI also sends its token: same host
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(Negotiate(key, "upload").first, "skipped");
  // A second upload of the same URL stores nothing and is still a success.
  r = Put(put_url, std::string(150'000, 'x'));
  EXPECT_EQ(r.status, 200u);
  auto [found, get_url] = Negotiate(key, "download");
  EXPECT_EQ(found, "found");
  ASSERT_TRUE(get_url.starts_with("/v1/proxy/blob/" + key + "?")) << get_url;
  r = Get(get_url);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, data);
  EXPECT_EQ(r.Header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(Negotiate(Sha("never built"), "download").first, "missing");
}

TEST_F(VelocityProxyTest, BearerTokenAloneWorksAsOnVelocityCachesServer) {
  const std::string data = "artifact bytes";
  auto r = Put("/v1/proxy/blob/k1", data);
  EXPECT_EQ(r.status, 200u) << r.body;
  r = Get("/v1/proxy/blob/k1", kReaderToken);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, data);
  r = Head("/v1/proxy/blob/k1", kReaderToken);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(data.size()));
  // The same artifact through the negotiate API: one namespace.
  EXPECT_EQ(Negotiate("k1", "download").first, "found");
  r = Get("/v1/proxy/blob/missing1", kReaderToken);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.body, "File not found\n");
}

TEST_F(VelocityProxyTest, ScopesAndBadRequests) {
  EXPECT_EQ(Put("/v1/proxy/blob/k2", "x", kReaderToken).status, 403u);   // read only
  EXPECT_EQ(Put("/v1/proxy/blob/k2", "x", kElsewhereToken).status, 403u);  // another namespace
  EXPECT_EQ(harness_.Put("/v1/proxy/blob/k2", "x").status, 401u);         // no token, no signature
  EXPECT_EQ(harness_.Get("/v1/proxy/blob/k2").status, 401u);
  EXPECT_EQ(Put("/v1/proxy/blob/a..b", "x").status, 400u);
  EXPECT_EQ(Put("/v1/proxy/blob/", "x").status, 400u);
  EXPECT_EQ(harness_.Send("DELETE", "/v1/proxy/blob/k2", As(kWriterToken)).status, 405u);
  EXPECT_EQ(Entries(), 0u);
}

TEST_F(VelocityProxyTest, SignedUrlsWorkWithoutTokenAndBindTheirDeclarations) {
  // cellar's own client declares size and SHA-256; the URL then holds it to them.
  const std::string data = "declared body";
  auto r = Post("/v1/negotiate", json{{"hash", "k3"}, {"action", "upload"}, {"size", data.size()},
                                      {"sha256", Sha(data)}}.dump());
  ASSERT_EQ(r.status, 200u);
  std::string url = json::parse(r.body)["url"];
  url = url.substr(std::string("http://cellar.test").size());
  EXPECT_EQ(harness_.Put(url, "declared bodY").status, 400u);  // same size, other digest
  EXPECT_EQ(harness_.Put(url, "short").status, 400u);
  EXPECT_EQ(Entries(), 0u);
  EXPECT_EQ(harness_.Put(url, data).status, 200u);  // no token: the signature suffices
  EXPECT_EQ(harness_.Get(url).status, 403u);          // an upload URL does not read
  // A tampered signature is refused without a token, and falls back to the
  // token when one is sent.
  const std::string tampered = url.substr(0, url.size() - 2) + (url.ends_with("00") ? "11" : "00");
  EXPECT_EQ(harness_.Put(tampered, data).status, 403u);
  EXPECT_EQ(Put(tampered, data).status, 200u);
  clock_.Advance(std::chrono::minutes(2));  // expired
  EXPECT_EQ(harness_.Put(url, data).status, 403u);
}

}  // namespace
}  // namespace cellar::negotiate
