#include "protocols/common/pull_through.h"

#include <gtest/gtest.h>

#include "index/mem_index.h"
#include "index/mem_shared_entries.h"
#include "store/mem_blob_store.h"
#include "testing/pull_through_fixture.h"

namespace cellar::protocols {
namespace {

using namespace std::chrono_literals;
using env::FakeReply;

constexpr const char* kUrl = "http://up.test/doc";
constexpr int64_t kMaxAge = 60'000;

class PullThroughTest : public testing::PullThroughFixture {
 protected:
  // A spec whose fetch maps the upstream's answer the way every adapter
  // does: 404/410 are "not found"; the kit judges the rest.
  MutableDocumentSpec Spec() {
    MutableDocumentSpec spec;
    spec.ns = "test/doc";
    spec.key = "doc";
    spec.content_type = "text/plain";
    spec.max_age_ms = kMaxAge;
    spec.max_bytes = 1024;
    spec.fetch = [this](const index::Entry* cached) -> Result<std::unique_ptr<env::HttpResponse>> {
      env::HttpRequest req;
      req.url = kUrl;
      if (cached && cached->attributes != "{}") req.headers.emplace_back("If-None-Match", cached->attributes);
      CELLAR_ASSIGN_OR_RETURN(auto resp, upstream_.Send(req));
      int status = resp->head().status;
      if (status == 404 || status == 410) return Status::NotFound("upstream has no doc");
      return resp;
    };
    spec.attributes = [](const env::HttpResponseHead& head) { return head.Header("ETag").value_or("{}"); };
    return spec;
  }

  enum class Cached { kAbsent, kFresh, kStale };
  // Stores "old" (ETag "v1") and ages it as asked.
  void Prepare(Cached state) {
    if (state == Cached::kAbsent) return;
    upstream_.Set(kUrl, FakeReply::Ok("old", {{"ETag", "\"v1\""}}));
    ASSERT_TRUE(docs_.Get(Spec()).ok());
    if (state == Cached::kStale) clock_.Advance(std::chrono::milliseconds(kMaxAge));
  }

