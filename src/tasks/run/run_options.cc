#include "tasks/run/run_options.h"

#include "base/strings.h"

namespace cellar::tasks {

const char* RunUsage() {
  return "Usage: cellar run <task>... [options]\n"
         "\n"
         "Runs the tasks of cellar.yml (or velocity.yml) in every package that has them, with\n"
         "their dependencies, restoring outputs from the local and remote caches when the inputs\n"
         "are unchanged.\n"
         "\n"
         "Options:\n"
         "  --filter, -F <pkg|dir|glob>  only these packages (and what their tasks depend on);\n"
         "                               repeatable; x... adds x's dependencies, ...x its\n"
         "                               dependents, !x removes\n"
         "  -p, --package <pkg|dir>      one package (VelocityCache's flag)\n"
         "  --concurrency N|N%           tasks at once (default: the number of cores)\n"
         "  --force                      run every task; the caches are still written\n"
         "  --no-cache                   neither read nor write any cache\n"
         "  --cache=local|remote|local,remote\n"
         "                               which caches to use (default: both)\n"
         "  --cache-dir DIR              the local cache (default: .cellar/cache)\n"
         "  --dry[=json]                 print the plan (hashes, inputs) without running\n"
         "  --graph[=FILE]               print the task graph in DOT and exit\n"
         "  --summarize                  write .cellar/runs/<run id>.json\n"
         "  --continue                   keep running tasks that do not depend on a failure\n"
         "  --output-logs=full|new-only|errors-only|hash-only|none\n"
         "  --task-timeout DURATION      stop a task running longer (e.g. 30m)\n"
         "  --config FILE                the configuration file\n"
         "\n"
         "Environment: CELLAR_REMOTE_URL and CELLAR_TOKEN override remote.url and remote.token.\n";
}

namespace {

// "--name=value", or "--name value" taking the next argument.
bool TakeValue(const std::vector<std::string>& args, size_t& i, std::string_view name, std::string* value,
               bool* missing) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) {
      *missing = true;
      return true;
    }
    *value = args[++i];
    return true;
  }
  if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
    *value = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

Result<size_t> ParseConcurrency(const std::string& v, size_t cores) {
  if (!v.empty() && v.back() == '%') {
    auto pct = ParseUint64(std::string_view(v).substr(0, v.size() - 1));
    if (!pct || *pct == 0) return Status::InvalidArgument("--concurrency: bad percentage '" + v + "'");
    return std::max<size_t>(1, static_cast<size_t>(cores * *pct / 100));
  }
  auto n = ParseUint64(v);
  if (!n || *n == 0) return Status::InvalidArgument("--concurrency must be a positive number or N%, not '" + v + "'");
  return static_cast<size_t>(*n);
}

Status ParseCacheList(const std::string& v, RunOptions& o) {
  o.local_cache = o.remote_cache = false;
  for (auto part : SplitView(v, ',')) {
    if (part == "local") o.local_cache = true;
    else if (part == "remote") o.remote_cache = true;
    else return Status::InvalidArgument("--cache takes local, remote or local,remote, not '" + v + "'");
  }
  return Status::Ok();
}

}  // namespace

Result<RunOptions> ParseRunArgs(const std::vector<std::string>& args, size_t cores) {
  RunOptions o;
  o.concurrency = cores;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    bool missing = false;
    auto need = [&](const char* flag) -> Status {
      return missing ? Status::InvalidArgument(std::string(flag) + " needs a value") : Status::Ok();
    };
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (TakeValue(args, i, "--filter", &v, &missing) || TakeValue(args, i, "-F", &v, &missing)) {
      CELLAR_RETURN_IF_ERROR(need("--filter"));
      o.filters.push_back(v);
    } else if (TakeValue(args, i, "--package", &v, &missing) || TakeValue(args, i, "-p", &v, &missing)) {
      CELLAR_RETURN_IF_ERROR(need("--package"));
      if (o.package) return Status::InvalidArgument("-p/--package names one package; use --filter for several");
      o.package = v;
    } else if (TakeValue(args, i, "--concurrency", &v, &missing)) {
      CELLAR_RETURN_IF_ERROR(need("--concurrency"));
      CELLAR_ASSIGN_OR_RETURN(o.concurrency, ParseConcurrency(v, cores));
    } else if (a == "--force") {
      o.force = true;
    } else if (a == "--no-cache") {
      o.no_cache = true;
    } else if (a.rfind("--cache=", 0) == 0) {
      CELLAR_RETURN_IF_ERROR(ParseCacheList(a.substr(8), o));
    } else if (a == "--dry" || a == "--dry-run" || a == "--dry=text") {
      o.dry = DryRun::kText;
    } else if (a == "--dry=json" || a == "--dry-run=json") {
      o.dry = DryRun::kJson;
    } else if (a == "--summarize") {
      o.summarize = true;
    } else if (a == "--continue") {
      o.keep_going = true;
    } else if (a.rfind("--output-logs", 0) == 0 && TakeValue(args, i, "--output-logs", &v, &missing)) {
      CELLAR_RETURN_IF_ERROR(need("--output-logs"));
      CELLAR_ASSIGN_OR_RETURN(o.output_logs, ParseOutputLogs(v));
    } else if (a == "--graph") {
      o.graph = true;
    } else if (a.rfind("--graph=", 0) == 0) {
      o.graph = true;
      o.graph_file = a.substr(8);
    } else if (TakeValue(args, i, "--cache-dir", &v, &missing)) {
      CELLAR_RETURN_IF_ERROR(need("--cache-dir"));
      o.cache_dir = v;
    } else if (TakeValue(args, i, "--config", &v, &missing)) {
      CELLAR_RETURN_IF_ERROR(need("--config"));
      o.config_file = v;
    } else if (TakeValue(args, i, "--task-timeout", &v, &missing)) {
      CELLAR_RETURN_IF_ERROR(need("--task-timeout"));
      auto ms = ParseDurationMs(v);
      if (!ms || *ms <= 0) return Status::InvalidArgument("--task-timeout: bad duration '" + v + "'");
      o.task_timeout = std::chrono::milliseconds(*ms);
    } else if (!a.empty() && a[0] == '-') {
      return Status::InvalidArgument("unknown option '" + a + "'");
    } else {
      o.tasks.push_back(a);
    }
  }
  if (o.tasks.empty() && !o.help) return Status::InvalidArgument("name at least one task, e.g. 'cellar run build'");
  return o;
}

}  // namespace cellar::tasks
