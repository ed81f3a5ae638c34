#include "tasks/graph/project.h"

namespace cellar::tasks {

Result<Project> OpenProject(const std::string& start_dir, const EnvLookup& env) {
  auto path = FindConfigFile(start_dir);
  if (!path.ok()) return path.error();
  if (!path->has_value()) {
    return Status::NotFound("no cellar.yml or velocity.yml in " + start_dir +
                            " or any directory above it; `cellar init` writes one");
  }
  return OpenProjectFile(**path, env);
}

Result<Project> OpenProjectFile(const std::string& config_path, const EnvLookup& env) {
  auto config = LoadConfig(config_path, env);
  if (!config.ok()) return config.error();
  auto workspace = LoadWorkspace(config->root, config->packages);
  if (!workspace.ok()) return workspace.error();
  return Project{std::move(*config), std::move(*workspace)};
}

}  // namespace cellar::tasks
