#include "protocols/negotiate/negotiate_adapter.h"

#include <algorithm>
#include <thread>

#include <openssl/rand.h>

#include "base/digest.h"
#include "base/strings.h"
#include "core/verifier.h"
#include "http/offload.h"
#include "protocols/negotiate/declared_content_verifier.h"
#include "protocols/negotiate/granted_upload.h"

namespace cellar::negotiate {

namespace asio = boost::asio;
using asio::awaitable;
using boost::beast::http::verb;
using protocols::UploadError;

namespace {
constexpr std::string_view kBlobsPrefix = "/v1/blobs/";
constexpr std::string_view kCommitPrefix = "/v1/negotiate/commit/";
// The signed-URL method of a commit URL: it cannot be used as a PUT or GET.
constexpr std::string_view kCommitMethod = "COMMIT";
constexpr size_t kUploadIdChars = 32;
constexpr size_t kMaxNegotiateBody = 4 << 20;

std::string ErrorJson(std::string_view message) {
  return "{\"error\":\"" + JsonEscape(message) + "\"}";
}

awaitable<void> RespondJsonError(http::Exchange& ex, unsigned status, std::string_view message) {
  if (status == 401) ex.SetHeader("WWW-Authenticate", "Bearer realm=\"cellar\"");
  co_await ex.Respond(status, ErrorJson(message), "application/json");
}

// 128 random bits, hex: names one negotiation's staging object, so no two
// uploaders ever write the same object.
std::optional<std::string> NewUploadId() {
  uint8_t raw[kUploadIdChars / 2];
  if (RAND_bytes(raw, sizeof raw) != 1) return std::nullopt;
  return ToHex(std::span<const uint8_t>(raw, sizeof raw));
}

bool IsUploadId(std::string_view id) { return id.size() == kUploadIdChars && IsLowerHex(id); }

std::string Json(std::string_view status) { return "{\"status\":\"" + std::string(status) + "\"}"; }
}  // namespace

NegotiateAdapter::NegotiateAdapter(protocols::ProtocolContext ctx, const auth::UrlSigner& signer,
                                   NegotiateOptions options, metrics::Registry& registry)
    : ctx_(ctx),
      signer_(signer),
      options_(std::move(options)),
      negotiations_(registry.AddCounter("cellar_negotiate_answers_total",
                                        "Negotiate answers by status (skipped, upload_needed, found, missing) "
                                        "and where the URL points (cellar, presigned, none).",
                                        {"status", "url"})),
      transfers_(registry.AddCounter("cellar_negotiate_transfers_total",
                                     "Signed-URL transfers by operation (put, get, commit) and result (stored, "
                                     "skipped, hit, miss, refused, error).",
                                     {"op", "result"})) {}

void NegotiateAdapter::RegisterRoutes(http::Router& router) {
  router.Add("/v1/negotiate", "negotiate", [this](http::Exchange& ex) -> awaitable<void> {
    if (ex.path() == "/v1/negotiate") co_return co_await HandleNegotiate(ex, false);
    if (ex.path() == "/v1/negotiate/batch") co_return co_await HandleNegotiate(ex, true);
    if (ex.path().starts_with(kCommitPrefix)) co_return co_await HandleCommit(ex);
    co_await RespondJsonError(ex, 404, "unknown negotiate endpoint; use /v1/negotiate or /v1/negotiate/batch");
  });
  router.Add(std::string(kBlobsPrefix), "blobs", [this](http::Exchange& ex) { return HandleBlob(ex); });
}

std::vector<NegotiateAnswer> NegotiateAdapter::AnswerAll(const NegotiateRequest& request, const std::string& base) {
  const size_t n = request.items.size();
  std::vector<NegotiateAnswer> out(n);
  // With --storage s3 an answer may wait on the bucket (an index entry
  // recovered from it, a HEAD before presigning): a batch of a thousand
  // misses one after another would take longer than any client waits. So a
  // large batch is answered by a few threads of its own, each taking every
  // k-th item (answers stay in request order). Threads of this call, not
  // of the pool it runs on: waiting on the same pool could exhaust it.
  constexpr size_t kPerThread = 32;
  constexpr size_t kMaxThreads = 16;
  const size_t threads = std::min(kMaxThreads, (n + kPerThread - 1) / kPerThread);
  auto answer_every = [&](size_t first, size_t step) {
    for (size_t i = first; i < n; i += step) out[i] = Answer(request.items[i], request, base);
  };
  if (threads <= 1) {
    answer_every(0, 1);
    return out;
  }
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) workers.emplace_back(answer_every, t, threads);
  answer_every(0, threads);
  for (std::thread& w : workers) w.join();
  return out;
}

