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
  /// Give up after this long, retries included (the call then fails with
  /// the last attempt's error).
  duration deadline = std::chrono::seconds(60);
  /// Retry after a failure that may have reached the server (a lost answer).
  /// Off by default: CloneVolume twice makes two clones. Failures that surely
  /// did not (no connection, a transient method error, 503) are retried anyway.
  bool idempotent = false;
  /// Spacing of the retries the call is allowed (see `idempotent`).
  backoff_policy retry{.initial = std::chrono::milliseconds(200),
                       .multiplier = 2.0,
                       .max_delay = std::chrono::seconds(5),
                       .jitter = 1.0,
                       .min_delay = std::chrono::milliseconds(50)};
};

/// What one JSON-RPC call answered, or why it has no answer.
struct call_result {
  std::error_code ec;            ///< empty: `result_json` holds the result
  std::string result_json;       ///< the `result` member, raw
  std::string error_json;        ///< method error object, raw (ec = the error's class)
  std::string error_name;        ///< method error name, or a pollster reason
  std::string error_message;     ///< the method error's message, or pollster's, for people
  std::int64_t error_code = 0;   ///< the method error's code (500 for system errors)
  /// The call answered a result (no error of any kind).
  bool ok() const noexcept { return !ec; }
};

/// What a start method (CloneVolume, StartBulkVolumeRead...) answered: the
/// handle to persist before waiting, and the whole result (BulkVolume's `key`
/// and `url`). `handle` is 0 when `ec` is set.
struct start_result : call_result {
  std::uint64_t handle = 0;  ///< the `asyncHandle` to persist and wait on
};

/// A snapshot of a client's connection pool, for monitoring.
struct pool_stats {
  /// size: connections allowed (pool_size); open: connected now; busy: with
  /// a request on them; waiting: requests queued for a free connection.
  std::size_t size = 0, open = 0, busy = 0, waiting = 0;
  std::size_t releases = 0;  ///< releases queued or being sent
};

/// A client for one cluster endpoint: every wait, call and release toward
/// that cluster goes through its pool and rate limit. Use it from its
/// engine's io_context thread only.
class client {
 public:
  /// Throws std::system_error (error::invalid_endpoint, plaintext_refused,
  /// invalid_config) with a message naming what is wrong.
  client(engine& eng, client_config cfg);
  /// Shuts down: waits in flight end `cancelled`; the io_context then drains.
  ~client();
  /// Not copyable: it owns the cluster's connections and waits.
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
  /// async_wait with options of its own (copied once, into a shared_ptr).
  template <class CompletionToken>
  auto async_wait(std::uint64_t handle, wait_options opts, CompletionToken&& token) {
    return async_wait(handle, std::make_shared<const wait_options>(std::move(opts)),
                      std::forward<CompletionToken>(token));
  }

  /// `co_await client.wait(handle)`: async_wait with use_awaitable.
  boost::asio::awaitable<outcome> wait(std::uint64_t handle, wait_options opts = {});

  /// Any JSON-RPC method over the same pool; `params_json` is a JSON object
  /// (build it with pollster::params). Completion signature void(call_result);
  /// the handler never runs inside this call.
  template <class CompletionToken>
  auto async_call(std::string method, std::string params_json, call_options opts,
                  CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(call_result)>(
        [this](auto handler, std::string m, std::string p, call_options o) {
          start_call(std::move(m), std::move(p), std::move(o),
                     boost::asio::any_completion_handler<void(call_result)>(std::move(handler)));
        },
        token, std::move(method), std::move(params_json), std::move(opts));
  }
  /// `co_await client.call(method, params)`: async_call with use_awaitable.
  boost::asio::awaitable<call_result> call(std::string method, std::string params_json,
                                           call_options opts = {});

  /// Calls a start method and reads its `asyncHandle`: persist the handle,
  /// then wait(handle) — later, or in another process. Completion signature
  /// void(start_result).
  template <class CompletionToken>
  auto async_start(std::string method, std::string params_json, call_options opts,
                   CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(start_result)>(
        [this](auto handler, std::string m, std::string p, call_options o) {
          start_start(std::move(m), std::move(p), std::move(o),
                      boost::asio::any_completion_handler<void(start_result)>(std::move(handler)));
        },
        token, std::move(method), std::move(params_json), std::move(opts));
  }
  /// `co_await client.start(method, params)`: async_start with use_awaitable.
  boost::asio::awaitable<start_result> start(std::string method, std::string params_json,
                                             call_options opts = {});

  /// async_start, then async_wait on its handle. A failed start is an outcome
  /// of kind `start_failed` (handle 0); otherwise the outcome carries the
  /// start answer in `start_json`. Completion signature void(outcome).
  template <class CompletionToken>
  auto async_start_and_wait(std::string method, std::string params_json, call_options copts,
                            wait_options wopts, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(outcome)>(
        [this](auto handler, std::string m, std::string p, call_options c, wait_options w) {
          start_start_and_wait(
              std::move(m), std::move(p), std::move(c),
              std::make_shared<const wait_options>(std::move(w)),
              boost::asio::any_completion_handler<void(outcome)>(std::move(handler)));
        },
        token, std::move(method), std::move(params_json), std::move(copts), std::move(wopts));
  }
  /// `co_await client.start_and_wait(method, params)`: async_start_and_wait
  /// with use_awaitable.
  boost::asio::awaitable<outcome> start_and_wait(std::string method, std::string params_json,
                                                 wait_options wopts = {},
                                                 call_options copts = {});

  /// Releases (keepResult=false) the result of a completed handle whose
  /// outcome the caller has handled — for waits with purge_policy::never that
  /// release only once the outcome is stored (as `pollster watch` does once a
  /// line is written). Best effort, bounded by client_config::release_timeout,
  /// and never ahead of a poll that is due.
  void release(std::uint64_t handle);

  /// Cancels every wait and call in flight and closes the connections.
  void shutdown();

  /// The connection pool now (connections open, busy, requests queued).
  pool_stats pool() const noexcept;
  /// The endpoint parsed from client_config::url.
  const endpoint& target() const noexcept;

 private:
  struct impl;
  void start_wait(std::uint64_t handle, std::shared_ptr<const wait_options> opts,
                  boost::asio::any_completion_handler<void(outcome)> handler);
  void start_call(std::string method, std::string params, call_options opts,
                  boost::asio::any_completion_handler<void(call_result)> handler);
  void start_start(std::string method, std::string params, call_options opts,
                   boost::asio::any_completion_handler<void(start_result)> handler);
  void start_start_and_wait(std::string method, std::string params, call_options copts,
                            std::shared_ptr<const wait_options> wopts,
                            boost::asio::any_completion_handler<void(outcome)> handler);
  std::shared_ptr<impl> impl_;
};

}  // namespace pollster
