// Test-only helpers shared by the CacheService tests: whole-body puts and
// reads in one call.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "core/cache_service.h"

namespace cellar::core {

// Puts `data` under ns/key; `expected_size` is what a client would announce.
inline Status PutBytes(CacheService& cache, const std::string& ns, const std::string& key,
                       const std::string& data, std::optional<uint64_t> expected_size = std::nullopt) {
  PutOptions o;
  o.ns = ns;
  o.key = key;
  o.expected_size = expected_size;
  CELLAR_ASSIGN_OR_RETURN(auto put, cache.BeginPut(std::move(o)));
  CELLAR_RETURN_IF_ERROR(put->Write(std::as_bytes(std::span(data.data(), data.size()))));
  return put->Commit().status();
}

inline std::string ReadAll(Hit& hit) {
  std::string out;
  std::byte buf[4096];
  while (true) {
    auto n = hit.reader().Read(buf);
    if (!n.ok() || *n == 0) break;
    out.append(reinterpret_cast<char*>(buf), *n);
  }
  return out;
}

// The bytes stored under ns/key, or nullopt on a miss or an error.
inline std::optional<std::string> GetBytes(CacheService& cache, const std::string& ns, const std::string& key) {
  auto hit = cache.Get(ns, key);
  if (!hit.ok() || !*hit) return std::nullopt;
  return ReadAll(***hit);
}

}  // namespace cellar::core
