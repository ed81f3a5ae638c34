// FsBlobWriter: the raw-versus-zstd decision and failure handling.
#include "store/fs_blob_writer.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "store/blob_file_format.h"
#include "store/fs_test_fixture.h"

namespace cellar::store {
namespace {

class FsBlobWriterTest : public FsBlobStoreTest {
 protected:
  // Commits `data`, checks that it reads back identical, returns its info.
  BlobInfo PutAndCheck(const Bytes& data, size_t chunk = 64 * 1024) {
    Result<BlobInfo> info = WriteBlob(*store_, data, std::nullopt, chunk);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return {};
    Result<std::optional<Bytes>> got = ReadBlob(*store_, info->digest, 7777);
    EXPECT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
    if (got.ok() && got->has_value()) {
      EXPECT_TRUE(**got == data) << "read back differs";
    }
    std::vector<uint8_t> file = ReadFile(store_->BlobPath(info->digest));
    Result<BlobFileHeader> header = DecodeBlobHeader(file);
    EXPECT_TRUE(header.ok());
    if (header.ok()) {
      EXPECT_EQ(header->size, data.size());
      EXPECT_EQ(header->format == BlobFormat::kZstd, info->compressed);
    }
    EXPECT_EQ(info->stored_size, file.size());
    EXPECT_TRUE(FilesUnder("tmp").empty());
    return *info;
  }

  static Bytes Concat(const Bytes& a, const Bytes& b) {
    Bytes out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }

