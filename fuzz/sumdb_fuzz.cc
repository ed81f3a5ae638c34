// Checksum-database inputs: /sumdb/ request paths, the --go-sumdb list and
// the go.sum lines of a lookup answer. The first byte picks the parser.
#include "fuzz/fuzz_util.h"
#include "protocols/goproxy/checksum_db.h"
#include "protocols/goproxy/go_path.h"

using namespace cellar;
using namespace cellar::goproxy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (fuzz::Mode(data[0], 3)) {
    case 0: {
      auto req = ParseSumdbPath(in);
      if (!req) return 0;
      FUZZ_CHECK(!req->name.empty() && req->name.find('/') == std::string::npos);
      FUZZ_CHECK(req->name != "." && req->name != "..");
      FUZZ_CHECK(in == req->name + "/" + req->tail);
      FUZZ_CHECK(fuzz::HasNoDotSegments(req->tail));
      FUZZ_CHECK(req->tail.find("//") == std::string::npos && !req->tail.ends_with("/"));
      if (req->file == SumdbFile::kLookup) {
        FUZZ_CHECK(IsValidEscapedModule(req->module) && IsValidEscapedVersion(req->version));
        FUZZ_CHECK(req->tail == "lookup/" + req->module + "@" + req->version);
      }
      if (req->file == SumdbFile::kTile) FUZZ_CHECK(req->tile_height <= 99);
      break;
    }
    case 1: {
      auto list = ParseSumdbList(in);
      if (!list.ok()) return 0;
      for (const auto& db : *list) {
        FUZZ_CHECK(!db.name.empty() && db.name.find('/') == std::string::npos);
        const bool http = db.base_url.starts_with("http://");
        const bool https = db.base_url.starts_with("https://");
        FUZZ_CHECK(http || https);
        // A URL is a scheme and a host at least, without a trailing slash.
        FUZZ_CHECK(db.base_url.size() > (http ? 7u : 8u) && !db.base_url.ends_with("/"));
      }
      break;
    }
    case 2: {
      auto sums = ParseLookupRecord(in, "golang.org/x/text", "v0.3.0");
      if (!sums.ok()) return 0;
      FUZZ_CHECK(!sums->zip_h1.empty() && !sums->mod_h1.empty());
      FUZZ_CHECK(sums->zip_h1.find('\n') == std::string::npos && sums->mod_h1.find('\n') == std::string::npos);
      break;
    }
  }
  return 0;
}
