// SocketTransport: the Transport of a server connection, over the session's
// beast::tcp_stream. Read waits are bounded by a SocketDeadline, writes by
// the stream's own expiry, and file ranges go out with sendfile(2) so cache
// hits are sent without copying through user space.
// Thread-safety: the session's strand only.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>

#include "http/transport.h"

namespace cellar::http {

class SocketTransport final : public Transport {
 public:
  // `stream` must outlive the transport.
  explicit SocketTransport(boost::beast::tcp_stream& stream) : stream_(stream) {}

  boost::asio::awaitable<Result<size_t>> ReadSome(std::span<std::byte> buf,
                                                  std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<Status> Write(std::span<const boost::asio::const_buffer> buffers,
                                       std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<Status> SendFile(int fd, uint64_t offset, uint64_t length,
                                          std::chrono::milliseconds timeout, uint64_t& sent) override;

 private:
  boost::beast::tcp_stream& stream_;
};

}  // namespace cellar::http
