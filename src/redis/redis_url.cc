#include "redis/redis_url.h"

#include <charconv>

namespace cellar::redis {
namespace {

bool ParseInt(std::string_view text, int min, int max, int& out) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return false;
  out = value;
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

Status Invalid(std::string why) { return Status::InvalidArgument("invalid --redis-url: " + std::move(why)); }

}  // namespace

std::string RedisUrl::Display() const {
  if (!socket_path.empty()) return "unix://" + socket_path + (db != 0 ? "?db=" + std::to_string(db) : "");
  std::string out = "redis://";
  if (!user.empty()) out += user + "@";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port) + "/" + std::to_string(db);
  return out;
}

Result<RedisUrl> ParseRedisUrl(std::string_view url) {
  RedisUrl out;
  if (url.starts_with("unix://")) {
    std::string_view rest = url.substr(7);
    if (size_t q = rest.find('?'); q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      rest = rest.substr(0, q);
      if (!query.starts_with("db=") || !ParseInt(query.substr(3), 0, 1'000'000, out.db)) {
        return Invalid("a unix:// URL takes only ?db=N");
      }
    }
    if (!rest.starts_with("/")) return Invalid("a unix:// URL needs an absolute socket path");
    out.socket_path = std::string(rest);
    return out;
  }
  if (url.starts_with("rediss://")) {
    // Debian 12's hiredis (0.14) has no TLS: say what to do instead.
    return Invalid("rediss:// (TLS) is not supported by this build; reach a TLS Redis through a local "
                   "TLS tunnel (e.g. stunnel) and give its redis:// or unix:// address");
  }
  if (!url.starts_with("redis://")) return Invalid("it must start with redis:// or unix://");
  std::string_view rest = url.substr(8);
  // Credentials end at the last '@' before the path: a password may hold '@'
  // only percent-encoded, but be lenient about it.
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    std::string_view password = colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
    if (colon == std::string_view::npos) {
      // redis://secret@host is how several clients spell a password alone.
      password = user;
      user = {};
    }
    if (!PercentDecode(user, out.user)) return Invalid("bad percent-encoding in the user name");
    if (!PercentDecode(password, out.password)) return Invalid("bad percent-encoding in the password");
  }
  std::string_view port;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid("unclosed [ in the host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(":")) return Invalid("unexpected text after the host");
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return Invalid("no host");
  if (!port.empty() && !ParseInt(port, 1, 65535, out.port)) return Invalid("the port must be 1 to 65535");
  if (!path.empty() && !ParseInt(path, 0, 1'000'000, out.db)) return Invalid("the path must be a database number");
  return out;
}

}  // namespace cellar::redis
