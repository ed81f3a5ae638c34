// RedisUrl: where a fleet's Redis is, from `--redis-url`.
//
//   redis://[[user]:password@]host[:port][/db]   TCP (port 6379, db 0 by default)
//   unix:///path/to/redis.sock[?db=N]            a local socket
//
// The password may be percent-encoded (a `@` or `:` inside it). Display()
// is what logs and errors show: never the password.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace cellar::redis {

struct RedisUrl {
  std::string host;         // TCP host, empty for a socket
  int port = 6379;
  std::string socket_path;  // unix socket, empty for TCP
  std::string user;         // empty: the default user
  std::string password;     // empty: no AUTH
  int db = 0;

  // The URL without its password, e.g. "redis://cellar@10.0.0.5:6379/2".
  std::string Display() const;
};

// kInvalidArgument with a message that never contains the password.
Result<RedisUrl> ParseRedisUrl(std::string_view url);

}  // namespace cellar::redis
