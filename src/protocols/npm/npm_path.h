// Parsing of npm registry request paths (the part after "/npm/"). Scoped
// names arrive in three spellings that must mean the same package:
// "@scope%2fname" (npm), "@scope%2Fname" (pnpm) and "@scope/name" (older
// clients); a path starting with "@" always consumes two raw segments as the
// name when the slash is not encoded. Wire details:
// docs/protocols/npm.md sections 1-2.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cellar::npm {

enum class NpmRequestKind {
  kPackument,  // /<name>
  kVersion,    // /<name>/<version or dist-tag>
  kTarball,    // /<name>/-/<file>.tgz
  kSpecial,    // /-/...: ping, whoami, search, audit, keys, attestations
};

struct NpmRequest {
  NpmRequestKind kind;
  std::string name;     // decoded: "lodash" or "@scope/name"
  std::string version;  // kVersion
  std::string file;     // kTarball: "name-1.2.3.tgz"
  std::string special;  // kSpecial: the path after "-/" (no query)
};

// `rest` is the raw request path after "/npm/" without the query string.
// nullopt for anything malformed: bad characters, "..", empty segments,
// encoded slashes outside a scoped name, overlong names.
std::optional<NpmRequest> ParseNpmPath(std::string_view rest);

// npm's package-name rules (validate-npm-package-name, old names allowed):
// at most 214 characters, URL-safe characters only, no leading "." or "_",
// scope "@x/" then a name.
bool IsValidPackageName(std::string_view name);

// The path below a registry root for a package: "@scope%2fname" or "lodash".
std::string EscapedName(std::string_view name);

}  // namespace cellar::npm
