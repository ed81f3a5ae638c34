// BucketMaintenance: an eviction pass runs under the fleet's lease, is
// skipped while another node holds it, runs alone when Redis is down, and
// is counted in cellar_bucket_* metrics.
#include "server/bucket_maintenance.h"

#include <gtest/gtest.h>

#include "index/s3/s3_shared_entries.h"
#include "store/s3/fake_s3_client.h"

namespace cellar::server {
namespace {

class BucketMaintenanceTest : public testing::Test {
 protected:
  BucketMaintenanceTest() {
    index::Entry e;
    e.ns = "turbo/t";
    e.key = "old";
    e.digest.bytes.fill(0x11);
    e.size = 10;
    e.created_ms = clock_.NowUnixMs();
    e.attributes = "{}";
    s3::StringBody blob(std::string(10, 'x'));
    EXPECT_TRUE(client_.PutObject("p/blobs/" + e.digest.Hex(), blob, {}).ok());
    EXPECT_TRUE(entries_.Publish(e, index::PutMode::kIfAbsent).ok());
    clock_.Advance(std::chrono::hours(2));
  }
  index::BucketEvictionOptions Options() {
    index::BucketEvictionOptions o;
    o.prefix = "p";
    o.ttl_ms = 60'000;
    return o;
  }
  bool Stored() { return entries_.Find("turbo/t", "old")->has_value(); }
  std::string Metrics() { return registry_.RenderText(); }

  env::FakeClock clock_;
  s3::FakeS3Client client_{clock_};
  index::S3SharedEntries entries_{client_, "p"};
  redis::FakeLeases leases_{clock_};
  metrics::Registry registry_;
};

TEST_F(BucketMaintenanceTest, APassWaitsForTheNodeHoldingTheLease) {
  index::BucketEvictor evictor(client_, nullptr, clock_, Options());
  BucketMaintenance maintenance(nullptr, &evictor, &leases_, registry_, {});
  auto other = leases_.TryAcquire("bucket-eviction", std::chrono::minutes(1));
  ASSERT_TRUE(other.ok() && other->has_value());
  maintenance.EvictOnce();
  EXPECT_TRUE(Stored());
  EXPECT_NE(Metrics().find("cellar_bucket_eviction_runs_total{result=\"skipped\"} 1"), std::string::npos) << Metrics();
  ASSERT_TRUE(leases_.Release(**other).ok());
  maintenance.EvictOnce();
  EXPECT_FALSE(Stored());
  EXPECT_NE(Metrics().find("cellar_bucket_evicted_total{reason=\"ttl\"} 1"), std::string::npos) << Metrics();
  EXPECT_NE(Metrics().find("cellar_bucket_blobs_removed_total 1"), std::string::npos) << Metrics();
  // The lease was released: another node may take the next pass.
  auto next = leases_.TryAcquire("bucket-eviction", std::chrono::minutes(1));
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->has_value());
}

TEST_F(BucketMaintenanceTest, WithRedisDownEveryNodeRunsItsPasses) {
  index::BucketEvictor evictor(client_, nullptr, clock_, Options());
  BucketMaintenance maintenance(nullptr, &evictor, &leases_, registry_, {});
  leases_.SetUnavailable(true);
  maintenance.EvictOnce();
  EXPECT_FALSE(Stored());
  EXPECT_NE(Metrics().find("cellar_bucket_eviction_runs_total{result=\"ok\"} 1"), std::string::npos) << Metrics();
}

TEST_F(BucketMaintenanceTest, AFailedPassIsCountedAndChangesNothing) {
  index::BucketEvictor evictor(client_, nullptr, clock_, Options());
  BucketMaintenance maintenance(nullptr, &evictor, nullptr, registry_, {});
  client_.FailNext(s3::S3Op::kList, Status::Unavailable("down"));
  maintenance.EvictOnce();
  EXPECT_TRUE(Stored());
  EXPECT_NE(Metrics().find("cellar_bucket_eviction_runs_total{result=\"error\"} 1"), std::string::npos) << Metrics();
}

}  // namespace
}  // namespace cellar::server
