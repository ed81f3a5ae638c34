// Router: picks a handler by longest path prefix. Protocol adapters register
// their prefixes at wiring time; the router knows nothing about protocols.
// Thread-safety: Add() before serving; Match() is then read-only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "http/exchange.h"

namespace cellar::http {

using Handler = std::function<boost::asio::awaitable<void>(Exchange&)>;

struct Route {
  std::string prefix;  // "/bazel/" matches "/bazel/..."; "/healthz" matches exactly or "/healthz/..."
  std::string name;    // metrics / access-log label
  Handler handler;
};

class Router {
 public:
  void Add(std::string prefix, std::string name, Handler handler);
  // The route with the longest matching prefix, or nullptr.
  const Route* Match(std::string_view path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace cellar::http
