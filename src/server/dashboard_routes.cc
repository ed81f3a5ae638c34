#include "server/dashboard_routes.h"

#include "base/log.h"
#include "base/strings.h"
#include "http/offload.h"
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
  router.Add("/api/v1/upstreams", "api", [&ctx, &history](http::Exchange& ex) -> awaitable<void> {
    if (!co_await AdminGet(ctx, ex, "/api/v1/upstreams")) co_return;
    co_await ex.Respond(200, history.UpstreamsJson().dump(1) + "\n", "application/json");
  });
}

}  // namespace cellar::server
