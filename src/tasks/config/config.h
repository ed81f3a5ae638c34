// cellar.yml (and VelocityCache's velocity.yml, read unchanged): what a
// workspace's tasks are, how to cache them and where the remote cache lives.
//
// Used by `cellar run` (tasks/graph builds nodes from Config::pipeline),
// `cellar init` (validates what it writes) and the task hash (global part).
// The file format is described in docs/cellar-yml.md.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cellar::tasks {

inline constexpr std::string_view kConfigFileName = "cellar.yml";
inline constexpr std::string_view kVelocityConfigFileName = "velocity.yml";

// One pipeline entry. The key is either "task" (every package) or
// "pkg#task" (that package only; it replaces the "task" entry there).
struct TaskConfig {
  std::string key;                     // as written in the pipeline
  std::optional<std::string> command;  // absent: the package.json script of the same name
  std::vector<std::string> inputs;     // globs relative to the package; empty = default inputs
  std::vector<std::string> outputs;    // globs relative to the package
  std::vector<std::string> depends_on; // "^task", "task" or "pkg#task"
  std::vector<std::string> env_keys;   // variable names whose values enter the hash
  bool cache = true;                   // false: always run, never stored
  std::optional<int64_t> timeout_ms;   // the task is killed after this long
  int line = 0;                        // 1-based position of the key, for messages
  int column = 0;
};

struct RemoteConfig {
  bool enabled = false;
  std::string url;
  std::string token;
};

struct Config {
  std::string path;  // the file read ("" when parsed from text)
  std::string root;  // its directory: the workspace root
  int version = 1;
  std::string project_id;
  RemoteConfig remote;
  // Package globs. nullopt: not written (workspace detection decides).
  std::optional<std::vector<std::string>> packages;
  std::map<std::string, TaskConfig> pipeline;  // by key ("build", "web#build")
  std::vector<std::string> global_dependencies;  // globs relative to the root
  std::vector<std::string> global_env;           // variable names
  // "file:line:col: text" for keys cellar does not know (kept as warnings so
  // a velocity.yml with extra keys still loads).
  std::vector<std::string> warnings;

  // The definition of `task` for `package`: "package#task" if present, else
  // "task". nullptr when neither exists.
  const TaskConfig* Find(std::string_view package, std::string_view task) const;
  // True when some pipeline key names `task` (alone or as "pkg#task").
  bool DefinesTask(std::string_view task) const;
};

// Looks a variable up; nullopt when unset. Tests inject a map.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup ProcessEnv();
// A fixed set of variables (tests; `cellar init` validating what it writes).
EnvLookup FixedEnv(std::map<std::string, std::string> vars);

// Parses config text. `path` only names the file in messages. A YAML syntax
// error or a schema error is kInvalidArgument "path:line:col: what".
Result<Config> ParseConfig(std::string_view text, const std::string& path, const EnvLookup& env);

// The config file governing `start_dir`: in it or the nearest parent,
// cellar.yml first, then velocity.yml. nullopt when there is none up to /.
Result<std::optional<std::string>> FindConfigFile(const std::string& start_dir);

// Reads and parses `path`; Config::root is its directory (absolute).
Result<Config> LoadConfig(const std::string& path, const EnvLookup& env);

}  // namespace cellar::tasks
