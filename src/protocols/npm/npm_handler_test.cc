// The npm front-end (/npm/) in-process against a scripted registry: the
// status matrix of packuments and tarballs (forms, ETag/304, integrity,
// 404 and its negative cache, stale copies while the registry is down,
// upstream 5xx), names refused before the upstream, methods and tokens.
// The real npm client runs in tests/integration/npm_test.sh.
#include <gtest/gtest.h>

#include <thread>

#include "protocols/npm/integrity.h"
#include "protocols/npm/npm_adapter.h"
#include "testing/adapter_fixture.h"

namespace cellar::npm {
namespace {

using namespace std::chrono_literals;
using env::FakeReply;
using testing::kElsewhereToken;
using testing::kReaderToken;

constexpr const char* kCorgiAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
const std::string kTarball = "a tarball's bytes, as the registry has them";

std::string Packument(const std::string& tarball) {
  return R"({"name":"w","time":{"modified":"2026-01-01"},"dist-tags":{"latest":"1.0.0"},"versions":{)"
         R"("1.0.0":{"name":"w","version":"1.0.0","dist":{"tarball":"http://registry.test/w/-/w-1.0.0.tgz",)"
         R"("integrity":")" + ComputeSri("sha512", tarball) + R"("}}}})";
}

class NpmHandlerTest : public testing::AdapterFixture {
 protected:
  explicit NpmHandlerTest(bool share_entries = false) : AdapterFixture(share_entries), npm_metrics_(registry_) {
    NpmOptions options;
    options.upstream = *ParseUpstream("http://registry.test/");
    options.negative_ttl_ms = 1000;
    options.documents.max_age_ms = 2000;
    Add(std::make_unique<NpmAdapter>(ctx_, upstream_, filler_, npm_metrics_, options));
    upstream_.Set("http://registry.test/w", FakeReply::Ok(Packument(kTarball), {{"Content-Type", "application/json"}}));
    upstream_.Set("http://registry.test/w/-/w-1.0.0.tgz", FakeReply::Ok(kTarball));
  }
  testing::TestResponse Corgi(const std::string& target, testing::HeaderPairs more = {}) {
    more.emplace_back("Accept", kCorgiAccept);
    return Get(target, testing::kWriterToken, std::move(more));
  }
  size_t UpstreamCalls() const { return upstream_.calls().size(); }

  NpmMetrics npm_metrics_;
};

TEST_F(NpmHandlerTest, PackumentFormsEtagAnd304) {
  auto r = Corgi("/npm/w");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.cache_result, "miss");
  EXPECT_NE(r.body.find("\"tarball\":\"http://cellar.test/npm/w/-/w-1.0.0.tgz\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("registry.test"), std::string::npos) << "the upstream's URL leaks: " << r.body;
  EXPECT_NE(r.Header("Vary").value_or("").find("Accept"), std::string::npos);
  auto etag = r.Header("ETag");
  ASSERT_TRUE(etag.has_value());
  r = Corgi("/npm/w", {{"If-None-Match", *etag}});
  EXPECT_EQ(r.status, 304u);
  EXPECT_EQ(r.cache_result, "hit");
  // (The fake registry answers both forms with one body, so their ETags
  // are equal here; it_npm checks that real forms differ.)
  r = Get("/npm/w");
  EXPECT_EQ(r.status, 200u);
  // Another Host gets its own tarball URLs.
  r = Get("/npm/w", testing::kWriterToken, {{"Host", "other.test:8080"}});
  EXPECT_NE(r.body.find("http://other.test:8080/npm/w/-/w-1.0.0.tgz"), std::string::npos) << r.body;
  EXPECT_EQ(upstream_.CallCount("http://registry.test/w"), 2u);  // one per form
}

// With --storage s3 a cache lookup that misses locally asks the bucket, a
// network call: packument renderings and tarballs alike must be looked up
// on a worker thread, never on the I/O thread (here, the test's own thread,
// which runs the harness's io_context).
class NpmSharedEntriesTest : public NpmHandlerTest {
 protected:
  NpmSharedEntriesTest() : NpmHandlerTest(/*share_entries=*/true) {}
};

TEST_F(NpmSharedEntriesTest, BucketLookupsNeverRunOnTheIoThread) {
  for (int i = 0; i < 2; ++i) {  // a miss that fills, then a hit
    EXPECT_EQ(Corgi("/npm/w").status, 200u);
    EXPECT_EQ(Get("/npm/w").status, 200u);
    auto r = Get("/npm/w/-/w-1.0.0.tgz");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, kTarball);
  }
  EXPECT_GT(shared_entries_.finds(), 0);
  EXPECT_EQ(shared_entries_.caller_threads().count(std::this_thread::get_id()), 0u)
      << "a shared-entry lookup ran on the I/O thread";
}

TEST_F(NpmHandlerTest, TarballIsFilledOnceThenServedFromTheCache) {
  auto r = Get("/npm/w/-/w-1.0.0.tgz");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, kTarball);
  r = Get("/npm/w/-/w-1.0.0.tgz");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.cache_result, "hit");
  EXPECT_EQ(r.body, kTarball);
  EXPECT_EQ(upstream_.CallCount("http://registry.test/w/-/w-1.0.0.tgz"), 1u);
  EXPECT_EQ(r.Header("Cache-Control"), "public, max-age=31536000, immutable");
}

