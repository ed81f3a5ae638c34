// LazyLibrary: a shared object that cellar calls but does not link, opened
// with dlopen(3) by the first call into it.
//
// Why: every shared object linked into the binary is mapped and relocated
// before main(), whether the command uses it or not. On the VMs cellar is
// benchmarked on, a page fault costs over 10 us, and libcrypto, libarchive
// and libzip (with what they pull in: libxml2, ICU, nettle, ...) added about
// 7 ms to every start; a `cellar run` that finds every task in its local
// cache needs none of them. BENCHMARKS.md has the numbers.
//
// Each lazily loaded library has a file of forwarders here
// (lazy_libcrypto.cc, ...): C definitions of the library functions cellar
// calls, with the library's own declarations (its headers stay the
// interface), each forwarding to the real function found with dlsym(3).
// Calling a function that has no forwarder fails at link time, because the
// real library is not linked, so the lists cannot silently go stale.
//
// When the library cannot be loaded, or lacks a function, the reason is
// printed once to stderr and the forwarders fail the way the library reports
// failure (a null object, an error code).
#pragma once

#include <atomic>
#include <mutex>
#include <string>

namespace cellar::lazyload {

class LazyLibrary {
 public:
  // `soname`: the name given to dlopen(3), e.g. "libarchive.so.13".
  explicit LazyLibrary(std::string soname) : soname_(std::move(soname)) {}
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  // The address of `symbol`, loading the library on the first call; null
  // when the library cannot be loaded or has no such symbol.
  void* Find(const char* symbol);

  template <typename Fn>
  Fn Find(const char* symbol) {
    return reinterpret_cast<Fn>(Find(symbol));
  }

  // True once the library has been loaded.
  bool IsLoaded() const { return loaded_.load(std::memory_order_acquire); }

  // Empty, or why the library could not be loaded. Does not load it.
  std::string Error() const;

  const std::string& soname() const { return soname_; }

 private:
  void Load();

  const std::string soname_;
  std::once_flag once_;
  void* handle_ = nullptr;  // set once, inside once_
  std::atomic<bool> loaded_{false};
  mutable std::mutex error_mu_;
  std::string error_;  // guarded by error_mu_
};

// The function `name` of `library`, looked up once per forwarder: a
// function-local static, so the lookup is thread-safe and later calls cost a
// guard check. Used only in the forwarder files.
#define CELLAR_LAZY_FUNCTION(library, name) \
  static const auto fn = (library).Find<decltype(&::name)>(#name)

}  // namespace cellar::lazyload
