#include "protocols/bazel/bazel_adapter.h"

#include "base/digest.h"
#include "base/strings.h"
#include "http/offload.h"
#include "protocols/bazel/action_result.h"

namespace cellar::bazel {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

constexpr uint64_t kMaxActionResultBytes = 16 << 20;

std::array<uint8_t, 32> HexToBytes(const std::string& hex) {
  return Digest::FromHex(hex)->bytes;  // validated by ParseBazelPath
}

// Buffers an AC upload (ActionResults are small) and accepts it only when it
// parses as an ActionResult.
class ActionResultVerifier : public core::Verifier {
 public:
  void Update(std::span<const std::byte> data) override {
    if (bytes_.size() + data.size() > kMaxActionResultBytes) {
      too_large_ = true;
      return;
    }
    bytes_.append(reinterpret_cast<const char*>(data.data()), data.size());
  }
  Status Finish(uint64_t) override {
    if (too_large_) return Status::InvalidArgument("action result larger than 16 MiB");
    std::vector<CasRef> refs;
    return ParseActionResult(bytes_, &refs).WithContext("body is not a valid ActionResult");
  }

 private:
  std::string bytes_;
  bool too_large_ = false;
};
}  // namespace

Result<BazelKey> ParseBazelPath(std::string_view rest) {
  static constexpr std::string_view kShape = "expected /bazel/[instance/]ac|cas/<64 lowercase hex sha256>";
  auto segments = SplitView(rest, '/');
  if (segments.size() < 2 || segments.size() > 8) return Status::InvalidArgument(std::string(kShape));
  std::string_view kind = segments[segments.size() - 2];
  std::string_view hash = segments.back();
  if (kind != "ac" && kind != "cas") return Status::InvalidArgument(std::string(kShape));
  if (hash.size() != 64 || !IsLowerHex(hash)) return Status::InvalidArgument(std::string(kShape));
  std::string instance;
  for (size_t i = 0; i + 2 < segments.size(); ++i) {
    if (!protocols::IsSafeKeyPath(segments[i], 1, 128)) {
      return Status::InvalidArgument("bazel instance segments must be 1..128 characters of [A-Za-z0-9._-]");
    }
    if (segments[i] == "ac" || segments[i] == "cas") {
      return Status::InvalidArgument("a bazel instance may not contain a segment named 'ac' or 'cas'");
    }
    if (!instance.empty()) instance += '/';
    instance += segments[i];
  }
  BazelKey key;
  key.cas = kind == "cas";
  key.hash = std::string(hash);
  const std::string base = instance.empty() ? "bazel/" : "bazel/" + instance + "/";
  key.ns = base + (key.cas ? "cas" : "ac");
  key.cas_ns = base + "cas";
  return key;
}

void BazelAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/bazel/", "bazel", [this](http::Exchange& ex) { return Handle(ex); });
}

awaitable<void> BazelAdapter::Handle(http::Exchange& ex) {
  auto key = ParseBazelPath(std::string_view(ex.path()).substr(7));
  if (!key.ok()) {
    co_await protocols::RespondError(ex, 400, key.error().message());
    co_return;
  }
  switch (ex.method()) {
    case verb::get:
    case verb::head: co_await Get(ex, *key); break;
    case verb::put: co_await Put(ex, *key); break;
    default:
      ex.SetHeader("Allow", "GET, HEAD, PUT");
      co_await protocols::RespondError(ex, 405, "method not allowed");
  }
}

awaitable<void> BazelAdapter::Get(http::Exchange& ex, const BazelKey& key) {
  if (auto auth = protocols::Authorize(ctx_, ex, auth::kScopeRead, key.ns); !auth.ok()) {
    co_await protocols::RespondAuthError(ex, auth.error());
    co_return;
  }
  if (key.cas && key.hash == kEmptySha256) {  // the empty blob always exists
    ex.set_cache_result("hit");
    co_await ex.Respond(200, "", "application/octet-stream");
    co_return;
  }
  const bool validate = !key.cas && options_.validate_ac;
  auto hit = co_await protocols::LookupOr404(ctx_, ex, key.ns, key.hash, /*serve=*/!validate);
  if (hit && validate) co_await ServeValidatedAc(ex, *hit, key.cas_ns);
}

