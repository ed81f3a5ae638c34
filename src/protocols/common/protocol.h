// Shared plumbing for protocol adapters: the adapter interface, the context
// every adapter is built with, and helpers for the three things every
// build-cache handler does (authorize, stream an upload into the cache,
// serve a hit with zero copies when possible).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "core/cache_service.h"
#include "http/exchange.h"
#include "http/offload.h"
#include "http/router.h"
#include "protocols/common/keys.h"
#include "trace/current_span.h"

namespace cellar::protocols {

// Everything an adapter needs; all members outlive the adapters.
struct ProtocolContext {
  core::CacheService& cache;
  boost::asio::thread_pool& workers;  // short disk and index work
  const auth::Authenticator& auth;
  uint64_t max_entry_bytes = 4ULL << 30;  // largest single upload accepted
  // Waits on upstreams (pull-through fills, metadata refreshes). A pool of
  // its own, sized for concurrent transfers, so slow upstreams never take
  // the few worker threads that commits need. Null: use `workers`.
  boost::asio::thread_pool* upstream_waits = nullptr;

  boost::asio::thread_pool& upstream_pool() const { return upstream_waits ? *upstream_waits : workers; }
};

class ProtocolAdapter {
 public:
  virtual ~ProtocolAdapter() = default;
  virtual std::string_view Name() const = 0;
  virtual void RegisterRoutes(http::Router& router) = 0;
};

// Authenticates and checks `scope` on `ns`. Records the principal in the
// exchange. kUnauthenticated / kPermissionDenied on refusal.
Result<auth::Principal> Authorize(const ProtocolContext& ctx, http::Exchange& ex,
                                  auth::Scope scope, const std::string& ns);

// Runs blocking upstream work (a fill, a metadata fetch) on the upstream
// pool with the request's trace current there, so the upstream calls in it
// become child spans and carry traceparent (trace/current_span.h).
template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> RunUpstream(const ProtocolContext& ctx, const http::Exchange& ex,
                                                            F fn) {
  co_return co_await http::RunBlocking(ctx.upstream_pool(), [&ex, &fn] {
    trace::CurrentScope scope(ex.tracer(), ex.trace_context());
    return fn();
  });
}

// Runs a CacheService lookup (Get, Lookup, Contains, a fresh mutable
// document) where it may block: with shared entries (`--storage s3`) a local
// miss asks the bucket, and with document versions (`--redis-url`) a fresh
// document is checked in Redis, so the call goes to the worker pool; with
// neither it is an index read and a page-cache open, cheap enough to stay
// on the I/O thread.
template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> CacheCall(const ProtocolContext& ctx, F fn) {
  if (!ctx.cache.ReachesTheNetwork()) co_return fn();
  co_return co_await http::RunBlocking(ctx.workers, std::move(fn));
}

// Outcome of streaming a request body into the cache.
enum class UploadError {
  kNone,
  kClient,        // bad body: wrong digest, truncated, too large, client stalled
  kTooLarge,      // body beyond the size limit
  kExists,        // PutMode::kIfAbsent and the key exists
  kStoreFull,     // hard size limit reached
  kStoreFailure,  // disk or index failure
};
struct UploadResult {
  UploadError error = UploadError::kNone;
  Status status;
  uint64_t bytes = 0;
};

// The HTTP status of a kStoreFailure for adapters without a protocol rule:
// 503 when storage is unavailable for now (the S3 bucket cannot be reached,
// SQLite is busy), so clients retry later, else 500.
inline unsigned StoreFailureHttpStatus(const UploadResult& result) {
  return result.status.code() == Code::kUnavailable ? 503 : 500;
}
inline bool StoreUnavailable(const UploadResult& result) {
  return result.error == UploadError::kStoreFailure && result.status.code() == Code::kUnavailable;
}

// Streams the request body into a new entry described by `options` and
// commits it on the worker pool. Declared Content-Length beyond `max_bytes`
// is refused before reading.
boost::asio::awaitable<UploadResult> StreamUpload(const ProtocolContext& ctx, http::Exchange& ex,
                                                  core::PutOptions options, uint64_t max_bytes);

// First write wins: when `options.ns`/`options.key` already exists the body
// is read and discarded and kExists is returned; otherwise the body is
// streamed in with PutMode::kIfAbsent, so of two racing uploads exactly one
// commits and the other gets kExists. Readers never see a partial value.
boost::asio::awaitable<UploadResult> StoreIfAbsent(const ProtocolContext& ctx, http::Exchange& ex,
                                                   core::PutOptions options, uint64_t max_bytes);

// Reads and discards the body (optionally through a verifier), e.g. for a
// duplicate CAS upload or a write a client must not see refused. Beyond
// max_bytes it stops with kResourceExhausted and the connection closes: a
// body nobody stores is still no licence to send endless bytes.
boost::asio::awaitable<Status> DrainBody(http::Exchange& ex, core::Verifier* verifier, uint64_t max_bytes);

// Sends a hit: sendfile for raw blobs, streaming decompression otherwise.
boost::asio::awaitable<Status> ServeHit(http::Exchange& ex, core::Hit& hit, unsigned status = 200);

// Looks the key up and serves the hit, or answers 404 on a miss or a
// storage fault (every build-cache client treats 404 as a miss). Returns the
// hit when the caller wants to serve it itself (`serve` = false).
boost::asio::awaitable<std::unique_ptr<core::Hit>> LookupOr404(const ProtocolContext& ctx,
                                                                http::Exchange& ex,
                                                                const std::string& ns,
                                                                const std::string& key, bool serve);

// Sends a short plain-text error and logs nothing (the access log has it).
boost::asio::awaitable<void> RespondError(http::Exchange& ex, unsigned status,
                                          std::string_view message);
// 401 with WWW-Authenticate, or 403, for a failed Authorize().
boost::asio::awaitable<void> RespondAuthError(http::Exchange& ex, const Status& status);

// The URL clients reach this server at, without a trailing slash:
// `public_url` when configured, else "http://" + the request's Host header
// (nullopt when that is missing or has characters a host cannot have).
std::optional<std::string> PublicBaseUrl(const http::Exchange& ex, const std::string& public_url);

}  // namespace cellar::protocols
