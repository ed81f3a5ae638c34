// Conformance suite for index::Index implementations: every implementation
// (SqliteIndex, MemIndex, later Redis) must pass the same behavioural tests,
// so layers above can test against MemIndex and run on SqliteIndex.
//
// This header defines TEST_Ps, so include it from exactly one .cc per test
// binary and instantiate it there for each implementation:
//
//   INSTANTIATE_TEST_SUITE_P(
//       Index, IndexConformanceTest,
//       ::testing::Values(IndexFactory{"Mem", [](const IndexTestContext& ctx) {...}}),
//       IndexFactoryName);
//
// The factory must return a new, empty index whose clock (the time at which
// a blob loses its last reference) is ctx.now_ms. Tests never sleep: time
// is the fixture's fake clock, advanced with SetNow().
// Thread-safety: test-only; the concurrency tests start their own threads.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "index/index.h"

namespace cellar::testing {

struct IndexTestContext {
  // The clock the index must use; safe to call from any thread.
  std::function<int64_t()> now_ms;
  // An empty directory the index may put files in; removed after the test.
  std::string scratch_dir;
};

struct IndexFactory {
  std::string name;  // test-name suffix: letters, digits and '_' only
  std::function<Result<std::unique_ptr<index::Index>>(const IndexTestContext&)> make;

  friend void PrintTo(const IndexFactory& f, std::ostream* os) { *os << f.name; }
};

inline std::string IndexFactoryName(const ::testing::TestParamInfo<IndexFactory>& info) {
  return info.param.name;
}

class IndexConformanceTest : public ::testing::TestWithParam<IndexFactory> {
 protected:
  using Entry = index::Entry;
  using PutMode = index::PutMode;

  void SetUp() override {
    std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "cellar-index-XXXXXX");
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    scratch_dir_ = tmpl;
    auto made = GetParam().make(IndexTestContext{[this] { return now_ms_.load(); }, scratch_dir_});
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    index_ = std::move(made).value();
  }

  void TearDown() override {
    index_.reset();
    std::error_code ignored;
    if (!scratch_dir_.empty()) std::filesystem::remove_all(scratch_dir_, ignored);
  }

  void SetNow(int64_t ms) { now_ms_.store(ms); }

  // A digest whose first byte is `n`, so digests sort by `n`.
  static Digest D(uint8_t n) {
    Digest d;
    d.bytes[0] = n;
    d.bytes[31] = 0xa5;
    return d;
  }

  static Entry MakeEntry(std::string ns, std::string key, Digest digest, uint64_t size = 100,
                         int64_t last_access_ms = 1000) {
    Entry e;
    e.ns = std::move(ns);
    e.key = std::move(key);
    e.digest = digest;
    e.size = size;
    e.content_type = "application/octet-stream";
    e.created_ms = 500;
    e.last_access_ms = last_access_ms;
    return e;
  }

