#include "protocols/git/shared_tier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "protocols/git/mirror_publisher.h"
#include "protocols/git/mirror_store.h"
#include "store/mem_blob_store.h"

namespace cellar::git {
namespace {

namespace fs = std::filesystem;

// Real git on real repositories in a temp dir; the bucket is in memory.
class SharedTierTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) / ("shared_tier_" + std::to_string(::getpid()) + "_" +
                                            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "tmp");
    env_ = {"HOME=" + root_.string(), "GIT_CONFIG_NOSYSTEM=1", "PATH=" + std::string(std::getenv("PATH")),
            "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
            "GIT_COMMITTER_EMAIL=t@example.com"};
    SharedTierOptions options;
    options.tmp_dir = (root_ / "tmp").string();
    options.max_incrementals = 2;
    options.git_env = env_;
    tier_ = std::make_unique<SharedGitTier>(blobs_, docs_, runner_, options);
    Git({"init", "-q", "-b", "main", Work()});
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Work() const { return (root_ / "work").string(); }
  std::string Mirror() const { return (root_ / "mirror.git").string(); }

  std::string Git(std::vector<std::string> args, const std::string& input = "") {
    env::SubprocessOptions o;
    o.argv = {"git"};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.env = env_;
    Result<env::RunResult> r = runner_.Run(std::move(o), input, std::chrono::seconds(60));
    EXPECT_TRUE(r.ok() && r->exit_code == 0) << "git " << args[0] << ": " << (r.ok() ? r->err : r.error().ToString());
    return r.ok() ? r->out : "";
  }
  void Commit(const std::string& file, const std::string& content) {
    std::ofstream(fs::path(Work()) / file) << content;
    Git({"-C", Work(), "add", file});
    Git({"-C", Work(), "commit", "-q", "-m", file});
  }
  // The mirror, as a node keeps it: a bare copy of every branch and tag.
  void SyncMirror() {
    if (!fs::exists(Mirror())) Git({"init", "-q", "--bare", Mirror()});
    Git({"-C", Mirror(), "fetch", "-q", "--prune", Work(), "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"});
    Git({"-C", Mirror(), "symbolic-ref", "HEAD", "refs/heads/main"});
  }
  // A new, empty bare repository restored from the bucket.
  Result<RestoreResult> RestoreInto(const std::string& name) {
    std::string path = (root_ / name).string();
    Git({"init", "-q", "--bare", path});
    return tier_->Restore("example.com/team/repo", path);
  }
  std::string Refs(const std::string& repo) { return Git({"-C", repo, "for-each-ref", "--format=%(objectname) %(refname)"}); }
  std::string Head(const std::string& repo) { return Git({"-C", repo, "symbolic-ref", "HEAD"}); }
  PublishResult::Kind Publish() {
    Result<PublishResult> r = tier_->Publish("example.com/team/repo", Mirror());
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? r->kind : PublishResult::Kind::kUnchanged;
  }
  void ExpectSameAsMirror(const std::string& name) {
    Result<RestoreResult> restored = RestoreInto(name);
    ASSERT_TRUE(restored.ok()) << restored.error().ToString();
    std::string path = (root_ / name).string();
    EXPECT_EQ(Refs(path), Refs(Mirror()));
    EXPECT_EQ(Head(path), "refs/heads/main\n");
    Git({"-C", path, "fsck", "--no-progress", "--connectivity-only"});
  }

  fs::path root_;
  std::vector<std::string> env_;
  env::SystemProcessRunner runner_;
  store::MemBlobStore blobs_;
  store::MemDocuments docs_;
  std::unique_ptr<SharedGitTier> tier_;
};

TEST_F(SharedTierTest, AFullBundleThenIncrementalsThenANewGeneration) {
  Commit("a.txt", "one");
  Git({"-C", Work(), "tag", "v1"});
  SyncMirror();
  EXPECT_EQ(Publish(), PublishResult::Kind::kFull);
  ExpectSameAsMirror("r1.git");
  EXPECT_EQ(Publish(), PublishResult::Kind::kUnchanged);

  Commit("b.txt", "two");
  Git({"-C", Work(), "branch", "feature"});
  SyncMirror();
  EXPECT_EQ(Publish(), PublishResult::Kind::kIncremental);
  ExpectSameAsMirror("r2.git");

  Commit("c.txt", "three");
  SyncMirror();
  EXPECT_EQ(Publish(), PublishResult::Kind::kIncremental);
  ExpectSameAsMirror("r3.git");

  Commit("d.txt", "four");  // max_incrementals (2) reached
  SyncMirror();
  EXPECT_EQ(Publish(), PublishResult::Kind::kFull);
  Result<RestoreResult> fresh = RestoreInto("r4.git");
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_EQ(fresh->bundles, 1);
  EXPECT_EQ(Refs((root_ / "r4.git").string()), Refs(Mirror()));
}

