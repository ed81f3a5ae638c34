// InitWorkspace: detect, render, check that the result loads, write.
#include "tasks/init/init.h"

#include <filesystem>
#include <fstream>

#include "tasks/graph/task_graph.h"
#include "tasks/workspace/package_json.h"
#include "tasks/workspace/workspace.h"

namespace cellar::tasks {

namespace {

namespace fs = std::filesystem;

Result<Detected> Detect(const std::string& root) {
  const std::string turbo_path = (fs::path(root) / "turbo.json").string();
  auto turbo = ReadFileIfExists(turbo_path);
  if (!turbo.ok()) return turbo.error();
  if (turbo->has_value()) return DetectTurbo(root, **turbo, DetectPackageManager(root));
  auto found = DetectFromFiles(root);
  if (!found.ok()) return found.error();
  if (!found->has_value()) {
    return Status::NotFound("nothing to detect in " + root +
                            ": no turbo.json, package.json, pnpm-workspace.yaml, go.mod, Cargo.toml or "
                            "requirements.txt; write cellar.yml by hand (docs/cellar-yml.md)");
  }
  return std::move(**found);
}

// The written file must load: it parses, its workspace reads and every task's graph builds.
Status Check(const std::string& root, const std::string& path, const std::string& text) {
  auto config = ParseConfig(text, path, FixedEnv({}));
  if (!config.ok()) return config.error();
  auto ws = LoadWorkspace(root, config->packages);
  if (!ws.ok()) return ws.error();
  for (const auto& [key, unused] : config->pipeline) {
    if (key.find('#') != std::string::npos) continue;
    auto graph = BuildTaskGraph(*config, *ws, {key}, {});
    if (!graph.ok()) return graph.error();
  }
  return Status();
}

Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return Status::FromErrno(errno, "cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::FromErrno(ec.value(), "cannot rename " + tmp + " to " + path);
  return Status();
}

}  // namespace

Result<InitResult> InitWorkspace(const std::string& root_in, const InitOptions& options) {
  std::error_code ec;
  const std::string root = fs::absolute(root_in, ec).lexically_normal().string();
  if (ec) return Status::FromErrno(ec.value(), root_in);
  InitResult result;
  result.path = (fs::path(root) / kConfigFileName).string();
  if (!options.force) {
    if (fs::exists(result.path, ec)) return Status::AlreadyExists(result.path + " exists; --force overwrites it");
    if (fs::exists(fs::path(root) / kVelocityConfigFileName, ec)) {
      return Status::AlreadyExists(std::string(kVelocityConfigFileName) +
                                   " exists and cellar reads it as it is; --force writes cellar.yml, "
                                   "which then takes its place");
    }
  }
  auto detected = Detect(root);
  if (!detected.ok()) return detected.error();
  result.detected = detected->detected;
  result.notes = detected->notes;
  result.text = RenderConfig(*detected);
  Status check = Check(root, result.path, result.text);
  if (!check.ok()) {
    return Status::InvalidArgument("the cellar.yml detected from " + result.detected +
                                   " would not run, so it was not written: " + check.message());
  }
  if (options.write) CELLAR_RETURN_IF_ERROR(WriteAtomically(result.path, result.text));
  return result;
}

}  // namespace cellar::tasks
