// Negotiate API request bodies (single and batch JSON) and namespaces.
// Accepted items carry safe keys; namespaces stay under "artifacts".
#include <nlohmann/json.hpp>

#include "base/digest.h"
#include "fuzz/fuzz_util.h"
#include "protocols/common/keys.h"
#include "protocols/negotiate/negotiate_request.h"

using namespace cellar;
using namespace cellar::negotiate;

namespace {

constexpr size_t kMaxItems = 16;

void CheckRequest(const NegotiateRequest& r) {
  FUZZ_CHECK(r.ns == "artifacts" || (r.ns.starts_with("artifacts/") &&
                                     protocols::IsSafeKeyPath(std::string_view(r.ns).substr(10), 4, 200)));
  FUZZ_CHECK(fuzz::HasNoDotSegments(r.ns));
  for (const auto& item : r.items) {
    FUZZ_CHECK(IsValidBlobKey(item.hash));
    if (item.sha256) FUZZ_CHECK(item.sha256->size() == 64 && IsLowerHex(*item.sha256));
    // What the adapter answers with must be JSON that names the same hash.
    auto answer = nlohmann::json::parse(AnswerJson({item.hash, "found", "", 0, {}, ""}), nullptr, false);
    FUZZ_CHECK(answer.is_object() && answer["hash"] == item.hash);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (fuzz::Mode(data[0], 3)) {
    case 0: {
      auto r = ParseSingle(in);
      if (!r.ok()) return 0;
      FUZZ_CHECK(r->items.size() == 1);
      CheckRequest(*r);
      break;
    }
    case 1: {
      auto r = ParseBatch(in, kMaxItems);
      if (!r.ok()) return 0;
      FUZZ_CHECK(r->items.size() <= kMaxItems);
      CheckRequest(*r);
      break;
    }
    case 2: {
      auto ns = ArtifactNamespace(std::string(in));
      if (!ns.ok()) return 0;
      CheckRequest(NegotiateRequest{*ns, {}});
      break;
    }
  }
  return 0;
}
