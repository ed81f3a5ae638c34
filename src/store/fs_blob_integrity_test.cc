// Issue 13, defect 7: damaged blob files are never served as good bytes.
// Compressed blobs carry zstd checksums that readers check before reporting
// the end of the blob; files from before the checksum still read.
#include <zstd.h>

#include "store/blob_file_format.h"
#include "store/fs_blob_store.h"
#include "store/fs_test_fixture.h"

namespace cellar::store {
namespace {

using FsBlobIntegrityTest = FsBlobStoreTest;

// Reads exactly size() bytes, the way the HTTP layer does: it never asks
// for more once it has them.
Result<Bytes> ReadSizeBytes(BlobReader& reader) {
  Bytes out(reader.size());
  size_t got = 0;
  while (got < out.size()) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Read(std::span(out).subspan(got)));
    if (n == 0) return Status::Internal("reader ended early without an error");
    got += n;
  }
  return out;
}

// Opens `digest` and reads size() bytes. Corruption at open or on read is an
// error; anything else must be exactly `expected`.
Result<Bytes> OpenAndRead(FsBlobStore& store, const Digest& digest) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<std::unique_ptr<BlobReader>> reader, store.Open(digest));
  if (!reader.has_value()) return Status::NotFound("absent");
  return ReadSizeBytes(**reader);
}

TEST_F(FsBlobIntegrityTest, NewCompressedBlobsCarryAChecksum) {
  const BlobInfo info = MustPut(MakeContent(10000, Content::kText));
  ASSERT_TRUE(info.compressed);
  const std::vector<uint8_t> file = ReadFile(store_->BlobPath(info.digest));
  ASSERT_GT(file.size(), kBlobHeaderSize + 5);
  EXPECT_EQ(file[5], kBlobFlagZstdChecksum);
  // zstd frame header descriptor, bit 2: content checksum present.
  EXPECT_NE(file[kBlobHeaderSize + 4] & 0x04, 0);
}

// Every byte of the payload flipped in turn: the reader either fails with
// kCorruption or returns exactly the original bytes (a few bits of the frame
// header, such as the window size, do not change the content).
TEST_F(FsBlobIntegrityTest, FlippedByteInCompressedBlobIsNeverServed) {
  for (size_t size : {size_t{10000}, size_t{300000}}) {
    SCOPED_TRACE(size);
    const Bytes data = MakeContent(size, Content::kText, size);
    const BlobInfo info = MustPut(data);
    ASSERT_TRUE(info.compressed);
    const std::string path = store_->BlobPath(info.digest);
    const std::vector<uint8_t> original = ReadFile(path);
    // Most of a small blob; for the larger one, a spread. Each flip also
    // tries one of the last 8 bytes (end of the last block, checksum).
    const size_t step = size < 100000 ? 2 : 211;
    size_t corrupt = 0, tried = 0;
    for (size_t offset = kBlobHeaderSize; offset < original.size(); offset += step) {
      for (size_t at : {offset, original.size() - 1 - (offset - kBlobHeaderSize) % 8}) {
        std::vector<uint8_t> damaged = original;
        damaged[at] ^= 0x10;
        WriteFile(path, damaged);
        ++tried;
        Result<Bytes> got = OpenAndRead(*store_, info.digest);
        if (got.ok()) {
          ASSERT_TRUE(*got == data) << "wrong bytes served after flipping offset " << at;
        } else {
          ASSERT_EQ(got.error().code(), Code::kCorruption) << at << ": " << got.error().ToString();
          ++corrupt;
        }
      }
    }
    EXPECT_GT(corrupt, tried * 9 / 10);
    WriteFile(path, original);
  }
}

// The checksum is the frame's last 4 bytes; a reader that stopped at the
// blob's logical end would never look at them.
TEST_F(FsBlobIntegrityTest, BadChecksumFailsBeforeTheLastByteIsReturned) {
  const Bytes data = MakeContent(10000, Content::kText);
  const BlobInfo info = MustPut(data);
  ASSERT_TRUE(info.compressed);
  const std::string path = store_->BlobPath(info.digest);
  FlipByte(path, info.stored_size - 1);
  const std::vector<uint8_t> damaged = ReadFile(path);
  for (size_t chunk : {size_t{1}, size_t{4096}, data.size(), data.size() * 2}) {
    SCOPED_TRACE(chunk);
    WriteFile(path, damaged);  // the failed read before quarantined it
    auto reader = store_->Open(info.digest);
    ASSERT_TRUE(reader.ok() && reader->has_value()) << reader.status().ToString();
    Bytes buf(chunk);
    uint64_t got = 0;
    Status status;
    while (got < data.size()) {
      Result<size_t> n = (**reader)->Read(buf);
      if (!n.ok()) {
        status = n.error();
        break;
      }
      ASSERT_GT(*n, 0u);
      got += *n;
    }
    EXPECT_EQ(status.code(), Code::kCorruption) << "read " << got << " bytes without an error";
    EXPECT_LT(got, data.size());
  }
}

