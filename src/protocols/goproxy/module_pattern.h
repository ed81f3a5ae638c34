// Module path patterns with the go command's GOPRIVATE/GONOSUMDB meaning: a
// comma-separated list of path.Match globs, each matching a module whose
// leading path elements match it ("corp.example/*" matches
// "corp.example/team/repo"). Used for --go-nosumdb and --go-route.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cellar::goproxy {

// Go's path.Match: '*' is any run of non-'/' characters, '?' one non-'/'
// character, '[...]' a class ('^' negates, 'a-z' ranges), '\\' escapes.
// A malformed pattern matches nothing.
bool GlobMatch(std::string_view pattern, std::string_view name);

class ModulePatterns {
 public:
  ModulePatterns() = default;
  // kInvalidArgument for a malformed glob (e.g. an unclosed '[').
  static Result<ModulePatterns> Parse(std::string_view list);
  // `module_path` is unescaped ("github.com/Azure/x").
  bool Matches(std::string_view module_path) const;
  bool empty() const { return globs_.empty(); }
  const std::vector<std::string>& globs() const { return globs_; }

 private:
  std::vector<std::string> globs_;
};

}  // namespace cellar::goproxy
