#include "server/dashboard_routes.h"

#include "base/log.h"
#include "base/strings.h"
#include "http/offload.h"
#include "index/index.h"
#include "ui/assets.h"

namespace cellar::server {

using boost::asio::awaitable;
namespace bhttp = boost::beast::http;

namespace {

awaitable<bool> AdminGet(const protocols::ProtocolContext& ctx, http::Exchange& ex, std::string_view path) {
  if (ex.path() != path) {
    co_await protocols::RespondError(ex, 404, "no such endpoint");
    co_return false;
  }
  if (ex.method() != bhttp::verb::get && ex.method() != bhttp::verb::head) {
    ex.SetHeader("Allow", "GET, HEAD");
    co_await protocols::RespondError(ex, 405, "method not allowed");
    co_return false;
  }
  if (auto a = protocols::Authorize(ctx, ex, auth::kScopeAdmin, "api"); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return false;
  }
  ex.SetHeader("Cache-Control", "no-store");
  co_return true;
}

awaitable<void> ServeAsset(http::Exchange& ex) {
  if (ex.path() == "/ui") {
    ex.SetHeader("Location", "/ui/");
    co_return co_await protocols::RespondError(ex, 308, "the dashboard is at /ui/");
  }
  if (ex.method() != bhttp::verb::get && ex.method() != bhttp::verb::head) {
    ex.SetHeader("Allow", "GET, HEAD");
    co_return co_await protocols::RespondError(ex, 405, "method not allowed");
  }
  std::string_view name = std::string_view(ex.path()).substr(4);  // after "/ui/"
  if (name.empty()) name = "index.html";
  for (const auto& asset : ui::Assets()) {
    if (asset.name != name) continue;
    // Everything the page loads comes from here; nothing from elsewhere.
    ex.SetHeader("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                 "connect-src 'self'; frame-ancestors 'none'");
    ex.SetHeader("X-Content-Type-Options", "nosniff");
    ex.SetHeader("Referrer-Policy", "no-referrer");
    ex.SetHeader("Cache-Control", "no-cache");
    co_return (void)co_await ex.Respond(200, asset.body, asset.content_type);
  }
  co_await protocols::RespondError(ex, 404, "no such file in the dashboard");
}

}  // namespace

void RegisterDashboardRoutes(http::Router& router, const protocols::ProtocolContext& ctx, stats::History& history) {
  router.Add("/ui", "ui", ServeAsset);
  router.Add("/api/v1/history", "api", [&ctx, &history](http::Exchange& ex) -> awaitable<void> {
    if (!co_await AdminGet(ctx, ex, "/api/v1/history")) co_return;
    auto range = stats::ParseRange(ex.QueryParam("range").value_or(""));
    if (!range) co_return co_await protocols::RespondError(ex, 400, "range must be 1h, 24h or 7d");
    auto body = co_await http::RunBlocking(ctx.workers, [&history, &range]() -> Result<std::string> {
      CELLAR_ASSIGN_OR_RETURN(auto json, history.Query(*range));
      return json.dump(1) + "\n";
    });
    if (!body.ok()) {
      Log(LogLevel::kError, "stats history failure", "\"error\":\"" + JsonEscape(body.error().ToString()) + "\"");
      co_return co_await protocols::RespondError(ex, 500, "the server could not read its stats history (details in its log)");
    }
    co_await ex.Respond(200, *body, "application/json");
  });
  // Top lists: the entries with the most hits and the largest (from the
  // index, which keeps both indexed), the most frequent misses since start.
  router.Add("/api/v1/top", "api", [&ctx, &history](http::Exchange& ex) -> awaitable<void> {
    if (!co_await AdminGet(ctx, ex, "/api/v1/top")) co_return;
    size_t limit = 20;
    if (auto l = ex.QueryParam("limit")) {
      auto n = ParseUint64(*l);
      if (!n || *n == 0 || *n > 1000) co_return co_await protocols::RespondError(ex, 400, "limit must be 1..1000");
      limit = *n;
    }
    auto body = co_await http::RunBlocking(ctx.workers, [&ctx, &history, limit]() -> Result<std::string> {
      CELLAR_RETURN_IF_ERROR(ctx.cache.Flush());  // buffered hits count too
      auto& index = ctx.cache.index();
      CELLAR_ASSIGN_OR_RETURN(auto most_hit, index.TopEntries(index::Index::TopOrder::kMostHit, limit));
      CELLAR_ASSIGN_OR_RETURN(auto largest, index.TopEntries(index::Index::TopOrder::kLargest, limit));
      auto entries = [](const std::vector<index::Entry>& list) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& e : list) {
          out.push_back({{"namespace", e.ns}, {"key", e.key}, {"size", e.size}, {"hits", e.hits},
                         {"last_access_ms", e.last_access_ms}});
        }
        return out;
      };
      nlohmann::json missed = nlohmann::json::array();
      for (const auto& item : history.misses().Top(limit)) {
        const auto space = item.key.find(' ');
        missed.push_back({{"protocol", item.key.substr(0, space)},
                          {"path", space == std::string::npos ? "" : item.key.substr(space + 1)},
                          {"count", item.count},
                          {"error", item.error}});
      }
      nlohmann::json out = {{"most_hit", entries(most_hit)}, {"largest", entries(largest)}, {"most_missed", missed}};
      return out.dump(1) + "\n";
    });
    if (!body.ok()) {
      Log(LogLevel::kError, "top lists failure", "\"error\":\"" + JsonEscape(body.error().ToString()) + "\"");
      co_return co_await protocols::RespondError(ex, 500, "the server could not read its index (details in its log)");
    }
    co_await ex.Respond(200, *body, "application/json");
  });
  router.Add("/api/v1/upstreams", "api", [&ctx, &history](http::Exchange& ex) -> awaitable<void> {
    if (!co_await AdminGet(ctx, ex, "/api/v1/upstreams")) co_return;
    co_await ex.Respond(200, history.UpstreamsJson().dump(1) + "\n", "application/json");
  });
}

}  // namespace cellar::server
