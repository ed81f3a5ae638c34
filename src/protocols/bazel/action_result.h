// Minimal reader for REAPI ActionResult protobufs, enough to validate an AC
// upload and to list the CAS blobs an action result refers to. Bazel 7+
// ("builds without the bytes") fails a build when an AC hit points at CAS
// blobs that were evicted, so AC reads are answered only when every
// referenced blob is present (bazel-remote's "validated AC").
// Field numbers follow build/bazel/remote/execution/v2/remote_execution.proto.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cellar::bazel {

struct CasRef {
  std::string hash;  // 64 lowercase hex
  int64_t size_bytes = 0;
};

// Parses `bytes` as an ActionResult. kInvalidArgument when it is not a
// well-formed one (bad wire format, wrong wire type for a known field, a
// digest that is not 64 lowercase hex). On success, fills `refs` with the
// CAS digests of output files, output directory trees, stdout and stderr.
Status ParseActionResult(std::string_view bytes, std::vector<CasRef>* refs);

}  // namespace cellar::bazel
