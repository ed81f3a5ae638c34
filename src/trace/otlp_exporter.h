// OtlpHttpExporter: sends span batches to an OpenTelemetry collector over
// OTLP/HTTP with the JSON encoding (POST <endpoint>, application/json).
// Runs on the tracer's thread only, so its network waits never touch a
// request; short timeouts keep a dead collector from holding the queue long.
// Thread-safety: Export() from one thread at a time (the tracer's).
#pragma once

#include <string>

#include "env/http_client.h"
#include "trace/otlp_json.h"
#include "trace/tracer.h"

namespace cellar::trace {

// "http://collector:4318" -> "http://collector:4318/v1/traces"; a URL that
// already ends in /v1/traces is kept (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT's
// form).
std::string OtlpTracesUrl(std::string endpoint);

class OtlpHttpExporter : public SpanExporter {
 public:
  // `client` must outlive the exporter.
  OtlpHttpExporter(env::HttpClient& client, std::string traces_url, Resource resource);
  Status Export(std::span<const SpanData> spans) override;

 private:
  env::HttpClient& client_;
  const std::string url_;
  const Resource resource_;
};

}  // namespace cellar::trace
