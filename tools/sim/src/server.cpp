// The simulator's I/O shell: one io_context on one thread, TLS over TCP
// (tls_stream.hpp), HTTP/1.1 keep-alive (http_connection.hpp), and here the
// accept loop, the failover timer, the signals and the server's API.
// Decisions (jobs, answers, which fault fires) live in the cluster model;
// the only simulator TU that instantiates Asio/Beast.
#include "pollster/sim/server.hpp"

#include "cert.hpp"
#include "http_connection.hpp"
#include "server_state.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/detail/base64.hpp>

#include <charconv>
#include <csignal>
#include <iostream>
#include <stdexcept>

namespace pollster::sim {

namespace detail {

namespace {


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

}  // namespace detail

namespace asio = boost::asio;

struct server::impl : detail::state {
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