TEST_F(SharedTierTest, ANewBranchAtAnOldCommitIsPublished) {
  Commit("a.txt", "one");
  Commit("b.txt", "two");
  SyncMirror();
  ASSERT_EQ(Publish(), PublishResult::Kind::kFull);
  Git({"-C", Work(), "branch", "release", "HEAD~1"});  // a commit the bucket has
  Commit("c.txt", "three");
  SyncMirror();
  EXPECT_EQ(Publish(), PublishResult::Kind::kIncremental);
  ExpectSameAsMirror("r.git");
  EXPECT_NE(Refs((root_ / "r.git").string()).find("refs/heads/release"), std::string::npos);
}

TEST_F(SharedTierTest, ADeletedBranchNeedsNoBundleAndIsGoneAfterRestore) {
  Commit("a.txt", "one");
  Git({"-C", Work(), "branch", "old"});
  SyncMirror();
  ASSERT_EQ(Publish(), PublishResult::Kind::kFull);
  Git({"-C", Work(), "branch", "-D", "old"});
  SyncMirror();
  EXPECT_EQ(Publish(), PublishResult::Kind::kRefsOnly);
  ExpectSameAsMirror("r.git");
  EXPECT_EQ(Refs((root_ / "r.git").string()).find("refs/heads/old"), std::string::npos);
}

TEST_F(SharedTierTest, AForcePushedBranchRestoresToItsNewCommit) {
  Commit("a.txt", "one");
  Commit("b.txt", "two");
  SyncMirror();
  ASSERT_EQ(Publish(), PublishResult::Kind::kFull);
  Git({"-C", Work(), "reset", "-q", "--hard", "HEAD~1"});
  Commit("c.txt", "rewritten");
  SyncMirror();
  EXPECT_EQ(Publish(), PublishResult::Kind::kIncremental);
  ExpectSameAsMirror("r.git");
}

