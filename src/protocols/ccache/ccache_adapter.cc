#include "protocols/ccache/ccache_adapter.h"

#include "base/strings.h"
#include "http/offload.h"

namespace cellar::ccache {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr const char* kNamespace = "ccache";

bool IsKeyChar(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'v'); }

// The final component(s) must look like a ccache key in one of its layouts.
bool LooksLikeKey(const std::vector<std::string_view>& segs) {
  auto all = [](std::string_view s, auto pred) {
    for (char c : s) if (!pred(c)) return false;
    return true;
  };
  std::string_view last = segs.back();
  if (last.size() == 33 && all(last, IsKeyChar)) return true;  // flat
  if (segs.size() >= 2) {
    std::string_view dir = segs[segs.size() - 2];
    if (dir.size() == 2 && last.size() == 31 && all(dir, IsKeyChar) && all(last, IsKeyChar))
      return true;  // subdirs
    if (dir == "ac" && last.size() == 64 && IsLowerHex(last)) return true;  // bazel
  }
  return false;
}
}  // namespace

std::optional<std::string> ParseCcachePath(std::string_view rest) {
  if (!protocols::IsSafeKeyPath(rest, 8, 512)) return std::nullopt;
  auto segs = SplitView(rest, '/');
  if (!LooksLikeKey(segs)) return std::nullopt;
  return std::string(rest);
}

void CcacheAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/ccache/", "ccache", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> CcacheAdapter::Handle(http::Exchange& ex) {
  auto key = ParseCcachePath(std::string_view(ex.path()).substr(8));
  if (!key) {
    co_await protocols::RespondError(ex, 400, "expected /ccache/[prefix/]<ccache key path>");
    co_return;
  }
  const verb method = ex.method();
  auth::Scope scope = (method == verb::get || method == verb::head) ? auth::kScopeRead : auth::kScopeWrite;
  if (auto a = protocols::Authorize(ctx_, ex, scope, kNamespace); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  if (method == verb::get || method == verb::head) {
    co_await protocols::LookupOr404(ctx_, ex, kNamespace, *key, /*serve=*/true);
  } else if (method == verb::put) {
    core::PutOptions options;
    options.ns = kNamespace;
    options.key = *key;
    auto result = co_await protocols::StreamUpload(ctx_, ex, std::move(options), ctx_.max_entry_bytes);
    switch (result.error) {
      case UploadError::kNone:
      case UploadError::kExists: co_await ex.Respond(200, "", ""); break;
      case UploadError::kClient: co_await protocols::RespondError(ex, 400, result.status.message()); break;
      case UploadError::kTooLarge: co_await protocols::RespondError(ex, 413, result.status.message()); break;
      case UploadError::kStoreFull: co_await protocols::RespondError(ex, 507, result.status.message()); break;
      case UploadError::kStoreFailure:
        co_await protocols::RespondError(ex, 500, "storage failure: " + result.status.message());
        break;
    }
  } else if (method == verb::delete_) {
    Status s = co_await http::RunBlocking(ctx_.workers, [&] { return ctx_.cache.Delete(kNamespace, *key); });
    if (s.ok()) co_await ex.Respond(204, "", "");
    else co_await protocols::RespondError(ex, 500, s.message());
  } else {
    ex.SetHeader("Allow", "GET, HEAD, PUT, DELETE");
    co_await protocols::RespondError(ex, 405, "method not allowed");
  }
}

}  // namespace cellar::ccache
