#include "tasks/run/artifact_task_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tasks/artifact/output_stamp.h"
#include "tasks/cache/fake_remote_cache.h"

namespace cellar::tasks {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// Two machines' worth of directories: a package and a local cache each, one
// fake remote between them.
class ArtifactTaskCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("cellar-atc-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    Write(root_ / "a/pkg/dist/out.txt", "built\n");
    Write(root_ / "a/pkg/bin/tool.sh", "#!/bin/sh\n");
    fs::permissions(root_ / "a/pkg/bin/tool.sh", fs::perms::owner_all);
    fs::create_symlink("dist/out.txt", root_ / "a/pkg/latest");
    Write(root_ / "a/task.log", "compiling\ndone\n");
    fs::create_directories(root_ / "b/pkg");
  }
  void TearDown() override { fs::remove_all(root_); }

  RunTask Task(const std::string& machine) {
    RunTask t;
    t.id = "pkg#build";
    t.package_dir = (root_ / machine / "pkg").string();
    t.command = "build";
    t.hash = "0123456789abcdef0123456789abcdef";
    t.outputs = {"dist", "bin/tool.sh", "latest"};
    return t;
  }
  ArtifactTaskCacheOptions Options() {
    ArtifactTaskCacheOptions o;
    o.upload_wait = std::chrono::seconds(10);
    return o;
  }
  void Warn(const Status& s) { warnings_.push_back(s.message()); }

  fs::path root_;
  taskcache::FakeRemoteCache fake_;
  std::vector<std::string> warnings_;
};

TEST_F(ArtifactTaskCacheTest, SavedTaskIsRestoredLocallyAndUploaded) {
  taskcache::LocalCache local((root_ / "a/cache").string());
  taskcache::GuardedRemoteCache remote(fake_, [this](const Status& s) { Warn(s); });
  ArtifactTaskCache cache(local, &remote, Options(), nullptr);
  RunTask task = Task("a");
  ASSERT_TRUE(cache.Save(task, (root_ / "a/task.log").string(), std::chrono::milliseconds(1234)).ok());
  EXPECT_TRUE(cache.Finish(false).empty());
  EXPECT_EQ(fake_.uploaded(), std::vector<std::string>{task.hash});
  EXPECT_EQ(cache.uploads_stored(), 1u);

  fs::remove_all(root_ / "a/pkg/dist");
  std::string warning;
  auto hit = cache.Restore(task, &warning);
  ASSERT_TRUE(hit) << warning;
  EXPECT_EQ(hit->source, CacheSource::kLocal);
  EXPECT_EQ(hit->log, "compiling\ndone\n");
  EXPECT_EQ(hit->recorded_duration, std::chrono::milliseconds(1234));
  EXPECT_EQ(Read(root_ / "a/pkg/dist/out.txt"), "built\n");
}

TEST_F(ArtifactTaskCacheTest, UntouchedOutputsOfALocalHitAreNotExtractedAgain) {
  taskcache::LocalCache local((root_ / "a/cache").string());
  ArtifactTaskCacheOptions o = Options();
  o.read_remote = o.write_remote = false;
  o.output_stamp_dir = (root_ / "a/stamps").string();
  ArtifactTaskCache cache(local, nullptr, o, nullptr);
  RunTask task = Task("a");
  ASSERT_TRUE(cache.Save(task, (root_ / "a/task.log").string(), std::chrono::milliseconds(7)).ok());
  std::string warning;
  // Outputs younger than the racy window are restored in full and not stamped.
  auto fresh = cache.Restore(task, &warning);
  ASSERT_TRUE(fresh) << warning;
  EXPECT_FALSE(fresh->outputs_untouched);
  EXPECT_FALSE(fs::exists(root_ / "a/stamps"));
  std::this_thread::sleep_for(artifact::kOutputStampRacyWindow + std::chrono::milliseconds(200));
  // Old enough: compared with the artifact (equal, left alone), then stamped.
  auto compared = cache.Restore(task, &warning);
  ASSERT_TRUE(compared) << warning;
  EXPECT_FALSE(compared->outputs_untouched);
  ASSERT_TRUE(fs::exists(root_ / "a/stamps"));
  // Untouched since: the stamp holds the log, so the artifact is not even
  // opened (damaged in place, same size, it still gives the same hit).
  auto entry = local.Lookup(task.hash);
  ASSERT_TRUE(entry.ok() && *entry);
  const std::string artifact = (*entry)->path;
  const std::string intact = Read(artifact);
  Write(artifact, std::string(intact.size(), 'z'));
  auto untouched = cache.Restore(task, &warning);
  ASSERT_TRUE(untouched) << warning;
  EXPECT_TRUE(untouched->outputs_untouched);
  EXPECT_EQ(untouched->log, "compiling\ndone\n");
  EXPECT_EQ(untouched->recorded_duration, std::chrono::milliseconds(7));
  Write(artifact, intact);
  // Edited, or joined by a stale file: restored in full again.
  Write(root_ / "a/pkg/dist/out.txt", "edited\n");
  Write(root_ / "a/pkg/dist/stale.txt", "not in the artifact\n");
  auto repaired = cache.Restore(task, &warning);
  ASSERT_TRUE(repaired) << warning;
  EXPECT_FALSE(repaired->outputs_untouched);
  EXPECT_EQ(Read(root_ / "a/pkg/dist/out.txt"), "built\n");
  EXPECT_FALSE(fs::exists(root_ / "a/pkg/dist/stale.txt"));
}

