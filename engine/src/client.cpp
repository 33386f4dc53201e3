// The public client: checks its configuration and options, then hands
// each operation to client::impl (client/impl.hpp), whose units do the work:
// client/request_path.cpp (lease, send, answer), client/scheduler.cpp
// (heap, ready FIFO, workers, cancel, finish, deliver), client/lister.cpp
// (fan-in list ticks), client/calls.cpp (call, release, start_and_wait).
#include "pollster/client.hpp"

#include "client/impl.hpp"
#include "poller/backoff.hpp"

namespace pollster {

namespace {
endpoint checked_endpoint(const client_config& cfg) {
  std::error_code ec;
  std::string why;
  endpoint ep = parse_endpoint(cfg.url, ec, why);
  if (ec) throw std::system_error(ec, why);
  if (!ep.tls && !cfg.tls.allow_plaintext)
    throw std::system_error(err(error::plaintext_refused),
                            "'" + cfg.url + "' is plain http: credentials would cross the "
                            "network in clear; use https or allow_plaintext");
  auto bad = [](const std::string& what) {
    return std::system_error(err(error::invalid_config), what);
  };
  if (cfg.pool_size == 0 || cfg.pool_size > 1024)
    throw bad("pool_size must be from 1 to 1024 (the cluster allows 1024 sessions in all)");
  if (cfg.request_timeout.count() <= 0) throw bad("request_timeout must be positive");
  if (cfg.release_timeout.count() <= 0) throw bad("release_timeout must be positive");
  if (cfg.rate_limit < 0 || cfg.rate_burst < 0) throw bad("rate_limit and rate_burst must be >= 0");
  if (cfg.body_limit < 1024) throw bad("body_limit must be at least 1024 bytes");
  if (cfg.fan_in.min_interval.count() <= 0 || cfg.fan_in.max_interval < cfg.fan_in.min_interval)
    throw bad("fan_in: min_interval must be positive and max_interval at least min_interval");
  if (cfg.fan_in.list_bytes_per_second < 0 || cfg.fan_in.fallback_for.count() < 0 ||
      cfg.fan_in.failures_before_fallback < 1)
    throw bad("fan_in: list_bytes_per_second and fallback_for must be >= 0, failures_before_fallback >= 1");
  if (const char* why2 = detail::backoff_problem(cfg.reconnect))
    throw bad(std::string("reconnect backoff: ") + why2);
  return ep;
}
}  // namespace

client::client(engine& eng, client_config cfg) {
  endpoint ep = checked_endpoint(cfg);
  impl_ = std::make_shared<impl>(eng.impl_, std::move(cfg), std::move(ep));
}

client::~client() {
  if (impl_) impl_->shutdown();
}

namespace {
// Why a wait's options are unusable, or empty.
std::string options_problem(const wait_options& o) {
  if (const char* why = detail::backoff_problem(o.poll)) return std::string("poll backoff: ") + why;
  if (const char* why = detail::backoff_problem(o.retry)) return std::string("retry backoff: ") + why;
  if (o.deadline.count() < 0) return "deadline must not be negative";
  if (o.gone_confirmations < 0) return "gone_confirmations must not be negative";
  if (o.gone_confirm_delay.count() <= 0) return "gone_confirm_delay must be positive";
  return {};
}

// A wait refused before anything is sent: delivered (never inline) and
// counted like any other outcome.
outcome refused(std::uint64_t handle, const std::string& why) {
  outcome o;
  o.handle = handle;
  o.kind = outcome_kind::failed;
  o.ec = err(error::invalid_config);
  o.set_message("invalid wait_options: " + why);
  return o;
}
}  // namespace

void client::start_wait(std::uint64_t handle, std::shared_ptr<const wait_options> opts,
                        asio::any_completion_handler<void(outcome)> handler) {
  if (!opts) opts = std::make_shared<const wait_options>();
  if (std::string why = options_problem(*opts); !why.empty()) {
    impl_->deliver(std::move(handler), refused(handle, why), false);
    return;
  }
  impl_->start_wait(std::make_unique<detail::wait_state>(handle, std::move(opts), steady::now(),
                                                 impl_->eng->rng, &impl_->completions,
                                                 std::move(handler)));
}

void client::start_call(std::string method, std::string params, call_options opts,
                        asio::any_completion_handler<void(call_result)> handler) {
  impl_->start_call(std::move(method), std::move(params), std::move(opts), std::move(handler));
}

void client::start_start(std::string method, std::string params, call_options opts,
                         asio::any_completion_handler<void(start_result)> handler) {
  impl_->start_start(std::move(method), std::move(params), std::move(opts), std::move(handler));
}

void client::start_start_and_wait(std::string method, std::string params, call_options copts,
                                  std::shared_ptr<const wait_options> wopts,
                                  asio::any_completion_handler<void(outcome)> handler) {
  if (std::string why = options_problem(*wopts); !why.empty()) {
    impl_->deliver(std::move(handler), refused(0, why), false);
    return;
  }
  impl_->start_and_wait(std::move(method), std::move(params), std::move(copts), std::move(wopts),
                        std::move(handler));
}

asio::awaitable<outcome> client::wait(std::uint64_t handle, wait_options opts) {
  return async_wait(handle, std::move(opts), asio::use_awaitable);
}

asio::awaitable<call_result> client::call(std::string method, std::string params_json,
                                          call_options opts) {
  return async_call(std::move(method), std::move(params_json), std::move(opts),
                    asio::use_awaitable);
}

asio::awaitable<start_result> client::start(std::string method, std::string params_json,
                                            call_options opts) {
  return async_start(std::move(method), std::move(params_json), std::move(opts),
                     asio::use_awaitable);
}

asio::awaitable<outcome> client::start_and_wait(std::string method, std::string params_json,
                                                wait_options wopts, call_options copts) {
  return async_start_and_wait(std::move(method), std::move(params_json), std::move(copts),
                              std::move(wopts), asio::use_awaitable);
}

void client::release(std::uint64_t handle) { impl_->queue_release(handle); }

void client::shutdown() { impl_->shutdown(); }

pool_stats client::pool() const noexcept {
  return {impl_->pool.size(), impl_->pool.open(), impl_->pool.busy(), impl_->waiters.size(),
          impl_->releases.size() + impl_->releases_in_flight};
}

const endpoint& client::target() const noexcept { return impl_->ep; }

}  // namespace pollster
