// The packages of a workspace and the dependencies between them.
//
// Packages come from cellar.yml `packages` globs, else pnpm-workspace.yaml,
// else package.json `workspaces` (array or {"packages": [...]}), else the
// globs apps/*, libs/*, packages/*; with none found the root is the only
// package. A workspace dependency is any name in dependencies,
// devDependencies, peerDependencies or optionalDependencies that names another
// workspace package, whatever its version spec. docs/cellar-yml.md describes
// the rules. Used by tasks/graph and `cellar init`.
// Thread-safety: LoadWorkspace reads the disk and is reentrant; the result is
// a plain value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace cellar::tasks {

// The name of the root package when it has no package.json name.
inline constexpr std::string_view kRootPackageName = "//";

struct Package {
  std::string name;                            // package.json "name", else `dir`
  std::string dir;                             // relative to the root, '/'-separated; "." for the root
  bool has_package_json = false;
  std::map<std::string, std::string> scripts;  // package.json "scripts"
  std::vector<std::string> dependencies;       // workspace package names, sorted, unique
};

struct Workspace {
  std::string root;               // absolute
  std::vector<Package> packages;  // sorted by name
  // How packages were found: "cellar.yml", "pnpm-workspace.yaml",
  // "package.json", "default globs" or "root".
  std::string source;
  // npm, pnpm, yarn or bun: from package.json "packageManager", else the lockfile.
  std::string package_manager = "npm";

  const Package* Find(std::string_view name) const;
  // By name, else by dir ("apps/web", "./apps/web/" and "apps/web/" alike).
  const Package* FindByNameOrDir(std::string_view selector) const;
  // The innermost package other than the root whose directory holds
  // `path` (absolute); null when `path` is the root, outside the workspace
  // or in no package.
  const Package* PackageContaining(const std::string& path) const;
  // The command that runs `script` with this workspace's package manager.
  std::string ScriptCommand(std::string_view script) const;
};

// Reads the workspace at `root`. `config_packages` is cellar.yml's `packages`
// (nullopt when the file has none). Fails naming the file on an unreadable
// or malformed package.json / pnpm-workspace.yaml, a bad glob, or two
// packages with the same name.
Result<Workspace> LoadWorkspace(const std::string& root,
                                const std::optional<std::vector<std::string>>& config_packages);

// The package manager a root uses (see Workspace::package_manager).
std::string DetectPackageManager(const std::string& root);

}  // namespace cellar::tasks
