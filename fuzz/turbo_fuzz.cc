// Turborepo requests: the team namespace from the query, the artifact
// hash, the metadata headers of a PUT and the stored attributes. The first
// byte picks the parser; fields are separated by '\n'.
#include "fuzz/fuzz_util.h"
#include "protocols/turbo/turbo_request.h"

using namespace cellar;
using namespace cellar::turbo;

namespace {

std::optional<std::string> OptionalField(const std::vector<std::string_view>& f, size_t i) {
  if (i >= f.size() || f[i] == "-") return std::nullopt;  // "-" stands for an absent parameter
  return std::string(f[i]);
}

bool SameMetadata(const ArtifactMetadata& a, const ArtifactMetadata& b) {
  return a.duration_ms == b.duration_ms && a.tag == b.tag;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (fuzz::Mode(data[0], 4)) {
    case 0: {
      auto f = fuzz::Fields(in, 4);
      auto ns = TeamNamespace(OptionalField(f, 0), OptionalField(f, 1), OptionalField(f, 2),
                              f.size() > 3 ? f[3] : std::string_view());
      if (!ns.ok()) return 0;
      std::string_view team = std::string_view(*ns).substr(6);
      FUZZ_CHECK(ns->starts_with("turbo/") && !team.empty() && team.size() <= 100);
      FUZZ_CHECK(team != "." && team != ".." && team.find('/') == std::string_view::npos);
      break;
    }
    case 1:
      if (IsValidArtifactHash(in)) {
        FUZZ_CHECK(!in.empty() && in.size() <= 128);
        FUZZ_CHECK(in.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
                   std::string_view::npos);
      }
      break;
    case 2: {
      auto f = fuzz::Fields(in, 2);
      std::optional<std::string_view> duration, tag;
      if (f[0] != "-") duration = f[0];
      if (f.size() > 1 && f[1] != "-") tag = f[1];
      auto m = ParseArtifactHeaders(duration, tag);
      if (!m.ok()) return 0;
      FUZZ_CHECK(m->tag.size() <= 600);
      // What is stored reads back as what was sent.
      FUZZ_CHECK(SameMetadata(MetadataFromAttributes(MetadataToAttributes(*m)), *m));
      break;
    }
    case 3: {
      ArtifactMetadata m = MetadataFromAttributes(in);
      FUZZ_CHECK(SameMetadata(MetadataFromAttributes(MetadataToAttributes(m)), m));
      break;
    }
  }
  return 0;
}
