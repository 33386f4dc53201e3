// The simulator's I/O shell: one io_context on one thread, TLS over TCP,
// HTTP/1.1 keep-alive. Decisions (jobs, answers, which fault fires) live in
// the cluster model (model.cpp); this file only moves bytes and applies the
// transport-level faults. The only simulator TU that instantiates Asio/Beast.
#include "pollster/sim/server.hpp"

#include "cert.hpp"
#include "model.hpp"
#include "pretty.hpp"
#include "query_form.hpp"
#include "rpc.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <charconv>
#include <climits>
#include <cstring>
#include <csignal>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace pollster::sim {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

namespace {

/// Bytes kept free in front of each answer body for its HTTP header, so that
/// header and body go out in one write without a copy.
constexpr std::size_t header_room = 160;

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

// API versions a 12.x cluster lists; those above the configured one are dropped.
constexpr std::array<std::string_view, 46> known_versions{
    "1.0",  "2.0",  "3.0",  "4.0",  "5.0",  "5.1",  "6.0",  "7.0",  "7.1",  "7.2",  "7.3",  "7.4",
    "8.0",  "8.1",  "8.2",  "8.3",  "8.4",  "8.5",  "8.6",  "8.7",  "9.0",  "9.1",  "9.2",  "9.3",
    "9.4",  "9.5",  "9.6",  "10.0", "10.1", "10.2", "10.3", "10.4", "10.5", "10.6", "10.7", "11.0",
    "11.1", "11.3", "11.5", "11.7", "11.8", "12.0", "12.2", "12.3", "12.5", "12.7"};

// Dotted numeric comparison: "9.6" < "10.0".
bool version_le(std::string_view a, std::string_view b) {
  while (!a.empty() || !b.empty()) {
    auto take = [](std::string_view& s) {
      unsigned v = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      s.remove_prefix(static_cast<std::size_t>(r.ptr - s.data()));
      if (!s.empty() && s.front() == '.') s.remove_prefix(1);
      else if (!s.empty() && r.ptr == s.data()) s = {};
      return v;
    };
    unsigned x = take(a), y = take(b);
    if (x != y) return x < y;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void bump(std::atomic<std::uint64_t>& a) noexcept {  // single writer: the io thread
  a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

/// Reads one request without allocating: checks the target and the
/// credentials as the header goes by, appends the body to a reused buffer.
class request_reader final : public http::basic_parser<true> {
 public:
  enum class target_kind : std::uint8_t { ok, not_found, unknown_version };

  request_reader(std::string& body, std::string& query, std::string_view auth_token,
                 std::string_view current_version, const std::vector<std::string>& versions)
      : body_(body), query_(query), token_(auth_token), current_(current_version), versions_(versions) {}

  bool auth_ok = false;
  bool is_post = false;
  bool is_get = false;
  bool expect_continue = false;
  bool http10 = false;
  target_kind target = target_kind::not_found;

  std::string_view api_version() const { return {version_, version_len_}; }

 private:
  void on_request_impl(http::verb m, beast::string_view, beast::string_view tgt, int http_version, error_code&) override {
    http10 = http_version == 10;
    is_post = m == http::verb::post;
    is_get = m == http::verb::get;
    std::string_view t = sv(tgt);
    query_.clear();
    if (auto q = t.find('?'); q != std::string_view::npos) {
      if (is_get) query_.assign(t.substr(q + 1));  // the documented GET form (rare: may allocate)
      t = t.substr(0, q);
    }
    constexpr std::string_view prefix = "/json-rpc/";
    if (t.substr(0, prefix.size()) != prefix) {
      target = target_kind::not_found;
      return;
    }
    std::string_view v = t.substr(prefix.size());
    if (!v.empty() && v.back() == '/') v.remove_suffix(1);  // Cinder posts to /json-rpc/<version>/
    if (v.empty() || v.find('/') != std::string_view::npos) {
      target = target_kind::not_found;
      return;
    }
    version_len_ = static_cast<std::uint8_t>(std::min(v.size(), sizeof version_));
    std::copy_n(v.data(), version_len_, version_);
    if (v == current_) {
      target = target_kind::ok;
      return;
    }
    for (const auto& s : versions_)
      if (v == s) {
        target = target_kind::ok;
        return;
      }
    target = target_kind::unknown_version;
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(http::field name, beast::string_view, beast::string_view value, error_code&) override {
    if (name == http::field::authorization) {
      std::string_view v = sv(value);
      auto sp = v.find(' ');
      if (sp == std::string_view::npos || !iequals(v.substr(0, sp), "basic")) return;
      v.remove_prefix(sp);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      auth_ok = v == token_;
    } else if (name == http::field::expect) {
      expect_continue = iequals(sv(value), "100-continue");
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    body_.clear();
    if (length && *length < (std::uint64_t{1} << 32)) body_.reserve(static_cast<std::size_t>(*length) + detail::json_padding);
  }
  std::size_t on_body_impl(beast::string_view s, error_code&) override {
    body_.append(s.data(), s.size());
    return s.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view s, error_code&) override {
    body_.append(s.data(), s.size());
    return s.size();
  }
  void on_finish_impl(error_code&) override {}

  std::string& body_;
  std::string& query_;
  std::string_view token_;
  std::string_view current_;
  const std::vector<std::string>& versions_;
  char version_[32];
  std::uint8_t version_len_ = 0;
};


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
    sock_.non_blocking(true, ec);  // for the best-effort close_notify only
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
    run([this, b] { return SSL_read(ssl_, b.data(), static_cast<int>(std::min<std::size_t>(b.size(), INT_MAX))); },
        std::forward<Handler>(h));
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
    ERR_clear_error();
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
    asio::async_write(sock_, asio::buffer(wbuf_),
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

class connection;

}  // namespace

using detail::answer_info;
using detail::decision;
using detail::fault_id;

namespace {

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

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(state& s, tcp::socket sock)
      : s_(s), stream_(std::move(sock), s.tls->native_handle()), timer_(stream_.socket().get_executor()) {
    next_ = s_.conns;
    if (next_) next_->prev_ = this;
    s_.conns = this;
    bump(s_.connections_open);
    body_.reserve(4096);
    out_.reserve(4096);
  }
  ~connection() {
    if (prev_) prev_->next_ = next_;
    else s_.conns = next_;
    if (next_) next_->prev_ = prev_;
    s_.connections_open.store(s_.connections_open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }

  connection* next() const { return next_; }

  void start() {
    error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    const auto slow = s_.cfg.fault.slow_handshake;
    if (slow.count() > 0) {
      s_.count_fault(fault_id::slow_handshake);
      timer_.expires_after(slow);
      timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec && !self->dead_) self->handshake();
      });
    } else {
      handshake();
    }
  }

  /// Abortive close: RST, nothing more is sent.
  void kill() {
    if (dead_) return;
    dead_ = true;
    error_code ec;
    auto& sock = stream_.socket();
    sock.set_option(asio::socket_base::linger(true, 0), ec);
    sock.close(ec);
    timer_.cancel();
  }

 private:
  enum class parse_state { done, more, failed };

  void handshake() {
    stream_.async_handshake([self = shared_from_this()](error_code ec) {
      if (!ec && !self->dead_) self->read();
    });
  }

  void read() {
    if (!reader_) {
      body_.clear();  // a request without a body never calls on_body_init
      reader_.emplace(body_, query_, s_.auth_token, s_.cfg.api_version, s_.versions);
      reader_->eager(true);
      reader_->body_limit(s_.cfg.body_limit);
      sent_continue_ = false;
    }
    if (in_.size() > 0) {
      switch (parse()) {
        case parse_state::done:
          on_request();
          return;
        case parse_state::failed:
          return;
        case parse_state::more:
          break;
      }
    }
    if (reader_->is_header_done() && reader_->expect_continue && !sent_continue_) {
      sent_continue_ = true;
      static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.async_write(asio::buffer(cont.data(), cont.size()),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                          if (!ec && !self->dead_) self->read();
                        });
      return;
    }
    stream_.async_read_some(in_.prepare(16 * 1024), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (ec || self->dead_) return;  // peer gone: dropping the last reference closes the socket
      self->in_.commit(n);
      self->read();
    });
  }

  parse_state parse() {
    while (in_.size() > 0) {
      error_code ec;
      std::size_t n = reader_->put(in_.data(), ec);
      in_.consume(n);
      if (ec == http::error::need_more) return parse_state::more;
      if (ec) {
        if (ec == http::error::body_limit)
          write_simple("413 Payload Too Large", "text/plain", "request body too large\n", true);
        else if (ec == http::error::header_limit)
          write_simple("431 Request Header Fields Too Large", "text/plain", "request header too large\n", true);
        else
          write_simple("400 Bad Request", "text/plain", "malformed HTTP request\n", true);
        return parse_state::failed;
      }
      if (reader_->is_done()) return parse_state::done;
      if (n == 0) return parse_state::more;
    }
    return reader_->is_done() ? parse_state::done : parse_state::more;
  }

  void on_request() {
    bump(s_.requests_total);
    ++requests_;
    keep_alive_ = reader_->keep_alive();
    http10_ = reader_->http10;
    if (!reader_->auth_ok) {
      bump(s_.http_401);
      // The body the vendor's Python SDK matches, period included.
      write_simple("401 Unauthorized", "text/plain", "401 Unauthorized.", !keep_alive_,
                   "WWW-Authenticate: Basic realm=\"SolidFire\"\r\n");
      return;
    }
    if (reader_->target != request_reader::target_kind::ok) {
      // An HTML page, as real clusters send: the Python SDK looks for
      // "404 Not Found", the Java SDK takes the message from "<p> (.*?)</p>".
      std::string page =
          "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<h1>404 Not Found</h1>\r\n<p> ";
      if (reader_->target == request_reader::target_kind::unknown_version)
        page += "Unknown API version " + std::string(reader_->api_version());
      else
        page += "The requested URL was not found on this server.";
      page += "</p>\r\n</body>\r\n</html>\r\n";
      write_simple("404 Not Found", "text/html", page, !keep_alive_);
      return;
    }
    if (!reader_->is_post && !reader_->is_get) {
      write_simple("405 Method Not Allowed", "text/plain", "405 Method Not Allowed\n", !keep_alive_,
                   "Allow: GET, POST\r\n");
      return;
    }
    if (reader_->is_get) detail::body_from_query(query_, body_);
    d_ = decision{};
    if (s_.any_fault) {
      std::lock_guard lock(s_.mu);
      d_ = s_.model.draw_faults();
    }
    if (d_.http_503) {
      s_.count_fault(fault_id::http_503);
      write_simple("503 Service Unavailable", "text/html",
                   "<html>\r\n<head><title>503 Service Unavailable</title></head>\r\n<body>\r\n"
                   "<center><h1>503 Service Unavailable</h1></center>\r\n</body>\r\n</html>\r\n",
                   !keep_alive_, "Retry-After: 1\r\n");
      return;
    }
    if (d_.latency.count() > 0) {
      s_.count_fault(fault_id::latency);
      timer_.expires_after(d_.latency);
      timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec && !self->dead_) self->process();
      });
      return;
    }
    process();
  }

  void process() {
    if (body_.capacity() < body_.size() + detail::json_padding) body_.reserve(body_.size() + detail::json_padding);
    const detail::rpc_call& call = s_.json.parse(body_.data(), body_.size());
    out_.assign(header_room, ' ');
    answer_info info;
    bool dropped = false;
    {
      std::lock_guard lock(s_.mu);
      info = s_.model.answer(call, d_, s_.now_ms(), out_, reader_->api_version());
      // Counted before the bytes leave, so that a client holding the answer
      // always sees it in record(); a failed write takes it back.
      dropped = (info.purged && d_.drop_after_purge) || d_.reset_mid;
      if (info.complete_handle) {
        if (dropped) s_.model.answer_lost(info.complete_handle);
        else s_.model.answer_delivered(info.complete_handle);
      }
    }
    reader_.reset();
    if (s_.cfg.pretty) {
      pretty_.assign(header_room, ' ');
      detail::append_pretty(pretty_, std::string_view(out_).substr(header_room));
      out_.swap(pretty_);
    }

    bool close = !keep_alive_;
    if (d_.connection_close) {
      s_.count_fault(fault_id::connection_close);
      close = true;
    }
    bool quiet_close = false;
    const auto limit = s_.cfg.fault.close_after_requests;
    if (limit != 0 && requests_ >= limit && !close) {
      s_.count_fault(fault_id::close_after_requests);
      quiet_close = true;
    }
    const std::size_t start = put_header("200 OK", "application/json", close);
    const auto wait = service_wait(out_.size() - header_room);
    if (wait.count() <= 0) {
      deliver(info, start, close || quiet_close);
      return;
    }
    // The answer leaves once the cluster would have produced it. Counted as
    // delivered already: a connection dropped meanwhile takes it back.
    timer_.expires_after(wait);
    timer_.async_wait([self = shared_from_this(), info, start, close_after = close || quiet_close](error_code ec) {
      if (!ec && !self->dead_) {
        self->deliver(info, start, close_after);
        return;
      }
      const bool dropped = (info.purged && self->d_.drop_after_purge) || self->d_.reset_mid;
      if (info.complete_handle && !dropped) {
        std::lock_guard lock(self->s_.mu);
        self->s_.model.answer_undelivered(info.complete_handle);
      }
    });
  }

  /// config::service: the cost of an answer of `bytes`, served after every
  /// answer before it (one endpoint, serial). Returns how long to hold it.
  std::chrono::nanoseconds service_wait(std::size_t bytes) {
    const service_time& st = s_.cfg.service;
    if (!st.on()) return std::chrono::nanoseconds(0);
    const auto cost = st.base + std::chrono::nanoseconds(st.per_kib.count() * static_cast<std::int64_t>(bytes) / 1024);
    s_.service_time_ns.fetch_add(static_cast<std::uint64_t>(cost.count()), std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    s_.busy_until = std::max(now, s_.busy_until) + cost;
    return s_.busy_until - now;
  }

  void deliver(const answer_info& info, std::size_t start, bool close_after) {
    if (info.purged && d_.drop_after_purge) {
      s_.count_fault(fault_id::drop_after_purge);
      kill();
      return;
    }
    if (d_.reset_mid) {
      s_.count_fault(fault_id::reset_mid_response);
      const std::size_t half = (out_.size() - start) / 2;
      stream_.async_write(asio::buffer(out_.data() + start, half),
                        [self = shared_from_this()](error_code, std::size_t) { self->kill(); });
      return;
    }
    complete_handle_ = info.complete_handle;
    send(start, close_after);
  }

  /// Writes the status line and headers right-aligned into the room before
  /// the body; returns where the message starts.
  std::size_t put_header(std::string_view status, std::string_view type, bool close) {
    char buf[header_room];
    char* p = buf;
    auto put = [&](std::string_view s) {
      std::memcpy(p, s.data(), s.size());
      p += s.size();
    };
    put("HTTP/1.1 ");
    put(status);
    put("\r\nContent-Type: ");
    put(type);
    put("\r\nContent-Length: ");
    p = std::to_chars(p, buf + sizeof buf, out_.size() - header_room).ptr;
    put("\r\n");
    if (close) put("Connection: close\r\n");
    else if (http10_) put("Connection: keep-alive\r\n");
    put("\r\n");
    const auto n = static_cast<std::size_t>(p - buf);
    std::memcpy(out_.data() + header_room - n, buf, n);
    return header_room - n;
  }

  void write_simple(std::string_view status, std::string_view type, std::string_view body, bool close,
                    std::string_view extra_headers = {}) {
    reader_.reset();
    out_.clear();
    out_.append("HTTP/1.1 ").append(status).append("\r\nContent-Type: ").append(type);
    out_.append("\r\nContent-Length: ");
    detail::append_uint(out_, body.size());
    out_.append("\r\n").append(extra_headers);
    if (close) out_.append("Connection: close\r\n");
    else if (http10_) out_.append("Connection: keep-alive\r\n");
    out_.append("\r\n").append(body);
    complete_handle_ = 0;
    send(0, close);
  }

  void send(std::size_t start, bool close_after) {
    stream_.async_write(asio::buffer(out_.data() + start, out_.size() - start),
                      [self = shared_from_this(), close_after](error_code ec, std::size_t) {
                        if (self->complete_handle_ && ec) {
                          std::lock_guard lock(self->s_.mu);
                          self->s_.model.answer_undelivered(self->complete_handle_);
                        }
                        self->complete_handle_ = 0;
                        if (ec || self->dead_) return;
                        if (close_after) self->graceful_close();
                        else self->read();
                      });
  }

  /// close_notify, then read and discard whatever the peer still sends (so
  /// that closing does not turn into a reset that could destroy the answer
  /// in flight), then close. Bounded by a timer.
  void graceful_close() {
    timer_.expires_after(500ms);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->close_socket();
    });
    stream_.send_close_notify();
    drain();
  }

  void drain() {
    stream_.socket().async_read_some(in_.prepare(4096), [self = shared_from_this()](error_code ec, std::size_t) {
      if (self->dead_) return;
      if (ec) {
        self->close_socket();
        return;
      }
      self->in_.clear();
      self->drain();
    });
  }

  void close_socket() {
    if (dead_) return;
    dead_ = true;
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
    timer_.cancel();
  }

  state& s_;
  tls_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer in_;
  std::optional<request_reader> reader_;
  std::string body_;
  std::string query_;
  std::string out_;
  std::string pretty_;  ///< --pretty: the indented answer is built here
  decision d_;
  std::uint64_t complete_handle_ = 0;
  std::uint32_t requests_ = 0;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool sent_continue_ = false;
  bool dead_ = false;
  connection* prev_ = nullptr;
  connection* next_ = nullptr;
};

}  // namespace

