// TLS on a connected socket, OpenSSL driven directly: SSL_read and SSL_write
// on the socket's file descriptor through a minimal BIO (recv/send on the
// non-blocking fd). No I/O of its own beyond those calls and no waiting: a
// call that cannot go on says which readiness to wait for, and the caller
// (connection.cpp) waits with the socket's async_wait, bounded by its
// deadline. This replaces asio::ssl::stream, whose memory-BIO pair copied
// every record and ran its engine around each OpenSSL call
// (docs/performance.md, "TLS"). The verification settings are the SSL_CTX's
// (tls.cpp, make_client_context), which SSL_new inherits.
// Not thread-safe (one io_context thread).
#pragma once

#include <boost/asio/socket_base.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace pollster::detail {

/// What one OpenSSL call came to.
struct tls_io {
  std::size_t bytes = 0;  ///< > 0: done (read or written); else see `wait`/`ec`
  bool wait = false;      ///< wait for `want`, then call again with the same arguments
  boost::asio::socket_base::wait_type want = boost::asio::socket_base::wait_read;
  /// Set when it failed: asio::error::eof after the peer's close_notify,
  /// asio::ssl::error::stream_truncated after a close without one, a system
  /// error (connection_reset) or an OpenSSL one (asio's ssl category).
  boost::system::error_code ec;
};

class tls_session {
 public:
  /// A client session on connected socket `fd` (made non-blocking by the
  /// caller; the session does not own it). Throws std::bad_alloc.
  tls_session(SSL_CTX* ctx, int fd);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  SSL* native_handle() const noexcept { return ssl_; }

  tls_io handshake();
  tls_io read(void* data, std::size_t size);
  /// Partial writes are on: `bytes` may be less than `size` (whole records).
  tls_io write(const void* data, std::size_t size);
  /// OpenSSL holds received bytes not yet returned by read (read-ahead
  /// takes whatever the socket has, so socket.available() alone misses them).
  bool has_pending() const noexcept;
  /// The socket was closed: every later call fails (EBADF) instead of
  /// reading or writing whatever socket gets the fd number next.
  void detach() noexcept { fd_.fd = -1; }

  /// What the BIO (tls_session.cpp) works on.
  struct socket_fd {
    int fd;
    int sys_error = 0;  ///< errno of the last failed recv/send
  };

 private:
  tls_io result(int r);

  socket_fd fd_;  // before ssl_: its BIO points here
  SSL* ssl_ = nullptr;
};

}  // namespace pollster::detail