  static ::testing::AssertionResult Ok(const Status& s) {
    if (s.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << s.ToString();
  }
  template <typename T>
  static ::testing::AssertionResult Ok(const Result<T>& r) {
    return Ok(r.status());
  }

  // The value, or T{} after recording a failure.
  template <typename T>
  static T ValueOr(Result<T> r) {
    if (r.ok()) return std::move(r).value();
    ADD_FAILURE() << r.status().ToString();
    return T{};
  }

  void MustPut(const Entry& e, uint64_t stored_size = 80, PutMode mode = PutMode::kOverwrite) {
    EXPECT_TRUE(Ok(index_->Put(e, stored_size, mode))) << e.ns << " " << e.key;
  }

  std::optional<Entry> Get(const std::string& ns, const std::string& key) {
    return ValueOr(index_->Get(ns, key));
  }

  // "ns/key" for each entry, in order: listings compare as readable text.
  static std::vector<std::string> Keys(const std::vector<Entry>& entries) {
    std::vector<std::string> out;
    for (const Entry& e : entries) out.push_back(e.ns + "/" + e.key);
    return out;
  }

  // First bytes of the unreferenced blobs older than `cutoff_ms`, in order.
  std::vector<int> Unreferenced(int64_t cutoff_ms, size_t limit = 100) {
    std::vector<int> out;
    for (const auto& row : ValueOr(index_->UnreferencedBlobs(cutoff_ms, limit))) {
      out.push_back(row.digest.bytes[0]);
    }
    return out;
  }

  bool HasBlob(const Digest& d) { return ValueOr(index_->HasBlob(d)); }

  std::atomic<int64_t> now_ms_{1'000'000};
  std::string scratch_dir_;
  std::unique_ptr<index::Index> index_;
};

// --- Entries ---

TEST_P(IndexConformanceTest, PutThenGetRoundTripsEveryField) {
  Entry e;
  e.ns = "npm/meta";
  e.key = "@scope/pkg";
  e.digest = D(7);
  e.size = 1ull << 40;
  e.content_type = "application/vnd.npm.install-v1+json";
  e.created_ms = 1700000000123;
  e.last_access_ms = 1700000000456;
  e.hits = 42;
  e.fetched_at_ms = 1700000000100;
  e.max_age_ms = 300000;
  e.attributes = R"({"etag":"\"abc\"","nul":"a\u0000b"})";
  MustPut(e, 12345);

  std::optional<Entry> got = Get("npm/meta", "@scope/pkg");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ns, e.ns);
  EXPECT_EQ(got->key, e.key);
  EXPECT_EQ(got->digest.Hex(), e.digest.Hex());
  EXPECT_EQ(got->size, e.size);
  EXPECT_EQ(got->content_type, e.content_type);
  EXPECT_EQ(got->created_ms, e.created_ms);
  EXPECT_EQ(got->last_access_ms, e.last_access_ms);
  EXPECT_EQ(got->hits, e.hits);
  EXPECT_EQ(got->fetched_at_ms, e.fetched_at_ms);
  EXPECT_EQ(got->max_age_ms, e.max_age_ms);
  EXPECT_EQ(got->attributes, e.attributes);
  EXPECT_TRUE(HasBlob(D(7)));
}

TEST_P(IndexConformanceTest, GetOfMissingKeyIsNulloptNotError) {
  auto got = index_->Get("ccache", "nope");
  ASSERT_TRUE(Ok(got));
  EXPECT_FALSE(got->has_value());
}

TEST_P(IndexConformanceTest, KeysAreScopedByNamespace) {
  MustPut(MakeEntry("a", "k", D(1)));
  EXPECT_TRUE(Get("a", "k").has_value());
  EXPECT_FALSE(Get("b", "k").has_value());
  EXPECT_FALSE(Get("a", "K").has_value());
}

TEST_P(IndexConformanceTest, PutIfAbsentRefusesExistingKeyAndKeepsIt) {
  MustPut(MakeEntry("turbo/t", "h1", D(1)), 80, PutMode::kIfAbsent);
  Status second = index_->Put(MakeEntry("turbo/t", "h1", D(2)), 80, PutMode::kIfAbsent).status();
  EXPECT_EQ(second.code(), Code::kAlreadyExists) << second.ToString();
  EXPECT_EQ(Get("turbo/t", "h1")->digest, D(1));
  // The refused Put records nothing about its blob.
  EXPECT_FALSE(HasBlob(D(2)));
  EXPECT_EQ(ValueOr(index_->GetTotals()).blobs, 1u);
}

TEST_P(IndexConformanceTest, PutOverwriteReplacesEveryField) {
  MustPut(MakeEntry("ccache", "k", D(1), 10));
  Entry replacement = MakeEntry("ccache", "k", D(2), 20, 9000);
  replacement.content_type = "text/plain";
  replacement.hits = 3;
  replacement.attributes = "{}";
  MustPut(replacement);
  std::optional<Entry> got = Get("ccache", "k");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->digest, D(2));
  EXPECT_EQ(got->size, 20u);
  EXPECT_EQ(got->last_access_ms, 9000);
  EXPECT_EQ(got->content_type, "text/plain");
  EXPECT_EQ(got->hits, 3u);
  EXPECT_EQ(got->attributes, "{}");
  EXPECT_EQ(ValueOr(index_->GetTotals()).entries, 1u);
}

