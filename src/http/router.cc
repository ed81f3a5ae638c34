#include "http/router.h"

namespace cellar::http {

void Router::Add(std::string prefix, std::string name, Handler handler) {
  routes_.push_back(Route{std::move(prefix), std::move(name), std::move(handler)});
}

const Route* Router::Match(std::string_view path) const {
  const Route* best = nullptr;
  for (const auto& r : routes_) {
    std::string_view p = r.prefix;
    if (path.substr(0, p.size()) != p) continue;
    // "/healthz" must not match "/healthzzz"; prefixes ending in '/' are open.
    bool boundary = p.back() == '/' || path.size() == p.size() || path[p.size()] == '/';
    if (!boundary) continue;
    if (!best || p.size() > best->prefix.size()) best = &r;
  }
  return best;
}

}  // namespace cellar::http
