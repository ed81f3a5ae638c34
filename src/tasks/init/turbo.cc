// DetectTurbo: turbo.json (v1 "pipeline", v2 "tasks") -> a cellar pipeline.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "tasks/init/init.h"

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

  void MapTask(const std::string& key, const Json& def);
  void DropUnknownDependencies();

 private:
  void Note(std::string text) { out_.notes.push_back(std::move(text)); }
  std::vector<std::string> Globs(const std::string& key, const char* field, const Json& j);

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

void TurboMapper::MapTask(const std::string& key, const Json& def) {
  if (key.starts_with("//#")) {
    Note(key + ": root tasks are not carried over (cellar runs tasks in packages); run it by hand or add a package");
    return;
  }
  TaskConfig t;
  t.key = key;
  std::string task = key.rfind('#') == std::string::npos ? key : key.substr(key.rfind('#') + 1);
  for (const std::string& dep : Strings(def.value("dependsOn", Json::array()))) {
    if (dep.starts_with("$")) t.env_keys.push_back(dep.substr(1));  // turbo v1 wrote env vars here
    else t.depends_on.push_back(dep);
  }
  for (const std::string& name : Strings(def.value("env", Json::array()))) t.env_keys.push_back(name);
  t.outputs = Globs(key, "outputs", def.value("outputs", Json::array()));
  std::vector<std::string> inputs = Strings(def.value("inputs", Json::array()));
  bool with_default = std::find(inputs.begin(), inputs.end(), "$TURBO_DEFAULT$") != inputs.end();
  if (!with_default) t.inputs = Globs(key, "inputs", def.value("inputs", Json::array()));
  if (def.contains("cache") && def["cache"].is_boolean()) t.cache = def["cache"].get<bool>();
  if (def.value("persistent", false)) {
    t.cache = false;
    Note(key + " is persistent in turbo (a long-running process); cellar runs it like any task, uncached");
  }
  out_.comments[key] = "no command: each package's \"" + task + "\" script runs (" + pm_ + " run " + task + ")";
  out_.config.pipeline.emplace(key, std::move(t));
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
  mapper.DropUnknownDependencies();
  for (const std::string& g : Strings(j.value("globalDependencies", Json::array()))) {
    if (g.starts_with("$")) out.config.global_env.push_back(g.substr(1));  // v1 spelling of globalEnv
    else out.config.global_dependencies.push_back(g);
  }
  for (const std::string& name : Strings(j.value("globalEnv", Json::array()))) out.config.global_env.push_back(name);
  return out;
}

}  // namespace cellar::tasks
