// HiredisClient: RedisClient over hiredis's blocking API. One connection
// per calling thread is overkill for cellar's few coordination calls, so it
// keeps a small pool: a call takes an idle connection (or opens one), and
// returns it afterwards unless it failed.
//
// Failure handling (see redis_client.h for why): a connection that fails is
// dropped; after a failure to reach Redis the client refuses calls for a
// back-off period that doubles up to `max_backoff`, and it logs one warning
// when Redis goes away and one line when it is back. is_up() is what the
// `cellar_redis_up` gauge reports.
//
// Constructing one sets SIGPIPE to ignored for the whole process (see the
// constructor for why).
#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "env/clock.h"
#include "redis/redis_client.h"
#include "redis/redis_url.h"

namespace cellar::redis {

struct HiredisOptions {
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds command_timeout{500};
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{10'000};
  size_t max_idle_connections = 8;
};

class HiredisClient final : public RedisClient {
 public:
  HiredisClient(RedisUrl url, HiredisOptions options, const env::Clock& clock);
  ~HiredisClient() override;

  Result<Reply> Command(const std::vector<std::string>& args) override;

  bool is_up() const { return up_.load(); }

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  using Context = std::unique_ptr<redisContext, ContextDeleter>;

  Result<Context> Connect();
  Result<Context> TakeConnection();
  void ReturnConnection(Context context);
  Status Unreachable(std::string why);  // records the failure, starts the back-off
  void MarkUp();

  const RedisUrl url_;
  const HiredisOptions options_;
  const env::Clock& clock_;
  std::atomic<bool> up_{true};

  std::mutex mu_;
  std::vector<Context> idle_;
  std::chrono::steady_clock::time_point retry_after_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_error_;
};

}  // namespace cellar::redis
