// GOPROXY request paths (the part after "/go/"): an accepted path names a
// valid escaped module and version, and the upstream path is the request.
#include <algorithm>

#include "fuzz/fuzz_util.h"
#include "protocols/goproxy/go_path.h"

using namespace cellar;
using namespace cellar::goproxy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::AsView(data, size);
  (void)IsCanonicalVersion(in);
  auto req = ParseGoPath(in);
  if (!req) return 0;
  FUZZ_CHECK(IsValidEscapedModule(req->module));
  FUZZ_CHECK(fuzz::HasNoDotSegments(req->module));
  FUZZ_CHECK(req->upstream_path == in);
  switch (req->kind) {
    case GoFileKind::kLatest:
      FUZZ_CHECK(req->version.empty() && in == req->module + "/@latest");
      break;
    case GoFileKind::kList:
      FUZZ_CHECK(req->version.empty() && in == req->module + "/@v/list");
      break;
    case GoFileKind::kInfo:
      FUZZ_CHECK(IsValidEscapedVersion(req->version));
      FUZZ_CHECK(in == req->module + "/@v/" + req->version + ".info");
      break;
    case GoFileKind::kMod:
    case GoFileKind::kZip:
      FUZZ_CHECK(IsValidEscapedVersion(req->version) && IsCanonicalVersion(req->version));
      FUZZ_CHECK(in == req->module + "/@v/" + req->version + (req->kind == GoFileKind::kMod ? ".mod" : ".zip"));
      break;
  }
  // Every '!' of a valid escaped path escapes the letter after it.
  std::string plain = UnescapeGoPath(req->module);
  FUZZ_CHECK(plain.find('!') == std::string::npos);
  FUZZ_CHECK(plain.size() == req->module.size() - std::count(req->module.begin(), req->module.end(), '!'));
  return 0;
}
