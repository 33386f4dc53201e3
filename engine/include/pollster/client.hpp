// A client for one cluster endpoint: a bounded pool of keep-alive TLS
// connections, a rate limit, and the waits that poll over them.
#pragma once

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
  /// throws for what the cluster or network does.
  boost::asio::awaitable<outcome> wait(std::uint64_t handle, wait_options opts = {});

  /// The same for callers without coroutines: `done` runs on the io_context.
  /// With purge_policy::after_delivery the release is sent after `done` returns.
  void async_wait(std::uint64_t handle, wait_options opts, std::function<void(outcome)> done);

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
  std::shared_ptr<impl> impl_;
};

}  // namespace pollster
