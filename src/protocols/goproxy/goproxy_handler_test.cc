// The Go module proxy (/go/) and its checksum-database proxy (/go/sumdb/)
// in-process against a scripted upstream proxy and database: list, @latest,
// .info, .mod and .zip; 404/410 and an upstream 400 as "not found" (and
// remembered); verification before storing; stale lists and sumdb answers
// while the upstream is down; names refused before the upstream; methods and
// tokens. The real go command runs in tests/integration/goproxy_test.sh and
// sumdb_test.sh.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "protocols/goproxy/checksum_db.h"
#include "protocols/goproxy/goproxy_adapter.h"
#include "protocols/goproxy/module_hash.h"
#include "protocols/goproxy/sumdb_proxy.h"
#include "testing/adapter_fixture.h"

namespace cellar::goproxy {
namespace {

using namespace std::chrono_literals;
using env::FakeReply;
using testing::kElsewhereToken;
using testing::kReaderToken;
using testing::kWriterToken;

constexpr const char* kUp = "http://proxy.test/";
constexpr const char* kDb = "http://sumdb.test/";
const std::string kMod = "module example.test/m\n\ngo 1.19\n";

class GoHandlerTest : public testing::AdapterFixture {
 protected:
  explicit GoHandlerTest(bool share_entries = false)
      : AdapterFixture(share_entries), go_metrics_(registry_), documents_(ctx_) {
    SumdbOptions sumdb_options;
    sumdb_options.databases = *ParseSumdbList("sum.example.test=http://sumdb.test");
    sumdb_options.private_modules = *ModulePatterns::Parse("private.example.test");
    sumdb_options.max_age_ms = 1000;
    auto sumdb = std::make_unique<SumdbProxy>(ctx_, upstream_, filler_, documents_, go_metrics_, sumdb_options);
    GoproxyOptions options;
    options.upstreams = *ParseUpstreamList("http://proxy.test");
    options.routes = *ParseModuleRoutes("off.example.test=off");
    options.list_max_age_ms = 1000;
    options.negative_ttl_ms = 1000;
    options.nosumdb = sumdb_options.private_modules;
    sumdb_ = &Add(std::move(sumdb));
    Add(std::make_unique<GoproxyAdapter>(ctx_, upstream_, filler_, documents_, *sumdb_, go_metrics_, options));

    zip_ = MakeModuleZip("example.test/m", "v1.0.0", {{"go.mod", kMod}, {"m.go", "package m\n"}});
    Script("example.test/m/@v/list", "v1.0.0\n");
    Script("example.test/m/@latest", R"({"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"})");
    Script("example.test/m/@v/v1.0.0.info", R"({"Version":"v1.0.0","Time":"2024-01-01T00:00:00Z"})");
    Script("example.test/m/@v/v1.0.0.mod", kMod);
    Script("example.test/m/@v/v1.0.0.zip", zip_);
    upstream_.Set(std::string(kDb) + "lookup/example.test/m@v1.0.0", FakeReply::Ok(LookupRecord()));
    upstream_.Set(std::string(kDb) + "latest", FakeReply::Ok("go.sum database tree\n5\nabc=\n\n— sum.example.test x\n"));
  }

  void Script(const std::string& path, std::string body) { upstream_.Set(kUp + path, FakeReply::Ok(std::move(body))); }

  // What the database says about example.test/m v1.0.0: the real hashes.
  std::string LookupRecord() {
    return "5\nexample.test/m v1.0.0 " + ZipHash(zip_) + "\nexample.test/m v1.0.0/go.mod " + ModFileHash1(kMod) +
           "\n\ngo.sum database tree\n5\nabc=\n\n— sum.example.test x\n";
  }

  // A module zip as the go command makes them, written with libzip.
  std::string MakeModuleZip(const std::string& module, const std::string& version,
                            const std::vector<std::pair<std::string, std::string>>& files) {
    std::string path = spool_dir_.path + "/make.zip";
    int err = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    EXPECT_NE(z, nullptr);
    for (const auto& [name, body] : files) {
      zip_source_t* src = zip_source_buffer(z, body.data(), body.size(), 0);
      EXPECT_GE(zip_file_add(z, (module + "@" + version + "/" + name).c_str(), src, ZIP_FL_ENC_RAW), 0);
    }
    EXPECT_EQ(zip_close(z), 0);
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    ::unlink(path.c_str());
    return bytes.str();
  }
  std::string ZipHash(const std::string& zip) {
    std::string path = spool_dir_.path + "/hash.zip";
    std::ofstream(path, std::ios::binary) << zip;
    int fd = ::open(path.c_str(), O_RDONLY);
    auto h1 = CheckModuleZip(fd, "example.test/m", "v1.0.0", ZipLimits{});
    ::close(fd);
    ::unlink(path.c_str());
    EXPECT_TRUE(h1.ok()) << h1.error().message();
    return h1.ok() ? *h1 : "";
  }
  size_t UpstreamCalls(const std::string& path) const { return upstream_.CallCount(kUp + path); }

