// EncodeOtlpJson: a batch of spans as the body of an OTLP/HTTP JSON export
// request (ExportTraceServiceRequest in protobuf's JSON mapping, with ids as
// lowercase hex, as the OTLP specification requires for JSON, and 64-bit
// times as decimal strings). JSON rather than protobuf: no OTLP protobuf
// code is packaged for Debian 12, and every collector accepts both.
// Thread-safety: a pure function.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "trace/span.h"

namespace cellar::trace {

struct Resource {
  std::string service_name = "cellar";
  std::vector<std::pair<std::string, std::string>> attributes;  // e.g. host.name, deployment.environment
  std::string scope_name = "cellar";
  std::string scope_version;
};

std::string EncodeOtlpJson(const Resource& resource, std::span<const SpanData> spans);

}  // namespace cellar::trace
