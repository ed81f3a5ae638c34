#include "tasks/artifact/output_stamp.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <fcntl.h>

#include <chrono>
#include <thread>

#include "tasks/artifact/artifact.h"
#include "tasks/artifact/artifact_test_util.h"

namespace cellar::artifact {
namespace {

using namespace testing;  // NOLINT: the artifact test helpers
using std::chrono::system_clock;

class OutputStampTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "pkg/dist/a.js", "a");
    WriteFile(dir_ / "pkg/dist/sub/b.js", "bb");
    WriteFile(dir_ / "pkg/src/in.ts", "source");
    MakeSymlink("a.js", dir_ / "pkg/dist/link.js");
  }
  std::string Pkg() const { return dir_ / "pkg"; }
  // A stamp taken "later": as if the files were written 10 s before it.
  OutputStamp Stamp() {
    auto stamp = TakeOutputStamp(Pkg(), outputs_, "h1", system_clock::now() + std::chrono::seconds(10));
    EXPECT_TRUE(stamp.ok()) << stamp.error().ToString();
    EXPECT_TRUE(stamp.ok() && stamp->has_value());
    return stamp.ok() && stamp->has_value() ? **stamp : OutputStamp{};
  }

  TempDir dir_;
  glob::PatternSet outputs_ = Outputs({"dist/**"});
};

TEST_F(OutputStampTest, ListsTheOutputsOnlyAndSeesThemIntact) {
  OutputStamp stamp = Stamp();
  std::vector<std::string> paths;
  for (const auto& e : stamp.entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"dist", "dist/a.js", "dist/link.js", "dist/sub", "dist/sub/b.js"}));
  EXPECT_TRUE(OutputsIntact(stamp, Pkg(), outputs_, "h1"));
  // Another artifact, or the same outputs elsewhere, is not this stamp.
  EXPECT_FALSE(OutputsIntact(stamp, Pkg(), outputs_, "h2"));
  EXPECT_FALSE(OutputsIntact(stamp, dir_ / "other", outputs_, "h1"));
}

TEST_F(OutputStampTest, AnyChangeToTheOutputsIsSeen) {
  {
    OutputStamp stamp = Stamp();
    WriteFile(dir_ / "pkg/dist/new.js", "extra");  // an output the artifact does not hold
    EXPECT_FALSE(OutputsIntact(stamp, Pkg(), outputs_, "h1"));
    ::unlink((dir_ / "pkg/dist/new.js").c_str());
  }
  {
    OutputStamp stamp = Stamp();
    ::unlink((dir_ / "pkg/dist/sub/b.js").c_str());  // one gone
    EXPECT_FALSE(OutputsIntact(stamp, Pkg(), outputs_, "h1"));
    WriteFile(dir_ / "pkg/dist/sub/b.js", "bb");
  }
  {
    OutputStamp stamp = Stamp();
    // Same size, old mtime put back: ctime still moves.
    struct stat before;
    ASSERT_EQ(::stat((dir_ / "pkg/dist/a.js").c_str(), &before), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    WriteFile(dir_ / "pkg/dist/a.js", "A");
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ / "pkg/dist/a.js").c_str(), times, 0), 0);
    EXPECT_FALSE(OutputsIntact(stamp, Pkg(), outputs_, "h1"));
  }
  {
    OutputStamp stamp = Stamp();
    ASSERT_EQ(::chmod((dir_ / "pkg/dist/a.js").c_str(), 0755), 0);
    EXPECT_FALSE(OutputsIntact(stamp, Pkg(), outputs_, "h1"));
  }
  {
    OutputStamp stamp = Stamp();
    WriteFile(dir_ / "pkg/src/in.ts", "not an output");  // inputs are not this check's business
    EXPECT_TRUE(OutputsIntact(stamp, Pkg(), outputs_, "h1"));
  }
}

TEST_F(OutputStampTest, FreshlyWrittenOutputsAreNotStampedAndARacyStampIsNotTrusted) {
  auto now = TakeOutputStamp(Pkg(), outputs_, "h1", system_clock::now());
  ASSERT_TRUE(now.ok());
  EXPECT_FALSE(now->has_value());  // written just now: within the racy window
  OutputStamp forged = Stamp();
  forged.taken_ns -= std::chrono::nanoseconds(std::chrono::seconds(10)).count();
  EXPECT_FALSE(OutputsIntact(forged, Pkg(), outputs_, "h1"));
}

