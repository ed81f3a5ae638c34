#include "tasks/run/stop_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace cellar::tasks {

namespace {

std::atomic<StopSignal*> g_routed{nullptr};
struct sigaction g_old_int;
struct sigaction g_old_term;

void OnSignal(int sig) {
  if (StopSignal* stop = g_routed.load()) stop->Trigger(sig);
}

}  // namespace

StopSignal::StopSignal() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
}

StopSignal::~StopSignal() {
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
}

void StopSignal::Trigger(int signal_number) {
  int expected = 0;
  if (!signal_.compare_exchange_strong(expected, signal_number)) return;
  if (write_fd_ >= 0) {
    char byte = 1;
    ssize_t ignored = ::write(write_fd_, &byte, 1);
    (void)ignored;
  }
}

SignalRouting::SignalRouting(StopSignal& stop) {
  g_routed.store(&stop);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

SignalRouting::~SignalRouting() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  g_routed.store(nullptr);
}

int ExitCodeForSignal(int signal_number) { return 128 + signal_number; }

}  // namespace cellar::tasks