  MutableDocuments docs_{cache_};
};

struct Row {
  const char* name;
  FakeReply reply;
  // Expected outcome with no copy / a fresh copy / a stale copy: a body
  // served with its freshness, or an error code.
  struct Want {
    std::optional<Freshness> freshness;  // nullopt: an error
    std::string body;                    // or the error's code name
    Code code = Code::kOk;
  };
  Want absent, fresh, stale;
};

std::vector<Row> Matrix() {
  using F = Freshness;
  auto ok = [](F f, const char* body) { return Row::Want{f, body}; };
  auto err = [](Code c) { return Row::Want{std::nullopt, "", c}; };
  return {
      {"200 new", FakeReply::Ok("new", {{"ETag", "\"v2\""}}), ok(F::kFetched, "new"), ok(F::kFresh, "old"),
       ok(F::kFetched, "new")},
      {"200 same", FakeReply::Ok("old"), ok(F::kFetched, "old"), ok(F::kFresh, "old"), ok(F::kRevalidated, "old")},
      {"304", FakeReply::WithStatus(304), err(Code::kUnavailable), ok(F::kFresh, "old"),
       ok(F::kRevalidated, "old")},
      {"404", FakeReply::WithStatus(404), err(Code::kNotFound), ok(F::kFresh, "old"), err(Code::kNotFound)},
      {"410", FakeReply::WithStatus(410), err(Code::kNotFound), ok(F::kFresh, "old"), err(Code::kNotFound)},
      {"500", FakeReply::WithStatus(500), err(Code::kUnavailable), ok(F::kFresh, "old"), ok(F::kStale, "old")},
      {"503", FakeReply::WithStatus(503), err(Code::kUnavailable), ok(F::kFresh, "old"), ok(F::kStale, "old")},
      {"refused", FakeReply::Refuse(), err(Code::kUnavailable), ok(F::kFresh, "old"), ok(F::kStale, "old")},
      {"timeout", FakeReply::Timeout(), err(Code::kDeadlineExceeded), ok(F::kFresh, "old"), ok(F::kStale, "old")},
      {"body breaks", FakeReply::BreakAfter("newer", 2), err(Code::kUnavailable), ok(F::kFresh, "old"),
       ok(F::kStale, "old")},
      {"body stalls", FakeReply::StallAfter("newer", 0), err(Code::kDeadlineExceeded), ok(F::kFresh, "old"),
       ok(F::kStale, "old")},
      {"too large", FakeReply::Ok(std::string(2000, 'x')), err(Code::kResourceExhausted), ok(F::kFresh, "old"),
       ok(F::kStale, "old")},
  };
}

TEST_F(PullThroughTest, StatusMatrix) {
  for (const Row& row : Matrix()) {
    for (Cached state : {Cached::kAbsent, Cached::kFresh, Cached::kStale}) {
      SCOPED_TRACE(std::string(row.name) + " / cached " + std::to_string(static_cast<int>(state)));
      ASSERT_TRUE(cache_.Delete("test/doc", "doc").ok());
      Prepare(state);
      const Row::Want& want = state == Cached::kAbsent ? row.absent : state == Cached::kFresh ? row.fresh : row.stale;
      const size_t calls_before = upstream_.CallCount(kUrl);
      upstream_.Set(kUrl, row.reply);
      auto got = docs_.Get(Spec());
      if (!want.freshness) {
        ASSERT_FALSE(got.ok());
        EXPECT_EQ(got.error().code(), want.code) << got.error().message();
      } else {
        ASSERT_TRUE(got.ok()) << got.error().message();
        EXPECT_EQ(got->freshness, *want.freshness);
        EXPECT_EQ(Read(got->entry.ns, got->entry.key), want.body);
        EXPECT_EQ(got->upstream_error.ok(), *want.freshness != Freshness::kStale);
      }
      // A fresh copy never reaches the upstream; everything else asks once.
      EXPECT_EQ(upstream_.CallCount(kUrl) - calls_before, state == Cached::kFresh ? 0u : 1u);
      // A failure never loses what was stored.
      if (state != Cached::kAbsent && want.code != Code::kNotFound) {
        EXPECT_NE(Read("test/doc", "doc"), "<absent>");
      }
      clock_.Advance(std::chrono::milliseconds(kMaxAge));  // the next row starts from scratch
    }
  }
}

TEST_F(PullThroughTest, RevalidationIsConditionalAndRestartsTheMaxAge) {
  Prepare(Cached::kStale);
  upstream_.Set(kUrl, FakeReply::WithStatus(304));
  auto got = docs_.Get(Spec());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->freshness, Freshness::kRevalidated);
  EXPECT_EQ(upstream_.LastCall(kUrl)->Header("If-None-Match"), "\"v1\"");
  clock_.Advance(std::chrono::milliseconds(kMaxAge - 1));
  auto again = docs_.Get(Spec());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->freshness, Freshness::kFresh);
  EXPECT_EQ(upstream_.CallCount(kUrl), 2u);
}

TEST_F(PullThroughTest, StaleCopiesServeAtAnyAgeAndRefreshAfterOverridesTheMaxAge) {
  Prepare(Cached::kFresh);
  upstream_.SetDown(true);
  clock_.Advance(std::chrono::hours(24 * 365));
  auto got = docs_.Get(Spec());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->freshness, Freshness::kStale);
  EXPECT_EQ(got->upstream_error.code(), Code::kUnavailable);
  upstream_.SetDown(false);
  upstream_.Set(kUrl, FakeReply::Ok("new"));
  // Any age acceptable: no upstream request.
  auto any = docs_.Get(Spec(), std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->freshness, Freshness::kFresh);
  EXPECT_EQ(Read(any->entry.ns, any->entry.key), "old");
  EXPECT_FALSE(docs_.Fresh(Spec()));
  EXPECT_TRUE(docs_.Stored("test/doc", "doc"));
}

TEST_F(PullThroughTest, AfterStoreFailureDropsTheNewBody) {
  auto spec = Spec();
  spec.after_store = [](const index::Entry&) { return Status::Corruption("not parseable"); };
  upstream_.Set(kUrl, FakeReply::Ok("garbage"));
  auto got = docs_.Get(spec);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kCorruption);
  EXPECT_EQ(Read("test/doc", "doc"), "<absent>");
}

// The single-flight seam: every refresh goes through the injected flight.
TEST_F(PullThroughTest, RefreshesGoThroughTheInjectedFlight) {
  class CountingFlight : public RefreshFlight {
   public:
    Result<index::Entry> Do(const std::string& key, const std::function<Result<index::Entry>()>& refresh) override {
      keys.push_back(key);
      return refresh();
    }
    std::vector<std::string> keys;
  } flight;
  MutableDocuments docs(cache_, &flight);
  upstream_.Set(kUrl, FakeReply::Ok("x"));
  ASSERT_TRUE(docs.Get(Spec()).ok());
  ASSERT_TRUE(docs.Get(Spec()).ok());  // fresh: no refresh
  EXPECT_EQ(flight.keys, std::vector<std::string>{"test/doc\ndoc"});
}

