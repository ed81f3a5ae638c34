// MemoryTransport: a Transport over strings, the fake beside SocketTransport.
// The "client" is a script: the bytes it sends (delivered in reads of at
// most `max_read` bytes, so framing is parsed across read boundaries), what
// it does after its last byte (closes, stalls, resets), and how much of the
// answer it takes before it goes away. Everything written is collected in
// output(); file ranges are copied in with pread(2). Test-only in spirit,
// but small and free of test dependencies, so it lives beside the socket
// implementation.
// Thread-safety: one coroutine at a time.
#pragma once

#include <cstddef>
#include <limits>
#include <string>

#include "http/transport.h"

namespace cellar::http {

class MemoryTransport final : public Transport {
 public:
  // What the client does once all of its input was read.
  enum class AfterInput {
    kClose,  // closes its side: reads return 0 (end of stream)
    kStall,  // sends nothing more: reads wait out their timeout
    kReset,  // the connection fails: reads return kAborted
  };

  explicit MemoryTransport(std::string input, AfterInput after = AfterInput::kClose,
                           size_t max_read = 64 * 1024)
      : input_(std::move(input)), after_(after), max_read_(max_read == 0 ? 1 : max_read) {}

  // The client stops reading after `bytes` of output: later writes fail
  // with kAborted, like a client that went away.
  void set_output_limit(size_t bytes) { output_limit_ = bytes; }

  // Everything the server wrote, in order.
  const std::string& output() const { return output_; }
  // Input bytes not yet read by the server.
  size_t unread() const { return input_.size() - read_pos_; }
  // ReadSome calls that returned input bytes.
  size_t reads() const { return reads_; }

  boost::asio::awaitable<Result<size_t>> ReadSome(std::span<std::byte> buf,
                                                  std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<Status> Write(std::span<const boost::asio::const_buffer> buffers,
                                       std::chrono::milliseconds timeout) override;
  boost::asio::awaitable<Status> SendFile(int fd, uint64_t offset, uint64_t length,
                                          std::chrono::milliseconds timeout, uint64_t& sent) override;

 private:
  // Appends what the client still takes; false once it went away.
  bool Append(const char* data, size_t n);

  std::string input_;
  size_t read_pos_ = 0;
  size_t reads_ = 0;
  AfterInput after_;
  size_t max_read_;
  std::string output_;
  size_t output_limit_ = std::numeric_limits<size_t>::max();
};

}  // namespace cellar::http
