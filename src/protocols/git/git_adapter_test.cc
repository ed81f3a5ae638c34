// The git adapter in-process: a real HTTP server on port 0, a scripted
// upstream (FakeHttpClient) and a scripted git (FakeProcessRunner), for the
// answers that only the shell suite (tests/integration/git_test.sh) covered:
// an unreachable upstream with and without a usable mirror, and git failing
// locally.
#include "protocols/git/git_adapter.h"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "auth/authenticator.h"
#include "env/curl_http_client.h"
#include "env/fake_process_runner.h"
#include "http/server.h"
#include "protocols/git/fake_git_for_test.h"
#include "testing/pull_through_fixture.h"

namespace cellar::git {
namespace {

namespace fs = std::filesystem;
using env::FakeProcessScript;

constexpr const char* kRepo = "example.com/org/repo";
constexpr const char* kUpstreamInfoRefs = "https://example.com/org/repo/info/refs?service=git-upload-pack";

class GitAdapterTest : public testing::PullThroughFixture {
 protected:
  GitAdapterTest() : auth_({}, auth::kScopeAll), git_metrics_(registry_) {}

  void SetUp() override {
    root_ = FreshTestDirForTest("cellar-git-adapter-test");
    ScriptWorkingGitForTest(git_);
  }

  void Start(GitOptions options) {
    options.allowed_hosts = {"example.com"};
    MirrorOptions mirror_options;
    mirror_options.root = root_.string();
    mirrors_ = std::make_unique<MirrorStore>(mirror_options, git_);
    ASSERT_TRUE(mirrors_->Init().ok());
    ctx_ = std::make_unique<protocols::ProtocolContext>(protocols::ProtocolContext{cache_, pool_, auth_});
    adapter_ = std::make_unique<GitAdapter>(*ctx_, upstream_, git_, *mirrors_, options, git_metrics_, registry_);
    adapter_->RegisterRoutes(router_);
    http::ServerOptions server_options;
    server_options.port = 0;
    server_options.access_log = false;
    server_ = std::make_unique<http::Server>(server_options, router_, registry_);
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
    if (thread_.joinable()) thread_.join();
    pool_.join();
    fs::remove_all(root_);
  }

  // A mirror that an anonymous client was allowed to read (as after a
  // clone while the upstream was up).
  void WarmPublicMirror() {
    ASSERT_TRUE(mirrors_->Update(kRepo, "https://example.com/org/repo", "").ok());
    mirrors_->MarkPublic(kRepo, true);
  }

  // --git-serve-stale, a warm public mirror, and the upstream down.
  void StartOfflineWithWarmMirror() {
    GitOptions options;
    options.serve_stale = true;
    Start(options);
    WarmPublicMirror();
    upstream_.SetDown(true);
  }

  struct Answer {
    int status = 0;
    std::string body;
    std::optional<std::string> stale;
  };
  Answer Get(const std::string& path, const std::string& post_body = "") {
    env::HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    if (!post_body.empty()) {
      req.method = "POST";
      req.body = post_body;
      req.headers = {{"Content-Type", "application/x-git-upload-pack-request"}};
    }
    Answer a;
    auto resp = client_.Send(req);
    EXPECT_TRUE(resp.ok()) << resp.error().ToString();
    if (!resp.ok()) return a;
    a.status = (*resp)->head().status;
    a.stale = (*resp)->head().Header("X-Cellar-Stale");
    auto body = env::ReadAll(**resp, 1 << 20);
    a.body = body.ok() ? *body : "<broken: " + body.error().ToString() + ">";
    return a;
  }

