#include "protocols/turbo/turbo_adapter.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "protocols/turbo/turbo_request.h"

namespace cellar::turbo {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr std::string_view kPrefix = "/turbo/";
constexpr std::string_view kArtifacts = "v8/artifacts";
constexpr size_t kMaxJsonBody = 1 << 20;
constexpr size_t kMaxQueryHashes = 1000;

// Turbo parses error bodies as {"error":{"code","message"}}.
std::string ErrorJson(std::string_view code, std::string_view message) {
  return "{\"error\":{\"code\":\"" + JsonEscape(code) + "\",\"message\":\"" + JsonEscape(message) + "\"}}";
}

awaitable<void> RespondJsonError(http::Exchange& ex, unsigned status, std::string_view code,
                                 std::string_view message) {
  co_await ex.Respond(status, ErrorJson(code, message), "application/json");
}

void SetMetadataHeaders(http::Exchange& ex, std::string_view attributes) {
  ArtifactMetadata m = MetadataFromAttributes(attributes);
  if (m.duration_ms) {
    ex.SetHeader("x-artifact-duration", std::to_string(*m.duration_ms));
    // A downloaded artifact spares turbo the task's run (a HEAD only asks).
    if (ex.method() == boost::beast::http::verb::get) ex.set_time_saved_ms(*m.duration_ms);
  }
  if (!m.tag.empty()) ex.SetHeader("x-artifact-tag", m.tag);
}

}  // namespace

void TurboAdapter::RegisterRoutes(http::Router& router) {
  router.Add(std::string(kPrefix), "turbo", [this](http::Exchange& ex) { return Handle(ex); });
}

void TurboAdapter::Count(std::string_view op, std::string_view result) {
  metrics_.requests.With({op, result}).Inc();
}

awaitable<std::optional<std::string>> TurboAdapter::Admit(http::Exchange& ex, auth::Scope scope,
                                                          std::string_view op) {
  auto ns = TeamNamespaceFromQuery(ex.query(), options_.default_team);
  if (!ns.ok()) {
    Count(op, "refused");
    co_await RespondJsonError(ex, 400, "bad_request", ns.error().message());
    co_return std::nullopt;
  }
  if (auto a = protocols::Authorize(ctx_, ex, scope, *ns); !a.ok()) {
    Count(op, "denied");
    if (a.error().code() == Code::kUnauthenticated) {
      ex.SetHeader("WWW-Authenticate", "Bearer realm=\"cellar\"");
      co_await RespondJsonError(ex, 401, "unauthorized", a.error().message());
    } else {
      co_await RespondJsonError(ex, 403, "forbidden", a.error().message());
    }
    co_return std::nullopt;
  }
  co_return *ns;
}

awaitable<void> TurboAdapter::Handle(http::Exchange& ex) {
  std::string_view rest = std::string_view(ex.path()).substr(kPrefix.size());
  if (ex.method() == verb::options) {
    // Preflight (TURBO_PREFLIGHT) for any turbo URL, events included: turbo
    // sends its token afterwards only if Allow-Headers lists Authorization.
    ex.SetHeader("Access-Control-Allow-Origin", "*");
    ex.SetHeader("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, OPTIONS");
    ex.SetHeader("Access-Control-Allow-Headers",
                 "Authorization, Content-Type, User-Agent, x-artifact-duration, x-artifact-tag, "
                 "x-artifact-client-ci, x-artifact-client-interactive");
    ex.SetHeader("Location", std::string(ex.target()));
    co_return (void)co_await ex.Respond(200, "", "");
  }
  if (rest == kArtifacts || rest == std::string(kArtifacts) + "/") {
    if (ex.method() == verb::post) co_return co_await HandleQuery(ex);
    ex.SetHeader("Allow", "POST");
    co_return co_await RespondJsonError(ex, 405, "method_not_allowed", "use POST to query artifacts");
  }
  if (!rest.starts_with(std::string(kArtifacts) + "/")) {
    co_return co_await RespondJsonError(ex, 404, "not_found",
                                        "expected /turbo/v8/artifacts/<hash> (TURBO_API=<cellar>/turbo)");
  }
  std::string_view item = rest.substr(kArtifacts.size() + 1);
  if (item == "status") {
    // Health check for self-hosted setups: no credentials needed.
    co_return (void)co_await ex.Respond(200, "{\"status\":\"enabled\"}", "application/json");
  }
  if (item == "events") {
    if (ex.method() != verb::post) {
      ex.SetHeader("Allow", "POST");
      co_return co_await RespondJsonError(ex, 405, "method_not_allowed", "use POST to send events");
    }
    co_return co_await HandleEvents(ex);
  }
  if (!IsValidArtifactHash(item)) {
    Count("other", "refused");
    co_return co_await RespondJsonError(ex, 400, "bad_request",
                                        "artifact hash must be 1..128 characters of [A-Za-z0-9_-]");
  }
  co_await HandleArtifact(ex, std::string(item));
}

