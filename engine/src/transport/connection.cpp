#include "transport/connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <memory>
#include <optional>

#include "pollster/error.hpp"
#include "transport/handler_memory.hpp"
#include "transport/http_reader.hpp"
#include "transport/tls.hpp"

namespace pollster::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

connection::connection(asio::any_io_executor ex, asio::ssl::context* tls_ctx, const endpoint& ep,
                       const tls_options& tls, std::size_t body_limit)
    : ex_(std::move(ex)),
      tls_ctx_(tls_ctx),
      ep_(ep),
      tls_(tls),
      body_limit_(body_limit),
      handler_memory_(handler_memory::create()),
      watchdog_(ex_),
      alive_(std::make_shared<connection*>(this)) {}

connection::~connection() {
  *alive_ = nullptr;  // a watchdog handler already queued must not touch us
  close();
  handler_memory_->release_owner();
}

// The request deadline, checked lazily: one timer wait per connection, moved
// only when a request's deadline is earlier than the wait already set.
// Beast's tcp_stream timeouts instead start and cancel a timer per read and
// per write, which cost two timer operations (and two heap allocations, past
// Asio's recycling cache) per request (docs/performance.md).
void connection::watch_until(time_point at) {
  watching_until_ = at;
  const std::uint64_t generation = ++watch_generation_;
  watchdog_.expires_at(at);  // cancels the wait set before, if any
  watchdog_.async_wait(asio::bind_allocator(
      handler_allocator<std::byte>(*handler_memory_),
      [alive = alive_, generation](const boost::system::error_code& ec) {
        if (ec == asio::error::operation_aborted || !*alive) return;
        // A wait that expired before it was replaced or stopped is stale.
        if ((*alive)->watch_generation_ != generation) return;
        (*alive)->on_watchdog();
      }));
}

void connection::stop_watching() noexcept {
  if (watching_until_ == time_point::max()) return;
  watching_until_ = time_point::max();
  ++watch_generation_;
  watchdog_.cancel();
}

void connection::on_watchdog() {
  watching_until_ = time_point::max();
  if (deadline_ == time_point::max()) return;  // idle: the next request sets it again
  if (std::chrono::steady_clock::now() >= deadline_) {
    timed_out_ = true;
    close();  // the pending read or write completes with an error
    return;
  }
  watch_until(deadline_);
}

bool connection::is_open() const noexcept { return open_; }

beast::tcp_stream& connection::tcp() noexcept {
  return tls_stream_ ? tls_stream_->next_layer() : *plain_;
}

void connection::close() noexcept {
  stop_watching();
  if (!tls_stream_ && !plain_) return;
  beast::error_code ignored;
  // No TLS close_notify: the server does not need it, and waiting for it would
  // need a deadline of its own. Closing the socket cancels pending operations.
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().close();
  open_ = false;
}

namespace {

exchange_result failure(error e, std::string detail = {}) {
  exchange_result r;
  r.ec = make_error_code(e);
  r.detail = std::move(detail);
  return r;
}

// Why a handshake failed, in words an operator can act on. The verify result
// counts only when verification was on: with a pin or insecure, OpenSSL still
// records "self-signed" while a handshake fails for another reason (a reset).
exchange_result handshake_failure(SSL* ssl, const beast::error_code& ec) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE)
    return failure(error::certificate_rejected,
                   std::string("server certificate rejected: ") +
                       X509_verify_cert_error_string(verify));
  return failure(error::tls_handshake_failed, "TLS handshake failed: " + ec.message());
}

}  // namespace

asio::awaitable<exchange_result> connection::connect(time_point deadline) {
  close();
  served_ = 0;
  read_buf_.clear();
  if (tls_ctx_) {
    tls_stream_ = std::make_unique<tls_stream>(ex_, *tls_ctx_);
    plain_.reset();
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(ex_);
    tls_stream_.reset();
  }

  // Connect: IP literals skip the resolver.
  tcp().expires_at(deadline);
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(ep_.host, ec);
  if (!ec) {
    auto [cec] = co_await tcp().async_connect(tcp::endpoint(ip, ep_.port), use_nothrow);
    ec = cec;
  } else {
    tcp::resolver resolver(ex_);
    auto [rec, results] = co_await resolver.async_resolve(ep_.host, std::to_string(ep_.port),
                                                          use_nothrow);
    if (rec)
      co_return failure(error::connect_failed,
                        "cannot resolve '" + ep_.host + "': " + rec.message());
    auto [cec, unused] = co_await tcp().async_connect(results, use_nothrow);
    ec = cec;
  }
  if (ec) {
    close();
    if (ec == beast::error::timeout) co_return failure(error::request_timeout, "connect timed out");
    co_return failure(error::connect_failed, "connect to " + ep_.host_header() + ": " + ec.message());
  }
  tcp().socket().set_option(tcp::no_delay(true), ec);

  if (tls_stream_) {
    SSL* ssl = tls_stream_->native_handle();
    const bool verify = !tls_.insecure_skip_verify && tls_.pin_sha256.empty();
    if (!ep_.host_is_ip()) SSL_set_tlsext_host_name(ssl, ep_.host.c_str());  // SNI
    if (verify) {
      // OpenSSL checks the name itself, so its verify result names a mismatch.
      if (ep_.host_is_ip())
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ep_.host.c_str());
      else
        SSL_set1_host(ssl, ep_.host.c_str());
    }
    auto [hec] = co_await tls_stream_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
    if (hec) {
      auto r = hec == beast::error::timeout ? failure(error::request_timeout, "TLS handshake timed out")
                                            : handshake_failure(ssl, hec);
      close();
      co_return r;
    }
    if (!tls_.pin_sha256.empty()) {
      X509* cert = SSL_get0_peer_certificate(ssl);
      unsigned char md[32];
      unsigned int len = 0;
      const auto want = parse_sha256_hex(tls_.pin_sha256);
      if (!cert || !X509_digest(cert, EVP_sha256(), md, &len) || len != 32 ||
          !std::equal(want.begin(), want.end(), md)) {
        close();
        co_return failure(error::certificate_pin_mismatch,
                          "server certificate sha256 is " + (cert ? to_hex(md, len) : "absent") +
                              ", pinned " + to_hex(want.data(), want.size()));
      }
    }
  }
  // From here on each request's deadline is the watchdog's (watch_until).
  tcp().expires_never();
  open_ = true;
  co_return exchange_result{};
}