TEST_P(IndexConformanceTest, DeleteRemovesEntryAndMissingDeleteIsOk) {
  MustPut(MakeEntry("ns", "k", D(1)));
  EXPECT_TRUE(Ok(index_->Delete("ns", "k")));
  EXPECT_FALSE(Get("ns", "k").has_value());
  EXPECT_TRUE(Ok(index_->Delete("ns", "k")));
  EXPECT_TRUE(Ok(index_->Delete("other", "never")));
}

TEST_P(IndexConformanceTest, DeleteIfDigestRemovesOnlyAMatchingEntry) {
  MustPut(MakeEntry("ns", "k", D(2)));
  // A caller holding an older read (digest 1) must not remove the newer write.
  auto stale = index_->DeleteIfDigest("ns", "k", D(1));
  ASSERT_TRUE(Ok(stale));
  EXPECT_FALSE(stale->deleted);
  EXPECT_FALSE(stale->unreferenced_blob.has_value());
  EXPECT_EQ(Get("ns", "k")->digest, D(2));
  auto missing = index_->DeleteIfDigest("ns", "absent", D(2));
  ASSERT_TRUE(Ok(missing));
  EXPECT_FALSE(missing->deleted);

  auto current = index_->DeleteIfDigest("ns", "k", D(2));
  ASSERT_TRUE(Ok(current));
  EXPECT_TRUE(current->deleted);
  EXPECT_FALSE(Get("ns", "k").has_value());
  EXPECT_EQ(Unreferenced(INT64_MAX), std::vector<int>{2});
}

TEST_P(IndexConformanceTest, DeleteIfDigestReportsTheBlobOnlyWhenItsLastReferenceGoes) {
  MustPut(MakeEntry("ns", "a", D(3), 1000), 400);
  MustPut(MakeEntry("ns", "b", D(3), 1000), 400);
  auto first = index_->DeleteIfDigest("ns", "a", D(3));
  ASSERT_TRUE(Ok(first));
  EXPECT_TRUE(first->deleted);
  EXPECT_FALSE(first->unreferenced_blob.has_value());  // "b" still names it
  auto last = index_->DeleteIfDigest("ns", "b", D(3));
  ASSERT_TRUE(Ok(last));
  ASSERT_TRUE(last->unreferenced_blob.has_value());
  EXPECT_EQ(last->unreferenced_blob->digest, D(3));
  EXPECT_EQ(last->unreferenced_blob->size, 1000u);
  EXPECT_EQ(last->unreferenced_blob->stored_size, 400u);
}

TEST_P(IndexConformanceTest, PutReportsWhetherItRecordedANewBlob) {
  auto first = index_->Put(MakeEntry("ns", "a", D(1)), 80, PutMode::kOverwrite);
  ASSERT_TRUE(Ok(first));
  EXPECT_TRUE(first->new_blob);
  auto dedupe = index_->Put(MakeEntry("ns", "b", D(1)), 80, PutMode::kOverwrite);
  ASSERT_TRUE(Ok(dedupe));
  EXPECT_FALSE(dedupe->new_blob);
  // An unreferenced row awaiting collection is still counted in the totals.
  ASSERT_TRUE(Ok(index_->Delete("ns", "a")));
  ASSERT_TRUE(Ok(index_->Delete("ns", "b")));
  auto again = index_->Put(MakeEntry("ns", "c", D(1)), 80, PutMode::kOverwrite);
  ASSERT_TRUE(Ok(again));
  EXPECT_FALSE(again->new_blob);
  ASSERT_TRUE(Ok(index_->RecordOrphanBlob(index::BlobRow{D(2), 10, 10}, 4000)));
  auto orphan = index_->Put(MakeEntry("ns", "d", D(2)), 10, PutMode::kOverwrite);
  ASSERT_TRUE(Ok(orphan));
  EXPECT_FALSE(orphan->new_blob);
  auto fresh = index_->Put(MakeEntry("ns", "e", D(4)), 10, PutMode::kOverwrite);
  ASSERT_TRUE(Ok(fresh));
  EXPECT_TRUE(fresh->new_blob);
}

