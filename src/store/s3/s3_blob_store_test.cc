// S3BlobStore over the in-memory FakeS3Client: the BlobStore conformance
// suite (single PUTs, and multipart for everything above 64 KiB), then what
// is particular to S3: key layout, HEAD-before-PUT dedupe, parallel
// multipart and its abort, damaged objects, paged listing, stale uploads.
// The same suite runs against a real RGW in s3_rgw_test.cc.
#include "store/s3/s3_blob_store.h"

#include <gtest/gtest.h>

#include "store/s3/fake_s3_client.h"
#include "testing/blob_store_conformance.h"

namespace cellar::s3 {
namespace {

using store::Bytes;
using store::Content;

struct FakeBackend {
  env::FakeClock clock;
  FakeS3Client s3{clock};
};

std::unique_ptr<testing::BlobStoreHarness> MakeFakeHarness(S3BlobStoreOptions options) {
  auto backend = std::make_unique<FakeBackend>();
  auto store = std::make_unique<S3BlobStore>(backend->s3, backend->clock, std::move(options));
  return std::make_unique<testing::SimpleHarness<FakeBackend>>(std::move(store), std::move(backend));
}

S3BlobStoreOptions SmallParts() {
  S3BlobStoreOptions options;
  options.prefix = "conformance";
  options.multipart_threshold = 64 * 1024;
  options.part_size = 5 << 20;
  return options;
}

using testing::BlobStoreConformanceTest;
INSTANTIATE_TEST_SUITE_P(
    S3, BlobStoreConformanceTest,
    ::testing::Values(testing::BlobStoreFactory{"FakeS3", [] { return MakeFakeHarness({}); }},
                      testing::BlobStoreFactory{"FakeS3Multipart",
                                                [] { return MakeFakeHarness(SmallParts()); }}),
    testing::BlobStoreFactoryName);

S3BlobStoreOptions Prefixed(std::string prefix) {
  S3BlobStoreOptions options;
  options.prefix = std::move(prefix);
  return options;
}

std::string AsString(const Bytes& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

class S3BlobStoreTest : public ::testing::Test {
 protected:
  S3BlobStore& Store(S3BlobStoreOptions options) {
    store_ = std::make_unique<S3BlobStore>(s3_, clock_, std::move(options));
    return *store_;
  }

  env::FakeClock clock_;
  FakeS3Client s3_{clock_};
  std::unique_ptr<S3BlobStore> store_;
};

TEST_F(S3BlobStoreTest, ObjectIsNamedByDigestUnderThePrefixAndHoldsTheRawBytes) {
  S3BlobStoreOptions options;
  options.prefix = "/team/cache/";
  S3BlobStore& store = Store(options);
  const Bytes data = store::MakeContent(1000, Content::kText);
  ASSERT_TRUE(store::WriteBlob(store, data).ok());
  const std::string key = "team/cache/blobs/" + store::HashBytes(data).Hex();
  EXPECT_EQ(store.KeyFor(store::HashBytes(data)), key);
  EXPECT_EQ(s3_.KeysForTest(), std::vector<std::string>{key});
  EXPECT_EQ(s3_.ObjectForTest(key), AsString(data));
  EXPECT_EQ(Store({}).KeyFor(store::HashBytes(data)), "blobs/" + store::HashBytes(data).Hex());
}

TEST_F(S3BlobStoreTest, CommitOfAPresentLargeBlobCostsOneHead) {
  S3BlobStoreOptions options;
  options.head_before_put_bytes = 4096;
  S3BlobStore& store = Store(options);
  const Bytes data = store::MakeContent(5000, Content::kRandom);
  ASSERT_TRUE(store::WriteBlob(store, data).ok());
  s3_.ClearCalls();
  ASSERT_TRUE(store::WriteBlob(store, data).ok());
  EXPECT_EQ(s3_.Calls(), std::vector<std::string>{"HEAD " + store.KeyFor(store::HashBytes(data))});
}

TEST_F(S3BlobStoreTest, SmallBlobIsPutWithoutAHead) {
  S3BlobStoreOptions options;
  options.head_before_put_bytes = 4096;
  S3BlobStore& store = Store(options);
  const Bytes data = store::MakeContent(4095, Content::kRandom);
  const std::string key = store.KeyFor(store::HashBytes(data));
  ASSERT_TRUE(store::WriteBlob(store, data).ok());
  EXPECT_EQ(s3_.Calls(), std::vector<std::string>{"PUT " + key});
  s3_.ClearCalls();
  // Present already: the same bytes go up again under the same key.
  ASSERT_TRUE(store::WriteBlob(store, data).ok());
  EXPECT_EQ(s3_.Calls(), std::vector<std::string>{"PUT " + key});
  EXPECT_EQ(s3_.ObjectForTest(key), AsString(data));
}

TEST_F(S3BlobStoreTest, DigestMismatchSendsNothing) {
  S3BlobStore& store = Store({});
  const Bytes data = store::MakeContent(5000, Content::kRandom);
  auto info = store::WriteBlob(store, data, store::HashBytes(store::MakeContent(1, Content::kText)));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), Code::kCorruption);
  EXPECT_TRUE(s3_.Calls().empty());
}

TEST_F(S3BlobStoreTest, LargeBlobGoesUpInParallelParts) {
  S3BlobStoreOptions options;
  options.multipart_threshold = 1 << 20;
  options.part_size = 5 << 20;
  options.parallel_parts = 3;
  S3BlobStore& store = Store(options);
  const Bytes data = store::MakeContent((12 << 20) + 17, Content::kRandom);
  auto info = store::WriteBlob(store, data);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(s3_.CountCalls(S3Op::kPut), 0u);
  EXPECT_EQ(s3_.CountCalls(S3Op::kCreateMultipart), 1u);
  EXPECT_EQ(s3_.CountCalls(S3Op::kUploadPart), 3u);
  EXPECT_EQ(s3_.CountCalls(S3Op::kCompleteMultipart), 1u);
  EXPECT_EQ(s3_.ObjectForTest(store.KeyFor(info->digest)), AsString(data));
  EXPECT_TRUE(s3_.UploadsForTest().empty());
}

TEST_F(S3BlobStoreTest, BelowTheThresholdOnePut) {
  S3BlobStore& store = Store({});  // 8 MiB threshold
  ASSERT_TRUE(store::WriteBlob(store, store::MakeContent((8 << 20) - 1, Content::kText)).ok());
  EXPECT_EQ(s3_.CountCalls(S3Op::kPut), 1u);
  EXPECT_EQ(s3_.CountCalls(S3Op::kCreateMultipart), 0u);
  ASSERT_TRUE(store::WriteBlob(store, store::MakeContent(8 << 20, Content::kText)).ok());
  EXPECT_EQ(s3_.CountCalls(S3Op::kCreateMultipart), 1u);
  EXPECT_EQ(s3_.CountCalls(S3Op::kUploadPart), 1u);
}

TEST_F(S3BlobStoreTest, FailedPartAbortsTheUploadAndStoresNothing) {
  S3BlobStoreOptions options;
  options.multipart_threshold = 1 << 20;
  options.part_size = 5 << 20;
  S3BlobStore& store = Store(options);
  s3_.FailNext(S3Op::kUploadPart, Status::PermissionDenied("UploadPart: HTTP 403 AccessDenied"));
  const Bytes data = store::MakeContent(11 << 20, Content::kRandom);
  auto info = store::WriteBlob(store, data);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(s3_.CountCalls(S3Op::kAbortMultipart), 1u);
  EXPECT_EQ(s3_.CountCalls(S3Op::kCompleteMultipart), 0u);
  EXPECT_TRUE(s3_.UploadsForTest().empty());
  EXPECT_TRUE(s3_.KeysForTest().empty());

  s3_.FailNext(S3Op::kCompleteMultipart, Status::Unavailable("HTTP 500"));
  ASSERT_FALSE(store::WriteBlob(store, data).ok());
  EXPECT_EQ(s3_.CountCalls(S3Op::kAbortMultipart), 2u);
  EXPECT_TRUE(s3_.UploadsForTest().empty());
  EXPECT_TRUE(s3_.KeysForTest().empty());
  ASSERT_TRUE(store::WriteBlob(store, data).ok());  // and a retry then works
}

TEST_F(S3BlobStoreTest, ObjectOfTheWrongSizeIsUploadedAgain) {
  S3BlobStoreOptions options;
  options.head_before_put_bytes = 1;  // asks first, and finds the wrong size
  S3BlobStore& store = Store(options);
  const Bytes data = store::MakeContent(3000, Content::kText);
  s3_.SetObjectForTest(store.KeyFor(store::HashBytes(data)), "truncated");
  ASSERT_TRUE(store::WriteBlob(store, data).ok());
  EXPECT_EQ(s3_.ObjectForTest(store.KeyFor(store::HashBytes(data))), AsString(data));
}

TEST_F(S3BlobStoreTest, DamagedObjectFailsTheLastReadAndReportCorruptDeletesIt) {
  S3BlobStore& store = Store({});
  const Bytes data = store::MakeContent(100000, Content::kRandom);
  const Digest digest = store::HashBytes(data);
  ASSERT_TRUE(store::WriteBlob(store, data).ok());
  std::string damaged = AsString(data);
  damaged[500] ^= 1;
  s3_.SetObjectForTest(store.KeyFor(digest), damaged);

  auto reader = store.Open(digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  Result<Bytes> all = store::ReadRest(***reader);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code(), Code::kCorruption);

  ASSERT_TRUE(store.ReportCorrupt(digest).ok());
  EXPECT_FALSE(s3_.ObjectForTest(store.KeyFor(digest)).has_value());
}

TEST_F(S3BlobStoreTest, ErrorsAreReturnedNotMisses) {
  S3BlobStore& store = Store({});
  const Digest digest = store::HashBytes(store::MakeContent(10, Content::kText));
  s3_.FailNext(S3Op::kHead, Status::Unavailable("connection refused"));
  EXPECT_EQ(store.Stat(digest).status().code(), Code::kUnavailable);
  s3_.FailNext(S3Op::kGet, Status::PermissionDenied("HTTP 403"));
  EXPECT_EQ(store.Open(digest).status().code(), Code::kPermissionDenied);
  s3_.FailNext(S3Op::kList, Status::Unavailable("HTTP 503 SlowDown"));
  EXPECT_EQ(store.ForEach([](const store::BlobInfo&) {}).code(), Code::kUnavailable);
}

TEST_F(S3BlobStoreTest, ForEachPagesAndSkipsForeignKeys) {
  S3BlobStore& store = Store(Prefixed("p"));
  std::set<Digest> want;
  for (int i = 0; i < 1001; ++i) {
    const Bytes data = store::MakeContent(8, Content::kRandom, i);
    want.insert(store::HashBytes(data));
    s3_.SetObjectForTest(store.KeyFor(store::HashBytes(data)), AsString(data));
  }
  s3_.SetObjectForTest("p/blobs/README", "not a blob");
  s3_.SetObjectForTest("q/blobs/" + std::string(64, 'a'), "another prefix");
  std::set<Digest> seen;
  ASSERT_TRUE(store.ForEach([&](const store::BlobInfo& info) {
                     EXPECT_EQ(info.size, 8u);
                     seen.insert(info.digest);
                   }).ok());
  EXPECT_EQ(seen, want);
  EXPECT_EQ(s3_.CountCalls(S3Op::kList), 2u);
}

TEST_F(S3BlobStoreTest, AbortStaleUploadsRemovesOnlyOldUploadsUnderThePrefix) {
  S3BlobStore& store = Store(Prefixed("p"));
  s3_.SetUploadsPageSizeForTest(2);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s3_.CreateMultipartUpload("p/blobs/old" + std::to_string(i)).ok());
  ASSERT_TRUE(s3_.CreateMultipartUpload("elsewhere/blobs/old").ok());
  clock_.Advance(std::chrono::hours(25));
  ASSERT_TRUE(s3_.CreateMultipartUpload("p/blobs/fresh").ok());
  clock_.Advance(std::chrono::hours(1));

  Result<int> aborted = store.AbortStaleUploads(std::chrono::hours(24));
  ASSERT_TRUE(aborted.ok()) << aborted.status().ToString();
  EXPECT_EQ(*aborted, 5);
  std::vector<std::string> left;
  for (const MultipartUpload& u : s3_.UploadsForTest()) left.push_back(u.key);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"elsewhere/blobs/old", "p/blobs/fresh"}));
  EXPECT_EQ(*store.AbortStaleUploads(std::chrono::hours(24)), 0);
}

TEST_F(S3BlobStoreTest, UncommittedWriterSendsNothing) {
  S3BlobStore& store = Store({});
  {
    auto writer = store.NewWriter();
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(store::MakeContent(100, Content::kText)).ok());
  }
  EXPECT_TRUE(s3_.Calls().empty());
}

}  // namespace
}  // namespace cellar::s3
