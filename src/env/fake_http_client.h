// FakeHttpClient: an HttpClient for tests. Replies are scripted per URL
// (exact match, query included) and can carry faults: a refused connection,
// a timeout before the headers, or a body that breaks or stalls after some
// bytes. Every Send() is recorded in a call log, so a test can assert what
// reached the "upstream" (how many requests, which conditional headers).
// An unscripted URL is refused, like a host that is down.
// Thread-safety: every method may be called concurrently; a response object
// is single-threaded, as with the real client.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "env/http_client.h"

namespace cellar::env {

struct FakeReply {
  enum class Fault {
    kNone,
    kRefuse,      // Send() fails with kUnavailable (connection refused)
    kTimeout,     // Send() fails with kDeadlineExceeded (no headers in time)
    kBreakBody,   // Read() fails with kUnavailable after `fault_after` bytes
    kStallBody,   // Read() fails with kDeadlineExceeded after `fault_after` bytes
  };
  int status = 200;
  HeaderList headers;
  std::string body;
  Fault fault = Fault::kNone;
  size_t fault_after = 0;

  static FakeReply Ok(std::string body, HeaderList headers = {});
  static FakeReply WithStatus(int status, std::string body = "");
  static FakeReply Refuse();
  static FakeReply Timeout();
  static FakeReply BreakAfter(std::string body, size_t bytes);
  static FakeReply StallAfter(std::string body, size_t bytes);
};

class FakeHttpClient : public HttpClient {
 public:
  struct Call {
    std::string method;
    std::string url;
    HeaderList headers;
    std::string body;
    // Case-insensitive header lookup; the last value wins.
    std::optional<std::string> Header(std::string_view name) const;
  };

  // Every request for `url` gets `reply` from now on (replaces any script).
  void Set(const std::string& url, FakeReply reply);
  // Appends to the replies for `url`: each request takes the next one, and
  // the last one keeps answering once the queue is down to one.
  void Queue(const std::string& url, FakeReply reply);
  // Forgets the replies for `url` (it is refused again).
  void Clear(const std::string& url);
  // Every URL refuses (an upstream that is down) until set back to false;
  // scripts are kept.
  void SetDown(bool down);

  Result<std::unique_ptr<HttpResponse>> Send(const HttpRequest& request) override;

  std::vector<Call> calls() const;
  // Number of requests sent for `url`.
  size_t CallCount(const std::string& url) const;
  // The most recent request for `url`; nullopt when there was none.
  std::optional<Call> LastCall(const std::string& url) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::deque<FakeReply>> replies_;  // GUARDED_BY(mu_)
  std::vector<Call> calls_;                                // GUARDED_BY(mu_)
  bool down_ = false;                                      // GUARDED_BY(mu_)
};

}  // namespace cellar::env