// --- Blob references ---

TEST_P(IndexConformanceTest, OverwriteMovesReferenceToNewBlob) {
  SetNow(5000);
  MustPut(MakeEntry("ns", "k", D(1)));
  EXPECT_TRUE(Unreferenced(1'000'000'000).empty());
  SetNow(7000);
  MustPut(MakeEntry("ns", "k", D(2)));
  // D(1) lost its last reference at 7000: collectable only with a later cutoff.
  EXPECT_TRUE(Unreferenced(7000).empty());
  EXPECT_EQ(Unreferenced(7001), std::vector<int>{1});
  EXPECT_EQ(ValueOr(index_->ReferencedDigests()), std::vector<Digest>{D(2)});
  EXPECT_TRUE(HasBlob(D(1)));
  EXPECT_TRUE(HasBlob(D(2)));
}

TEST_P(IndexConformanceTest, OverwriteWithSameDigestKeepsBlobReferenced) {
  MustPut(MakeEntry("ns", "k", D(1)));
  MustPut(MakeEntry("ns", "k", D(1), 100, 2000));
  EXPECT_TRUE(Unreferenced(INT64_MAX).empty());
  EXPECT_FALSE(ValueOr(index_->ForgetBlobIfUnreferenced(D(1))));
}

TEST_P(IndexConformanceTest, SharedBlobStaysReferencedUntilLastEntryGoes) {
  MustPut(MakeEntry("npm/tarball", "a.tgz", D(3)));
  MustPut(MakeEntry("go/zip", "a.zip", D(3)));
  EXPECT_EQ(ValueOr(index_->GetTotals()).blobs, 1u);

  SetNow(2000);
  ASSERT_TRUE(Ok(index_->Delete("npm/tarball", "a.tgz")));
  EXPECT_TRUE(Unreferenced(INT64_MAX).empty());
  EXPECT_FALSE(ValueOr(index_->ForgetBlobIfUnreferenced(D(3))));

  SetNow(3000);
  ASSERT_TRUE(Ok(index_->Delete("go/zip", "a.zip")));
  EXPECT_TRUE(Unreferenced(3000).empty());
  EXPECT_EQ(Unreferenced(3001), std::vector<int>{3});
}

TEST_P(IndexConformanceTest, PutReferencesAnUnreferencedBlobAgain) {
  MustPut(MakeEntry("ns", "a", D(1)));
  ASSERT_TRUE(Ok(index_->Delete("ns", "a")));
  EXPECT_EQ(Unreferenced(INT64_MAX), std::vector<int>{1});
  MustPut(MakeEntry("ns", "b", D(1)));
  EXPECT_TRUE(Unreferenced(INT64_MAX).empty());
}

TEST_P(IndexConformanceTest, UnreferencedBlobsHonourCutoffOrderAndLimit) {
  for (uint8_t n : {4, 2, 3, 1}) MustPut(MakeEntry("ns", "k" + std::to_string(n), D(n)));
  SetNow(3000);
  ASSERT_TRUE(Ok(index_->Delete("ns", "k4")));
  ASSERT_TRUE(Ok(index_->Delete("ns", "k2")));  // same time as k4: ties go by digest
  SetNow(1000);
  ASSERT_TRUE(Ok(index_->Delete("ns", "k3")));
  // k1 stays referenced.
  EXPECT_EQ(Unreferenced(1000), std::vector<int>{});
  EXPECT_EQ(Unreferenced(1001), std::vector<int>{3});
  EXPECT_EQ(Unreferenced(3001), (std::vector<int>{3, 2, 4}));
  EXPECT_EQ(Unreferenced(3001, 2), (std::vector<int>{3, 2}));
  EXPECT_EQ(Unreferenced(3001, 0), std::vector<int>{});
}

TEST_P(IndexConformanceTest, UnreferencedBlobsReportSizes) {
  MustPut(MakeEntry("ns", "k", D(1), 1000), 400);
  ASSERT_TRUE(Ok(index_->Delete("ns", "k")));
  auto rows = ValueOr(index_->UnreferencedBlobs(INT64_MAX, 10));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].digest, D(1));
  EXPECT_EQ(rows[0].size, 1000u);
  EXPECT_EQ(rows[0].stored_size, 400u);
}

