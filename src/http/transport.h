// Transport: the byte stream under an Exchange. The server's connections use
// SocketTransport (a TCP socket; file ranges go out with sendfile(2)); tests
// drive handlers in-process over MemoryTransport (memory_transport.h), with
// no socket at all. The Exchange keeps the HTTP logic (framing, the body
// rate, 408, responses cut short); a transport only moves bytes and reports
// how a wait ended.
// Thread-safety: used by one coroutine at a time, like the Exchange.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include "base/status.h"

namespace cellar::http {

class Transport {
 public:
  virtual ~Transport() = default;

  // Reads up to buf.size() bytes, waiting at most `timeout`. 0 means the
  // client closed its side (end of stream). kDeadlineExceeded when the
  // timeout passed first; kAborted when the connection failed.
  virtual boost::asio::awaitable<Result<size_t>> ReadSome(std::span<std::byte> buf,
                                                          std::chrono::milliseconds timeout) = 0;

  // Writes all of `buffers`, as one gathered write where possible; the
  // client must take them within `timeout`. kDeadlineExceeded when it stopped
  // reading, kAborted when it went away.
  virtual boost::asio::awaitable<Status> Write(std::span<const boost::asio::const_buffer> buffers,
                                               std::chrono::milliseconds timeout) = 0;

  // Sends `length` bytes of `fd` from `offset`; `sent` counts the bytes
  // written so far (also when it fails). Errors: kDeadlineExceeded (the
  // client stopped reading for `timeout`), kAborted (it went away),
  // kCorruption (the file ends before `length`), others from the system.
  virtual boost::asio::awaitable<Status> SendFile(int fd, uint64_t offset, uint64_t length,
                                                  std::chrono::milliseconds timeout, uint64_t& sent) = 0;
};

}  // namespace cellar::http
