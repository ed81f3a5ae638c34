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

nlohmann::json GitJson(const git::MirrorStore* mirrors, const git::Warmer* warmer, int64_t now_ms) {
  using nlohmann::json;
  auto ms_or_null = [](int64_t ms) { return ms > 0 ? json(ms) : json(); };
  json out;
  out["enabled"] = mirrors != nullptr;
  json list = json::array();
  uint64_t total = 0;
  if (mirrors != nullptr) {
    for (const auto& m : mirrors->Snapshot()) {
      total += m.bytes;
      list.push_back({{"repo", m.repo},
                      {"bytes", m.bytes},
                      {"last_fetch_ms", ms_or_null(m.last_fetch_ms)},
                      {"last_use_ms", ms_or_null(m.last_use_ms)},
                      {"created_ms", ms_or_null(m.created_ms)},
                      {"clones_served", m.clones_served}});
    }
    out["max_bytes"] = mirrors->max_bytes();
  }
  out["total_bytes"] = total;
  out["mirrors"] = std::move(list);
  if (warmer == nullptr) {
    out["warmup"] = json();
    return out;
  }
  const auto& config = warmer->config();
  json w;
  w["schedule"] = config.schedule ? json(config.schedule->expression()) : json();
  auto next = warmer->NextScheduledRun(now_ms / 1000);
  w["next_run_ms"] = next ? json(*next * 1000) : json();
  w["parallelism"] = config.parallelism;
  w["at_start"] = config.at_start;
  json repos = json::array();
  for (const auto& r : config.repositories) {
    repos.push_back({{"url", r.url}, {"branches", r.branches}, {"priority", r.priority}});
  }
  w["repositories"] = std::move(repos);
  if (auto run = warmer->LastRun()) {
    json results = json::array();
    for (const auto& r : run->results) {
      results.push_back({{"url", r.url},
                         {"ok", r.ok},
                         {"skipped", r.skipped},
                         {"error", r.error.empty() ? json() : json(r.error)},
                         {"seconds", r.seconds}});
    }
    w["last_run"] = {{"started_ms", run->started_ms},
                     {"finished_ms", run->finished_ms},
                     {"on_demand", run->on_demand},
                     {"results", std::move(results)}};
  } else {
    w["last_run"] = json();
  }
  out["warmup"] = std::move(w);
  return out;
}

void RegisterDashboardRoutes(http::Router& router, const protocols::ProtocolContext& ctx, stats::History& history,
                             DashboardSources sources) {
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
  auto shared = std::make_shared<const DashboardSources>(std::move(sources));
  router.Add("/api/v1/git", "api", [&ctx, shared](http::Exchange& ex) -> awaitable<void> {
    if (!co_await AdminGet(ctx, ex, "/api/v1/git")) co_return;
    const int64_t now_ms = ctx.cache.clock().NowUnixMs();
    std::string body = co_await http::RunBlocking(ctx.workers, [&shared, now_ms] {
      return GitJson(shared->mirrors, shared->warmer, now_ms).dump(1) + "\n";
    });
    co_await ex.Respond(200, body, "application/json");
  });
  router.Add("/api/v1/fleet", "api", [&ctx, shared](http::Exchange& ex) -> awaitable<void> {
    if (!co_await AdminGet(ctx, ex, "/api/v1/fleet")) co_return;
    auto body = co_await http::RunBlocking(ctx.workers, [&ctx, &shared]() -> Result<std::string> {
      CELLAR_ASSIGN_OR_RETURN(auto totals, ctx.cache.index().GetTotals());
      nlohmann::json j;
      j["node"] = shared->node_id.empty() ? nlohmann::json() : nlohmann::json(shared->node_id);
      nlohmann::json tiers = shared->tiers;
      tiers["local"] = {{"kind", "disk"},
                        {"entries", totals.entries},
                        {"stored_bytes", totals.stored_bytes},
                        {"max_bytes", ctx.cache.options().max_bytes}};
      if (!tiers.contains("shared")) tiers["shared"] = nullptr;
      if (!tiers.contains("coordination")) tiers["coordination"] = nullptr;
      j["tiers"] = std::move(tiers);
      nlohmann::json view = shared->fleet != nullptr ? shared->fleet->View() : nlohmann::json();
      j["fleet"] = std::move(view);
      return j.dump(1) + "\n";
    });
    if (!body.ok()) {
      co_return co_await protocols::RespondError(ex, 503, "the index did not answer: " + body.error().message());
    }
    co_await ex.Respond(200, *body, "application/json");
  });
}

}  // namespace cellar::server