TEST_P(IndexConformanceTest, ForgetBlobIfUnreferencedRefusesReferencedBlob) {
  MustPut(MakeEntry("ns", "k", D(1)));
  EXPECT_FALSE(ValueOr(index_->ForgetBlobIfUnreferenced(D(1))));
  EXPECT_TRUE(HasBlob(D(1)));
  EXPECT_EQ(Get("ns", "k")->digest, D(1));
}

TEST_P(IndexConformanceTest, ForgetBlobIfUnreferencedRemovesRowOnce) {
  MustPut(MakeEntry("ns", "k", D(1)));
  ASSERT_TRUE(Ok(index_->Delete("ns", "k")));
  EXPECT_TRUE(ValueOr(index_->ForgetBlobIfUnreferenced(D(1))));
  EXPECT_FALSE(HasBlob(D(1)));
  EXPECT_FALSE(ValueOr(index_->ForgetBlobIfUnreferenced(D(1))));
  EXPECT_FALSE(ValueOr(index_->ForgetBlobIfUnreferenced(D(99))));
  EXPECT_TRUE(Unreferenced(INT64_MAX).empty());
}

TEST_P(IndexConformanceTest, RecordOrphanBlobIsCollectableAfterItsTime) {
  ASSERT_TRUE(Ok(index_->RecordOrphanBlob(index::BlobRow{D(5), 10, 8}, 4000)));
  EXPECT_TRUE(HasBlob(D(5)));
  EXPECT_TRUE(Unreferenced(4000).empty());
  EXPECT_EQ(Unreferenced(4001), std::vector<int>{5});
  EXPECT_TRUE(ValueOr(index_->ReferencedDigests()).empty());
  EXPECT_EQ(ValueOr(index_->GetTotals()).stored_bytes, 8u);
}

TEST_P(IndexConformanceTest, RecordOrphanBlobLeavesExistingRowsAlone) {
  MustPut(MakeEntry("ns", "k", D(1)), 80);
  ASSERT_TRUE(Ok(index_->RecordOrphanBlob(index::BlobRow{D(1), 100, 999}, 10)));
  EXPECT_TRUE(Unreferenced(INT64_MAX).empty());  // still referenced

  ASSERT_TRUE(Ok(index_->RecordOrphanBlob(index::BlobRow{D(2), 10, 10}, 4000)));
  ASSERT_TRUE(Ok(index_->RecordOrphanBlob(index::BlobRow{D(2), 10, 10}, 9000)));
  EXPECT_EQ(Unreferenced(4001), std::vector<int>{2});  // first time kept
  EXPECT_EQ(ValueOr(index_->GetTotals()).stored_bytes, 90u);
}

TEST_P(IndexConformanceTest, PutOfKnownBlobKeepsItsRecordedSizes) {
  MustPut(MakeEntry("ns", "a", D(1)), 80);
  MustPut(MakeEntry("ns", "b", D(1)), 70);
  EXPECT_EQ(ValueOr(index_->GetTotals()).stored_bytes, 80u);
}

TEST_P(IndexConformanceTest, ReferencedDigestsAreDistinctAndSorted) {
  MustPut(MakeEntry("a", "1", D(9)));
  MustPut(MakeEntry("a", "2", D(4)));
  MustPut(MakeEntry("b", "1", D(9)));
  ASSERT_TRUE(Ok(index_->RecordOrphanBlob(index::BlobRow{D(6), 1, 1}, 0)));
  EXPECT_EQ(ValueOr(index_->ReferencedDigests()), (std::vector<Digest>{D(4), D(9)}));
}

// --- Access tracking ---

TEST_P(IndexConformanceTest, RecordAccessIsInvisibleUntilFlush) {
  MustPut(MakeEntry("ns", "k", D(1), 100, 1000));
  index_->RecordAccess("ns", "k", 5000);
  EXPECT_EQ(Get("ns", "k")->last_access_ms, 1000);
  EXPECT_EQ(Get("ns", "k")->hits, 0u);
  ASSERT_TRUE(Ok(index_->Flush()));
  EXPECT_EQ(Get("ns", "k")->last_access_ms, 5000);
  EXPECT_EQ(Get("ns", "k")->hits, 1u);
}

