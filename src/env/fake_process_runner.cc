#include "env/fake_process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <thread>

namespace cellar::env {

namespace {

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string>& argv) {
  size_t i = 0;
  for (const auto& word : argv) {
    if (i < pattern.size() && word == pattern[i]) ++i;
  }
  return i == pattern.size();
}

}  // namespace

struct FakeProcessRunner::State {
  struct Rule {
    std::vector<std::string> pattern;
    std::deque<Handler> handlers;
    uint64_t seq = 0;
  };
  std::mutex mu;
  std::vector<Rule> rules;  // GUARDED_BY(mu)
  std::vector<Call> calls;  // GUARDED_BY(mu)
  uint64_t seq = 0;         // GUARDED_BY(mu)
  pid_t next_pid = 1 << 30;  // far above any real pid, so a stray kill() hits nothing

  Rule& RuleFor(std::vector<std::string> pattern) {
    for (auto& r : rules) {
      if (r.pattern == pattern) return r;
    }
    rules.push_back(Rule{std::move(pattern), {}, 0});
    return rules.back();
  }
  void AddSignal(size_t call, int sig) {
    std::lock_guard lock(mu);
    calls[call].signals.push_back(sig);
  }
};

namespace {

// A scripted "child": a thread that writes the script's output into real
// pipes, drains stdin, and exits when the script says or when signalled.
class FakeProcess final : public Process {
 public:
  FakeProcess(std::shared_ptr<FakeProcessRunner::State> state, size_t call, FakeProcessScript script, pid_t pid)
      : state_(std::move(state)), call_(call), script_(std::move(script)), pid_(pid) {}

  Status Start(const SubprocessOptions& options) {
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    const bool pipe_err = options.pipe_stderr && !options.merge_stderr;
    if (options.merge_stderr && !options.pipe_stdout) return Status::InvalidArgument("merge_stderr needs pipe_stdout");
    if ((options.pipe_stdin && ::pipe2(in, O_CLOEXEC) != 0) || (options.pipe_stdout && ::pipe2(out, O_CLOEXEC) != 0) ||
        (pipe_err && ::pipe2(err, O_CLOEXEC) != 0)) {
      Status s = Status::FromErrno(errno, "pipe");
      for (int* p : {in, out, err}) {
        CloseFd(p[0]);
        CloseFd(p[1]);
      }
      return s;
    }
    stdin_fd_ = in[1];
    stdout_fd_ = out[0];
    stderr_fd_ = err[0];
    child_in_ = in[0];
    if (out[1] >= 0) {
      streams_.push_back({out[1], options.merge_stderr ? script_.out + script_.err : script_.out, 0});
    }
    if (err[1] >= 0) streams_.push_back({err[1], script_.err, 0});
    for (auto& s : streams_) ::fcntl(s.fd, F_SETFL, ::fcntl(s.fd, F_GETFL) | O_NONBLOCK);
    if (child_in_ >= 0) ::fcntl(child_in_, F_SETFL, ::fcntl(child_in_, F_GETFL) | O_NONBLOCK);
    child_ = std::thread([this] { Live(); });
    return Status::Ok();
  }

  ~FakeProcess() override {
    CloseFd(stdin_fd_);
    CloseFd(stdout_fd_);
    CloseFd(stderr_fd_);
    Kill();
    Wait();
  }

  pid_t pid() const override { return pid_; }
  int stdin_fd() const override { return stdin_fd_; }
  int stdout_fd() const override { return stdout_fd_; }
  int stderr_fd() const override { return stderr_fd_; }
  int ReleaseStdin() override { return std::exchange(stdin_fd_, -1); }
  int ReleaseStdout() override { return std::exchange(stdout_fd_, -1); }
  void CloseStdin() override { CloseFd(stdin_fd_); }

  void Signal(int sig) override {
    std::lock_guard lock(mu_);
    if (exited_) return;
    state_->AddSignal(call_, sig);
    if (sig == SIGKILL || !script_.ignore_signals) {
      if (term_signal_ == 0) term_signal_ = sig;
      cv_.notify_all();
    }
  }
  void Kill() override { Signal(SIGKILL); }

  int Wait() override {
    if (child_.joinable()) child_.join();
    return exit_code_;
  }

 private:
  struct Stream {
    int fd;
    std::string data;
    size_t pos;
  };

