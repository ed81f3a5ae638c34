#include "http/memory_transport.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cellar::http {

namespace asio = boost::asio;
using asio::awaitable;

awaitable<Result<size_t>> MemoryTransport::ReadSome(std::span<std::byte> buf,
                                                    std::chrono::milliseconds timeout) {
  if (buf.empty()) co_return size_t{0};
  if (read_pos_ < input_.size()) {
    size_t n = std::min({buf.size(), max_read_, input_.size() - read_pos_});
    std::memcpy(buf.data(), input_.data() + read_pos_, n);
    read_pos_ += n;
    ++reads_;
    co_return n;
  }
  switch (after_) {
    case AfterInput::kClose:
      co_return size_t{0};
    case AfterInput::kReset:
      co_return Status::Aborted("connection reset by peer");
    case AfterInput::kStall: {
      // Real time, as on a socket: tests that stall use short timeouts.
      asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      co_return Status::DeadlineExceeded("client sent nothing in time");
    }
  }
  co_return Status::Internal("unknown AfterInput");
}

bool MemoryTransport::Append(const char* data, size_t n) {
  size_t room = output_limit_ - std::min(output_limit_, output_.size());
  output_.append(data, std::min(n, room));
  return n <= room;
}

awaitable<Status> MemoryTransport::Write(std::span<const asio::const_buffer> buffers,
                                         std::chrono::milliseconds /*timeout*/) {
  for (const auto& b : buffers) {
    if (!Append(static_cast<const char*>(b.data()), b.size())) co_return Status::Aborted("client went away");
  }
  co_return Status();
}

awaitable<Status> MemoryTransport::SendFile(int fd, uint64_t offset, uint64_t length,
                                            std::chrono::milliseconds /*timeout*/, uint64_t& sent) {
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(length, 1 << 20)));
  uint64_t remaining = length;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + (length - remaining)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) co_return Status::FromErrno(errno, "pread");
    if (n == 0) {
      co_return Status::Corruption("file ended " + std::to_string(remaining) +
                                   " bytes before the promised length");
    }
    size_t before = output_.size();
    bool taken = Append(buf.data(), static_cast<size_t>(n));
    sent += output_.size() - before;
    if (!taken) co_return Status::Aborted("client went away during sendfile");
    remaining -= static_cast<uint64_t>(n);
  }
  co_return Status();
}

}  // namespace cellar::http
