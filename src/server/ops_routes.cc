#include "server/ops_routes.h"

#include "server/fleet_stats_reporter.h"

#include <atomic>
#include <chrono>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "http/offload.h"

namespace cellar::server {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// Ops endpoints are read-only: GET and HEAD on their exact path. Anything
// else is answered here (405 with Allow, or 404 below the path), so a body
// sent with it is never read as something else. Returns false when the
// request has been answered.
awaitable<bool> Admit(http::Exchange& ex, std::string_view path) {
  if (ex.path() != path) {
    co_await protocols::RespondError(ex, 404, "no such endpoint");
    co_return false;
  }
  auto m = ex.method();
  if (m != boost::beast::http::verb::get && m != boost::beast::http::verb::head) {
    ex.SetHeader("Allow", "GET, HEAD");
    co_await protocols::RespondError(ex, 405, "method not allowed");
    co_return false;
  }
  co_return true;
}

// A warning at most every 30 s: a load balancer probes often.
void LogEvery30s(std::string_view msg, const std::string& fields) {
  static std::atomic<int64_t> last_s{0};
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  int64_t last = last_s.load();
  if (now_s - last < 30 && last != 0) return;
  if (!last_s.compare_exchange_strong(last, now_s)) return;
  Log(LogLevel::kWarn, msg, fields);
}

// An index failure as the client sees it: the detail (SQLite's text, file
// paths) goes to the log only.
awaitable<void> RespondIndexFailure(http::Exchange& ex, const Status& detail) {
  Log(LogLevel::kError, "index failure",
      "\"path\":\"" + JsonEscape(ex.path()) + "\",\"error\":\"" + JsonEscape(detail.ToString()) + "\"");
  co_await protocols::RespondError(ex, 500, "the server could not read its index (details in its log)");
}

}  // namespace

