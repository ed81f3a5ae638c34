// Parsing and validation of GOPROXY request paths (the part after "/go/").
// Module paths and versions stay case-encoded ("!a" for "A"): the encoded
// form is the storage key, so example.com/M and example.com/m never merge.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cellar::goproxy {

enum class GoFileKind { kList, kLatest, kInfo, kMod, kZip };

struct GoRequest {
  GoFileKind kind;
  std::string module;   // case-encoded
  std::string version;  // case-encoded; empty for list and latest
  // The path below the proxy root, as sent upstream ("<module>/@v/<file>").
  std::string upstream_path;
};

// nullopt when the path is not a valid GOPROXY request.
std::optional<GoRequest> ParseGoPath(std::string_view rest);

// True for an escaped module path: lowercase ASCII letters, digits and
// "-._~/+!", "!" only before a lowercase letter, no empty, "." or ".."
// elements, at most 500 characters.
bool IsValidEscapedModule(std::string_view module);
bool IsValidEscapedVersion(std::string_view version);
// True for canonical semantic versions (vMAJOR.MINOR.PATCH[-pre][+incompatible]),
// whose .info never changes; anything else is a query (branch, commit prefix).
bool IsCanonicalVersion(std::string_view version);
// "github.com/!azure/x" -> "github.com/Azure/x". Input must be valid escaped.
std::string UnescapeGoPath(std::string_view escaped);

}  // namespace cellar::goproxy
