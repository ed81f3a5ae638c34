// FsBlobStore behaviour beyond the shared contract: layout, recovery at
// Open(), and validation of damaged files. Compression and fault injection
// are in fs_blob_writer_test.cc, the scrubber in fs_blob_scrub_test.cc.
#include "store/fs_blob_store.h"

#include <sys/stat.h>

#include <set>

#include "store/blob_file_format.h"
#include "store/fs_test_fixture.h"

namespace cellar::store {
namespace {

ino_t InodeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

std::set<Digest> ListAll(FsBlobStore& store) {
  std::set<Digest> seen;
  EXPECT_TRUE(store.ForEach([&](const BlobInfo& info) { seen.insert(info.digest); }).ok());
  return seen;
}

TEST_F(FsBlobStoreTest, OpenCreatesLayout) {
  for (const char* dir : {"blobs", "tmp", "quarantine"}) {
    EXPECT_TRUE(std::filesystem::is_directory(Path(dir))) << dir;
  }
}

TEST_F(FsBlobStoreTest, OpenRejectsBadOptions) {
  FsBlobStore::Options no_root;
  EXPECT_EQ(FsBlobStore::Open(no_root).status().code(), Code::kInvalidArgument);
  FsBlobStore::Options bad_level = options_;
  bad_level.zstd_level = 1000;
  EXPECT_EQ(FsBlobStore::Open(bad_level).status().code(), Code::kInvalidArgument);
}

TEST_F(FsBlobStoreTest, OpenFailsWhenRootIsAFile) {
  WriteFile(dir_.path() + "/file", {1, 2, 3});
  FsBlobStore::Options options;
  options.root = dir_.path() + "/file";
  EXPECT_FALSE(FsBlobStore::Open(options).ok());
}

TEST_F(FsBlobStoreTest, BlobLivesUnderFanoutDirectoryWithHeader) {
  const Bytes data = MakeContent(1000, Content::kRandom);
  const BlobInfo info = MustPut(data);
  const std::string hex = info.digest.Hex();
  const std::string relative = "blobs/" + hex.substr(0, 2) + "/" + hex;
  EXPECT_EQ(store_->BlobPath(info.digest), Path(relative));
  EXPECT_EQ(FilesUnder(""), std::vector<std::string>{relative});  // tmp/ is empty again

  const std::vector<uint8_t> file = ReadFile(Path(relative));
  ASSERT_EQ(file.size(), kBlobHeaderSize + data.size());
  const auto header = EncodeBlobHeader({BlobFormat::kRaw, data.size()});
  EXPECT_TRUE(std::equal(header.begin(), header.end(), file.begin()));
  EXPECT_EQ(std::memcmp(file.data() + kBlobHeaderSize, data.data(), data.size()), 0);
  EXPECT_EQ(info.stored_size, file.size());
}

TEST_F(FsBlobStoreTest, OpenRemovesLeftoverTempFiles) {
  const BlobInfo kept = MustPut(MakeContent(100, Content::kText));
  store_.reset();
  WriteFile(Path("tmp/1234-0.tmp"), {1, 2, 3});
  WriteFile(Path("tmp/junk"), {});
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_TRUE(FilesUnder("tmp").empty());
  EXPECT_EQ(ListAll(*store_), std::set<Digest>{kept.digest});
}

TEST_F(FsBlobStoreTest, ForEachIgnoresNamesThatAreNotBlobs) {
  const BlobInfo blob = MustPut(MakeContent(100, Content::kText));
  const std::string hex = blob.digest.Hex();
  const std::string other_fanout = hex[0] == 'a' ? "bb" : "aa";
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  std::filesystem::create_directories(Path("blobs/zz"));
  std::filesystem::create_directories(Path("blobs/" + other_fanout));
  std::filesystem::create_directories(Path("blobs/" + upper.substr(0, 2)));
  const std::vector<uint8_t> copy = ReadFile(store_->BlobPath(blob.digest));
  WriteFile(Path("blobs/" + other_fanout + "/" + hex), copy);               // wrong fan-out dir
  WriteFile(Path("blobs/zz/" + hex), copy);                                 // not a fan-out dir
  WriteFile(Path("blobs/" + hex.substr(0, 2) + "/" + hex + ".bak"), copy);  // not a hex name
  WriteFile(Path("blobs/" + hex.substr(0, 2) + "/notes.txt"), {1});
  WriteFile(Path("blobs/" + hex.substr(0, 2) + "/" + upper), copy);  // uppercase hex
  WriteFile(Path("blobs/README"), {1});

  EXPECT_EQ(ListAll(*store_), std::set<Digest>{blob.digest});
  Result<VerifyReport> report = store_->Verify(/*quarantine_bad=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->ok, 1u);
  EXPECT_EQ(report->bad, 0u);
}

TEST_F(FsBlobStoreTest, ForEachSkipsDamagedBlobs) {
  const BlobInfo good = MustPut(MakeContent(100, Content::kText, 1));
  const BlobInfo bad = MustPut(MakeContent(100, Content::kText, 2));
  FlipByte(store_->BlobPath(bad.digest), 0);
  EXPECT_EQ(ListAll(*store_), std::set<Digest>{good.digest});
}

TEST_F(FsBlobStoreTest, DamagedFilesAreCorruptionNotCrashes) {
  struct Damage {
    const char* name;
    std::function<void(const std::string&)> apply;
  };
  const std::vector<Damage> damages = {
      {"empty file", [](const std::string& p) { Truncate(p, 0); }},
      {"short header", [](const std::string& p) { Truncate(p, 5); }},
      {"truncated payload", [](const std::string& p) { Truncate(p, kBlobHeaderSize + 10); }},
      {"bad magic", [](const std::string& p) { FlipByte(p, 0); }},
      {"unknown format", [](const std::string& p) { SetByte(p, 4, 9); }},
      {"size mismatch", [](const std::string& p) { FlipByte(p, 9); }},
  };
  for (const Damage& damage : damages) {
    SCOPED_TRACE(damage.name);
    const Bytes data = MakeContent(5000, Content::kRandom, std::hash<std::string>()(damage.name));
    const BlobInfo info = MustPut(data);
    const std::string path = store_->BlobPath(info.digest);
    damage.apply(path);
    auto reader = store_->Open(info.digest);
    ASSERT_FALSE(reader.ok());
    EXPECT_EQ(reader.error().code(), Code::kCorruption) << reader.error().ToString();
    auto stat = store_->Stat(info.digest);
    ASSERT_FALSE(stat.ok());
    EXPECT_EQ(stat.error().code(), Code::kCorruption);
  }
}

TEST_F(FsBlobStoreTest, TruncatedCompressedBlobFailsOnRead) {
  const Bytes data = MakeContent(1 << 20, Content::kText);
  const BlobInfo info = MustPut(data);
  ASSERT_TRUE(info.compressed);
  Truncate(store_->BlobPath(info.digest), info.stored_size / 2);
  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value()) << reader.status().ToString();
  Result<Bytes> got = ReadRest(***reader);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kCorruption) << got.error().ToString();
}

TEST_F(FsBlobStoreTest, CompressedBlobWithWrongSizeInHeaderFailsOnRead) {
  const Bytes data = MakeContent(300000, Content::kText);
  const BlobInfo info = MustPut(data);
  ASSERT_TRUE(info.compressed);
  // Read once: a failed read moves the file to quarantine/.
  const std::vector<uint8_t> original = ReadFile(store_->BlobPath(info.digest));
  for (uint64_t claimed : {data.size() - 1, data.size() + 1}) {
    SCOPED_TRACE(claimed);
    std::vector<uint8_t> file = original;
    const auto header = EncodeBlobHeader({BlobFormat::kZstd, claimed});
    std::copy(header.begin(), header.end(), file.begin());
    WriteFile(store_->BlobPath(info.digest), file);
    auto reader = store_->Open(info.digest);
    ASSERT_TRUE(reader.ok() && reader->has_value());
    Result<Bytes> got = ReadRest(***reader);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code(), Code::kCorruption) << got.error().ToString();
    // Errors are sticky.
    std::byte b[1];
    EXPECT_FALSE((**reader)->Read(b).ok());
  }
}

TEST_F(FsBlobStoreTest, CompressedBlobWithGarbageFrameFailsOnRead) {
  const BlobInfo info = MustPut(MakeContent(300000, Content::kText));
  ASSERT_TRUE(info.compressed);
  FlipByte(store_->BlobPath(info.digest), kBlobHeaderSize);  // the zstd frame magic
  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  Result<Bytes> got = ReadRest(***reader);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
}

TEST_F(FsBlobStoreTest, BytesAfterTheZstdFrameAreCorruption) {
  const BlobInfo info = MustPut(MakeContent(300000, Content::kText));
  ASSERT_TRUE(info.compressed);
  std::vector<uint8_t> file = ReadFile(store_->BlobPath(info.digest));
  file.push_back(0);
  WriteFile(store_->BlobPath(info.digest), file);
  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  EXPECT_EQ(ReadRest(***reader).status().code(), Code::kCorruption);
}

TEST_F(FsBlobStoreTest, RawFileShrinkingWhileOpenIsCorruption) {
  const BlobInfo info = MustPut(MakeContent(100000, Content::kRandom));
  auto reader = store_->Open(info.digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  Truncate(store_->BlobPath(info.digest), 1000);
  EXPECT_EQ(ReadRest(***reader).status().code(), Code::kCorruption);
}

TEST_F(FsBlobStoreTest, DuplicateCommitKeepsTheExistingFile) {
  for (size_t size : {size_t{100}, size_t{1 << 20}}) {
    const Bytes data = MakeContent(size, Content::kRandom);
    const BlobInfo first = MustPut(data);
    const ino_t inode = InodeOf(store_->BlobPath(first.digest));
    const BlobInfo second = MustPut(data);
    EXPECT_EQ(second.digest, first.digest);
    EXPECT_EQ(second.stored_size, first.stored_size);
    EXPECT_EQ(InodeOf(store_->BlobPath(first.digest)), inode);
  }
  EXPECT_TRUE(FilesUnder("tmp").empty());
}

TEST_F(FsBlobStoreTest, CommitReplacesADamagedFile) {
  for (size_t size : {size_t{100}, size_t{1 << 20}}) {
    const Bytes data = MakeContent(size, Content::kRandom);
    const BlobInfo info = MustPut(data);
    Truncate(store_->BlobPath(info.digest), 7);
    MustPut(data);
    Result<std::optional<Bytes>> got = ReadBlob(*store_, info.digest);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
    EXPECT_TRUE(**got == data);
  }
}

TEST_F(FsBlobStoreTest, ReadersAndWritersOutliveTheStore) {
  const Bytes data = MakeContent(300000, Content::kText);
  const Digest digest = MustPut(data).digest;
  auto reader = store_->Open(digest);
  auto writer = store_->NewWriter();
  ASSERT_TRUE(reader.ok() && reader->has_value() && writer.ok());
  store_.reset();

  Result<Bytes> got = ReadRest(***reader);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  const Bytes more = MakeContent(200000, Content::kRandom);
  ASSERT_TRUE((*writer)->Write(more).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(ListAll(*store_), (std::set<Digest>{digest, HashBytes(more)}));
}

TEST_F(FsBlobStoreTest, MisuseAfterCommitIsAnError) {
  auto writer = store_->NewWriter();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write(MakeContent(10, Content::kText)).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  EXPECT_FALSE((*writer)->Write(MakeContent(10, Content::kText)).ok());
  EXPECT_FALSE((*writer)->Commit().ok());
}

}  // namespace
}  // namespace cellar::store