awaitable<void> TurboAdapter::HandleArtifact(http::Exchange& ex, const std::string& hash) {
  const verb method = ex.method();
  if (method == verb::get || method == verb::head) {
    const std::string_view op = method == verb::get ? "get" : "head";
    auto ns = co_await Admit(ex, auth::kScopeRead, op);
    if (ns) co_await HandleGet(ex, *ns, hash);
    co_return;
  }
  if (method == verb::put) {
    auto ns = co_await Admit(ex, auth::kScopeWrite, "put");
    if (ns) co_await HandlePut(ex, *ns, hash);
    co_return;
  }
  ex.SetHeader("Allow", "GET, HEAD, PUT, OPTIONS");
  co_await RespondJsonError(ex, 405, "method_not_allowed", "method not allowed");
}

awaitable<void> TurboAdapter::HandleGet(http::Exchange& ex, const std::string& ns, const std::string& hash) {
  const char* op = ex.method() == verb::get ? "get" : "head";
  auto hit = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Get(ns, hash); });
  if (!hit.ok() || !*hit) {
    // A storage fault is a miss too: turbo rebuilds instead of failing.
    Count(op, hit.ok() ? "miss" : "error");
    ex.set_cache_result(hit.ok() ? "miss" : "error");
    co_return co_await RespondJsonError(ex, 404, "not_found", "artifact not found");
  }
  Count(op, "hit");
  ex.set_cache_result("hit");
  std::unique_ptr<core::Hit> h = std::move(**hit);
  SetMetadataHeaders(ex, h->entry().attributes);
  co_await protocols::ServeHit(ex, *h);
}

awaitable<void> TurboAdapter::HandlePut(http::Exchange& ex, const std::string& ns, const std::string& hash) {
  auto metadata = ParseArtifactHeaders(ex.Header("x-artifact-duration"), ex.Header("x-artifact-tag"));
  if (!metadata.ok()) {
    Count("put", "refused");
    ex.set_keep_alive(false);
    co_return co_await RespondJsonError(ex, 400, "bad_request", metadata.error().message());
  }
  core::PutOptions options;
  options.ns = ns;
  options.key = hash;
  options.attributes = MetadataToAttributes(*metadata);
  auto result = co_await protocols::StoreIfAbsent(ctx_, ex, std::move(options), ctx_.max_entry_bytes);
  // Storage that cannot be reached: 503 (turbo logs it and carries on), not
  // the 412 of other storage failures.
  const PutAnswer answer = protocols::StoreUnavailable(result)
                               ? PutAnswer{503, "service_unavailable", "error"}
                               : PutAnswerFor(result.error);
  Count("put", answer.result);
  if (answer.code.empty()) {
    // Vercel answers 202 with the artifact URLs; any 2xx is success to turbo.
    std::string ok_body = "{\"urls\":[\"" + JsonEscape(ex.path()) + "\"]}";
    co_return (void)co_await ex.Respond(answer.status, ok_body, "application/json");
  }
  std::string message = result.status.message();
  if (result.error == UploadError::kStoreFailure) message = "cellar could not store the artifact: " + message;
  co_await RespondJsonError(ex, answer.status, answer.code, message);
}

awaitable<void> TurboAdapter::HandleQuery(http::Exchange& ex) {
  auto ns = co_await Admit(ex, auth::kScopeRead, "query");
  if (!ns) co_return;
  auto body = co_await ex.ReadBodyToString(kMaxJsonBody);
  if (!body.ok()) {
    Count("query", "refused");
    co_return co_await RespondJsonError(ex, 400, "bad_request", body.error().message());
  }
  auto request = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object() || !request.contains("hashes") || !request["hashes"].is_array() ||
      request["hashes"].size() > kMaxQueryHashes) {
    Count("query", "refused");
    co_return co_await RespondJsonError(ex, 400, "bad_request",
                                        "expected {\"hashes\": [...]} with at most 1000 hashes");
  }
  nlohmann::json answer = nlohmann::json::object();
  for (const auto& h : request["hashes"]) {
    if (!h.is_string() || !IsValidArtifactHash(h.get<std::string>())) {
      Count("query", "refused");
      co_return co_await RespondJsonError(ex, 400, "bad_request", "hashes must be valid artifact hashes");
    }
    std::string hash = h.get<std::string>();
    auto entry = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Lookup(*ns, hash); });
    nlohmann::json item = nlohmann::json::object();
    if (entry.ok() && *entry) {
      ArtifactMetadata m = MetadataFromAttributes((*entry)->attributes);
      item["size"] = (*entry)->size;
      item["taskDurationMs"] = m.duration_ms.value_or(0);
      if (!m.tag.empty()) item["tag"] = m.tag;
    } else {
      nlohmann::json error = nlohmann::json::object();
      error["message"] = "artifact not found";
      item["error"] = error;
    }
    answer[hash] = item;
  }
  Count("query", "ok");
  co_await ex.Respond(200, answer.dump(), "application/json");
}

awaitable<void> TurboAdapter::HandleEvents(http::Exchange& ex) {
  auto ns = co_await Admit(ex, auth::kScopeRead, "events");
  if (!ns) co_return;
  auto body = co_await ex.ReadBodyToString(kMaxJsonBody);
  if (!body.ok()) co_return co_await RespondJsonError(ex, 400, "bad_request", body.error().message());
  auto events = ParseClientEvents(*body);
  if (!events.ok()) co_return co_await RespondJsonError(ex, 400, "bad_request", events.error().message());
  for (const auto& e : *events) metrics_.client_events.With({e.source, e.event}).Inc();
  co_await ex.Respond(200, "{}", "application/json");
}

}  // namespace cellar::turbo
