#include "protocols/goproxy/fresh_document.h"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>

#include "auth/authenticator.h"
#include "protocols/goproxy/upstream_list.h"
#include "testing/pull_through_fixture.h"

namespace cellar::goproxy {
namespace {

using namespace std::chrono_literals;
using env::FakeReply;
using protocols::Freshness;

class FreshDocumentsTest : public testing::PullThroughFixture {
 protected:
  FreshDocumentsTest()
      : auth_({}, 0), ctx_{cache_, pool_, auth_}, documents_(ctx_), upstreams_(*ParseUpstreamList("http://proxy.test")) {}

  // A document as the Go adapter describes one: fetched through the
  // upstream list (GOPROXY fall-through rules).
  DocumentSpec Spec(const std::string& ns, const std::string& path) {
    DocumentSpec spec;
    spec.ns = ns;
    spec.key = path;
    spec.content_type = "text/plain; charset=utf-8";
    spec.max_age_ms = 60'000;
    spec.fetch = [this, path] { return FetchFromUpstreams(upstream_, upstreams_, path); };
    return spec;
  }

  boost::asio::thread_pool pool_{1};
  auth::Authenticator auth_;
  protocols::ProtocolContext ctx_;
  FreshDocuments documents_;
  std::vector<UpstreamEntry> upstreams_;
};

struct Kind {
  const char* ns;
  const char* path;
};
const Kind kMutableKinds[] = {
    {"go/list", "example.com/m/@v/list"},
    {"go/latest", "example.com/m/@latest"},
    {"go/query", "example.com/m/@v/master.info"},
};

// Issue 13, defect 1: every mutable Go document is served, stale, when the
// upstream is down, fails or stalls; a "not found" is not.
TEST_F(FreshDocumentsTest, CachedMutableDocumentsServeStaleWhenTheUpstreamFails) {
  const FakeReply failures[] = {FakeReply::Refuse(), FakeReply::Timeout(), FakeReply::WithStatus(500),
                                FakeReply::WithStatus(502), FakeReply::BreakAfter("v1.0.0\nv1.1.0\n", 3)};
  for (const Kind& kind : kMutableKinds) {
    const std::string url = std::string("http://proxy.test/") + kind.path;
    upstream_.Set(url, FakeReply::Ok("v1.0.0\n"));
    auto first = documents_.Get(Spec(kind.ns, kind.path));
    ASSERT_TRUE(first.ok()) << first.error().message();
    EXPECT_EQ(first->freshness, Freshness::kFetched);
    for (const FakeReply& failure : failures) {
      SCOPED_TRACE(std::string(kind.path) + " " + std::to_string(static_cast<int>(failure.fault)) + "/" +
                   std::to_string(failure.status));
      clock_.Advance(2min);
      upstream_.Set(url, failure);
      auto got = documents_.Get(Spec(kind.ns, kind.path));
      ASSERT_TRUE(got.ok()) << got.error().message();
      EXPECT_EQ(got->freshness, Freshness::kStale);
      EXPECT_EQ(Read(got->entry.ns, got->entry.key), "v1.0.0\n");
    }
    clock_.Advance(2min);
    upstream_.Set(url, FakeReply::WithStatus(410));
    auto gone = documents_.Get(Spec(kind.ns, kind.path));
    ASSERT_FALSE(gone.ok());
    EXPECT_TRUE(gone.error().IsNotFound());
  }
}

TEST_F(FreshDocumentsTest, UncachedAndUpstreamDownIsAnError) {
  upstream_.SetDown(true);
  auto got = documents_.Get(Spec("go/list", "example.com/m/@v/list"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code(), Code::kUnavailable);
}

// Issue 13, defect 12: proxy.golang.org answers 400 for a version that
// cannot exist; that is "not found" (so `,direct` and the next proxy are
// tried), not a failure answered 502.
TEST_F(FreshDocumentsTest, Upstream400IsNotFound) {
  upstream_.Set("http://proxy.test/example.com/m/@v/bogus.info", FakeReply::WithStatus(400, "bad request: invalid version"));
  auto got = documents_.Get(Spec("go/query", "example.com/m/@v/bogus.info"));
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().IsNotFound()) << got.error().message();

  // ... and, like a 404, it lets the next proxy in the list answer.
  upstreams_ = *ParseUpstreamList("http://proxy.test,http://second.test");
  upstream_.Set("http://second.test/example.com/m/@v/bogus.info", FakeReply::Ok("{\"Version\":\"v0.0.0\"}"));
  auto second = documents_.Get(Spec("go/query", "example.com/m/@v/bogus.info"));
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->freshness, Freshness::kFetched);
}

// The checksum database's documents go through the same kit: latest is
// served stale; a lookup's record never changes, so any age serves without
// asking the database.
TEST_F(FreshDocumentsTest, SumdbLatestServesStaleAndLookupsServeAtAnyAge) {
  DocumentSpec latest = Spec("go/sumdb", "sum.golang.org/latest");
  DocumentSpec lookup = Spec("go/sumdb", "sum.golang.org/lookup/example.com/m@v1.0.0");
  upstream_.Set("http://proxy.test/sum.golang.org/latest", FakeReply::Ok("tree head"));
  upstream_.Set("http://proxy.test/sum.golang.org/lookup/example.com/m@v1.0.0", FakeReply::Ok("record"));
  ASSERT_TRUE(documents_.Get(latest).ok());
  ASSERT_EQ(*documents_.GetAnyAge(lookup), "record");
  clock_.Advance(24h);
  upstream_.SetDown(true);
  auto stale = documents_.Get(latest);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->freshness, Freshness::kStale);
  const size_t calls = upstream_.calls().size();
  EXPECT_EQ(*documents_.GetAnyAge(lookup), "record");
  EXPECT_EQ(upstream_.calls().size(), calls);
  upstream_.SetDown(false);
  EXPECT_EQ(documents_.GetAnyAge(Spec("go/sumdb", "sum.golang.org/lookup/example.com/m@v9.0.0")).error().code(),
            Code::kUnavailable);  // unscripted: refused, nothing cached
}

}  // namespace
}  // namespace cellar::goproxy
