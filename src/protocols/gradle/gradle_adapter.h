// Gradle HTTP build cache under /gradle/[prefix/]<hex key>. Status codes are
// chosen so Gradle 4.4.1 (Debian 12) never fails a build: a write the server
// will not keep (read-only token, over the size limit on 4.x, store full) is
// drained and answered 2xx. Newer Gradle gets 413 for oversize bodies.
// Wire details: shared docs, protocols-build-cache.md section 5.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocols/common/protocol.h"

namespace cellar::gradle {

// Validates the path after "/gradle/"; the last segment must be lowercase hex.
std::optional<std::string> ParseGradlePath(std::string_view rest);

class GradleAdapter : public protocols::ProtocolAdapter {
 public:
  explicit GradleAdapter(protocols::ProtocolContext ctx) : ctx_(ctx) {}
  std::string_view Name() const override { return "gradle"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> Put(http::Exchange& ex, const std::string& key);
  protocols::ProtocolContext ctx_;
};

}  // namespace cellar::gradle
