#include "tasks/workspace/package_json.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace cellar::tasks {

namespace {

using Json = nlohmann::json;

Status WrongType(const std::string& path, const std::string& field, const char* want) {
  return Status::InvalidArgument(path + ": \"" + field + "\" must be " + want);
}

Result<std::vector<std::string>> StringArray(const Json& j, const std::string& path, const std::string& field) {
  if (!j.is_array()) return WrongType(path, field, "an array of strings");
  std::vector<std::string> out;
  for (const Json& item : j) {
    if (!item.is_string()) return WrongType(path, field, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

Result<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::FromErrno(errno, "cannot read " + path);
  return std::optional<std::string>(text.str());
}

Result<PackageJson> ParsePackageJson(const std::string& text, const std::string& path) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument(path + ": must be a JSON object");
  PackageJson out;
  if (auto it = j.find("name"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) return WrongType(path, "name", "a string");
    if (!it->get<std::string>().empty()) out.name = it->get<std::string>();
  }
  if (auto it = j.find("scripts"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return WrongType(path, "scripts", "an object");
    for (const auto& [script, command] : it->items()) {
      if (!command.is_string()) return WrongType(path, "scripts." + script, "a string");
      out.scripts[script] = command.get<std::string>();
    }
  }
  // Dependency maps are read leniently: npm itself ignores a malformed one.
  for (const char* field : {"dependencies", "devDependencies", "peerDependencies", "optionalDependencies"}) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_object()) continue;
    for (const auto& [dep, unused] : it->items()) out.dependency_names.insert(dep);
  }
  if (auto it = j.find("workspaces"); it != j.end() && !it->is_null()) {
    const Json* list = &*it;
    if (it->is_object()) {
      auto packages = it->find("packages");
      if (packages == it->end()) return WrongType(path, "workspaces", "an array or {\"packages\": [...]}");
      list = &*packages;
    }
    auto globs = StringArray(*list, path, "workspaces");
    if (!globs.ok()) return globs.error();
    out.workspaces = std::move(*globs);
  }
  if (auto it = j.find("packageManager"); it != j.end() && it->is_string()) {
    out.package_manager = it->get<std::string>();
  }
  return out;
}

Result<std::optional<PackageJson>> ReadPackageJson(const std::string& path) {
  auto text = ReadFileIfExists(path);
  if (!text.ok()) return text.error();
  if (!text->has_value()) return std::optional<PackageJson>();
  auto parsed = ParsePackageJson(**text, path);
  if (!parsed.ok()) return parsed.error();
  return std::optional<PackageJson>(std::move(*parsed));
}

}  // namespace cellar::tasks
