// S3Config: where cellar's objects live (endpoint, bucket, key prefix,
// region, addressing style) and the credentials to reach them, plus the
// mapping from an object key to the URL that names it. Used by the S3 client,
// the presigner and S3BlobStore. See docs/s3.md.
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/s3/sigv4.h"

namespace cellar::s3 {

enum class Addressing {
  kPath,         // http://endpoint/bucket/key: RGW, MinIO, any IP endpoint
  kVirtualHost,  // http://bucket.endpoint/key: AWS's default
};

struct S3Config {
  std::string endpoint;  // scheme://host[:port], e.g. http://127.0.0.1:7480
  std::string bucket;
  std::string prefix;    // prepended to every key cellar writes ("" or "team/cache")
  std::string region = "us-east-1";
  Addressing addressing = Addressing::kPath;
  Credentials credentials;

  // "s3 http://127.0.0.1:7480 bucket=b prefix=p region=r path-style": for
  // logs and errors; never includes credentials.
  std::string Describe() const;
};

// Fills what the environment provides, the way AWS tools read it:
// AWS_ENDPOINT_URL, AWS_REGION (else AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN. `getenv` is injectable for tests.
void ApplyEnvironment(S3Config& config,
                      const std::function<const char*(const char*)>& getenv = ::getenv);

// kInvalidArgument naming the missing or malformed setting (never a secret).
Status Validate(const S3Config& config);

// The parts of an object's URL that signing needs.
struct ObjectUrl {
  std::string scheme;        // http or https
  std::string host;          // Host header value, with a port when not the default
  std::string encoded_path;  // "/bucket/key" (path-style) or "/key", percent-encoded

  std::string Full() const { return scheme + "://" + host + encoded_path; }
};

// URL of `key` (bucket-relative, the prefix NOT added here); "" names the
// bucket itself. kInvalidArgument for an endpoint that is not scheme://host.
Result<ObjectUrl> UrlFor(const S3Config& config, std::string_view key);

// A presigned URL for `method` on `key`, valid for `expires` from
// `unix_seconds`. `signed_headers` (lower-case) must then be sent verbatim.
Result<std::string> PresignUrl(const S3Config& config, std::string_view method,
                               std::string_view key, int64_t unix_seconds,
                               std::chrono::seconds expires,
                               std::vector<std::pair<std::string, std::string>> signed_headers = {});

// `prefix` as keys start with it: "" or "team/cache/" (slashes at either
// end trimmed, one added).
std::string KeyPrefix(std::string prefix);

}  // namespace cellar::s3
