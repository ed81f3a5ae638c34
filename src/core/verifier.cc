#include "core/verifier.h"

#include "base/digest.h"

namespace cellar::core {

Status Sha256Verifier::Finish(uint64_t) {
  auto actual = hasher_.Finalize();
  if (actual != expected_) {
    return Status::InvalidArgument("body SHA-256 is " + ToHex(actual) + ", expected " +
                                   ToHex(expected_));
  }
  return Status();
}

Status SizeVerifier::Finish(uint64_t total_bytes) {
  if (total_bytes != expected_) {
    return Status::InvalidArgument("body has " + std::to_string(total_bytes) + " bytes, expected " +
                                   std::to_string(expected_));
  }
  return Status();
}

}  // namespace cellar::core
