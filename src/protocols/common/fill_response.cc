#include "protocols/common/fill_response.h"

#include "http/offload.h"

namespace cellar::protocols {

namespace asio = boost::asio;
using asio::awaitable;

namespace {
// Sends `size` bytes read from `r`. Reads block on the fill, so they run on
// the upstream pool. The source is a named local holding a raw pointer: GCC
// 12 destroys temporaries in a co_await expression twice, so nothing owning
// may be captured by a temporary there.
awaitable<Status> StreamFromReader(http::Exchange& ex, const ProtocolContext& ctx, core::FillReader* r,
                                   const std::string& content_type, uint64_t size) {
  auto& pool = ctx.upstream_pool();
  http::Exchange::AsyncSource source = [r, &pool](std::span<std::byte> out) -> awaitable<Result<size_t>> {
    co_return co_await http::RunBlocking(pool, [r, out] { return r->Read(out); });
  };
  co_await ex.RespondAsyncStream(200, content_type, size, std::move(source));
  co_return Status();
}
}  // namespace

awaitable<Status> SendFromFill(http::Exchange& ex, const ProtocolContext& ctx,
                               std::unique_ptr<core::FillReader> reader, const FillResponse& how) {
  ex.set_cache_result(reader->from_cache() ? "hit" : "fill");
  auto size = reader->size();
  if (!size || *size <= how.stream_threshold_bytes) {
    core::FillReader* r = reader.get();
    Status end = co_await http::RunBlocking(ctx.upstream_pool(), [r] { return r->WaitForEnd(); });
    if (!end.ok()) co_return end;
    size = r->size();
    if (!r->stored()) {
      // The store could not keep it: the verified bytes are in the fill's
      // spool only, so they go to the client from there.
      ex.set_cache_result("uncached");
      co_return co_await StreamFromReader(ex, ctx, r, how.content_type, *size);
    }
    reader.reset();
    auto hit = co_await CacheCall(ctx, [&] { return ctx.cache.Get(how.ns, how.key); });
    if (!hit.ok() || !*hit) {
      co_return Status::Unavailable("stored " + how.key + " vanished before it could be sent; retry");
    }
    if (how.decorate) how.decorate(ex, (**hit)->entry());
    co_await ServeHit(ex, ***hit);
    co_return Status();
  }
  // Large: stream while the fill runs.
  co_return co_await StreamFromReader(ex, ctx, reader.get(), how.content_type, *size);
}

}  // namespace cellar::protocols
