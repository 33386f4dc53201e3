// What the simulator's I/O shell owns (the listener, the TLS context, the
// model and its lock, the live connections, the counters), and the accept
// loop's operations. Included by server.cpp only.
#pragma once

#include "model.hpp"
#include "pollster/sim/server.hpp"
#include "rpc.hpp"
#include "tls_stream.hpp"  // also the asio, ssl, tcp and error_code names

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace pollster::sim::detail {

inline void bump(std::atomic<std::uint64_t>& a) noexcept {  // single writer: the io thread
  a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}


class connection;

/// Everything the server owns; connections reach it by reference.
struct state {
  explicit state(config c) : cfg(std::move(c)), model(cfg, wall_epoch_ms()) {}

  static std::int64_t wall_epoch_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::uint32_t now_ms() const {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - epoch).count());
  }
  void count_fault(fault_id f) { bump(io_faults[static_cast<std::size_t>(f)]); }

  void bind();
  void accept();
  void arm_failover();
  void wait_signal();
  void shutdown_all();  // io thread
  void stop();
  stats snapshot();

  config cfg;
  std::chrono::steady_clock::time_point epoch = std::chrono::steady_clock::now();
  std::mutex mu;            ///< guards model
  detail::cluster model;
  detail::request_parser json;  ///< io thread only
  std::vector<std::string> versions;
  std::string auth_token;   ///< base64(user:password)
  std::string cert_pem, key_pem, cert_sha;
  std::string url_host;
  std::uint16_t port = 0;
  bool bound = false;
  bool any_fault = false;

  std::unique_ptr<asio::io_context> io;
  std::optional<ssl::context> tls;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> failover_timer;
  std::optional<asio::steady_timer> accept_retry;
  std::optional<asio::signal_set> signals;
  std::thread thread;
  std::atomic<bool> stopping{false};

  connection* conns = nullptr;  ///< intrusive list of live connections (io thread)

  std::atomic<std::uint64_t> connections_open{0}, connections_accepted{0}, http_401{0}, requests_total{0};
  std::atomic<std::uint64_t> service_time_ns{0};
  /// config::service: when the (one, serial) API endpoint is free again. io thread.
  std::chrono::steady_clock::time_point busy_until{};
  std::array<std::atomic<std::uint64_t>, detail::fault_count> io_faults{};
};


}  // namespace pollster::sim::detail