  GoMetrics go_metrics_;
  FreshDocuments documents_;
  SumdbProxy* sumdb_ = nullptr;
  std::string zip_;
};

TEST_F(GoHandlerTest, EveryFileKindIsServedAndImmutableOnesOnlyFetchedOnce) {
  auto r = Get("/go/example.test/m/@v/list");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "v1.0.0\n");
  r = Get("/go/example.test/m/@latest");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("v1.0.0"), std::string::npos);
  for (int i = 0; i < 2; ++i) {
    r = Get("/go/example.test/m/@v/v1.0.0.info");
    EXPECT_EQ(r.status, 200u) << r.body;
    r = Get("/go/example.test/m/@v/v1.0.0.mod");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, kMod);
    EXPECT_EQ(r.Header("X-Go-Checksum"), ModFileHash1(kMod));
    r = Get("/go/example.test/m/@v/v1.0.0.zip");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, zip_);
    EXPECT_EQ(r.Header("X-Go-Checksum"), ZipHash(zip_));
    if (i == 1) {
      EXPECT_EQ(r.cache_result, "hit");
    }
  }
  for (const char* f : {"@v/v1.0.0.info", "@v/v1.0.0.mod", "@v/v1.0.0.zip"}) {
    EXPECT_EQ(UpstreamCalls(std::string("example.test/m/") + f), 1u) << f;
  }
  EXPECT_EQ(Head("/go/example.test/m/@v/v1.0.0.zip").Header("Content-Length"), std::to_string(zip_.size()));
}

// content-cache's path: GOPROXY=http://host:8080/goproxy serves the same
// module files and checksum database as /go/.
TEST_F(GoHandlerTest, TheGoproxyPathIsTheSameProxy) {
  auto r = Get("/goproxy/example.test/m/@v/list");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "v1.0.0\n");
  r = Get("/goproxy/example.test/m/@v/v1.0.0.zip");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, zip_);
  EXPECT_EQ(Get("/go/example.test/m/@v/v1.0.0.zip").cache_result, "hit");  // one cache behind both
  EXPECT_EQ(UpstreamCalls("example.test/m/@v/v1.0.0.zip"), 1u);
  r = Get("/goproxy/sumdb/sum.example.test/supported");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Get("/goproxy/sumdb/other.example/supported").status, Get("/go/sumdb/other.example/supported").status);
  EXPECT_EQ(Get("/goproxy/example.test/m/@v/../x").status, 400u);
}

// With --storage s3 a cache lookup that misses locally asks the bucket, a
// network call: every lookup, module files and checksum-database tiles
// alike, must run on a worker thread, never on the I/O thread (here, the
// test's own thread, which runs the harness's io_context).
class GoSharedEntriesTest : public GoHandlerTest {
 protected:
  GoSharedEntriesTest() : GoHandlerTest(/*share_entries=*/true) {}
};

TEST_F(GoSharedEntriesTest, BucketLookupsNeverRunOnTheIoThread) {
  const std::string tile(32 << 8, 't');  // a full hash tile of height 8
  upstream_.Set(std::string(kDb) + "tile/8/0/000", FakeReply::Ok(tile));
  for (int i = 0; i < 2; ++i) {  // a miss that fills, then a hit
    auto r = Get("/go/example.test/m/@v/v1.0.0.zip");
    EXPECT_EQ(r.status, 200u) << r.body;
    r = Get("/go/sumdb/sum.example.test/tile/8/0/000");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.body, tile);
  }
  EXPECT_GT(shared_entries_.finds(), 0);
  EXPECT_EQ(shared_entries_.caller_threads().count(std::this_thread::get_id()), 0u)
      << "a shared-entry lookup ran on the I/O thread";
}