TEST_F(NpmHandlerTest, ATamperedTarballIs502AndNotStored) {
  upstream_.Set("http://registry.test/w/-/w-1.0.0.tgz", FakeReply::Ok("X" + kTarball.substr(1)));
  for (int i = 0; i < 2; ++i) {
    auto r = Get("/npm/w/-/w-1.0.0.tgz");
    EXPECT_EQ(r.status, 502u);
    EXPECT_NE(r.body.find("integrity mismatch for w@1.0.0"), std::string::npos) << r.body;
  }
  EXPECT_EQ(upstream_.CallCount("http://registry.test/w/-/w-1.0.0.tgz"), 2u);
  upstream_.Set("http://registry.test/w/-/w-1.0.0.tgz", FakeReply::Ok(kTarball));
  EXPECT_EQ(Get("/npm/w/-/w-1.0.0.tgz").body, kTarball);
}

TEST_F(NpmHandlerTest, NotFoundIsRememberedForTheNegativeTtl) {
  upstream_.Set("http://registry.test/nope", FakeReply::WithStatus(404, R"({"error":"Not found"})"));
  auto r = Get("/npm/nope");
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(r.body.find("\"error\":\"Not found\""), std::string::npos) << r.body;
  r = Get("/npm/nope");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.cache_result, "negative");
  EXPECT_EQ(upstream_.CallCount("http://registry.test/nope"), 1u);
  clock_.Advance(1500ms);
  EXPECT_EQ(Get("/npm/nope").status, 404u);
  EXPECT_EQ(upstream_.CallCount("http://registry.test/nope"), 2u);
}

TEST_F(NpmHandlerTest, AMissingVersionOrTarballDoesNotHideThePackage) {
  upstream_.Set("http://registry.test/w/9.9.9-nope", FakeReply::WithStatus(404, R"({"error":"version not found"})"));
  EXPECT_EQ(Get("/npm/w/-/w-9.9.9.tgz").status, 404u);
  EXPECT_EQ(Get("/npm/w/9.9.9-nope").status, 404u);
  EXPECT_EQ(Get("/npm/w").status, 200u);
}

TEST_F(NpmHandlerTest, StaleCopiesAreServedWhileTheRegistryIsDown) {
  ASSERT_EQ(Corgi("/npm/w").status, 200u);
  ASSERT_EQ(Get("/npm/w/-/w-1.0.0.tgz").status, 200u);
  clock_.Advance(5s);
  for (const FakeReply& down : {FakeReply::Refuse(), FakeReply::WithStatus(503), FakeReply::Timeout()}) {
    upstream_.Set("http://registry.test/w", down);
    auto r = Corgi("/npm/w");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.Header("X-Cellar-Stale"), "1");
    EXPECT_EQ(r.cache_result, "stale");
    EXPECT_EQ(r.Header("Cache-Control"), "no-cache");
    // Issue 13, defect 1: the other form is answered from the cached one.
    r = Get("/npm/w");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.Header("X-Cellar-Stale"), "1");
  }
  upstream_.SetDown(true);
  EXPECT_EQ(Get("/npm/w/-/w-1.0.0.tgz").body, kTarball);
  EXPECT_EQ(Get("/npm/w/1.0.0").status, 200u);
}

