#include "tasks/artifact/artifact_test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tasks/artifact/artifact.h"
#include "tasks/artifact/artifact_format.h"
#include "tasks/artifact/zstd_stream.h"

namespace cellar::artifact::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string templ = (fs::temp_directory_path() / "cellar-artifact-XXXXXX").string();
  char* made = ::mkdtemp(templ.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  // Restore write permission on directories a test made read-only, then remove.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0755);
  }
  fs::remove_all(path_, ec);
}

void MakeDirs(const std::string& path) { fs::create_directories(path); }

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  MakeDirs(fs::path(path).parent_path().string());
  ::unlink(path.c_str());
  std::ofstream(path, std::ios::binary) << content;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

void MakeSymlink(const std::string& target, const std::string& path) {
  MakeDirs(fs::path(path).parent_path().string());
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> ListTree(const std::string& root) {
  std::vector<std::string> lines;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::end(it); ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    struct stat st;
    ::lstat(it->path().c_str(), &st);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", st.st_mode & 07777);
    if (S_ISLNK(st.st_mode)) {
      lines.push_back("l " + rel + " -> " + fs::read_symlink(it->path()).string());
    } else if (S_ISDIR(st.st_mode)) {
      lines.push_back("d " + rel + " " + mode);
    } else {
      lines.push_back("f " + rel + " " + mode + " " + ReadFile(it->path()));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

glob::PatternSet Outputs(const std::vector<std::string>& patterns) {
  auto set = glob::PatternSet::Parse(patterns);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return set.ok() ? std::move(set).value() : glob::PatternSet();
}

RawEntry File(const std::string& path, const std::string& content, mode_t perm) {
  RawEntry e;
  e.name = std::string(kFilesPrefix) + path;
  e.perm = perm;
  e.content = content;
  return e;
}

RawEntry Symlink(const std::string& path, const std::string& target) {
  RawEntry e;
  e.name = std::string(kFilesPrefix) + path;
  e.type = AE_IFLNK;
  e.perm = 0777;
  e.symlink = target;
  return e;
}

RawEntry Dir(const std::string& path) {
  RawEntry e;
  e.name = std::string(kFilesPrefix) + path;
  e.type = AE_IFDIR;
  e.perm = 0755;
  return e;
}

namespace {
la_ssize_t ToZstd(struct archive*, void* client, const void* buffer, size_t length) {
  return static_cast<ZstdFileWriter*>(client)->Write(buffer, length).ok()
             ? static_cast<la_ssize_t>(length)
             : -1;
}
}  // namespace

void WriteRawArtifact(const std::string& file, const std::vector<RawEntry>& entries) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ZstdFileWriter zstd(fd, 3);
  struct archive* a = archive_write_new();
  // GNU format: it can carry every entry type, hard links and devices included.
  ASSERT_EQ(archive_write_set_format_gnutar(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open2(a, &zstd, nullptr, &ToZstd, nullptr, nullptr), ARCHIVE_OK);
  RawEntry meta;
  meta.name = std::string(kMetadataEntry);
  meta.content = EncodeMetadata({kFormatVersion, "pkg#build", 5, 0});
  std::vector<RawEntry> all = {meta};
  all.insert(all.end(), entries.begin(), entries.end());
  for (const RawEntry& r : all) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, r.name.c_str());
    archive_entry_set_filetype(e, r.type);
    archive_entry_set_perm(e, r.perm);
    if (!r.symlink.empty()) archive_entry_copy_symlink(e, r.symlink.c_str());
    if (!r.hardlink.empty()) archive_entry_copy_hardlink(e, r.hardlink.c_str());
    if (r.type == AE_IFCHR) archive_entry_set_rdev(e, makedev(1, 3));
    archive_entry_set_size(e, r.type == AE_IFREG && r.hardlink.empty()
                                  ? static_cast<int64_t>(r.content.size())
                                  : 0);
    ASSERT_GE(archive_write_header(a, e), ARCHIVE_WARN) << archive_error_string(a);
    if (!r.content.empty()) archive_write_data(a, r.content.data(), r.content.size());
    archive_entry_free(e);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  ASSERT_TRUE(zstd.Finish().ok());
  ::close(fd);
}

}  // namespace cellar::artifact::testing