NegotiateAnswer NegotiateAdapter::Answer(const NegotiateItem& item, const NegotiateRequest& request,
                                         const std::string& base) {
  const std::string& ns = request.ns;
  NegotiateAnswer answer{item.hash, "", "", 0, {}, "", 0};
  const int64_t now_s = ctx_.cache.clock().NowUnixMs() / 1000;
  auth::SignedGrant grant;
  grant.ns = ns;
  grant.key = item.hash;
  grant.expires_unix_s = now_s + options_.url_ttl_s;
  std::string_view via = "cellar";
  if (item.action == Action::kUpload) {
    auto exists = ctx_.cache.Contains(ns, item.hash);
    if (exists.ok() && *exists) {
      answer.status = "skipped";
    } else {
      answer.status = "upload_needed";
      if (options_.direct && request.presigned_uploads && PresignUpload(item, ns, base, now_s, answer)) {
        via = "presigned";
      } else {
        grant.method = "PUT";
        grant.size = item.size;
        grant.sha256 = item.sha256;
        grant.duration_ms = item.duration_ms;
      }
    }
  } else {
    // With an object store the download bypasses this server, so the
    // answer's Lookup is the access (and names the blob). Otherwise the GET
    // through /v1/blobs/ records it and Contains only asks.
    Result<std::optional<index::Entry>> entry = std::optional<index::Entry>();
    bool present = false;
    if (options_.direct) {
      entry = ctx_.cache.Lookup(ns, item.hash);
      present = entry.ok() && entry->has_value();
    } else {
      auto exists = ctx_.cache.Contains(ns, item.hash);
      present = exists.ok() && *exists;
    }
    answer.status = present ? "found" : "missing";
    if (present && options_.direct) {
      auto get = options_.direct->PresignBlobGet((*entry)->digest, (*entry)->size, now_s,
                                                 std::chrono::seconds(options_.url_ttl_s));
      // A blob only on this node's disk (stored before --storage s3), or an
      // object store that did not answer: this server serves it instead.
      if (get.ok() && get->has_value()) {
        answer.url = (*get)->url;
        answer.expires_unix_s = grant.expires_unix_s;
        answer.time_saved_ms = DurationOf((*entry)->attributes);
        via = "presigned";
      }
    }
    if (present && answer.url.empty()) grant.method = "GET";
  }
  if (!grant.method.empty()) {
    answer.url = base + options_.blob_url_path + item.hash + "?" + signer_.SignQuery(grant);
    answer.expires_unix_s = grant.expires_unix_s;
  }
  if (answer.url.empty()) via = "none";
  negotiations_.With({answer.status, std::string(via)}).Inc();
  return answer;
}

