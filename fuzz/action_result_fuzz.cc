// REAPI ActionResult protobufs uploaded to the Bazel action cache. Every
// CAS reference an accepted result yields is a well-formed digest.
#include "base/digest.h"
#include "fuzz/fuzz_util.h"
#include "protocols/bazel/action_result.h"

using namespace cellar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<bazel::CasRef> refs;
  Status s = bazel::ParseActionResult(fuzz::AsView(data, size), &refs);
  // Refs collected before an error are not used; check them anyway: they
  // passed the same digest check.
  for (const auto& ref : refs) {
    FUZZ_CHECK(ref.hash.size() == 64 && IsLowerHex(ref.hash));
    FUZZ_CHECK(ref.size_bytes >= 0);
  }
  if (s.ok()) {
    std::vector<bazel::CasRef> again;
    FUZZ_CHECK(bazel::ParseActionResult(fuzz::AsView(data, size), &again).ok() && again.size() == refs.size());
  }
  return 0;
}
