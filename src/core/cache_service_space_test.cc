// The store's size limit (issue 13): eviction counts what it frees at the
// stored size of each distinct blob (defect 8), uploads reserve room and
// evict inline instead of being refused or overshooting (defect 4), and a
// full disk never stops eviction (defect 3).
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "core/cache_service.h"
#include "core/cache_test_util.h"
#include "index/mem_index.h"
#include "store/mem_blob_store.h"
#include "testing/forwarding_blob_store.h"
#include "testing/forwarding_index.h"

namespace cellar::core {
namespace {

using namespace std::chrono_literals;

// Reports every committed blob at a quarter of its logical size, as zstd
// would for compressible data.
class CompressingBlobStore : public testing::ForwardingBlobStore {
 public:
  using ForwardingBlobStore::ForwardingBlobStore;
  Result<std::unique_ptr<store::BlobWriter>> NewWriter() override {
    CELLAR_ASSIGN_OR_RETURN(auto base, base_.NewWriter());
    return std::unique_ptr<store::BlobWriter>(new Writer(std::move(base)));
  }

 private:
  class Writer : public testing::ForwardingBlobWriter {
   public:
    using ForwardingBlobWriter::ForwardingBlobWriter;
    Result<store::BlobInfo> Commit(const std::optional<Digest>& expected) override {
      CELLAR_ASSIGN_OR_RETURN(store::BlobInfo info, base_->Commit(expected));
      info.stored_size = info.size / 4;
      info.compressed = true;
      return info;
    }
  };
};

// A disk of `capacity` bytes: a blob write that would pass it fails with
// ENOSPC (as FsBlobWriter reports it), counting committed blobs only.
class SmallDiskBlobStore : public testing::ForwardingBlobStore {
 public:
  SmallDiskBlobStore(store::MemBlobStore& base, uint64_t capacity)
      : ForwardingBlobStore(base), mem_(base), capacity_(capacity) {}
  uint64_t used() {
    uint64_t used = 0;
    (void)mem_.ForEach([&](const store::BlobInfo& info) { used += info.stored_size; });
    return used;
  }
  uint64_t capacity() const { return capacity_; }
  int enospc = 0;

  Result<std::unique_ptr<store::BlobWriter>> NewWriter() override {
    CELLAR_ASSIGN_OR_RETURN(auto base, base_.NewWriter());
    return std::unique_ptr<store::BlobWriter>(new Writer(std::move(base), *this));
  }

 private:
  class Writer : public testing::ForwardingBlobWriter {
   public:
    Writer(std::unique_ptr<store::BlobWriter> base, SmallDiskBlobStore& disk)
        : ForwardingBlobWriter(std::move(base)), disk_(disk) {}
    Status Write(std::span<const std::byte> data) override {
      if (disk_.used() + base_->bytes_written() + data.size() > disk_.capacity_) {
        ++disk_.enospc;
        return Status::FromErrno(ENOSPC, "write tmp/blob");
      }
      return base_->Write(data);
    }

   private:
    SmallDiskBlobStore& disk_;
  };
  store::MemBlobStore& mem_;
  const uint64_t capacity_;
};

// SQLite on a full disk: every write transaction fails with SQLITE_FULL
// until a blob file is removed (which gives it room).
class FullDiskIndex : public testing::ForwardingIndex {
 public:
  using ForwardingIndex::ForwardingIndex;
  std::atomic<bool> full{false};
  int refused = 0;

  Result<index::DeleteOutcome> DeleteIfDigest(const std::string& ns, const std::string& key,
                                              const Digest& digest) override {
    if (full) return Refuse();
    return base_.DeleteIfDigest(ns, key, digest);
  }
  Status Delete(const std::string& ns, const std::string& key) override {
    if (full) return Refuse();
    return base_.Delete(ns, key);
  }
  Result<bool> ForgetBlobIfUnreferenced(const Digest& digest) override {
    if (full) return Refuse();
    return base_.ForgetBlobIfUnreferenced(digest);
  }

 private:
  Status Refuse() {
    ++refused;
    return Status::ResourceExhausted("COMMIT: database or disk is full (sqlite code 13)");
  }
};

// Frees the index's room when a blob file goes, as deleting a file would.
class RoomMakingBlobStore : public testing::ForwardingBlobStore {
 public:
  RoomMakingBlobStore(store::BlobStore& base, FullDiskIndex& index)
      : ForwardingBlobStore(base), index_(index) {}
  Status Remove(const Digest& digest) override {
    index_.full = false;
    return base_.Remove(digest);
  }

