#include "tasks/cache/local_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace cellar::taskcache {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class LocalCacheTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) / ("local_cache_" + std::to_string(::getpid()) + "_" +
                                            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A temp file from the cache holding `content`.
  std::string Temp(LocalCache& cache, const std::string& content) {
    Result<std::string> temp = cache.NewTempFile();
    EXPECT_TRUE(temp.ok()) << temp.error().ToString();
    std::ofstream(*temp, std::ios::binary) << content;
    return *temp;
  }
  // Names of the files in `dir`, sorted; empty when it does not exist.
  static std::vector<std::string> List(const fs::path& dir) {
    std::vector<std::string> names;
    if (!fs::exists(dir)) return names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_;
};

TEST_F(LocalCacheTest, InsertThenLookupFindsTheBytesAndTheirDigest) {
  LocalCache cache((root_ / "cache").string());
  Result<std::optional<LocalArtifact>> miss = cache.Lookup("abc123");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(*miss);

  std::string temp = Temp(cache, "artifact bytes");
  Result<LocalArtifact> inserted = cache.Insert("abc123", temp);
  ASSERT_TRUE(inserted.ok()) << inserted.error().ToString();
  EXPECT_FALSE(fs::exists(temp));
  Result<std::optional<LocalArtifact>> hit = cache.Lookup("abc123");
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(*hit);
  EXPECT_EQ(ReadFile((*hit)->path), "artifact bytes");
  ASSERT_TRUE((*hit)->digest);
  EXPECT_EQ((*hit)->digest->size, 14u);
  EXPECT_EQ((*hit)->digest, DigestFile((*hit)->path).value());
  EXPECT_EQ(List(root_ / "cache" / "tmp"), std::vector<std::string>{});
}

