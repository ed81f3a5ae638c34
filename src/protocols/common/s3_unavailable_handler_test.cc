// The build-cache adapters on `--storage s3` while the bucket cannot be
// reached, in-process: the cache sits on a TieredBlobStore (in-memory local
// tier, S3BlobStore over FakeS3Client) with entries shared through the same
// fake bucket, which is then made to fail every call as a dead endpoint
// would. Each protocol must answer a write 503 with the reason and store
// nothing anywhere, keep serving local hits, and answer its usual miss for
// an artifact only the bucket holds.
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "auth/authenticator.h"
#include "core/cache_service.h"
#include "env/clock.h"
#include "hash/sha256.h"
#include "index/mem_index.h"
#include "index/s3/s3_shared_entries.h"
#include "metrics/metrics.h"
#include "protocols/bazel/bazel_adapter.h"
#include "protocols/ccache/ccache_adapter.h"
#include "protocols/gradle/gradle_adapter.h"
#include "protocols/negotiate/negotiate_adapter.h"
#include "protocols/nx/nx_adapter.h"
#include "protocols/sccache/sccache_adapter.h"
#include "protocols/turbo/turbo_adapter.h"
#include "store/mem_blob_store.h"
#include "store/s3/fake_s3_client.h"
#include "store/s3/s3_blob_store.h"
#include "store/tiered/tiered_blob_store.h"
#include "testing/handler_harness.h"

namespace cellar::protocols {
namespace {

std::string Sha256Hex(std::string_view s) {
  return ToHex(hash::Sha256(std::as_bytes(std::span(s.data(), s.size()))));
}

// One artifact path per protocol for `body` (Bazel's CAS key is its digest).
std::vector<std::string> PathsFor(const std::string& tag, const std::string& body) {
  const std::string hex = Sha256Hex(tag);
  return {
      "/turbo/v8/artifacts/" + hex.substr(0, 20) + "?slug=acme",
      "/nx/v1/cache/" + hex.substr(0, 20),
      "/bazel/cas/" + Sha256Hex(body),
      "/ccache/ab/" + hex.substr(0, 31),
      "/sccache/a/b/c/" + hex.substr(0, 24),
      "/gradle/" + hex,
  };
}

class S3UnavailableHandlerTest : public ::testing::Test {
 protected:
  S3UnavailableHandlerTest() {
    adapters_.push_back(std::make_unique<turbo::TurboAdapter>(ctx_, turbo::TurboOptions{}, registry_));
    adapters_.push_back(std::make_unique<nx::NxAdapter>(ctx_, registry_));
    adapters_.push_back(std::make_unique<bazel::BazelAdapter>(ctx_));
    adapters_.push_back(std::make_unique<ccache::CcacheAdapter>(ctx_));
    adapters_.push_back(std::make_unique<sccache::SccacheAdapter>(ctx_));
    adapters_.push_back(std::make_unique<gradle::GradleAdapter>(ctx_));
    adapters_.push_back(
        std::make_unique<negotiate::NegotiateAdapter>(ctx_, signer_, negotiate::NegotiateOptions{}, registry_));
    for (auto& a : adapters_) a->RegisterRoutes(router_);
  }
  ~S3UnavailableHandlerTest() override { workers_.join(); }

  core::CacheOptions Options() {
    core::CacheOptions o;
    o.shared_entries = &shared_;
    return o;
  }
  // Every bucket call from now on fails as a dead endpoint does.
  void BucketDown() {
    for (s3::S3Op op : {s3::S3Op::kPut, s3::S3Op::kGet, s3::S3Op::kHead, s3::S3Op::kDelete,
                        s3::S3Op::kCreateMultipart}) {
      bucket_.FailNext(op, Status::Unavailable("connection refused"), 1'000'000);
    }
  }
  uint64_t Entries() { return index_.GetTotals()->entries; }

