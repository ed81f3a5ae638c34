// RedisClient: the commands cellar's fleet mode sends to Redis, and the
// client that sends them.
//
// Redis is an accelerator in cellar, never the source of truth (S3 is):
// with Redis down every request must still succeed, more slowly. So every
// failure here is a value, kUnavailable when Redis cannot be reached or
// answers too late, and callers carry on without coordination. A client
// that has just failed to reach Redis fails further calls at once for a
// back-off period instead of making each caller wait out a timeout again.
//
// Calls block on the network for up to the configured timeout: run them on
// worker threads, never on an I/O thread.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"

namespace cellar::redis {

// One reply. Redis errors ("-ERR ...", "-WRONGTYPE ...") are not replies:
// Command() returns them as kInternal with Redis's message.
struct Reply {
  struct Nil {};
  using Array = std::vector<Reply>;
  std::variant<Nil, int64_t, std::string, Array> value;

  bool IsNil() const { return std::holds_alternative<Nil>(value); }
  // Bulk strings and status replies ("OK") alike.
  const std::string* AsString() const { return std::get_if<std::string>(&value); }
  const int64_t* AsInteger() const { return std::get_if<int64_t>(&value); }
  const Array* AsArray() const { return std::get_if<Array>(&value); }
};

class RedisClient {
 public:
  virtual ~RedisClient() = default;
  // Sends one command (its arguments are binary-safe) and waits for the
  // reply. Thread-safe.
  virtual Result<Reply> Command(const std::vector<std::string>& args) = 0;
};

}  // namespace cellar::redis
