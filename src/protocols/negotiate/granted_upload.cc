#include "protocols/negotiate/granted_upload.h"

#include <algorithm>

#include "protocols/negotiate/declared_content_verifier.h"

namespace cellar::negotiate {

using boost::asio::awaitable;
using protocols::UploadError;

awaitable<GrantedUpload> StoreGrantedUpload(const protocols::ProtocolContext& ctx, http::Exchange& ex,
                                            const auth::SignedGrant& grant, std::string content_type) {
  GrantedUpload out;
  if (auto len = ex.content_length(); len && grant.size && *len != *grant.size) {
    ex.set_keep_alive(false);  // do not read a body we refuse
    out.error = UploadError::kClient;
    out.answer = {400, "refused"};
    out.message = "Content-Length " + std::to_string(*len) + " differs from the declared size " +
                  std::to_string(*grant.size);
    co_return out;
  }
  core::PutOptions options;
  options.ns = grant.ns;
  options.key = grant.key;
  options.content_type = std::move(content_type);
  options.attributes = EntryAttributes(grant.duration_ms);
  options.verifier = std::make_unique<DeclaredContentVerifier>(grant);
  const uint64_t limit = grant.size ? std::min(*grant.size, ctx.max_entry_bytes) : ctx.max_entry_bytes;
  auto result = co_await protocols::StoreIfAbsent(ctx, ex, std::move(options), limit);
  const bool declared_below_limit = grant.size && *grant.size < ctx.max_entry_bytes;
  out.error = result.error;
  out.answer = UploadAnswerFor(result, declared_below_limit);
  switch (result.error) {
    case UploadError::kNone:
    case UploadError::kExists: break;
    case UploadError::kClient: out.message = "upload refused, nothing stored: " + result.status.message(); break;
    case UploadError::kTooLarge:
      out.message = declared_below_limit ? "upload refused, nothing stored: body is longer than the declared size " +
                                               std::to_string(*grant.size)
                                         : result.status.message();
      break;
    case UploadError::kStoreFull: out.message = result.status.message(); break;
    case UploadError::kStoreFailure: out.message = "storage failure: " + result.status.message(); break;
  }
  co_return out;
}

}  // namespace cellar::negotiate