bool NegotiateAdapter::PresignUpload(const NegotiateItem& item, const std::string& ns, const std::string& base,
                                     int64_t now_s, NegotiateAnswer& answer) {
  // The declared size is what the object store enforces on the PUT; an
  // upload without one goes through this server, which can cut it off.
  if (!item.size || *item.size > ctx_.max_entry_bytes) return false;
  auto id = NewUploadId();
  if (!id) return false;
  auto put = options_.direct->PresignStagingPut(ns + "/" + item.hash + "/" + *id, *item.size, item.sha256, now_s,
                                                std::chrono::seconds(options_.url_ttl_s));
  if (!put.ok()) return false;
  auth::SignedGrant commit;
  commit.method = std::string(kCommitMethod);
  commit.ns = ns;
  commit.key = item.hash + "/" + *id;
  // A PUT started just before its URL expires may finish after it.
  commit.expires_unix_s = now_s + 2 * options_.url_ttl_s;
  commit.size = item.size;
  commit.sha256 = item.sha256;
  commit.duration_ms = item.duration_ms;
  answer.url = put->url;
  answer.headers = put->headers;
  answer.expires_unix_s = now_s + options_.url_ttl_s;
  answer.commit_url = base + std::string(kCommitPrefix) + commit.key + "?" + signer_.SignQuery(commit);
  return true;
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
  // The index (and with --storage s3 the object store) blocks: worker pool.
  auto& pool = options_.direct ? ctx_.upstream_pool() : ctx_.workers;
  std::vector<NegotiateAnswer> answers = co_await http::RunBlocking(pool, [&] {
    return AnswerAll(*request, *base);
  });
  uint64_t saved = 0;
  for (const auto& a : answers) saved += a.time_saved_ms;
  ex.set_time_saved_ms(saved);
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
  ex.set_namespace(grant->ns);
  if (method == verb::put) co_return co_await HandleUpload(ex, *grant);
  auto hit = co_await protocols::LookupOr404(ctx_, ex, grant->ns, grant->key, /*serve=*/true);
  transfers_.With({"get", hit ? "hit" : "miss"}).Inc();
  if (hit && method == verb::get) ex.set_time_saved_ms(DurationOf(hit->entry().attributes));
}

awaitable<void> NegotiateAdapter::HandleUpload(http::Exchange& ex, const auth::SignedGrant& grant) {
  const GrantedUpload upload = co_await StoreGrantedUpload(ctx_, ex, grant, "application/octet-stream");
  transfers_.With({"put", upload.answer.result}).Inc();
  if (upload.error == UploadError::kNone) {
    co_return (void)co_await ex.Respond(upload.answer.status, "{\"status\":\"stored\"}", "application/json");
  }
  if (upload.error == UploadError::kExists) {
    co_return (void)co_await ex.Respond(upload.answer.status, "{\"status\":\"skipped\"}", "application/json");
  }
  co_await RespondJsonError(ex, upload.answer.status, upload.message);
}

awaitable<void> NegotiateAdapter::HandleCommit(http::Exchange& ex) {
  if (ex.method() != verb::post) {
    ex.SetHeader("Allow", "POST");
    co_return co_await RespondJsonError(ex, 405, "use POST");
  }
  const std::string rest = ex.path().substr(kCommitPrefix.size());
  const size_t slash = rest.find('/');
  const std::string key = rest.substr(0, slash);
  const std::string id = slash == std::string::npos ? "" : rest.substr(slash + 1);
  // A commit carries no body; read what a client sent anyway, so the
  // connection stays usable whatever the answer.
  auto body = co_await ex.ReadBodyToString(4096);
  if (!body.ok()) co_return co_await RespondJsonError(ex, 400, body.error().message());
  if (!IsValidBlobKey(key) || !IsUploadId(id)) {
    co_return co_await RespondJsonError(ex, 400, "commit path must be /v1/negotiate/commit/<key>/<upload id>");
  }
  auto ns = ex.QueryParam("ns");
  auto grant = ns && !ns->empty() ? signer_.Verify(ex.query(), kCommitMethod, *ns, key + "/" + id,
                                                   ctx_.cache.clock().NowUnixMs() / 1000)
                                  : Result<auth::SignedGrant>(Status::PermissionDenied("not a signed commit URL"));
  if (!grant.ok()) {
    transfers_.With({"commit", "refused"}).Inc();
    co_return co_await RespondJsonError(ex, 403, grant.error().message());
  }
  ex.set_namespace(grant->ns);
  if (!options_.direct) co_return co_await RespondJsonError(ex, 404, "this server has no object store to commit from");
  const std::string staging = grant->ns + "/" + key + "/" + id;
  CommitOutcome outcome = co_await http::RunBlocking(ctx_.upstream_pool(), [&] {
    CommitOutcome decided = CommitStaged(*grant, key, staging);
    SweepStagingIfDue();
    return decided;
  });
  transfers_.With({"commit", std::string(outcome.result)}).Inc();
  co_await ex.Respond(outcome.status, outcome.body, "application/json");
}

