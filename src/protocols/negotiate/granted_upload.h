// StoreGrantedUpload: the body of a signed upload stored under its grant's
// key, bound by what the grant declared (size, SHA-256) and by the server's
// limit, first write wins. Shared by /v1/blobs/ (negotiate_adapter.h) and
// VelocityCache's /v1/proxy/blob/ (velocity_proxy_adapter.h), which differ
// only in how they word the answer.
// Thread-safety: runs on the exchange's I/O thread; the store's blocking work
// goes to the worker pool (StoreIfAbsent).
#pragma once

#include <string>

#include "auth/url_signer.h"
#include "protocols/common/protocol.h"
#include "protocols/negotiate/negotiate_request.h"

namespace cellar::negotiate {

struct GrantedUpload {
  protocols::UploadError error = protocols::UploadError::kNone;
  UploadAnswer answer;   // HTTP status and metric label
  std::string message;   // for a refusal or failure: what the client is told
  bool stored_or_exists() const {
    return error == protocols::UploadError::kNone || error == protocols::UploadError::kExists;
  }
};

// A Content-Length that differs from the declared size is refused before a
// byte is read (and the connection closed); a chunked body is cut off at the
// declared size rather than after the server's limit has been written.
boost::asio::awaitable<GrantedUpload> StoreGrantedUpload(const protocols::ProtocolContext& ctx,
                                                         http::Exchange& ex, const auth::SignedGrant& grant,
                                                         std::string content_type);

}  // namespace cellar::negotiate
