// BucketEvictor over the in-memory S3 client and an in-memory access tally:
// the TTL, both policies, the watermarks, blob collection with its grace
// period and shared blobs, and manifests read once.
#include "index/s3/bucket_evictor.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "index/s3/s3_shared_entries.h"
#include "store/s3/fake_s3_client.h"

namespace cellar::index {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class MapTally final : public AccessTally {
 public:
  Result<std::unordered_map<std::string, AccessCount>> Read(const std::vector<std::string>& keys) override {
    std::lock_guard lock(mu_);
    std::unordered_map<std::string, AccessCount> out;
    for (const std::string& k : keys) {
      if (auto it = counts.find(k); it != counts.end()) out.emplace(k, it->second);
    }
    return out;
  }
  Status Forget(const std::vector<std::string>& keys) override {
    std::lock_guard lock(mu_);
    for (const std::string& k : keys) counts.erase(k);
    return Status::Ok();
  }
  Status Prune(const std::function<bool(const std::string&)>& keep) override {
    std::lock_guard lock(mu_);
    std::erase_if(counts, [&](const auto& kv) { return !keep(kv.first); });
    return Status::Ok();
  }
  std::map<std::string, AccessCount> counts;

 private:
  std::mutex mu_;
};

class BucketEvictorTest : public ::testing::Test {
 protected:
  // An entry "k<i>" of `size` bytes whose blob holds byte `fill` (equal
  // fills share a blob), created now.
  void Store(int i, uint64_t size, char fill) {
    Entry e;
    e.ns = "turbo/t";
    e.key = "k" + std::to_string(i);
    e.digest.bytes.fill(static_cast<uint8_t>(fill));
    e.size = size;
    e.created_ms = clock_.NowUnixMs();
    e.attributes = "{}";
    s3::StringBody blob(std::string(size, fill));
    ASSERT_TRUE(client_.PutObject("c/blobs/" + e.digest.Hex(), blob, {}).ok());
    ASSERT_TRUE(entries_.Publish(e, PutMode::kIfAbsent).ok());
  }
  std::string Key(int i) { return entries_.ObjectKey("turbo/t", "k" + std::to_string(i)); }
  bool Has(int i) { return entries_.Find("turbo/t", "k" + std::to_string(i))->has_value(); }
  void Hit(int i, uint64_t hits = 1) { tally_.counts[Key(i)] = AccessCount{clock_.NowUnixMs(), hits}; }
  BucketEvictionOptions Options() {
    BucketEvictionOptions o;
    o.prefix = "c";
    o.gc_grace_ms = 1'000;
    return o;
  }
  size_t Blobs() {
    size_t n = 0;
    for (const std::string& k : client_.KeysForTest()) n += k.starts_with("c/blobs/");
    return n;
  }

  env::FakeClock clock_;
  s3::FakeS3Client client_{clock_};
  S3SharedEntries entries_{client_, "c"};
  MapTally tally_;
};

TEST_F(BucketEvictorTest, LeastRecentlyUsedEntriesGoUntilTheBucketIsUnderTheLowWatermark) {
  for (int i = 0; i < 8; ++i) {
    Store(i, 2000, static_cast<char>('a' + i));
    clock_.Advance(seconds(1));
  }
  clock_.Advance(seconds(100));
  Hit(0);  // the two oldest are the hot ones
  Hit(1);
  tally_.counts["c/entries/turbo%2Ft/never-shared"] = AccessCount{clock_.NowUnixMs(), 9};
  clock_.Advance(seconds(100));
  BucketEvictionOptions o = Options();
  o.max_bytes = 10'000;  // 16,000 stored: evict down to 8,000
  BucketEvictor evictor(client_, &tally_, clock_, o);
  auto report = evictor.RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->entries, 8u);
  EXPECT_EQ(report->entries_evicted, 4u);
  EXPECT_EQ(report->blobs_removed, 4u);
  EXPECT_EQ(report->blob_bytes_before, 16'000u);
  EXPECT_EQ(report->blob_bytes_after, 8'000u);
  for (int i : {0, 1, 6, 7}) EXPECT_TRUE(Has(i)) << i;
  for (int i : {2, 3, 4, 5}) EXPECT_FALSE(Has(i)) << i;
  EXPECT_EQ(Blobs(), 4u);
  EXPECT_EQ(tally_.counts.size(), 2u);
  // Under the limit now: the next pass removes nothing.
  auto again = evictor.RunOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entries_evicted + again->blobs_removed, 0u);
}

TEST_F(BucketEvictorTest, EvictedEntriesLoseTheirHotCopies) {
  Store(1, 100, 'a');
  Store(2, 100, 'b');
  MemHotEntries hot;
  ASSERT_TRUE(hot.Put(Key(1), "copy").ok());
  ASSERT_TRUE(hot.Put(Key(2), "copy").ok());
  clock_.Advance(seconds(10));
  Hit(2);
  BucketEvictionOptions options = Options();
  options.ttl_ms = 5'000;
  auto report = BucketEvictor(client_, &tally_, clock_, options, &hot).RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->entries_expired, 1u);
  EXPECT_EQ(hot.CopiesForTest().count(Key(1)), 0u);
  EXPECT_EQ(hot.CopiesForTest().count(Key(2)), 1u);
}