TEST_F(LocalCacheTest, InvalidHashesAreRefusedAndNeverBecomePaths) {
  LocalCache cache((root_ / "cache").string());
  EXPECT_EQ(cache.Lookup("../x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cache.Lookup("").status().code(), Code::kInvalidArgument);
  std::string temp = Temp(cache, "x");
  EXPECT_EQ(cache.Insert("a/b", temp).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(root_ / "cache" / "a"));
}

TEST_F(LocalCacheTest, FirstInsertWinsAndTheSecondCopyIsDiscarded) {
  LocalCache cache((root_ / "cache").string());
  ASSERT_TRUE(cache.Insert("h1", Temp(cache, "first")).ok());
  std::string second = Temp(cache, "second!");
  Result<LocalArtifact> again = cache.Insert("h1", second);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_EQ(ReadFile(again->path), "first");
  EXPECT_EQ(again->digest->size, 5u);
  EXPECT_FALSE(fs::exists(second));
}

TEST_F(LocalCacheTest, ConcurrentInsertsOfOneHashLeaveOneCompleteEntry) {
  LocalCache cache((root_ / "cache").string());
  const std::string content(200'000, 'q');
  std::vector<std::string> temps;
  for (int i = 0; i < 8; ++i) temps.push_back(Temp(cache, content));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (const std::string& t : temps) {
    threads.emplace_back([&, t] { ok += cache.Insert("same", t).ok() ? 1 : 0; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(List(root_ / "cache"), (std::vector<std::string>{"same.meta", "same.tar.zst", "tmp"}));
  EXPECT_EQ(List(root_ / "cache" / "tmp"), std::vector<std::string>{});
  Result<std::optional<LocalArtifact>> hit = cache.Lookup("same");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_EQ(ReadFile((*hit)->path), content);
}

TEST_F(LocalCacheTest, AnEntryShorterThanItsSidecarIsAMissAndIsRemoved) {
  LocalCache cache((root_ / "cache").string());
  Result<LocalArtifact> entry = cache.Insert("cut", Temp(cache, "0123456789"));
  ASSERT_TRUE(entry.ok());
  fs::resize_file(entry->path, 4);  // what a crash before the data reached the disk leaves
  Result<std::optional<LocalArtifact>> lookup = cache.Lookup("cut");
  ASSERT_TRUE(lookup.ok());
  EXPECT_FALSE(*lookup);
  EXPECT_FALSE(fs::exists(entry->path));
  EXPECT_FALSE(fs::exists(root_ / "cache" / "cut.meta"));
  // And the hash can be filled again.
  ASSERT_TRUE(cache.Insert("cut", Temp(cache, "fresh")).ok());
  EXPECT_EQ(ReadFile(cache.Lookup("cut")->value().path), "fresh");
}

TEST_F(LocalCacheTest, AnEntryWithoutSidecarIsStillAHit) {
  LocalCache cache((root_ / "cache").string());
  ASSERT_TRUE(cache.Insert("nometa", Temp(cache, "abc")).ok());
  fs::remove(root_ / "cache" / "nometa.meta");
  Result<std::optional<LocalArtifact>> hit = cache.Lookup("nometa");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_FALSE((*hit)->digest);
}

TEST_F(LocalCacheTest, ASidecarLeftFromAnEarlierFileNeverDescribesTheEntry) {
  LocalCache cache((root_ / "cache").string());
  ASSERT_TRUE(cache.Insert("again", Temp(cache, "the first, longer file")).ok());
  const fs::path meta = root_ / "cache" / "again.meta";
  const std::string first_sidecar = ReadFile(meta.string());
  // The artifact goes (a hand clean-up, a crash between the two unlinks) and
  // its sidecar stays; a new artifact is linked in under the same name.
  // (Kept alive under another name, so the new file cannot reuse its inode.)
  fs::rename(root_ / "cache" / "again.tar.zst", root_ / "first-artifact");
  std::string second = Temp(cache, "short");
  ASSERT_EQ(::link(second.c_str(), (root_ / "cache" / "again.tar.zst").c_str()), 0);
  fs::remove(second);
  // Until the new sidecar is written, the old one (another inode, another
  // size) must neither be reported nor make the entry look cut short.
  std::ofstream(meta, std::ios::trunc) << first_sidecar;
  Result<std::optional<LocalArtifact>> hit = cache.Lookup("again");
  ASSERT_TRUE(hit.ok() && *hit);
  EXPECT_FALSE((*hit)->digest);
  EXPECT_EQ(ReadFile((*hit)->path), "short");
}

TEST_F(LocalCacheTest, ASidecarWithoutInodeIsStillRead) {
  LocalCache cache((root_ / "cache").string());
  ASSERT_TRUE(cache.Insert("old", Temp(cache, "abc")).ok());
  const fs::path meta = root_ / "cache" / "old.meta";
  std::string line = ReadFile(meta.string());
  std::ofstream(meta, std::ios::trunc) << line.substr(0, line.rfind(' ')) << "\n";
  Result<std::optional<LocalArtifact>> hit = cache.Lookup("old");
  ASSERT_TRUE(hit.ok() && *hit);
  ASSERT_TRUE((*hit)->digest);
  EXPECT_EQ((*hit)->digest->size, 3u);
}

TEST_F(LocalCacheTest, TempFilesAreNeverLookedUp) {
  LocalCache cache((root_ / "cache").string());
  std::string temp = Temp(cache, "half-written");
  EXPECT_EQ(fs::path(temp).parent_path(), root_ / "cache" / "tmp");
  for (const std::string& name : List(root_ / "cache" / "tmp")) {
    std::string stem = name.substr(0, name.find('.'));
    Result<std::optional<LocalArtifact>> lookup = cache.Lookup(stem);
    ASSERT_TRUE(lookup.ok());
    EXPECT_FALSE(*lookup) << name;
  }
  LocalCache::RemoveTemp(temp);
  EXPECT_FALSE(fs::exists(temp));
}

TEST_F(LocalCacheTest, InsertTakesAFileFromElsewhereAndAKnownDigest) {
  LocalCache cache((root_ / "cache").string());
  std::string outside = (root_ / "built.tar.zst").string();
  std::ofstream(outside) << "outside";
  FileDigest digest = DigestFile(outside).value();
  Result<LocalArtifact> entry = cache.Insert("ext", outside, digest);
  ASSERT_TRUE(entry.ok()) << entry.error().ToString();
  EXPECT_FALSE(fs::exists(outside));
  EXPECT_EQ(cache.Lookup("ext")->value().digest, digest);
}

TEST_F(LocalCacheTest, PruneTempsRemovesOnlyOldLeftovers) {
  LocalCache cache((root_ / "cache").string());
  cache.PruneTemps(std::chrono::hours(1));  // no tmp/ yet: nothing to do
  std::string old_temp = Temp(cache, "interrupted run");
  std::string fresh_temp = Temp(cache, "in progress");
  fs::last_write_time(old_temp, fs::file_time_type::clock::now() - std::chrono::hours(2));
  cache.PruneTemps(std::chrono::hours(1));
  EXPECT_FALSE(fs::exists(old_temp));
  EXPECT_TRUE(fs::exists(fresh_temp));
}

TEST_F(LocalCacheTest, CleanRemovesEverythingAndToleratesAnAbsentDirectory) {
  LocalCache cache((root_ / "cache").string());
  ASSERT_TRUE(cache.Insert("a", Temp(cache, "1")).ok());
  Temp(cache, "leftover");
  ASSERT_TRUE(cache.Clean().ok());
  EXPECT_FALSE(fs::exists(root_ / "cache"));
  EXPECT_FALSE(*cache.Lookup("a"));
  EXPECT_TRUE(cache.Clean().ok());
}

}  // namespace
}  // namespace cellar::taskcache