TEST_F(OutputStampTest, SavedAndLoadedAlikeAndDamageIsNoStamp) {
  OutputStamp stamp = Stamp();
  const std::string path = dir_ / "stamp";
  ASSERT_TRUE(SaveOutputStamp(path, stamp).ok());
  auto loaded = LoadOutputStamp(path);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->artifact_hash, "h1");
  EXPECT_EQ(loaded->entries, stamp.entries);
  EXPECT_TRUE(OutputsIntact(*loaded, Pkg(), outputs_, "h1"));
  EXPECT_FALSE(LoadOutputStamp(dir_ / "missing").has_value());
  WriteFile(path, "{\"format\":1,\"artifact\":");
  EXPECT_FALSE(LoadOutputStamp(path).has_value());
  for (int other_format : {1, 3}) {  // older or newer cellar
    WriteFile(path, "{\"format\":" + std::to_string(other_format) +
                        ",\"artifact\":\"h1\",\"package_dir\":\"/x\",\"taken_ns\":1,\"entries\":[]}");
    EXPECT_FALSE(LoadOutputStamp(path).has_value()) << other_format;
  }
}

TEST_F(OutputStampTest, KeepsTheArtifactsMetadataAndAShortLogWhateverItsBytes) {
  RestoreResult restored;
  restored.metadata.format_version = 1;
  restored.metadata.task_id = "pkg#build";
  restored.metadata.duration_ms = 4321;
  restored.log = std::string("colour \x1b[32mok\x1b[0m, latin-1 \xe9, NUL \0 end\n", 40);
  restored.metadata.log_bytes = restored.log.size();
  restored.files_written = 3;  // counts describe one restore: not kept
  auto taken = TakeOutputStamp(Pkg(), outputs_, "h1", system_clock::now() + std::chrono::seconds(10), &restored);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  const std::string path = dir_ / "stamp";
  ASSERT_TRUE(SaveOutputStamp(path, **taken).ok());
  auto loaded = LoadOutputStamp(path);
  ASSERT_TRUE(loaded && loaded->head);
  EXPECT_EQ(loaded->head->log, restored.log);
  EXPECT_EQ(loaded->head->metadata.task_id, "pkg#build");
  EXPECT_EQ(loaded->head->metadata.duration_ms, 4321);
  EXPECT_EQ(loaded->head->metadata.log_bytes, restored.log.size());
  EXPECT_FALSE(loaded->head->log_truncated);
  EXPECT_EQ(loaded->head->files_written, 0u);

  restored.log.assign(kStampedLogLimit + 1, 'x');  // too long: read from the artifact instead
  auto long_log = TakeOutputStamp(Pkg(), outputs_, "h1", system_clock::now() + std::chrono::seconds(10), &restored);
  ASSERT_TRUE(long_log.ok() && long_log->has_value());
  EXPECT_FALSE((*long_log)->head.has_value());
  ASSERT_TRUE(SaveOutputStamp(path, **long_log).ok());
  loaded = LoadOutputStamp(path);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_FALSE(loaded->head.has_value());
}

TEST(ArtifactHeadTest, ReadsTheMetadataAndTheLogOnly) {
  TempDir dir;
  WriteFile(dir / "pkg/dist/a.js", "a");
  WriteFile(dir / "log.txt", "the task said hello\n");
  WriteOptions w;
  w.task_id = "pkg#build";
  w.duration_ms = 1234;
  w.log_file = dir / "log.txt";
  auto info = WriteArtifact(dir / "pkg", Outputs({"dist/**"}), w, dir / "a.tar.zst");
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  auto head = ReadArtifactHead(dir / "a.tar.zst");
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  EXPECT_EQ(head->log, "the task said hello\n");
  EXPECT_EQ(head->metadata.duration_ms, 1234);
  EXPECT_EQ(head->metadata.task_id, "pkg#build");
  EXPECT_EQ(head->files_written + head->files_unchanged, 0u);
  RestoreOptions small;
  small.max_log_bytes = 4;
  auto cut = ReadArtifactHead(dir / "a.tar.zst", small);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->log, "the ");
  EXPECT_TRUE(cut->log_truncated);
}

}  // namespace
}  // namespace cellar::artifact
