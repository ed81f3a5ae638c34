#include "protocols/nx/nx_adapter.h"

#include "base/strings.h"

namespace cellar::nx {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr std::string_view kPrefix = "/nx/";
constexpr std::string_view kCachePath = "v1/cache/";

bool IsValidHash(std::string_view hash) {
  if (hash.empty() || hash.size() > 128) return false;
  for (char c : hash) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}
}  // namespace

std::optional<NxTarget> ParseNxPath(std::string_view rest) {
  size_t at = rest.rfind(kCachePath);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view prefix = rest.substr(0, at);
  std::string_view hash = rest.substr(at + kCachePath.size());
  if (!IsValidHash(hash)) return std::nullopt;
  NxTarget target{"nx", std::string(hash)};
  if (!prefix.empty()) {
    if (prefix.back() != '/') return std::nullopt;
    prefix.remove_suffix(1);
    if (!protocols::IsSafeKeyPath(prefix, 4, 200)) return std::nullopt;
    target.ns += "/" + std::string(prefix);
  }
  return target;
}

NxPutAnswer NxPutAnswerFor(UploadError error) {
  switch (error) {
    case UploadError::kNone: return {200, "stored"};  // exactly 200: Nx rejects 201/202/204
    case UploadError::kExists: return {409, "exists"};
    case UploadError::kClient: return {400, "refused"};
    case UploadError::kTooLarge: return {403, "refused"};
    case UploadError::kStoreFull:
    case UploadError::kStoreFailure: return {403, "error"};
  }
  return {403, "error"};
}

NxAdapter::NxAdapter(protocols::ProtocolContext ctx, metrics::Registry& registry)
    : ctx_(ctx),
      requests_(registry.AddCounter("cellar_nx_requests_total",
                                    "Nx remote cache requests by operation (get, put) and result (hit, miss, "
                                    "stored, exists, denied, refused, error).",
                                    {"op", "result"})) {}

void NxAdapter::RegisterRoutes(http::Router& router) {
  router.Add(std::string(kPrefix), "nx", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> NxAdapter::Handle(http::Exchange& ex) {
  auto target = ParseNxPath(std::string_view(ex.path()).substr(kPrefix.size()));
  if (!target) {
    requests_.With({"other", "refused"}).Inc();
    co_return co_await protocols::RespondError(
        ex, 400, "expected /nx/[prefix/]v1/cache/<hash> with a hash of [A-Za-z0-9]{1,128}");
  }
  const verb method = ex.method();
  if (method != verb::get && method != verb::head && method != verb::put) {
    ex.SetHeader("Allow", "GET, PUT");
    co_return co_await protocols::RespondError(ex, 405, "method not allowed");
  }
  const bool read = method != verb::put;
  const char* op = read ? "get" : "put";
  if (auto a = protocols::Authorize(ctx_, ex, read ? auth::kScopeRead : auth::kScopeWrite, target->ns); !a.ok()) {
    requests_.With({op, "denied"}).Inc();
    if (!read && a.error().code() == Code::kPermissionDenied) {
      // A read-only token on a PR build: Nx skips the write silently.
      Status drained = co_await protocols::DrainBody(ex, nullptr, ctx_.max_entry_bytes);
      if (!drained.ok()) ex.set_keep_alive(false);
    }
    // Nx accepts a 401 only with a Content-Type of exactly text/plain; with
    // anything else it reports a misconfigured endpoint instead of the reason.
    if (a.error().code() == Code::kUnauthenticated) ex.SetHeader("WWW-Authenticate", "Bearer realm=\"cellar\"");
    const unsigned status = a.error().code() == Code::kUnauthenticated ? 401 : 403;
    co_return (void)co_await ex.Respond(status, a.error().message() + "\n", "text/plain");
  }
  if (read) {
    auto hit = co_await protocols::LookupOr404(ctx_, ex, target->ns, target->hash, /*serve=*/true);
    requests_.With({op, hit ? "hit" : "miss"}).Inc();
    co_return;
  }
  co_await HandlePut(ex, *target);
}

awaitable<void> NxAdapter::HandlePut(http::Exchange& ex, const NxTarget& target) {
  core::PutOptions options;
  options.ns = target.ns;
  options.key = target.hash;
  auto result = co_await protocols::StoreIfAbsent(ctx_, ex, std::move(options), ctx_.max_entry_bytes);
  const NxPutAnswer answer =
      protocols::StoreUnavailable(result) ? NxPutAnswer{503, "error"} : NxPutAnswerFor(result.error);
  requests_.With({"put", answer.result}).Inc();
  std::string message;
  switch (result.error) {
    case UploadError::kNone: co_return (void)co_await ex.Respond(answer.status, "", "");
    case UploadError::kExists: message = "cache entry exists and cannot be overwritten"; break;
    case UploadError::kClient: message = result.status.message(); break;
    default: message = "not stored: " + result.status.message(); break;
  }
  co_await protocols::RespondError(ex, answer.status, message);
}

}  // namespace cellar::nx
