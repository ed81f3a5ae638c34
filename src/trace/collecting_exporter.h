// CollectingExporter: a SpanExporter for tests that appends every exported
// span to a vector the test owns (read it after Tracer::Flush()).
// Thread-safety: Export runs on the tracer's thread only; read the vector
// after Flush().
#pragma once

#include <span>
#include <vector>

#include "trace/tracer.h"

namespace cellar::trace {

class CollectingExporter : public SpanExporter {
 public:
  explicit CollectingExporter(std::vector<SpanData>& out) : out_(out) {}
  Status Export(std::span<const SpanData> spans) override {
    out_.insert(out_.end(), spans.begin(), spans.end());
    return Status();
  }

 private:
  std::vector<SpanData>& out_;
};

}  // namespace cellar::trace
