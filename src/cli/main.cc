// cellar: command-line entry point. Parses the subcommand and hands over to
// the libraries; no logic lives here.
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "cli/task_commands.h"
#include "gitclient/local_clone.h"
#include "server/app.h"
#include "server/config.h"

extern char** environ;

namespace {

constexpr const char* kUsage =
    "cellar - cache for package registries, git and build outputs\n\n"
    "Usage:\n"
    "  cellar serve [options]     run the server (cellar serve --help for options)\n"
    "  cellar verify [--data-dir DIR]\n"
    "                             re-hash every blob, quarantine corrupt ones, check the index\n"
    "  cellar git clone <url> [<dir>] [--branch B] [--depth N] [--server URL] [--cache-dir DIR]\n"
    "                             clone through the runner-local mirror (server: --server or\n"
    "                             CELLAR_SERVER; mirrors: ~/.cache/cellar/git)\n"
    "  cellar run <task>... [options]\n"
    "                             run tasks of cellar.yml/velocity.yml with the local and\n"
    "                             remote caches (cellar run --help for options)\n"
    "  cellar init [--force] [--dry-run]\n"
    "                             detect the workspace and write cellar.yml\n"
    "  cellar clean [--cache-dir DIR]\n"
    "                             remove the task cache, run summaries and logs (.cellar/)\n"
    "  cellar version             print the version\n";

// CELLAR_* settings, VelocityCache's VC_* server variables and
// OpenTelemetry's OTEL_* exporter variables (mapped onto cellar's settings
// by LoadConfig), and the AWS variables `--storage s3`
// falls back to for its endpoint and region (credentials are read where they
// are used, so they never sit in the config).
std::map<std::string, std::string> Environment() {
  static constexpr std::string_view kAws[] = {"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"};
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq) continue;
    std::string name(*e, static_cast<size_t>(eq - *e));
    if (name.starts_with("CELLAR_") || name.starts_with("VC_") || name.starts_with("OTEL_") || std::find(std::begin(kAws), std::end(kAws), name) != std::end(kAws)) {
      env[std::move(name)] = eq + 1;
    }
  }
  return env;
}

int Serve(const std::vector<std::string>& args) {
  bool help = false;
  auto config = cellar::server::LoadConfig(args, Environment(), &help);
  if (help) {
    std::fputs(cellar::server::ConfigHelp().c_str(), stdout);
    return 0;
  }
  if (!config.ok()) {
    std::fprintf(stderr, "cellar serve: %s\n", config.error().message().c_str());
    return 2;
  }
  auto app = cellar::server::App::Create(*config);
  if (!app.ok()) {
    std::fprintf(stderr, "cellar serve: %s\n", app.error().message().c_str());
    return 1;
  }
  if (auto s = (*app)->Start(); !s.ok()) {
    std::fprintf(stderr, "cellar serve: %s\n", s.message().c_str());
    return 1;
  }
  (*app)->Run();
  return 0;
}

int Verify(const std::vector<std::string>& args) {
  std::string data_dir = "./cellar-data";
  if (const char* d = std::getenv("CELLAR_DATA_DIR")) data_dir = d;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data-dir" && i + 1 < args.size()) data_dir = args[++i];
    else if (args[i].rfind("--data-dir=", 0) == 0) data_dir = args[i].substr(11);
    else {
      std::fprintf(stderr, "cellar verify: unexpected argument '%s'\n", args[i].c_str());
      return 2;
    }
  }
  auto s = cellar::server::VerifyDataDir(data_dir, false);
  if (!s.ok()) {
    std::fprintf(stderr, "cellar verify: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

int GitCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "clone") {
    std::fprintf(stderr, "cellar git: the only subcommand is 'clone'\n\n%s", kUsage);
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> env;
  for (const char* name : {"CELLAR_SERVER", "CELLAR_GIT_CACHE_DIR", "XDG_CACHE_HOME", "HOME"}) {
    if (const char* v = std::getenv(name)) env.emplace_back(name, v);
  }
  auto options = cellar::gitclient::ParseCloneArgs(std::vector<std::string>(args.begin() + 1, args.end()), env);
  if (!options.ok()) {
    std::fprintf(stderr, "cellar git clone: %s\n", options.error().message().c_str());
    return 2;
  }
  options->progress = isatty(STDERR_FILENO) != 0;
  cellar::env::SystemProcessRunner runner;
  auto report = cellar::gitclient::RunClone(*options, stderr, runner);
  if (!report.ok()) {
    std::fprintf(stderr, "cellar git clone: %s\n", report.error().message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      std::fputs(kUsage, args.empty() ? stderr : stdout);
      return args.empty() ? 2 : 0;
    }
    std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "serve") return Serve(args);
    if (cmd == "verify") return Verify(args);
    if (cmd == "git") return GitCommand(args);
    if (cmd == "run" || cmd == "init" || cmd == "clean") return cellar::cli::TaskCommand(cmd, args);
    if (cmd == "version" || cmd == "--version") {
      std::puts("cellar " CELLAR_VERSION);
      return 0;
    }
    std::fprintf(stderr, "cellar: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cellar: fatal: %s\n", e.what());
    return 1;
  }
}