TEST_F(FsBlobIntegrityTest, FlippedByteInCompressedBlobIsQuarantinedByVerify) {
  const BlobInfo info = MustPut(MakeContent(10000, Content::kText));
  FlipByte(store_->BlobPath(info.digest), info.stored_size - 1);
  Result<VerifyReport> report = store_->Verify(/*quarantine_bad=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->bad, 1u);
  EXPECT_TRUE(std::filesystem::exists(Path("quarantine/" + info.digest.Hex())));
}

// A commit of bytes whose blob is already in place hashes that copy; a bad
// copy is quarantined and replaced, so re-uploading repairs the store.
TEST_F(FsBlobIntegrityTest, ReuploadRepairsAFlippedBlobAndQuarantinesTheBadCopy) {
  struct Case {
    const char* name;
    size_t size;
    Content kind;
  };
  // Small raw (decided at commit, nothing written when intact), large raw
  // (the complete temp file meets the damaged copy), compressed.
  for (const Case& c : {Case{"raw 10 KB", 10000, Content::kRandom},
                        Case{"raw 2 MB", 2 << 20, Content::kRandom},
                        Case{"zstd 300 KB", 300000, Content::kText}}) {
    SCOPED_TRACE(c.name);
    const Bytes data = MakeContent(c.size, c.kind, c.size);
    const BlobInfo info = MustPut(data);
    ASSERT_EQ(info.compressed, c.kind == Content::kText);
    const std::string path = store_->BlobPath(info.digest);
    const std::vector<uint8_t> good_file = ReadFile(path);
    FlipByte(path, kBlobHeaderSize + info.stored_size / 3);
    const uint64_t quarantined_before = store_->quarantined_total();

    const BlobInfo again = MustPut(data);
    EXPECT_EQ(again.digest, info.digest);
    EXPECT_TRUE(ReadFile(path) == good_file) << "the damaged copy is still in place";
    Result<std::optional<Bytes>> got = ReadBlob(*store_, info.digest);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
    EXPECT_TRUE(**got == data);
    EXPECT_TRUE(std::filesystem::exists(Path("quarantine/" + info.digest.Hex())));
    EXPECT_EQ(store_->quarantined_total(), quarantined_before + 1);
    EXPECT_TRUE(FilesUnder("tmp").empty());
  }
}

TEST_F(FsBlobIntegrityTest, ReportCorruptQuarantinesOnlyABadCopy) {
  const BlobInfo good = MustPut(MakeContent(5000, Content::kRandom, 1));
  const BlobInfo bad = MustPut(MakeContent(5000, Content::kRandom, 2));
  FlipByte(store_->BlobPath(bad.digest), kBlobHeaderSize + 100);
  ASSERT_TRUE(store_->ReportCorrupt(good.digest).ok());
  ASSERT_TRUE(store_->ReportCorrupt(bad.digest).ok());
  EXPECT_TRUE(std::filesystem::exists(store_->BlobPath(good.digest)));
  EXPECT_FALSE(std::filesystem::exists(store_->BlobPath(bad.digest)));
  EXPECT_EQ(store_->quarantined_total(), 1u);
  EXPECT_TRUE(store_->ReportCorrupt(bad.digest).ok());  // absent now: fine
}

// A read that finds damage takes the file out of service, so the next
// request is a miss (refilled or re-uploaded) rather than another broken
// transfer of a large blob.
TEST_F(FsBlobIntegrityTest, DamageFoundByAReadQuarantinesTheFile) {
  const Bytes data = MakeContent(2 << 20, Content::kText);
  const BlobInfo info = MustPut(data);
  ASSERT_TRUE(info.compressed);
  const std::string path = store_->BlobPath(info.digest);
  FlipByte(path, info.stored_size / 2);
  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  EXPECT_EQ(ReadRest(***reader).status().code(), Code::kCorruption);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(Path("quarantine/" + info.digest.Hex())));
  EXPECT_EQ(store_->quarantined_total(), 1u);
  Result<std::optional<std::unique_ptr<BlobReader>>> again = store_->Open(info.digest);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  // A reader of a damaged file that a re-upload has replaced meanwhile does
  // not take the good copy now under the name for the damaged one.
  const Bytes other_data = MakeContent(300000, Content::kText, 7);
  const BlobInfo other = MustPut(other_data);
  FlipByte(store_->BlobPath(other.digest), other.stored_size / 2);
  auto stale = store_->Open(other.digest);
  ASSERT_TRUE(stale.ok() && stale->has_value());
  MustPut(other_data);  // repairs: a new file under the name
  EXPECT_EQ(ReadRest(***stale).status().code(), Code::kCorruption);
  Result<std::optional<Bytes>> good = ReadBlob(*store_, other.digest);
  ASSERT_TRUE(good.ok() && good->has_value()) << good.status().ToString();
  EXPECT_TRUE(**good == other_data);
}

// A raw file shorter than its header says never reads as a short success.
TEST_F(FsBlobIntegrityTest, ShortRawFileIsAnErrorNotAShortBlob) {
  const BlobInfo info = MustPut(MakeContent(2 << 20, Content::kRandom));
  ASSERT_FALSE(info.compressed);
  const std::string path = store_->BlobPath(info.digest);
  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  ASSERT_TRUE((**reader)->RawFile().has_value());
  Truncate(path, kBlobHeaderSize + (1 << 20));
  Result<Bytes> got = ReadSizeBytes(***reader);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kCorruption) << got.error().ToString();
  // The read took the file out of service.
  EXPECT_TRUE(std::filesystem::exists(Path("quarantine/" + info.digest.Hex())));
  // A file already short when opened is refused at open.
  WriteFile(path, ReadFile(Path("quarantine/" + info.digest.Hex())));
  EXPECT_EQ(store_->Open(info.digest).status().code(), Code::kCorruption);
}

// Files written before checksums: header flag clear, frame without one.
class LegacyBlobTest : public FsBlobIntegrityTest {
 protected:
  // Writes `data` as one checksum-less zstd frame under its digest, with the
  // header flag set to `flag`.
  Digest PlantLegacyBlob(const Bytes& data, bool flag) {
    std::vector<uint8_t> frame(ZSTD_compressBound(data.size()));
    const size_t n = ZSTD_compress(frame.data(), frame.size(), data.data(), data.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    frame.resize(n);
    EXPECT_EQ(frame[4] & 0x04, 0);  // no checksum in this frame
    const auto header = EncodeBlobHeader({BlobFormat::kZstd, data.size(), flag});
    std::vector<uint8_t> file(header.begin(), header.end());
    file.insert(file.end(), frame.begin(), frame.end());
    const Digest digest = HashBytes(data);
    std::filesystem::create_directories(std::filesystem::path(store_->BlobPath(digest)).parent_path());
    WriteFile(store_->BlobPath(digest), file);
    return digest;
  }
};

TEST_F(LegacyBlobTest, BlobWithoutChecksumStillReads) {
  const Bytes data = MakeContent(50000, Content::kText);
  const Digest digest = PlantLegacyBlob(data, /*flag=*/false);
  Result<Bytes> got = OpenAndRead(*store_, digest);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  Result<std::optional<Bytes>> rest = ReadBlob(*store_, digest);
  ASSERT_TRUE(rest.ok() && rest->has_value());
  EXPECT_TRUE(**rest == data);
  Result<VerifyReport> report = store_->VerifyOne(digest, /*quarantine_bad=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->ok, 1u);
  // A re-upload of the same bytes keeps the intact legacy file.
  const BlobInfo again = MustPut(data);
  EXPECT_EQ(again.digest, digest);
  EXPECT_EQ(ReadFile(store_->BlobPath(digest))[5], 0);
}

TEST_F(LegacyBlobTest, FlagWithoutChecksumInTheFrameIsCorruption) {
  const Digest digest = PlantLegacyBlob(MakeContent(50000, Content::kText), /*flag=*/true);
  Result<Bytes> got = OpenAndRead(*store_, digest);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kCorruption) << got.error().ToString();
}

}  // namespace
}  // namespace cellar::store