TEST_F(BucketEvictorTest, EntriesUnusedForLongerThanTheTtlExpire) {
  for (int i = 0; i < 3; ++i) Store(i, 100, static_cast<char>('a' + i));
  clock_.Advance(seconds(90));
  Hit(1);
  clock_.Advance(seconds(20));
  BucketEvictionOptions o = Options();
  o.ttl_ms = 60'000;
  auto report = BucketEvictor(client_, &tally_, clock_, o).RunOnce();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->entries_expired, 2u);
  EXPECT_FALSE(Has(0));
  EXPECT_TRUE(Has(1));
  EXPECT_FALSE(Has(2));
  EXPECT_EQ(Blobs(), 1u);
}

TEST_F(BucketEvictorTest, SizeAndAgeEvictsTheMostBytesPerHitFirst) {
  Store(0, 6000, 'a');  // 6000 bytes, 5 hits: 1000 per hit
  Store(1, 3000, 'b');  // 3000 bytes, never hit: 3000
  Store(2, 1000, 'c');  // 1000 bytes, never hit: 1000
  Hit(0, 5);
  clock_.Advance(seconds(10));
  BucketEvictionOptions o = Options();
  o.policy = BucketEvictionPolicy::kSizeAndAge;
  o.max_bytes = 9'000;  // 10,000 stored: down to 7,200
  auto report = BucketEvictor(client_, &tally_, clock_, o).RunOnce();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->entries_evicted, 1u);
  EXPECT_TRUE(Has(0));
  EXPECT_FALSE(Has(1));
  EXPECT_TRUE(Has(2));
}

TEST_F(BucketEvictorTest, BlobsAreCollectedWhenUnreferencedAndPastTheGracePeriod) {
  Store(0, 100, 'a');
  Store(1, 100, 'a');  // the same blob under a second key
  s3::StringBody orphan_old(std::string(50, 'o'));
  ASSERT_TRUE(client_.PutObject("c/blobs/" + std::string(64, '0'), orphan_old, {}).ok());
  clock_.Advance(seconds(5));
  s3::StringBody orphan_young(std::string(50, 'y'));
  ASSERT_TRUE(client_.PutObject("c/blobs/" + std::string(64, '1'), orphan_young, {}).ok());
  s3::StringBody other(std::string(10, 'x'));
  ASSERT_TRUE(client_.PutObject("c/git/some-bundle", other, {}).ok());
  BucketEvictionOptions o = Options();
  o.ttl_ms = 3'000;
  Hit(1);  // k0 expires, k1 is in use: their blob stays
  auto report = BucketEvictor(client_, &tally_, clock_, o).RunOnce();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->entries_expired, 1u);
  EXPECT_EQ(report->blobs_removed, 1u);  // the old orphan only
  EXPECT_EQ(Blobs(), 2u);
  EXPECT_TRUE(Has(1));
  EXPECT_EQ(client_.ObjectForTest("c/git/some-bundle"), "xxxxxxxxxx");  // not the evictor's
  clock_.Advance(seconds(2));
  ASSERT_TRUE(BucketEvictor(client_, &tally_, clock_, o).RunOnce().ok());
  EXPECT_EQ(Blobs(), 1u);  // the young orphan's grace is over
}

TEST_F(BucketEvictorTest, BlobsTheBucketsDocumentsNameAreNeverCollected) {
  // The git tier's manifest lists its bundles by BLAKE3 digest.
  const std::string bundle(64, 'b');
  s3::StringBody blob(std::string(500, 'g'));
  ASSERT_TRUE(client_.PutObject("c/blobs/" + bundle, blob, {}).ok());
  s3::StringBody manifest(R"({"version":1,"bundles":[{"blake3":")" + bundle + R"(","size":500}],"refs":{}})");
  ASSERT_TRUE(client_.PutObject("c/documents/git/github.com/org/repo", manifest, {}).ok());
  s3::StringBody orphan(std::string(50, 'o'));
  ASSERT_TRUE(client_.PutObject("c/blobs/" + std::string(64, 'a'), orphan, {}).ok());
  clock_.Advance(seconds(10));
  auto report = BucketEvictor(client_, &tally_, clock_, Options()).RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->blobs_removed, 1u);  // the orphan only
  EXPECT_EQ(client_.ObjectForTest("c/blobs/" + bundle), std::string(500, 'g'));
}