TEST_F(GoHandlerTest, NotFoundAnswersAndTheNegativeCache) {
  upstream_.Set(std::string(kUp) + "example.test/nope/@v/list", FakeReply::WithStatus(404, "not found"));
  upstream_.Set(std::string(kUp) + "example.test/gone/@v/v1.0.0.mod", FakeReply::WithStatus(410, "gone"));
  // Issue 13, defect 12: proxy.golang.org answers 400 for a version that
  // does not exist; that is "not found", not a broken upstream (502).
  upstream_.Set(std::string(kUp) + "example.test/m/@v/v9.9.9.zip", FakeReply::WithStatus(400, "invalid version"));
  EXPECT_EQ(Get("/go/example.test/nope/@v/list").status, 404u);
  EXPECT_EQ(Get("/go/example.test/gone/@v/v1.0.0.mod").status, 404u);
  auto r = Get("/go/example.test/m/@v/v9.9.9.zip");
  EXPECT_EQ(r.status, 404u) << r.body;
  r = Get("/go/example.test/m/@v/v9.9.9.zip");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.cache_result, "negative");
  EXPECT_EQ(UpstreamCalls("example.test/m/@v/v9.9.9.zip"), 1u);
  clock_.Advance(2s);
  EXPECT_EQ(Get("/go/example.test/m/@v/v9.9.9.zip").status, 404u);
  EXPECT_EQ(UpstreamCalls("example.test/m/@v/v9.9.9.zip"), 2u);
  // Unscripted: the upstream refuses the connection, which is no answer at all.
  EXPECT_EQ(Get("/go/example.test/down/@v/v1.0.0.info").status, 502u);
}

TEST_F(GoHandlerTest, ListsAreServedStaleWhileTheUpstreamIsDown) {
  ASSERT_EQ(Get("/go/example.test/m/@v/list").status, 200u);
  ASSERT_EQ(Get("/go/example.test/m/@latest").status, 200u);
  ASSERT_EQ(Get("/go/example.test/m/@v/v1.0.0.zip").status, 200u);
  clock_.Advance(5s);
  upstream_.SetDown(true);
  auto r = Get("/go/example.test/m/@v/list");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.Header("X-Cellar-Stale"), "1");
  EXPECT_EQ(r.body, "v1.0.0\n");
  r = Get("/go/example.test/m/@latest");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.Header("X-Cellar-Stale"), "1");
  EXPECT_EQ(Get("/go/example.test/m/@v/v1.0.0.zip").body, zip_);
  // Uncached: not 200, and the outage is not remembered.
  EXPECT_GE(Get("/go/example.test/m/@v/v1.0.0.mod").status, 500u);
  upstream_.SetDown(false);
  EXPECT_EQ(Get("/go/example.test/m/@v/v1.0.0.mod").status, 200u);
}

TEST_F(GoHandlerTest, ListsAreRevalidatedAfterTheirMaxAge) {
  ASSERT_EQ(Get("/go/example.test/m/@v/list").body, "v1.0.0\n");
  Script("example.test/m/@v/list", "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(Get("/go/example.test/m/@v/list").body, "v1.0.0\n");
  clock_.Advance(2s);
  EXPECT_EQ(Get("/go/example.test/m/@v/list").body, "v1.0.0\nv1.1.0\n");
}

TEST_F(GoHandlerTest, FilesTheDatabaseDisagreesWithAre502AndNotStored) {
  Script("example.test/m/@v/v1.0.0.mod", kMod + "// tampered\n");
  for (int i = 0; i < 2; ++i) {
    auto r = Get("/go/example.test/m/@v/v1.0.0.mod");
    EXPECT_EQ(r.status, 502u);
    EXPECT_NE(r.body.find("checksum mismatch"), std::string::npos) << r.body;
  }
  EXPECT_EQ(UpstreamCalls("example.test/m/@v/v1.0.0.mod"), 2u);
  Script("example.test/m/@v/v1.0.0.mod", kMod);
  EXPECT_EQ(Get("/go/example.test/m/@v/v1.0.0.mod").status, 200u);
  // A database that cannot be reached: unverifiable, not stored.
  Script("example.test/m/@v/v1.1.0.mod", kMod);
  upstream_.Set(std::string(kDb) + "lookup/example.test/m@v1.1.0", FakeReply::WithStatus(503));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Get("/go/example.test/m/@v/v1.1.0.mod").status, 502u);
  EXPECT_EQ(UpstreamCalls("example.test/m/@v/v1.1.0.mod"), 2u);
}