asio::awaitable<exchange_result> connection::exchange(std::string_view request,
                                                      time_point deadline) {
  if (!open_) co_return failure(error::connection_closed, "not connected");
  if (tls_stream_) co_return co_await do_exchange(*tls_stream_, request, deadline);
  co_return co_await do_exchange(*plain_, request, deadline);
}

template <class Stream>
asio::awaitable<exchange_result> connection::do_exchange(Stream& s, std::string_view request,
                                                         time_point deadline) {
  timed_out_ = false;
  deadline_ = deadline;
  struct idle_on_exit {
    time_point& d;
    ~idle_on_exit() { d = time_point::max(); }
  } idle{deadline_};
  if (deadline < watching_until_) watch_until(deadline);
  const bool reused = served_ > 0;
  // Bytes waiting on a kept-alive connection before we asked anything were
  // not meant for this request (an unasked answer, a close): never read them
  // as its answer. Treated like a stale connection: a fresh one is used.
  if (reused) {
    boost::system::error_code aec;
    if (tcp().socket().available(aec) > 0 || aec) {
      close();
      auto f = failure(error::connection_closed, "unasked bytes on a kept-alive connection");
      f.stale = true;
      co_return f;
    }
  }
  // Each request's write and read reuse this connection's handler memory.
  const handler_allocator<std::byte> memory(*handler_memory_);
  auto [wec, written] = co_await asio::async_write(s, asio::buffer(request),
                                                   asio::bind_allocator(memory, use_nothrow));
  if (wec) {
    close();
    if (timed_out_) co_return failure(error::request_timeout, "write timed out");
    auto f = failure(error::connection_closed, "write: " + wec.message());
    f.stale = reused;
    co_return f;
  }
  // 1xx interim answers (100 Continue, 103 Early Hints) precede the real one:
  // skip them (RFC 9110 §15.2). Bounded: the deadline still applies.
  std::optional<http_reader> reader;
  boost::system::error_code rec;
  std::size_t read = 0;
  for (int interim = 0;; ++interim) {
    reader.emplace(body_, body_limit_);
    auto [e, n] = co_await beast::http::async_read(s, read_buf_, *reader,
                                                   asio::bind_allocator(memory, use_nothrow));
    rec = e;
    read += n;
    if (rec || reader->status() < 100 || reader->status() >= 200 || reader->status() == 101 ||
        interim == 8)
      break;
  }
  if (rec) {
    close();
    namespace he = beast::http;
    if (timed_out_) co_return failure(error::request_timeout, "read timed out");
    if (rec == he::error::body_limit)
      co_return failure(error::body_too_large,
                        "answer body over the limit of " + std::to_string(body_limit_) + " bytes");
    if (reused && (rec == he::error::end_of_stream || rec == asio::error::eof ||
                   rec == asio::ssl::error::stream_truncated) && read == 0 && reader->got_some() == false) {
      auto f = failure(error::connection_closed, "read: " + rec.message() + " (idle keep-alive connection closed)");
      f.stale = true;
      co_return f;
    }
    if (rec == he::error::end_of_stream || rec == he::error::partial_message ||
        rec == asio::error::eof || rec == asio::error::connection_reset ||
        rec == asio::ssl::error::stream_truncated || rec == asio::error::operation_aborted ||
        rec == asio::error::broken_pipe || rec == asio::error::bad_descriptor)
      co_return failure(error::connection_closed, "read: " + rec.message());
    if (rec.category() == he::make_error_code(he::error::end_of_stream).category() ||
        rec == he::make_error_code(he::error::header_limit))
      co_return failure(error::malformed_http, "HTTP: " + rec.message());
    co_return failure(error::connection_closed, "read: " + rec.message());
  }
  ++served_;
  exchange_result r;
  r.http_status = reader->status();
  r.retry_after = reader->retry_after();
  // Bytes after the answer were not asked for: the connection is out of
  // step, and they must never be read as the next request's answer.
  r.reusable = reader->keep_alive() && read_buf_.size() == 0;
  if (!r.reusable) close();
  co_return r;
}

}  // namespace pollster::detail
