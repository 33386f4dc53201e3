// One HTTPS connection: reads requests, asks the model, writes answers, and
// applies the transport-level faults and the service time. Included by
// server.cpp only.
#pragma once

#include "pretty.hpp"
#include "query_form.hpp"
#include "request_reader.hpp"
#include "server_state.hpp"
#include "tls_stream.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <charconv>

namespace pollster::sim::detail {

namespace beast = boost::beast;
namespace http = beast::http;

using namespace std::chrono_literals;

/// Bytes kept free in front of each answer body for its HTTP header, so that
/// header and body go out in one write without a copy.
constexpr std::size_t header_room = 160;

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


}  // namespace pollster::sim::detail