TEST_F(GoHandlerTest, BadPathsNeverReachTheUpstream) {
  for (const std::string& bad : std::vector<std::string>{"/go/example.test/Azure/sdk/@v/list", "/go/example.test/Azure/sdk/@v/v1.0.0.zip",
                          "/go/example.test/m01/@v/../../m02/@v/list", "/go/example.test/../example.test/m01/@v/v1.0.0.mod",
                          "/go/example.test/m01/@v/..", "/go/example.test/%2e%2e/m01/@v/list",
                          "/go/example.test//m01/@v/list", "/go/example.test%2fm01/@v/list",
                          "/go/example.test/" + std::string(600, 'a') + "/@v/list", "/go/example.test/m01/@v/main.zip"}) {
    auto r = Get(bad);
    EXPECT_TRUE(r.status == 400u || r.status == 404u) << bad << " -> " << r.status;
  }
  EXPECT_EQ(upstream_.calls().size(), 0u);
  // Case-encoded paths are fine, also with '!' sent as %21.
  Script("example.test/!azure/sdk/@v/list", "v1.0.0\n");
  EXPECT_EQ(Get("/go/example.test/!azure/sdk/@v/list").status, 200u);
  EXPECT_EQ(Get("/go/example.test/%21azure/sdk/@v/list").status, 200u);
  // --go-route ...=off: private here, 404 so the go command goes direct.
  EXPECT_EQ(Get("/go/off.example.test/x/@v/list").status, 404u);
}

TEST_F(GoHandlerTest, MethodAndAuthMatrix) {
  for (const std::string& method : std::vector<std::string>{"PUT", "POST", "DELETE"}) {
    auto r = harness_.Send(method, "/go/example.test/m/@v/list", As(kWriterToken), "x");
    EXPECT_EQ(r.status, 405u) << method;
    EXPECT_EQ(r.Header("Allow"), "GET, HEAD");
    r = harness_.Send(method, "/go/sumdb/sum.example.test/latest", As(kWriterToken), "x");
    EXPECT_EQ(r.status, 405u) << method;
  }
  EXPECT_EQ(harness_.Send("BREW", "/go/example.test/m/@v/list", As(kWriterToken)).status, 501u);
  EXPECT_EQ(harness_.Put("/go/example.test/m/@v/list", "x", As(kReaderToken)).status, 405u);
  for (const std::string& target : std::vector<std::string>{"/go/example.test/m/@v/list", "/go/sumdb/sum.example.test/supported"}) {
    auto r = harness_.Get(target);
    EXPECT_EQ(r.status, 401u) << target;
    EXPECT_TRUE(r.Header("WWW-Authenticate").has_value());
    EXPECT_EQ(Get(target, "not-a-token-at-all").status, 401u) << target;
    EXPECT_EQ(Get(target, kElsewhereToken).status, 403u) << target;
    EXPECT_EQ(Get(target, kReaderToken).status, 200u) << target;
  }
  EXPECT_EQ(upstream_.calls().size(), 1u);
}

TEST_F(GoHandlerTest, SumdbEndpoints) {
  EXPECT_EQ(Get("/go/sumdb/sum.example.test/supported").status, 200u);
  EXPECT_EQ(Get("/go/sumdb/sum.golang.org/supported").status, 404u);
  EXPECT_EQ(Get("/go/sumdb/sum.golang.org/latest").status, 404u);
  EXPECT_EQ(Get("/go/sumdb/sum.example.test/tile/8/0/12").status, 400u);
  auto r = Get("/go/sumdb/sum.example.test/lookup/example.test/m@v1.0.0");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, LookupRecord());
  // --go-nosumdb: the name never leaves.
  r = Get("/go/sumdb/sum.example.test/lookup/private.example.test/x@v1.0.0");
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(upstream_.CallCount(std::string(kDb) + "lookup/private.example.test/x@v1.0.0"), 0u);
}

TEST_F(GoHandlerTest, SumdbAnswersAreServedStaleWhileTheDatabaseIsDown) {
  ASSERT_EQ(Get("/go/sumdb/sum.example.test/latest").status, 200u);
  ASSERT_EQ(Get("/go/sumdb/sum.example.test/lookup/example.test/m@v1.0.0").status, 200u);
  clock_.Advance(5s);
  upstream_.SetDown(true);
  auto r = Get("/go/sumdb/sum.example.test/latest");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.Header("X-Cellar-Stale"), "1");
  r = Get("/go/sumdb/sum.example.test/lookup/example.test/m@v1.0.0");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.Header("X-Cellar-Stale"), "1");
  EXPECT_EQ(r.body, LookupRecord());
  EXPECT_GE(Get("/go/sumdb/sum.example.test/lookup/example.test/other@v1.0.0").status, 500u);
}

}  // namespace
}  // namespace cellar::goproxy
