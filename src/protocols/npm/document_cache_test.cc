#include "protocols/npm/document_cache.h"

#include <gtest/gtest.h>

#include <cstring>

#include "testing/pull_through_fixture.h"

namespace cellar::npm {
namespace {

using namespace std::chrono_literals;
using env::FakeReply;

constexpr const char* kRegistry = "http://registry.test/";
constexpr const char* kBase = "http://cellar.test/npm/";

// npm 11 asks for the full form on `npm install`; `npm ci` for the
// abbreviated one. Both name the same tarballs.
const std::string kFull =
    R"({"name":"w","time":{"modified":"2026-01-01"},"dist-tags":{"latest":"2.0.0"},"versions":{)"
    R"("1.0.0":{"name":"w","version":"1.0.0","readme":"long","dist":{"tarball":"http://registry.test/w/-/w-1.0.0.tgz","integrity":"sha512-A"}},)"
    R"("2.0.0":{"name":"w","version":"2.0.0","readme":"long","dist":{"tarball":"http://registry.test/w/-/w-2.0.0.tgz","integrity":"sha512-B"}}}})";
const std::string kCorgi =
    R"({"name":"w","modified":"2026-01-01","dist-tags":{"latest":"2.0.0"},"versions":{)"
    R"("1.0.0":{"name":"w","version":"1.0.0","dist":{"tarball":"http://registry.test/w/-/w-1.0.0.tgz","integrity":"sha512-A"}},)"
    R"("2.0.0":{"name":"w","version":"2.0.0","dist":{"tarball":"http://registry.test/w/-/w-2.0.0.tgz","integrity":"sha512-B"}}}})";

std::string Rendered(std::string doc) {
  for (size_t at; (at = doc.find(kRegistry)) != std::string::npos;) doc.replace(at, strlen(kRegistry), kBase);
  return doc;
}

class DocumentCacheTest : public testing::PullThroughFixture {
 protected:
  DocumentCacheTest() : npm_metrics_(registry_), docs_(cache_, upstream_, npm_metrics_, Options()) {
    up_ = *ParseUpstream(kRegistry);
  }
  static DocumentOptions Options() {
    DocumentOptions o;
    o.max_age_ms = 60'000;
    return o;
  }

  Result<RenderedDocument> Get(const std::string& form) { return docs_.Get({form, "w"}, up_, kBase); }

  // Fetches `form` with the upstream answering `body`, then takes the
  // upstream down in the way `failure` describes, past the max age.
  void CacheThenFail(const std::string& form, const std::string& body, const FakeReply& failure) {
    for (const char* key : {"full:w", "corgi:w"}) ASSERT_TRUE(cache_.Delete("npm/upstream", key).ok());
    upstream_.Set("http://registry.test/w", FakeReply::Ok(body));
    auto got = Get(form);
    ASSERT_TRUE(got.ok()) << got.error().message();
    ASSERT_EQ(got->freshness, Freshness::kFetched);
    upstream_.Set("http://registry.test/w", failure);
    upstream_.Set("http://registry.test/w/1.0.0", failure);
    upstream_.Set("http://registry.test/w/latest", failure);
    upstream_.Set("http://registry.test/w/9.9.9", failure);
    clock_.Advance(10min);
  }

  static std::vector<FakeReply> Failures() {
    return {FakeReply::Refuse(), FakeReply::Timeout(), FakeReply::WithStatus(500), FakeReply::WithStatus(503),
            FakeReply::BreakAfter(kFull, 10)};
  }

  NpmMetrics npm_metrics_;
  DocumentCache docs_;
  NpmUpstream up_;
};

// Issue 13, defect 1: `npm install` (full form) then `npm ci` (abbreviated
// form) with the registry down must not fail on every package.
TEST_F(DocumentCacheTest, UpstreamDownServesTheFullFormForAnAbbreviatedRequest) {
  for (const FakeReply& failure : Failures()) {
    SCOPED_TRACE(static_cast<int>(failure.fault) * 1000 + failure.status);
    CacheThenFail("full", kFull, failure);
    auto got = Get("corgi");
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(got->freshness, Freshness::kStale);
    EXPECT_FALSE(got->upstream_error.ok());
    EXPECT_EQ(ReadHit(*got->hit), Rendered(kFull));
  }
}

TEST_F(DocumentCacheTest, UpstreamDownServesTheAbbreviatedFormForAFullRequest) {
  for (const FakeReply& failure : Failures()) {
    SCOPED_TRACE(static_cast<int>(failure.fault) * 1000 + failure.status);
    CacheThenFail("corgi", kCorgi, failure);
    auto got = Get("full");
    ASSERT_TRUE(got.ok()) << got.error().message();
    EXPECT_EQ(got->freshness, Freshness::kStale);
    EXPECT_EQ(ReadHit(*got->hit), Rendered(kCorgi));
  }
}

TEST_F(DocumentCacheTest, UpstreamDownDerivesSingleVersionDocumentsFromAStoredPackument) {
  for (std::string form : {"full", "corgi"}) {
    SCOPED_TRACE(form);
    CacheThenFail(form, form == "full" ? kFull : kCorgi, FakeReply::Refuse());
    auto v1 = Get("v:1.0.0");
    ASSERT_TRUE(v1.ok()) << v1.error().message();
    EXPECT_EQ(v1->freshness, Freshness::kStale);
    std::string body = ReadHit(*v1->hit);
    EXPECT_NE(body.find(R"("version":"1.0.0")"), std::string::npos) << body;
    EXPECT_NE(body.find(R"("tarball":"http://cellar.test/npm/w/-/w-1.0.0.tgz")"), std::string::npos) << body;
    EXPECT_EQ(body.find("2.0.0"), std::string::npos) << body;
    auto latest = Get("v:latest");
    ASSERT_TRUE(latest.ok()) << latest.error().message();
    EXPECT_NE(ReadHit(*latest->hit).find(R"("version":"2.0.0")"), std::string::npos);
    // A version the stored packument lacks may be newer than it: the
    // upstream's failure is the answer, not "not found".
    auto unknown = Get("v:9.9.9");
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code(), Code::kUnavailable);
  }
}

TEST_F(DocumentCacheTest, NothingStoredAndUpstreamDownIsAnError) {
  upstream_.SetDown(true);
  for (const char* form : {"full", "corgi", "v:1.0.0"}) {
    auto got = Get(form);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code(), Code::kUnavailable) << form;
  }
}

TEST_F(DocumentCacheTest, NotFoundUpstreamIsNotAnsweredFromAnotherForm) {
  CacheThenFail("full", kFull, FakeReply::WithStatus(404));
  auto got = Get("corgi");
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.error().IsNotFound());
}

TEST_F(DocumentCacheTest, StaleCopyOfTheRequestedFormComesFirst) {
  CacheThenFail("full", kFull, FakeReply::Refuse());
  upstream_.Set("http://registry.test/w", FakeReply::Ok(kCorgi));
  ASSERT_TRUE(Get("corgi").ok());
  clock_.Advance(10min);
  upstream_.SetDown(true);
  auto got = Get("corgi");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->freshness, Freshness::kStale);
  EXPECT_EQ(ReadHit(*got->hit), Rendered(kCorgi));
}

