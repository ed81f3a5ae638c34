// FsBlobStore::Verify() and VerifyOne(): the scrubber.
#include <set>

#include "store/blob_file_format.h"
#include "store/fs_blob_scrubber.h"
#include "store/fs_blob_store.h"
#include "store/fs_test_fixture.h"

namespace cellar::store {
namespace {

using FsBlobScrubTest = FsBlobStoreTest;

TEST_F(FsBlobScrubTest, IntactBlobsVerify) {
  MustPut({});
  MustPut(MakeContent(1 << 20, Content::kText));
  MustPut(MakeContent(1 << 20, Content::kRandom));
  Result<VerifyReport> report = store_->Verify(/*quarantine_bad=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->ok, 3u);
  EXPECT_EQ(report->bad, 0u);
  EXPECT_TRUE(report->bad_blobs.empty());
}

TEST_F(FsBlobScrubTest, FlippedByteIsDetectedAndQuarantined) {
  for (Content kind : {Content::kRandom, Content::kText}) {
    SCOPED_TRACE(kind == Content::kText ? "compressed" : "raw");
    const BlobInfo good = MustPut(MakeContent(300000, kind, 1));
    const BlobInfo bad = MustPut(MakeContent(300000, kind, 2));
    ASSERT_EQ(bad.compressed, kind == Content::kText);
    const std::string path = store_->BlobPath(bad.digest);
    // Deep in the payload, well past zstd's frame header.
    FlipByte(path, kBlobHeaderSize + bad.stored_size / 2);

    Result<VerifyReport> report = store_->Verify(/*quarantine_bad=*/true);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->ok, 1u);
    ASSERT_EQ(report->bad, 1u);
    ASSERT_EQ(report->bad_blobs.size(), 1u);
    EXPECT_EQ(report->bad_blobs[0].digest, bad.digest);
    EXPECT_TRUE(report->bad_blobs[0].quarantined);
    EXPECT_FALSE(report->bad_blobs[0].reason.empty());

    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(Path("quarantine/" + bad.digest.Hex())));
    Result<std::optional<BlobInfo>> stat = store_->Stat(bad.digest);
    ASSERT_TRUE(stat.ok());
    EXPECT_FALSE(stat->has_value());
    // The good copy can be stored again.
    MustPut(MakeContent(300000, kind, 2));
    ASSERT_TRUE(store_->Remove(good.digest).ok());
    ASSERT_TRUE(store_->Remove(bad.digest).ok());
  }
}

TEST_F(FsBlobScrubTest, WithoutQuarantineBadBlobsStayInPlace) {
  const BlobInfo bad = MustPut(MakeContent(5000, Content::kRandom));
  FlipByte(store_->BlobPath(bad.digest), kBlobHeaderSize + 10);
  Result<VerifyReport> report = store_->Verify(/*quarantine_bad=*/false);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->bad, 1u);
  EXPECT_FALSE(report->bad_blobs[0].quarantined);
  EXPECT_NE(report->bad_blobs[0].reason.find("hashes to"), std::string::npos)
      << report->bad_blobs[0].reason;
  EXPECT_TRUE(std::filesystem::exists(store_->BlobPath(bad.digest)));
}

TEST_F(FsBlobScrubTest, UnreadableBlobsAreBad) {
  const BlobInfo short_header = MustPut(MakeContent(5000, Content::kRandom, 1));
  const BlobInfo truncated = MustPut(MakeContent(5000, Content::kRandom, 2));
  const BlobInfo bad_frame = MustPut(MakeContent(300000, Content::kText, 3));
  ASSERT_TRUE(bad_frame.compressed);
  Truncate(store_->BlobPath(short_header.digest), 3);
  Truncate(store_->BlobPath(truncated.digest), 100);
  FlipByte(store_->BlobPath(bad_frame.digest), kBlobHeaderSize);

  Result<VerifyReport> report = store_->Verify(/*quarantine_bad=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->ok, 0u);
  EXPECT_EQ(report->bad, 3u);
  std::set<Digest> bad;
  for (const BadBlob& b : report->bad_blobs) {
    bad.insert(b.digest);
    EXPECT_TRUE(b.quarantined);
  }
  EXPECT_EQ(bad, (std::set<Digest>{short_header.digest, truncated.digest, bad_frame.digest}));
  EXPECT_TRUE(FilesUnder("blobs").empty());
  EXPECT_EQ(FilesUnder("quarantine").size(), 3u);
}

TEST_F(FsBlobScrubTest, BlobUnderTheWrongNameIsBad) {
  const BlobInfo a = MustPut(MakeContent(5000, Content::kText, 1));
  const BlobInfo b = MustPut(MakeContent(5000, Content::kText, 2));
  WriteFile(store_->BlobPath(b.digest), ReadFile(store_->BlobPath(a.digest)));
  Result<VerifyReport> report = store_->VerifyOne(b.digest, /*quarantine_bad=*/true);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->bad, 1u);
  EXPECT_NE(report->bad_blobs[0].reason.find(a.digest.Hex()), std::string::npos);
}

