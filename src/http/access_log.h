// AccessLog: collects access-log lines and writes them to stderr in batches
// (when 64 KiB are pending or every 100 ms), so a busy server makes a few
// large writes instead of one write per request. Lines still pending when
// the process is killed are lost; Flush() runs at shutdown.
// Thread-safety: Append() and Flush() may be called from any thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace cellar::http {

class AccessLog {
 public:
  AccessLog();
  ~AccessLog();  // flushes
  void Append(std::string_view line);
  void Flush();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;  // GUARDED_BY(mu_)
  bool stop_ = false;    // GUARDED_BY(mu_)
  std::mutex write_mu_;  // serializes writes so batches keep their order
  std::thread flusher_;
};

}  // namespace cellar::http
