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

std::optional<std::string> ParseGradlePath(std::string_view rest) {
  if (!protocols::IsSafeKeyPath(rest, 6, 512)) return std::nullopt;
  auto segs = SplitView(rest, '/');
  std::string_view last = segs.back();
  if (last.empty() || last.size() > 128 || !IsLowerHex(last)) return std::nullopt;
  return std::string(rest);
}

void GradleAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/gradle/", "gradle", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> GradleAdapter::Handle(http::Exchange& ex) {
  auto key = ParseGradlePath(std::string_view(ex.path()).substr(8));
  if (!key) {
    co_await protocols::RespondError(ex, 404, "expected /gradle/[prefix/]<lowercase hex key>");
    co_return;
  }
  if (ex.method() == verb::put) {
    co_await Put(ex, *key);
    co_return;
  }
  if (ex.method() != verb::get && ex.method() != verb::head) {
    co_await protocols::RespondError(ex, 404, "unsupported method");  // 405 would fail Gradle 4.4.1
    co_return;
  }
  if (auto a = protocols::Authorize(ctx_, ex, auth::kScopeRead, kNamespace); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  co_await protocols::LookupOr404(ctx_, ex, kNamespace, *key, /*serve=*/true);
}

awaitable<void> GradleAdapter::Put(http::Exchange& ex, const std::string& key) {
  auto principal = ctx_.auth.Authenticate(ex.Header("Authorization"));
  if (!principal.ok()) {
    co_await protocols::RespondAuthError(ex, principal.error());
    co_return;
  }
  if (principal->anonymous && !principal->Can(auth::kScopeRead, kNamespace) &&
      !principal->Can(auth::kScopeWrite, kNamespace)) {
    // Not a ?: choosing between two Status values inside the co_await: GCC
    // 12 evaluated principal.error() on an OK Result there.
    co_await protocols::RespondAuthError(ex, Status::Unauthenticated("credentials required"));
    co_return;
  }
  ex.set_principal(principal->name);
  const bool legacy = IsLegacyGradle(ex);
  if (!principal->Can(auth::kScopeWrite, kNamespace)) {
    // Read-only clients should set push = false; if they push anyway, a
    // refusal would fail their build on 4.4.1, so accept and discard.
    ex.set_cache_result("discarded");
    Status s = co_await protocols::DrainBody(ex, nullptr, ctx_.max_entry_bytes);
    co_await ex.Respond(s.ok() ? 200 : 400, "", "");
    co_return;
  }
  core::PutOptions options;
  options.ns = kNamespace;
  options.key = key;
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
      co_await protocols::RespondError(ex, 500, "storage failure: " + result.status.message());
      break;
  }
}

}  // namespace cellar::gradle
