#include "tasks/hash/canonical.h"

#include <array>
#include <vector>

#include "base/digest.h"

namespace cellar::taskhash {

void CanonicalHasher::Number(uint64_t n) {
  std::array<uint8_t, 8> le;
  for (size_t i = 0; i < le.size(); ++i) le[i] = static_cast<uint8_t>(n >> (8 * i));
  hasher_.Update(le.data(), le.size());
}

void CanonicalHasher::String(std::string_view bytes) {
  Number(bytes.size());
  hasher_.Update(bytes.data(), bytes.size());
}

std::string CanonicalHasher::Hex(size_t bytes) const {
  std::vector<uint8_t> out(bytes);
  hasher_.Finalize(out);
  return ToHex(out);
}

}  // namespace cellar::taskhash
