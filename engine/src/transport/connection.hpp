// One keep-alive HTTPS (or, when allowed, plain HTTP) connection to a cluster.
// A thin I/O shell: connect, send one request, read one answer. Every step is
// bounded by the deadline it is given. Not thread-safe (one io_context thread).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "pollster/config.hpp"
#include "pollster/endpoint.hpp"
#include "protocol/padded_buffer.hpp"
#include "transport/frame_memory.hpp"
#include "transport/tls_session.hpp"

namespace pollster::detail {

class handler_memory;

struct exchange_result {
  std::error_code ec;
  std::string detail;            ///< for fatal transport errors: why, readable
  int http_status = 0;
  std::chrono::seconds retry_after{0};
  bool reusable = false;         ///< the connection may carry another request
  /// The connection had served requests before and closed before the first
  /// byte of this answer: most likely the server's idle close of a kept-alive
  /// connection racing our request.
  bool stale = false;
};

class connection {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  connection(boost::asio::any_io_executor ex, boost::asio::ssl::context* tls_ctx,
             const endpoint& ep, const tls_options& tls, std::size_t body_limit);
  ~connection();

  bool is_open() const noexcept;
  /// Resolves, connects, handshakes and checks the certificate per tls_options.
  boost::asio::awaitable<exchange_result> connect(time_point deadline);
  /// Sends `request` (complete HTTP bytes) and reads one answer into body().
  boost::asio::awaitable<exchange_result> exchange(std::string_view request, time_point deadline);
  /// Closes at once; pending operations complete with an error.
  void close() noexcept;
  /// Cancels the deadline's timer wait while no request is in flight, so an
  /// idle connection holds no pending work and a finished io_context drains.
  void stop_watching() noexcept;

  const padded_buffer& body() const noexcept { return body_; }
  /// Done with the answer: a buffer grown past `keep` (a big list) is given
  /// back now, not when the connection next carries an answer.
  void trim_body(std::size_t keep) noexcept { body_.clear_and_trim(keep); }
  /// Scratch space to assemble the next request in; reused.
  std::string& request_buffer() noexcept { return request_; }
  std::uint64_t requests_served() const noexcept { return served_; }

 private:
  boost::beast::tcp_stream& tcp() noexcept { return *tcp_; }
  void watch_until(time_point at);
  // One step's deadline (a handshake, an exchange) for the watchdog; the
  // connection is idle again when the scope ends.
  struct deadline_scope {
    connection& c;
    ~deadline_scope() { c.deadline_ = time_point::max(); }
  };
  deadline_scope start_deadline(time_point deadline);
  void on_watchdog();

  boost::asio::any_io_executor ex_;
  boost::asio::ssl::context* tls_ctx_;
  const endpoint& ep_;
  const tls_options& tls_;
  std::size_t body_limit_;
  std::unique_ptr<boost::beast::tcp_stream> tcp_;  // connect; plain HTTP's reads and writes
  std::unique_ptr<tls_session> ssl_;               // TLS on tcp_'s socket, when tls_ctx_
  boost::beast::flat_buffer read_buf_;
  padded_buffer body_;
  std::string request_;
  std::uint64_t served_ = 0;
  bool open_ = false;
  handler_memory* handler_memory_;  // see handler_memory.hpp; outlives us if an op does
  // The request deadline (watch_until): the exchange's, max when idle.
  boost::asio::steady_timer watchdog_;
  time_point deadline_ = time_point::max();
  time_point watching_until_ = time_point::max();  // max: no wait set
  std::uint64_t watch_generation_ = 0;  // tells the current wait from a stale one
  bool timed_out_ = false;
  std::shared_ptr<connection*> alive_;  // null once destroyed, for queued handlers
};

}  // namespace pollster::detail

ENGINE_POOLED_FRAMES(pollster::detail::connection);
