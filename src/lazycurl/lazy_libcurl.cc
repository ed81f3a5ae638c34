#include "lazycurl/lazy_libcurl.h"

#include <curl/curl.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>

#include "lazyload/lazy_library.h"

// This file defines libcurl's own entry points; see the header. Each
// definition's name is in parentheses so that the function-like macros
// <curl/curl.h> defines for type checking (curl_easy_setopt and friends) do
// not expand.

namespace cellar::lazycurl {
namespace {

struct Libcurl {
  std::string error;  // empty when loaded
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_pause) easy_pause = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  decltype(&::curl_share_init) share_init = nullptr;
  decltype(&::curl_share_setopt) share_setopt = nullptr;
  decltype(&::curl_share_cleanup) share_cleanup = nullptr;
  decltype(&::curl_multi_init) multi_init = nullptr;
  decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&::curl_multi_perform) multi_perform = nullptr;
  decltype(&::curl_multi_poll) multi_poll = nullptr;
  decltype(&::curl_multi_info_read) multi_info_read = nullptr;
  decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&::curl_multi_strerror) multi_strerror = nullptr;
};

std::atomic<bool> g_loaded{false};

// Looks `name` up in libcurl into `fn`; false (and `error` set) when absent.
template <typename Fn>
bool Resolve(lazyload::LazyLibrary& library, const char* name, Fn& fn, std::string& error) {
  fn = library.Find<Fn>(name);
  if (fn == nullptr && error.empty()) error = library.Error();
  return fn != nullptr;
}

Libcurl Load() {
  Libcurl lib;
  // Every function is looked up at once: libcurl is usable whole or not at
  // all, and LibcurlLoadError() has one answer.
  static lazyload::LazyLibrary handle("libcurl.so.4");
  std::string& e = lib.error;
  bool ok = Resolve(handle, "curl_global_init", lib.global_init, e) &&
            Resolve(handle, "curl_easy_init", lib.easy_init, e) &&
            Resolve(handle, "curl_easy_setopt", lib.easy_setopt, e) &&
            Resolve(handle, "curl_easy_perform", lib.easy_perform, e) &&
            Resolve(handle, "curl_easy_getinfo", lib.easy_getinfo, e) &&
            Resolve(handle, "curl_easy_pause", lib.easy_pause, e) &&
            Resolve(handle, "curl_easy_cleanup", lib.easy_cleanup, e) &&
            Resolve(handle, "curl_easy_strerror", lib.easy_strerror, e) &&
            Resolve(handle, "curl_slist_append", lib.slist_append, e) &&
            Resolve(handle, "curl_slist_free_all", lib.slist_free_all, e) &&
            Resolve(handle, "curl_share_init", lib.share_init, e) &&
            Resolve(handle, "curl_share_setopt", lib.share_setopt, e) &&
            Resolve(handle, "curl_share_cleanup", lib.share_cleanup, e) &&
            Resolve(handle, "curl_multi_init", lib.multi_init, e) &&
            Resolve(handle, "curl_multi_add_handle", lib.multi_add_handle, e) &&
            Resolve(handle, "curl_multi_remove_handle", lib.multi_remove_handle, e) &&
            Resolve(handle, "curl_multi_perform", lib.multi_perform, e) &&
            Resolve(handle, "curl_multi_poll", lib.multi_poll, e) &&
            Resolve(handle, "curl_multi_info_read", lib.multi_info_read, e) &&
            Resolve(handle, "curl_multi_cleanup", lib.multi_cleanup, e) &&
            Resolve(handle, "curl_multi_strerror", lib.multi_strerror, e);
  if (!ok) return Libcurl{lib.error};  // LazyLibrary printed why
  g_loaded.store(true, std::memory_order_release);
  return lib;
}

const Libcurl& Lib() {
  static const Libcurl lib = Load();
  return lib;
}

}  // namespace

bool LibcurlIsLoaded() { return g_loaded.load(std::memory_order_acquire); }

const std::string& LibcurlLoadError() { return Lib().error; }

}  // namespace cellar::lazycurl

using cellar::lazycurl::Lib;

// The variadic setters take exactly one argument after the option, whose
// type the option's number range tells (curl.h's CURLOPTTYPE_*); it is read
// here with that type and passed on with it.