// ------------------------------------------------------------------ state

void state::bind() {
  if (bound) return;
  if (cfg.cert_pem.empty() != cfg.key_pem.empty())
    throw std::runtime_error("a certificate needs its key (and a key its certificate)");
  if (cfg.cert_pem.empty()) {
    auto pair = detail::make_self_signed(cfg.listen_host);
    cert_pem = std::move(pair.cert_pem);
    key_pem = std::move(pair.key_pem);
  } else {
    cert_pem = cfg.cert_pem;
    key_pem = cfg.key_pem;
  }
  cert_sha = detail::certificate_sha256(cert_pem);

  try {
    tls.emplace(ssl::context::tls_server);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    tls->use_certificate_chain(asio::buffer(cert_pem));
    tls->use_private_key(asio::buffer(key_pem), ssl::context::pem);
    SSL_CTX_set_read_ahead(tls->native_handle(), 1);
    SSL_CTX_set_mode(tls->native_handle(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(std::string("TLS setup: ") + e.what());
  }

  io = std::make_unique<asio::io_context>(1);
  std::string host = cfg.listen_host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  tcp::endpoint ep;
  try {
    tcp::resolver resolver(*io);
    auto results = resolver.resolve(host, std::to_string(cfg.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service);
    if (results.empty()) throw std::runtime_error("cannot resolve '" + host + "'");
    ep = results.begin()->endpoint();
    acceptor.emplace(*io);
    acceptor->open(ep.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen(asio::socket_base::max_listen_connections);
    port = acceptor->local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("listening on " + cfg.listen_host + ":" + std::to_string(cfg.port) + ": " +
                             e.code().message());
  }
  auto addr = ep.address();
  error_code ec;
  asio::ip::make_address(host, ec);
  if (ec) url_host = host;  // a name: keep it (the certificate names it)
  else if (addr.is_unspecified()) url_host = addr.is_v6() ? "[::1]" : "127.0.0.1";
  else url_host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();

  for (auto v : known_versions)
    if (version_le(v, cfg.api_version)) versions.emplace_back(v);
  if (std::find(versions.begin(), versions.end(), cfg.api_version) == versions.end())
    versions.push_back(cfg.api_version);
  std::string cred = cfg.user + ":" + cfg.password;
  auth_token.resize(beast::detail::base64::encoded_size(cred.size()));
  auth_token.resize(beast::detail::base64::encode(auth_token.data(), cred.data(), cred.size()));

  {
    std::lock_guard lock(mu);
    model.set_supported_versions(versions);
    model.set_bulk_url("https://" + url_host + ":" + std::to_string(port) + "/");
    model.set_host(url_host);
  }
  const faults& f = cfg.fault;
  any_fault = f.latency_ratio > 0 || f.retryable_error_ratio > 0 || f.transient_gone_ratio > 0 ||
              f.http_503_ratio > 0 || f.connection_close_ratio > 0 || f.reset_mid_response_ratio > 0 ||
              f.drop_after_purge_ratio > 0;
  failover_timer.emplace(*io);
  accept_retry.emplace(*io);
  bound = true;
}

void state::accept() {
  acceptor->async_accept([this](error_code ec, tcp::socket sock) {
    if (stopping || ec == asio::error::operation_aborted) return;
    if (ec) {  // out of descriptors and the like: breathe, then go on
      accept_retry->expires_after(50ms);
      accept_retry->async_wait([this](error_code e) {
        if (!e && !stopping) accept();
      });
      return;
    }
    bump(connections_accepted);
    std::make_shared<connection>(*this, std::move(sock))->start();
    accept();
  });
}

void state::arm_failover() {
  const auto period = cfg.fault.failover_period;
  if (period.count() <= 0) return;
  failover_timer->expires_after(period);
  failover_timer->async_wait([this](error_code ec) {
    if (ec || stopping) return;
    count_fault(fault_id::failover);
    for (connection* c = conns; c; c = c->next()) c->kill();
    arm_failover();
  });
}

void state::wait_signal() {
  signals->async_wait([this](error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGUSR1) {
      std::cerr << to_json(snapshot()) << std::endl;
      wait_signal();
      return;
    }
    shutdown_all();
    io->stop();
  });
}

void state::shutdown_all() {
  stopping = true;
  error_code ec;
  if (acceptor) acceptor->close(ec);
  if (failover_timer) failover_timer->cancel();
  if (accept_retry) accept_retry->cancel();
  if (signals) signals->cancel(ec);
  for (connection* c = conns; c; c = c->next()) c->kill();
}

void state::stop() {
  if (!io) return;
  if (thread.joinable()) {
    asio::post(*io, [this] {
      shutdown_all();
      io->stop();
    });
    if (thread.get_id() != std::this_thread::get_id()) thread.join();
  } else {
    asio::post(*io, [this] {
      shutdown_all();
      io->stop();
    });
  }
}

stats state::snapshot() {
  stats s;
  {
    std::lock_guard lock(mu);
    model.fill(s, now_ms());
  }
  for (std::size_t i = 0; i < detail::fault_count; ++i)
    s.faults_injected[std::string(detail::fault_name(static_cast<fault_id>(i)))] +=
        io_faults[i].load(std::memory_order_relaxed);
  s.connections_open = connections_open.load(std::memory_order_relaxed);
  s.connections_accepted = connections_accepted.load(std::memory_order_relaxed);
  s.http_401 = http_401.load(std::memory_order_relaxed);
  s.requests_total = requests_total.load(std::memory_order_relaxed);
  s.service_time_ns = service_time_ns.load(std::memory_order_relaxed);
  return s;
}

struct server::impl : state {
  explicit impl(config c) : state(std::move(c)) {}
};

// ---------------------------------------------------------------- server

server::server(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

server::~server() {
  stop();
  // I/O objects before their io_context; the io_context destroys the pending
  // handlers (and with them the connections) while the rest of impl lives.
  impl_->signals.reset();
  impl_->failover_timer.reset();
  impl_->accept_retry.reset();
  impl_->acceptor.reset();
  impl_->io.reset();
}

void server::bind() { impl_->bind(); }

void server::start() {
  if (impl_->stopping) throw std::runtime_error("a stopped simulator cannot be started again");
  impl_->bind();
  if (impl_->thread.joinable()) return;
  impl_->accept();
  impl_->arm_failover();
  impl_->thread = std::thread([this] { impl_->io->run(); });
}

void server::run(bool handle_signals, const std::function<void()>& on_ready) {
  impl_->bind();
  impl_->accept();
  impl_->arm_failover();
  if (handle_signals) {
    impl_->signals.emplace(*impl_->io, SIGINT, SIGTERM);
    impl_->signals->add(SIGUSR1);
    impl_->wait_signal();
  }
  if (on_ready) on_ready();
  impl_->io->run();
}

void server::stop() { impl_->stop(); }

std::uint16_t server::port() const { return impl_->port; }

std::string server::url() const {
  return "https://" + impl_->url_host + ":" + std::to_string(impl_->port) + "/json-rpc/" + impl_->cfg.api_version;
}

std::string server::certificate_pem() const { return impl_->cert_pem; }
std::string server::certificate_sha256() const { return impl_->cert_sha; }

stats server::snapshot() const { return impl_->snapshot(); }

std::optional<job_record> server::record(std::uint64_t handle) const {
  std::lock_guard lock(impl_->mu);
  return impl_->model.record(handle, impl_->now_ms());
}

std::optional<std::chrono::steady_clock::time_point> server::completion_time(std::uint64_t handle) const {
  std::lock_guard lock(impl_->mu);
  auto end = impl_->model.end_ms(handle);
  if (!end) return std::nullopt;
  return impl_->epoch + std::chrono::milliseconds(*end);
}

std::uint64_t server::create_job(const std::string& result_type, duration run_for, bool fail) {
  auto kind = detail::job_kind_from_result_type(result_type);
  if (!kind) throw std::invalid_argument("unknown resultType '" + result_type + "'");
  auto ms = (std::max<std::int64_t>(run_for.count(), 0) + 999'999) / 1'000'000;
  auto run_ms = static_cast<std::uint32_t>(std::min<std::int64_t>(ms, 0xffffffff));
  std::lock_guard lock(impl_->mu);
  return impl_->model.create_job(*kind, impl_->now_ms(), run_ms, fail, 0);
}

}  // namespace pollster::sim
