#include "cli/task_commands.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "tasks/run/commands.h"

extern char** environ;

namespace cellar::cli {

int TaskCommand(const std::string& command, const std::vector<std::string>& args) {
  tasks::CommandContext ctx;
  std::error_code ec;
  ctx.cwd = std::filesystem::current_path(ec).string();
  ctx.env = tasks::ProcessEnv();
  for (char** e = environ; e && *e; ++e) ctx.child_env.emplace_back(*e);
  ctx.terminal = isatty(STDOUT_FILENO) != 0 && std::getenv("CI") == nullptr;
  winsize ws{};
  if (ctx.terminal && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) ctx.width = ws.ws_col;
  ctx.cores = std::max(1u, std::thread::hardware_concurrency());
  if (command == "run") return tasks::RunCommand(args, ctx);
  if (command == "init") return tasks::InitCommand(args, ctx);
  return tasks::CleanCommand(args, ctx);
}

}  // namespace cellar::cli
