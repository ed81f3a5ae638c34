// One HTTP exchange over libcurl, as the remote task cache needs it: a small
// JSON POST, a GET streamed into a sink, or a PUT streamed from a file. No
// redirects are followed here (the caller decides, hop by hop, whether the
// token may go along), and nothing is retried. Each call uses its own easy
// handle, so calls may run on many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cellar::taskcache {

struct TransferTimeouts {
  std::chrono::milliseconds connect{5'000};
  std::chrono::milliseconds total{600'000};
  // Abort when fewer than low_speed_bytes_per_s arrive (or leave) for
  // low_speed_time: a stalled peer fails fast, a slow big transfer does not.
  uint32_t low_speed_bytes_per_s = 1024;
  std::chrono::seconds low_speed_time{20};
};

struct TransferRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;             // POST: sent as is
  int upload_fd = -1;           // PUT: read from the current offset
  uint64_t upload_size = 0;     // exact byte count to send from upload_fd
  // Receives the body of a 2xx answer; returns an error to abort. Without a
  // sink, and for any other status, the body lands in TransferReply::body.
  std::function<Status(const char* data, size_t size)> sink;
  TransferTimeouts timeouts;
};

struct TransferReply {
  int status = 0;
  std::optional<uint64_t> content_length;  // as announced
  bool chunked = false;                    // self-delimiting body
  std::string redirect_url;                // absolute target of a 3xx, if any
  std::string body;                        // first 64 KiB when not sunk
  uint64_t body_bytes = 0;                 // every byte received (sunk or not)
};

// Performs the exchange. Any complete HTTP answer is a value, whatever its
// status. Failures: kUnavailable when no connection could be made (refused,
// unresolvable, TLS), kDeadlineExceeded on a timeout, kAborted when the
// exchange broke (reset, body shorter than announced), or the sink's error.
Result<TransferReply> PerformTransfer(const TransferRequest& request);

}  // namespace cellar::taskcache