void RegisterOpsRoutes(http::Router& router, const protocols::ProtocolContext& ctx, metrics::Registry& registry,
                       OpsOptions options) {
  router.Add("/healthz", "healthz", [](http::Exchange& ex) -> awaitable<void> {
    if (!co_await Admit(ex, "/healthz")) co_return;
    co_await ex.Respond(200, "ok\n");
  });
  // The path content-cache and VelocityCache servers answer on, with
  // VelocityCache's body.
  router.Add("/health", "health", [](http::Exchange& ex) -> awaitable<void> {
    if (!co_await Admit(ex, "/health")) co_return;
    co_await ex.Respond(200, "{\"status\":\"up\"}", "application/json");
  });
  router.Add("/readyz", "readyz",
             [draining = options.draining, bucket = options.bucket, &ctx](http::Exchange& ex) -> awaitable<void> {
               if (!co_await Admit(ex, "/readyz")) co_return;
               if (draining()) {
                 co_await ex.Respond(503, "draining\n");
                 co_return;
               }
               if (bucket != nullptr) {
                 Status reachable =
                     bucket->Current([&ctx](std::function<void()> check) { asio::post(ctx.workers, std::move(check)); });
                 if (!reachable.ok()) {
                   // The reason (endpoint, bucket) is for the operator's log,
                   // not for whoever probes.
                   LogEvery30s("readyz: the S3 bucket cannot be reached",
                               "\"error\":\"" + JsonEscape(reachable.ToString()) + "\"");
                   co_await ex.Respond(503, "not ready: the S3 bucket cannot be reached\n");
                   co_return;
                 }
               }
               co_await ex.Respond(200, "ready\n");
             });
  router.Add("/metrics", "metrics", [&registry, &ctx](http::Exchange& ex) -> awaitable<void> {
    if (!co_await Admit(ex, "/metrics")) co_return;
    if (auto a = protocols::Authorize(ctx, ex, auth::kScopeRead, "metrics"); !a.ok()) {
      co_await protocols::RespondAuthError(ex, a.error());
      co_return;
    }
    std::string text = co_await http::RunBlocking(ctx.workers, [&registry] { return registry.RenderText(); });
    co_await ex.Respond(200, text, "text/plain; version=0.0.4; charset=utf-8");
  });
  router.Add("/api/v1/stats", "api", [&ctx, node = options.node_id, fleet = options.fleet](http::Exchange& ex) -> awaitable<void> {
    if (!co_await Admit(ex, "/api/v1/stats")) co_return;
    if (auto a = protocols::Authorize(ctx, ex, auth::kScopeAdmin, "api"); !a.ok()) {
      co_await protocols::RespondAuthError(ex, a.error());
      co_return;
    }
    auto body = co_await http::RunBlocking(ctx.workers, [&ctx, &node, fleet]() -> Result<std::string> {
      CELLAR_RETURN_IF_ERROR(ctx.cache.Flush());
      CELLAR_ASSIGN_OR_RETURN(auto totals, ctx.cache.index().GetTotals());
      CELLAR_ASSIGN_OR_RETURN(auto by_ns, ctx.cache.index().StatsByNamespace());
      nlohmann::json j;
      if (!node.empty()) j["node"] = node;
      j["entries"] = totals.entries;
      j["blobs"] = totals.blobs;
      j["stored_bytes"] = totals.stored_bytes;
      j["max_bytes"] = ctx.cache.options().max_bytes;
      auto& ns = j["namespaces"] = nlohmann::json::object();
      for (const auto& s : by_ns) ns[s.ns] = {{"entries", s.entries}, {"bytes", s.bytes}};
      if (fleet != nullptr) {
        if (nlohmann::json view = fleet->View(); !view.is_null()) j["fleet"] = std::move(view);
      }
      return j.dump(2) + "\n";
    });
    if (!body.ok()) {
      co_await RespondIndexFailure(ex, body.error());
      co_return;
    }
    co_await ex.Respond(200, *body, "application/json");
  });
  // What is cached: entries of one namespace, optionally under a key prefix
  // (GET /api/v1/entries?namespace=npm/tarball&prefix=@acme/&limit=100).
  router.Add("/api/v1/entries", "api", [&ctx](http::Exchange& ex) -> awaitable<void> {
    if (!co_await Admit(ex, "/api/v1/entries")) co_return;
    if (auto a = protocols::Authorize(ctx, ex, auth::kScopeAdmin, "api"); !a.ok()) {
      co_await protocols::RespondAuthError(ex, a.error());
      co_return;
    }
    auto ns = ex.QueryParam("namespace");
    if (!ns || ns->empty()) {
      co_await protocols::RespondError(ex, 400, "namespace is required (see /api/v1/stats for the list)");
      co_return;
    }
    std::string prefix = ex.QueryParam("prefix").value_or("");
    size_t limit = 1000;
    if (auto l = ex.QueryParam("limit")) {
      auto n = ParseUint64(*l);
      if (!n || *n == 0 || *n > 100'000) {
        co_await protocols::RespondError(ex, 400, "limit must be 1..100000");
        co_return;
      }
      limit = *n;
    }
    auto body = co_await http::RunBlocking(ctx.workers, [&]() -> Result<std::string> {
      CELLAR_RETURN_IF_ERROR(ctx.cache.Flush());
      CELLAR_ASSIGN_OR_RETURN(auto entries, ctx.cache.index().List(*ns, prefix, limit));
      nlohmann::json list = nlohmann::json::array();
      for (const auto& e : entries) {
        nlohmann::json j;
        j["key"] = e.key;
        j["size"] = e.size;
        j["digest"] = e.digest.Hex();
        j["created_ms"] = e.created_ms;
        j["last_access_ms"] = e.last_access_ms;
        j["hits"] = e.hits;
        if (e.max_age_ms > 0) j["fetched_at_ms"] = e.fetched_at_ms;
        list.push_back(std::move(j));
      }
      nlohmann::json out;
      out["namespace"] = *ns;
      out["entries"] = std::move(list);
      return out.dump(1) + "\n";
    });
    if (!body.ok()) {
      co_await RespondIndexFailure(ex, body.error());
      co_return;
    }
    co_await ex.Respond(200, *body, "application/json");
  });
}

}  // namespace cellar::server