 private:
  FullDiskIndex& index_;
};

class CacheServiceSpaceTest : public ::testing::Test {
 protected:
  CacheServiceSpaceTest() : index_([this] { return clock_.NowUnixMs(); }), metrics_(registry_) {}

  std::unique_ptr<CacheService> Make(CacheOptions o, store::BlobStore* blobs = nullptr,
                                     index::Index* index = nullptr) {
    return std::make_unique<CacheService>(blobs ? *blobs : blobs_, index ? *index : index_, clock_,
                                          metrics_, o);
  }
  uint64_t IndexStoredBytes() { return index_.GetTotals()->stored_bytes; }
  static std::string Bytes(int i, size_t n) { return std::string(n, static_cast<char>('a' + i % 26)) + std::to_string(i); }

  env::FakeClock clock_;
  store::MemBlobStore blobs_;
  index::MemIndex index_;
  metrics::Registry registry_;
  CacheMetrics metrics_;
};

// --- Defect 8: what eviction counts as freed ---

TEST_F(CacheServiceSpaceTest, EvictionCountsTheStoredSizeOfCompressedBlobs) {
  CompressingBlobStore compressing(blobs_);
  CacheOptions o;
  o.max_bytes = 1000;
  o.high_watermark = 0.5;
  o.low_watermark = 0.3;
  auto cache = Make(o, &compressing);
  // Six blobs of 400 logical bytes, 100 at rest each: 600 stored, above 500.
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(PutBytes(*cache, "ccache", "k" + std::to_string(i), std::string(400, 'a' + i)).ok());
    clock_.Advance(1s);
  }
  ASSERT_EQ(IndexStoredBytes(), 600u);
  auto report = cache->RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  // Down to the low watermark (300), and no further.
  EXPECT_EQ(report->stored_bytes_after, 300u);
  EXPECT_EQ(report->entries_evicted, 3u);
}

TEST_F(CacheServiceSpaceTest, EvictionCountsABlobSharedByManyKeysOnce) {
  CacheOptions o;
  o.max_bytes = 1000;
  o.high_watermark = 0.5;
  o.low_watermark = 0.3;
  auto cache = Make(o);
  // The four least recently used keys share one 100-byte blob.
  const std::string shared(100, 's');
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(PutBytes(*cache, "ccache", "dup" + std::to_string(i), shared).ok());
  clock_.Advance(1s);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(PutBytes(*cache, "ccache", "u" + std::to_string(i), std::string(100, 'a' + i)).ok());
    clock_.Advance(1s);
  }
  ASSERT_EQ(IndexStoredBytes(), 600u);
  auto report = cache->RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_LE(report->stored_bytes_after, 300u);
  EXPECT_EQ(report->stored_bytes_after, 300u) << "evicted more than the low watermark asks";
}

TEST_F(CacheServiceSpaceTest, DeduplicatedCommitsAddNoStoredBytes) {
  CacheOptions o;
  o.max_bytes = 1000;
  auto cache = Make(o);
  const std::string same(100, 'x');
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(PutBytes(*cache, "ccache", "k" + std::to_string(i), same).ok()) << i;
  }
  EXPECT_EQ(IndexStoredBytes(), 100u);
  EXPECT_EQ(cache->approx_stored_bytes(), 100u);
}

// --- Defect 4: a hard limit, kept by reserving and evicting inline ---

TEST_F(CacheServiceSpaceTest, SequentialPutsEvictInlineAndStayWithinTheLimit) {
  CacheOptions o;
  o.max_bytes = 5 * 1024;
  auto cache = Make(o);
  for (int i = 0; i < 12; ++i) {
    // Half announce their length (Content-Length), half stream (chunked).
    std::optional<uint64_t> announced;
    if (i % 2 == 0) announced = 1000;
    Status s = PutBytes(*cache, "ccache", "k" + std::to_string(i), Bytes(i, 996), announced);
    ASSERT_TRUE(s.ok()) << "put " << i << ": " << s.ToString();
    EXPECT_LE(IndexStoredBytes(), o.max_bytes) << i;
    EXPECT_EQ(cache->reserved_bytes(), 0u);
    clock_.Advance(1s);
  }
  EXPECT_EQ(GetBytes(*cache, "ccache", "k11"), Bytes(11, 996));
  EXPECT_EQ(GetBytes(*cache, "ccache", "k0"), std::nullopt);  // least recently used went first
}

