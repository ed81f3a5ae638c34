// OpenProject: what `cellar run` and `cellar clean` do first — find the
// config file from the current directory upward, parse it, and read the
// workspace at its directory. Thread-safety: reentrant.
#pragma once

#include <string>

#include "base/status.h"
#include "tasks/config/config.h"
#include "tasks/workspace/workspace.h"

namespace cellar::tasks {

struct Project {
  Config config;        // config.root is the workspace root
  Workspace workspace;
};

// kNotFound (suggesting `cellar init`) when no cellar.yml or velocity.yml
// exists in `start_dir` or above; otherwise the errors of LoadConfig and
// LoadWorkspace. Config warnings are in project.config.warnings for the
// caller to print.
Result<Project> OpenProject(const std::string& start_dir, const EnvLookup& env);

// The same for a config file named explicitly (--config): `config_path` is
// taken relative to the current directory when it is not absolute.
Result<Project> OpenProjectFile(const std::string& config_path, const EnvLookup& env);

}  // namespace cellar::tasks
