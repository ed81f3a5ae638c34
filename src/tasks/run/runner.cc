#include "tasks/run/runner.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tasks/run/scheduler.h"
#include "tasks/run/task_process.h"

namespace cellar::tasks {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string LogFileName(const RunTask& task) {
  std::string name = task.id + "-" + task.hash.substr(0, 16) + ".log";
  for (char& c : name) {
    if (c == '/' || c == '#' || c == '@') c = '_';
  }
  return name;
}

std::string FailureReason(const TaskProcessResult& r, std::chrono::milliseconds timeout) {
  if (r.stopped) return "interrupted";
  if (r.timed_out) return "timed out after " + FormatSeconds(timeout);
  if (r.exit_code > 128) return "killed by signal " + std::to_string(r.exit_code - 128);
  return "exited with code " + std::to_string(r.exit_code);
}

}  // namespace

Runner::Runner(env::ProcessRunner& processes, TaskCache& cache, RunReporter& reporter, StopSignal& stop,
               RunnerOptions options)
    : processes_(processes), cache_(cache), reporter_(reporter), stop_(stop), options_(std::move(options)) {}

bool Runner::Execute(const RunTask& task, TaskRecord& record) {
  std::error_code ec;
  std::filesystem::create_directories(options_.log_dir, ec);
  const std::string log_path = (std::filesystem::path(options_.log_dir) / LogFileName(task)).string();
  const bool read = options_.read_cache && task.cacheable;
  record.cache_status = read ? "miss" : "bypass";
  reporter_.Executing(task.id, task.hash, read ? "" : task.cacheable ? options_.bypass_reason : "cache: false");
  TaskProcessOptions p;
  p.command = task.command;
  p.cwd = task.package_dir;
  p.env = options_.env;
  p.log_path = log_path;
  p.timeout = task.timeout.count() > 0 ? task.timeout : options_.task_timeout;
  p.kill_grace = options_.kill_grace;
  p.stop = &stop_;
  p.on_line = [&](std::string_view line) { reporter_.TaskOutput(task.id, line); };
  auto result = RunTaskProcess(processes_, p);
  if (!result.ok()) {
    record.exit_code = -1;
    reporter_.TaskFailed(task.id, "could not run: " + result.error().message(), "");
    std::filesystem::remove(log_path, ec);
    return false;
  }
  record.exit_code = result->exit_code;
  record.duration = result->duration;
  if (!result->ok()) {
    reporter_.TaskFailed(task.id, FailureReason(*result, p.timeout), ReadWholeFile(log_path));
    std::filesystem::remove(log_path, ec);
    return false;
  }
  // A stop that arrives after the command finished still keeps its outputs
  // out of the caches: they may be half-written by a sibling's cleanup.
  if (options_.write_cache && task.cacheable && !stop_.triggered()) {
    Status saved = cache_.Save(task, log_path, result->duration);
    if (!saved.ok()) reporter_.Warning(task.id + ": outputs not cached: " + saved.message());
  }
  std::filesystem::remove(log_path, ec);
  reporter_.TaskDone(task.id);
  return true;
}

bool Runner::RunOne(const RunTask& task, TaskRecord& record) {
  if (stop_.triggered()) return false;
  if (options_.read_cache && task.cacheable) {
    const auto start = SteadyClock::now();
    std::string warning;
    std::optional<Restored> hit = cache_.Restore(task, &warning);
    if (!warning.empty()) reporter_.Warning(task.id + ": " + warning);
    if (hit) {
      record.cache_status = "hit";
      record.cache_source = std::string(CacheSourceName(hit->source));
      record.exit_code = 0;
      record.saved = hit->recorded_duration;
      record.duration = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
      reporter_.CacheHit(task.id, hit->source, task.hash, hit->log);
      return true;
    }
  }
  return Execute(task, record);
}

Result<RunnerResult> Runner::Run(const std::vector<RunTask>& tasks, std::vector<TaskRecord>& records) {
  const auto start = SteadyClock::now();
  std::vector<ScheduleNode> nodes;
  nodes.reserve(tasks.size());
  for (const auto& t : tasks) nodes.push_back({t.id, t.deps});
  CELLAR_RETURN_IF_ERROR(Scheduler::Validate(nodes));
  if (options_.read_cache) cache_.Prepare(tasks);

  Scheduler scheduler(std::move(nodes), {.concurrency = options_.concurrency, .keep_going = options_.keep_going});
  // Turns a signal into "start nothing new"; the task threads stop their own
  // children. `done` wakes it at once when the tasks end (a poll timeout
  // would add its period to every run).
  const int done = ::eventfd(0, EFD_CLOEXEC);
  if (done < 0) return Status::FromErrno(errno, "eventfd");
  std::thread watcher([&] {
    pollfd fds[2] = {{stop_.fd(), POLLIN, 0}, {done, POLLIN, 0}};
    while (true) {
      int n = ::poll(fds, 2, 1000);
      if (stop_.triggered() || (n > 0 && (fds[0].revents & POLLIN))) {
        scheduler.Stop();
        return;
      }
      if (n > 0 && (fds[1].revents & POLLIN)) return;
    }
  });
  auto outcomes = scheduler.Run([&](size_t i) { return RunOne(tasks[i], records[i]); });
  const uint64_t one = 1;
  while (::write(done, &one, sizeof one) < 0 && errno == EINTR) {
  }
  watcher.join();
  ::close(done);
  if (!outcomes.ok()) return outcomes.error();

  for (const auto& w : cache_.Finish(stop_.triggered())) reporter_.Warning(w);

  RunnerResult result;
  RunTotals& totals = result.totals;
  totals.total = tasks.size();
  for (size_t i = 0; i < tasks.size(); ++i) {
    TaskRecord& r = records[i];
    switch ((*outcomes)[i]) {
      case NodeOutcome::kSucceeded:
        ++totals.succeeded;
        if (r.cache_status == "hit") {
          ++totals.cached;
          totals.saved += r.saved;
        }
        break;
      case NodeOutcome::kFailed:
        totals.failed.push_back(tasks[i].id);
        break;
      case NodeOutcome::kSkipped:
      case NodeOutcome::kNotRun:
        r.cache_status = std::string(NodeOutcomeName((*outcomes)[i]));
        totals.skipped.push_back(tasks[i].id);
        break;
    }
  }
  totals.wall = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  if (stop_.triggered()) result.exit_code = ExitCodeForSignal(stop_.signal_number());
  else if (!totals.failed.empty()) result.exit_code = 1;
  return result;
}

}  // namespace cellar::tasks
