// sccache remote cache over WebDAV under /sccache/: the subset OpenDAL's
// WebDAV service uses (docs/protocols/sccache.md sections 4-6).
// /sccache/~<team>/ is the root of the team's own namespace (see
// ParseDavPath).
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

#include <string>
#include <string_view>

#include "protocols/common/protocol.h"

namespace cellar::sccache {

// Where a WebDAV request path points.
struct DavPath {
  std::string ns;           // "sccache", or "sccache/<team>" under /sccache/~<team>/
  std::string key;          // path inside the namespace, no trailing '/'; "" = its root
  bool collection = false;  // the root or a path ending in '/'
};

// Parses the path after "/sccache" ("" or "/..."). A first segment
// "~<team>" (1..100 characters of [A-Za-z0-9._-]) selects the team's
// namespace: keys are free-form paths, so only a character no key may
// contain can mark a team without taking over existing keys, and OpenDAL
// never percent-encodes '~'. The rest is up to 16 segments of
// [A-Za-z0-9._-], none "." or "..". kInvalidArgument with the reason
// otherwise.
Result<DavPath> ParseDavPath(std::string_view rest);

class SccacheAdapter : public protocols::ProtocolAdapter {
 public:
  explicit SccacheAdapter(protocols::ProtocolContext ctx) : ctx_(ctx) {}
  std::string_view Name() const override { return "sccache"; }
  void RegisterRoutes(http::Router& router) override;

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> Propfind(http::Exchange& ex, const DavPath& path);
  protocols::ProtocolContext ctx_;
};

}  // namespace cellar::sccache
