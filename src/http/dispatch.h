// Dispatch: runs one request through the Router once its header is read,
// with the answers every route shares: 501 for a method no route
// implements, 413 beyond the server's body limit, 404 when no route
// matches, and a fixed 500 when a handler throws or returns without
// answering. The server and the in-process test harness both use it, so
// tests see exactly the server's routing.
#pragma once

#include <cstdint>

#include <boost/asio/awaitable.hpp>

#include "http/exchange.h"
#include "http/router.h"

namespace cellar::http {

// `max_body_bytes`: the server-wide limit (0 = none).
boost::asio::awaitable<void> Dispatch(const Router& router, Exchange& ex, uint64_t max_body_bytes);

}  // namespace cellar::http
