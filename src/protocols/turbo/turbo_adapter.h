// Turborepo remote cache (Vercel Remote Cache API v8) under /turbo/:
// GET/HEAD/PUT /v8/artifacts/<hash>, POST /v8/artifacts (which hashes
// exist), POST /v8/artifacts/events (client telemetry, counted), GET
// /v8/artifacts/status and CORS preflight. Artifacts are opaque and
// immutable per team: the first write wins and a repeated PUT answers 200
// without overwriting (the defence against cache poisoning). Wire details:
// docs/protocols/turbo.md sections 1-5.
#pragma once

#include <memory>
#include <string>

#include "metrics/metrics.h"
#include "protocols/common/protocol.h"
#include "protocols/turbo/turbo_metrics.h"

namespace cellar::turbo {

struct TurboOptions {
  // Team used when a request names none; empty = a team is required (400).
  std::string default_team = "default";
};

class TurboAdapter : public protocols::ProtocolAdapter {
 public:
  TurboAdapter(protocols::ProtocolContext ctx, TurboOptions options, metrics::Registry& registry)
      : ctx_(ctx), options_(std::move(options)), metrics_(registry) {}
  std::string_view Name() const override { return "turbo"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> HandleArtifact(http::Exchange& ex, const std::string& hash);
  boost::asio::awaitable<void> HandleGet(http::Exchange& ex, const std::string& ns, const std::string& hash);
  boost::asio::awaitable<void> HandlePut(http::Exchange& ex, const std::string& ns, const std::string& hash);
  boost::asio::awaitable<void> HandleQuery(http::Exchange& ex);
  boost::asio::awaitable<void> HandleEvents(http::Exchange& ex);
  // Resolves the team namespace and authorizes `scope` on it; answers the
  // error itself and returns nullopt on refusal.
  boost::asio::awaitable<std::optional<std::string>> Admit(http::Exchange& ex, auth::Scope scope,
                                                           std::string_view op);
  void Count(std::string_view op, std::string_view result);

  protocols::ProtocolContext ctx_;
  TurboOptions options_;
  TurboMetrics metrics_;
};

}  // namespace cellar::turbo