// Two nodes that announce and check document versions (fleet mode).
struct VersionedNode {
  VersionedNode(env::FakeClock& clock, index::DocumentVersions& versions)
      : index([&clock] { return clock.NowUnixMs(); }), metrics(registry) {
    core::CacheOptions o;
    o.document_versions = &versions;
    cache = std::make_unique<core::CacheService>(blobs, index, clock, metrics, o);
    docs = std::make_unique<MutableDocuments>(*cache);
  }
  std::string Body(const Document& doc) {
    auto hit = cache->Get(doc.entry.ns, doc.entry.key);
    return hit.ok() && *hit ? core::ReadAll(***hit) : "";
  }
  store::MemBlobStore blobs;
  index::MemIndex index;
  metrics::Registry registry;
  core::CacheMetrics metrics;
  std::unique_ptr<core::CacheService> cache;
  std::unique_ptr<MutableDocuments> docs;
};

TEST_F(PullThroughTest, ACopyAnotherNodeFoundChangedIsNotServedAsFresh) {
  index::MemDocumentVersions versions;
  VersionedNode a(clock_, versions), b(clock_, versions);
  upstream_.Set(kUrl, FakeReply::Ok("v1 body", {{"ETag", "\"v1\""}}));
  ASSERT_TRUE(a.docs->Get(Spec()).ok());
  ASSERT_TRUE(b.docs->Get(Spec()).ok());
  // The document changes upstream; node A revalidates (its copy aged out
  // first, or a client asked it to) and finds the change.
  upstream_.Set(kUrl, FakeReply::Ok("v2 body", {{"ETag", "\"v2\""}}));
  clock_.Advance(1s);
  auto on_a = a.docs->Get(Spec(), /*refresh_after_ms=*/0);
  ASSERT_TRUE(on_a.ok());
  EXPECT_EQ(a.Body(*on_a), "v2 body");
  // B's copy is still young, but the fleet knows a newer one: B refreshes
  // instead of serving it, and Fresh() says so too.
  clock_.Advance(1s);
  EXPECT_FALSE(b.docs->Fresh(Spec()).has_value());
  const size_t calls = upstream_.CallCount(kUrl);
  auto on_b = b.docs->Get(Spec());
  ASSERT_TRUE(on_b.ok());
  EXPECT_EQ(b.Body(*on_b), "v2 body");
  EXPECT_EQ(on_b->freshness, Freshness::kFetched);
  EXPECT_EQ(upstream_.CallCount(kUrl), calls + 1);
  // Both hold the latest now: served fresh, no upstream request.
  EXPECT_EQ(a.docs->Get(Spec())->freshness, Freshness::kFresh);
  EXPECT_EQ(b.docs->Get(Spec())->freshness, Freshness::kFresh);
  EXPECT_EQ(upstream_.CallCount(kUrl), calls + 1);
}

TEST_F(PullThroughTest, ARevalidationThatFoundNoChangeSupersedesNobody) {
  index::MemDocumentVersions versions;
  VersionedNode a(clock_, versions), b(clock_, versions);
  upstream_.Set(kUrl, FakeReply::Ok("same", {{"ETag", "\"v1\""}}));
  ASSERT_TRUE(a.docs->Get(Spec()).ok());
  ASSERT_TRUE(b.docs->Get(Spec()).ok());
  upstream_.Set(kUrl, FakeReply::WithStatus(304));
  clock_.Advance(1s);
  ASSERT_TRUE(a.docs->Get(Spec(), /*refresh_after_ms=*/0).ok());
  const size_t calls = upstream_.CallCount(kUrl);
  EXPECT_EQ(b.docs->Get(Spec())->freshness, Freshness::kFresh);
  EXPECT_EQ(upstream_.CallCount(kUrl), calls);
}

// Two nodes on one bucket (shared blobs and entries); B's fetches of a
// document no node holds go through `lock` (fleet mode with Redis).
struct SharedNode {
  SharedNode(env::FakeClock& clock, store::BlobStore& bucket, index::SharedEntries& shared,
             core::FleetFillLock* lock)
      : index([&clock] { return clock.NowUnixMs(); }), metrics(registry) {
    core::CacheOptions o;
    o.shared_entries = &shared;
    o.document_fill_lock = lock;
    cache = std::make_unique<core::CacheService>(bucket, index, clock, metrics, o);
    docs = std::make_unique<MutableDocuments>(*cache);
  }
  index::MemIndex index;
  metrics::Registry registry;
  core::CacheMetrics metrics;
  std::unique_ptr<core::CacheService> cache;
  std::unique_ptr<MutableDocuments> docs;
};