TEST_F(BucketEvictorTest, GitMirrorsCopiesAreEvictedLikeEntriesAndTheirBundlesCollected) {
  // Two mirrors in the shared tier, as the git tier writes them: bundles
  // under blobs/, then documents/git/<repo>/manifest.json naming them.
  auto publish_mirror = [&](const std::string& repo, char fill, std::vector<uint64_t> bundle_sizes) {
    std::string list;
    for (size_t i = 0; i < bundle_sizes.size(); ++i) {
      const std::string digest(63, fill);
      s3::StringBody bundle(std::string(bundle_sizes[i], fill));
      ASSERT_TRUE(client_.PutObject("c/blobs/" + digest + std::to_string(i), bundle, {}).ok());
      list += std::string(list.empty() ? "" : ",") + R"({"blake3":")" + digest + std::to_string(i) + R"("})";
    }
    s3::StringBody manifest(R"({"version":1,"bundles":[)" + list + R"(],"refs":{"refs/heads/main":")" +
                            std::string(40, '1') + R"("}})");
    ASSERT_TRUE(client_.PutObject("c/documents/git/example.com/" + repo + "/manifest.json", manifest, {}).ok());
  };
  const std::string cold_key = "c/documents/git/example.com/cold/manifest.json";
  const std::string hot_key = "c/documents/git/example.com/hot/manifest.json";
  publish_mirror("cold", 'c', {3'000, 1'000});  // a full bundle and an incremental
  publish_mirror("hot", 'd', {3'000});
  Store(1, 1'000, 'e');
  tally_.counts[cold_key] = AccessCount{clock_.NowUnixMs(), 1};
  clock_.Advance(seconds(10));
  // Nodes serve clones of "hot" and read entry 1; nobody clones "cold" since.
  tally_.counts[hot_key] = AccessCount{clock_.NowUnixMs(), 5};
  Hit(1);
  BucketEvictionOptions options = Options();
  options.max_bytes = 6'000;  // 8,000 stored: past the high watermark (5,400)
  auto report = BucketEvictor(client_, &tally_, clock_, options).RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->mirrors, 2u);
  EXPECT_EQ(report->mirrors_evicted, 1u);
  EXPECT_EQ(report->entries_evicted, 1u);
  EXPECT_EQ(report->blobs_removed, 2u);  // both of cold's bundles
  EXPECT_EQ(report->blob_bytes_after, 4'000u);
  EXPECT_FALSE(client_.ObjectForTest(cold_key).has_value());
  EXPECT_TRUE(client_.ObjectForTest(hot_key).has_value());
  EXPECT_TRUE(Has(1));
  // The tally keeps the mirror that stays, and forgets the one that went.
  EXPECT_EQ(tally_.counts.count(hot_key), 1u);
  EXPECT_EQ(tally_.counts.count(cold_key), 0u);

  // Unused for longer than the TTL, a mirror's copy expires like an entry.
  clock_.Advance(std::chrono::hours(2));
  Hit(1);
  options.max_bytes = 0;
  options.ttl_ms = 3600'000;
  report = BucketEvictor(client_, &tally_, clock_, options).RunOnce();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->mirrors_evicted, 1u);
  EXPECT_EQ(report->entries_expired, 1u);
  EXPECT_FALSE(client_.ObjectForTest(hot_key).has_value());
  EXPECT_TRUE(Has(1));
}

TEST_F(BucketEvictorTest, ManifestsAreReadOnceAndWithoutATallyTheOldestGoFirst) {
  for (int i = 0; i < 4; ++i) {
    Store(i, 1000, static_cast<char>('a' + i));
    clock_.Advance(seconds(1));
  }
  BucketEvictor evictor(client_, nullptr, clock_, Options());
  client_.ClearCalls();
  ASSERT_TRUE(evictor.RunOnce().ok());
  EXPECT_EQ(client_.CountCalls(s3::S3Op::kGet), 4u);
  client_.ClearCalls();
  ASSERT_TRUE(evictor.RunOnce().ok());
  EXPECT_EQ(client_.CountCalls(s3::S3Op::kGet), 0u);  // no new manifest, no document
  // Without access times the oldest entries go first.
  BucketEvictionOptions o = Options();
  o.max_bytes = 3'000;  // 4,000 stored: down to 2,400
  auto report = BucketEvictor(client_, nullptr, clock_, o).RunOnce();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->entries_evicted, 2u);
  EXPECT_FALSE(Has(0));
  EXPECT_FALSE(Has(1));
  EXPECT_TRUE(Has(2));
  EXPECT_TRUE(Has(3));
}

TEST_F(BucketEvictorTest, AnUnreachableBucketIsAnErrorAndChangesNothing) {
  Store(0, 100, 'a');
  client_.FailNext(s3::S3Op::kList, Status::Unavailable("down"));
  BucketEvictionOptions o = Options();
  o.ttl_ms = 1;
  clock_.Advance(seconds(10));
  EXPECT_EQ(BucketEvictor(client_, &tally_, clock_, o).RunOnce().status().code(), Code::kUnavailable);
  EXPECT_TRUE(Has(0));
}

}  // namespace
}  // namespace cellar::index