  env::FakeClock clock_;
  s3::FakeS3Client bucket_{clock_};
  s3::S3BlobStore remote_{bucket_, clock_, s3::S3BlobStoreOptions{}};
  store::MemBlobStore local_;
  store::TieredBlobStore tiered_{local_, remote_};
  index::S3SharedEntries shared_{bucket_, ""};
  index::MemIndex index_{[this] { return clock_.NowUnixMs(); }};
  metrics::Registry registry_;
  core::CacheMetrics metrics_{registry_};
  core::CacheService cache_{tiered_, index_, clock_, metrics_, Options()};
  boost::asio::thread_pool workers_{2};
  auth::Authenticator auth_{{}, auth::kScopeAll};
  auth::UrlSigner signer_{"s3-unavailable-test-key-0123456789"};
  ProtocolContext ctx_{cache_, workers_, auth_, 1 << 20, nullptr};
  http::Router router_;
  std::vector<std::unique_ptr<ProtocolAdapter>> adapters_;
  testing::HandlerHarness harness_{router_};
};

TEST_F(S3UnavailableHandlerTest, WritesAnswer503WithTheReasonAndStoreNothing) {
  BucketDown();
  const std::string body = "artifact bytes written while the bucket is down";
  for (const std::string& path : PathsFor("down", body)) {
    auto r = harness_.Put(path, body);
    EXPECT_EQ(r.status, 503u) << path << ": " << r.body;
    EXPECT_NE(r.body.find("cannot be reached"), std::string::npos) << path << ": " << r.body;
  }
  EXPECT_EQ(Entries(), 0u);
  EXPECT_TRUE(bucket_.KeysForTest().empty());
}

// The negotiate API's upload through this server's signed URL: the answer
// to a PUT the bucket cannot take is 503 (retry later), as for the other
// build caches, and nothing is stored.
TEST_F(S3UnavailableHandlerTest, NegotiateUploadsAnswer503WhenTheBucketIsDown) {
  const std::string body = "negotiated artifact written while the bucket is down";
  auto asked = harness_.Post("/v1/negotiate",
                             nlohmann::json{{"hash", "neg-down"}, {"action", "upload"}, {"size", body.size()}}.dump(),
                             {{"Content-Type", "application/json"}});
  ASSERT_EQ(asked.status, 200u) << asked.body;
  const std::string url = nlohmann::json::parse(asked.body).value("url", "");
  const std::string base = "http://cellar.test";
  ASSERT_TRUE(url.starts_with(base)) << asked.body;
  BucketDown();
  auto r = harness_.Put(url.substr(base.size()), body);
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_NE(r.body.find("cannot be reached"), std::string::npos) << r.body;
  EXPECT_EQ(Entries(), 0u);
  EXPECT_TRUE(bucket_.KeysForTest().empty());
}

TEST_F(S3UnavailableHandlerTest, LocalHitsContinueAndBucketOnlyArtifactsAreMisses) {
  const std::string kept = "kept on this node's disk";
  const std::string remote_only = "only in the bucket now";
  for (const std::string& path : PathsFor("kept", kept)) ASSERT_EQ(harness_.Put(path, kept).status / 100, 2u) << path;
  const auto remote_paths = PathsFor("remote", remote_only);
  for (const std::string& path : remote_paths) ASSERT_EQ(harness_.Put(path, remote_only).status / 100, 2u) << path;
  // This node forgets the second set (as after eviction, or a new node):
  // the bucket alone holds those entries and blobs.
  Digest remote_digest;
  {
    auto all = index_.LeastRecentlyUsed(100);
    ASSERT_TRUE(all.ok());
    for (const auto& e : *all) {
      if (e.size != remote_only.size()) continue;
      remote_digest = e.digest;
      ASSERT_TRUE(index_.DeleteIfDigest(e.ns, e.key, e.digest).ok());
    }
    ASSERT_TRUE(local_.Remove(remote_digest).ok());
  }
  BucketDown();
  for (const std::string& path : PathsFor("kept", kept)) {
    auto r = harness_.Get(path);
    EXPECT_EQ(r.status, 200u) << path << ": " << r.body;
    EXPECT_EQ(r.body, kept) << path;
  }
  for (const std::string& path : remote_paths) {
    EXPECT_EQ(harness_.Get(path).status, 404u) << path;
  }
}

}  // namespace
}  // namespace cellar::protocols
