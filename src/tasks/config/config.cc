// Config lookups, the process environment, and finding/reading the file.
#include "tasks/config/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cellar::tasks {

const TaskConfig* Config::Find(std::string_view package, std::string_view task) const {
  std::string scoped = std::string(package) + "#" + std::string(task);
  if (auto it = pipeline.find(scoped); it != pipeline.end()) return &it->second;
  if (auto it = pipeline.find(std::string(task)); it != pipeline.end()) return &it->second;
  return nullptr;
}

bool Config::DefinesTask(std::string_view task) const {
  for (const auto& [key, unused] : pipeline) {
    size_t hash = key.rfind('#');
    std::string_view name = hash == std::string::npos ? std::string_view(key) : std::string_view(key).substr(hash + 1);
    if (name == task) return true;
  }
  return false;
}

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

EnvLookup FixedEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<std::optional<std::string>> FindConfigFile(const std::string& start_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::absolute(start_dir, ec);
  if (ec) return Status::FromErrno(ec.value(), start_dir);
  dir = dir.lexically_normal();
  while (true) {
    for (std::string_view name : {kConfigFileName, kVelocityConfigFileName}) {
      fs::path candidate = dir / name;
      if (fs::is_regular_file(candidate, ec)) return std::optional<std::string>(candidate.string());
    }
    if (!dir.has_relative_path()) return std::optional<std::string>();
    fs::path parent = dir.parent_path();
    if (parent == dir) return std::optional<std::string>();
    dir = parent;
  }
}

Result<Config> LoadConfig(const std::string& path, const EnvLookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::FromErrno(errno, "cannot read " + path);
  auto config = ParseConfig(text.str(), path, env);
  if (!config.ok()) return config;
  std::error_code ec;
  config->root = std::filesystem::absolute(path, ec).parent_path().lexically_normal().string();
  if (ec) return Status::FromErrno(ec.value(), path);
  return config;
}

}  // namespace cellar::tasks
