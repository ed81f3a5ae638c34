#include "tasks/run/commands.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>

#include "env/process_runner.h"
#include "tasks/cache/local_cache.h"
#include "tasks/cache/negotiate_remote_cache.h"
#include "tasks/graph/project.h"
#include "tasks/hash/digest_memo.h"
#include "tasks/hash/file_hasher.h"
#include "tasks/hash/git_index_lister.h"
#include "tasks/hash/git_lister.h"
#include "tasks/init/init.h"
#include "tasks/run/artifact_task_cache.h"
#include "tasks/run/plan.h"
#include "tasks/run/run_options.h"
#include "tasks/run/runner.h"

namespace cellar::tasks {

namespace {

namespace fs = std::filesystem;

// Under the workspace's .cellar/: the file digests of earlier runs.
constexpr const char* kDigestMemoFile = "file-digests";
// Output stamps of local hits (tasks/artifact/output_stamp.h), under .cellar/.
constexpr const char* kOutputStampDir = "outputs";

void Print(FILE* f, std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
}

Result<Project> Open(const RunOptions& options, const CommandContext& ctx) {
  if (options.config_file.empty()) return OpenProject(ctx.cwd, ctx.env);
  fs::path path = fs::path(options.config_file).is_absolute() ? fs::path(options.config_file)
                                                                : fs::path(ctx.cwd) / options.config_file;
  auto config = LoadConfig(path.lexically_normal().string(), ctx.env);
  if (!config.ok()) return config.error();
  auto workspace = LoadWorkspace(config->root, config->packages);
  if (!workspace.ok()) return workspace.error();
  return Project{std::move(*config), std::move(*workspace)};
}

std::string CacheDir(const std::string& requested, const std::string& root, const std::string& cwd) {
  if (requested.empty()) return (fs::path(root) / ".cellar" / "cache").string();
  fs::path p(requested);
  return (p.is_absolute() ? p : fs::path(cwd) / p).lexically_normal().string();
}

std::string BypassReason(const RunOptions& o) {
  if (o.no_cache) return "--no-cache";
  if (o.force) return "--force";
  return "--cache=" + std::string(o.remote_cache ? "remote" : "");
}

int WriteGraph(const TaskGraph& graph, const RunOptions& options, const CommandContext& ctx) {
  std::string dot = graph.RenderDot();
  if (options.graph_file.empty()) {
    Print(ctx.out, dot);
    return 0;
  }
  fs::path path = fs::path(ctx.cwd) / options.graph_file;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << dot;
  if (!f) {
    Print(ctx.err, "cellar run: cannot write " + path.string() + "\n");
    return 1;
  }
  Print(ctx.out, "wrote the task graph to " + path.string() + "\n");
  return 0;
}

struct Remote {
  std::unique_ptr<taskcache::NegotiateRemoteCache> client;
  std::unique_ptr<taskcache::GuardedRemoteCache> guarded;
};

Remote MakeRemote(const Project& project, const RunOptions& options, const CommandContext& ctx, RunReporter& reporter) {
  Remote remote;
  if (options.no_cache || !options.remote_cache) return remote;
  RemoteConfig rc = EffectiveRemote(project.config.remote, ctx.env);
  if (!rc.enabled || rc.url.empty()) return remote;
  taskcache::NegotiateRemoteCacheOptions o;
  o.server_url = rc.url;
  o.token = rc.token;
  o.ns = project.config.project_id;
  remote.client = std::make_unique<taskcache::NegotiateRemoteCache>(o);
  remote.guarded = std::make_unique<taskcache::GuardedRemoteCache>(
      *remote.client, [&reporter](const Status& s) { reporter.Warning(s.message()); });
  return remote;
}

}  // namespace

RemoteConfig EffectiveRemote(const RemoteConfig& configured, const EnvLookup& env) {
  RemoteConfig rc = configured;
  if (auto url = env("CELLAR_REMOTE_URL"); url && !url->empty()) {
    rc.url = *url;
    rc.enabled = true;
  }
  if (auto token = env("CELLAR_TOKEN"); token && !token->empty()) rc.token = *token;
  return rc;
}

int RunCommand(const std::vector<std::string>& args, const CommandContext& ctx) {
  auto parsed = ParseRunArgs(args, ctx.cores);
  if (!parsed.ok()) {
    Print(ctx.err, "cellar run: " + parsed.error().message() + "\n(cellar run --help lists the options)\n");
    return 2;
  }
  const RunOptions& options = *parsed;
  if (options.help) {
    Print(ctx.out, RunUsage());
    return 0;
  }
  auto project = Open(options, ctx);
  if (!project.ok()) {
    Print(ctx.err, "cellar run: " + project.error().message() + "\n");
    return 1;
  }
  for (const auto& w : project->config.warnings) Print(ctx.err, "cellar: warning: " + w + "\n");
  const std::string& root = project->workspace.root;
  env::SystemProcessRunner processes;
  // git's index, read in-process; git status answers what that reader
  // leaves to git (git_index_lister.h).
  taskhash::GitLsFilesLister git_status(processes);
  taskhash::GitIndexLister git_index(processes, git_status);
  // The workspace is listed while the graph is built and the memo read.
  std::optional<taskhash::EarlyGitLister> git;
  if (!options.graph) git.emplace(git_index, root);
  TaskSelection selection{options.filters, options.package};
  // Run inside a package with no --filter or -p: that package and what it
  // needs, as turbo scopes a run to the current package.
  if (selection.filters.empty() && !selection.package) {
    if (const Package* here = project->workspace.PackageContaining(ctx.cwd)) {
      selection.package = here->dir;
      Print(ctx.err, "cellar: in package " + here->name + " (" + here->dir +
                         "): running its tasks; --filter from the workspace root selects others\n");
    }
  }
  auto graph = BuildTaskGraph(project->config, project->workspace, options.tasks, selection);
  if (!graph.ok()) {
    Print(ctx.err, "cellar run: " + graph.error().message() + "\n");
    return 1;
  }
  if (options.graph) return WriteGraph(*graph, options, ctx);

  // File digests of earlier runs in this checkout: a run where nothing
  // changed stats its inputs instead of reading them.
  const std::string memo_path = (fs::path(root) / ".cellar" / kDigestMemoFile).string();
  taskhash::DigestMemo memo(std::chrono::system_clock::now());
  memo.Load(memo_path);
  taskhash::FileHasher files({.memo = &memo});
  taskhash::TaskHasher hasher(root, *git, files);
  const PlanDetail detail =
      options.dry != DryRun::kNo || options.summarize ? PlanDetail::kManifests : PlanDetail::kHashes;
  auto plan = BuildPlan(*project, *graph, hasher, ctx.env, detail);
  if (plan.ok()) {
    std::error_code ec;
    fs::create_directories(fs::path(memo_path).parent_path(), ec);
    (void)memo.Save(memo_path);  // best effort: the memo only saves work
  }
  if (!plan.ok()) {
    Print(ctx.err, "cellar run: " + plan.error().message() + "\n");
    return 1;
  }
  RunRecord record;
  const auto started = std::chrono::system_clock::now();
  record.id = NewRunId(started);
  record.started_unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(started.time_since_epoch()).count();
  record.requested = options.tasks;
  record.tasks = std::move(plan->records);
  record.global = std::move(plan->global);
  if (options.dry != DryRun::kNo) {
    Print(ctx.out, options.dry == DryRun::kJson ? RenderRunJson(record) : RenderDryText(record));
    return 0;
  }
  if (plan->tasks.empty()) {
    std::string names;
    for (const auto& t : options.tasks) names += (names.empty() ? "" : ", ") + t;
    Print(ctx.out, "cellar run: no selected package has " + names + "\n");
    return 0;
  }

  RunReporter reporter({.logs = options.output_logs,
                        .prefix_output = plan->tasks.size() > 1,
                        .progress = ctx.terminal,
                        .total_tasks = plan->tasks.size(),
                        .width = ctx.width},
                       [out = ctx.out](std::string_view s) { Print(out, s); });
  taskcache::LocalCache local(CacheDir(options.cache_dir, root, ctx.cwd));
  Remote remote = MakeRemote(*project, options, ctx, reporter);
  ArtifactTaskCacheOptions cache_options;
  cache_options.read_local = options.ReadsLocal();
  cache_options.write_local = options.WritesLocal();
  cache_options.read_remote = options.ReadsRemote();
  cache_options.write_remote = options.WritesRemote();
  cache_options.output_stamp_dir = (fs::path(root) / ".cellar" / kOutputStampDir).string();
  ArtifactTaskCache cache(local, remote.guarded.get(), cache_options,
                          [&reporter](const std::string& s) { reporter.Note(s); });

  RunnerOptions runner_options;
  runner_options.concurrency = options.concurrency;
  runner_options.keep_going = options.keep_going;
  runner_options.read_cache = options.ReadsLocal() || options.ReadsRemote();
  runner_options.write_cache = options.WritesLocal() || options.WritesRemote();
  runner_options.bypass_reason = BypassReason(options);
  runner_options.log_dir = (fs::path(root) / ".cellar" / "logs").string();
  runner_options.task_timeout = options.task_timeout;
  runner_options.env = ctx.child_env;

  StopSignal stop;
  Result<RunnerResult> result = Status::Internal("not run");
  {
    SignalRouting routing(stop);
    Runner runner(processes, cache, reporter, stop, runner_options);
    result = runner.Run(plan->tasks, record.tasks);
  }
  if (!result.ok()) {
    Print(ctx.err, "cellar run: " + result.error().message() + "\n");
    return 1;
  }
  reporter.Finish(result->totals);
  record.totals = result->totals;
  record.exit_code = result->exit_code;
  if (options.summarize) {
    auto path = WriteRunSummary(root, record);
    if (path.ok()) Print(ctx.out, "Summary:   " + *path + "\n");
    else Print(ctx.err, "cellar run: summary not written: " + path.error().message() + "\n");
  }
  if (cache.abandoned_uploads()) {
    // Uploads still running hold references to the caches: leave without destructors.
    std::fflush(nullptr);
    ::_exit(result->exit_code);
  }
  return result->exit_code;
}

int InitCommand(const std::vector<std::string>& args, const CommandContext& ctx) {
  InitOptions options;
  for (const auto& a : args) {
    if (a == "--force") options.force = true;
    else if (a == "--dry-run" || a == "--dry") options.write = false;
    else if (a == "--help" || a == "-h") {
      Print(ctx.out,
            "Usage: cellar init [--force] [--dry-run]\n\n"
            "Looks at the repository (turbo.json, package.json workspaces, pnpm-workspace.yaml,\n"
            "go.mod, Cargo.toml, requirements.txt) and writes a cellar.yml that runs.\n");
      return 0;
    } else {
      Print(ctx.err, "cellar init: unexpected argument '" + a + "'\n");
      return 2;
    }
  }
  auto result = InitWorkspace(ctx.cwd, options);
  if (!result.ok()) {
    Print(ctx.err, "cellar init: " + result.error().message() + "\n");
    return 1;
  }
  if (!options.write) Print(ctx.out, result->text);
  else Print(ctx.out, "wrote " + result->path + " (from " + result->detected + ")\n");
  for (const auto& note : result->notes) Print(ctx.out, "note: " + note + "\n");
  return 0;
}

int CleanCommand(const std::vector<std::string>& args, const CommandContext& ctx) {
  std::string cache_dir;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--cache-dir" && i + 1 < args.size()) cache_dir = args[++i];
    else if (args[i].rfind("--cache-dir=", 0) == 0) cache_dir = args[i].substr(12);
    else {
      Print(ctx.err, "cellar clean: unexpected argument '" + args[i] + "'\n");
      return 2;
    }
  }
  auto config = FindConfigFile(ctx.cwd);
  std::string root = ctx.cwd;
  if (config.ok() && *config) root = fs::path(**config).parent_path().string();
  taskcache::LocalCache local(CacheDir(cache_dir, root, ctx.cwd));
  if (Status s = local.Clean(); !s.ok()) {
    Print(ctx.err, "cellar clean: " + s.message() + "\n");
    return 1;
  }
  std::error_code ec;
  for (const char* sub : {"runs", "logs", kDigestMemoFile, kOutputStampDir}) {
    fs::remove_all(fs::path(root) / ".cellar" / sub, ec);
  }
  fs::remove(fs::path(root) / ".cellar", ec);  // only when now empty
  Print(ctx.out, "removed " + local.dir() + " and the run summaries and logs under " +
                     (fs::path(root) / ".cellar").string() + "\n");
  return 0;
}

}  // namespace cellar::tasks
