// CanonicalHasher: feeds BLAKE3 an unambiguous byte stream. Every string is
// written as its length (8 bytes, little-endian) followed by its bytes, and
// every list is preceded by its element count, so no two different inputs
// can produce the same stream ("ab"+"c" differs from "a"+"bc"). The stream
// layout of the task hash is in docs/task-hash.md.
// Thread-safety: a value; one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hash/blake3.h"

namespace cellar::taskhash {

class CanonicalHasher {
 public:
  void String(std::string_view bytes);
  void Number(uint64_t n);
  // Lowercase hex of the first `bytes` bytes of the digest.
  std::string Hex(size_t bytes) const;

 private:
  hash::Blake3Hasher hasher_;
};

}  // namespace cellar::taskhash
