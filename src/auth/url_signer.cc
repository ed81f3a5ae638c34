#include "auth/url_signer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <optional>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/digest.h"
#include "base/strings.h"

namespace cellar::auth {

namespace {
// Values in the query are [A-Za-z0-9._-/] (namespaces and keys are validated
// by the adapters before signing); anything else is percent-encoded.
std::string Encode(std::string_view v) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> Decode(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') {
      out += v[i];
      continue;
    }
    if (i + 2 >= v.size()) return std::nullopt;
    int value = 0;
    auto [end, ec] = std::from_chars(v.data() + i + 1, v.data() + i + 3, value, 16);
    if (ec != std::errc() || end != v.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}
}  // namespace

UrlSigner::UrlSigner(std::string key) : key_(std::move(key)) {}

std::string UrlSigner::Signature(const SignedGrant& g) const {
  std::string canonical = "cellar-signed-url-v1\n" + g.method + "\n" + g.ns + "\n" + g.key + "\n" +
                          std::to_string(g.expires_unix_s) + "\n" +
                          (g.size ? std::to_string(*g.size) : std::string("-")) + "\n" +
                          g.sha256.value_or("-");
  // Appended only when present, so URLs signed without one keep their form.
  if (g.duration_ms) canonical += "\nduration=" + std::to_string(*g.duration_ms);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), mac, &mac_len);
  return ToHex(std::span<const uint8_t>(mac, mac_len));
}

std::string UrlSigner::SignQuery(const SignedGrant& g) const {
  std::string q = "method=" + g.method + "&ns=" + Encode(g.ns) + "&expires=" + std::to_string(g.expires_unix_s);
  if (g.size) q += "&size=" + std::to_string(*g.size);
  if (g.sha256) q += "&sha256=" + *g.sha256;
  if (g.duration_ms) q += "&duration=" + std::to_string(*g.duration_ms);
  q += "&sig=" + Signature(g);
  return q;
}

Result<SignedGrant> UrlSigner::Verify(std::string_view query, std::string_view method, std::string_view ns,
                                      std::string_view key, int64_t now_unix_s) const {
  SignedGrant g;
  g.key = std::string(key);
  std::string sig;
  bool have_method = false, have_ns = false, have_expires = false;
  for (auto pair : SplitView(query, '&')) {
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = pair.substr(0, eq);
    auto value = Decode(pair.substr(eq + 1));
    if (!value) return Status::PermissionDenied("malformed signed URL");
    if (name == "method") g.method = *value, have_method = true;
    else if (name == "ns") g.ns = *value, have_ns = true;
    else if (name == "expires") {
      if (!ParseNumber(*value, g.expires_unix_s)) return Status::PermissionDenied("malformed signed URL");
      have_expires = true;
    } else if (name == "size") {
      uint64_t size = 0;
      if (!ParseNumber(*value, size)) return Status::PermissionDenied("malformed signed URL");
      g.size = size;
    } else if (name == "duration") {
      uint64_t ms = 0;
      if (!ParseNumber(*value, ms)) return Status::PermissionDenied("malformed signed URL");
      g.duration_ms = ms;
    } else if (name == "sha256") g.sha256 = *value;
    else if (name == "sig") sig = *value;
  }
  if (!have_method || !have_ns || !have_expires || sig.empty()) {
    return Status::PermissionDenied("not a signed URL (method, ns, expires and sig are required)");
  }
  std::string expected = Signature(g);
  if (sig.size() != expected.size() || CRYPTO_memcmp(sig.data(), expected.data(), sig.size()) != 0) {
    return Status::PermissionDenied("signed URL signature does not match");
  }
  if (g.method != method) return Status::PermissionDenied("signed URL is for " + g.method + ", not " + std::string(method));
  if (g.ns != ns) return Status::PermissionDenied("signed URL is for another namespace");
  if (now_unix_s > g.expires_unix_s) return Status::PermissionDenied("signed URL expired");
  return g;
}

namespace {
// The key in `path`, nullopt when the file does not exist; any other failure
// is an error, never a reason to make a new key.
Result<std::optional<std::string>> ReadSigningKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::FromErrno(errno, "open " + path);
  }
  std::string key;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && key.size() < 4096) key.append(buf, static_cast<size_t>(n));
  const int err = errno;
  ::close(fd);
  if (n < 0) return Status::FromErrno(err, "read " + path);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.size() < 16) return Status::InvalidArgument("signing key in " + path + " is shorter than 16 bytes");
  return std::optional<std::string>(std::move(key));
}
}  // namespace

Result<std::string> LoadOrCreateSigningKey(const std::string& path) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<std::string> existing, ReadSigningKey(path));
  if (existing) return *existing;
  std::vector<uint8_t> raw(32);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return Status::Internal("no randomness for a signing key");
  std::string key = ToHex(raw);
  static std::atomic<uint64_t> attempt{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(attempt++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  std::string line = key + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  const int write_err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return Status::FromErrno(write_err, "write " + tmp);
  }
  // link(2), not rename(2): of two processes creating the key at once, the
  // second finds the first's key instead of replacing it.
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_err = errno;
  ::unlink(tmp.c_str());
  if (linked == 0) return key;
  if (link_err != EEXIST) return Status::FromErrno(link_err, "create " + path);
  CELLAR_ASSIGN_OR_RETURN(existing, ReadSigningKey(path));
  if (!existing) return Status::Unavailable(path + " vanished while it was created");
  return *existing;
}

}  // namespace cellar::auth
