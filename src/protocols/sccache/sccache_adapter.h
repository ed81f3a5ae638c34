// sccache remote cache over WebDAV under /sccache/: the subset OpenDAL's
// WebDAV service uses (shared docs, protocols-build-cache.md section 6).
// Objects are opaque and overwritable (sccache rewrites its .sccache_check
// probe at every start); directories are implied by keys, so every
// collection exists and MKCOL only acknowledges.
//   PROPFIND  207 (file or collection) or 404
//   MKCOL     201
//   PUT       201 new, 204 replaced
//   GET/HEAD  200 or 404 (storage faults read as misses)
//   DELETE    204 or 404
//   OPTIONS   200 with DAV: 1
#pragma once

#include "protocols/common/protocol.h"

namespace cellar::sccache {

class SccacheAdapter : public protocols::ProtocolAdapter {
 public:
  explicit SccacheAdapter(protocols::ProtocolContext ctx) : ctx_(ctx) {}
  std::string_view Name() const override { return "sccache"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> Propfind(http::Exchange& ex, const std::string& key);
  protocols::ProtocolContext ctx_;
};

}  // namespace cellar::sccache