TEST_F(CacheServiceSpaceTest, BodyLargerThanTheStoreIsRefusedUpFront) {
  CacheOptions o;
  o.max_bytes = 5 * 1024;
  auto cache = Make(o);
  ASSERT_TRUE(PutBytes(*cache, "ccache", "kept", "bytes").ok());
  PutOptions p;
  p.ns = "ccache";
  p.key = "huge";
  p.expected_size = 50 * 1024;
  auto put = cache->BeginPut(std::move(p));
  EXPECT_EQ(put.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(GetBytes(*cache, "ccache", "kept"), "bytes") << "evicted for a body that could never fit";
  EXPECT_EQ(cache->reserved_bytes(), 0u);
  // Streamed without a length, it is refused once it passes the limit.
  Status streamed = PutBytes(*cache, "ccache", "huge", std::string(50 * 1024, 'h'));
  EXPECT_EQ(streamed.code(), Code::kResourceExhausted) << streamed.ToString();
  EXPECT_FALSE(GetBytes(*cache, "ccache", "huge"));
  EXPECT_EQ(cache->reserved_bytes(), 0u);
}

TEST_F(CacheServiceSpaceTest, ConcurrentReservationsAddUp) {
  CacheOptions o;
  o.max_bytes = 5000;
  auto cache = Make(o);
  PutOptions p1;
  p1.ns = "ccache";
  p1.key = "one";
  p1.expected_size = 3000;
  auto first = cache->BeginPut(std::move(p1));
  ASSERT_TRUE(first.ok());
  PutOptions p2;
  p2.ns = "ccache";
  p2.key = "two";
  p2.expected_size = 3000;
  auto second = cache->BeginPut(std::move(p2));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*first)->TryReserve(3000));
  EXPECT_FALSE((*second)->TryReserve(3000)) << "two reservations of 3000 fit in 5000";
  // Nothing stored can be evicted: the room is held by an upload in flight.
  EXPECT_EQ((*second)->Reserve(3000).code(), Code::kResourceExhausted);
  second->reset();
  std::string body(3000, '1');
  ASSERT_TRUE((*first)->Write(std::as_bytes(std::span(body.data(), body.size()))).ok());
  ASSERT_TRUE((*first)->Commit().ok());
  first->reset();
  EXPECT_EQ(cache->reserved_bytes(), 0u);
  // Once committed it is stored data, which the next upload may evict.
  ASSERT_TRUE(PutBytes(*cache, "ccache", "two", std::string(3000, '2'), 3000).ok());
  EXPECT_LE(IndexStoredBytes(), 5000u);
  EXPECT_FALSE(GetBytes(*cache, "ccache", "one"));
}

TEST_F(CacheServiceSpaceTest, BlobsBeingReadAreNotEvictedToMakeRoom) {
  CacheOptions o;
  o.max_bytes = 3000;
  auto cache = Make(o);
  ASSERT_TRUE(PutBytes(*cache, "ccache", "a", std::string(1400, 'a')).ok());
  ASSERT_TRUE(PutBytes(*cache, "ccache", "b", std::string(1400, 'b')).ok());
  auto reading_a = cache->Get("ccache", "a");
  auto reading_b = cache->Get("ccache", "b");
  ASSERT_TRUE(reading_a.ok() && *reading_a && reading_b.ok() && *reading_b);
  EXPECT_EQ(PutBytes(*cache, "ccache", "c", std::string(1400, 'c'), 1400).code(), Code::kResourceExhausted);
  EXPECT_EQ(ReadAll(***reading_a), std::string(1400, 'a'));
  reading_a->reset();
  EXPECT_TRUE(PutBytes(*cache, "ccache", "c", std::string(1400, 'c'), 1400).ok());
  EXPECT_EQ(ReadAll(***reading_b), std::string(1400, 'b'));
  EXPECT_LE(IndexStoredBytes(), 3000u);
}

// --- Defect 3: a full disk ---