TEST_F(NpmHandlerTest, UncachedDocumentsFailWith502WhileTheRegistryFailsAndTheOutageIsNotCached) {
  upstream_.Set("http://registry.test/w", FakeReply::WithStatus(500, "boom"));
  auto r = Corgi("/npm/w");
  EXPECT_EQ(r.status, 502u);
  EXPECT_NE(r.body.find("\"error\":"), std::string::npos) << r.body;
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  upstream_.SetDown(true);
  r = Get("/npm/w/-/w-1.0.0.tgz");
  EXPECT_TRUE(r.status == 404u || r.status == 502u) << r.status;
  EXPECT_NE(r.body.find("\"error\":"), std::string::npos) << r.body;
  upstream_.SetDown(false);
  upstream_.Set("http://registry.test/w", FakeReply::Ok(Packument(kTarball)));
  EXPECT_EQ(Corgi("/npm/w").status, 200u);
}

TEST_F(NpmHandlerTest, BadNamesNeverReachTheUpstream) {
  for (const std::string& bad : std::vector<std::string>{"/npm/%2d/whoami", "/npm/-/npm/v1/attestations/%2e%2e/%2e%2e/x", "/npm/../etc/passwd",
                          "/npm/%2e%2e/x", "/npm/dep-a%2f..%2fdep-b", "/npm/" + std::string(300, 'a'),
                          "/npm/dep%3Ca%3E", "/npm/dep-a/-/../../x.tgz", "/npm//w"}) {
    auto r = Get(bad);
    EXPECT_GE(r.status, 400u) << bad;
    EXPECT_LT(r.status, 500u) << bad;
  }
  EXPECT_EQ(UpstreamCalls(), 0u);
}

TEST_F(NpmHandlerTest, MethodMatrix) {
  for (const std::string& method : std::vector<std::string>{"PUT", "DELETE", "POST"}) {
    auto r = harness_.Send(method, "/npm/w", As(testing::kWriterToken), "{}");
    EXPECT_EQ(r.status, 405u) << method;
    EXPECT_EQ(r.Header("Allow"), "GET, HEAD") << method;
  }
  EXPECT_EQ(harness_.Send("BREW", "/npm/w", As(testing::kWriterToken)).status, 501u);
  EXPECT_EQ(Get("/npm/-/npm/v1/security/advisories/bulk").status, 405u);
  EXPECT_EQ(Get("/npm/-/ping?write=true").status, 200u);
  auto r = Head("/npm/w");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(UpstreamCalls(), 1u);
}

TEST_F(NpmHandlerTest, AuthMatrix) {
  auto r = harness_.Get("/npm/w");
  EXPECT_EQ(r.status, 401u);
  EXPECT_TRUE(r.Header("WWW-Authenticate").has_value());
  EXPECT_EQ(Get("/npm/w", "not-a-token-at-all").status, 401u);
  EXPECT_EQ(Get("/npm/w", kElsewhereToken).status, 403u);
  // A read-only token may use everything: the registry is read-only here.
  EXPECT_EQ(Get("/npm/w", kReaderToken).status, 200u);
  EXPECT_EQ(Get("/npm/w/-/w-1.0.0.tgz", kReaderToken).status, 200u);
  EXPECT_EQ(harness_.Put("/npm/w", "{}", As(kReaderToken)).status, 405u);
  r = Get("/npm/-/whoami", kReaderToken);
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("reader"), std::string::npos) << r.body;
  EXPECT_EQ(UpstreamCalls(), 2u);
}

}  // namespace
}  // namespace cellar::npm