extern "C" {

CURLcode(curl_global_init)(long flags) {
  return Lib().global_init ? Lib().global_init(flags) : CURLE_FAILED_INIT;
}

CURL*(curl_easy_init)(void) { return Lib().easy_init ? Lib().easy_init() : nullptr; }

CURLcode(curl_easy_setopt)(CURL* curl, CURLoption option, ...) {
  if (!Lib().easy_setopt) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = Lib().easy_setopt(curl, option, va_arg(args, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = Lib().easy_setopt(curl, option, va_arg(args, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    // A callback. libcurl reads it back as its own callback type; any
    // function pointer type carries the same value.
    rc = Lib().easy_setopt(curl, option, va_arg(args, void (*)(void)));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = Lib().easy_setopt(curl, option, va_arg(args, curl_off_t));
  } else {
    rc = Lib().easy_setopt(curl, option, va_arg(args, void*));  // struct curl_blob*
  }
  va_end(args);
  return rc;
}

CURLcode(curl_easy_perform)(CURL* curl) { return Lib().easy_perform ? Lib().easy_perform(curl) : CURLE_FAILED_INIT; }

CURLcode(curl_easy_getinfo)(CURL* curl, CURLINFO info, ...) {
  if (!Lib().easy_getinfo) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, info);
  CURLcode rc = Lib().easy_getinfo(curl, info, va_arg(args, void*));  // always a pointer to the result
  va_end(args);
  return rc;
}

CURLcode(curl_easy_pause)(CURL* curl, int bitmask) {
  return Lib().easy_pause ? Lib().easy_pause(curl, bitmask) : CURLE_FAILED_INIT;
}

void(curl_easy_cleanup)(CURL* curl) {
  if (Lib().easy_cleanup) Lib().easy_cleanup(curl);
}

const char*(curl_easy_strerror)(CURLcode code) {
  return Lib().easy_strerror ? Lib().easy_strerror(code) : "libcurl could not be loaded";
}

struct curl_slist*(curl_slist_append)(struct curl_slist* list, const char* text) {
  return Lib().slist_append ? Lib().slist_append(list, text) : nullptr;
}

void(curl_slist_free_all)(struct curl_slist* list) {
  if (Lib().slist_free_all) Lib().slist_free_all(list);
}

CURLSH*(curl_share_init)(void) { return Lib().share_init ? Lib().share_init() : nullptr; }

CURLSHcode(curl_share_setopt)(CURLSH* share, CURLSHoption option, ...) {
  if (!Lib().share_setopt) return CURLSHE_NOT_BUILT_IN;
  va_list args;
  va_start(args, option);
  CURLSHcode rc;
  switch (option) {
    case CURLSHOPT_SHARE:
    case CURLSHOPT_UNSHARE:
      rc = Lib().share_setopt(share, option, va_arg(args, int));  // a curl_lock_data
      break;
    case CURLSHOPT_LOCKFUNC:
    case CURLSHOPT_UNLOCKFUNC:
      rc = Lib().share_setopt(share, option, va_arg(args, void (*)(void)));
      break;
    default:
      rc = Lib().share_setopt(share, option, va_arg(args, void*));
      break;
  }
  va_end(args);
  return rc;
}

CURLSHcode(curl_share_cleanup)(CURLSH* share) {
  return Lib().share_cleanup ? Lib().share_cleanup(share) : CURLSHE_INVALID;
}

CURLM*(curl_multi_init)(void) { return Lib().multi_init ? Lib().multi_init() : nullptr; }

CURLMcode(curl_multi_add_handle)(CURLM* multi, CURL* curl) {
  return Lib().multi_add_handle ? Lib().multi_add_handle(multi, curl) : CURLM_BAD_HANDLE;
}

CURLMcode(curl_multi_remove_handle)(CURLM* multi, CURL* curl) {
  return Lib().multi_remove_handle ? Lib().multi_remove_handle(multi, curl) : CURLM_BAD_HANDLE;
}

CURLMcode(curl_multi_perform)(CURLM* multi, int* running) {
  return Lib().multi_perform ? Lib().multi_perform(multi, running) : CURLM_BAD_HANDLE;
}

CURLMcode(curl_multi_poll)(CURLM* multi, struct curl_waitfd extra[], unsigned int extra_count, int timeout_ms,
                           int* ready) {
  return Lib().multi_poll ? Lib().multi_poll(multi, extra, extra_count, timeout_ms, ready) : CURLM_BAD_HANDLE;
}

CURLMsg*(curl_multi_info_read)(CURLM* multi, int* left) {
  return Lib().multi_info_read ? Lib().multi_info_read(multi, left) : nullptr;
}

CURLMcode(curl_multi_cleanup)(CURLM* multi) {
  return Lib().multi_cleanup ? Lib().multi_cleanup(multi) : CURLM_BAD_HANDLE;
}

const char*(curl_multi_strerror)(CURLMcode code) {
  return Lib().multi_strerror ? Lib().multi_strerror(code) : "libcurl could not be loaded";
}

}  // extern "C"
