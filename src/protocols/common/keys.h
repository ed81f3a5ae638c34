// Validation of client-chosen cache keys, shared by the build-cache
// adapters. Pure and free of the adapter plumbing in protocol.h, so the
// request parsers that use it (and their fuzz targets) link without the
// HTTP and cache layers.
#pragma once

#include <cstddef>
#include <string_view>

namespace cellar::protocols {

// Opaque client-chosen keys (artifact hashes): 1..max_length characters of
// [A-Za-z0-9_-], so they can never form a path or escape a namespace.
bool IsOpaqueKey(std::string_view key, size_t max_length);

// Validates a relative key path: 1..max_segments segments of
// [A-Za-z0-9._-], none empty, "." or "..", total length <= max_length.
bool IsSafeKeyPath(std::string_view path, size_t max_segments, size_t max_length);

}  // namespace cellar::protocols
