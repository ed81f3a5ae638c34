#include "env/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace cellar::env {

namespace {
void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

Result<Subprocess> Subprocess::Spawn(const SubprocessOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("empty argv");
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
  };
  if (options.merge_stderr && !options.pipe_stdout) return Status::InvalidArgument("merge_stderr needs pipe_stdout");
  const bool pipe_stderr = options.pipe_stderr && !options.merge_stderr;
  if ((options.pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0) || (options.pipe_stdout && ::pipe2(out, O_CLOEXEC) != 0) ||
      (pipe_stderr && ::pipe2(err, O_CLOEXEC) != 0)) {
    Status s = Status::FromErrno(errno, "pipe");
    close_all();
    return s;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const bool null_rest = !options.inherit_stdio;
  if (options.pipe_stdin) posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  else if (null_rest) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (options.pipe_stdout) posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  else if (null_rest) posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (options.merge_stderr) posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  else if (pipe_stderr) posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  else if (null_rest) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  // Sockets opened by the server are not all close-on-exec: close every
  // descriptor above 2 in the child.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, options.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group, killable as a whole
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);  // the server ignores SIGPIPE; git must not
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    close_all();
    return Status::FromErrno(rc, "spawn " + options.argv[0]);
  }
  Subprocess p;
  p.pid_ = pid;
  CloseFd(in[0]);
  CloseFd(out[1]);
  CloseFd(err[1]);
  p.stdin_fd_ = in[1];
  p.stdout_fd_ = out[0];
  p.stderr_fd_ = err[0];
  return p;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(o.pid_), stdin_fd_(o.stdin_fd_), stdout_fd_(o.stdout_fd_), stderr_fd_(o.stderr_fd_),
      reaped_(o.reaped_), exit_code_(o.exit_code_) {
  o.pid_ = -1;
  o.stdin_fd_ = o.stdout_fd_ = o.stderr_fd_ = -1;
  o.reaped_ = true;
}

Subprocess::~Subprocess() {
  CloseFd(stdin_fd_);
  CloseFd(stdout_fd_);
  CloseFd(stderr_fd_);
  if (pid_ > 0 && !reaped_) {
    Kill();
    Wait();
  }
}

int Subprocess::ReleaseStdin() { return std::exchange(stdin_fd_, -1); }
int Subprocess::ReleaseStdout() { return std::exchange(stdout_fd_, -1); }
void Subprocess::CloseStdin() { CloseFd(stdin_fd_); }

void Subprocess::Signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, sig);
}

void Subprocess::Kill() { Signal(SIGKILL); }

int Subprocess::Wait() {
  if (reaped_ || pid_ <= 0) return exit_code_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  exit_code_ = DecodeStatus(status);
  return exit_code_;
}

Result<RunResult> RunSubprocess(SubprocessOptions options, const std::string& input,
                                std::chrono::milliseconds timeout, size_t max_output) {
  options.pipe_stdin = true;
  options.pipe_stdout = true;
  options.pipe_stderr = true;
  CELLAR_ASSIGN_OR_RETURN(auto proc, Subprocess::Spawn(options));
  RunResult result;
  int in = proc.ReleaseStdin();
  int out = proc.ReleaseStdout();
  int err = proc.stderr_fd();
  for (int fd : {in, out, err})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  size_t written = 0;
  if (input.empty()) CloseFd(in);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool err_open = err >= 0;
  char buf[65536];
  while (out >= 0 || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      proc.Kill();
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out >= 0) { out_i = n; fds[n++] = {out, POLLIN, 0}; }
    if (err_open) { err_i = n; fds[n++] = {err, POLLIN, 0}; }
    if (in >= 0) { in_i = n; fds[n++] = {in, POLLOUT, 0}; }
    int rc = ::poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    if (in_i >= 0 && fds[in_i].revents) {
      ssize_t w = ::write(in, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN) written = input.size();  // child closed stdin
      if (written == input.size()) CloseFd(in);
    }
    auto drain = [&](int& fd, std::string& sink, bool& open) {
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r > 0) {
        if (sink.size() < max_output) sink.append(buf, std::min<size_t>(static_cast<size_t>(r), max_output - sink.size()));
      } else if (r == 0 || errno != EAGAIN) {
        open = false;
      }
    };
    if (out_i >= 0 && fds[out_i].revents) {
      bool open = true;
      drain(out, result.out, open);
      if (!open) CloseFd(out);
    }
    if (err_i >= 0 && fds[err_i].revents) drain(err, result.err, err_open);
  }
  CloseFd(in);
  CloseFd(out);
  result.exit_code = proc.Wait();
  return result;
}

std::vector<std::string> CurrentEnvironment(const std::vector<std::string>& drop_prefixes,
                                            const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    bool drop = false;
    for (const auto& p : drop_prefixes) drop |= v.starts_with(p);
    if (!drop) env.emplace_back(v);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace cellar::env
