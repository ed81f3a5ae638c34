// go.sum hashes ("h1:" directory hashes) and the go command's rules for
// module zips. cellar checks both before it stores a .zip or .mod, so a
// tampered or malformed upstream file is refused instead of being cached.
// Wire details: docs/protocols/goproxy.md sections 8-9.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cellar::goproxy {

struct ZipLimits {
  uint64_t max_zip_bytes = 500ULL << 20;       // the go command's MaxZipFile
  uint64_t max_unpacked_bytes = 500ULL << 20;  // total of all files
  uint64_t max_go_mod_bytes = 16ULL << 20;
  uint64_t max_license_bytes = 16ULL << 20;
};

// One file of a directory hash: its name and the SHA-256 of its content.
using HashedFile = std::pair<std::string, std::array<uint8_t, 32>>;

// "h1:" + base64(SHA-256 of "<hex sha256>  <name>\n" for every file sorted
// by name). kInvalidArgument when a name contains a newline.
Result<std::string> DirHash1(std::vector<HashedFile> files);

// The go.sum hash of a .mod file (one file named "go.mod").
std::string ModFileHash1(std::string_view go_mod);

// Checks the zip in `fd` (read with pread; the offset is not used) against
// the go command's rules for module `module_path@version` (both unescaped):
// every entry under "<module>@<version>/", clean relative paths with safe
// characters, no case-insensitive duplicates, go.mod only at the root,
// sizes within `limits`. Returns the zip's h1: hash, or kCorruption naming
// the first problem.
Result<std::string> CheckModuleZip(int fd, std::string_view module_path, std::string_view version,
                                   const ZipLimits& limits = {});

}  // namespace cellar::goproxy
