#include "http/dispatch.h"

#include <exception>
#include <string>

#include "base/log.h"
#include "base/strings.h"

namespace cellar::http {

namespace bhttp = beast::http;
using boost::asio::awaitable;

namespace {

awaitable<void> RouteOrAnswer(const Router& router, Exchange& ex, uint64_t max_body_bytes) {
  if (ex.method() == bhttp::verb::unknown) {
    // No route implements a method Beast does not know (RFC 9110 15.6.2).
    co_await ex.Respond(501, "method not implemented\n");
  } else if (auto len = ex.content_length(); len && max_body_bytes && *len > max_body_bytes) {
    ex.set_keep_alive(false);
    co_await ex.Respond(413, "request body exceeds the server limit of " + std::to_string(max_body_bytes) +
                                 " bytes\n");
  } else if (const auto* route = router.Match(ex.path())) {
    ex.set_route(route->name);
    co_await route->handler(ex);
  } else {
    co_await ex.Respond(404, "no such endpoint: " + ex.path() + "\n");
  }
}

// After a handler threw: the detail goes to the log, the client gets a
// fixed 500 if nothing was sent yet, and the connection closes either way
// (a response may be half written, a body half read).
awaitable<void> AnswerThrow(Exchange& ex, const std::string& what) {
  Log(LogLevel::kError, "handler threw",
      "\"route\":\"" + JsonEscape(ex.route()) + "\",\"path\":\"" + JsonEscape(ex.path()) + "\",\"error\":\"" +
          JsonEscape(what) + "\"");
  ex.set_keep_alive(false);
  if (!ex.responded()) co_await ex.Respond(500, "internal error\n");
}

}  // namespace

awaitable<void> Dispatch(const Router& router, Exchange& ex, uint64_t max_body_bytes) {
  // A handler that throws (a bug: handlers return Status values) must not
  // end the connection without an answer. co_await cannot sit in a catch
  // block, so the answer comes after it.
  std::string thrown;
  try {
    co_await RouteOrAnswer(router, ex, max_body_bytes);
  } catch (const std::exception& e) {
    thrown = *e.what() ? e.what() : "exception";
  } catch (...) {
    thrown = "exception of unknown type";
  }
  if (!thrown.empty()) co_await AnswerThrow(ex, thrown);
  if (!ex.responded()) {
    ex.set_keep_alive(false);
    co_await ex.Respond(500, "handler produced no response\n");
  }
}

}  // namespace cellar::http
