// ccache remote HTTP storage under /ccache/: the subdirs (xx/<31>), flat
// (<33>) and bazel (ac/<64 hex>) layouts, optionally below a path prefix the
// user put in remote_storage; the prefix is the team's namespace.
// GET/HEAD/PUT/DELETE; overwrites must succeed because ccache re-uploads
// growing manifests. Wire details: docs/protocols/ccache.md
// sections 1-4.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocols/common/protocol.h"

namespace cellar::ccache {

struct CcacheTarget {
  std::string ns;   // "ccache", or "ccache/<prefix>" for a prefixed URL
  std::string key;  // the layout part: "<33>", "xx/<31>" or "ac/<64 hex>"
};

// Validates the path after "/ccache/" (at most 8 segments of
// [A-Za-z0-9._-]). The key is recognised from the end in the three layouts
// (their key lengths differ: 33, 2+31, "ac"+64, so the split is never
// ambiguous); whatever comes before it is the prefix, which selects the
// namespace: "/ccache/team-a/ab/<31>" is key "ab/<31>" in "ccache/team-a",
// "/ccache/ab/<31>" is key "ab/<31>" in "ccache" as before.
std::optional<CcacheTarget> ParseCcachePath(std::string_view rest);

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
