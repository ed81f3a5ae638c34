// DetectTurbo: turbo.json (v1 "pipeline", v2 "tasks") -> a cellar pipeline.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "tasks/init/init.h"
#include "tasks/workspace/package_json.h"
#include "tasks/workspace/workspace.h"

namespace cellar::tasks {

namespace {

using Json = nlohmann::json;

std::vector<std::string> Strings(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const Json& item : j) if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

// A glob turbo resolves against the package but cellar cannot (it would leave the package).
bool LeavesPackage(const std::string& glob) {
  std::string_view g = glob;
  if (g.starts_with("!")) g.remove_prefix(1);
  return g.starts_with("/") || g.starts_with("../") || g.starts_with("$TURBO_ROOT$") || g == "..";
}

class TurboMapper {
 public:
  TurboMapper(Detected& out, std::string pm) : out_(out), pm_(std::move(pm)) {}

  // Maps one task; `base` (the root's entry) is what a package's turbo.json extends.
  void MapTask(const std::string& key, const Json& def, const TaskConfig* base = nullptr);
  // Package turbo.json files (turbo v2's "extends": ["//"]) become package#task entries.
  Status MapPackageConfigs(const std::string& root);
  void DropUnknownDependencies();

 private:
  void Note(std::string text) { out_.notes.push_back(std::move(text)); }
  std::vector<std::string> Globs(const std::string& key, const char* field, const Json& j);
  // Sets `target` from def[field] when present.
  static void Assign(const Json& def, const char* field, std::vector<std::string> values,
                     std::vector<std::string>& target);

  Detected& out_;
  std::string pm_;
};

std::vector<std::string> TurboMapper::Globs(const std::string& key, const char* field, const Json& j) {
  std::vector<std::string> out;
  for (const std::string& g : Strings(j)) {
    if (LeavesPackage(g)) {
      Note(key + ": " + field + " \"" + g + "\" points outside the package; dropped (list shared files under global_dependencies)");
    } else {
      out.push_back(g);
    }
  }
  return out;
}

void TurboMapper::Assign(const Json& def, const char* field, std::vector<std::string> values,
                         std::vector<std::string>& target) {
  if (!def.contains(field)) return;
  auto extends = std::find(values.begin(), values.end(), "$TURBO_EXTENDS$");
  if (extends == values.end()) target.clear();  // a package's turbo.json replaces the root's list...
  else values.erase(extends);                   // ...unless it says $TURBO_EXTENDS$
  target.insert(target.end(), values.begin(), values.end());
}

void TurboMapper::MapTask(const std::string& key, const Json& def, const TaskConfig* base) {
  if (key.starts_with("//#")) {
    Note(key + ": root tasks are not carried over (cellar runs tasks in packages); run it by hand or add a package");
    return;
  }
  TaskConfig t = base ? *base : TaskConfig{};
  t.key = key;
  std::string task = key.rfind('#') == std::string::npos ? key : key.substr(key.rfind('#') + 1);
  std::vector<std::string> deps;
  for (const std::string& dep : Strings(def.value("dependsOn", Json::array()))) {
    if (dep.starts_with("$") && dep != "$TURBO_EXTENDS$") t.env_keys.push_back(dep.substr(1));  // turbo v1's env spelling
    else deps.push_back(dep);
  }
  Assign(def, "dependsOn", std::move(deps), t.depends_on);
  Assign(def, "env", Strings(def.value("env", Json::array())), t.env_keys);
  Assign(def, "outputs", Globs(key, "outputs", def.value("outputs", Json::array())), t.outputs);
  std::vector<std::string> inputs = Strings(def.value("inputs", Json::array()));
  if (std::find(inputs.begin(), inputs.end(), "$TURBO_DEFAULT$") != inputs.end()) {
    t.inputs.clear();  // every file of the package: cellar's default inputs
  } else {
    Assign(def, "inputs", Globs(key, "inputs", def.value("inputs", Json::array())), t.inputs);
  }
  if (def.contains("cache") && def["cache"].is_boolean()) t.cache = def["cache"].get<bool>();
  if (def.value("persistent", false)) {
    t.cache = false;
    Note(key + " is persistent in turbo (a long-running process); cellar runs it like any task, uncached");
  }
  out_.comments[key] = "no command: each package's \"" + task + "\" script runs (" + pm_ + " run " + task + ")";
  out_.config.pipeline.insert_or_assign(key, std::move(t));
}

Status TurboMapper::MapPackageConfigs(const std::string& root) {
  auto ws = LoadWorkspace(root, std::nullopt);
  if (!ws.ok()) return ws.error();
  for (const Package& p : ws->packages) {
    if (p.dir == ".") continue;
    const std::string path = root + "/" + p.dir + "/turbo.json";
    auto text = ReadFileIfExists(path);
    if (!text.ok()) return text.error();
    if (!text->has_value()) continue;
    Json j = Json::parse(**text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
    if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(path + ": not a valid JSON object");
    const Json tasks = j.value(j.contains("tasks") ? "tasks" : "pipeline", Json::object());
    for (const auto& [task, def] : tasks.items()) {
      if (!def.is_object() || task.find('#') != std::string::npos) {
        Note(path + ": entry \"" + task + "\" skipped (a package's turbo.json names plain tasks with object values)");
        continue;
      }
      auto general = out_.config.pipeline.find(task);
      std::optional<TaskConfig> base;
      if (general != out_.config.pipeline.end()) base = general->second;
      MapTask(p.name + "#" + task, def, base ? &*base : nullptr);
    }
  }
  return Status();
}

void TurboMapper::DropUnknownDependencies() {
  for (auto& [key, t] : out_.config.pipeline) {
    std::vector<std::string> kept;
    for (const std::string& dep : t.depends_on) {
      std::string name = dep.starts_with("^") ? dep.substr(1) : dep;
      if (size_t hash = name.rfind('#'); hash != std::string::npos) name = name.substr(hash + 1);
      if (dep.starts_with("//#") || !out_.config.DefinesTask(name)) {
        Note(key + ": dependency \"" + dep + "\" names a task cellar does not run; dropped");
      } else {
        kept.push_back(dep);
      }
    }
    t.depends_on = std::move(kept);
  }
}

}  // namespace

Result<Detected> DetectTurbo(const std::string& root, const std::string& text, const std::string& package_manager) {
  const std::string path = root + "/turbo.json";
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(path + ": not a valid JSON object");
  Detected out;
  const char* field = j.contains("tasks") ? "tasks" : "pipeline";
  out.detected = std::string("turbo.json (") + (j.contains("tasks") ? "v2 \"tasks\"" : "v1 \"pipeline\"") + ")";
  const Json tasks = j.value(field, Json::object());
  if (!tasks.is_object()) return Status::InvalidArgument(path + ": \"" + field + "\" must be an object");
  TurboMapper mapper(out, package_manager);
  for (const auto& [key, def] : tasks.items()) {
    if (!def.is_object()) return Status::InvalidArgument(path + ": " + field + "." + key + " must be an object");
    mapper.MapTask(key, def);
  }
  CELLAR_RETURN_IF_ERROR(mapper.MapPackageConfigs(root));
  mapper.DropUnknownDependencies();
  for (const std::string& g : Strings(j.value("globalDependencies", Json::array()))) {
    if (g.starts_with("$")) out.config.global_env.push_back(g.substr(1));  // v1 spelling of globalEnv
    else out.config.global_dependencies.push_back(g);
  }
  for (const std::string& name : Strings(j.value("globalEnv", Json::array()))) out.config.global_env.push_back(name);
  return out;
}

}  // namespace cellar::tasks