  // The child's life: print, then run for `delay` (or until signalled).
  void Live() {
    // A write to a pipe whose reader is gone raises SIGPIPE at this thread:
    // block it so the test process survives and the write fails with EPIPE,
    // which ends the fake child as SIGPIPE would end a real one.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    std::string input;
    auto exit_at = std::chrono::steady_clock::time_point::max();
    int died_of = 0;
    char buf[16384];
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (term_signal_ != 0) {
          died_of = term_signal_;
          break;
        }
      }
      bool writing = false;
      for (auto& s : streams_) writing |= s.fd >= 0 && s.pos < s.data.size();
      if (!writing && exit_at == std::chrono::steady_clock::time_point::max() && !script_.hang) {
        exit_at = std::chrono::steady_clock::now() + script_.delay;
      }
      // Like git upload-pack, it reads its whole request before it ends.
      if (!writing && child_in_ < 0 && std::chrono::steady_clock::now() >= exit_at) break;
      std::vector<pollfd> fds;
      if (child_in_ >= 0) fds.push_back({child_in_, POLLIN, 0});
      for (auto& s : streams_) {
        if (s.fd >= 0 && s.pos < s.data.size()) fds.push_back({s.fd, POLLOUT, 0});
      }
      if (fds.empty()) {
        // Nothing to move: sleep until signalled or the exit time.
        std::unique_lock lock(mu_);
        auto until = std::min(exit_at, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
        cv_.wait_until(lock, until, [this] { return term_signal_ != 0; });
        continue;
      }
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      if (child_in_ >= 0 && fds[0].revents) {
        ssize_t r = ::read(child_in_, buf, sizeof buf);
        if (r > 0) input.append(buf, static_cast<size_t>(r));
        else if (r == 0 || errno != EAGAIN) CloseFd(child_in_);
      }
      for (auto& s : streams_) {
        if (s.fd < 0 || s.pos == s.data.size()) continue;
        ssize_t w = ::write(s.fd, s.data.data() + s.pos, s.data.size() - s.pos);
        if (w > 0) s.pos += static_cast<size_t>(w);
        if (w < 0 && errno == EPIPE) {
          timespec zero{0, 0};
          (void)sigtimedwait(&pipe_set, nullptr, &zero);
          died_of = SIGPIPE;
        }
      }
      if (died_of != 0) break;
    }
    CloseFd(child_in_);
    for (auto& s : streams_) CloseFd(s.fd);
    {
      std::lock_guard state_lock(state_->mu);
      state_->calls[call_].input = std::move(input);
    }
    std::lock_guard lock(mu_);
    exit_code_ = died_of != 0 ? 128 + died_of : script_.exit_code;
    exited_ = true;
  }

  std::shared_ptr<FakeProcessRunner::State> state_;
  const size_t call_;
  const FakeProcessScript script_;
  const pid_t pid_;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int child_in_ = -1;             // owned by the child thread once started
  std::vector<Stream> streams_;   // owned by the child thread once started
  std::thread child_;
  std::mutex mu_;
  std::condition_variable cv_;
  int term_signal_ = 0;  // GUARDED_BY(mu_)
  bool exited_ = false;  // GUARDED_BY(mu_)
  int exit_code_ = -1;   // written by the child thread before it ends; read after join
};

}  // namespace

FakeProcessScript FakeProcessScript::Exit(int code, std::string out, std::string err) {
  FakeProcessScript s;
  s.exit_code = code;
  s.out = std::move(out);
  s.err = std::move(err);
  return s;
}

FakeProcessScript FakeProcessScript::Hang(std::string out) {
  FakeProcessScript s;
  s.out = std::move(out);
  s.hang = true;
  return s;
}

FakeProcessScript FakeProcessScript::SpawnFailure(Status error) {
  FakeProcessScript s;
  s.spawn_error = std::move(error);
  return s;
}

std::optional<std::string> FakeProcessRunner::Call::Env(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      found = e.substr(name.size() + 1);
    }
  }
  return found;
}

