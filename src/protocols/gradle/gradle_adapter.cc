#include "protocols/gradle/gradle_adapter.h"

#include "base/strings.h"

namespace cellar::gradle {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr const char* kNamespace = "gradle";
constexpr const char* kArtifactType = "application/vnd.gradle.build-cache-artifact.v1";

// Gradle 4.x turns 413 into a failed build; only newer versions treat it as
// "not stored".
bool IsLegacyGradle(const http::Exchange& ex) {
  auto v = ex.Header("X-Gradle-Version");
  if (!v) return true;  // unknown client: be conservative
  auto major = ParseUint64(v->substr(0, v->find('.')));
  return !major || *major < 5;
}
}  // namespace

std::optional<GradleTarget> ParseGradlePath(std::string_view rest) {
  if (!protocols::IsSafeKeyPath(rest, 6, 512)) return std::nullopt;
  auto segs = SplitView(rest, '/');
  std::string_view last = segs.back();
  if (last.empty() || last.size() > 128 || !IsLowerHex(last)) return std::nullopt;
  GradleTarget target{kNamespace, std::string(rest)};
  const size_t n = segs.size();
  if (n >= 3 && n <= 6 && segs[n - 2] == "cache") {
    const size_t key_start = static_cast<size_t>(segs[n - 2].data() - rest.data());
    target.ns += "/" + std::string(rest.substr(0, key_start - 1));
    target.key = std::string(rest.substr(key_start));
  }
  return target;
}

void GradleAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/gradle/", "gradle", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> GradleAdapter::Handle(http::Exchange& ex) {
  auto target = ParseGradlePath(std::string_view(ex.path()).substr(8));
  if (!target) {
    co_await protocols::RespondError(ex, 404, "expected /gradle/[prefix/]<lowercase hex key>");
    co_return;
  }
  if (ex.method() == verb::put) {
    co_await Put(ex, *target);
    co_return;
  }
  if (ex.method() != verb::get && ex.method() != verb::head) {
    co_await protocols::RespondError(ex, 404, "unsupported method");  // 405 would fail Gradle 4.4.1
    co_return;
  }
  if (auto a = protocols::Authorize(ctx_, ex, auth::kScopeRead, target->ns); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  co_await protocols::LookupOr404(ctx_, ex, target->ns, target->key, /*serve=*/true);
}

awaitable<void> GradleAdapter::Put(http::Exchange& ex, const GradleTarget& target) {
  const std::string& ns = target.ns;
  auto principal = ctx_.auth.Authenticate(ex.Header("Authorization"));
  if (!principal.ok()) {
    co_await protocols::RespondAuthError(ex, principal.error());
    co_return;
  }
  ex.set_principal(principal->name);
  if (!principal->Can(auth::kScopeRead, ns) && !principal->Can(auth::kScopeWrite, ns)) {
    // No access to this namespace at all (no credentials, or another team's
    // token): refused. The Status is a named local, not a ?: inside the
    // co_await: GCC 12 evaluated principal.error() on an OK Result there.
    Status refusal = Status::Unauthenticated("credentials required");
    if (!principal->anonymous) refusal = Status::PermissionDenied("token '" + principal->name + "' may not write " + ns);
    co_await protocols::RespondAuthError(ex, refusal);
    co_return;
  }
  const bool legacy = IsLegacyGradle(ex);
  if (!principal->Can(auth::kScopeWrite, ns)) {
    // Read-only clients should set push = false; if they push anyway, a
    // refusal would fail their build on 4.4.1, so accept and discard.
    ex.set_cache_result("discarded");
    Status s = co_await protocols::DrainBody(ex, nullptr, ctx_.max_entry_bytes);
    co_await ex.Respond(s.ok() ? 200 : 400, "", "");
    co_return;
  }
  core::PutOptions options;
  options.ns = ns;
  options.key = target.key;
  options.content_type = kArtifactType;
  auto result = co_await protocols::StreamUpload(ctx_, ex, std::move(options), ctx_.max_entry_bytes);
  switch (result.error) {
    case UploadError::kNone:
    case UploadError::kExists: co_await ex.Respond(200, "", ""); break;
    case UploadError::kTooLarge:
    case UploadError::kStoreFull:
      if (legacy) {
        ex.set_cache_result("discarded");
        Status s = co_await protocols::DrainBody(ex, nullptr, ctx_.max_entry_bytes);
        ex.set_keep_alive(s.ok());
        co_await ex.Respond(200, "", "");
      } else {
        co_await protocols::RespondError(ex, 413, result.status.message());
      }
      break;
    case UploadError::kClient: co_await protocols::RespondError(ex, 500, result.status.message()); break;
    case UploadError::kStoreFailure:
      co_await protocols::RespondError(ex, protocols::StoreFailureHttpStatus(result),
                                       "storage failure: " + result.status.message());
      break;
  }
}

}  // namespace cellar::gradle