TEST_F(SharedTierTest, NothingInTheBucketIsNotFound) {
  Result<RestoreResult> r = RestoreInto("r.git");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST_F(SharedTierTest, AMissingBundleOrADamagedManifestFailsTheRestore) {
  Commit("a.txt", "one");
  SyncMirror();
  ASSERT_EQ(Publish(), PublishResult::Kind::kFull);
  const std::string name = SharedGitTier::ManifestName("example.com/team/repo");
  std::string manifest = docs_.Get(name).value().value();

  ASSERT_TRUE(docs_.Put(name, "{\"version\":1,").ok());
  EXPECT_EQ(RestoreInto("r1.git").status().code(), Code::kCorruption);
  // Well-formed JSON of the wrong shape is an error too, never a throw.
  int n = 0;
  for (const char* shape : {"{\"version\":\"1\"}", "{\"version\":1,\"bundles\":[{}],\"refs\":{}}",
                            "{\"version\":1,\"bundles\":[{\"blake3\":1,\"size\":\"x\"}],\"refs\":{}}",
                            "{\"version\":1,\"bundles\":[7],\"refs\":[]}", "[]", "{\"version\":1}"}) {
    ASSERT_TRUE(docs_.Put(name, shape).ok());
    EXPECT_EQ(RestoreInto("shape" + std::to_string(n++) + ".git").status().code(), Code::kCorruption) << shape;
  }
  // A publish over a damaged manifest starts a new generation.
  EXPECT_EQ(Publish(), PublishResult::Kind::kFull);

  size_t at = manifest.find("\"blake3\":\"") + 10;
  manifest.replace(at, 64, std::string(64, 'a'));
  ASSERT_TRUE(docs_.Put(name, manifest).ok());
  EXPECT_EQ(RestoreInto("r2.git").status().code(), Code::kNotFound);
}

TEST_F(SharedTierTest, ABucketThatIsDownIsUnavailable) {
  Commit("a.txt", "one");
  SyncMirror();
  docs_.SetUnavailable(true);
  EXPECT_EQ(tier_->Publish("example.com/team/repo", Mirror()).status().code(), Code::kUnavailable);
  EXPECT_EQ(RestoreInto("r.git").status().code(), Code::kUnavailable);
}

// Two nodes' MirrorStores over one bucket: what `cellar serve` wires up in
// fleet mode, without the HTTP around it.
class SharedTierNodesTest : public SharedTierTest {
 protected:
  struct Node {
    std::unique_ptr<SharedGitTier> tier;
    std::unique_ptr<MirrorStore> mirrors;
    std::unique_ptr<MirrorPublisher> publisher;
    int restored = 0;
    uint64_t restored_bytes = 0;
  };
  std::unique_ptr<Node> StartNode(const std::string& name) {
    auto node = std::make_unique<Node>();
    const std::string root = (root_ / name).string();
    SharedTierOptions tier_options;
    tier_options.tmp_dir = root + "/tmp";
    tier_options.git_env = MirrorStore::GitEnvFor(root, "", "");
    node->tier = std::make_unique<SharedGitTier>(blobs_, docs_, runner_, tier_options);
    MirrorOptions options;
    options.root = root;
    options.shared_tier = node->tier.get();
    Node* n = node.get();
    options.on_changed = [n](const std::string& key, std::shared_ptr<void> keep) {
      n->publisher->Schedule(key, std::move(keep));
    };
    options.on_restored = [n](bool ok, uint64_t bytes) {
      n->restored += ok ? 1 : 0;
      n->restored_bytes += bytes;
    };
    node->mirrors = std::make_unique<MirrorStore>(options, runner_);
    EXPECT_TRUE(node->mirrors->Init().ok());
    node->publisher = std::make_unique<MirrorPublisher>(*node->tier, *node->mirrors, nullptr);
    return node;
  }
  const std::string kRepo = "example.com/team/repo";
};

TEST_F(SharedTierNodesTest, ASecondNodeBuildsItsMirrorFromTheBucketThenFetchesTheRest) {
  Commit("a.txt", std::string(100'000, 'a'));
  auto a = StartNode("node-a");
  ASSERT_TRUE(a->mirrors->Update(kRepo, Work(), "").ok());
  a->publisher->WaitIdle();
  ASSERT_TRUE(docs_.Get(SharedGitTier::ManifestName(kRepo)).value()) << "node A published nothing";

  Commit("b.txt", "new upstream work after A's publish");
  auto b = StartNode("node-b");
  ASSERT_TRUE(b->mirrors->Update(kRepo, Work(), "").ok());
  EXPECT_EQ(b->restored, 1);
  EXPECT_GT(b->restored_bytes, 0u);
  EXPECT_EQ(Refs(b->mirrors->PathFor(kRepo)), Git({"-C", Work(), "for-each-ref", "--format=%(objectname) %(refname)",
                                                   "refs/heads", "refs/tags"}));
  EXPECT_EQ(Head(b->mirrors->PathFor(kRepo)), "refs/heads/main\n");
  Git({"-C", b->mirrors->PathFor(kRepo), "fsck", "--no-progress", "--connectivity-only"});
  b->publisher->WaitIdle();  // B's fetch brought b.txt: B publishes an increment
}

TEST_F(SharedTierNodesTest, WithTheUpstreamDownANewNodeStillGetsTheBucketsCopy) {
  Commit("a.txt", "published");
  auto a = StartNode("node-a");
  ASSERT_TRUE(a->mirrors->Update(kRepo, Work(), "").ok());
  a->publisher->WaitIdle();

  auto b = StartNode("node-b");
  Status down = b->mirrors->Update(kRepo, (root_ / "no-such-upstream").string(), "");
  EXPECT_FALSE(down.ok()) << "the upstream failure must still be reported";
  ASSERT_TRUE(b->mirrors->Exists(kRepo)) << "the bucket's copy should have been kept";
  EXPECT_EQ(Refs(b->mirrors->PathFor(kRepo)), Refs(a->mirrors->PathFor(kRepo)));
  EXPECT_FALSE(b->mirrors->FetchedWithin(kRepo, 60'000)) << "not fresh from the upstream";
}

TEST_F(SharedTierNodesTest, ABrokenBucketCopyFallsBackToAPlainClone) {
  Commit("a.txt", "x");
  auto a = StartNode("node-a");
  ASSERT_TRUE(a->mirrors->Update(kRepo, Work(), "").ok());
  a->publisher->WaitIdle();
  ASSERT_TRUE(docs_.Put(SharedGitTier::ManifestName(kRepo), "not json").ok());
  auto b = StartNode("node-b");
  ASSERT_TRUE(b->mirrors->Update(kRepo, Work(), "").ok());
  EXPECT_EQ(b->restored, 0);
  EXPECT_EQ(Refs(b->mirrors->PathFor(kRepo)), Refs(a->mirrors->PathFor(kRepo)));
}

}  // namespace
}  // namespace cellar::git
