// npm integrity strings (dist.integrity, SRI) and legacy shasums from
// upstream packuments. A parsed digest has its algorithm's length, and a
// digest computed here verifies the bytes it was computed from.
#include <span>

#include "fuzz/fuzz_util.h"
#include "protocols/npm/integrity.h"

using namespace cellar;
using namespace cellar::npm;

namespace {

size_t DigestSize(const std::string& alg) {
  if (alg == "sha512") return 64;
  if (alg == "sha384") return 48;
  if (alg == "sha256") return 32;
  if (alg == "sha1") return 20;
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::AsView(data, size);
  if (auto d = ParseIntegrity(in)) {
    FUZZ_CHECK(DigestSize(d->algorithm) != 0 && d->digest.size() == DigestSize(d->algorithm));
    FUZZ_CHECK(in.find(d->text) != std::string_view::npos);
  }
  if (auto d = ParseShasum(in)) FUZZ_CHECK(d->algorithm == "sha1" && d->digest.size() == 20);

  static const char* kAlgorithms[] = {"sha512", "sha384", "sha256", "sha1"};
  const char* alg = kAlgorithms[size % 4];
  auto expected = ParseIntegrity(ComputeSri(alg, in));
  FUZZ_CHECK(expected && expected->algorithm == alg);
  auto verifier = MakeIntegrityVerifier(*expected, "fuzz input");
  verifier->Update(std::as_bytes(std::span<const uint8_t>(data, size)));
  FUZZ_CHECK(verifier->Finish(size).ok());
  return 0;
}
