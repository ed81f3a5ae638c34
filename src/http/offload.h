// RunBlocking: runs a blocking call (SQLite, fsync, file scans) on the worker
// pool and resumes the calling coroutine on its own executor with the result.
// Handlers must never block an I/O thread for longer than a page-cache
// read or write.
#pragma once

#include <optional>
#include <type_traits>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cellar::http {

template <typename F>
auto RunBlocking(boost::asio::thread_pool& pool, F fn)
    -> boost::asio::awaitable<std::invoke_result_t<F>> {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<F>;
  auto exec = co_await asio::this_coro::executor;
  if constexpr (std::is_void_v<R>) {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          asio::post(pool, [&fn, exec, handler = std::move(handler)]() mutable {
            fn();
            asio::post(exec, std::move(handler));
          });
        },
        asio::use_awaitable);
  } else {
    std::optional<R> result;
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&](auto handler) {
          asio::post(pool, [&fn, &result, exec, handler = std::move(handler)]() mutable {
            result.emplace(fn());
            asio::post(exec, std::move(handler));
          });
        },
        asio::use_awaitable);
    co_return std::move(*result);
  }
}

}  // namespace cellar::http
