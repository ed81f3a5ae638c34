// App: the composition root of `cellar serve`. Builds the store, index,
// cache service, authenticator, protocol adapters and HTTP server from a
// Config, and runs the background maintenance (access-time flushes,
// eviction, orphan adoption).
// Thread-safety: Create/Start/Run from one thread; Shutdown from any.
#pragma once

#include <memory>

#include "base/status.h"
#include "server/config.h"

namespace cellar::core {
struct CacheOptions;
}

namespace cellar::server {

class App {
 public:
  static Result<std::unique_ptr<App>> Create(const Config& config);
  ~App();

  // Binds the listener; port() is valid afterwards.
  Status Start();
  uint16_t port() const;
  // Serves until SIGTERM/SIGINT or Shutdown(), then drains and flushes.
  void Run();
  void Shutdown();

 private:
  struct Parts;
  explicit App(std::unique_ptr<Parts> parts);
  static Status AddGoAdapters(const Config& config, Parts& p);
  static Status AddNpmAdapter(const Config& config, Parts& p);
  static Status AddNegotiateAdapter(const Config& config, Parts& p);
  static void SetUpTracing(const Config& config, Parts& p);
  static Status SetUpHistory(const Config& config, Parts& p);
  static Status AddGitAdapter(const Config& config, Parts& p);
  static Status ConnectRedis(const Config& config, Parts& p);
  static Status SetUpBucketUpkeep(const Config& config, Parts& p, core::CacheOptions& cache_options);
  std::unique_ptr<Parts> parts_;
};

// `cellar verify`: re-hashes every blob under data_dir, quarantines bad
// ones, and checks that every index entry points at a present blob.
// Prints a report; returns non-OK when anything was wrong.
Status VerifyDataDir(const std::string& data_dir, bool quiet);

}  // namespace cellar::server
