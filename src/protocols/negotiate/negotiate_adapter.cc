#include "protocols/negotiate/negotiate_adapter.h"

#include "base/digest.h"
#include "base/strings.h"
#include "core/verifier.h"

namespace cellar::negotiate {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr std::string_view kBlobsPrefix = "/v1/blobs/";
constexpr size_t kMaxNegotiateBody = 4 << 20;

std::string ErrorJson(std::string_view message) {
  return "{\"error\":\"" + JsonEscape(message) + "\"}";
}

awaitable<void> RespondJsonError(http::Exchange& ex, unsigned status, std::string_view message) {
  if (status == 401) ex.SetHeader("WWW-Authenticate", "Bearer realm=\"cellar\"");
  co_await ex.Respond(status, ErrorJson(message), "application/json");
}

// The size and SHA-256 a signed upload URL promised, checked together.
class DeclaredContentVerifier : public core::Verifier {
 public:
  explicit DeclaredContentVerifier(const auth::SignedGrant& grant) {
    if (grant.size) size_ = std::make_unique<core::SizeVerifier>(*grant.size);
    if (grant.sha256) {
      if (auto d = Digest::FromHex(*grant.sha256); d.ok()) sha_ = std::make_unique<core::Sha256Verifier>(d->bytes);
    }
  }
  void Update(std::span<const std::byte> data) override {
    if (sha_) sha_->Update(data);
  }
  Status Finish(uint64_t total_bytes) override {
    if (size_) CELLAR_RETURN_IF_ERROR(size_->Finish(total_bytes));
    if (sha_) CELLAR_RETURN_IF_ERROR(sha_->Finish(total_bytes));
    return Status();
  }

 private:
  std::unique_ptr<core::SizeVerifier> size_;
  std::unique_ptr<core::Sha256Verifier> sha_;
};
}  // namespace

NegotiateAdapter::NegotiateAdapter(protocols::ProtocolContext ctx, const auth::UrlSigner& signer,
                                   NegotiateOptions options, metrics::Registry& registry)
    : ctx_(ctx),
      signer_(signer),
      options_(std::move(options)),
      negotiations_(registry.AddCounter("cellar_negotiate_answers_total",
                                        "Negotiate answers by status (skipped, upload_needed, found, missing).",
                                        {"status"})),
      transfers_(registry.AddCounter("cellar_negotiate_transfers_total",
                                     "Signed-URL transfers by operation (put, get) and result (stored, "
                                     "skipped, hit, miss, refused, error).",
                                     {"op", "result"})) {}

void NegotiateAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/v1/negotiate", "negotiate", [this](http::Exchange& ex) -> awaitable<void> {
    if (ex.path() == "/v1/negotiate") co_return co_await HandleNegotiate(ex, false);
    if (ex.path() == "/v1/negotiate/batch") co_return co_await HandleNegotiate(ex, true);
    co_await RespondJsonError(ex, 404, "unknown negotiate endpoint; use /v1/negotiate or /v1/negotiate/batch");
  });
  router.Add(std::string(kBlobsPrefix), "blobs", [this](http::Exchange& ex) { return HandleBlob(ex); });
}

NegotiateAnswer NegotiateAdapter::Answer(const NegotiateItem& item, const std::string& ns,
                                         const std::string& base) {
  NegotiateAnswer answer{item.hash, "", "", 0};
  auto exists = ctx_.cache.Contains(ns, item.hash);
  bool present = exists.ok() && *exists;
  auth::SignedGrant grant;
  grant.ns = ns;
  grant.key = item.hash;
  grant.expires_unix_s = ctx_.cache.clock().NowUnixMs() / 1000 + options_.url_ttl_s;
  if (item.action == Action::kUpload) {
    if (present) {
      answer.status = "skipped";
    } else {
      answer.status = "upload_needed";
      grant.method = "PUT";
      grant.size = item.size;
      grant.sha256 = item.sha256;
    }
  } else {
    answer.status = present ? "found" : "missing";
    if (present) grant.method = "GET";
  }
  if (!grant.method.empty()) {
    answer.url = base + std::string(kBlobsPrefix) + item.hash + "?" + signer_.SignQuery(grant);
    answer.expires_unix_s = grant.expires_unix_s;
  }
  negotiations_.With({answer.status}).Inc();
  return answer;
}

