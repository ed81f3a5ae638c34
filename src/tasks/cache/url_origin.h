// The origin (scheme, host, port) of an absolute http(s) URL: the remote
// cache sends its token to the cellar server only, so every request compares
// the origin of its URL with the configured server's before adding the
// Authorization header. A signed URL that points at another host (an object
// store, or a redirect) therefore never sees the token.
// Thread-safety: pure functions and values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellar::taskcache {

struct UrlOrigin {
  std::string scheme;  // "http" or "https", lowercase
  std::string host;    // lowercase; IPv6 literals keep their brackets
  uint16_t port = 0;   // explicit, or 80/443 by scheme
  bool operator==(const UrlOrigin&) const = default;
};

// nullopt for anything but an absolute http:// or https:// URL with a host.
std::optional<UrlOrigin> ParseOrigin(std::string_view url);

// True when both parse and their origins are equal.
bool SameOrigin(std::string_view a, std::string_view b);

// The URL without user info and query: signed URLs carry their signature in
// the query, and messages must not hand it out.
std::string UrlForMessages(std::string_view url);

}  // namespace cellar::taskcache