  void ExpectNothingStored(const Digest& digest) {
    Result<std::optional<BlobInfo>> stat = store_->Stat(digest);
    ASSERT_TRUE(stat.ok());
    EXPECT_FALSE(stat->has_value());
    EXPECT_TRUE(FilesUnder("blobs").empty());
    EXPECT_TRUE(FilesUnder("tmp").empty());
  }
};

TEST_F(FsBlobWriterTest, CompressibleDataIsStoredCompressed) {
  const Bytes data = MakeContent(1 << 20, Content::kText);
  const BlobInfo info = PutAndCheck(data);
  EXPECT_TRUE(info.compressed);
  EXPECT_LT(info.stored_size, data.size() * 9 / 10);
  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  EXPECT_FALSE((**reader)->RawFile().has_value());
  EXPECT_EQ((**reader)->size(), data.size());
}

TEST_F(FsBlobWriterTest, LargeCompressibleBlobStreamsThroughCompression) {
  const BlobInfo info = PutAndCheck(MakeContent(16 << 20, Content::kText), 100000);
  EXPECT_TRUE(info.compressed);
}

TEST_F(FsBlobWriterTest, CompressibleBlobSmallerThanTheProbeIsCompressed) {
  const BlobInfo info = PutAndCheck(MakeContent(10000, Content::kText), 999);
  EXPECT_TRUE(info.compressed);
  EXPECT_LT(info.stored_size, 9000u);
}

TEST_F(FsBlobWriterTest, TinyBlobStaysRaw) {
  const BlobInfo info = PutAndCheck(Bytes(400, std::byte{0}));
  EXPECT_FALSE(info.compressed);
  EXPECT_EQ(info.stored_size, kBlobHeaderSize + 400);
}

TEST_F(FsBlobWriterTest, IncompressibleDataNeverReachesZstd) {
  // Trying zstd on every probe was a fifth of a PUT's CPU for build artifacts.
  PutAndCheck(MakeContent(3 << 20, Content::kRandom, 5));
  PutAndCheck(MakeContent(60000, Content::kRandom, 6));  // decided whole at commit
  EXPECT_EQ(store_->zstd_contexts_created_for_test(), 0u);
  // Compressible blobs still try it, and share one context one after another.
  EXPECT_TRUE(PutAndCheck(MakeContent(1 << 20, Content::kText, 7)).compressed);
  EXPECT_TRUE(PutAndCheck(MakeContent(50000, Content::kText, 8)).compressed);
  EXPECT_EQ(store_->zstd_contexts_created_for_test(), 1u);
}

TEST_F(FsBlobWriterTest, RandomDataStaysRawAndRawFilePointsAtIt) {
  const Bytes data = MakeContent(3 << 20, Content::kRandom);
  const BlobInfo info = PutAndCheck(data);
  EXPECT_FALSE(info.compressed);
  EXPECT_EQ(info.stored_size, kBlobHeaderSize + data.size());

  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  std::optional<RawFileRange> range = (**reader)->RawFile();
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->offset, kBlobHeaderSize);
  EXPECT_EQ(range->length, data.size());
  // Spot-check a window in the middle, as sendfile would send it.
  Bytes window(4096);
  const uint64_t at = 1234567;
  ASSERT_EQ(
      ::pread(range->fd, window.data(), window.size(), static_cast<off_t>(range->offset + at)),
      static_cast<ssize_t>(window.size()));
  EXPECT_EQ(std::memcmp(window.data(), data.data() + at, window.size()), 0);
}

TEST_F(FsBlobWriterTest, CompressionCanBeTurnedOff) {
  options_.compress = false;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_FALSE(PutAndCheck(MakeContent(1 << 20, Content::kText)).compressed);
  EXPECT_FALSE(PutAndCheck(MakeContent(10000, Content::kText)).compressed);
}

TEST_F(FsBlobWriterTest, IncompressibleBodyAfterCompressibleProbeEndsRawMidStream) {
  // Past the first ratio check, so the writer switches to raw while writing.
  const Bytes data = Concat(MakeContent(options_.probe_size, Content::kText),
                            MakeContent(9 << 20, Content::kRandom));
  const BlobInfo info = PutAndCheck(data);
  EXPECT_FALSE(info.compressed);
}

TEST_F(FsBlobWriterTest, IncompressibleBodyAfterCompressibleProbeEndsRawAtCommit) {
  // Before the first ratio check: the decision falls to Commit().
  const Bytes data = Concat(MakeContent(options_.probe_size, Content::kText),
                            MakeContent(1 << 20, Content::kRandom));
  const BlobInfo info = PutAndCheck(data);
  EXPECT_FALSE(info.compressed);
  EXPECT_EQ(info.stored_size, kBlobHeaderSize + data.size());
}

TEST_F(FsBlobWriterTest, IncompressibleProbeDecidesRaw) {
  // By design: the probe decides, so a compressible body behind a random
  // prefix is stored raw (never pay to compress what looks like an archive).
  const Bytes data = Concat(MakeContent(options_.probe_size, Content::kRandom),
                            MakeContent(1 << 20, Content::kText));
  EXPECT_FALSE(PutAndCheck(data).compressed);
}

TEST_F(FsBlobWriterTest, MixedBlobKeepsCompressionWhenItStillPays) {
  const Bytes data =
      Concat(MakeContent(2 << 20, Content::kText), MakeContent(256 << 10, Content::kRandom));
  EXPECT_TRUE(PutAndCheck(data).compressed);
}

TEST_F(FsBlobWriterTest, ProbeSizeBlobsAndOneByteWrites) {
  for (size_t size : {options_.probe_size - 1, options_.probe_size, options_.probe_size + 1}) {
    SCOPED_TRACE(size);
    PutAndCheck(MakeContent(size, Content::kText, size));
    PutAndCheck(MakeContent(size, Content::kRandom, size));
  }
  PutAndCheck(MakeContent(200000, Content::kText, 77), 1);
}

// --- Faults -----------------------------------------------------------------

class FsBlobWriterFaultTest : public FsBlobWriterTest {
 protected:
  // Fails every `op` after the first `allowed` ones with `err`.
  void FailAfter(FileOp op, int allowed, int err) {
    auto count = std::make_shared<std::atomic<int>>(0);
    options_.fault_injector_for_test = [=](FileOp o) {
      if (o != op) return 0;
      return count->fetch_add(1) >= allowed ? err : 0;
    };
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }
};

TEST_F(FsBlobWriterFaultTest, FailedWriteReturnsErrorAndLeavesNothing) {
  for (Content kind : {Content::kRandom, Content::kText}) {
    for (size_t size : {size_t{100}, size_t{3 << 20}}) {
      // allowed == 1 fails the header update of a small blob, which is
      // written with one write(2).
      for (int allowed : {0, 1}) {
        SCOPED_TRACE("size " + std::to_string(size) + " allowed writes " + std::to_string(allowed));
        ASSERT_NO_FATAL_FAILURE(FailAfter(FileOp::kWrite, allowed, ENOSPC));
        const Bytes data = MakeContent(size, kind);
        Result<BlobInfo> info = WriteBlob(*store_, data);
        ASSERT_FALSE(info.ok());
        EXPECT_EQ(info.error().code(), Code::kResourceExhausted) << info.error().ToString();
        ExpectNothingStored(HashBytes(data));
      }
    }
  }
}

TEST_F(FsBlobWriterFaultTest, WriteFailureIsSticky) {
  ASSERT_NO_FATAL_FAILURE(FailAfter(FileOp::kWrite, 0, ENOSPC));
  auto writer = store_->NewWriter();
  ASSERT_TRUE(writer.ok());
  const Bytes chunk = MakeContent(1 << 20, Content::kRandom);
  ASSERT_FALSE((*writer)->Write(chunk).ok());
  EXPECT_EQ((*writer)->Write(chunk).code(), Code::kResourceExhausted);
  EXPECT_EQ((*writer)->Commit().status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(FilesUnder("tmp").empty());
}

TEST_F(FsBlobWriterFaultTest, FailedFileSyncReturnsErrorAndLeavesNothing) {
  ASSERT_NO_FATAL_FAILURE(FailAfter(FileOp::kFsync, 0, EIO));
  for (size_t size : {size_t{100}, size_t{3 << 20}}) {
    const Bytes data = MakeContent(size, Content::kRandom);
    Result<BlobInfo> info = WriteBlob(*store_, data);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code(), Code::kUnavailable) << info.error().ToString();
    ExpectNothingStored(HashBytes(data));
  }
}

TEST_F(FsBlobWriterFaultTest, FailedDirectorySyncIsReportedButBlobIsIntact) {
  // The file fsync succeeds; the sync of the new fan-out dir fails after
  // the rename. The blob must be whole, never partial.
  ASSERT_NO_FATAL_FAILURE(FailAfter(FileOp::kFsync, 1, EIO));
  const Bytes data = MakeContent(5000, Content::kText);
  Result<BlobInfo> info = WriteBlob(*store_, data);
  ASSERT_FALSE(info.ok());
  options_.fault_injector_for_test = nullptr;
  ASSERT_NO_FATAL_FAILURE(Reopen());
  Result<std::optional<Bytes>> got = ReadBlob(*store_, HashBytes(data));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  if (got->has_value()) {
    EXPECT_TRUE(**got == data);
  }
  EXPECT_TRUE(FilesUnder("tmp").empty());
}

TEST_F(FsBlobWriterFaultTest, StoreWorksAgainAfterTheDiskRecovers) {
  auto full = std::make_shared<std::atomic<bool>>(true);
  options_.fault_injector_for_test = [full](FileOp op) {
    return op == FileOp::kWrite && full->load() ? ENOSPC : 0;
  };
  ASSERT_NO_FATAL_FAILURE(Reopen());
  const Bytes data = MakeContent(1 << 20, Content::kText);
  EXPECT_FALSE(WriteBlob(*store_, data).ok());
  full->store(false);
  EXPECT_TRUE(PutAndCheck(data).compressed);
}

}  // namespace
}  // namespace cellar::store
