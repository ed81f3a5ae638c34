#include "store/s3/s3_config.h"

#include <cstdlib>

namespace cellar::s3 {

std::string S3Config::Describe() const {
  return "s3 " + endpoint + " bucket=" + bucket + (prefix.empty() ? "" : " prefix=" + prefix) +
         " region=" + region + (addressing == Addressing::kPath ? " path-style" : " virtual-host");
}

void ApplyEnvironment(S3Config& config, const std::function<const char*(const char*)>& getenv) {
  auto set = [&](const char* name, std::string& field) {
    const char* v = getenv(name);
    if (v != nullptr && *v != '\0') field = v;
  };
  set("AWS_ENDPOINT_URL", config.endpoint);
  set("AWS_DEFAULT_REGION", config.region);
  set("AWS_REGION", config.region);  // wins over AWS_DEFAULT_REGION
  set("AWS_ACCESS_KEY_ID", config.credentials.access_key_id);
  set("AWS_SECRET_ACCESS_KEY", config.credentials.secret_access_key);
  set("AWS_SESSION_TOKEN", config.credentials.session_token);
}

namespace {

struct Endpoint {
  std::string scheme;
  std::string host;  // with port when given
};

Result<Endpoint> ParseEndpoint(std::string_view endpoint) {
  const size_t sep = endpoint.find("://");
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("S3 endpoint '" + std::string(endpoint) +
                                   "' is not scheme://host[:port]");
  }
  Endpoint out{std::string(endpoint.substr(0, sep)), std::string(endpoint.substr(sep + 3))};
  while (!out.host.empty() && out.host.back() == '/') out.host.pop_back();
  if ((out.scheme != "http" && out.scheme != "https") || out.host.empty() ||
      out.host.find_first_of("/?#@ ") != std::string::npos) {
    return Status::InvalidArgument("S3 endpoint '" + std::string(endpoint) +
                                   "' must be http(s)://host[:port] with no path");
  }
  // Host headers leave out the scheme's default port; signatures must match.
  const std::string default_port = out.scheme == "https" ? ":443" : ":80";
  if (out.host.size() > default_port.size() &&
      out.host.compare(out.host.size() - default_port.size(), default_port.size(),
                       default_port) == 0) {
    out.host.resize(out.host.size() - default_port.size());
  }
  return out;
}

}  // namespace

Status Validate(const S3Config& config) {
  if (config.endpoint.empty()) return Status::InvalidArgument("S3 endpoint is not set");
  if (Result<Endpoint> e = ParseEndpoint(config.endpoint); !e.ok()) return e.error();
  if (config.bucket.empty()) return Status::InvalidArgument("S3 bucket is not set");
  if (config.bucket.find_first_of("/?# ") != std::string::npos) {
    return Status::InvalidArgument("S3 bucket '" + config.bucket + "' is not a bucket name");
  }
  if (config.region.empty()) return Status::InvalidArgument("S3 region is not set");
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "S3 credentials are not set (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  }
  return Status::Ok();
}

Result<ObjectUrl> UrlFor(const S3Config& config, std::string_view key) {
  CELLAR_ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(config.endpoint));
  ObjectUrl url;
  url.scheme = e.scheme;
  if (config.addressing == Addressing::kPath) {
    url.host = e.host;
    url.encoded_path = "/" + UriEncode(config.bucket, false);
    if (!key.empty()) url.encoded_path += "/" + UriEncode(key, true);
  } else {
    url.host = config.bucket + "." + e.host;
    url.encoded_path = "/" + UriEncode(key, true);
  }
  return url;
}

Result<std::string> PresignUrl(const S3Config& config, std::string_view method,
                               std::string_view key, int64_t unix_seconds,
                               std::chrono::seconds expires,
                               std::vector<std::pair<std::string, std::string>> signed_headers) {
  if (expires.count() < 1 || expires.count() > 7 * 24 * 3600) {
    return Status::InvalidArgument("presigned URL lifetime must be 1 s to 7 days");
  }
  CELLAR_ASSIGN_OR_RETURN(ObjectUrl url, UrlFor(config, key));
  PresignInput in;
  in.method = std::string(method);
  in.scheme = url.scheme;
  in.host = url.host;
  in.encoded_path = url.encoded_path;
  in.region = config.region;
  in.credentials = config.credentials;
  in.unix_seconds = unix_seconds;
  in.expires = expires;
  in.signed_headers = std::move(signed_headers);
  return Presign(in);
}

std::string KeyPrefix(std::string prefix) {
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(prefix.begin());
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix.empty() ? "" : prefix + "/";
}

}  // namespace cellar::s3