TEST_F(FsBlobScrubTest, VerifyOneReportsOneBlob) {
  const BlobInfo good = MustPut(MakeContent(300000, Content::kText, 1));
  const BlobInfo bad = MustPut(MakeContent(300000, Content::kRandom, 2));
  FlipByte(store_->BlobPath(bad.digest), 20000);

  Result<VerifyReport> ok = store_->VerifyOne(good.digest, true);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->ok, 1u);
  EXPECT_EQ(ok->bad, 0u);

  Result<VerifyReport> absent = store_->VerifyOne(HashBytes(MakeContent(9, Content::kText)), true);
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(absent->ok + absent->bad, 0u);

  Result<VerifyReport> failed = store_->VerifyOne(bad.digest, true);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->ok, 0u);
  ASSERT_EQ(failed->bad, 1u);
  EXPECT_TRUE(failed->bad_blobs[0].quarantined);
  Result<std::optional<BlobInfo>> stat = store_->Stat(bad.digest);
  ASSERT_TRUE(stat.ok());
  EXPECT_FALSE(stat->has_value());
}

TEST_F(FsBlobScrubTest, VerifyOfEmptyStore) {
  Result<VerifyReport> report = store_->Verify(true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->ok + report->bad, 0u);
}

// The paced scrub, with a fake time and a wait that advances it.
class FsBlobScrubberTest : public FsBlobScrubTest {
 protected:
  FsBlobScrubber::Options PacedOptions(uint64_t rate) {
    FsBlobScrubber::Options options;
    options.bytes_per_second = rate;
    options.now = [this] { return now_; };
    options.wait = [this](std::chrono::nanoseconds d) {
      now_ += std::chrono::duration_cast<FsBlobScrubber::Clock::duration>(d);
      waited_ += d;
      return !stop_waits_;
    };
    return options;
  }

  FsBlobScrubber::Clock::time_point now_{std::chrono::hours(1)};
  std::chrono::nanoseconds waited_{0};
  bool stop_waits_ = false;
};

TEST_F(FsBlobScrubberTest, PassAtARateQuarantinesAFlippedRawBlob) {
  const BlobInfo a = MustPut(MakeContent(300000, Content::kRandom, 1));
  const BlobInfo bad = MustPut(MakeContent(300000, Content::kRandom, 2));
  const BlobInfo c = MustPut(MakeContent(300000, Content::kText, 3));
  ASSERT_FALSE(bad.compressed);
  FlipByte(store_->BlobPath(bad.digest), kBlobHeaderSize + 1000);

  FsBlobScrubber scrubber(*store_, PacedOptions(/*rate=*/100000));
  std::vector<Digest> reported;
  Result<VerifyReport> report =
      scrubber.RunPass([&](const BadBlob& b) { reported.push_back(b.digest); });
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->ok, 2u);
  EXPECT_EQ(report->bad, 1u);
  EXPECT_EQ(reported, std::vector<Digest>{bad.digest});
  EXPECT_FALSE(std::filesystem::exists(store_->BlobPath(bad.digest)));
  EXPECT_TRUE(std::filesystem::exists(Path("quarantine/" + bad.digest.Hex())));
  EXPECT_TRUE(std::filesystem::exists(store_->BlobPath(a.digest)));
  EXPECT_TRUE(std::filesystem::exists(store_->BlobPath(c.digest)));

  const FsBlobScrubber::Counters counters = scrubber.counters();
  EXPECT_EQ(counters.blobs_ok, 2u);
  EXPECT_EQ(counters.blobs_bad, 1u);
  EXPECT_EQ(counters.bytes, 900000u);
  EXPECT_EQ(counters.passes, 1u);
  EXPECT_EQ(store_->quarantined_total(), 1u);
  // 900000 content bytes plus 3 x 4 KiB per blob at 100000 bytes/s.
  const double seconds = std::chrono::duration<double>(waited_).count();
  EXPECT_NEAR(seconds, (900000.0 + 3 * 4096) / 100000, 0.05);
}

TEST_F(FsBlobScrubberTest, IdleTimeEarnsNoBurst) {
  MustPut(MakeContent(200000, Content::kRandom, 1));
  FsBlobScrubber scrubber(*store_, PacedOptions(/*rate=*/1000000));
  ASSERT_TRUE(scrubber.RunPass().ok());
  const auto first = waited_;
  now_ += std::chrono::hours(5);  // a long pause between passes
  ASSERT_TRUE(scrubber.RunPass().ok());
  EXPECT_NEAR(std::chrono::duration<double>(waited_ - first).count(),
              std::chrono::duration<double>(first).count(), 0.01);
  EXPECT_EQ(scrubber.counters().passes, 2u);
}

TEST_F(FsBlobScrubberTest, StoppingAbandonsThePassWithoutJudging) {
  const BlobInfo bad = MustPut(MakeContent(3 << 20, Content::kRandom, 1));
  FlipByte(store_->BlobPath(bad.digest), kBlobHeaderSize + (2 << 20));
  stop_waits_ = true;
  FsBlobScrubber scrubber(*store_, PacedOptions(/*rate=*/1000));
  Result<VerifyReport> report = scrubber.RunPass();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code(), Code::kAborted);
  EXPECT_TRUE(std::filesystem::exists(store_->BlobPath(bad.digest)));  // not judged
  EXPECT_EQ(scrubber.counters().passes, 0u);
}

TEST_F(FsBlobScrubberTest, StopInterruptsARealWait) {
  MustPut(MakeContent(300000, Content::kRandom, 1));
  FsBlobScrubber::Options options;
  options.bytes_per_second = 1;  // the first chunk would owe days
  FsBlobScrubber scrubber(*store_, options);
  scrubber.Stop();
  Result<VerifyReport> report = scrubber.RunPass();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code(), Code::kAborted);
  EXPECT_FALSE(scrubber.Wait(std::chrono::hours(1)));
}

}  // namespace
}  // namespace cellar::store
