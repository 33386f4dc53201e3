// A client for one cluster endpoint: a bounded pool of keep-alive TLS
// connections, a rate limit, and the waits that poll over them.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pollster/config.hpp"
#include "pollster/engine.hpp"
#include "pollster/outcome.hpp"

namespace pollster {

/// Options of a plain JSON-RPC call.
struct call_options {
  duration deadline = 60s;
  /// Retry after a failure that may have reached the server (a lost answer).
  /// Off by default: CloneVolume twice makes two clones. Failures that surely
  /// did not (no connection, a transient method error, 503) are retried anyway.
  bool idempotent = false;
  backoff_policy retry{.initial = 200ms, .multiplier = 2.0, .max_delay = 5s,
                       .jitter = 1.0, .min_delay = 50ms};
};

struct call_result {
  std::error_code ec;            ///< empty: `result_json` holds the result
  std::string result_json;       ///< the `result` member, raw
  std::string error_json;        ///< method error object, raw (ec = the error's class)
  std::string error_name;        ///< method error name, or a pollster reason
  std::string error_message;
  long long error_code = 0;
  bool ok() const noexcept { return !ec; }
};

struct pool_stats {
  std::size_t size = 0, open = 0, busy = 0, waiting = 0;
};

class client {
 public:
  /// Throws std::system_error (error::invalid_endpoint, plaintext_refused,
  /// invalid_config) with a message naming what is wrong.
  client(engine& eng, client_config cfg);
  /// Shuts down: waits in flight end `cancelled`; the io_context then drains.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Polls `handle` until it completes, is gone, the deadline passes, or the
  /// wait is cancelled (per-operation cancellation, or shutdown()). Never
  /// throws for what the cluster or network does. Completion signature
  /// void(outcome): any completion token works (a callback, use_awaitable,
  /// use_future, deferred). The handler runs on its associated executor, or
  /// the engine's io_context. With purge_policy::after_delivery the release
  /// is sent only after the handler has been invoked.
  ///
  /// A waiting handle costs a few hundred bytes and one slot in the client's
  /// timer heap, not a coroutine or a timer: share `opts` between waits
  /// (the shared_ptr overload) when watching very many.
  template <class CompletionToken>
  auto async_wait(std::uint64_t handle, std::shared_ptr<const wait_options> opts,
                  CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(outcome)>(
        [this](auto handler, std::uint64_t h, std::shared_ptr<const wait_options> o) {
          start_wait(h, std::move(o),
                     boost::asio::any_completion_handler<void(outcome)>(std::move(handler)));
        },
        token, handle, std::move(opts));
  }
  template <class CompletionToken>
  auto async_wait(std::uint64_t handle, wait_options opts, CompletionToken&& token) {
    return async_wait(handle, std::make_shared<const wait_options>(std::move(opts)),
                      std::forward<CompletionToken>(token));
  }

  /// `co_await client.wait(handle)`: async_wait with use_awaitable.
  boost::asio::awaitable<outcome> wait(std::uint64_t handle, wait_options opts = {});

  /// Any JSON-RPC method over the same pool; `params_json` is a JSON object.
  boost::asio::awaitable<call_result> call(std::string method, std::string params_json,
                                           call_options opts = {});

  /// Starts an asynchronous method (CloneVolume, ...) and waits for its handle.
  /// A failed start is an outcome of kind `failed` with handle 0.
  boost::asio::awaitable<outcome> start_and_wait(std::string method, std::string params_json,
                                                 wait_options opts = {});

  /// Cancels every wait and call in flight and closes the connections.
  void shutdown();

  pool_stats pool() const noexcept;
  const endpoint& target() const noexcept;

  struct impl;

 private:
  void start_wait(std::uint64_t handle, std::shared_ptr<const wait_options> opts,
                  boost::asio::any_completion_handler<void(outcome)> handler);
  std::shared_ptr<impl> impl_;
};

}  // namespace pollster