TEST_F(DocumentCacheTest, RevalidatesWithTheStoredEtag) {
  upstream_.Set("http://registry.test/w", FakeReply::Ok(kFull, {{"ETag", "\"e1\""}}));
  ASSERT_TRUE(Get("full").ok());
  clock_.Advance(2min);
  upstream_.Set("http://registry.test/w", FakeReply::WithStatus(304));
  auto got = Get("full");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->freshness, Freshness::kRevalidated);
  EXPECT_EQ(upstream_.LastCall("http://registry.test/w")->Header("If-None-Match"), "\"e1\"");
  EXPECT_EQ(upstream_.CallCount("http://registry.test/w"), 2u);
  ASSERT_TRUE(docs_.FreshRendering({"full", "w"}, kBase));
}

// Found by the chaos run: the tarball index evicted on its own, then a
// revalidation answered 304, left every tarball of the package 404.
TEST_F(DocumentCacheTest, AnEvictedTarballIndexIsRebuiltFromTheStoredPackument) {
  upstream_.Set("http://registry.test/w", FakeReply::Ok(kCorgi, {{"ETag", "\"e1\""}}));
  ASSERT_TRUE(Get("corgi").ok());
  ASSERT_TRUE(docs_.LoadDistIndex("w"));
  ASSERT_TRUE(cache_.Delete("npm/dist", "w").ok());  // as eviction would
  clock_.Advance(2min);
  upstream_.Set("http://registry.test/w", FakeReply::WithStatus(304));
  auto got = Get("corgi");
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->freshness, Freshness::kRevalidated);
  auto index = docs_.LoadDistIndex("w");
  ASSERT_TRUE(index);
  EXPECT_TRUE(index->count("w-1.0.0.tgz"));
  EXPECT_TRUE(index->count("w-2.0.0.tgz"));
}

TEST_F(DocumentCacheTest, RenderingCountsTheUrlsBelowTheBase) {
  upstream_.Set("http://registry.test/w", FakeReply::Ok(kFull));
  auto got = Get("full");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->base_urls, 2u);
  auto fresh = docs_.FreshRendering({"full", "w"}, kBase);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->base_urls, 2u);
}

// Issue 13, defect 12: one rendering serves every Host. What a request gets
// is the rendering with the base swapped while sending, exactly as long as
// announced, whatever the read sizes.
TEST_F(DocumentCacheTest, OneRenderingServesAnyBaseBySwappingItWhileSending) {
  constexpr const char* kPlaceholder = "http://placeholder.invalid/npm/";
  upstream_.Set("http://registry.test/w", FakeReply::Ok(kFull));
  auto got = docs_.Get({"full", "w"}, up_, kPlaceholder);
  ASSERT_TRUE(got.ok()) << got.error().message();
  const std::string stored = ReadHit(*got->hit);
  for (const std::string& base :
       std::vector<std::string>{"http://h1.example:8080/npm/", "http://a/npm/", std::string(300, 'x')}) {
    std::string want = kFull;
    for (size_t at; (at = want.find(kRegistry)) != std::string::npos;) want.replace(at, strlen(kRegistry), base);
    for (size_t chunk : {1, 7, 64, 100000}) {
      SCOPED_TRACE(base.substr(0, 30) + " chunk " + std::to_string(chunk));
      size_t pos = 0;
      BaseSwapReader swap(
          [&](std::span<std::byte> out) -> Result<size_t> {
            size_t n = std::min({out.size(), chunk, stored.size() - pos});
            std::memcpy(out.data(), stored.data() + pos, n);
            pos += n;
            return n;
          },
          kPlaceholder, base);
      std::string sent;
      std::vector<std::byte> buf(chunk);
      while (true) {
        auto n = swap.Read(buf);
        ASSERT_TRUE(n.ok());
        if (*n == 0) break;
        sent.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
      EXPECT_EQ(sent, want);
      EXPECT_EQ(BaseSwapReader::Length(stored.size(), got->base_urls, strlen(kPlaceholder), base.size()), want.size());
    }
  }
  // Asking again renders nothing new.
  auto again = docs_.Get({"full", "w"}, up_, kPlaceholder);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->hit->entry().digest, got->hit->entry().digest);
}

}  // namespace
}  // namespace cellar::npm