TEST_F(CacheServiceSpaceTest, FileSystemSmallerThanMaxSizeLimitsTheStore) {
  SmallDiskBlobStore disk(blobs_, 20'000);
  CacheOptions o;
  o.max_bytes = 1ULL << 30;  // far beyond the disk
  o.disk_space = [&disk]() -> std::optional<DiskSpace> {
    return DiskSpace{disk.capacity() - disk.used(), disk.capacity()};
  };
  auto cache = Make(o, &disk);
  for (int i = 0; i < 60; ++i) {
    Status s = PutBytes(*cache, "ccache", "k" + std::to_string(i), Bytes(i, 1000), i % 2 ? std::optional<uint64_t>(1000 + std::to_string(i).size()) : std::nullopt);
    ASSERT_TRUE(s.ok()) << "put " << i << ": " << s.ToString();
    clock_.Advance(1s);
  }
  EXPECT_EQ(disk.enospc, 0) << "a write ran into the full disk";
  // The headroom (an eighth of the disk) stays free.
  EXPECT_LE(disk.used(), 20'000u - 2'500u);
  auto report = cache->RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
}

TEST_F(CacheServiceSpaceTest, EnospcFromABlobWriteMakesLaterPutsEvict) {
  SmallDiskBlobStore disk(blobs_, 5'000);
  CacheOptions o;
  o.max_bytes = 1ULL << 30;  // the disk says nothing about its size
  auto cache = Make(o, &disk);
  int failed = 0;
  for (int i = 0; i < 20; ++i) {
    Status s = PutBytes(*cache, "ccache", "k" + std::to_string(i), Bytes(i, 996));
    if (!s.ok()) {
      EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
      ++failed;
    }
    clock_.Advance(1s);
  }
  // The write that found the disk full fails; every later one evicts.
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(disk.enospc, 1);
  EXPECT_EQ(GetBytes(*cache, "ccache", "k19"), Bytes(19, 996));
  EXPECT_FALSE(GetBytes(*cache, "ccache", "k0"));
}

TEST_F(CacheServiceSpaceTest, EvictionRemovesBlobFilesFirstWhenTheIndexCannotWrite) {
  FullDiskIndex index(index_);
  RoomMakingBlobStore blobs(blobs_, index);
  CacheOptions o;
  o.max_bytes = 1000;
  o.high_watermark = 0.5;
  o.low_watermark = 0.3;
  auto cache = Make(o, &blobs, &index);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(PutBytes(*cache, "ccache", "k" + std::to_string(i), std::string(100, 'a' + i)).ok());
    clock_.Advance(1s);
  }
  index.full = true;
  auto report = cache->RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_GT(index.refused, 0);
  EXPECT_LE(report->stored_bytes_after, 300u);
  EXPECT_EQ(GetBytes(*cache, "ccache", "k5"), std::string(100, 'f'));
  // A restart on the full disk: a fresh service evicts the same way.
  index.full = true;
  cache = Make(o, &blobs, &index);
  for (int i = 6; i < 12; ++i) {
    ASSERT_TRUE(PutBytes(*cache, "ccache", "k" + std::to_string(i), std::string(100, 'a' + i)).ok());
    clock_.Advance(1s);
  }
  index.full = true;
  report = cache->RunEviction();
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_LE(report->stored_bytes_after, 300u);
}

// Pull-through protocols quote what a fill failed with to the client, so a
// storage failure must reach callers without the data dir's file names,
// errno text or SQLite messages (the chaos run saw a 502 naming
// '.../data/tmp/1839-16.tmp: No space left on device').
class FailingPutIndex : public testing::ForwardingIndex {
 public:
  using ForwardingIndex::ForwardingIndex;
  Result<index::PutOutcome> Put(const index::Entry&, uint64_t, index::PutMode) override {
    return Status::Internal("INSERT INTO entries: disk I/O error (sqlite code 10) in /srv/cellar-data/index.db");
  }
};

TEST_F(CacheServiceSpaceTest, StorageFailuresReachCallersWithoutPathsOrSqliteText) {
  SmallDiskBlobStore disk(blobs_, 500);
  CacheOptions o;
  o.max_bytes = 1ULL << 30;
  auto cache = Make(o, &disk);
  Status full = PutBytes(*cache, "npm", "left-pad", std::string(1000, 'x'));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.code(), Code::kResourceExhausted);  // callers still tell "full" apart
  EXPECT_EQ(full.message().find("tmp/blob"), std::string::npos) << full.message();
  EXPECT_EQ(full.message().find("No space"), std::string::npos) << full.message();

  FailingPutIndex index(index_);
  auto broken = Make(o, nullptr, &index);
  Status failed = PutBytes(*broken, "go", "mod", "module x\n");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.message().find("sqlite"), std::string::npos) << failed.message();
  EXPECT_EQ(failed.message().find("/srv/cellar-data"), std::string::npos) << failed.message();

  FullDiskIndex full_index(index_);
  full_index.full = true;
  auto no_room = Make(o, nullptr, &full_index);
  Status deleted = no_room->Delete("ccache", "ab/cdef");  // ccache and sccache DELETE quote this
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.message().find("sqlite"), std::string::npos) << deleted.message();
}

}  // namespace
}  // namespace cellar::core