  fs::path root_;
  auth::Authenticator auth_;
  GitMetrics git_metrics_;
  boost::asio::thread_pool pool_{2};
  env::FakeProcessRunner git_;
  std::unique_ptr<MirrorStore> mirrors_;
  std::unique_ptr<protocols::ProtocolContext> ctx_;
  std::unique_ptr<GitAdapter> adapter_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  env::CurlHttpClient client_;
};

const std::string kInfoRefs = "/git/example.com/org/repo/info/refs?service=git-upload-pack";

TEST_F(GitAdapterTest, UnreachableUpstreamWithoutAMirrorIs502) {
  GitOptions options;
  options.serve_stale = true;
  Start(options);
  upstream_.SetDown(true);
  Answer a = Get(kInfoRefs);
  EXPECT_EQ(a.status, 502);
  EXPECT_NE(a.body.find("upstream example.com is unreachable"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("cellar has no usable copy"), std::string::npos) << a.body;
  EXPECT_EQ(git_.CallCount({"upload-pack"}), 0u);
}

TEST_F(GitAdapterTest, UnreachableUpstreamServesAWarmMirrorMarkedStale) {
  GitOptions options;
  options.serve_stale = true;
  Start(options);
  WarmPublicMirror();
  git_.Set({"git", "upload-pack", "--advertise-refs"},
           FakeProcessScript::Exit(0, "003f" + std::string(40, 'a') + " refs/heads/main\n0000"));
  upstream_.Set(kUpstreamInfoRefs, env::FakeReply::WithStatus(503, "down for maintenance"));
  Answer a = Get(kInfoRefs);
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.stale, "upstream unreachable");
  EXPECT_NE(a.body.find(std::string(40, 'a') + " refs/heads/main"), std::string::npos);
  EXPECT_TRUE(a.body.starts_with("001e# service=git-upload-pack\n0000")) << a.body;
  // The mirror was read, not the environment of cellar's user.
  auto call = git_.LastCall({"upload-pack", "--advertise-refs"});
  EXPECT_EQ(call->argv.back(), mirrors_->PathFor(kRepo));
  EXPECT_EQ(call->Env("GIT_CONFIG_GLOBAL"), "/dev/null");
}

TEST_F(GitAdapterTest, WithoutServeStaleAWarmMirrorIsNotServed) {
  Start(GitOptions{});
  WarmPublicMirror();
  upstream_.SetDown(true);
  EXPECT_EQ(Get(kInfoRefs).status, 502);
  EXPECT_EQ(git_.CallCount({"upload-pack"}), 0u);
}

TEST_F(GitAdapterTest, LocalGitFailureIsA500WithAFixedMessage) {
  StartOfflineWithWarmMirror();
  git_.Set({"git", "upload-pack"},
           FakeProcessScript::Exit(128, "", "fatal: '" + mirrors_->PathFor(kRepo) + "' does not appear to be a git repository\n"));
  Answer a = Get(kInfoRefs);
  EXPECT_EQ(a.status, 500);
  EXPECT_NE(a.body.find("cellar could not read its mirror of this repository"), std::string::npos) << a.body;
  EXPECT_EQ(a.body.find(root_.string()), std::string::npos) << "the data dir leaked: " << a.body;
}

TEST_F(GitAdapterTest, UpstreamAuthRefusalIsRelayedAndNothingIsServed) {
  Start(GitOptions{});
  WarmPublicMirror();
  auto refusal = env::FakeReply::WithStatus(401, "Authentication required");
  refusal.headers = {{"WWW-Authenticate", "Basic realm=\"example\""}};
  upstream_.Set(kUpstreamInfoRefs, refusal);
  Answer a = Get(kInfoRefs);
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body, "Authentication required");
  EXPECT_EQ(git_.CallCount({"upload-pack"}), 0u);
}

// A v0 request for one commit the mirror has.
std::string WantRequest(const std::string& oid) {
  return "0032want " + oid + "\n" + "0000" + "0009done\n";
}

TEST_F(GitAdapterTest, PackFromTheMirrorStreamsUploadPackOutput) {
  StartOfflineWithWarmMirror();
  const std::string oid(40, 'c');
  git_.Set({"git", "cat-file", "--batch-check"}, FakeProcessScript::Exit(0, oid + " commit 210\n"));
  std::string pack = "0008NAK\n" + std::string(200000, 'P');  // more than a pipe holds
  git_.Set({"git", "upload-pack", "--stateless-rpc"}, FakeProcessScript::Exit(0, pack));
  Answer a = Get("/git/example.com/org/repo/git-upload-pack", WantRequest(oid));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body.size(), pack.size());
  EXPECT_TRUE(a.body == pack);
  // The request reached git's stdin. The fake records it once the child's
  // stdin is closed, which may come a moment after the answer's last byte.
  std::optional<env::FakeProcessRunner::Call> call;
  for (int i = 0; i < 200; ++i) {
    call = git_.LastCall({"upload-pack", "--stateless-rpc"});
    if (call && !call->input.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(call);
  EXPECT_EQ(call->input, WantRequest(oid));
}

TEST_F(GitAdapterTest, UploadPackThatCannotStartIsA500) {
  StartOfflineWithWarmMirror();
  const std::string oid(40, 'd');
  git_.Set({"git", "cat-file", "--batch-check"}, FakeProcessScript::Exit(0, oid + " commit 210\n"));
  git_.Set({"git", "upload-pack", "--stateless-rpc"},
           FakeProcessScript::SpawnFailure(Status::ResourceExhausted("fork: Resource temporarily unavailable")));
  Answer a = Get("/git/example.com/org/repo/git-upload-pack", WantRequest(oid));
  EXPECT_EQ(a.status, 500);
  EXPECT_NE(a.body.find("cellar could not run git upload-pack"), std::string::npos) << a.body;
}

}  // namespace
}  // namespace cellar::git
