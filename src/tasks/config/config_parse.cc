// ParseConfig: YAML text -> Config, with file:line:col on every complaint.
#include <set>

#include <yaml-cpp/yaml.h>

#include "base/strings.h"
#include "tasks/config/config.h"
#include "tasks/config/env_expand.h"

namespace cellar::tasks {

namespace {

const std::vector<std::string> kTopKeys = {"version", "project_id", "remote", "packages", "pipeline",
                                           "global_dependencies", "global_env"};
const std::vector<std::string> kRemoteKeys = {"enabled", "url", "token"};
const std::vector<std::string> kTaskKeys = {"command", "inputs", "outputs", "depends_on",
                                            "env_keys", "cache", "timeout"};

// "dependsOn", "depends-on" and "DEPENDS_ON" all normalise to "dependson".
std::string Normalise(std::string_view key) {
  std::string out;
  for (char c : key) if (c != '_' && c != '-') out.push_back(static_cast<char>(std::tolower(c)));
  return out;
}

class Parser {
 public:
  Parser(std::string path, const EnvLookup& env) : path_(std::move(path)), env_(env) {}

  Result<Config> Parse(std::string_view text);

 private:
  std::string Where(const YAML::Mark& m) const {
    if (m.is_null()) return path_;
    return path_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  Status Error(const YAML::Node& n, const std::string& what) const {
    return Status::InvalidArgument(Where(n.Mark()) + ": " + what);
  }
  // Fails on duplicate keys and, when `known` is given, warns about unknown ones.
  Status CheckKeys(const YAML::Node& map, const std::string& context, const std::vector<std::string>* known);
  Result<std::string> String(const YAML::Node& n, const std::string& field, bool bare = false) const;
  Result<std::vector<std::string>> StringList(const YAML::Node& n, const std::string& field) const;
  Result<bool> Bool(const YAML::Node& n, const std::string& field) const;
  Status ParseRemote(const YAML::Node& n, RemoteConfig& out);
  Result<TaskConfig> ParseTask(const YAML::Node& key, const YAML::Node& value);
  Status ParsePipeline(const YAML::Node& n, Config& config);
  Status CheckDependsOn(const Config& config) const;

  std::string path_;
  const EnvLookup& env_;
  std::vector<std::string> warnings_;
  // depends_on entries with their positions, checked once the pipeline is complete.
  std::vector<std::pair<std::string, YAML::Node>> dependency_refs_;
};

Status Parser::CheckKeys(const YAML::Node& map, const std::string& context, const std::vector<std::string>* known) {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) return Error(entry.first, context + ": keys must be plain strings");
    const std::string key = entry.first.Scalar();
    if (!seen.insert(key).second) return Error(entry.first, "duplicate key \"" + key + "\" in " + context);
    if (known == nullptr) continue;
    bool is_known = false;
    std::string suggestion;
    for (const auto& k : *known) {
      if (k == key) is_known = true;
      else if (Normalise(k) == Normalise(key)) suggestion = k;
    }
    if (is_known) continue;
    std::string text = Where(entry.first.Mark()) + ": unknown key \"" + key + "\" in " + context + " (ignored";
    text += suggestion.empty() ? ")" : "; did you mean \"" + suggestion + "\"?)";
    warnings_.push_back(std::move(text));
  }
  return Status();
}

Result<std::string> Parser::String(const YAML::Node& n, const std::string& field, bool bare) const {
  if (!n.IsScalar()) return Error(n, field + " must be a string");
  size_t offset = 0;
  auto expanded = bare ? ExpandBareVariables(n.Scalar(), env_, &offset) : ExpandVariables(n.Scalar(), env_, &offset);
  if (!expanded.ok()) return Error(n, field + ": " + expanded.error().message());
  return expanded;
}

Result<std::vector<std::string>> Parser::StringList(const YAML::Node& n, const std::string& field) const {
  std::vector<std::string> out;
  if (!n || n.IsNull()) return out;  // absent (an invalid node in yaml-cpp) or written empty
  if (!n.IsSequence()) return Error(n, field + " must be a list of strings (write [\"a\", \"b\"] or one \"- a\" per line)");
  for (const auto& item : n) {
    if (!item.IsScalar()) return Error(item, field + " entries must be strings");
    auto s = String(item, field);
    if (!s.ok()) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

Result<bool> Parser::Bool(const YAML::Node& n, const std::string& field) const {
  auto s = String(n, field);
  if (!s.ok()) return s.error();
  std::string v = ToLower(*s);
  if (v == "true" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "no" || v == "off" || v.empty()) return false;
  return Error(n, field + " must be true or false, not \"" + *s + "\"");
}

Status Parser::ParseRemote(const YAML::Node& n, RemoteConfig& out) {
  if (n.IsNull()) return Status();
  if (!n.IsMap()) return Error(n, "remote must be a mapping with enabled, url and token");
  CELLAR_RETURN_IF_ERROR(CheckKeys(n, "remote", &kRemoteKeys));
  if (n["enabled"]) {
    CELLAR_ASSIGN_OR_RETURN(out.enabled, Bool(n["enabled"], "remote.enabled"));
  }
  if (n["url"]) {
    CELLAR_ASSIGN_OR_RETURN(out.url, String(n["url"], "remote.url", /*bare=*/true));
  }
  if (n["token"]) {
    CELLAR_ASSIGN_OR_RETURN(out.token, String(n["token"], "remote.token", /*bare=*/true));
  }
  return Status();
}

Result<TaskConfig> Parser::ParseTask(const YAML::Node& key, const YAML::Node& value) {
  TaskConfig task;
  task.key = key.Scalar();
  task.line = key.Mark().line + 1;
  task.column = key.Mark().column + 1;
  const std::string ctx = "pipeline." + task.key;
  size_t hash = task.key.rfind('#');
  std::string_view name = hash == std::string::npos ? std::string_view(task.key) : std::string_view(task.key).substr(hash + 1);
  if (name.empty() || hash == 0 || name.front() == '^') {
    return Error(key, "pipeline key \"" + task.key + "\" must be a task name or package#task");
  }
  if (value.IsNull()) return task;  // "lint:" with nothing: a task with every default
  if (!value.IsMap()) return Error(value, ctx + " must be a mapping (command, inputs, outputs, depends_on, ...)");
  CELLAR_RETURN_IF_ERROR(CheckKeys(value, ctx, &kTaskKeys));
  if (const YAML::Node c = value["command"]) {
    CELLAR_ASSIGN_OR_RETURN(task.command, String(c, ctx + ".command"));
  }
  CELLAR_ASSIGN_OR_RETURN(task.inputs, StringList(value["inputs"], ctx + ".inputs"));
  CELLAR_ASSIGN_OR_RETURN(task.outputs, StringList(value["outputs"], ctx + ".outputs"));
  CELLAR_ASSIGN_OR_RETURN(task.depends_on, StringList(value["depends_on"], ctx + ".depends_on"));
  CELLAR_ASSIGN_OR_RETURN(task.env_keys, StringList(value["env_keys"], ctx + ".env_keys"));
  if (const YAML::Node c = value["cache"]) {
    CELLAR_ASSIGN_OR_RETURN(task.cache, Bool(c, ctx + ".cache"));
  }
  if (const YAML::Node t = value["timeout"]) {
    CELLAR_ASSIGN_OR_RETURN(std::string text, String(t, ctx + ".timeout"));
    std::optional<int64_t> ms = ParseDurationMs(text);
    if (!ms || *ms <= 0) return Error(t, ctx + ".timeout must be a duration such as 90s, 10m or 1h");
    task.timeout_ms = ms;
  }
  if (const YAML::Node d = value["depends_on"]; d && d.IsSequence()) {
    for (size_t i = 0; i < task.depends_on.size(); ++i) dependency_refs_.emplace_back(task.depends_on[i], d[i]);
  }
  return task;
}

Status Parser::ParsePipeline(const YAML::Node& n, Config& config) {
  if (n.IsNull()) return Status();
  if (!n.IsMap()) return Error(n, "pipeline must be a mapping from task names to definitions");
  CELLAR_RETURN_IF_ERROR(CheckKeys(n, "pipeline", nullptr));
  for (const auto& entry : n) {
    CELLAR_ASSIGN_OR_RETURN(TaskConfig task, ParseTask(entry.first, entry.second));
    config.pipeline.emplace(task.key, std::move(task));
  }
  return Status();
}

Status Parser::CheckDependsOn(const Config& config) const {
  for (const auto& [ref, node] : dependency_refs_) {
    std::string_view task = ref;
    if (!task.empty() && task.front() == '^') task.remove_prefix(1);
    if (size_t hash = task.rfind('#'); hash != std::string_view::npos) {
      if (ref.front() == '^' || hash == 0) return Error(node, "depends_on \"" + ref + "\": write ^task, task or package#task");
      task = task.substr(hash + 1);
    }
    if (task.empty()) return Error(node, "depends_on \"" + ref + "\" names no task");
    if (!config.DefinesTask(task)) {
      return Error(node, "depends_on \"" + ref + "\": task \"" + std::string(task) + "\" is not in the pipeline");
    }
  }
  return Status();
}

Result<Config> Parser::Parse(std::string_view text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(Where(e.mark) + ": " + e.msg);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path_ + ": " + e.what());
  }
  Config config;
  config.path = path_;
  if (root.IsNull()) return config;
  if (!root.IsMap()) return Error(root, "the file must be a mapping (version, remote, packages, pipeline, ...)");
  Status keys = CheckKeys(root, "the top level", &kTopKeys);
  if (!keys.ok()) return keys;
  try {
    if (const YAML::Node v = root["version"]) {
      CELLAR_ASSIGN_OR_RETURN(std::string text_version, String(v, "version"));
      if (text_version != "1") return Error(v, "unsupported version \"" + text_version + "\" (cellar reads version 1)");
    }
    if (const YAML::Node p = root["project_id"]) {
      CELLAR_ASSIGN_OR_RETURN(config.project_id, String(p, "project_id", /*bare=*/true));
    }
    if (const YAML::Node r = root["remote"]) CELLAR_RETURN_IF_ERROR(ParseRemote(r, config.remote));
    if (const YAML::Node p = root["packages"]) {
      CELLAR_ASSIGN_OR_RETURN(config.packages, StringList(p, "packages"));
    }
    if (const YAML::Node g = root["global_dependencies"]) {
      CELLAR_ASSIGN_OR_RETURN(config.global_dependencies, StringList(g, "global_dependencies"));
    }
    if (const YAML::Node g = root["global_env"]) {
      CELLAR_ASSIGN_OR_RETURN(config.global_env, StringList(g, "global_env"));
    }
    if (const YAML::Node p = root["pipeline"]) CELLAR_RETURN_IF_ERROR(ParsePipeline(p, config));
    CELLAR_RETURN_IF_ERROR(CheckDependsOn(config));
    config.warnings = std::move(warnings_);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(e.mark) + ": " + e.what());
  }
  return config;
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, const std::string& path, const EnvLookup& env) {
  Parser parser(path, env);
  return parser.Parse(text);
}

}  // namespace cellar::tasks
