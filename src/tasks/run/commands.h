// The task-runner subcommands of the `cellar` binary: `cellar run`,
// `cellar init` and `cellar clean`. The CLI (src/cli) only dispatches here;
// everything a command does is wired in these functions so that tests and
// the benchmark can drive them the same way.
// Thread-safety: one command per process (SIGINT/SIGTERM are routed to the
// run while it lasts).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tasks/config/config.h"

namespace cellar::tasks {

struct CommandContext {
  std::string cwd;                       // where the command was started
  EnvLookup env;                         // variables for ${VAR}, env_keys, CELLAR_*
  std::vector<std::string> child_env;    // tasks' environment ("NAME=value"), the runner's own
  FILE* out = stdout;                    // status lines, task output, summary
  FILE* err = stderr;                    // usage and fatal errors
  bool terminal = false;                 // `out` is a terminal: live progress line
  size_t width = 80;                     // its columns
  size_t cores = 1;                      // default --concurrency
};

// Exit codes: 0 success; 1 a task failed or the workspace is unusable (config,
// cycle, unreadable input); 2 bad usage; 128+signal when interrupted.
int RunCommand(const std::vector<std::string>& args, const CommandContext& context);
// cellar init [--force] [--dry-run]: detect the workspace and write cellar.yml.
int InitCommand(const std::vector<std::string>& args, const CommandContext& context);
// cellar clean [--cache-dir DIR]: remove the local cache, run summaries and logs.
int CleanCommand(const std::vector<std::string>& args, const CommandContext& context);

// The remote cache settings after the environment has had its say:
// CELLAR_REMOTE_URL replaces remote.url (and turns the remote on),
// CELLAR_TOKEN replaces remote.token.
RemoteConfig EffectiveRemote(const RemoteConfig& configured, const EnvLookup& env);

}  // namespace cellar::tasks