TEST_P(IndexConformanceTest, FlushAppliesLatestTimeAndEveryHit) {
  MustPut(MakeEntry("ns", "k", D(1), 100, 1000));
  for (int64_t t : {3000, 7000, 5000}) index_->RecordAccess("ns", "k", t);
  ASSERT_TRUE(Ok(index_->Flush()));
  index_->RecordAccess("ns", "k", 6000);
  ASSERT_TRUE(Ok(index_->Flush()));
  std::optional<Entry> got = Get("ns", "k");
  EXPECT_EQ(got->last_access_ms, 7000);  // never moves backwards
  EXPECT_EQ(got->hits, 4u);
  EXPECT_TRUE(Ok(index_->Flush()));  // nothing buffered
  EXPECT_EQ(Get("ns", "k")->hits, 4u);
}

TEST_P(IndexConformanceTest, FlushIgnoresAccessesToMissingEntries) {
  MustPut(MakeEntry("ns", "gone", D(1)));
  index_->RecordAccess("ns", "gone", 5000);
  index_->RecordAccess("ns", "never", 5000);
  ASSERT_TRUE(Ok(index_->Delete("ns", "gone")));
  EXPECT_TRUE(Ok(index_->Flush()));
  EXPECT_FALSE(Get("ns", "gone").has_value());
  EXPECT_FALSE(Get("ns", "never").has_value());
}

TEST_P(IndexConformanceTest, LeastRecentlyUsedOrdersByLastAccessThenKey) {
  MustPut(MakeEntry("b", "x", D(1), 1, 300));
  MustPut(MakeEntry("a", "y", D(2), 1, 100));
  MustPut(MakeEntry("a", "x", D(3), 1, 300));
  MustPut(MakeEntry("c", "z", D(4), 1, 200));
  EXPECT_EQ(Keys(ValueOr(index_->LeastRecentlyUsed(10))),
            (std::vector<std::string>{"a/y", "c/z", "a/x", "b/x"}));
  EXPECT_EQ(Keys(ValueOr(index_->LeastRecentlyUsed(2))), (std::vector<std::string>{"a/y", "c/z"}));
  EXPECT_TRUE(ValueOr(index_->LeastRecentlyUsed(0)).empty());
}

TEST_P(IndexConformanceTest, FlushedAccessesReorderLeastRecentlyUsed) {
  MustPut(MakeEntry("ns", "old", D(1), 1, 100));
  MustPut(MakeEntry("ns", "new", D(2), 1, 200));
  index_->RecordAccess("ns", "old", 300);
  ASSERT_TRUE(Ok(index_->Flush()));
  EXPECT_EQ(Keys(ValueOr(index_->LeastRecentlyUsed(10))),
            (std::vector<std::string>{"ns/new", "ns/old"}));
}

TEST_P(IndexConformanceTest, AccessedBeforeIsStrictOrderedAndLimited) {
  MustPut(MakeEntry("ns", "a", D(1), 1, 100));
  MustPut(MakeEntry("ns", "b", D(2), 1, 200));
  MustPut(MakeEntry("ns", "c", D(3), 1, 300));
  MustPut(MakeEntry("ns", "d", D(4), 1, 50));
  EXPECT_EQ(Keys(ValueOr(index_->AccessedBefore(200, 10))),
            (std::vector<std::string>{"ns/d", "ns/a"}));
  EXPECT_EQ(Keys(ValueOr(index_->AccessedBefore(1000, 3))),
            (std::vector<std::string>{"ns/d", "ns/a", "ns/b"}));
  EXPECT_TRUE(ValueOr(index_->AccessedBefore(50, 10)).empty());
}

// --- Listing ---

