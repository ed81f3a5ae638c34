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

// How many trailing segments form the key in one of ccache's layouts (1 flat,
// 2 subdirs or bazel), 0 when the path ends in none of them.
size_t KeySegments(const std::vector<std::string_view>& segs) {
  auto all = [](std::string_view s, auto pred) {
    for (char c : s) if (!pred(c)) return false;
    return true;
  };
  std::string_view last = segs.back();
  if (last.size() == 33 && all(last, IsKeyChar)) return 1;  // flat
  if (segs.size() >= 2) {
    std::string_view dir = segs[segs.size() - 2];
    if (dir.size() == 2 && last.size() == 31 && all(dir, IsKeyChar) && all(last, IsKeyChar))
      return 2;  // subdirs
    if (dir == "ac" && last.size() == 64 && IsLowerHex(last)) return 2;  // bazel
  }
  return 0;
}
}  // namespace

std::optional<CcacheTarget> ParseCcachePath(std::string_view rest) {
  if (!protocols::IsSafeKeyPath(rest, 8, 512)) return std::nullopt;
  auto segs = SplitView(rest, '/');
  const size_t key_segments = KeySegments(segs);
  if (key_segments == 0) return std::nullopt;
  // Offsets into `rest`: the prefix ends just before the key's first segment.
  const size_t key_start = static_cast<size_t>(segs[segs.size() - key_segments].data() - rest.data());
  CcacheTarget target{kNamespace, std::string(rest.substr(key_start))};
  if (key_start > 0) target.ns += "/" + std::string(rest.substr(0, key_start - 1));
  return target;
}

void CcacheAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/ccache/", "ccache", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> CcacheAdapter::Handle(http::Exchange& ex) {
  auto target = ParseCcachePath(std::string_view(ex.path()).substr(8));
  if (!target) {
    co_await protocols::RespondError(ex, 400, "expected /ccache/[prefix/]<ccache key path>");
    co_return;
  }
  const verb method = ex.method();
  auth::Scope scope = (method == verb::get || method == verb::head) ? auth::kScopeRead : auth::kScopeWrite;
  const std::string& ns = target->ns;
  const std::string& key = target->key;
  if (auto a = protocols::Authorize(ctx_, ex, scope, ns); !a.ok()) {
    co_await protocols::RespondAuthError(ex, a.error());
    co_return;
  }
  if (method == verb::get || method == verb::head) {
    co_await protocols::LookupOr404(ctx_, ex, ns, key, /*serve=*/true);
  } else if (method == verb::put) {
    core::PutOptions options;
    options.ns = ns;
    options.key = key;
    auto result = co_await protocols::StreamUpload(ctx_, ex, std::move(options), ctx_.max_entry_bytes);
    switch (result.error) {
      case UploadError::kNone:
      case UploadError::kExists: co_await ex.Respond(200, "", ""); break;
      case UploadError::kClient: co_await protocols::RespondError(ex, 400, result.status.message()); break;
      case UploadError::kTooLarge: co_await protocols::RespondError(ex, 413, result.status.message()); break;
      case UploadError::kStoreFull: co_await protocols::RespondError(ex, 507, result.status.message()); break;
      case UploadError::kStoreFailure:
        co_await protocols::RespondError(ex, protocols::StoreFailureHttpStatus(result),
                                         "storage failure: " + result.status.message());
        break;
    }
  } else if (method == verb::delete_) {
    Status s = co_await http::RunBlocking(ctx_.workers, [&] { return ctx_.cache.Delete(ns, key); });
    if (s.ok()) co_await ex.Respond(204, "", "");
    else co_await protocols::RespondError(ex, 500, s.message());
  } else {
    ex.SetHeader("Allow", "GET, HEAD, PUT, DELETE");
    co_await protocols::RespondError(ex, 405, "method not allowed");
  }
}

}  // namespace cellar::ccache
