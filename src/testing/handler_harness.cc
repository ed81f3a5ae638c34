#include "testing/handler_harness.h"

#include <algorithm>
#include <cstdio>
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "base/strings.h"
#include "http/dispatch.h"
#include "http/request_checks.h"

namespace cellar::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::awaitable;

namespace {

bool HasHeader(const HeaderPairs& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return EqualsIgnoreCase(h.first, name); });
}

std::string ChunkEncode(std::string_view body, size_t chunk_size) {
  std::string out;
  chunk_size = std::max<size_t>(1, chunk_size);
  for (size_t i = 0; i < body.size(); i += chunk_size) {
    auto piece = body.substr(i, chunk_size);
    char line[32];
    int n = std::snprintf(line, sizeof line, "%zx\r\n", piece.size());
    out.append(line, static_cast<size_t>(n));
    out.append(piece);
    out += "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

// Reads the request header as the server does, from the transport.
awaitable<Status> ReadHeader(http::Transport& transport, beast::flat_buffer& buffer,
                             http::Exchange::Parser& parser) {
  while (!parser.is_header_done()) {
    beast::error_code ec;
    if (buffer.size() > 0) {
      size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (!ec && used > 0) continue;
      if (ec && ec != bhttp::error::need_more) co_return Status::InvalidArgument("malformed request: " + ec.message());
    }
    size_t room = beast::read_size(buffer, 64 * 1024);
    if (room == 0) co_return Status::ResourceExhausted("request header too large");
    auto space = buffer.prepare(room);
    auto n = co_await transport.ReadSome(std::span(static_cast<std::byte*>(space.data()), space.size()),
                                         std::chrono::seconds(10));
    if (!n.ok()) co_return n.error();
    buffer.commit(*n);
    if (*n == 0) co_return Status::Aborted("the client closed before the header ended");
  }
  co_return Status();
}

// Parses the bytes the server wrote: interim 1xx answers, then the response.
void ParseOutput(const std::string& out, bool head, TestResponse& r) {
  std::string_view rest = out;
  while (!rest.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    parser.eager(true);
    if (head) parser.skip(true);
    beast::error_code ec;
    size_t used = parser.put(asio::buffer(rest.data(), rest.size()), ec);
    if (ec && ec != bhttp::error::need_more) {
      r.error = "unparseable response: " + ec.message();
      return;
    }
    if (!parser.is_header_done()) {
      r.error = "response header incomplete";
      return;
    }
    const auto& msg = parser.get();
    if (msg.result_int() / 100 == 1) {
      r.continue_sent = true;
      rest.remove_prefix(used);
      continue;
    }
    r.status = msg.result_int();
    for (const auto& f : msg) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = msg.body();
    r.complete = parser.is_done();
    return;
  }
  r.error = "no response";
}

}  // namespace

std::optional<std::string> TestResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

std::pair<std::string, std::string> Bearer(std::string_view token) {
  return {"Authorization", "Bearer " + std::string(token)};
}

HandlerHarness::HandlerHarness(const http::Router& router, HarnessOptions options)
    : router_(router), options_(options) {}

HandlerHarness::HandlerHarness(http::Handler handler, HarnessOptions options)
    : router_(own_router_), options_(options) {
  own_router_.Add("/", "test", std::move(handler));
}

std::string HandlerHarness::Encode(const TestRequest& request) {
  if (request.raw) return *request.raw;
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  if (!HasHeader(request.headers, "Host")) out += "Host: cellar.test\r\n";
  for (const auto& [k, v] : request.headers) out += k + ": " + v + "\r\n";
  bool framed = HasHeader(request.headers, "Content-Length") || HasHeader(request.headers, "Transfer-Encoding");
  if (!framed && request.chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (!framed && (!request.body.empty() || request.method == "PUT" || request.method == "POST")) {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "\r\n";
  std::string body = request.chunked ? ChunkEncode(request.body, request.chunk_size) : request.body;
  if (request.body_bytes_sent) body.resize(std::min(body.size(), *request.body_bytes_sent));
  return out + body;
}

TestResponse HandlerHarness::Run(const TestRequest& request) {
  http::MemoryTransport transport(Encode(request), request.after, request.max_read);
  if (request.read_limit) transport.set_output_limit(*request.read_limit);
  TestResponse r;
  bool done = false;
  bool head = false;

  auto exchange = [&]() -> awaitable<void> {
    beast::flat_buffer buffer(64 * 1024 + 256 * 1024);
    http::Exchange::Parser parser;
    parser.header_limit(64 * 1024);  // the server's default --max-header-bytes
    parser.body_limit(boost::none);
    if (Status s = co_await ReadHeader(transport, buffer, parser); !s.ok()) {
      // The server answers a header Beast cannot parse with 400 and closes.
      r.error = s.ToString();
      if (s.code() == Code::kInvalidArgument) {
        r.refused_before_dispatch = true;
        r.status = 400;
        r.body = s.message() + "\n";
        r.complete = true;
      }
      co_return;
    }
    head = parser.get().method() == bhttp::verb::head;
    if (auto refusal = http::CheckRequestHeader(parser.get())) {
      r.refused_before_dispatch = true;
      r.status = refusal->status;
      r.body = refusal->reason + "\n";
      r.complete = true;
      co_return;
    }
    http::Exchange ex(transport, buffer, parser, options_.limits, "127.0.0.1");
    co_await http::Dispatch(router_, ex, options_.max_body_bytes);
    r.keep_alive = ex.keep_alive();
    r.route = ex.route();
    r.principal = ex.principal();
    r.cache_result = ex.cache_result();
    r.ns = ex.cache_namespace();
    r.time_saved_ms = ex.time_saved_ms();
    r.cut_short = ex.cut_short();
    r.body_bytes_read = ex.body_bytes_read();
  };

  asio::io_context& io = *io_;
  io.restart();
  // Handlers hop to worker pools (RunBlocking) and back: the guard keeps
  // run() going until the exchange itself has finished.
  auto guard = asio::make_work_guard(io);
  std::exception_ptr thrown;
  asio::co_spawn(io, exchange(), [&](std::exception_ptr e) {
    thrown = e;
    done = true;
    guard.reset();
  });
  io.run_for(options_.run_timeout);
  if (!done) {
    // The suspended exchange refers to this call's locals: destroy it with
    // its context now, never resume it in a later Run().
    io.stop();
    io_ = std::make_unique<asio::io_context>();
    r.error = "the exchange did not finish within the harness's run_timeout";
    r.status = 0;
    return r;
  }
  if (thrown) {
    r.error = "the exchange threw";
    r.status = 0;
    return r;
  }
  r.raw = transport.output();
  r.transport_reads = transport.reads();
  if (!r.refused_before_dispatch && r.status == 0 && r.error.empty()) ParseOutput(r.raw, head, r);
  return r;
}

TestResponse HandlerHarness::Send(std::string method, std::string target, HeaderPairs headers, std::string body) {
  TestRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.headers = std::move(headers);
  request.body = std::move(body);
  return Run(request);
}

TestResponse HandlerHarness::Get(std::string target, HeaderPairs headers) {
  return Send("GET", std::move(target), std::move(headers));
}
TestResponse HandlerHarness::Head(std::string target, HeaderPairs headers) {
  return Send("HEAD", std::move(target), std::move(headers));
}
TestResponse HandlerHarness::Put(std::string target, std::string body, HeaderPairs headers) {
  return Send("PUT", std::move(target), std::move(headers), std::move(body));
}
TestResponse HandlerHarness::Post(std::string target, std::string body, HeaderPairs headers) {
  return Send("POST", std::move(target), std::move(headers), std::move(body));
}
TestResponse HandlerHarness::Delete(std::string target, HeaderPairs headers) {
  return Send("DELETE", std::move(target), std::move(headers));
}

}  // namespace cellar::testing
