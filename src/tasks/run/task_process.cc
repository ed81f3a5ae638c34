#include "tasks/run/task_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

namespace cellar::tasks {

namespace {

using Clock = std::chrono::steady_clock;

class LogFile {
 public:
  ~LogFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    return fd_ < 0 ? Status::FromErrno(errno, "open " + path) : Status::Ok();
  }
  Status Write(const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = ::write(fd_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "write task log");
      data += n;
      size -= static_cast<size_t>(n);
    }
    return Status::Ok();
  }

 private:
  int fd_ = -1;
};

// Splits a byte stream into lines for the live display.
class LineSplitter {
 public:
  explicit LineSplitter(const std::function<void(std::string_view)>& sink) : sink_(sink) {}
  void Feed(const char* data, size_t size) {
    if (!sink_) return;
    pending_.append(data, size);
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      sink_(line);
    }
    pending_.erase(0, start);
  }
  void Finish() {
    if (sink_ && !pending_.empty()) sink_(pending_);
    pending_.clear();
  }

 private:
  const std::function<void(std::string_view)>& sink_;
  std::string pending_;
};

int MillisUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000 * 60));
}

}  // namespace

Result<TaskProcessResult> RunTaskProcess(env::ProcessRunner& runner, const TaskProcessOptions& options) {
  LogFile log;
  CELLAR_RETURN_IF_ERROR(log.Open(options.log_path));
  env::SubprocessOptions spawn;
  spawn.argv = {"sh", "-c", options.command};
  spawn.env = options.env;
  spawn.cwd = options.cwd;
  spawn.pipe_stdout = true;
  spawn.merge_stderr = true;
  const auto start = Clock::now();
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<env::Process> child, runner.Spawn(spawn));

  TaskProcessResult result;
  LineSplitter lines(options.on_line);
  std::optional<Clock::time_point> deadline;
  if (options.timeout.count() > 0) deadline = start + options.timeout;
  std::optional<Clock::time_point> kill_at;     // set once the polite signal went out
  std::optional<Clock::time_point> give_up_at;  // set once SIGKILL went out
  Status write_error;
  char buf[16384];
  const int out_fd = child->stdout_fd();
  const int stop_fd = options.stop ? options.stop->fd() : -1;

  auto stop_group = [&](int sig) {
    if (kill_at) return;
    child->Signal(sig);
    kill_at = Clock::now() + options.kill_grace;
  };
  while (true) {
    if (options.stop && options.stop->triggered() && !result.stopped) {
      result.stopped = true;
      stop_group(options.stop->signal_number());
    }
    if (deadline && !kill_at && Clock::now() >= *deadline) {
      result.timed_out = true;
      stop_group(SIGTERM);
    }
    if (kill_at && !give_up_at && Clock::now() >= *kill_at) {
      child->Kill();
      // A descendant that left the group could hold the pipe open forever.
      give_up_at = Clock::now() + options.kill_grace;
    }
    if (give_up_at && Clock::now() >= *give_up_at) break;

    std::optional<Clock::time_point> next;
    auto consider = [&](const std::optional<Clock::time_point>& t) {
      if (t && (!next || *t < *next)) next = t;
    };
    if (!kill_at) consider(deadline);
    consider(give_up_at ? give_up_at : kill_at);
    int wait_ms = next ? MillisUntil(*next) : -1;
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    nfds_t nfds = (stop_fd >= 0 && !result.stopped) ? 2 : 1;
    int ready = ::poll(fds, nfds, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Status::FromErrno(errno, "poll task output");
    if (fds[0].revents == 0) continue;
    ssize_t n = ::read(out_fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // every writer is gone
    if (write_error.ok()) write_error = log.Write(buf, static_cast<size_t>(n));
    lines.Feed(buf, static_cast<size_t>(n));
  }
  lines.Finish();
  result.exit_code = child->Wait();
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (!write_error.ok()) return write_error;
  return result;
}

}  // namespace cellar::tasks
