// LoadWorkspace: which directories are packages, and how they depend on each other.
#include "tasks/workspace/workspace.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <yaml-cpp/yaml.h>

#include "glob/glob.h"
#include "tasks/workspace/package_json.h"

namespace cellar::tasks {

namespace {

namespace fs = std::filesystem;

struct PackageGlobs {
  std::vector<std::string> globs;
  std::string source;
  // npm, pnpm and yarn only count directories holding a package.json; cellar.yml
  // globs also take Go, Cargo or plain directories (named by their path).
  bool require_package_json = true;
};

std::string Join(const std::string& root, std::string_view rel) { return (fs::path(root) / rel).string(); }

// pnpm-workspace.yaml "packages:"; nullopt when the file does not exist.
Result<std::optional<std::vector<std::string>>> ReadPnpmWorkspace(const std::string& root) {
  const std::string path = Join(root, "pnpm-workspace.yaml");
  auto text = ReadFileIfExists(path);
  if (!text.ok()) return text.error();
  if (!text->has_value()) return std::optional<std::vector<std::string>>();
  std::vector<std::string> globs;
  try {
    YAML::Node doc = YAML::Load(**text);
    YAML::Node packages = doc.IsMap() ? doc["packages"] : YAML::Node();
    if (packages && !packages.IsNull()) {
      if (!packages.IsSequence()) {
        return Status::InvalidArgument(path + ":" + std::to_string(packages.Mark().line + 1) + ":" +
                                       std::to_string(packages.Mark().column + 1) + ": packages must be a list");
      }
      for (const auto& item : packages) globs.push_back(item.as<std::string>());
    }
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? path
                                         : path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                               std::to_string(e.mark.column + 1);
    return Status::InvalidArgument(where + ": " + e.msg);
  }
  return std::optional<std::vector<std::string>>(std::move(globs));
}

Result<PackageGlobs> ChooseGlobs(const std::string& root, const std::optional<std::vector<std::string>>& config,
                                 const std::optional<PackageJson>& root_json) {
  if (config) return PackageGlobs{*config, "cellar.yml", false};
  auto pnpm = ReadPnpmWorkspace(root);
  if (!pnpm.ok()) return pnpm.error();
  if (pnpm->has_value()) return PackageGlobs{**pnpm, "pnpm-workspace.yaml", true};
  if (root_json && root_json->workspaces) return PackageGlobs{*root_json->workspaces, "package.json", true};
  return PackageGlobs{{"apps/*", "libs/*", "packages/*"}, "default globs", false};
}

// "apps/*/package.json" (VelocityCache's spelling) and "apps/*/" select the directory.
std::string DirectoryGlob(std::string glob) {
  bool negative = !glob.empty() && glob.front() == '!';
  std::string body = negative ? glob.substr(1) : glob;
  if (body == "package.json") body = ".";
  else if (body.size() > 13 && body.ends_with("/package.json")) body.resize(body.size() - 13);
  while (body.size() > 1 && body.back() == '/') body.pop_back();
  return negative ? "!" + body : body;
}

Result<std::vector<Package>> ReadPackages(const std::string& root, const PackageGlobs& globs) {
  std::vector<std::string> patterns;
  for (const auto& g : globs.globs) patterns.push_back(DirectoryGlob(g));
  auto set = glob::PatternSet::Parse(patterns);
  if (!set.ok()) return set.error().WithContext(globs.source + " package globs");
  glob::ExpandOptions options;
  options.files = false;
  options.directories = true;
  options.descend_matched_dirs = false;
  options.skip_dir_names = {".git", "node_modules", ".cellar"};
  auto dirs = glob::Expand(root, *set, options);
  if (!dirs.ok()) return dirs.error().WithContext("listing packages under " + root);
  std::vector<Package> packages;
  for (const std::string& dir : *dirs) {
    auto json = ReadPackageJson(Join(root, dir + "/package.json"));
    if (!json.ok()) return json.error();
    if (!json->has_value() && globs.require_package_json) continue;
    Package p;
    p.dir = dir;
    p.name = dir;
    if (json->has_value()) {
      p.has_package_json = true;
      if ((*json)->name) p.name = *(*json)->name;
      p.scripts = (*json)->scripts;
      p.dependencies.assign((*json)->dependency_names.begin(), (*json)->dependency_names.end());
    }
    packages.push_back(std::move(p));
  }
  return packages;
}

Package RootPackage(const std::optional<PackageJson>& json) {
  Package p;
  p.dir = ".";
  p.name = std::string(kRootPackageName);
  if (json) {
    p.has_package_json = true;
    if (json->name) p.name = *json->name;
    p.scripts = json->scripts;
    p.dependencies.assign(json->dependency_names.begin(), json->dependency_names.end());
  }
  return p;
}

// Keeps only dependencies on other workspace packages; fails on duplicate names.
Status LinkPackages(std::vector<Package>& packages) {
  std::sort(packages.begin(), packages.end(), [](const Package& a, const Package& b) { return a.name < b.name; });
  for (size_t i = 1; i < packages.size(); ++i) {
    if (packages[i].name == packages[i - 1].name) {
      return Status::InvalidArgument("two packages are named \"" + packages[i].name + "\": " + packages[i - 1].dir +
                                     " and " + packages[i].dir + " (package names must be unique)");
    }
  }
  std::set<std::string> names;
  for (const Package& p : packages) names.insert(p.name);
  for (Package& p : packages) {
    std::vector<std::string> kept;
    for (const std::string& dep : p.dependencies) {
      if (dep != p.name && names.count(dep)) kept.push_back(dep);
    }
    p.dependencies = std::move(kept);
  }
  return Status();
}

}  // namespace

const Package* Workspace::Find(std::string_view name) const {
  for (const Package& p : packages) if (p.name == name) return &p;
  return nullptr;
}

const Package* Workspace::FindByNameOrDir(std::string_view selector) const {
  if (const Package* p = Find(selector)) return p;
  std::string dir = fs::path(selector).lexically_normal().generic_string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) dir = ".";
  for (const Package& p : packages) if (p.dir == dir) return &p;
  return nullptr;
}