TEST_P(IndexConformanceTest, ListTreatsPercentAndUnderscoreLiterally) {
  for (const char* key : {"a%b", "a%", "axb", "a_b", "aXb", "a_", "b%"}) {
    MustPut(MakeEntry("ns", key, D(1)));
  }
  EXPECT_EQ(Keys(ValueOr(index_->List("ns", "a%", 10))),
            (std::vector<std::string>{"ns/a%", "ns/a%b"}));
  EXPECT_EQ(Keys(ValueOr(index_->List("ns", "a_", 10))),
            (std::vector<std::string>{"ns/a_", "ns/a_b"}));
  EXPECT_TRUE(ValueOr(index_->List("ns", "%", 10)).empty());
  EXPECT_TRUE(ValueOr(index_->List("ns", "_", 10)).empty());
}

TEST_P(IndexConformanceTest, ListIsScopedSortedAndLimited) {
  for (const char* key : {"pkg/2", "pkg/1", "pkg/3", "pkh", "pk", "other"}) {
    MustPut(MakeEntry("go/list", key, D(1)));
  }
  MustPut(MakeEntry("go/zip", "pkg/0", D(1)));
  EXPECT_EQ(Keys(ValueOr(index_->List("go/list", "pkg/", 10))),
            (std::vector<std::string>{"go/list/pkg/1", "go/list/pkg/2", "go/list/pkg/3"}));
  EXPECT_EQ(Keys(ValueOr(index_->List("go/list", "pkg/", 2))),
            (std::vector<std::string>{"go/list/pkg/1", "go/list/pkg/2"}));
  EXPECT_EQ(ValueOr(index_->List("go/list", "", 100)).size(), 6u);
  EXPECT_TRUE(ValueOr(index_->List("go/none", "", 100)).empty());
}

TEST_P(IndexConformanceTest, ListHandlesHighBytePrefixes) {
  const std::string ff = "\xff";
  for (const std::string& key : {ff, ff + ff, ff + "a", std::string("a\xff"), std::string("b")}) {
    MustPut(MakeEntry("ns", key, D(1)));
  }
  EXPECT_EQ(ValueOr(index_->List("ns", ff, 10)).size(), 3u);
  EXPECT_EQ(ValueOr(index_->List("ns", ff + ff, 10)).size(), 1u);
  EXPECT_EQ(Keys(ValueOr(index_->List("ns", "a", 10))), (std::vector<std::string>{"ns/a\xff"}));
}

// --- Statistics ---

TEST_P(IndexConformanceTest, TotalsCountEntriesBlobsAndStoredBytes) {
  EXPECT_EQ(ValueOr(index_->GetTotals()).entries, 0u);
  MustPut(MakeEntry("a", "1", D(1), 100), 50);
  MustPut(MakeEntry("a", "2", D(1), 100), 50);
  MustPut(MakeEntry("b", "1", D(2), 300), 200);
  ASSERT_TRUE(Ok(index_->RecordOrphanBlob(index::BlobRow{D(3), 7, 7}, 0)));
  index::Totals totals = ValueOr(index_->GetTotals());
  EXPECT_EQ(totals.entries, 3u);
  EXPECT_EQ(totals.blobs, 3u);
  EXPECT_EQ(totals.stored_bytes, 257u);
}

TEST_P(IndexConformanceTest, StatsByNamespaceSumsLogicalSizes) {
  MustPut(MakeEntry("npm/tarball", "x", D(1), 100));
  MustPut(MakeEntry("bazel/cas", "y", D(2), 5));
  MustPut(MakeEntry("npm/tarball", "z", D(1), 100));
  auto stats = ValueOr(index_->StatsByNamespace());
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].ns, "bazel/cas");
  EXPECT_EQ(stats[0].entries, 1u);
  EXPECT_EQ(stats[0].bytes, 5u);
  EXPECT_EQ(stats[1].ns, "npm/tarball");
  EXPECT_EQ(stats[1].entries, 2u);
  EXPECT_EQ(stats[1].bytes, 200u);
}