awaitable<void> BazelAdapter::ServeValidatedAc(http::Exchange& ex, core::Hit& hit, const std::string& cas_ns) {
  std::string body;
  bool complete = hit.entry().size <= kMaxActionResultBytes;
  std::vector<CasRef> refs;
  if (complete) {
    body.resize(hit.entry().size);
    size_t got = 0;
    while (got < body.size()) {
      auto n = hit.reader().Read(std::as_writable_bytes(std::span(body.data() + got, body.size() - got)));
      if (!n.ok() || *n == 0) break;
      got += *n;
    }
    complete = got == body.size() && ParseActionResult(body, &refs).ok();
  }
  for (const auto& ref : refs) {
    if (!complete) break;
    if (ref.hash == kEmptySha256) continue;
    auto present = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Contains(cas_ns, ref.hash); });
    complete = present.ok() && *present;
  }
  if (!complete) {
    // Serving it would make Bazel fail later on a missing output; a miss
    // makes it re-run the action instead.
    ex.set_cache_result("ac-incomplete");
    co_await protocols::RespondError(ex, 404, "not found");
    co_return;
  }
  ex.set_cache_result("hit");
  co_await ex.Respond(200, body, hit.entry().content_type);
}

awaitable<void> BazelAdapter::Put(http::Exchange& ex, const BazelKey& key) {
  if (auto auth = protocols::Authorize(ctx_, ex, auth::kScopeWrite, key.ns); !auth.ok()) {
    co_await protocols::RespondAuthError(ex, auth.error());
    co_return;
  }
  if (auto enc = ex.Header("Content-Encoding"); enc && !EqualsIgnoreCase(*enc, "identity")) {
    co_await protocols::RespondError(ex, 400, "unsupported Content-Encoding");
    co_return;
  }
  if (key.cas) {
    auto existing = co_await protocols::CacheCall(ctx_, [&] { return ctx_.cache.Contains(key.ns, key.hash); });
    if (existing.ok() && *existing) {
      // Bazel's HTTP client re-uploads every output: check the bytes, keep
      // the copy we have.
      core::Sha256Verifier verifier(HexToBytes(key.hash));
      Status s = co_await protocols::DrainBody(ex, &verifier, ctx_.max_entry_bytes);
      if (!s.ok()) {
        ex.set_keep_alive(false);
        co_await protocols::RespondError(ex, 400, s.message());
      } else {
        co_await ex.Respond(200, "", "");
      }
      co_return;
    }
  }
  core::PutOptions options;
  options.ns = key.ns;
  options.key = key.hash;
  if (key.cas) {
    options.verifier = std::make_unique<core::Sha256Verifier>(HexToBytes(key.hash));
  } else if (options_.validate_ac) {
    options.verifier = std::make_unique<ActionResultVerifier>();
  }
  // A checked action result can never exceed 16 MiB: stop reading there
  // instead of writing up to the entry limit first.
  const bool checked_ac = !key.cas && options_.validate_ac;
  const uint64_t limit = checked_ac ? std::min(kMaxActionResultBytes, ctx_.max_entry_bytes) : ctx_.max_entry_bytes;
  auto result = co_await protocols::StreamUpload(ctx_, ex, std::move(options), limit);
  switch (result.error) {
    case UploadError::kNone: co_await ex.Respond(200, "", ""); break;
    case UploadError::kClient:
    case UploadError::kTooLarge: co_await protocols::RespondError(ex, 400, result.status.message()); break;
    case UploadError::kStoreFull: co_await protocols::RespondError(ex, 507, result.status.message()); break;
    case UploadError::kExists: co_await ex.Respond(200, "", ""); break;
    case UploadError::kStoreFailure:
      co_await protocols::RespondError(ex, protocols::StoreFailureHttpStatus(result),
                                       "storage failure: " + result.status.message());
      break;
  }
}

}  // namespace cellar::bazel
