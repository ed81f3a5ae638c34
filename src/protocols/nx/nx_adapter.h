// Nx self-hosted remote cache under /nx/: PUT/GET [/<prefix>]/v1/cache/<hash>.
// The native client is strict, so the status codes are exact: PUT answers
// 200 when stored, 409 when the hash exists (first write wins; the client
// skips silently) and 403 when the write is refused for any reason it should
// shrug off (read-only token, too large, storage full or failing); GET
// answers 200 or 404, never 5xx, because Nx fails the whole run on those.
// An optional path prefix selects a namespace ("/nx/team-a/v1/cache/..." is
// stored under "nx/team-a"). Wire details:
// docs/protocols/nx.md sections 3-5.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "metrics/metrics.h"
#include "protocols/common/protocol.h"

namespace cellar::nx {

struct NxTarget {
  std::string ns;    // "nx" or "nx/<prefix>"
  std::string hash;
};

// Parses the path after "/nx/": "[<prefix>/]v1/cache/<hash>" with a prefix of
// up to 4 safe segments and a hash of 1..128 characters of [A-Za-z0-9]
// (Nx sends decimal digits).
std::optional<NxTarget> ParseNxPath(std::string_view rest);

// The answer to a PUT by upload outcome, exact because the Nx client is
// strict: 200 stored, 409 exists, 400 bad body, and 403 (the one refusal Nx
// shrugs off) for too large, storage full or failing. `result` is the
// metric label.
struct NxPutAnswer {
  unsigned status;
  std::string_view result;
};
NxPutAnswer NxPutAnswerFor(protocols::UploadError error);

class NxAdapter : public protocols::ProtocolAdapter {
 public:
  NxAdapter(protocols::ProtocolContext ctx, metrics::Registry& registry);
  std::string_view Name() const override { return "nx"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> HandlePut(http::Exchange& ex, const NxTarget& target);

  protocols::ProtocolContext ctx_;
  metrics::Family<metrics::Counter>& requests_;
};

}  // namespace cellar::nx
