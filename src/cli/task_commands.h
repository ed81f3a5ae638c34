// `cellar run`, `cellar init` and `cellar clean`: builds the context the
// task-runner commands need from the process (working directory,
// environment, terminal) and hands over to tasks/run/commands.h.
#pragma once

#include <string>
#include <vector>

namespace cellar::cli {

// `command` is "run", "init" or "clean"; returns the exit code.
int TaskCommand(const std::string& command, const std::vector<std::string>& args);

}  // namespace cellar::cli
