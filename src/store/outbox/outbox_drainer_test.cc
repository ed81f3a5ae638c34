// OutboxDrainer with scripted handlers: order, retries with backoff (on the
// fake clock), the gate that keeps a down remote from being hammered, lost
// records, metrics; and its threads against the real clock.
#include "store/outbox/outbox_drainer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>

#include "store/blob_test_util.h"

namespace cellar::outbox {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Record Blob(char c) {
  Digest d;
  d.bytes.fill(static_cast<uint8_t>(c));
  return Record{.kind = "blob", .subject = BlobSubject(d), .after = {}, .payload = std::string(1, c)};
}

Record Publish(const std::string& key, char c) {
  return Record{.kind = "publish", .subject = "entry:" + key, .after = {Blob(c).subject, "entry:" + key},
                .payload = key};
}

// Handlers that log what they saw and answer from a script (default: done).
struct Script {
  Outcome Handle(const Record& r) {
    std::lock_guard lock(mu);
    seen.push_back(r.kind + ":" + r.payload);
    if (answers.empty()) return Outcome::Done();
    Outcome o = answers.front();
    answers.pop_front();
    return o;
  }
  std::mutex mu;
  std::vector<std::string> seen;
  std::deque<Outcome> answers;
};

Outcome Down() { return Outcome::Retry(Status::Unavailable("bucket down")); }

class OutboxDrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Outbox::Open({.dir = dir_.path() + "/outbox"}, clock_);
    ASSERT_TRUE(opened.ok());
    outbox_ = std::move(*opened);
    OutboxDrainer::Options options;
    options.registry = &registry_;
    options.random = [] { return 1.0; };  // the full nominal delay: predictable
    drainer_ = std::make_unique<OutboxDrainer>(*outbox_, clock_, options);
    for (const char* kind : {"blob", "publish"}) {
      drainer_->SetHandler(kind, [this](const Record& r) { return script_.Handle(r); });
    }
  }
  uint64_t Count(const std::string& kind, const std::string& result) {
    const std::string series = "cellar_outbox_records_total{kind=\"" + kind + "\",result=\"" + result + "\"} ";
    const std::string text = registry_.RenderText();
    size_t at = text.find(series);
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + series.size()));
  }

  store::ScopedTempDir dir_;
  env::FakeClock clock_;
  metrics::Registry registry_;
  std::unique_ptr<Outbox> outbox_;
  Script script_;
  std::unique_ptr<OutboxDrainer> drainer_;
};

TEST_F(OutboxDrainerTest, DrainsEveryRecordInOrderAndEmptiesTheOutbox) {
  ASSERT_TRUE(outbox_->Append(Blob('a')).ok());
  ASSERT_TRUE(outbox_->Append(Publish("k", 'a')).ok());
  ASSERT_TRUE(outbox_->Append(Blob('b')).ok());
  EXPECT_EQ(drainer_->RunReady(), 3);
  EXPECT_EQ(script_.seen, (std::vector<std::string>{"blob:a", "publish:k", "blob:b"}));
  EXPECT_EQ(outbox_->size(), 0u);
  EXPECT_EQ(Count("blob", "drained"), 2u);
  EXPECT_EQ(Count("publish", "drained"), 1u);
}

TEST_F(OutboxDrainerTest, FailedRecordIsRetriedWithGrowingBackoffUntilItSucceeds) {
  ASSERT_TRUE(outbox_->Append(Blob('a')).ok());
  script_.answers = {Down(), Down(), Down()};
  EXPECT_EQ(drainer_->RunReady(), 1);
  for (milliseconds delay : {milliseconds(1000), milliseconds(2000), milliseconds(4000)}) {
    clock_.Advance(delay - milliseconds(1));
    EXPECT_EQ(drainer_->RunReady(), 0) << "retried before its " << delay.count() << " ms backoff";
    clock_.Advance(milliseconds(1));
    EXPECT_EQ(drainer_->RunReady(), 1);
  }
  EXPECT_EQ(outbox_->size(), 0u);
  EXPECT_EQ(Count("blob", "failed"), 3u);
  EXPECT_EQ(Count("blob", "drained"), 1u);
}

TEST_F(OutboxDrainerTest, BackoffStopsGrowingAtItsCeilingAndNothingIsDropped) {
  ASSERT_TRUE(outbox_->Append(Blob('a')).ok());
  script_.answers.assign(20, Down());
  EXPECT_EQ(drainer_->RunReady(), 1);
  for (int i = 1; i < 20; ++i) {
    clock_.Advance(seconds(60));
    EXPECT_EQ(drainer_->RunReady(), 1) << "attempt " << i;
  }
  EXPECT_EQ(outbox_->size(), 1u);
  clock_.Advance(seconds(60));
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_EQ(outbox_->size(), 0u);
}

