// The small piece of WebDAV (RFC 4918) that OpenDAL's WebDAV client, and so
// sccache, needs: PROPFIND answers as a minimal DAV:multistatus document.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellar::sccache {

struct DavResource {
  std::string href;                  // absolute path as the client sent it
  bool collection = false;
  std::optional<uint64_t> size;      // files only
  int64_t modified_unix_ms = 0;
  std::string content_type;          // files only
};

// One-resource 207 body: href, resourcetype, getcontentlength,
// getlastmodified (RFC 1123) and getcontenttype, status 200.
std::string MultiStatusXml(const DavResource& resource);

// "Mon, 30 Nov 2026 09:00:00 GMT"
std::string HttpDate(int64_t unix_ms);


}  // namespace cellar::sccache
