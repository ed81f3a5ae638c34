// `cellar init`: look at a repository (turbo.json v1 "pipeline" or v2
// "tasks", npm/yarn/pnpm workspaces, go.mod, Cargo.toml, requirements.txt)
// and write a cellar.yml that runs. The CLI (cli/) calls InitWorkspace; what
// is detected and how it maps is described in docs/cellar-yml.md ("cellar init").
// Thread-safety: reentrant; reads and writes files under `root` only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tasks/config/config.h"

namespace cellar::tasks {

struct InitOptions {
  bool force = false;  // overwrite an existing cellar.yml (or write one beside velocity.yml)
  bool write = true;   // false: only return the text (--dry-run)
};

struct InitResult {
  std::string path;                // root/cellar.yml
  std::string text;                // what was (or would be) written
  std::string detected;            // e.g. "turbo.json (v2 \"tasks\")", "go.mod"
  std::vector<std::string> notes;  // what could not be carried over, for the user
};

// Detects the workspace at `root` and writes root/cellar.yml. Fails with
// kAlreadyExists when cellar.yml or velocity.yml exists and !force,
// kNotFound when nothing is recognised, kInvalidArgument (naming the file)
// on a malformed turbo.json or package.json. The text is checked before it
// is written: it parses, the workspace loads and every task's graph builds.
Result<InitResult> InitWorkspace(const std::string& root, const InitOptions& options);

// The pieces, exposed for tests.
struct Detected {
  Config config;                              // pipeline, globals, packages
  std::map<std::string, std::string> comments;  // by pipeline key, written above the entry
  std::string detected;
  std::vector<std::string> notes;
};
Result<Detected> DetectTurbo(const std::string& root, const std::string& turbo_json_text,
                             const std::string& package_manager);
Result<std::optional<Detected>> DetectFromFiles(const std::string& root);
std::string RenderConfig(const Detected& detected);

}  // namespace cellar::tasks
