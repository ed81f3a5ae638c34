#include "lazyload/libraries.h"

namespace cellar::lazyload {

// Function-local statics: a forwarder may run during another object's static
// initialisation, before a namespace-scope object would be constructed.

LazyLibrary& Libcrypto() {
  static LazyLibrary library(CELLAR_LIBCRYPTO_SONAME);
  return library;
}

LazyLibrary& Libarchive() {
  static LazyLibrary library(CELLAR_LIBARCHIVE_SONAME);
  return library;
}

LazyLibrary& Libzip() {
  static LazyLibrary library(CELLAR_LIBZIP_SONAME);
  return library;
}

}  // namespace cellar::lazyload
