// Test-only helpers for BlobStore tests: deterministic content (random or
// text-like, i.e. incompressible or compressible), whole-blob write and read,
// and a scoped temporary directory. Used by src/store tests and by
// src/testing/blob_store_conformance.h. Never linked into the server.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "base/digest.h"
#include "base/status.h"
#include "hash/blake3.h"
#include "store/blob_store.h"

namespace cellar::store {

using Bytes = std::vector<std::byte>;

enum class Content {
  kRandom,  // does not compress
  kText,    // words from a small vocabulary; compresses several-fold
};

inline Bytes MakeContent(size_t size, Content kind, uint64_t seed = 1) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&state] {  // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  Bytes out(size);
  if (kind == Content::kRandom) {
    for (size_t i = 0; i < size; i += 8) {
      const uint64_t v = next();
      std::memcpy(out.data() + i, &v, std::min<size_t>(8, size - i));
    }
    return out;
  }
  static constexpr const char* kWords[] = {"cache ", "blob ",   "digest ", "zstd ",  "tarball ",
                                           "npm ",   "module ", "commit ", "store ", "\n"};
  size_t i = 0;
  while (i < size) {
    const char* word = kWords[next() % std::size(kWords)];
    for (const char* c = word; *c != '\0' && i < size; ++c) out[i++] = std::byte(*c);
  }
  return out;
}

inline Digest HashBytes(std::span<const std::byte> data) {
  hash::Blake3Hasher hasher;
  hasher.Update(data.data(), data.size());
  return Digest{hasher.Finalize()};
}

// Writes `data` in `chunk`-sized pieces and commits.
inline Result<BlobInfo> WriteBlob(BlobStore& store, std::span<const std::byte> data,
                                  std::optional<Digest> expected = std::nullopt,
                                  size_t chunk = 64 * 1024) {
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, store.NewWriter());
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    CELLAR_RETURN_IF_ERROR(writer->Write(data.subspan(pos, std::min(chunk, data.size() - pos))));
  }
  return writer->Commit(expected);
}

// Reads the rest of `reader` with reads of at most `chunk` bytes.
inline Result<Bytes> ReadRest(BlobReader& reader, size_t chunk = 64 * 1024) {
  Bytes out;
  Bytes buf(chunk);
  for (;;) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, reader.Read(buf));
    if (n == 0) return out;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n));
  }
}

// The whole blob, or nullopt when absent.
inline Result<std::optional<Bytes>> ReadBlob(BlobStore& store, const Digest& digest,
                                             size_t chunk = 64 * 1024) {
  CELLAR_ASSIGN_OR_RETURN(std::optional<std::unique_ptr<BlobReader>> reader, store.Open(digest));
  if (!reader.has_value()) return std::optional<Bytes>();
  CELLAR_ASSIGN_OR_RETURN(Bytes bytes, ReadRest(**reader, chunk));
  return std::optional<Bytes>(std::move(bytes));
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class ScopedTempDir {
 public:
  ScopedTempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/cellar-store-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScopedTempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  // Empty when creation failed.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cellar::store
