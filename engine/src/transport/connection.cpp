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
#include <boost/beast/core/read_size.hpp>
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

connection::deadline_scope connection::start_deadline(time_point deadline) {
  timed_out_ = false;
  deadline_ = deadline;
  if (deadline < watching_until_) watch_until(deadline);
  return deadline_scope{*this};
}

bool connection::is_open() const noexcept { return open_; }

void connection::close() noexcept {
  stop_watching();
  if (!tcp_) return;
  // The fd number may be reused once closed: OpenSSL must not touch it again.
  if (ssl_) ssl_->detach();
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
exchange_result handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE)
    return failure(error::certificate_rejected,
                   std::string("server certificate rejected: ") +
                       X509_verify_cert_error_string(verify));
  return failure(error::tls_handshake_failed, "TLS handshake failed: " + ec.message());
}

// The socket's readiness, as an OpenSSL call that could not go on asked for.
// The wait's handler memory is the connection's, as its other operations'.
auto readiness(tcp::socket& s, const tls_io& io, handler_memory& memory) {
  return s.async_wait(io.want,
                      asio::bind_allocator(handler_allocator<std::byte>(memory), use_nothrow));
}

// Why a readiness wait ended the operation: its error, or the deadline
// (the watchdog closed the socket after the wait had completed).
boost::system::error_code waited(std::tuple<boost::system::error_code> r, bool timed_out) {
  auto [ec] = r;
  if (!ec && timed_out) ec = asio::error::operation_aborted;
  return ec;
}

}  // namespace

asio::awaitable<exchange_result> connection::connect(time_point deadline) {
  close();
  served_ = 0;
  read_buf_.clear();
  ssl_.reset();
  tcp_ = std::make_unique<beast::tcp_stream>(ex_);

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

  if (tls_ctx_) {
    // OpenSSL reads and writes the socket itself (tls_session.hpp); the fd is
    // non-blocking so that a call that would block says so instead.
    tcp().expires_never();
    tcp().socket().non_blocking(true, ec);
    if (ec) {
      close();
      co_return failure(error::connect_failed, "connect to " + ep_.host_header() + ": " + ec.message());
    }
    ssl_ = std::make_unique<tls_session>(tls_ctx_->native_handle(), tcp().socket().native_handle());
    SSL* ssl = ssl_->native_handle();
    const bool verify = !tls_.insecure_skip_verify && tls_.pin_sha256.empty();
    if (!ep_.host_is_ip()) SSL_set_tlsext_host_name(ssl, ep_.host.c_str());  // SNI
    if (verify) {
      // OpenSSL checks the name itself, so its verify result names a mismatch.
      if (ep_.host_is_ip())
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ep_.host.c_str());
      else
        SSL_set1_host(ssl, ep_.host.c_str());
    }
    // The handshake's deadline is the watchdog's, as a request's is: it
    // closes the socket, and the pending wait ends with an error.
    const deadline_scope scope = start_deadline(deadline);
    boost::system::error_code hec;
    // co_await only in a statement of its own, here and below: written inside
    // `&&` or `?:`, this build (GCC 12) waited for readability after an
    // SSL_read that had returned data, and hung against nginx.
    for (tls_io io = ssl_->handshake(); !hec; io = ssl_->handshake()) {
      if (!io.wait) {
        hec = io.ec;
        break;
      }
      auto w = co_await readiness(tcp().socket(), io, *handler_memory_);
      hec = waited(w, timed_out_);
    }
    if (hec || timed_out_) {
      auto r = timed_out_ ? failure(error::request_timeout, "TLS handshake timed out")
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
  const deadline_scope scope = start_deadline(deadline);
  const bool reused = served_ > 0;
  // Bytes waiting on a kept-alive connection before we asked anything were
  // not meant for this request (an unasked answer, a close): never read them
  // as its answer. Treated like a stale connection: a fresh one is used.
  if (reused) {
    boost::system::error_code aec;
    if (tcp().socket().available(aec) > 0 || aec || (ssl_ && ssl_->has_pending())) {
      close();
      auto f = failure(error::connection_closed, "unasked bytes on a kept-alive connection");
      f.stale = true;
      co_return f;
    }
  }
  // Each request's write and read reuse this connection's handler memory.
  const handler_allocator<std::byte> memory(*handler_memory_);
  boost::system::error_code wec;
  if (ssl_) {
    // Usually one SSL_write, no wait: the socket takes the request at once.
    std::string_view left = request;
    while (!left.empty() && !wec) {
      const tls_io io = ssl_->write(left.data(), left.size());
      left.remove_prefix(io.bytes);
      wec = io.ec;
      if (io.wait) {
        auto w = co_await readiness(tcp().socket(), io, *handler_memory_);
        wec = waited(w, timed_out_);
      }
    }
  } else {
    auto [e, written] = co_await asio::async_write(tcp(), asio::buffer(request),
                                                   asio::bind_allocator(memory, use_nothrow));
    wec = e;
  }
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
    if (ssl_) {
      // beast::http::async_read's loop, on SSL_read: parse what is buffered,
      // read more when the parser needs it, wait when OpenSSL has none.
      rec = {};
      // The answer cannot be there yet unless OpenSSL read it ahead: wait for
      // it before the first SSL_read, not after one that finds nothing (a
      // recv and an OpenSSL call less per request). Not on a reused connection:
      // a FIN that came while it idled was reported to nobody (edge-triggered),
      // and only a read sees it at once (then the request goes again, stale).
      bool wait_first = interim == 0 && !reused && !ssl_->has_pending();
      for (;;) {
        if (read_buf_.size() > 0) {
          boost::system::error_code pec;
          const std::size_t used = reader->put(read_buf_.data(), pec);
          read_buf_.consume(used);
          read += used;
          if (!pec && reader->is_done()) break;
          if (pec && pec != beast::http::error::need_more) {
            rec = pec;
            break;
          }
          if (!pec && used > 0) continue;  // progress: parse the rest before reading more
        }
        const std::size_t size = beast::read_size(read_buf_, 65536);
        if (size == 0) {
          rec = beast::http::error::buffer_overflow;
          break;
        }
        if (wait_first) {
          wait_first = false;
          auto w = co_await readiness(tcp().socket(), tls_io{}, *handler_memory_);
          rec = waited(w, timed_out_);
          if (rec) break;
        }
        auto space = read_buf_.prepare(size);
        const tls_io io = ssl_->read(space.data(), space.size());
        read_buf_.commit(io.bytes);
        if (io.wait) {
          auto w = co_await readiness(tcp().socket(), io, *handler_memory_);
          rec = waited(w, timed_out_);
          if (rec) break;
          continue;
        }
        if (io.bytes > 0) continue;
        if (io.ec == asio::error::eof) {  // close_notify: as beast's read treats EOF
          if (reader->basic_parser<false>::got_some()) {
            boost::system::error_code pec;
            reader->put_eof(pec);
            rec = pec;
          } else {
            rec = beast::http::error::end_of_stream;
          }
          break;
        }
        rec = io.ec;
        break;
      }
    } else {
      auto [e, n] = co_await beast::http::async_read(tcp(), read_buf_, *reader,
                                                     asio::bind_allocator(memory, use_nothrow));
      rec = e;
      read += n;
    }
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
  r.reusable = reader->keep_alive() && read_buf_.size() == 0 && !(ssl_ && ssl_->has_pending());
  if (!r.reusable) close();
  co_return r;
}

}  // namespace pollster::detail
