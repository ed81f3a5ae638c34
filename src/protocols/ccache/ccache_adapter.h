// ccache remote HTTP storage under /ccache/: the subdirs (xx/<31>), flat
// (<33>) and bazel (ac/<64 hex>) layouts, optionally below a path prefix the
// user put in remote_storage. GET/HEAD/PUT/DELETE; overwrites must succeed
// because ccache re-uploads growing manifests. Wire details: shared docs,
// protocols-build-cache.md section 4.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocols/common/protocol.h"

namespace cellar::ccache {

// Validates the path after "/ccache/" and returns the storage key.
std::optional<std::string> ParseCcachePath(std::string_view rest);

class CcacheAdapter : public protocols::ProtocolAdapter {
 public:
  explicit CcacheAdapter(protocols::ProtocolContext ctx) : ctx_(ctx) {}
  std::string_view Name() const override { return "ccache"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  protocols::ProtocolContext ctx_;
};

}  // namespace cellar::ccache
