// BlobStoreConformanceTest: the BlobStore contract (src/store/blob_store.h)
// as a value-parameterised gtest suite. Every BlobStore implementation
// instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Mem, BlobStoreConformanceTest,
//       ::testing::Values(cellar::testing::BlobStoreFactory{"Mem", [] {
//         return cellar::testing::MakeHarness(std::make_unique<MemBlobStore>());
//       }}), cellar::testing::BlobStoreFactoryName);
//
// The header defines the tests themselves, so include it from exactly one
// .cc file per test binary and instantiate every implementation there.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "store/blob_store.h"
#include "store/blob_test_util.h"

namespace cellar::testing {

// A store under test together with whatever must outlive it (a temporary
// directory, an emulator connection).
class BlobStoreHarness {
 public:
  virtual ~BlobStoreHarness() = default;
  virtual store::BlobStore& store() = 0;
};

struct BlobStoreFactory {
  std::string name;  // test-name suffix: letters, digits, '_'
  std::function<std::unique_ptr<BlobStoreHarness>()> make;
  // False for a cache tier whose Remove() frees only its own copy while a
  // tier behind it still serves the blob (TieredBlobStore): the suite then
  // checks that Remove() unlists the blob instead of making it unreadable.
  bool remove_hides_blob = true;
};

inline void PrintTo(const BlobStoreFactory& factory, std::ostream* os) { *os << factory.name; }
inline std::string BlobStoreFactoryName(const ::testing::TestParamInfo<BlobStoreFactory>& info) {
  return info.param.name;
}

// A harness that owns just the store, plus `extra` state destroyed after it.
template <typename Extra = std::monostate>
class SimpleHarness final : public BlobStoreHarness {
 public:
  SimpleHarness(std::unique_ptr<store::BlobStore> store, std::unique_ptr<Extra> extra = nullptr)
      : extra_(std::move(extra)), store_(std::move(store)) {}
  store::BlobStore& store() override { return *store_; }

 private:
  std::unique_ptr<Extra> extra_;  // declared first: destroyed last
  std::unique_ptr<store::BlobStore> store_;
};

inline std::unique_ptr<BlobStoreHarness> MakeHarness(std::unique_ptr<store::BlobStore> store) {
  return std::make_unique<SimpleHarness<>>(std::move(store));
}

class BlobStoreConformanceTest : public ::testing::TestWithParam<BlobStoreFactory> {
 protected:
  using Bytes = store::Bytes;
  using Content = store::Content;

  void SetUp() override {
    harness_ = GetParam().make();
    ASSERT_NE(harness_, nullptr);
  }

  store::BlobStore& store() { return harness_->store(); }

  // Commits `data` and returns its digest; fails the test on error.
  Digest Put(const Bytes& data) {
    Result<store::BlobInfo> info = store::WriteBlob(store(), data);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? info->digest : Digest{};
  }