// A lease another node holds while `meanwhile` runs (it fetches), or none.
class ScriptedFillLock final : public core::FleetFillLock {
 public:
  Hold Acquire(const std::string& key) override {
    keys.push_back(key);
    if (!held_elsewhere) return Hold{std::make_shared<int>(0), false};
    if (meanwhile) meanwhile();
    return Hold{std::make_shared<int>(0), true};
  }
  bool held_elsewhere = false;
  std::function<void()> meanwhile;
  std::vector<std::string> keys;
};

class SharedDocumentsTest : public PullThroughTest {
 protected:
  store::MemBlobStore bucket_;
  index::MemSharedEntries shared_;
  ScriptedFillLock lock_;
  SharedNode a_{clock_, bucket_, shared_, nullptr};
  SharedNode b_{clock_, bucket_, shared_, &lock_};
};

TEST_F(SharedDocumentsTest, AnotherNodesFreshCopyIsServedWithoutTheUpstream) {
  upstream_.Set(kUrl, FakeReply::Ok("v1 body", {{"ETag", "\"v1\""}}));
  ASSERT_TRUE(a_.docs->Get(Spec()).ok());
  clock_.Advance(10s);
  auto on_b = b_.docs->Get(Spec());
  ASSERT_TRUE(on_b.ok());
  EXPECT_EQ(on_b->freshness, Freshness::kFresh);
  EXPECT_EQ(upstream_.CallCount(kUrl), 1u);
  EXPECT_TRUE(lock_.keys.empty()) << "found without asking the fleet";
  // It ages out on B when it does on A: then B revalidates with A's ETag.
  clock_.Advance(std::chrono::milliseconds(kMaxAge));
  upstream_.Set(kUrl, FakeReply::WithStatus(304));
  auto later = b_.docs->Get(Spec());
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->freshness, Freshness::kRevalidated);
  EXPECT_EQ(upstream_.LastCall(kUrl)->Header("If-None-Match"), "\"v1\"");
}

TEST_F(SharedDocumentsTest, AColdDocumentWaitsForTheNodeFetchingItThenTakesItsCopy) {
  upstream_.Set(kUrl, FakeReply::Ok("v1 body", {{"ETag", "\"v1\""}}));
  lock_.held_elsewhere = true;
  lock_.meanwhile = [&] { ASSERT_TRUE(a_.docs->Get(Spec()).ok()); };
  auto on_b = b_.docs->Get(Spec());
  ASSERT_TRUE(on_b.ok());
  EXPECT_EQ(upstream_.CallCount(kUrl), 1u) << "only the holder asked the upstream";
  EXPECT_EQ(lock_.keys, std::vector<std::string>{"fill:test/doc|doc"});
  auto hit = b_.cache->Get("test/doc", "doc");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(core::ReadAll(***hit), "v1 body");
}

TEST_F(SharedDocumentsTest, WhenTheHolderFailedOrRedisIsDownTheNodeFetchesItself) {
  upstream_.Set(kUrl, FakeReply::Ok("v1 body"));
  lock_.held_elsewhere = true;  // and shared nothing
  ASSERT_TRUE(b_.docs->Get(Spec()).ok());
  EXPECT_EQ(upstream_.CallCount(kUrl), 1u);
  lock_.held_elsewhere = false;  // no lease to wait for
  ASSERT_TRUE(b_.docs->Get(Spec(), /*refresh_after_ms=*/0).ok());
  EXPECT_EQ(upstream_.CallCount(kUrl), 2u);
  EXPECT_EQ(lock_.keys.size(), 1u) << "a node holding a copy revalidates it without the fleet lease";
}

TEST_F(PullThroughTest, NegativeCacheRemembersForTheTtlOnly) {
  NegativeCache missing(cache_, "test/missing", 60'000);
  EXPECT_FALSE(missing.Contains("nope"));
  missing.Remember("nope");
  EXPECT_TRUE(missing.Contains("nope"));
  EXPECT_FALSE(missing.Contains("other"));
  clock_.Advance(59'999ms);
  EXPECT_TRUE(missing.Contains("nope"));
  clock_.Advance(1ms);
  EXPECT_FALSE(missing.Contains("nope"));

  NegativeCache off(cache_, "test/missing-off", 0);
  off.Remember("nope");
  EXPECT_FALSE(off.Contains("nope"));
}

}  // namespace
}  // namespace cellar::protocols
