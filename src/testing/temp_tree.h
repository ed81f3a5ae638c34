// Test-only: a scoped temporary directory with helpers to build a file tree
// from readable lines (files, directories, symlinks). Used by the glob and
// task-hash tests; removed with everything beneath it on destruction.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cellar::testing {

class TempTree {
 public:
  TempTree() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/cellar-tree-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) root_ = tmpl;
  }
  ~TempTree() {
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  // Empty when creation failed.
  const std::string& root() const { return root_; }
  std::string Path(const std::string& relative) const { return root_ + "/" + relative; }

  // Writes root/relative (creating parent directories); true on success.
  bool Write(const std::string& relative, const std::string& content) {
    if (!MakeParents(relative)) return false;
    std::ofstream out(Path(relative), std::ios::binary | std::ios::trunc);
    out << content;
    return static_cast<bool>(out);
  }
  bool Mkdir(const std::string& relative) {
    std::error_code ec;
    std::filesystem::create_directories(Path(relative), ec);
    return !ec;
  }
  // root/relative -> target (target stored as given, never resolved).
  bool Symlink(const std::string& target, const std::string& relative) {
    return MakeParents(relative) && ::symlink(target.c_str(), Path(relative).c_str()) == 0;
  }
  bool Remove(const std::string& relative) {
    std::error_code ec;
    return std::filesystem::remove_all(Path(relative), ec) > 0 && !ec;
  }

 private:
  bool MakeParents(const std::string& relative) {
    std::filesystem::path parent = std::filesystem::path(Path(relative)).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    return !ec;
  }

  std::string root_;
};

}  // namespace cellar::testing
