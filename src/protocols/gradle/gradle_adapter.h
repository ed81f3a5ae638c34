// Gradle HTTP build cache under /gradle/[prefix/]<hex key>, with a team
// namespace for /gradle/<team>/cache/<hex key>. Status codes are
// chosen so Gradle 4.4.1 (Debian 12) never fails a build: a write the server
// will not keep (read-only token, over the size limit on 4.x, store full) is
// drained and answered 2xx. Newer Gradle gets 413 for oversize bodies.
// Wire details: docs/protocols/gradle.md sections 3-4.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocols/common/protocol.h"

namespace cellar::gradle {

struct GradleTarget {
  std::string ns;   // "gradle" or "gradle/<team>"
  std::string key;  // the path inside the namespace, e.g. "cache/<hex>"
};

// Validates the path after "/gradle/" (up to 6 segments of [A-Za-z0-9._-];
// the last, the key, lowercase hex). "<team>/cache/<hex>" (a team of up to 4
// segments before a segment named "cache") is key "cache/<hex>" in namespace
// "gradle/<team>". Every other path (the documented "cache/<hex>", a bare
// "<hex>", any other prefix) stays in "gradle" with the whole path as its
// key, as before teams existed.
std::optional<GradleTarget> ParseGradlePath(std::string_view rest);

class GradleAdapter : public protocols::ProtocolAdapter {
 public:
  explicit GradleAdapter(protocols::ProtocolContext ctx) : ctx_(ctx) {}
  std::string_view Name() const override { return "gradle"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> Put(http::Exchange& ex, const GradleTarget& target);
  protocols::ProtocolContext ctx_;
};

}  // namespace cellar::gradle
