#include "http/socket_transport.h"

#include <sys/sendfile.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "http/socket_deadline.h"

namespace cellar::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

awaitable<Result<size_t>> SocketTransport::ReadSome(std::span<std::byte> buf,
                                                    std::chrono::milliseconds timeout) {
  // One deadline for the wait (the stream's own expiry would also count a
  // previous write's).
  stream_.expires_never();
  SocketDeadline deadline(stream_.socket(), timeout);
  auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf.data(), buf.size()), kTuple);
  if (deadline.Disarm()) co_return Status::DeadlineExceeded("client sent nothing in time");
  if (ec == asio::error::eof) co_return size_t{0};
  if (ec) co_return Status::Aborted(ec.message());
  co_return n;
}

awaitable<Status> SocketTransport::Write(std::span<const asio::const_buffer> buffers,
                                         std::chrono::milliseconds timeout) {
  stream_.expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(stream_, buffers, kTuple);
  if (ec == beast::error::timeout) co_return Status::DeadlineExceeded("client stopped reading");
  if (ec) co_return Status::Aborted("client went away: " + ec.message());
  co_return Status();
}

awaitable<Status> SocketTransport::SendFile(int fd, uint64_t offset, uint64_t length,
                                            std::chrono::milliseconds timeout, uint64_t& sent) {
  auto& socket = stream_.socket();
  socket.native_non_blocking(true);
  off_t off = static_cast<off_t>(offset);
  uint64_t remaining = length;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, 4 << 20));
    ssize_t n = ::sendfile(socket.native_handle(), fd, &off, want);
    if (n > 0) {
      remaining -= static_cast<uint64_t>(n);
      sent += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) {
      co_return Status::Corruption("file ended " + std::to_string(remaining) +
                                   " bytes before the promised length");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      // A client that stops reading must not hold the connection and the
      // blob's file forever.
      SocketDeadline deadline(socket, timeout);
      auto [ec] = co_await socket.async_wait(asio::ip::tcp::socket::wait_write, kTuple);
      if (deadline.Disarm()) co_return Status::DeadlineExceeded("client stopped reading");
      if (ec) co_return Status::Aborted("client went away: " + ec.message());
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) co_return Status::Aborted("client went away during sendfile");
    co_return Status::FromErrno(errno, "sendfile");
  }
  co_return Status();
}

}  // namespace cellar::http
