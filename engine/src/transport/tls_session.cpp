#include "transport/tls_session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <cerrno>
#include <climits>
#include <new>

namespace pollster::detail {

namespace asio = boost::asio;

namespace {

using socket_fd = tls_session::socket_fd;

int fd_read(BIO* b, char* out, int len) {
  auto* s = static_cast<socket_fd*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t n = ::recv(s->fd, out, static_cast<std::size_t>(len), 0);
    if (n >= 0) return static_cast<int>(n);  // 0: the peer closed
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    else s->sys_error = errno;
    return -1;
  }
}

// MSG_NOSIGNAL: a peer that went away must not raise SIGPIPE in the
// embedding process (OpenSSL's own socket BIO uses write()).
int fd_write(BIO* b, const char* in, int len) {
  auto* s = static_cast<socket_fd*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t n = ::send(s->fd, in, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<int>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    else s->sys_error = errno;
    return -1;
  }
}

// FLUSH: every write went to the kernel already. Nothing else applies (no
// kTLS, no bytes pending in the BIO itself).
long fd_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

// recv/send straight on the fd: the kernel's buffers are the only ones
// beyond OpenSSL's own record buffers.
BIO_METHOD* fd_method() {
  static BIO_METHOD* const m = [] {
    BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pollster-fd");
    if (!bm) throw std::bad_alloc();
    BIO_meth_set_read(bm, fd_read);
    BIO_meth_set_write(bm, fd_write);
    BIO_meth_set_ctrl(bm, fd_ctrl);
    BIO_meth_set_create(bm, [](BIO*) { return 1; });
    BIO_meth_set_destroy(bm, [](BIO*) { return 1; });
    return bm;
  }();
  return m;
}

}  // namespace

tls_session::tls_session(SSL_CTX* ctx, int fd) : fd_{fd} {
  BIO* bio = BIO_new(fd_method());
  if (bio) {
    BIO_set_data(bio, &fd_);
    BIO_set_init(bio, 1);
    ssl_ = SSL_new(ctx);
  }
  if (!ssl_) {
    BIO_free(bio);  // null-safe
    throw std::bad_alloc();
  }
  SSL_set_bio(ssl_, bio, bio);  // one reference, owned by ssl_
  SSL_set_connect_state(ssl_);
  // As asio::ssl::stream set them, except SSL_MODE_RELEASE_BUFFERS: that
  // frees and reallocates OpenSSL's record buffers around every idle moment
  // of a kept-alive connection, i.e. per request.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One recv takes a whole answer (all its records) when it is there.
  SSL_set_read_ahead(ssl_, 1);
}

tls_session::~tls_session() { SSL_free(ssl_); }

tls_io tls_session::result(int r) {
  tls_io io;
  if (r > 0) {
    io.bytes = static_cast<std::size_t>(r);
    return io;
  }
  const int e = SSL_get_error(ssl_, r);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      io.wait = true;
      io.want = asio::socket_base::wait_read;
      return io;
    case SSL_ERROR_WANT_WRITE:
      io.wait = true;
      io.want = asio::socket_base::wait_write;
      return io;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      io.ec = asio::error::eof;
      break;
    case SSL_ERROR_SYSCALL: {
      const unsigned long err = ERR_get_error();
      if (err != 0 && ERR_GET_LIB(err) == ERR_LIB_SYS)
        io.ec = boost::system::error_code(ERR_GET_REASON(err), boost::system::system_category());
      else if (err != 0)
        io.ec = boost::system::error_code(static_cast<int>(err), asio::error::get_ssl_category());
      else if (fd_.sys_error != 0)
        io.ec = boost::system::error_code(fd_.sys_error, boost::system::system_category());
      else
        io.ec = asio::ssl::error::stream_truncated;  // EOF (OpenSSL 1.1's way of saying it)
      break;
    }
    case SSL_ERROR_SSL: {
      const unsigned long err = ERR_get_error();
      if (ERR_GET_LIB(err) == ERR_LIB_SSL && ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        io.ec = asio::ssl::error::stream_truncated;  // closed without close_notify
      else if (err != 0)
        io.ec = boost::system::error_code(static_cast<int>(err), asio::error::get_ssl_category());
      else
        io.ec = asio::ssl::error::unexpected_result;
      break;
    }
    default:
      io.ec = asio::ssl::error::unexpected_result;
      break;
  }
  ERR_clear_error();
  fd_.sys_error = 0;
  return io;
}

namespace {

// The error queue is this thread's: it must be empty before each call so that
// SSL_get_error sees only what this call left (a failed X509_digest or
// another connection's error would otherwise read as ours). It almost always
// is (result() empties it after a failure), and looking is cheaper than
// ERR_clear_error, which clears all 16 slots.
void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

tls_io tls_session::handshake() {
  clear_errors();
  return result(SSL_do_handshake(ssl_));
}

tls_io tls_session::read(void* data, std::size_t size) {
  clear_errors();
  return result(SSL_read(ssl_, data, static_cast<int>(size < INT_MAX ? size : INT_MAX)));
}

tls_io tls_session::write(const void* data, std::size_t size) {
  clear_errors();
  return result(SSL_write(ssl_, data, static_cast<int>(size < INT_MAX ? size : INT_MAX)));
}

bool tls_session::has_pending() const noexcept { return SSL_has_pending(ssl_) == 1; }

}  // namespace pollster::detail
