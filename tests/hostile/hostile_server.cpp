#include "hostile_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/message.hpp>
#include <cctype>
#include <cstdio>
#include <optional>

#include "cert.hpp"  // tools/sim/src: pollster::sim::detail::make_self_signed

namespace pollster::hostile {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string http_answer(const std::string& body, int status, const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string complete_result(std::uint64_t handle) {
  return R"({"cloneID": )" + std::to_string(handle + 1000) +
         R"(, "message": "Clone complete.", "volumeID": 47})";
}

std::string complete_body(std::uint64_t handle) {
  return R"({"id": 1, "result": {"createTime": "2016-01-01T22:29:18Z", )"
         R"("lastUpdateTime": "2016-01-01T22:45:51Z", "result": )" +
         complete_result(handle) + R"(, "resultType": "Clone", "status": "complete"}})";
}

std::string running_body() {
  return R"({"id": 7, "result": {"createTime": "2016-01-01T22:29:18Z", "details": )"
         R"({"percentComplete": 8.17, "stage": "whole"}, "lastUpdateTime": )"
         R"("2016-01-01T22:30:02Z", "resultType": "Clone", "status": "running"}})";
}

namespace {
std::uint64_t handle_of(const std::string& body) {
  const auto p = body.find("\"asyncHandle\":");
  if (p == std::string::npos) return 0;
  return std::strtoull(body.c_str() + p + 14, nullptr, 10);
}

// The request's id, as the engine wrote it ("id":N at the end of the body).
std::string id_of(const std::string& body) {
  const auto p = body.rfind("\"id\":");
  if (p == std::string::npos) return {};
  std::string id;
  for (auto i = p + 5; i < body.size() && std::isdigit(static_cast<unsigned char>(body[i])); ++i)
    id += body[i];
  return id;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Puts `id` in place of the first "id": <digits> of the answer's body,
// keeping every other byte as scripted — and any deliberate mismatch between
// Content-Length and the body: the length moves by the same delta. In a
// chunked body the digits must lie in one chunk, whose size line is fixed.
std::string echo_id(std::string bytes, const std::string& id) {
  const auto head_end = bytes.find("\r\n\r\n");
  if (id.empty() || head_end == std::string::npos) return bytes;
  const std::string head = lower(bytes.substr(0, head_end));
  struct chunk { std::size_t line, line_end, data, size; };
  std::vector<chunk> chunks;
  std::string body;               // the body as the client reads it
  std::vector<std::size_t> raw;   // where each body byte sits in `bytes`
  if (head.find("transfer-encoding: chunked") == std::string::npos) {
    for (auto i = head_end + 4; i < bytes.size(); ++i) body += bytes[i], raw.push_back(i);
  } else {
    for (std::size_t p = head_end + 4; p < bytes.size();) {
      const auto eol = bytes.find("\r\n", p);
      if (eol == std::string::npos) break;
      std::size_t hex_end = p;
      while (hex_end < eol && std::isxdigit(static_cast<unsigned char>(bytes[hex_end]))) ++hex_end;
      if (hex_end == p) break;
      const std::size_t n = std::stoul(bytes.substr(p, hex_end - p), nullptr, 16);
      if (n == 0) break;
      const std::size_t data = eol + 2, have = std::min(n, bytes.size() - std::min(data, bytes.size()));
      chunks.push_back({p, hex_end, data, n});
      for (std::size_t i = 0; i < have; ++i) body += bytes[data + i], raw.push_back(data + i);
      p = data + n + 2;
    }
  }
  auto k = body.find("\"id\"");
  if (k == std::string::npos) return bytes;
  k += 4;
  while (k < body.size() && (body[k] == ' ' || body[k] == ':')) ++k;
  auto e = k;
  while (e < body.size() && std::isdigit(static_cast<unsigned char>(body[e]))) ++e;
  if (e == k || raw[e - 1] - raw[k] != e - 1 - k) return bytes;  // no digits, or split by chunks
  const std::size_t from = raw[k], len = e - k;
  const long delta = static_cast<long>(id.size()) - static_cast<long>(len);
  bytes.replace(from, len, id);  // the body first: the fixes below sit before it
  if (!chunks.empty()) {
    for (const auto& c : chunks)
      if (from >= c.data && from < c.data + c.size) {
        char hex[32];
        std::snprintf(hex, sizeof hex, "%zx", static_cast<std::size_t>(static_cast<long>(c.size) + delta));
        bytes.replace(c.line, c.line_end - c.line, hex);
      }
    return bytes;
  }
  if (const auto cl = head.find("content-length:"); cl != std::string::npos) {
    auto v = cl + 15;
    while (v < head.size() && head[v] == ' ') ++v;
    auto v_end = v;
    while (v_end < head.size() && std::isdigit(static_cast<unsigned char>(head[v_end]))) ++v_end;
    if (v_end > v) {
      const long n = std::stol(head.substr(v, v_end - v)) + delta;
      bytes.replace(v, v_end - v, std::to_string(n));
    }
  }
  return bytes;
}
}  // namespace

struct server::impl {
  explicit impl(server& o) : owner(o) {}
  server& owner;
  asio::io_context ioc{1};
  asio::ssl::context tls{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  mutable std::mutex mu;
  std::deque<answer> script;
  std::optional<answer> fallback;
  std::optional<answer> release_answer;
  std::optional<answer> list_answer;
  std::vector<request_seen> seen;
  std::size_t polls = 0;
  std::uint16_t port = 0;
  std::chrono::milliseconds replay_after{0};

  answer pick(const std::string& body) {
    const bool release = body.find("\"keepResult\":false") != std::string::npos;
    seen.push_back({body, release});
    if (list_answer && body.find("\"ListAsyncResults\"") != std::string::npos) return *list_answer;
    if (!release) {
      ++polls;
      if (!script.empty()) {
        answer a = std::move(script.front());
        script.pop_front();
        return a;
      }
      if (fallback) return *fallback;
    } else if (release_answer) {
      return *release_answer;
    }
    return {http_answer(complete_body(handle_of(body)))};
  }

  answer next(const std::string& body) {
    std::lock_guard lock(mu);
    answer a = pick(body);
    if (a.echo_id) a.bytes = echo_id(std::move(a.bytes), id_of(body));
    return a;
  }

  asio::awaitable<void> session(tcp::socket sock) {
    asio::ssl::stream<tcp::socket> s(std::move(sock), tls);
    auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::server, nothrow);
    if (hec) co_return;
    beast::flat_buffer buf;
    std::string previous;  // the last answer written, for replays
    for (;;) {
      http::request<http::string_body> req;
      auto [rec, n] = co_await http::async_read(s, buf, req, nothrow);
      if (rec) co_return;
      answer a = next(req.body());
      std::chrono::milliseconds replay{0};
      {
        std::lock_guard lock(mu);
        replay = replay_after;
      }
      if (replay.count() > 0 && a.after == answer::then::keep) {
        // A replaying proxy: the real answer, then, unasked, the one before.
        auto [wec, w] = co_await asio::async_write(s, asio::buffer(a.bytes), nothrow);
        if (wec) co_return;
        if (!previous.empty()) {
          asio::steady_timer t(ioc, replay);
          co_await t.async_wait(nothrow);
          auto [rwec, rw] = co_await asio::async_write(s, asio::buffer(previous), nothrow);
          if (rwec) co_return;
        }
        previous = std::move(a.bytes);
        continue;
      }
      boost::system::error_code ec;
      if (a.after == answer::then::drip) {
        asio::steady_timer t(ioc);
        for (char c : a.bytes) {
          auto [wec, w] = co_await asio::async_write(s, asio::buffer(&c, 1), nothrow);
          if (wec) co_return;
          t.expires_after(a.drip_every);
          co_await t.async_wait(nothrow);
        }
        continue;
      }
      if (!a.bytes.empty()) {
        auto [wec, w] = co_await asio::async_write(s, asio::buffer(a.bytes), nothrow);
        if (wec) co_return;
      }
      switch (a.after) {
        case answer::then::keep: break;
        case answer::then::close:
          s.lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
          s.lowest_layer().close(ec);
          co_return;
        case answer::then::close_notify: {
          // Sends close_notify, then waits for the peer's (or its close).
          asio::steady_timer guard(ioc, 5s);
          guard.async_wait([&s](boost::system::error_code e) {
            if (!e) s.lowest_layer().close();
          });
          co_await s.async_shutdown(nothrow);
          guard.cancel();
          s.lowest_layer().close(ec);
          co_return;
        }
        case answer::then::reset:
          s.lowest_layer().set_option(asio::socket_base::linger(true, 0), ec);
          s.lowest_layer().close(ec);
          co_return;
        case answer::then::hang: {
          // Hold the connection open, silent, until the server stops.
          asio::steady_timer t(ioc, std::chrono::hours(1));
          co_await t.async_wait(nothrow);
          co_return;
        }
        case answer::then::drip: break;
      }
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(nothrow);
      if (ec) co_return;
      ++owner.connections_;
      asio::co_spawn(ioc, session(std::move(sock)), asio::detached);
    }
  }
};

server::server() : impl_(std::make_unique<impl>(*this)) {
  const auto pem = sim::detail::make_self_signed("127.0.0.1");
  pin_ = sim::detail::certificate_sha256(pem.cert_pem);
  impl_->tls.use_certificate_chain(asio::buffer(pem.cert_pem));
  impl_->tls.use_private_key(asio::buffer(pem.key_pem), asio::ssl::context::pem);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

server::~server() { stop(); }

void server::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
}

void server::script(std::vector<answer> answers) {
  std::lock_guard lock(impl_->mu);
  for (auto& a : answers) impl_->script.push_back(std::move(a));
}

void server::set_fallback(answer a) {
  std::lock_guard lock(impl_->mu);
  impl_->fallback = std::move(a);
}

void server::set_replay(std::chrono::milliseconds after) {
  std::lock_guard lock(impl_->mu);
  impl_->replay_after = after;
}

void server::set_list_answer(answer a) {
  std::lock_guard lock(impl_->mu);
  impl_->list_answer = std::move(a);
}

void server::set_release_answer(answer a) {
  std::lock_guard lock(impl_->mu);
  impl_->release_answer = std::move(a);
}

void server::clear_fallback() {
  std::lock_guard lock(impl_->mu);
  impl_->fallback.reset();
}

std::string server::url() const {
  return "https://127.0.0.1:" + std::to_string(impl_->port) + "/json-rpc/12.5";
}

std::vector<request_seen> server::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen;
}

std::size_t server::polls() const {
  std::lock_guard lock(impl_->mu);
  return impl_->polls;
}

}  // namespace pollster::hostile
