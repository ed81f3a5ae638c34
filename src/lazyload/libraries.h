// The shared objects cellar loads on first use (see lazy_library.h), and
// the soname each is opened by (found at configure time from the library
// the build found, so a distribution's version is never guessed).
#pragma once

#include "lazyload/lazy_library.h"

namespace cellar::lazyload {

// libcrypto (OpenSSL): digests, HMAC, randomness.
LazyLibrary& Libcrypto();

// libarchive: task artifacts' tar streams.
LazyLibrary& Libarchive();

// libzip: Go module zips.
LazyLibrary& Libzip();

}  // namespace cellar::lazyload