TEST_P(IndexConformanceTest, TopEntriesByHitsAndBySize) {
  MustPut(MakeEntry("npm/tarball", "a", D(1), 100));
  MustPut(MakeEntry("npm/tarball", "b", D(2), 300));
  MustPut(MakeEntry("bazel/cas", "c", D(3), 200));
  for (int i = 0; i < 3; ++i) index_->RecordAccess("bazel/cas", "c", 1000 + i);
  index_->RecordAccess("npm/tarball", "a", 1000);
  ASSERT_TRUE(index_->Flush().ok());
  auto hit = ValueOr(index_->TopEntries(index::Index::TopOrder::kMostHit, 2));
  ASSERT_EQ(hit.size(), 2u);
  EXPECT_EQ(hit[0].key, "c");
  EXPECT_EQ(hit[0].hits, 3u);
  EXPECT_EQ(hit[1].key, "a");
  auto largest = ValueOr(index_->TopEntries(index::Index::TopOrder::kLargest, 10));
  ASSERT_EQ(largest.size(), 3u);
  EXPECT_EQ(largest[0].key, "b");
  EXPECT_EQ(largest[1].key, "c");
  EXPECT_EQ(largest[2].key, "a");
}

// --- Concurrency ---

TEST_P(IndexConformanceTest, ConcurrentPutIfAbsentHasExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> won{0}, refused{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status s = index_->Put(MakeEntry("bazel/ac", "same", D(static_cast<uint8_t>(i + 1))), 80,
                             PutMode::kIfAbsent).status();
      if (s.ok()) {
        ++won;
      } else if (s.code() == Code::kAlreadyExists) {
        ++refused;
      } else {
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(refused.load(), kThreads - 1);
  EXPECT_EQ(failed.load(), 0);
  // Only the winner's blob is recorded, and it is referenced.
  index::Totals totals = ValueOr(index_->GetTotals());
  EXPECT_EQ(totals.entries, 1u);
  EXPECT_EQ(totals.blobs, 1u);
  EXPECT_EQ(ValueOr(index_->ReferencedDigests()),
            std::vector<Digest>{Get("bazel/ac", "same")->digest});
}

TEST_P(IndexConformanceTest, ConcurrentPutsAndDeletesKeepRefcountsExact) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 50;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      std::string key = "k" + std::to_string(i);
      for (int r = 0; r < kRounds; ++r) {
        EXPECT_TRUE(Ok(index_->Put(MakeEntry("ns", key, D(r % 2)), 80, PutMode::kOverwrite)));
        // Even threads end with their key deleted, odd ones with it present.
        if (i % 2 == 0) {
          EXPECT_TRUE(Ok(index_->Delete("ns", key)));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // Odd threads' last round used D((kRounds - 1) % 2) = D(1); D(0) is unused.
  EXPECT_EQ(Unreferenced(INT64_MAX), std::vector<int>{0});
  EXPECT_EQ(ValueOr(index_->ReferencedDigests()), std::vector<Digest>{D(1)});
  for (int i = 1; i < kThreads; i += 2) {
    ASSERT_TRUE(Ok(index_->Delete("ns", "k" + std::to_string(i))));
  }
  EXPECT_EQ(Unreferenced(INT64_MAX), (std::vector<int>{0, 1}));
}

TEST_P(IndexConformanceTest, ConcurrentRecordAccessAndFlushLoseNoHits) {
  MustPut(MakeEntry("ns", "hot", D(1), 1, 0));
  constexpr int kThreads = 4;
  constexpr int kHitsPerThread = 500;
  std::latch start(kThreads + 1);
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int h = 0; h < kHitsPerThread; ++h) index_->RecordAccess("ns", "hot", i * 1000 + h);
    });
  }
  std::thread flusher([&] {
    start.arrive_and_wait();
    while (!done.load()) EXPECT_TRUE(Ok(index_->Flush()));
  });
  for (auto& t : threads) t.join();
  done.store(true);
  flusher.join();
  ASSERT_TRUE(Ok(index_->Flush()));
  std::optional<Entry> got = Get("ns", "hot");
  EXPECT_EQ(got->hits, static_cast<uint64_t>(kThreads * kHitsPerThread));
  EXPECT_EQ(got->last_access_ms, (kThreads - 1) * 1000 + kHitsPerThread - 1);
}

}  // namespace cellar::testing