  std::set<Digest> ListAll() {
    std::set<Digest> seen;
    Status s = store().ForEach([&](const store::BlobInfo& info) {
      EXPECT_TRUE(seen.insert(info.digest).second) << "listed twice: " << info.digest.Hex();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return seen;
  }

  void ExpectAbsent(const Digest& digest) {
    Result<std::optional<store::BlobInfo>> stat = store().Stat(digest);
    ASSERT_TRUE(stat.ok()) << stat.status().ToString();
    EXPECT_FALSE(stat->has_value());
    Result<std::optional<std::unique_ptr<store::BlobReader>>> reader = store().Open(digest);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_FALSE(reader->has_value());
  }

  // When the reader offers a raw file range, it must hold exactly `data`.
  static void ExpectRawFileHolds(const store::BlobReader& reader, const Bytes& data) {
    std::optional<store::RawFileRange> range = reader.RawFile();
    if (!range.has_value()) return;
    ASSERT_EQ(range->length, data.size());
    Bytes got(data.size());
    size_t done = 0;
    while (done < got.size()) {
      ssize_t n = ::pread(range->fd, got.data() + done, got.size() - done,
                          static_cast<off_t>(range->offset + done));
      ASSERT_GT(n, 0) << "raw file range is short";
      done += static_cast<size_t>(n);
    }
    EXPECT_TRUE(got == data) << "raw file range holds other bytes";
  }

  std::unique_ptr<BlobStoreHarness> harness_;
};

inline constexpr size_t kConformanceSizes[] = {0, 1, 4095, 4096, (1 << 20) + 3};

TEST_P(BlobStoreConformanceTest, WriteCommitOpenReadRoundTrip) {
  for (Content kind : {Content::kRandom, Content::kText}) {
    for (size_t size : kConformanceSizes) {
      SCOPED_TRACE("size " + std::to_string(size) + (kind == Content::kText ? " text" : " random"));
      const Bytes data = store::MakeContent(size, kind, size);
      Result<std::unique_ptr<store::BlobWriter>> writer = store().NewWriter();
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      // Odd chunk sizes exercise buffering across chunk boundaries.
      for (size_t pos = 0; pos < size; pos += 1000) {
        ASSERT_TRUE((*writer)
                        ->Write(std::span(data).subspan(pos, std::min<size_t>(1000, size - pos)))
                        .ok());
      }
      EXPECT_EQ((*writer)->bytes_written(), size);
      Result<store::BlobInfo> info = (*writer)->Commit();
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      EXPECT_EQ(info->digest, store::HashBytes(data));
      EXPECT_EQ(info->size, size);

      Result<std::optional<std::unique_ptr<store::BlobReader>>> reader = store().Open(info->digest);
      ASSERT_TRUE(reader.ok()) << reader.status().ToString();
      ASSERT_TRUE(reader->has_value());
      EXPECT_EQ((**reader)->size(), size);
      ExpectRawFileHolds(***reader, data);
      Result<Bytes> got = store::ReadRest(***reader, 4093);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_TRUE(*got == data);
      // The end stays the end.
      std::byte one[1];
      Result<size_t> again = (**reader)->Read(one);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, 0u);
    }
  }
}

TEST_P(BlobStoreConformanceTest, OpenAndStatOfAbsentBlobAreMisses) {
  ExpectAbsent(store::HashBytes(store::MakeContent(10, Content::kRandom)));
}

TEST_P(BlobStoreConformanceTest, UncommittedWriterLeavesNothing) {
  for (size_t size : {size_t{10}, size_t{3 << 20}}) {
    const Bytes data = store::MakeContent(size, Content::kText);
    {
      auto writer = store().NewWriter();
      ASSERT_TRUE(writer.ok());
      ASSERT_TRUE((*writer)->Write(data).ok());
    }
    ExpectAbsent(store::HashBytes(data));
  }
  EXPECT_TRUE(ListAll().empty());
}

TEST_P(BlobStoreConformanceTest, ExpectedDigestMismatchIsCorruptionAndStoresNothing) {
  const Digest wrong = store::HashBytes(store::MakeContent(7, Content::kRandom, 99));
  for (size_t size : {size_t{10}, size_t{1 << 20}}) {
    for (Content kind : {Content::kRandom, Content::kText}) {
      const Bytes data = store::MakeContent(size, kind);
      Result<store::BlobInfo> info = store::WriteBlob(store(), data, wrong);
      ASSERT_FALSE(info.ok());
      EXPECT_EQ(info.error().code(), Code::kCorruption) << info.error().ToString();
      ExpectAbsent(store::HashBytes(data));
    }
  }
  EXPECT_TRUE(ListAll().empty());
}

TEST_P(BlobStoreConformanceTest, MatchingExpectedDigestCommits) {
  const Bytes data = store::MakeContent(5000, Content::kText);
  Result<store::BlobInfo> info = store::WriteBlob(store(), data, store::HashBytes(data));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, store::HashBytes(data));
}

TEST_P(BlobStoreConformanceTest, CommitOfDuplicateContentSucceeds) {
  for (size_t size : {size_t{0}, size_t{100}, size_t{1 << 20}}) {
    const Bytes data = store::MakeContent(size, Content::kText);
    const Digest first = Put(data);
    Result<store::BlobInfo> second = store::WriteBlob(store(), data, first);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(second->digest, first);
    EXPECT_EQ(second->size, size);
  }
  EXPECT_EQ(ListAll().size(), 3u);
}

TEST_P(BlobStoreConformanceTest, ReaderSurvivesRemove) {
  for (Content kind : {Content::kRandom, Content::kText}) {
    for (size_t size : {size_t{100}, size_t{(1 << 20) + 3}}) {
      const Bytes data = store::MakeContent(size, kind);
      const Digest digest = Put(data);
      auto reader = store().Open(digest);
      ASSERT_TRUE(reader.ok() && reader->has_value());
      Bytes head(size / 3);
      Result<size_t> n = (**reader)->Read(head);
      ASSERT_TRUE(n.ok());
      head.resize(*n);

      ASSERT_TRUE(store().Remove(digest).ok());
      if (GetParam().remove_hides_blob) ExpectAbsent(digest);
      EXPECT_EQ(ListAll().count(digest), 0u);

      Result<Bytes> rest = store::ReadRest(***reader);
      ASSERT_TRUE(rest.ok()) << rest.status().ToString();
      head.insert(head.end(), rest->begin(), rest->end());
      EXPECT_TRUE(head == data);
    }
  }
}

// ReportCorrupt re-checks the store's own copy: an intact blob stays, and
// an absent one is not an error.
TEST_P(BlobStoreConformanceTest, ReportCorruptKeepsAnIntactBlob) {
  for (Content kind : {Content::kRandom, Content::kText}) {
    const Bytes data = store::MakeContent(300000, kind);
    const Digest digest = Put(data);
    ASSERT_TRUE(store().ReportCorrupt(digest).ok());
    Result<std::optional<Bytes>> got = store::ReadBlob(store(), digest);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
    EXPECT_TRUE(**got == data);
  }
  EXPECT_TRUE(store().ReportCorrupt(store::HashBytes(store::MakeContent(10, Content::kText))).ok());
}

TEST_P(BlobStoreConformanceTest, RemoveOfAbsentBlobIsOk) {
  EXPECT_TRUE(store().Remove(store::HashBytes(store::MakeContent(3, Content::kText))).ok());
}

TEST_P(BlobStoreConformanceTest, StatDescribesCommittedBlob) {
  for (Content kind : {Content::kRandom, Content::kText}) {
    const Bytes data = store::MakeContent(300000, kind);
    Result<store::BlobInfo> committed = store::WriteBlob(store(), data);
    ASSERT_TRUE(committed.ok());
    Result<std::optional<store::BlobInfo>> stat = store().Stat(committed->digest);
    ASSERT_TRUE(stat.ok() && stat->has_value());
    const store::BlobInfo& info = **stat;
    EXPECT_EQ(info.digest, committed->digest);
    EXPECT_EQ(info.size, data.size());
    EXPECT_EQ(info.compressed, committed->compressed);
    EXPECT_EQ(info.stored_size, committed->stored_size);
    EXPECT_GT(info.stored_size, 0u);
    if (!info.compressed) {
      EXPECT_GE(info.stored_size, info.size);
    }
  }
}

TEST_P(BlobStoreConformanceTest, ForEachListsExactlyCommittedBlobs) {
  const Digest a = Put(store::MakeContent(10, Content::kText, 1));
  const Digest b = Put(store::MakeContent(200000, Content::kRandom, 2));
  const Digest empty = Put({});
  Put(store::MakeContent(10, Content::kText, 1));  // duplicate of a
  {
    auto uncommitted = store().NewWriter();
    ASSERT_TRUE(uncommitted.ok());
    ASSERT_TRUE((*uncommitted)->Write(store::MakeContent(50, Content::kText, 4)).ok());
  }
  ASSERT_FALSE(store::WriteBlob(store(), store::MakeContent(50, Content::kText, 5), a).ok());
  const Digest removed = Put(store::MakeContent(60, Content::kText, 6));
  ASSERT_TRUE(store().Remove(removed).ok());

  EXPECT_EQ(ListAll(), (std::set<Digest>{a, b, empty}));
  ASSERT_TRUE(store()
                  .ForEach([&](const store::BlobInfo& info) {
                    if (info.digest == b) {
                      EXPECT_EQ(info.size, 200000u);
                    }
                    if (info.digest == empty) {
                      EXPECT_EQ(info.size, 0u);
                    }
                  })
                  .ok());
}

TEST_P(BlobStoreConformanceTest, ConcurrentWritersOfSameContentAllSucceed) {
  constexpr int kThreads = 8;
  Bytes data = store::MakeContent(300000, Content::kText);
  const Bytes tail = store::MakeContent(300000, Content::kRandom);
  data.insert(data.end(), tail.begin(), tail.end());
  std::latch start(kThreads);
  std::vector<Result<store::BlobInfo>> results(kThreads, Status::Internal("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = store::WriteBlob(store(), data, std::nullopt, 4096);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->digest, store::HashBytes(data));
  }
  EXPECT_EQ(ListAll(), std::set<Digest>{store::HashBytes(data)});
  Result<std::optional<Bytes>> got = store::ReadBlob(store(), store::HashBytes(data));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE(**got == data);
}

TEST_P(BlobStoreConformanceTest, ConcurrentWritersOfDifferentContent) {
  constexpr int kThreads = 8;
  constexpr int kBlobsPerThread = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kBlobsPerThread; ++i) {
        const Bytes data = store::MakeContent(1000 + 997 * i, Content::kText, t * 100 + i);
        if (!store::WriteBlob(store(), data).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ListAll().size(), size_t{kThreads * kBlobsPerThread});
}

TEST_P(BlobStoreConformanceTest, ReadersOfOneBlobAreIndependent) {
  const Bytes data = store::MakeContent(100000, Content::kText);
  const Digest digest = Put(data);
  auto r1 = store().Open(digest);
  auto r2 = store().Open(digest);
  ASSERT_TRUE(r1.ok() && r1->has_value() && r2.ok() && r2->has_value());
  Bytes first(1000);
  ASSERT_TRUE((**r1)->Read(first).ok());
  Result<Bytes> all = store::ReadRest(***r2);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(*all == data);
}

}  // namespace cellar::testing
