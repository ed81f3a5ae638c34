#include "env/process_runner.h"

namespace cellar::env {

namespace {

class SystemProcess final : public Process {
 public:
  explicit SystemProcess(Subprocess proc) : proc_(std::move(proc)) {}
  pid_t pid() const override { return proc_.pid(); }
  int stdin_fd() const override { return proc_.stdin_fd(); }
  int stdout_fd() const override { return proc_.stdout_fd(); }
  int stderr_fd() const override { return proc_.stderr_fd(); }
  int ReleaseStdin() override { return proc_.ReleaseStdin(); }
  int ReleaseStdout() override { return proc_.ReleaseStdout(); }
  void CloseStdin() override { proc_.CloseStdin(); }
  void Signal(int sig) override { proc_.Signal(sig); }
  void Kill() override { proc_.Kill(); }
  int Wait() override { return proc_.Wait(); }

 private:
  Subprocess proc_;  // its destructor kills and reaps
};

}  // namespace

Result<std::unique_ptr<Process>> SystemProcessRunner::Spawn(const SubprocessOptions& options) {
  CELLAR_ASSIGN_OR_RETURN(auto proc, Subprocess::Spawn(options));
  return std::unique_ptr<Process>(std::make_unique<SystemProcess>(std::move(proc)));
}

Result<RunResult> SystemProcessRunner::Run(SubprocessOptions options, const std::string& input,
                                           std::chrono::milliseconds timeout, size_t max_output) {
  return RunSubprocess(std::move(options), input, timeout, max_output);
}

}  // namespace cellar::env
