// Test helpers for src/tasks/artifact: scoped temporary directories, small file trees built
// from text, a tree listing to compare two trees, and raw archives written with libarchive
// directly (so tests can build artifacts our writer would never produce).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "glob/glob.h"

namespace cellar::artifact::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

 private:
  std::string path_;
};

// Creates parents as needed.
void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644);
void MakeDirs(const std::string& path);
void MakeSymlink(const std::string& target, const std::string& path);
std::string ReadFile(const std::string& path);
bool Exists(const std::string& path);  // lstat: a dangling symlink exists

// One line per entry under root, sorted: "d path mode", "f path mode content",
// "l path -> target". Never follows symlinks.
std::vector<std::string> ListTree(const std::string& root);

glob::PatternSet Outputs(const std::vector<std::string>& patterns);

struct RawEntry {
  std::string name;         // the tar name, used verbatim
  mode_t type = 0100000;    // AE_IFREG
  mode_t perm = 0644;
  std::string content;      // regular files
  std::string symlink;      // symlinks
  std::string hardlink;     // set: a hard link entry to this name
};
// A regular-file entry under files/.
RawEntry File(const std::string& path, const std::string& content, mode_t perm = 0644);
RawEntry Symlink(const std::string& path, const std::string& target);
RawEntry Dir(const std::string& path);

// Writes a tar+zstd artifact with a valid metadata entry followed by `entries`.
void WriteRawArtifact(const std::string& file, const std::vector<RawEntry>& entries);

}  // namespace cellar::artifact::testing
