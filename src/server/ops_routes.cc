#include "server/ops_routes.h"

#include <nlohmann/json.hpp>

#include "http/offload.h"

namespace cellar::server {

namespace asio = boost::asio;
using asio::awaitable;

void RegisterOpsRoutes(http::Router& router, const protocols::ProtocolContext& ctx,
                       metrics::Registry& registry, std::function<bool()> draining) {
  router.Add("/healthz", "healthz", [](http::Exchange& ex) -> awaitable<void> {
    co_await ex.Respond(200, "ok\n");
  });
  router.Add("/readyz", "readyz", [draining](http::Exchange& ex) -> awaitable<void> {
    if (draining()) {
      co_await ex.Respond(503, "draining\n");
    } else {
      co_await ex.Respond(200, "ready\n");
    }
  });
  router.Add("/metrics", "metrics", [&registry, &ctx](http::Exchange& ex) -> awaitable<void> {
    if (auto a = protocols::Authorize(ctx, ex, auth::kScopeRead, "metrics"); !a.ok()) {
      co_await protocols::RespondAuthError(ex, a.error());
      co_return;
    }
    std::string text = co_await http::RunBlocking(ctx.workers, [&registry] { return registry.RenderText(); });
    co_await ex.Respond(200, text, "text/plain; version=0.0.4; charset=utf-8");
  });
  router.Add("/api/v1/stats", "api", [&ctx](http::Exchange& ex) -> awaitable<void> {
    if (auto a = protocols::Authorize(ctx, ex, auth::kScopeAdmin, "api"); !a.ok()) {
      co_await protocols::RespondAuthError(ex, a.error());
      co_return;
    }
    auto body = co_await http::RunBlocking(ctx.workers, [&ctx]() -> Result<std::string> {
      CELLAR_RETURN_IF_ERROR(ctx.cache.Flush());
      CELLAR_ASSIGN_OR_RETURN(auto totals, ctx.cache.index().GetTotals());
      CELLAR_ASSIGN_OR_RETURN(auto by_ns, ctx.cache.index().StatsByNamespace());
      nlohmann::json j;
      j["entries"] = totals.entries;
      j["blobs"] = totals.blobs;
      j["stored_bytes"] = totals.stored_bytes;
      j["max_bytes"] = ctx.cache.options().max_bytes;
      auto& ns = j["namespaces"] = nlohmann::json::object();
      for (const auto& s : by_ns) ns[s.ns] = {{"entries", s.entries}, {"bytes", s.bytes}};
      return j.dump(2) + "\n";
    });
    if (!body.ok()) {
      co_await protocols::RespondError(ex, 500, body.error().message());
      co_return;
    }
    co_await ex.Respond(200, *body, "application/json");
  });
}

}  // namespace cellar::server
