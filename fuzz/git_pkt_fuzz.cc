// git smart-HTTP request bodies: pkt-line framing, upload-pack requests
// (v0 and v2), ls-refs answers and gzip bodies. The first byte picks the
// parser.
#include <cctype>

#include "fuzz/fuzz_util.h"
#include "protocols/git/git_request.h"

using namespace cellar;
using namespace cellar::git;

namespace {

bool EqualsIgnoringHexCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (fuzz::Mode(data[0], 5)) {
    case 0: {
      // Framing is lossless: the lines encode back to the buffer (the
      // length prefixes may have been written in upper-case hex).
      auto lines = ParsePktLines(in);
      if (!lines.ok()) return 0;
      std::string out;
      for (const auto& l : *lines) {
        switch (l.kind) {
          case PktLine::kData: out += EncodePktLine(l.payload); break;
          case PktLine::kFlush: out += "0000"; break;
          case PktLine::kDelim: out += "0001"; break;
          case PktLine::kResponseEnd: out += "0002"; break;
        }
      }
      FUZZ_CHECK(EqualsIgnoringHexCase(out, in));
      break;
    }
    case 1:
    case 2: {
      const bool v2 = fuzz::Mode(data[0], 5) == 2;
      auto req = ParseUploadRequest(in, v2);
      if (!req.ok()) return 0;
      for (const auto& w : req->wants) FUZZ_CHECK(IsObjectId(w));
      FUZZ_CHECK(!req->command.empty());
      break;
    }
    case 3:
      for (const auto& oid : OidsInLsRefs(in)) FUZZ_CHECK(IsObjectId(oid));
      break;
    case 4: {
      constexpr size_t kMax = 1 << 20;
      auto body = Gunzip(in, kMax);
      if (body.ok()) FUZZ_CHECK(body->size() <= kMax);
      break;
    }
  }
  return 0;
}