awaitable<void> NegotiateAdapter::HandleNegotiate(http::Exchange& ex, bool batch) {
  if (ex.method() != verb::post) {
    ex.SetHeader("Allow", "POST");
    co_return co_await RespondJsonError(ex, 405, "use POST");
  }
  auto body = co_await ex.ReadBodyToString(kMaxNegotiateBody);
  if (!body.ok()) co_return co_await RespondJsonError(ex, 400, body.error().message());
  auto request = batch ? ParseBatch(*body, options_.max_batch_items) : ParseSingle(*body);
  if (!request.ok()) co_return co_await RespondJsonError(ex, 400, request.error().message());
  bool wants_upload = false;
  for (const auto& item : request->items) wants_upload |= item.action == Action::kUpload;
  // Downloads need read scope, uploads write scope, on the namespace.
  auto principal = protocols::Authorize(ctx_, ex, auth::kScopeRead, request->ns);
  if (principal.ok() && wants_upload && !principal->Can(auth::kScopeWrite, request->ns)) {
    principal = Status::PermissionDenied("token '" + principal->name + "' may not write " + request->ns);
  }
  if (!principal.ok()) {
    const unsigned status = principal.error().code() == Code::kUnauthenticated ? 401 : 403;
    co_return co_await RespondJsonError(ex, status, principal.error().message());
  }
  auto base = protocols::PublicBaseUrl(ex, options_.public_url);
  if (!base) co_return co_await RespondJsonError(ex, 400, "missing or invalid Host header (or set --public-url)");
  std::vector<NegotiateAnswer> answers;
  answers.reserve(request->items.size());
  for (const auto& item : request->items) answers.push_back(Answer(item, request->ns, *base));
  // Named, not a ?: temporary: GCC 12 destroys class temporaries of a
  // conditional inside a co_await expression twice.
  std::string response;
  if (batch) response = BatchJson(answers);
  else response = AnswerJson(answers.front());
  co_await ex.Respond(200, response, "application/json");
}

awaitable<void> NegotiateAdapter::HandleBlob(http::Exchange& ex) {
  std::string key = ex.path().substr(kBlobsPrefix.size());
  const verb method = ex.method();
  if (method != verb::get && method != verb::head && method != verb::put) {
    ex.SetHeader("Allow", "GET, HEAD, PUT");
    co_return co_await RespondJsonError(ex, 405, "method not allowed");
  }
  if (!IsValidBlobKey(key)) co_return co_await RespondJsonError(ex, 400, "blob key must be 1..128 of [A-Za-z0-9_-]");
  const char* op = method == verb::put ? "put" : "get";
  // The namespace was validated when the URL was signed; the signature
  // binds it, so only its presence is checked here.
  auto ns = ex.QueryParam("ns");
  if (!ns || ns->empty()) {
    transfers_.With({op, "refused"}).Inc();
    if (method == verb::put) ex.set_keep_alive(false);
    co_return co_await RespondJsonError(ex, 403, "not a signed URL: get one from POST /v1/negotiate");
  }
  auto grant = signer_.Verify(ex.query(), method == verb::put ? "PUT" : "GET", *ns, key,
                              ctx_.cache.clock().NowUnixMs() / 1000);
  if (!grant.ok()) {
    transfers_.With({op, "refused"}).Inc();
    if (method == verb::put) ex.set_keep_alive(false);  // do not read a body we refuse
    co_return co_await RespondJsonError(ex, 403, grant.error().message());
  }
  if (method == verb::put) co_return co_await HandleUpload(ex, *grant);
  auto hit = co_await protocols::LookupOr404(ctx_, ex, grant->ns, grant->key, /*serve=*/true);
  transfers_.With({"get", hit ? "hit" : "miss"}).Inc();
}

awaitable<void> NegotiateAdapter::HandleUpload(http::Exchange& ex, const auth::SignedGrant& grant) {
  if (auto len = ex.content_length(); len && grant.size && *len != *grant.size) {
    transfers_.With({"put", "refused"}).Inc();
    ex.set_keep_alive(false);
    co_return co_await RespondJsonError(ex, 400, "Content-Length " + std::to_string(*len) +
                                                     " differs from the declared size " +
                                                     std::to_string(*grant.size));
  }
  core::PutOptions options;
  options.ns = grant.ns;
  options.key = grant.key;
  options.verifier = std::make_unique<DeclaredContentVerifier>(grant);
  // A chunked body is cut off at the declared size, not after the server's
  // limit has been written to disk.
  const uint64_t limit = grant.size ? std::min(*grant.size, ctx_.max_entry_bytes) : ctx_.max_entry_bytes;
  auto result = co_await protocols::StoreIfAbsent(ctx_, ex, std::move(options), limit);
  const bool declared_below_limit = grant.size && *grant.size < ctx_.max_entry_bytes;
  const UploadAnswer answer = UploadAnswerFor(result.error, declared_below_limit);
  transfers_.With({"put", answer.result}).Inc();
  std::string message;
  switch (result.error) {
    case UploadError::kNone: co_return (void)co_await ex.Respond(answer.status, "{\"status\":\"stored\"}", "application/json");
    case UploadError::kExists:
      co_return (void)co_await ex.Respond(answer.status, "{\"status\":\"skipped\"}", "application/json");
    case UploadError::kClient: message = "upload refused, nothing stored: " + result.status.message(); break;
    case UploadError::kTooLarge:
      message = declared_below_limit ? "upload refused, nothing stored: body is longer than the declared size " +
                                           std::to_string(*grant.size)
                                     : result.status.message();
      break;
    case UploadError::kStoreFull: message = result.status.message(); break;
    case UploadError::kStoreFailure: message = "storage failure: " + result.status.message(); break;
  }
  co_await RespondJsonError(ex, answer.status, message);
}

}  // namespace cellar::negotiate
