// DetectFromFiles: a pipeline for repositories without turbo.json, from
// package.json scripts (npm, yarn, pnpm workspaces), go.mod, Cargo.toml or
// requirements.txt at the root.
#include <filesystem>
#include <set>

#include "tasks/init/init.h"
#include "tasks/workspace/package_json.h"
#include "tasks/workspace/workspace.h"

namespace cellar::tasks {

namespace {

namespace fs = std::filesystem;

bool Exists(const std::string& root, const char* name) {
  std::error_code ec;
  return fs::exists(fs::path(root) / name, ec);
}

TaskConfig Task(std::string key, std::vector<std::string> depends_on, std::vector<std::string> outputs) {
  TaskConfig t;
  t.key = std::move(key);
  t.depends_on = std::move(depends_on);
  t.outputs = std::move(outputs);
  return t;
}

// JavaScript: one pipeline entry per well-known script some package has.
Result<std::optional<Detected>> DetectScripts(const std::string& root) {
  auto ws = LoadWorkspace(root, std::nullopt);
  if (!ws.ok()) return ws.error();
  bool any_json = false;
  std::set<std::string> scripts;
  for (const Package& p : ws->packages) {
    any_json = any_json || p.has_package_json;
    for (const auto& [name, unused] : p.scripts) scripts.insert(name);
  }
  if (!any_json) return std::optional<Detected>();
  Detected d;
  d.detected = ws->source == "root" ? "package.json" : ws->source + " workspaces (" + ws->package_manager + ")";
  const std::vector<std::string> build_outputs = {"dist/**", "build/**", ".next/**", "!.next/cache/**"};
  bool has_build = scripts.count("build") > 0;
  std::vector<std::string> after_deps = has_build ? std::vector<std::string>{"^build"} : std::vector<std::string>{};
  if (has_build) d.config.pipeline["build"] = Task("build", {"^build"}, build_outputs);
  for (const char* check : {"typecheck", "check-types", "type-check", "test"}) {
    if (scripts.count(check)) d.config.pipeline[check] = Task(check, after_deps, {});
  }
  if (scripts.count("test")) d.config.pipeline["test"].outputs = {"coverage/**"};
  if (scripts.count("lint")) d.config.pipeline["lint"] = Task("lint", {}, {});
  for (auto& [key, unused] : d.config.pipeline) {
    d.comments[key] = "no command: each package's \"" + key + "\" script runs (" + ws->ScriptCommand(key) + ")";
  }
  for (const char* skipped : {"dev", "start", "serve", "watch"}) {
    if (scripts.count(skipped)) d.notes.push_back(std::string("\"") + skipped + "\" looks long-running and was left out");
  }
  if (d.config.pipeline.empty()) {
    d.notes.push_back("no build, test, lint or typecheck script found; add pipeline entries by hand");
  }
  return std::optional<Detected>(std::move(d));
}

// A language whose tools run once at the root.
Detected RootTool(std::string detected, std::vector<std::pair<std::string, std::string>> tasks,
                  std::vector<std::string> inputs, std::vector<std::string> env_keys) {
  Detected d;
  d.detected = std::move(detected);
  d.config.packages = std::vector<std::string>{};  // the root is the only package
  for (auto& [name, command] : tasks) {
    TaskConfig t = Task(name, {}, {});
    t.command = command;
    t.inputs = inputs;
    t.env_keys = env_keys;
    d.config.pipeline[name] = std::move(t);
  }
  return d;
}

}  // namespace

Result<std::optional<Detected>> DetectFromFiles(const std::string& root) {
  if (Exists(root, "package.json") || Exists(root, "pnpm-workspace.yaml")) {
    auto scripts = DetectScripts(root);
    if (!scripts.ok() || scripts->has_value()) return scripts;
  }
  if (Exists(root, "go.mod")) {
    return std::optional<Detected>(RootTool("go.mod", {{"build", "go build ./..."}, {"test", "go test ./..."}},
                                            {"**/*.go", "go.mod", "go.sum", "**/testdata/**"},
                                            {"GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS"}));
  }
  if (Exists(root, "Cargo.toml")) {
    Detected d = RootTool("Cargo.toml", {{"build", "cargo build"}, {"test", "cargo test"}},
                          {"**/*.rs", "**/Cargo.toml", "Cargo.lock"}, {"RUSTFLAGS", "CARGO_BUILD_TARGET"});
    d.notes.push_back("cargo keeps its results in target/, which is not cached (it is large); add outputs if you want it");
    return std::optional<Detected>(std::move(d));
  }
  if (Exists(root, "requirements.txt")) {
    std::vector<std::pair<std::string, std::string>> tasks = {{"build", "python3 -m compileall -q ."}};
    auto requirements = ReadFileIfExists((fs::path(root) / "requirements.txt").string());
    bool pytest = Exists(root, "tests") || (requirements.ok() && requirements->has_value() &&
                                            (*requirements)->find("pytest") != std::string::npos);
    if (pytest) tasks.emplace_back("test", "python3 -m pytest");
    return std::optional<Detected>(RootTool("requirements.txt", tasks, {"**/*.py", "requirements.txt"}, {"PYTHONPATH"}));
  }
  return std::optional<Detected>();
}

}  // namespace cellar::tasks
