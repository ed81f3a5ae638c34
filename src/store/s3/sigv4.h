// AWS Signature Version 4 for S3: the pieces shared by header signing and
// query-string presigning, and the presigner itself. libcurl signs request
// headers (CURLOPT_AWS_SIGV4) but cannot produce a presigned URL, so
// presigning is written here with OpenSSL's HMAC-SHA256. The algorithm is
// described in docs/s3.md.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cellar::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
// (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes %XX (upper-case hex).
// With keep_slash, '/' also stays (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);

// "20261201T123045Z" for a Unix time in seconds (UTC).
std::string AmzDate(int64_t unix_seconds);

// HMAC-SHA256 and SHA-256 as raw bytes / lowercase hex.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Sha256Hex(std::string_view data);

// kSecret -> signing key for (date "YYYYMMDD", region, service).
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

struct PresignInput {
  std::string method;        // GET, PUT, HEAD
  std::string scheme;        // http or https
  std::string host;          // as sent in Host: "bucket.s3.amazonaws.com", "127.0.0.1:7480"
  std::string encoded_path;  // already UriEncode()d, starts with '/'
  std::string region;
  Credentials credentials;
  int64_t unix_seconds = 0;  // signing time
  std::chrono::seconds expires{900};  // 1 s .. 7 days
  // Headers the URL's user must send verbatim (lower-case names), e.g.
  // content-length to pin an upload's size or if-none-match: * for
  // create-only PUTs. "host" is always signed and must not be listed.
  std::vector<std::pair<std::string, std::string>> signed_headers;
};

// Returns the full presigned URL (scheme://host/path?X-Amz-...). The payload
// is UNSIGNED-PAYLOAD (the URL does not fix the body's bytes) unless
// x-amz-content-sha256 is among signed_headers: its value is then the signed
// payload hash, and the server refuses a body with another SHA-256.
std::string Presign(const PresignInput& in);

}  // namespace cellar::s3
