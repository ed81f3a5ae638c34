// SocketDeadline: cancels a socket's pending operations when a deadline
// passes first. For waits the stream's own expiry does not cover: the whole
// request header (a client trickling bytes resets a per-read timer) and raw
// socket waits such as sendfile's wait for room to write.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace cellar::http {

class SocketDeadline {
 public:
  SocketDeadline(boost::asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout)
      : state_(std::make_shared<State>()), timer_(socket.get_executor()) {
    timer_.expires_after(timeout);
    // The state is shared and checked first: a timer that fired in the same
    // round as the wait completed is already queued and runs after
    // Disarm(), possibly after the socket is gone.
    timer_.async_wait([state = state_, &socket](const boost::system::error_code& ec) {
      if (ec || state->disarmed) return;
      state->fired = true;
      boost::system::error_code ignored;
      socket.cancel(ignored);
    });
  }
  SocketDeadline(const SocketDeadline&) = delete;
  SocketDeadline& operator=(const SocketDeadline&) = delete;
  ~SocketDeadline() { Disarm(); }

  // Stops the deadline; returns whether it had already cancelled the socket.
  // Call it as soon as the guarded wait completes.
  bool Disarm() {
    state_->disarmed = true;
    timer_.cancel();
    return state_->fired;
  }

 private:
  struct State {
    bool disarmed = false;
    bool fired = false;
  };
  std::shared_ptr<State> state_;
  boost::asio::steady_timer timer_;
};

}  // namespace cellar::http
