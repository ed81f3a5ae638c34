#include "store/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "base/digest.h"
#include "hash/sha256.h"

namespace cellar::s3 {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string HexOf(std::string_view raw) {
  return ToHex(std::span(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string AmzDate(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Sha256Hex(std::string_view data) {
  const std::array<uint8_t, hash::kSha256OutLen> out = hash::Sha256(std::as_bytes(std::span(data.data(), data.size())));
  return HexOf(std::string_view(reinterpret_cast<const char*>(out.data()), out.size()));
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

std::string Presign(const PresignInput& in) {
  const std::string amz_date = AmzDate(in.unix_seconds);
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = date + "/" + in.region + "/s3/aws4_request";

  // Canonical headers: host plus the caller's, lower-case, sorted by name.
  std::vector<std::pair<std::string, std::string>> headers = in.signed_headers;
  headers.emplace_back("host", in.host);
  std::sort(headers.begin(), headers.end());
  std::string canonical_headers, signed_names;
  // A signed x-amz-content-sha256 is also the canonical payload hash: the
  // server then hashes the body and refuses one that does not match.
  std::string payload_hash = "UNSIGNED-PAYLOAD";
  for (const auto& [name, value] : headers) {
    if (name == "x-amz-content-sha256") payload_hash = value;
    canonical_headers += name + ":" + value + "\n";
    if (!signed_names.empty()) signed_names += ';';
    signed_names += name;
  }

  std::vector<std::pair<std::string, std::string>> query = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", in.credentials.access_key_id + "/" + scope},
      {"X-Amz-Date", amz_date},
      {"X-Amz-Expires", std::to_string(in.expires.count())},
      {"X-Amz-SignedHeaders", signed_names},
  };
  if (!in.credentials.session_token.empty()) {
    query.emplace_back("X-Amz-Security-Token", in.credentials.session_token);
  }
  for (auto& [k, v] : query) {
    k = UriEncode(k, false);
    v = UriEncode(v, false);
  }
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [k, v] : query) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += k + "=" + v;
  }

  const std::string canonical_request = in.method + "\n" + in.encoded_path + "\n" +
                                        canonical_query + "\n" + canonical_headers + "\n" +
                                        signed_names + "\n" + payload_hash;
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + Sha256Hex(canonical_request);
  const std::string signature = HexOf(HmacSha256(
      SigningKey(in.credentials.secret_access_key, date, in.region, "s3"), string_to_sign));
  return in.scheme + "://" + in.host + in.encoded_path + "?" + canonical_query +
         "&X-Amz-Signature=" + signature;
}

}  // namespace cellar::s3
