#include "protocols/common/protocol.h"

#include <memory>
#include <optional>

#include "base/buffer_pool.h"
#include "base/log.h"
#include "base/strings.h"
#include "http/offload.h"
#include "trace/tracer.h"

namespace cellar::protocols {

namespace asio = boost::asio;
using asio::awaitable;

namespace {

// Upload bodies are read in pieces of up to 256 KiB, into recycled buffers
// (see BufferPool for why); 64 idle ones at most, 16 MiB. Never destroyed:
// an upload torn down during exit may still hand its buffer back.
BufferPool<std::byte>& UploadBuffers() {
  static auto* pool = new BufferPool<std::byte>(256 * 1024, 64);
  return *pool;
}

// A storage failure as the client sees it: the detail (file paths, errno)
// goes to the log, the answer only says what happened.
UploadResult StoreFailure(const http::Exchange& ex, const Status& detail, uint64_t bytes) {
  Log(LogLevel::kError, "storage failure",
      "\"path\":\"" + JsonEscape(ex.path()) + "\",\"error\":\"" + JsonEscape(detail.ToString()) + "\"");
  // Storage that is unavailable for now (the S3 bucket unreachable, SQLite
  // busy) is the one failure a client can act on (retry later): it keeps
  // its code and says so (503 at the edge).
  if (detail.code() == Code::kUnavailable) {
    return UploadResult{UploadError::kStoreFailure,
                        Status::Unavailable("storage unavailable (the S3 bucket cannot be reached, or the index "
                                            "is busy); the upload was not stored, try again later"),
                        bytes};
  }
  return UploadResult{UploadError::kStoreFailure,
                      Status::Internal("the server could not store the upload (details in its log)"), bytes};
}

// Reserves room for `body_bytes` of the upload; making room evicts inline
// (SQLite, file deletes), so that part runs on the worker pool.
awaitable<Status> ReserveRoom(const ProtocolContext& ctx, core::PendingPut& put, uint64_t body_bytes) {
  if (put.TryReserve(body_bytes)) co_return Status();
  core::PendingPut* pending = &put;
  co_return co_await http::RunBlocking(ctx.workers, [pending, body_bytes] { return pending->Reserve(body_bytes); });
}

}  // namespace

Result<auth::Principal> Authorize(const ProtocolContext& ctx, http::Exchange& ex,
                                  auth::Scope scope, const std::string& ns) {
  trace::ScopedSpan span(ex.tracer(), ex.trace_context(), "auth");
  const char* what = scope == auth::kScopeRead ? "read" : scope == auth::kScopeWrite ? "write" : "admin";
  span.Set("cellar.scope", what);
  span.Set("cellar.namespace", ns);
  ex.set_namespace(ns);
  auto principal = ctx.auth.Authenticate(ex.Header("Authorization"));
  if (!principal.ok()) {
    span.SetError(principal.error().message());
    return principal.error();
  }
  ex.set_principal(principal->name);
  span.Set("enduser.id", principal->name);
  if (!principal->Can(scope, ns)) {
    span.SetError("refused");
    if (principal->anonymous) return Status::Unauthenticated("credentials required");
    return Status::PermissionDenied("token '" + principal->name + "' may not " + what + " " + ns);
  }
  return principal;
}

awaitable<UploadResult> StreamUpload(const ProtocolContext& ctx, http::Exchange& ex,
                                     core::PutOptions options, uint64_t max_bytes) {
  if (auto len = ex.content_length(); len && *len > max_bytes) {
    ex.set_keep_alive(false);
    co_return UploadResult{UploadError::kTooLarge,
                           Status::ResourceExhausted("body of " + std::to_string(*len) +
                                                     " bytes exceeds the limit of " +
                                                     std::to_string(max_bytes)),
                           0};
  }
  // The store's room is reserved before the body is read: the declared
  // length at once, a chunked body as it streams. A body the store can
  // never hold is refused here, unread.
  options.expected_size = ex.content_length();
  auto put = ctx.cache.BeginPut(std::move(options));
  if (!put.ok()) {
    ex.set_keep_alive(false);
    if (put.error().code() != Code::kResourceExhausted) co_return StoreFailure(ex, put.error(), 0);
    co_return UploadResult{UploadError::kStoreFull, put.error(), 0};
  }
  auto refused = [&ex](const Status& s, uint64_t bytes) {
    ex.set_keep_alive(false);
    if (s.code() != Code::kResourceExhausted) return StoreFailure(ex, s, bytes);
    return UploadResult{UploadError::kStoreFull, s, bytes};
  };
  if (auto len = ex.content_length()) {
    Status room = co_await ReserveRoom(ctx, **put, *len);
    if (!room.ok()) co_return refused(room, 0);
  }
  BufferPool<std::byte>::Buffer storage = UploadBuffers().Acquire();
  std::span<std::byte> buf(storage.get(), UploadBuffers().buffer_size());
  while (true) {
    auto n = co_await ex.ReadBody(buf);
    if (!n.ok()) {
      ex.set_keep_alive(false);
      co_return UploadResult{UploadError::kClient, n.error(), (*put)->bytes_written()};
    }
    if (*n == 0) break;
    if ((*put)->bytes_written() + *n > max_bytes) {
      ex.set_keep_alive(false);
      co_return UploadResult{UploadError::kTooLarge,
                             Status::ResourceExhausted("body exceeds the limit of " +
                                                       std::to_string(max_bytes) + " bytes"),
                             (*put)->bytes_written()};
    }
    Status room = co_await ReserveRoom(ctx, **put, (*put)->bytes_written() + *n);
    if (!room.ok()) co_return refused(room, (*put)->bytes_written());
    // Page-cache writes are cheap enough for the I/O thread; the fsync in
    // Commit() is not, so that part runs on the worker pool.
    Status s = (*put)->Write(std::span<const std::byte>(buf.data(), *n));
    if (s.code() == Code::kResourceExhausted) {
      // Disk full: say so without exposing server paths.
      ex.set_keep_alive(false);
      co_return UploadResult{UploadError::kStoreFull, Status::ResourceExhausted("storage is full"),
                             (*put)->bytes_written()};
    }
    if (!s.ok()) co_return StoreFailure(ex, s, (*put)->bytes_written());
  }
  auto* pending = put->get();
  trace::ScopedSpan commit_span(ex.tracer(), ex.trace_context(), "blob commit");
  commit_span.Set("cellar.bytes", static_cast<int64_t>(pending->bytes_written()));
  // The commit's own work (an S3 upload with --storage s3) is traced under
  // the commit span, and what it logs carries the trace's ids.
  trace::Tracer* tracer = ex.tracer();
  const trace::TraceContext* commit_context = commit_span.context();
  auto committed = co_await http::RunBlocking(ctx.workers, [pending, tracer, commit_context] {
    trace::CurrentScope scope(tracer, commit_context);
    return pending->Commit();
  });
  if (!committed.ok()) commit_span.SetError(committed.error().message());
  uint64_t bytes = pending->bytes_written();
  if (!committed.ok()) {
    const Status& s = committed.error();
    UploadError kind = UploadError::kStoreFailure;
    if (s.code() == Code::kAlreadyExists) kind = UploadError::kExists;
    else if (s.code() == Code::kInvalidArgument) kind = UploadError::kClient;
    else if (s.code() == Code::kResourceExhausted) kind = UploadError::kStoreFull;
    if (kind == UploadError::kStoreFull) co_return UploadResult{kind, Status::ResourceExhausted("storage is full"), bytes};
    if (kind == UploadError::kStoreFailure) co_return StoreFailure(ex, s, bytes);
    co_return UploadResult{kind, s, bytes};
  }
  co_return UploadResult{UploadError::kNone, Status(), bytes};
}

awaitable<UploadResult> StoreIfAbsent(const ProtocolContext& ctx, http::Exchange& ex,
                                      core::PutOptions options, uint64_t max_bytes) {
  auto exists = co_await CacheCall(ctx, [&] { return ctx.cache.ContainsBeforeCreate(options.ns, options.key); });
  if (exists.ok() && *exists) {
    // Reading the body keeps the connection usable; clients send it anyway.
    Status drained = co_await DrainBody(ex, nullptr, max_bytes);
    if (!drained.ok()) co_return UploadResult{UploadError::kClient, drained, 0};
    co_return UploadResult{UploadError::kExists, Status::AlreadyExists("artifact exists"), 0};
  }
  options.mode = index::PutMode::kIfAbsent;
  co_return co_await StreamUpload(ctx, ex, std::move(options), max_bytes);
}

awaitable<Status> DrainBody(http::Exchange& ex, core::Verifier* verifier, uint64_t max_bytes) {
  BufferPool<std::byte>::Buffer storage = UploadBuffers().Acquire();
  std::span<std::byte> buf(storage.get(), UploadBuffers().buffer_size());
  uint64_t total = 0;
  while (true) {
    auto n = co_await ex.ReadBody(buf);
    if (!n.ok()) co_return n.error();
    if (*n == 0) break;
    total += *n;
    if (total > max_bytes) {
      ex.set_keep_alive(false);
      co_return Status::ResourceExhausted("body exceeds the limit of " + std::to_string(max_bytes) + " bytes");
    }
    if (verifier) verifier->Update(std::span<const std::byte>(buf.data(), *n));
  }
  if (verifier) co_return verifier->Finish(total);
  co_return Status();
}

awaitable<Status> ServeHit(http::Exchange& ex, core::Hit& hit, unsigned status) {
  const auto& entry = hit.entry();
  // Small blobs: one read from the page cache and one write of headers and
  // body together. sendfile after a separate header write would cost a
  // second packet per response, which dominates for small hits.
  constexpr uint64_t kSmallHitBytes = 64 * 1024;
  if (entry.size <= kSmallHitBytes && ex.method() != boost::beast::http::verb::head) {
    // Held in memory (the small-blob cache): sent from there as it is.
    std::shared_ptr<const std::string> cached = hit.bytes_in_memory();
    std::string read;
    if (!cached) {
      read.resize(entry.size);
      size_t got = 0;
      while (got < read.size()) {
        auto n = hit.reader().Read(std::as_writable_bytes(std::span(read.data() + got, read.size() - got)));
        if (!n.ok() || *n == 0) break;
        got += *n;
      }
      read.resize(got);
    }
    const std::string& body = cached ? *cached : read;
    if (body.size() != entry.size) {
      // Storage fault before anything was sent: every build-cache client
      // treats 404 as a miss and rebuilds.
      co_await RespondError(ex, 404, "not found");
      co_return Status::Corruption("blob shorter than its entry");
    }
    co_return co_await ex.Respond(status, body, entry.content_type);
  }
  if (auto raw = hit.reader().RawFile()) {
    co_return co_await ex.RespondFile(status, entry.content_type, raw->fd, raw->offset, raw->length);
  }
  auto& reader = hit.reader();
  co_return co_await ex.RespondStream(status, entry.content_type, entry.size,
                                      [&reader](std::span<std::byte> out) { return reader.Read(out); });
}

awaitable<std::unique_ptr<core::Hit>> LookupOr404(const ProtocolContext& ctx, http::Exchange& ex,
                                                   const std::string& ns, const std::string& key,
                                                   bool serve) {
  // The span covers the lookup only, not sending the hit.
  std::optional<trace::ScopedSpan> lookup_span;
  lookup_span.emplace(ex.tracer(), ex.trace_context(), "cache lookup");
  lookup_span->Set("cellar.namespace", ns);
  auto hit = co_await CacheCall(ctx, [&] { return ctx.cache.Get(ns, key); });
  lookup_span->Set("cellar.cache_result", !hit.ok() ? "error" : *hit ? "hit" : "miss");
  if (!hit.ok()) lookup_span->SetError(hit.error().message());
  lookup_span.reset();
  if (!hit.ok() || !*hit) {
    ex.set_cache_result(hit.ok() ? "miss" : "error");
    co_await RespondError(ex, 404, "not found");
    co_return nullptr;
  }
  std::unique_ptr<core::Hit> h = std::move(**hit);
  if (serve) {
    ex.set_cache_result("hit");
    co_await ServeHit(ex, *h);
  }
  co_return h;
}

awaitable<void> RespondError(http::Exchange& ex, unsigned status, std::string_view message) {
  std::string body(message);
  body += "\n";
  co_await ex.Respond(status, body, "text/plain; charset=utf-8");
}

awaitable<void> RespondAuthError(http::Exchange& ex, const Status& status) {
  if (status.code() == Code::kUnauthenticated) {
    ex.SetHeader("WWW-Authenticate", "Bearer realm=\"cellar\", Basic realm=\"cellar\"");
    co_await RespondError(ex, 401, status.message());
  } else {
    co_await RespondError(ex, 403, status.message());
  }
}

std::optional<std::string> PublicBaseUrl(const http::Exchange& ex, const std::string& public_url) {
  if (!public_url.empty()) return public_url;
  auto host = ex.Header("Host");
  if (!host || host->empty() || host->size() > 255) return std::nullopt;
  for (char c : *host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return std::nullopt;
  }
  return "http://" + std::string(*host);
}

}  // namespace cellar::protocols
