// libcurl, loaded when cellar first uses it rather than when it starts.
//
// cellar links against this library instead of libcurl itself. It defines
// the libcurl functions cellar calls (the declarations stay <curl/curl.h>'s)
// and forwards each to the real libcurl.so.4, opened with dlopen on the
// first call. Why: libcurl and the libraries it needs (TLS, HTTP/2, LDAP,
// Kerberos, SSH, ...) are some thirty shared objects, and mapping and
// relocating them cost about 18 ms of CPU at every start, a seventh of a
// whole `cellar run` that finds every task in its local cache and never
// touches the network. The numbers are in BENCHMARKS.md.
//
// Adding a call to a libcurl function not defined in lazy_libcurl.cc fails
// at link time (libcurl is not linked), so the list cannot silently go
// stale: add the function there.
//
// When libcurl.so.4 cannot be loaded, every function fails the way libcurl
// reports failure (curl_global_init returns CURLE_FAILED_INIT, the init
// functions return null) and LibcurlLoadError() says why.
#pragma once

#include <string>

namespace cellar::lazycurl {

// True once libcurl has been loaded (by the first libcurl call).
bool LibcurlIsLoaded();

// Empty, or why loading libcurl failed. Loads it when that was not tried yet.
const std::string& LibcurlLoadError();

}  // namespace cellar::lazycurl