TEST_F(ArtifactTaskCacheTest, RemoteHitIsDownloadedKeptLocallyAndRestoredElsewhere) {
  {
    taskcache::LocalCache local_a((root_ / "a/cache").string());
    taskcache::GuardedRemoteCache remote_a(fake_, nullptr);
    ArtifactTaskCache a(local_a, &remote_a, Options(), nullptr);
    ASSERT_TRUE(a.Save(Task("a"), (root_ / "a/task.log").string(), std::chrono::milliseconds(5)).ok());
    a.Finish(false);
  }
  // The upload declared the task's duration (the server's build time saved).
  EXPECT_EQ(fake_.duration_of(Task("a").hash), 5u);
  taskcache::LocalCache local_b((root_ / "b/cache").string());
  taskcache::GuardedRemoteCache remote_b(fake_, [this](const Status& s) { Warn(s); });
  ArtifactTaskCache b(local_b, &remote_b, Options(), nullptr);
  RunTask other = Task("b");
  other.hash = "ffffffffffffffffffffffffffffffff";  // a miss everywhere
  b.Prepare({Task("b"), other});
  EXPECT_EQ(fake_.lookup_calls(), 1);  // one batch for the whole run
  EXPECT_EQ(fake_.looked_up().size(), 2u);
  std::string warning;
  auto hit = b.Restore(Task("b"), &warning);
  ASSERT_TRUE(hit) << warning;
  EXPECT_EQ(hit->source, CacheSource::kRemote);
  EXPECT_EQ(hit->log, "compiling\ndone\n");
  EXPECT_EQ(Read(root_ / "b/pkg/dist/out.txt"), "built\n");
  EXPECT_EQ(fs::read_symlink(root_ / "b/pkg/latest"), "dist/out.txt");
  EXPECT_NE(fs::status(root_ / "b/pkg/bin/tool.sh").permissions() & fs::perms::owner_exec, fs::perms::none);
  auto kept = local_b.Lookup(Task("b").hash);
  ASSERT_TRUE(kept.ok() && *kept);
  EXPECT_FALSE(b.Restore(other, &warning));
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(ArtifactTaskCacheTest, CorruptRemoteArtifactIsAMissNeverAHit) {
  fake_.Put(Task("b").hash, "not a tar.zst at all");
  taskcache::LocalCache local((root_ / "b/cache").string());
  taskcache::GuardedRemoteCache remote(fake_, nullptr);
  ArtifactTaskCache cache(local, &remote, Options(), nullptr);
  cache.Prepare({Task("b")});
  std::string warning;
  EXPECT_FALSE(cache.Restore(Task("b"), &warning));
  EXPECT_NE(warning.find("could not be restored"), std::string::npos) << warning;
  EXPECT_FALSE(fs::exists(root_ / "b/pkg/dist"));
}

TEST_F(ArtifactTaskCacheTest, ReadOnlyTokenKeepsLocalCacheAndWarnsOnce) {
  fake_.SetUploadError(Status::PermissionDenied("token lacks write scope"));
  taskcache::LocalCache local((root_ / "a/cache").string());
  taskcache::GuardedRemoteCache remote(fake_, [this](const Status& s) { Warn(s); });
  ArtifactTaskCache cache(local, &remote, Options(), nullptr);
  RunTask t1 = Task("a");
  RunTask t2 = Task("a");
  t2.hash = "11111111111111111111111111111111";
  ASSERT_TRUE(cache.Save(t1, (root_ / "a/task.log").string(), std::chrono::milliseconds(1)).ok());
  cache.Finish(false);
  ASSERT_TRUE(cache.Save(t2, (root_ / "a/task.log").string(), std::chrono::milliseconds(1)).ok());
  EXPECT_TRUE(cache.Finish(false).empty());
  EXPECT_TRUE(fake_.uploaded().empty());
  EXPECT_EQ(warnings_.size(), 1u);
  auto entry = local.Lookup(t2.hash);
  EXPECT_TRUE(entry.ok() && *entry);
}

TEST_F(ArtifactTaskCacheTest, RemoteDownIsOneWarningAndLocalStillWorks) {
  fake_.SetDown(Status::Unavailable("connection refused"));
  taskcache::LocalCache local((root_ / "a/cache").string());
  taskcache::GuardedRemoteCache remote(fake_, [this](const Status& s) { Warn(s); });
  ArtifactTaskCache cache(local, &remote, Options(), nullptr);
  cache.Prepare({Task("a")});
  std::string warning;
  EXPECT_FALSE(cache.Restore(Task("a"), &warning));
  EXPECT_TRUE(warning.empty());
  ASSERT_TRUE(cache.Save(Task("a"), (root_ / "a/task.log").string(), std::chrono::milliseconds(1)).ok());
  cache.Finish(false);
  EXPECT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(cache.Restore(Task("a"), &warning));
}

TEST_F(ArtifactTaskCacheTest, LocalOnlyNeverTouchesTheRemote) {
  taskcache::LocalCache local((root_ / "a/cache").string());
  taskcache::GuardedRemoteCache remote(fake_, nullptr);
  auto o = Options();
  o.read_remote = o.write_remote = false;
  ArtifactTaskCache cache(local, &remote, o, nullptr);
  cache.Prepare({Task("a")});
  ASSERT_TRUE(cache.Save(Task("a"), (root_ / "a/task.log").string(), std::chrono::milliseconds(1)).ok());
  cache.Finish(false);
  EXPECT_EQ(fake_.lookup_calls(), 0);
  EXPECT_TRUE(fake_.uploaded().empty());
}

}  // namespace
}  // namespace cellar::tasks