std::string FakeProcessRunner::Call::Command() const {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

FakeProcessRunner::FakeProcessRunner() : state_(std::make_shared<State>()) {}
FakeProcessRunner::~FakeProcessRunner() = default;

void FakeProcessRunner::Set(std::vector<std::string> pattern, FakeProcessScript script) {
  SetHandler(std::move(pattern), [script](const SubprocessOptions&, const std::string&) { return script; });
}

void FakeProcessRunner::SetHandler(std::vector<std::string> pattern, Handler handler) {
  std::lock_guard lock(state_->mu);
  auto& rule = state_->RuleFor(std::move(pattern));
  rule.handlers = {std::move(handler)};
  rule.seq = ++state_->seq;
}

void FakeProcessRunner::Queue(std::vector<std::string> pattern, FakeProcessScript script) {
  std::lock_guard lock(state_->mu);
  auto& rule = state_->RuleFor(std::move(pattern));
  rule.handlers.push_back([script](const SubprocessOptions&, const std::string&) { return script; });
  rule.seq = ++state_->seq;
}

void FakeProcessRunner::Clear(std::vector<std::string> pattern) {
  std::lock_guard lock(state_->mu);
  std::erase_if(state_->rules, [&](const State::Rule& r) { return r.pattern == pattern; });
}

std::pair<size_t, Result<FakeProcessScript>> FakeProcessRunner::Start(const SubprocessOptions& options,
                                                                      const std::string& input, bool spawned) {
  Handler handler;
  size_t index;
  {
    std::lock_guard lock(state_->mu);
    Call call;
    call.argv = options.argv;
    call.env = options.env;
    call.cwd = options.cwd;
    call.input = spawned ? "" : input;
    call.spawned = spawned;
    index = state_->calls.size();
    state_->calls.push_back(std::move(call));
    if (options.argv.empty()) return {index, Status::InvalidArgument("empty argv")};
    State::Rule* best = nullptr;
    for (auto& r : state_->rules) {
      if (r.handlers.empty() || !Matches(r.pattern, options.argv)) continue;
      if (!best || r.pattern.size() > best->pattern.size() ||
          (r.pattern.size() == best->pattern.size() && r.seq > best->seq)) {
        best = &r;
      }
    }
    if (!best) return {index, Status::NotFound("fake: no script for `" + state_->calls[index].Command() + "`")};
    handler = best->handlers.front();
    if (best->handlers.size() > 1) best->handlers.pop_front();
  }
  // Outside the lock: a handler may have side effects or call back in.
  FakeProcessScript script = handler(options, input);
  if (script.spawn_error) return {index, *script.spawn_error};
  return {index, std::move(script)};
}

Result<std::unique_ptr<Process>> FakeProcessRunner::Spawn(const SubprocessOptions& options) {
  auto [index, script] = Start(options, "", /*spawned=*/true);
  if (!script.ok()) return script.error();
  pid_t pid;
  {
    std::lock_guard lock(state_->mu);
    pid = state_->next_pid++;
  }
  auto proc = std::make_unique<FakeProcess>(state_, index, std::move(*script), pid);
  CELLAR_RETURN_IF_ERROR(proc->Start(options));
  return std::unique_ptr<Process>(std::move(proc));
}

Result<RunResult> FakeProcessRunner::Run(SubprocessOptions options, const std::string& input,
                                         std::chrono::milliseconds timeout, size_t max_output) {
  auto [index, script] = Start(options, input, /*spawned=*/false);
  if (!script.ok()) return script.error();
  RunResult r;
  r.out = options.merge_stderr ? script->out + script->err : script->out;
  r.err = options.merge_stderr ? "" : script->err;
  r.out.resize(std::min(r.out.size(), max_output));
  r.err.resize(std::min(r.err.size(), max_output));
  if (script->hang || script->delay >= timeout) {
    std::this_thread::sleep_for(timeout);
    state_->AddSignal(index, SIGKILL);
    r.timed_out = true;
    r.exit_code = 128 + SIGKILL;
    return r;
  }
  std::this_thread::sleep_for(script->delay);
  r.exit_code = script->exit_code;
  return r;
}

std::vector<FakeProcessRunner::Call> FakeProcessRunner::calls() const {
  std::lock_guard lock(state_->mu);
  return state_->calls;
}

size_t FakeProcessRunner::CallCount(const std::vector<std::string>& pattern) const {
  std::lock_guard lock(state_->mu);
  return static_cast<size_t>(std::count_if(state_->calls.begin(), state_->calls.end(),
                                           [&](const Call& c) { return Matches(pattern, c.argv); }));
}

std::optional<FakeProcessRunner::Call> FakeProcessRunner::LastCall(const std::vector<std::string>& pattern) const {
  std::lock_guard lock(state_->mu);
  for (auto it = state_->calls.rbegin(); it != state_->calls.rend(); ++it) {
    if (Matches(pattern, it->argv)) return *it;
  }
  return std::nullopt;
}

}  // namespace cellar::env
