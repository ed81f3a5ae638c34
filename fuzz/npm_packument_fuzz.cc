// npm packuments from the upstream registry: the streaming tarball-URL
// rewriter (its output must not depend on how the document arrives in
// chunks) and the dist index read with a SAX parser and stored as text.
// Input: one byte of chunk-size seed, then the document.
#include <sstream>

#include "fuzz/fuzz_util.h"
#include "protocols/npm/packument.h"

using namespace cellar;
using namespace cellar::npm;

namespace {

constexpr char kFrom[] = "https://registry.npmjs.org/";
constexpr char kTo[] = "http://cellar.test/npm/";

bool Clean(const std::string& s) { return s.find_first_of("\t\n") == std::string::npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const unsigned seed = data[0];
  std::string_view doc = fuzz::AsView(data + 1, size - 1);

  TarballUrlRewriter whole(kFrom, kTo);
  std::string expected;
  whole.Feed(doc, expected);
  whole.Finish(expected);

  TarballUrlRewriter chunked(kFrom, kTo);
  std::string got;
  size_t pos = 0;
  for (unsigned i = 0; pos < doc.size(); ++i) {
    size_t n = 1 + ((seed * 7 + i * 13) % 37);  // 1..37 bytes, varying
    chunked.Feed(doc.substr(pos, n), got);
    pos += std::min(n, doc.size() - pos);
  }
  chunked.Finish(got);
  FUZZ_CHECK(got == expected);
  FUZZ_CHECK(chunked.rewritten() == whole.rewritten());

  std::istringstream json{std::string(doc)};
  auto index = ExtractDistIndex(json);
  if (!index.ok()) return 0;
  for (const auto& [file, info] : *index) {
    FUZZ_CHECK(!file.empty() && file.find('/') == std::string::npos);
  }
  // The stored text form reads back as the index it was written from; an
  // entry whose fields hold the separators cannot be stored, and must not
  // turn into other entries.
  DistIndex parsed = ParseDistIndex(SerializeDistIndex(*index));
  size_t clean = 0;
  for (const auto& [file, info] : *index) {
    if (!Clean(file) || !Clean(info.version) || !Clean(info.integrity) || !Clean(info.shasum) || !Clean(info.url)) {
      continue;
    }
    ++clean;
    auto it = parsed.find(file);
    FUZZ_CHECK(it != parsed.end() && it->second.version == info.version && it->second.integrity == info.integrity &&
               it->second.shasum == info.shasum && it->second.url == info.url);
  }
  FUZZ_CHECK(parsed.size() == clean);
  return 0;
}