TEST_F(OutboxDrainerTest, JitterKeepsRetriesBetweenHalfAndAllOfTheDelay) {
  OutboxDrainer::Options options;
  options.random = [] { return 0.0; };
  OutboxDrainer early(*outbox_, clock_, options);
  early.SetHandler("blob", [this](const Record& r) { return script_.Handle(r); });
  ASSERT_TRUE(outbox_->Append(Blob('a')).ok());
  script_.answers = {Down()};
  EXPECT_EQ(early.RunReady(), 1);
  clock_.Advance(milliseconds(499));
  EXPECT_EQ(early.RunReady(), 0);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(early.RunReady(), 1);
}

TEST_F(OutboxDrainerTest, AFailureHoldsBackEveryRecordSoADownBucketIsProbedNotHammered) {
  for (char c : {'a', 'b', 'c', 'd', 'e'}) ASSERT_TRUE(outbox_->Append(Blob(c)).ok());
  script_.answers = {Down(), Down()};
  EXPECT_EQ(drainer_->RunReady(), 1) << "one failure closes the gate for all";
  clock_.Advance(seconds(1));
  EXPECT_EQ(drainer_->RunReady(), 1) << "the next probe fails too";
  clock_.Advance(seconds(2));
  // The bucket is back: everything drains, the failed record included.
  EXPECT_EQ(drainer_->RunReady(), 5);
  EXPECT_EQ(outbox_->size(), 0u);
}

TEST_F(OutboxDrainerTest, LostRecordTakesItsDependentsWithItAndIsCounted) {
  ASSERT_TRUE(outbox_->Append(Blob('a')).ok());
  ASSERT_TRUE(outbox_->Append(Publish("k", 'a')).ok());
  ASSERT_TRUE(outbox_->Append(Publish("other", 'b')).ok());
  script_.answers = {Outcome::Lost(Status::NotFound("the local copy is gone"))};
  EXPECT_EQ(drainer_->RunReady(), 2);
  EXPECT_EQ(script_.seen, (std::vector<std::string>{"blob:a", "publish:other"}));
  EXPECT_EQ(outbox_->size(), 0u);
  EXPECT_EQ(Count("blob", "lost"), 1u);
  EXPECT_EQ(Count("publish", "lost"), 1u);
  EXPECT_EQ(Count("publish", "drained"), 1u);
}

TEST_F(OutboxDrainerTest, RecordOfAnUnknownKindIsKeptAndRetried) {
  ASSERT_TRUE(outbox_->Append(Record{.kind = "from-a-newer-version", .subject = "x", .after = {}, .payload = ""}).ok());
  EXPECT_EQ(drainer_->RunReady(), 1);
  clock_.Advance(seconds(1));
  EXPECT_EQ(drainer_->RunReady(), 1);
  EXPECT_EQ(outbox_->size(), 1u);
  EXPECT_EQ(Count("from-a-newer-version", "failed"), 2u);
}

TEST_F(OutboxDrainerTest, GaugesShowTheBacklogAndTheAgeOfItsOldestRecord) {
  ASSERT_TRUE(outbox_->Append(Blob('a')).ok());
  clock_.Advance(seconds(30));
  ASSERT_TRUE(outbox_->Append(Blob('b')).ok());
  clock_.Advance(seconds(12));
  std::string text = registry_.RenderText();
  EXPECT_NE(text.find("cellar_outbox_pending_records 2"), std::string::npos) << text;
  EXPECT_NE(text.find("cellar_outbox_oldest_pending_seconds 42"), std::string::npos) << text;
  drainer_->RunReady();
  text = registry_.RenderText();
  EXPECT_NE(text.find("cellar_outbox_pending_records 0"), std::string::npos) << text;
  EXPECT_NE(text.find("cellar_outbox_oldest_pending_seconds 0"), std::string::npos) << text;
  drainer_.reset();
  (void)registry_.RenderText();  // the hook outlives the drainer safely
}

// The threads, on the real clock: records appended while they run are
// drained, and Stop() returns with the rest left on disk.
TEST(OutboxDrainerThreadsTest, ThreadsDrainWhatIsAppendedAndStopLeavesTheRest) {
  store::ScopedTempDir dir;
  env::SystemClock clock;
  auto outbox = *Outbox::Open({.dir = dir.path() + "/outbox"}, clock);
  OutboxDrainer drainer(*outbox, clock, {});
  std::atomic<int> done{0};
  std::atomic<bool> block{false};
  drainer.SetHandler("blob", [&](const Record&) {
    if (block) return Outcome::Retry(Status::Unavailable("down"));
    ++done;
    return Outcome::Done();
  });
  drainer.Start();
  for (char c = 'a'; c < 'a' + 20; ++c) ASSERT_TRUE(outbox->Append(Blob(c)).ok());
  for (int i = 0; i < 2000 && outbox->size() > 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(outbox->size(), 0u);
  EXPECT_EQ(done.load(), 20);

  block = true;
  ASSERT_TRUE(outbox->Append(Blob('z')).ok());
  const auto before = std::chrono::steady_clock::now();
  drainer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(2)) << "Stop() must not wait out a backoff";
  EXPECT_EQ(outbox->size(), 1u);
  auto reopened = *Outbox::Open({.dir = dir.path() + "/outbox"}, clock);
  EXPECT_EQ(reopened->size(), 1u);
}

}  // namespace
}  // namespace cellar::outbox
