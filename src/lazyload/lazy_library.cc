#include "lazyload/lazy_library.h"

#include <dlfcn.h>

#include <cstdio>

namespace cellar::lazyload {

void LazyLibrary::Load() {
  // RTLD_LOCAL: the library's symbols must not be found in place of cellar's
  // forwarders (or the forwarders in place of its own) through the global
  // scope.
  handle_ = ::dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* why = ::dlerror();
    std::string error = "cannot load " + soname_ + ": " + (why != nullptr ? why : "unknown error");
    std::fprintf(stderr, "cellar: %s\n", error.c_str());
    std::lock_guard<std::mutex> lock(error_mu_);
    error_ = std::move(error);
    return;
  }
  loaded_.store(true, std::memory_order_release);
}

void* LazyLibrary::Find(const char* symbol) {
  std::call_once(once_, [this] { Load(); });
  if (handle_ == nullptr) return nullptr;
  void* address = ::dlsym(handle_, symbol);
  if (address == nullptr) {
    std::string error = soname_ + " has no " + symbol;
    std::fprintf(stderr, "cellar: %s\n", error.c_str());
    std::lock_guard<std::mutex> lock(error_mu_);
    if (error_.empty()) error_ = std::move(error);
  }
  return address;
}

std::string LazyLibrary::Error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return error_;
}

}  // namespace cellar::lazyload