void NegotiateAdapter::SweepStagingIfDue() {
  const int64_t now_ms = ctx_.cache.clock().NowUnixMs();
  int64_t last = last_staging_sweep_ms_.load();
  if (now_ms - last < options_.staging_sweep_interval_ms) return;
  if (!last_staging_sweep_ms_.compare_exchange_strong(last, now_ms)) return;  // another commit sweeps
  // Best effort: a failed sweep is retried an interval later, and the
  // objects it would remove harm nobody meanwhile.
  (void)options_.direct->RemoveStaleStaged(std::chrono::seconds(options_.staging_max_age_s));
}

NegotiateAdapter::CommitOutcome NegotiateAdapter::CommitStaged(const auth::SignedGrant& grant, const std::string& key,
                                                               const std::string& staging) {
  DirectStorage& direct = *options_.direct;
  auto done = [&](unsigned status, std::string_view result, std::string body) {
    // Stored, skipped or refused: the staged copy has served its purpose.
    (void)direct.RemoveStaged(staging);
    return CommitOutcome{status, result, std::move(body)};
  };
  // First write wins: a key stored meanwhile makes this upload redundant,
  // and it is not even read.
  auto exists = ctx_.cache.Contains(grant.ns, key);
  if (exists.ok() && *exists) return done(200, "skipped", Json("skipped"));
  auto staged = direct.OpenStaged(staging);
  if (!staged.ok()) return {503, "error", ErrorJson("object store unavailable: " + staged.error().message())};
  if (!staged->has_value()) {
    return {409, "refused",
            ErrorJson("nothing was uploaded for this commit URL (no PUT, a PUT cut short, or already committed)")};
  }
  StagedObject& object = ***staged;
  if (grant.size && object.size() != *grant.size) {
    return done(400, "refused", ErrorJson("upload refused, nothing stored: " + std::to_string(object.size()) +
                                          " bytes uploaded, " + std::to_string(*grant.size) + " declared"));
  }
  if (object.size() > ctx_.max_entry_bytes) return done(413, "refused", ErrorJson("upload exceeds --max-entry-size"));
  core::PutOptions options;
  options.ns = grant.ns;
  options.key = key;
  options.mode = index::PutMode::kIfAbsent;
  options.expected_size = object.size();
  options.attributes = EntryAttributes(grant.duration_ms);
  options.verifier = std::make_unique<DeclaredContentVerifier>(grant);
  auto put = ctx_.cache.BeginPut(std::move(options));
  Status status = put.ok() ? (*put)->Reserve(object.size()) : put.error();
  std::vector<std::byte> buf(status.ok() ? 1 << 20 : 0);
  while (status.ok()) {
    auto n = object.Read(buf);
    if (!n.ok()) {
      // The staged object stays for a retried commit; the sweep removes it.
      return {503, "error", ErrorJson("reading the staged upload failed: " + n.error().message())};
    }
    if (*n == 0) break;
    status = (*put)->Write(std::span<const std::byte>(buf.data(), *n));
  }
  if (status.ok()) {
    auto committed = (*put)->Commit();
    if (committed.ok()) return done(201, "stored", Json("stored"));
    status = committed.error();
  }
  switch (status.code()) {
    case Code::kAlreadyExists: return done(200, "skipped", Json("skipped"));
    case Code::kResourceExhausted: return done(507, "error", ErrorJson(status.message()));
    case Code::kCorruption:
    case Code::kInvalidArgument:
      return done(400, "refused", ErrorJson("upload refused, nothing stored: " + status.message()));
    default: {
      // The staged object stays for a retried commit (the bucket or the
      // index may be back by then); the sweep removes it if none comes.
      const unsigned code = status.code() == Code::kUnavailable ? 503 : 500;
      return {code, "error", ErrorJson("storage failure, nothing stored: " + status.message())};
    }
  }
}

}  // namespace cellar::negotiate
