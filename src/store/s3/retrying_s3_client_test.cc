#include "store/s3/retrying_s3_client.h"

#include <gtest/gtest.h>

#include <cstring>

#include "store/s3/fake_s3_client.h"

namespace cellar::s3 {
namespace {

class RecordingSleeper final : public Sleeper {
 public:
  void Sleep(std::chrono::milliseconds d) override { sleeps.push_back(d.count()); }
  std::vector<int64_t> sleeps;
};

// A body that cannot be replayed (a live stream).
class OneShotBody final : public BodySource {
 public:
  uint64_t size() const override { return 3; }
  Result<size_t> Read(std::span<std::byte> out) override {
    if (done_) return size_t{0};
    done_ = true;
    std::memcpy(out.data(), "abc", 3);
    return size_t{3};
  }
  Status Rewind() override { return Status::Unavailable("not rewindable"); }

 private:
  bool done_ = false;
};

class RetryingS3ClientTest : public ::testing::Test {
 protected:
  env::FakeClock clock_;
  FakeS3Client fake_{clock_};
  RecordingSleeper sleeper_;
  double random_ = 0.5;
  RetryPolicy policy_{5, std::chrono::milliseconds(100), std::chrono::milliseconds(1000)};
  RetryingS3Client client_{fake_, policy_, sleeper_, [this] { return random_; }};
};

TEST_F(RetryingS3ClientTest, SlowDownAndServerErrorsAreRetriedWithGrowingJitteredDelays) {
  fake_.FailNext(S3Op::kPut, Status::Unavailable("PutObject k: HTTP 503 SlowDown"), 2);
  fake_.FailNext(S3Op::kPut, Status::Unavailable("PutObject k: HTTP 500 InternalError"), 2);
  StringBody body("hello");
  ASSERT_TRUE(client_.PutObject("k", body, {}).ok());
  EXPECT_EQ(fake_.CountCalls(S3Op::kPut), 5u);
  // Half of 100, 200, 400, 800 ms (random() = 0.5).
  EXPECT_EQ(sleeper_.sleeps, (std::vector<int64_t>{50, 100, 200, 400}));
  EXPECT_EQ(fake_.ObjectForTest("k"), "hello");  // the body was rewound for each attempt
}

TEST_F(RetryingS3ClientTest, DelaysAreCappedAndJitterSpansZeroToTheCap) {
  EXPECT_EQ(client_.DelayCap(1).count(), 100);
  EXPECT_EQ(client_.DelayCap(4).count(), 800);
  EXPECT_EQ(client_.DelayCap(5).count(), 1000);
  EXPECT_EQ(client_.DelayCap(60).count(), 1000);
  random_ = 0.0;
  fake_.FailNext(S3Op::kHead, Status::Unavailable("connection refused"));
  ASSERT_TRUE(client_.HeadObject("k").ok());
  random_ = 0.999;
  fake_.FailNext(S3Op::kHead, Status::DeadlineExceeded("stalled"));
  ASSERT_TRUE(client_.HeadObject("k").ok());
  EXPECT_EQ(sleeper_.sleeps, (std::vector<int64_t>{0, 99}));
}

TEST_F(RetryingS3ClientTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  fake_.FailNext(S3Op::kGet, Status::Unavailable("HTTP 503 SlowDown"), 10);
  auto got = client_.GetObject("k", std::nullopt);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kUnavailable);
  EXPECT_EQ(fake_.CountCalls(S3Op::kGet), 5u);
  EXPECT_EQ(sleeper_.sleeps.size(), 4u);
}

TEST_F(RetryingS3ClientTest, ClientErrorsAreNotRetried) {
  fake_.FailNext(S3Op::kList, Status::PermissionDenied("HTTP 403 SignatureDoesNotMatch"));
  auto page = client_.ListObjectsV2("p", std::nullopt, 10);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(fake_.CountCalls(S3Op::kList), 1u);
  EXPECT_TRUE(sleeper_.sleeps.empty());
  StringBody body("x");
  ASSERT_TRUE(fake_.PutObject("k", body, {}).ok());
  ASSERT_TRUE(body.Rewind().ok());
  EXPECT_EQ(client_.PutObject("k", body, PutOptions{true}).code(), Code::kAlreadyExists);
}

TEST_F(RetryingS3ClientTest, UploadThatCannotRewindIsNotRetried) {
  fake_.FailNext(S3Op::kUploadPart, Status::Unavailable("connection reset"));
  OneShotBody body;
  auto etag = client_.UploadPart("k", "id", 1, body);
  ASSERT_FALSE(etag.ok());
  EXPECT_EQ(fake_.CountCalls(S3Op::kUploadPart), 1u);
}

TEST_F(RetryingS3ClientTest, EveryOperationRetries) {
  for (S3Op op : {S3Op::kDelete, S3Op::kCreateMultipart, S3Op::kListUploads}) {
    fake_.FailNext(op, Status::Unavailable("HTTP 502"));
  }
  EXPECT_TRUE(client_.DeleteObject("k").ok());
  Result<std::string> id = client_.CreateMultipartUpload("k");
  ASSERT_TRUE(id.ok());
  StringBody part("p");
  fake_.FailNext(S3Op::kUploadPart, Status::Unavailable("HTTP 500"));
  Result<std::string> etag = client_.UploadPart("k", *id, 1, part);
  ASSERT_TRUE(etag.ok());
  fake_.FailNext(S3Op::kCompleteMultipart, Status::Unavailable("HTTP 500"));
  EXPECT_TRUE(client_.CompleteMultipartUpload("k", *id, {{1, *etag}}).ok());
  EXPECT_EQ(fake_.ObjectForTest("k"), "p");
  EXPECT_TRUE(client_.ListMultipartUploads("", std::nullopt, std::nullopt).ok());
  fake_.FailNext(S3Op::kAbortMultipart, Status::Unavailable("HTTP 500"));
  EXPECT_TRUE(client_.AbortMultipartUpload("k", "gone").ok());
  EXPECT_EQ(sleeper_.sleeps.size(), 6u);
}

}  // namespace
}  // namespace cellar::s3
