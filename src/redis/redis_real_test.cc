// HiredisClient and RedisLeases against a real redis-server, which each test
// starts (and kills, and restarts) itself on a unix socket in a temp dir.
// Registered as the integration test it_redis: it needs redis-server on PATH.
#include <fcntl.h>
#include <netinet/in.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "redis/access_tally.h"
#include "redis/document_versions.h"
#include "redis/fleet_stats.h"
#include "redis/hiredis_client.h"
#include "redis/hot_entries.h"
#include "redis/leases.h"
#include "redis/leases_conformance.h"

namespace cellar::redis {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

bool CanConnect(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// One redis-server child process: no persistence, no TCP unless asked.
class RedisServer {
 public:
  RedisServer(fs::path dir, std::vector<std::string> extra) : dir_(std::move(dir)), extra_(std::move(extra)) {
    fs::create_directories(dir_);
  }
  ~RedisServer() { Kill(); }

  std::string socket() const { return (dir_ / "redis.sock").string(); }

  void Start() {
    std::vector<std::string> args = {"redis-server", "--port",    "0",  "--unixsocket", socket(),
                                     "--save",       "",          "--appendonly", "no", "--dir",
                                     dir_.string(),  "--loglevel", "warning"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      std::fprintf(stderr, "cannot run redis-server: %s\n", std::strerror(errno));
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !CanConnect(socket()); ++i) std::this_thread::sleep_for(milliseconds(10));
    ASSERT_TRUE(CanConnect(socket())) << "redis-server did not start (is it installed?)";
  }

  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    fs::remove(socket());
  }

 private:
  fs::path dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

fs::path TestDir() {
  return fs::path(testing::TempDir()) / ("redis_" + std::to_string(::getpid()) + "_" +
                                         testing::UnitTest::GetInstance()->current_test_info()->name());
}

RedisUrl SocketUrl(const RedisServer& server, std::string password = "", int db = 0) {
  RedisUrl url;
  url.socket_path = server.socket();
  url.password = std::move(password);
  url.db = db;
  return url;
}

HiredisOptions FastOptions() {
  HiredisOptions options;
  options.command_timeout = milliseconds(300);
  options.min_backoff = milliseconds(200);
  options.max_backoff = milliseconds(400);
  return options;
}

class RealLeasesFixture : public testing::Test {
 protected:
  void SetUp() override { server_.Start(); }
  Leases& leases() { return leases_; }
  void Wait(milliseconds d) { std::this_thread::sleep_for(d); }

  env::SystemClock clock_;
  RedisServer server_{TestDir(), {}};
  HiredisClient client_{SocketUrl(server_), FastOptions(), clock_};
  RedisLeases leases_{client_, "cellar-test:"};
};

INSTANTIATE_TYPED_TEST_SUITE_P(Redis, LeasesConformance, RealLeasesFixture);

class HiredisClientTest : public testing::Test {
 protected:
  env::SystemClock clock_;
};

TEST_F(HiredisClientTest, CommandsAreBinarySafeAndErrorsAreValues) {
  RedisServer server(TestDir(), {});
  server.Start();
  HiredisClient client(SocketUrl(server), FastOptions(), clock_);
  const std::string value("a\0b\r\nc", 6);
  ASSERT_TRUE(client.Command({"SET", "k", value}).ok());
  Result<Reply> got = client.Command({"GET", "k"});
  ASSERT_TRUE(got.ok());
  ASSERT_NE(got->AsString(), nullptr);
  EXPECT_EQ(*got->AsString(), value);
  EXPECT_TRUE(client.Command({"GET", "absent"})->IsNil());
  Result<Reply> wrong = client.Command({"INCR", "k"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kInternal);
  EXPECT_NE(wrong.status().message().find("Redis refused INCR"), std::string::npos);
  EXPECT_EQ(*client.Command({"RPUSH", "list", "x", "y"})->AsInteger(), 2);
  Result<Reply> list = client.Command({"LRANGE", "list", "0", "-1"});
  ASSERT_TRUE(list.ok() && list->AsArray() && list->AsArray()->size() == 2);
  EXPECT_EQ(*(*list->AsArray())[1].AsString(), "y");
  EXPECT_TRUE(client.is_up());
}

TEST_F(HiredisClientTest, ADeadRedisFailsFastAndIsUsedAgainWhenItReturns) {
  RedisServer server(TestDir(), {});
  server.Start();
  HiredisClient client(SocketUrl(server), FastOptions(), clock_);
  ASSERT_TRUE(client.Command({"SET", "k", "v"}).ok());
  server.Kill();

  auto start = std::chrono::steady_clock::now();
  Result<Reply> down = client.Command({"GET", "k"});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable);
  EXPECT_NE(down.status().message().find("Redis at unix://"), std::string::npos) << down.status().ToString();
  EXPECT_FALSE(client.is_up());
  // Within the back-off, calls do not even try.
  Result<Reply> again = client.Command({"GET", "k"});
  EXPECT_EQ(again.status().code(), Code::kUnavailable);
  EXPECT_NE(again.status().message().find("not retried yet"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));

  server.Start();  // a fresh, empty Redis: what a restart without persistence gives
  std::this_thread::sleep_for(milliseconds(450));
  Result<Reply> back = client.Command({"GET", "k"});
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_TRUE(back->IsNil());
  EXPECT_TRUE(client.is_up());
}

TEST_F(HiredisClientTest, ACommandThatOutlivesTheTimeoutIsUnavailable) {
  RedisServer server(TestDir(), {});
  server.Start();
  HiredisClient client(SocketUrl(server), FastOptions(), clock_);
  auto start = std::chrono::steady_clock::now();
  Result<Reply> blocked = client.Command({"BLPOP", "nothing-here", "5"});
  EXPECT_EQ(blocked.status().code(), Code::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST_F(HiredisClientTest, PasswordAndDatabaseFromTheUrl) {
  RedisServer server(TestDir(), {"--requirepass", "s3cret-pw"});
  server.Start();
  HiredisClient none(SocketUrl(server), FastOptions(), clock_);
  Result<Reply> refused = none.Command({"SET", "k", "v"});
  EXPECT_EQ(refused.status().code(), Code::kInternal);
  EXPECT_NE(refused.status().message().find("NOAUTH"), std::string::npos) << refused.status().ToString();

  HiredisClient wrong(SocketUrl(server, "not-the-pw"), FastOptions(), clock_);
  Result<Reply> denied = wrong.Command({"SET", "k", "v"});
  EXPECT_EQ(denied.status().code(), Code::kUnavailable);
  EXPECT_NE(denied.status().message().find("AUTH refused"), std::string::npos) << denied.status().ToString();
  EXPECT_EQ(denied.status().message().find("not-the-pw"), std::string::npos);

  HiredisClient db2(SocketUrl(server, "s3cret-pw", 2), FastOptions(), clock_);
  ASSERT_TRUE(db2.Command({"SET", "only-in-2", "v"}).ok());
  HiredisClient db0(SocketUrl(server, "s3cret-pw", 0), FastOptions(), clock_);
  EXPECT_TRUE(db0.Command({"GET", "only-in-2"})->IsNil());
  EXPECT_EQ(*db2.Command({"GET", "only-in-2"})->AsString(), "v");
}

TEST_F(HiredisClientTest, TcpUrl) {
  // A port nobody listens on, found by binding one and letting it go.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  RedisServer server(TestDir(), {"--port", std::to_string(port), "--bind", "127.0.0.1"});
  server.Start();
  HiredisClient client(ParseRedisUrl("redis://127.0.0.1:" + std::to_string(port) + "/1").value(), FastOptions(),
                       clock_);
  for (int i = 0; i < 50; ++i) {
    if (client.Command({"PING"}).ok()) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(client.Command({"SET", "tcp", "yes"}).ok());
  EXPECT_EQ(*client.Command({"GET", "tcp"})->AsString(), "yes");
}

// A fresh redis-server per test, and a client of it.
class RealRedisTest : public testing::Test {
 protected:
  void SetUp() override { server.Start(); }
  env::SystemClock clock;
  RedisServer server{TestDir(), {}};
  HiredisClient client{SocketUrl(server), FastOptions(), clock};
};
using RealFleetStatsTest = RealRedisTest;
using RealRedisAccessTallyTest = RealRedisTest;
using RealRedisDocumentVersionsTest = RealRedisTest;
using RealRedisHotEntriesTest = RealRedisTest;

TEST_F(RealFleetStatsTest, EveryLiveNodesSnapshotIsReadBackAndStaleOnesDropOut) {
  FleetStats a(client, "fleet-test:", milliseconds(600), clock);
  FleetStats b(client, "fleet-test:", milliseconds(600), clock);
  FleetStats other_fleet(client, "other:", milliseconds(600), clock);
  ASSERT_TRUE(a.Publish({"node-a", 10, 8, 1000, 5000, 0}).ok());
  ASSERT_TRUE(b.Publish({"node-b", 5, 5, 300, 5000, 0}).ok());
  ASSERT_TRUE(b.Publish({"node-b", 6, 6, 400, 5000, 0}).ok());  // the newer snapshot replaces the older
  ASSERT_TRUE(other_fleet.Publish({"node-x", 1, 1, 1, 1, 0}).ok());
  auto nodes = a.Read();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].node, "node-a");
  EXPECT_EQ((*nodes)[1].node, "node-b");
  EXPECT_EQ((*nodes)[1].stored_bytes, 400u);
  EXPECT_GT((*nodes)[0].at_ms, 0);
  NodeTotals sum = SumOf(*nodes);
  EXPECT_EQ(sum.node, "2 nodes");
  EXPECT_EQ(sum.entries, 16u);
  EXPECT_EQ(sum.blobs, 14u);
  EXPECT_EQ(sum.stored_bytes, 1400u);
  EXPECT_EQ(sum.max_bytes, 10000u);
  // Only A keeps writing: B drops out once its snapshot is older than the TTL.
  std::this_thread::sleep_for(milliseconds(400));
  ASSERT_TRUE(a.Publish({"node-a", 11, 8, 1100, 5000, 0}).ok());
  std::this_thread::sleep_for(milliseconds(300));
  nodes = b.Read();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].entries, 11u);
  // Redis gone: an error value, not a hang.
  server.Kill();
  EXPECT_EQ(a.Read().status().code(), Code::kUnavailable);
  EXPECT_EQ(a.Publish({"node-a", 1, 1, 1, 1, 0}).code(), Code::kUnavailable);
}

TEST_F(RealRedisAccessTallyTest, HitsAreBatchedKeptWhileRedisIsDownAndForgotten) {
  env::FakeClock fake_clock;
  const auto forever = std::chrono::hours(24 * 365 * 100);  // the hits below (at 500..9000 ms) all stay
  RedisAccessTally node_a(client, "tally-test:", fake_clock, forever);
  RedisAccessTally node_b(client, "tally-test:", fake_clock, forever);
  node_a.Record("entries/ns/k1", 1000);
  node_a.Record("entries/ns/k1", 3000);
  node_a.Record("entries/ns/k1", 2000);
  node_b.Record("entries/ns/k1", 2500);
  node_b.Record("entries/ns/k2", 500);
  ASSERT_TRUE(node_a.Flush().ok());
  ASSERT_TRUE(node_b.Flush().ok());
  ASSERT_TRUE(node_b.Flush().ok());  // nothing new: nothing sent twice
  auto counts = node_a.Read({"entries/ns/k1", "entries/ns/k2", "entries/ns/never"});
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ(counts->at("entries/ns/k1").last_ms, 3000);  // the latest of every node's
  EXPECT_EQ(counts->at("entries/ns/k1").hits, 4u);
  EXPECT_EQ(counts->at("entries/ns/k2").hits, 1u);

  // Redis down: the hits wait for the next flush.
  server.Kill();
  node_a.Record("entries/ns/k2", 9000);
  EXPECT_FALSE(node_a.Flush().ok());
  server.Start();
  std::this_thread::sleep_for(milliseconds(500));  // the client's back-off
  ASSERT_TRUE(node_a.Flush().ok());
  counts = node_a.Read({"entries/ns/k2"});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->at("entries/ns/k2").last_ms, 9000);
  EXPECT_EQ(counts->at("entries/ns/k2").hits, 1u) << "a restarted Redis starts empty; the kept hit arrived";
  ASSERT_TRUE(node_a.Forget({"entries/ns/k2"}).ok());
  EXPECT_TRUE(node_a.Read({"entries/ns/k2"})->empty());
  for (int i = 0; i < 2500; ++i) node_b.Record("entries/many/" + std::to_string(i), 1);
  ASSERT_TRUE(node_b.Flush().ok());
  ASSERT_TRUE(node_b.Prune([](const std::string& k) { return k.ends_with("7"); }).ok());
  std::vector<std::string> probe = {"entries/many/7", "entries/many/8", "entries/many/2497", "entries/ns/k1"};
  counts = node_b.Read(probe);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->size(), 2u);
  EXPECT_EQ(counts->count("entries/many/7"), 1u);
  EXPECT_EQ(counts->count("entries/many/2497"), 1u);

  RedisAccessTally small(client, "tally-small:", fake_clock, forever, 1);
  small.Record("a", 1);
  small.Record("b", 1);
  EXPECT_EQ(small.dropped(), 1u);

  // Keys nobody hit within the horizon (20 s here) leave at a flush, even
  // one with nothing new to send.
  RedisAccessTally trim_a(client, "tally-trim:", fake_clock, milliseconds(20'000));
  RedisAccessTally trim_b(client, "tally-trim:", fake_clock, milliseconds(20'000));
  const int64_t now = fake_clock.NowUnixMs();
  trim_a.Record("old", now - 30'000);
  trim_a.Record("fresh", now - 1'000);
  ASSERT_TRUE(trim_a.Flush().ok());
  counts = trim_a.Read({"old", "fresh"});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->count("old"), 0u);
  EXPECT_EQ(counts->count("fresh"), 1u);
  fake_clock.Advance(milliseconds(30'000));
  ASSERT_TRUE(trim_b.Flush().ok());  // nothing noted: still trims
  EXPECT_TRUE(trim_b.Read({"fresh"})->empty());
}

TEST_F(RealRedisDocumentVersionsTest, TheLastAnnouncementIsReadBackPerDocument) {
  RedisDocumentVersions versions(client, "docs-test:");
  Digest d1, d2;
  d1.bytes.fill(1);
  d2.bytes.fill(2);
  EXPECT_FALSE(versions.Latest("npm/packuments", "left-pad")->has_value());
  ASSERT_TRUE(versions.Announce("npm/packuments", "left-pad", {d1, 100}).ok());
  ASSERT_TRUE(versions.Announce("npm/packuments", "left-pad", {d2, 200}).ok());
  ASSERT_TRUE(versions.Announce("go/list", "left-pad", {d1, 300}).ok());
  auto latest = versions.Latest("npm/packuments", "left-pad");
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->digest, d2);
  EXPECT_EQ((*latest)->fetched_ms, 200);
  EXPECT_EQ((*versions.Latest("go/list", "left-pad"))->fetched_ms, 300);
  server.Kill();
  EXPECT_EQ(versions.Latest("npm/packuments", "left-pad").status().code(), Code::kUnavailable);
}

TEST_F(RealRedisHotEntriesTest, CopiesAreBinarySafeExpireAndCanBeDropped) {
  RedisHotEntries hot(client, "hot-test:", milliseconds(300));
  const std::string manifest = std::string("{\"v\":1}\0\n\xff", 11);
  EXPECT_FALSE(hot.Get("c/entries/turbo%2Ft/aa")->has_value());
  ASSERT_TRUE(hot.Put("c/entries/turbo%2Ft/aa", manifest).ok());
  ASSERT_TRUE(hot.Put("c/entries/turbo%2Ft/bb", "other").ok());
  EXPECT_EQ(**hot.Get("c/entries/turbo%2Ft/aa"), manifest);
  EXPECT_EQ(*client.Command({"EXISTS", "hot-test:entry:c/entries/turbo%2Ft/aa"})->AsInteger(), 1);
  ASSERT_TRUE(hot.Drop("c/entries/turbo%2Ft/aa").ok());
  ASSERT_TRUE(hot.Drop("c/entries/turbo%2Ft/never").ok());
  EXPECT_FALSE(hot.Get("c/entries/turbo%2Ft/aa")->has_value());
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_FALSE(hot.Get("c/entries/turbo%2Ft/bb")->has_value()) << "expired";
  server.Kill();
  EXPECT_EQ(hot.Get("c/entries/turbo%2Ft/bb").status().code(), Code::kUnavailable);
  EXPECT_EQ(hot.Put("c/entries/turbo%2Ft/bb", "x").code(), Code::kUnavailable);
}

}  // namespace
}  // namespace cellar::redis
