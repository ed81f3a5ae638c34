// The parts of a package.json the task runner reads. Used by LoadWorkspace
// and `cellar init`.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace cellar::tasks {

struct PackageJson {
  std::optional<std::string> name;
  std::map<std::string, std::string> scripts;
  // Names in dependencies, devDependencies, peerDependencies and
  // optionalDependencies, whatever their version specs.
  std::set<std::string> dependency_names;
  // "workspaces" as an array or as {"packages": [...]}; nullopt when absent.
  std::optional<std::vector<std::string>> workspaces;
  std::string package_manager;  // "packageManager", e.g. "pnpm@9.1.0"; "" when absent
};

// nullopt when `path` does not exist. Fails with the path on unreadable or
// malformed JSON, or fields of the wrong type.
Result<std::optional<PackageJson>> ReadPackageJson(const std::string& path);
Result<PackageJson> ParsePackageJson(const std::string& text, const std::string& path);

// Reads a whole file; nullopt when it does not exist.
Result<std::optional<std::string>> ReadFileIfExists(const std::string& path);

}  // namespace cellar::tasks
