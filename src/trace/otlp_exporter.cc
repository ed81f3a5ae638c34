#include "trace/otlp_exporter.h"

namespace cellar::trace {

std::string OtlpTracesUrl(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.ends_with("/v1/traces")) return endpoint;
  return endpoint + "/v1/traces";
}

OtlpHttpExporter::OtlpHttpExporter(env::HttpClient& client, std::string traces_url, Resource resource)
    : client_(client), url_(std::move(traces_url)), resource_(std::move(resource)) {}

Status OtlpHttpExporter::Export(std::span<const SpanData> spans) {
  env::HttpRequest request;
  request.method = "POST";
  request.url = url_;
  request.headers = {{"Content-Type", "application/json"}};
  request.connect_timeout = std::chrono::milliseconds(2'000);
  request.idle_timeout = std::chrono::milliseconds(5'000);
  request.follow_redirects = false;
  request.body = EncodeOtlpJson(resource_, spans);
  auto response = client_.Send(request);
  if (!response.ok()) return response.error().WithContext("OTLP export to " + env::RedactUrl(url_));
  (void)env::ReadAll(**response, 64 * 1024);  // the answer's body: a partial-success note at most
  const int status = (*response)->head().status;
  if (status < 200 || status > 299) {
    return Status::Unavailable("OTLP export to " + env::RedactUrl(url_) + ": HTTP " + std::to_string(status));
  }
  return Status();
}

}  // namespace cellar::trace