const Package* Workspace::PackageContaining(const std::string& path) const {
  std::error_code ec;
  // Both sides resolved, so a symlinked checkout or cwd still matches.
  const fs::path at = fs::weakly_canonical(path, ec);
  if (ec) return nullptr;
  const fs::path top = fs::weakly_canonical(root, ec);
  if (ec) return nullptr;
  const std::string rel = at.lexically_relative(top).generic_string();
  if (rel.empty() || rel == "." || rel == ".." || rel.starts_with("../")) return nullptr;
  const Package* best = nullptr;
  for (const Package& p : packages) {
    if (p.dir == ".") continue;
    const bool inside = rel == p.dir || (rel.size() > p.dir.size() && rel.starts_with(p.dir) && rel[p.dir.size()] == '/');
    if (inside && (!best || p.dir.size() > best->dir.size())) best = &p;
  }
  return best;
}

std::string Workspace::ScriptCommand(std::string_view script) const {
  return package_manager + " run " + std::string(script);
}

std::string DetectPackageManager(const std::string& root) {
  auto json = ReadPackageJson(Join(root, "package.json"));
  if (json.ok() && json->has_value()) {
    const std::string& pm = (*json)->package_manager;
    for (const char* name : {"pnpm", "yarn", "bun", "npm"}) {
      if (pm.rfind(std::string(name) + "@", 0) == 0 || pm == name) return name;
    }
  }
  std::error_code ec;
  if (fs::exists(Join(root, "pnpm-lock.yaml"), ec)) return "pnpm";
  if (fs::exists(Join(root, "yarn.lock"), ec)) return "yarn";
  if (fs::exists(Join(root, "bun.lockb"), ec) || fs::exists(Join(root, "bun.lock"), ec)) return "bun";
  return "npm";
}

Result<Workspace> LoadWorkspace(const std::string& root,
                                const std::optional<std::vector<std::string>>& config_packages) {
  Workspace ws;
  std::error_code ec;
  ws.root = fs::absolute(root, ec).lexically_normal().string();
  if (ec) return Status::FromErrno(ec.value(), root);
  while (ws.root.size() > 1 && ws.root.back() == '/') ws.root.pop_back();
  auto root_json = ReadPackageJson(Join(ws.root, "package.json"));
  if (!root_json.ok()) return root_json.error();
  auto globs = ChooseGlobs(ws.root, config_packages, *root_json);
  if (!globs.ok()) return globs.error();
  auto packages = ReadPackages(ws.root, *globs);
  if (!packages.ok()) return packages.error();
  ws.source = globs->source;
  ws.packages = std::move(*packages);
  if (ws.packages.empty()) {
    ws.source = "root";
    ws.packages.push_back(RootPackage(*root_json));
  }
  CELLAR_RETURN_IF_ERROR(LinkPackages(ws.packages));
  ws.package_manager = DetectPackageManager(ws.root);
  return ws;
}

}  // namespace cellar::tasks
