// TLS for the simulator: OpenSSL driven over an Asio socket through a
// minimal BIO. Included by server.cpp only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

namespace pollster::sim::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

/// TLS with OpenSSL over Asio's socket through a minimal BIO: ciphertext is
/// read by Asio into a per-connection buffer (Asio tracks readiness, so a
/// request costs one recv and its answer one send) and records OpenSSL writes
/// are collected and sent in one write. No BIO pair, no intermediate copies
/// beyond OpenSSL's own. Read-ahead lets OpenSSL take a whole request at once.
class tls_stream {
 public:
  tls_stream(tcp::socket sock, SSL_CTX* ctx) : sock_(std::move(sock)), ssl_(SSL_new(ctx)) {
    if (!ssl_) throw std::bad_alloc();
    BIO* bio = BIO_new(method());
    if (!bio) {
      SSL_free(ssl_);
      throw std::bad_alloc();
    }
    BIO_set_data(bio, this);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_, bio, bio);  // one reference, owned by ssl_
    SSL_set_accept_state(ssl_);
    error_code ec;
    sock_.non_blocking(true, ec);  // sends never block: the close_notify and the answer sent at once
    rbuf_.resize(17 * 1024);
    wbuf_.reserve(4096);
  }
  ~tls_stream() { SSL_free(ssl_); }
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  tcp::socket& socket() { return sock_; }

  template <class Handler>
  void async_handshake(Handler&& h) {
    run([this] { return SSL_do_handshake(ssl_); },
        [h = std::forward<Handler>(h)](error_code ec, std::size_t) mutable { h(ec); });
  }
  template <class Handler>
  void async_read_some(asio::mutable_buffer b, Handler&& h) {
    auto op = [this, b] { return SSL_read(ssl_, b.data(), static_cast<int>(std::min<std::size_t>(b.size(), INT_MAX))); };
    // Between requests there is no ciphertext here nor in OpenSSL's
    // read-ahead buffer, and nothing to send: SSL_read could only answer
    // WANT_READ, so wait for the socket first (saves a failing SSL_read, about
    // 1k instructions per request).
    if (rpos_ == rlen_ && wbuf_.empty() && SSL_is_init_finished(ssl_) && !SSL_has_pending(ssl_)) {
      fill(op, std::forward<Handler>(h));
      return;
    }
    run(op, std::forward<Handler>(h));
  }
  /// Writes all of `b`.
  template <class Handler>
  void async_write(asio::const_buffer b, Handler&& h) {
    if (b.size() == 0) {
      asio::post(sock_.get_executor(), [h = std::forward<Handler>(h)]() mutable { h(error_code{}, 0); });
      return;
    }
    run([this, b] { return SSL_write(ssl_, b.data(), static_cast<int>(b.size())); }, std::forward<Handler>(h));
  }
  /// Sends close_notify if the socket takes it without waiting.
  void send_close_notify() {
    ERR_clear_error();
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
    ERR_clear_error();
    if (!wbuf_.empty()) {
      error_code ec;
      sock_.send(asio::buffer(wbuf_), 0, ec);
      wbuf_.clear();
    }
  }

 private:
  // Runs an OpenSSL operation; feeds it ciphertext when it wants some, sends
  // what it wrote, and completes the handler.
  template <class Op, class Handler>
  void run(Op op, Handler&& h) {
    clear_errors();
    const int r = op();
    if (r > 0) {
      flush_then(std::forward<Handler>(h), error_code{}, static_cast<std::size_t>(r));
      return;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) {
      if (!wbuf_.empty()) {  // handshake flights, alerts: out before waiting for the peer
        asio::async_write(sock_, asio::buffer(wbuf_),
                          [this, op, h = std::forward<Handler>(h)](error_code ec, std::size_t) mutable {
                            wbuf_.clear();
                            if (ec) h(ec, 0);
                            else fill(op, std::move(h));
                          });
        return;
      }
      fill(op, std::forward<Handler>(h));
      return;
    }
    error_code ec;
    if (e == SSL_ERROR_ZERO_RETURN) ec = asio::error::eof;
    else if (e == SSL_ERROR_SYSCALL) ec = asio::error::eof;  // our BIO never fails: the peer went away
    else ec = error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category());
    if (!ec) ec = asio::error::connection_aborted;
    ERR_clear_error();
    wbuf_.clear();
    asio::post(sock_.get_executor(), [h = std::forward<Handler>(h), ec]() mutable { h(ec, 0); });
  }

  // SSL_get_error needs an empty error queue before the operation. It is
  // nearly always empty already: OpenSSL 3.0's ERR_clear_error wipes all 16
  // slots (about 800 instructions), ERR_peek_error only looks.
  static void clear_errors() {
    if (ERR_peek_error() != 0) ERR_clear_error();
  }

  template <class Op, class Handler>
  void fill(Op op, Handler&& h) {
    sock_.async_read_some(asio::buffer(rbuf_),
                          [this, op, h = std::forward<Handler>(h)](error_code ec, std::size_t n) mutable {
                            if (ec) {
                              h(ec, 0);
                              return;
                            }
                            rpos_ = 0;
                            rlen_ = n;
                            run(op, std::move(h));
                          });
  }

  template <class Handler>
  void flush_then(Handler&& h, error_code ec, std::size_t n) {
    if (wbuf_.empty()) {
      // Completed without I/O (the request was already buffered): run the
      // handler now, unless nested too deep (a client pipelining without end).
      if (depth_ < 8) {
        ++depth_;
        h(ec, n);
        --depth_;
      } else {
        asio::post(sock_.get_executor(), [h = std::forward<Handler>(h), ec, n]() mutable { h(ec, n); });
      }
      return;
    }
    // The answer nearly always fits in the socket buffer: send it now and
    // complete inline (as above), which saves the reactor operation and the
    // trip through the scheduler that async_write's speculative send takes.
    // What the socket does not take (or an error) goes the asynchronous way.
    std::size_t sent = 0;
    if (depth_ < 8) {
      error_code sec;
      sent = sock_.send(asio::buffer(wbuf_), 0, sec);
      if (sec) sent = 0;
      if (sent == wbuf_.size()) {
        wbuf_.clear();
        ++depth_;
        h(ec, n);
        --depth_;
        return;
      }
    }
    asio::async_write(sock_, asio::buffer(wbuf_.data() + sent, wbuf_.size() - sent),
                      [this, h = std::forward<Handler>(h), n](error_code wec, std::size_t) mutable {
                        wbuf_.clear();
                        h(wec, wec ? 0 : n);
                      });
  }

  static int bio_write(BIO* b, const char* data, int len) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    self->wbuf_.append(data, static_cast<std::size_t>(len));
    return len;
  }
  static int bio_read(BIO* b, char* out, int len) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    const std::size_t avail = self->rlen_ - self->rpos_;
    if (avail == 0) {
      BIO_set_retry_read(b);
      return -1;
    }
    const std::size_t n = std::min<std::size_t>(avail, static_cast<std::size_t>(len));
    std::memcpy(out, self->rbuf_.data() + self->rpos_, n);
    self->rpos_ += n;
    return static_cast<int>(n);
  }
  static long bio_ctrl(BIO* b, int cmd, long, void*) {
    auto* self = static_cast<tls_stream*>(BIO_get_data(b));
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_PENDING:
        return static_cast<long>(self->rlen_ - self->rpos_);
      case BIO_CTRL_WPENDING:
        return static_cast<long>(self->wbuf_.size());
      default:
        return 0;
    }
  }
  static BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pollster-sim");
      BIO_meth_set_write(bm, bio_write);
      BIO_meth_set_read(bm, bio_read);
      BIO_meth_set_ctrl(bm, bio_ctrl);
      BIO_meth_set_create(bm, [](BIO*) { return 1; });
      BIO_meth_set_destroy(bm, [](BIO*) { return 1; });
      return bm;
    }();
    return m;
  }

  tcp::socket sock_;
  SSL* ssl_;
  std::vector<char> rbuf_;
  std::size_t rpos_ = 0;
  std::size_t rlen_ = 0;
  std::string wbuf_;
  int depth_ = 0;
};


}  // namespace pollster::sim::detail
