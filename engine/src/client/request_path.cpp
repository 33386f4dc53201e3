// The request path: borrow a pooled connection (FIFO hand-off), respect the
// rate limit and the reconnect backoff, send one request and read its
// answer; then what a GetAsyncResult answer means for its wait.
#include "client/impl.hpp"

#include <boost/asio/this_coro.hpp>

#include "transport/connection.hpp"
#include "transport/request_rules.hpp"
#include "transport/tls.hpp"

namespace pollster {

client::impl::impl(std::shared_ptr<engine::impl> e, client_config c, endpoint parsed)
    : eng(std::move(e)),
      cfg(std::move(c)),
      ep(std::move(parsed)),
      encoder(ep, cfg.user, cfg.password),
      pool(cfg.pool_size),
      bucket(cfg.rate_limit, cfg.rate_burst),
      fan_in(cfg.fan_in) {
  if (ep.tls) tls_ctx = std::make_unique<asio::ssl::context>(detail::make_client_context(cfg.tls));
  for (std::size_t i = 0; i < pool.size(); ++i)
    conns.push_back(std::make_unique<detail::connection>(
        eng->ioc.get_executor(), tls_ctx.get(), ep, cfg.tls, cfg.body_limit));
}

client::impl::~impl() = default;

const detail::padded_buffer& client::impl::lease::body() const { return conn().body(); }
void client::impl::lease::trim_body() noexcept {
  conn().trim_body(detail::padded_buffer::kept_capacity);
}

void client::impl::cut_request(wait_state& w) {
  if (w.conn_in_use)
    w.conn_in_use->close();
  else if (w.timer_in_use)
    w.timer_in_use->cancel();
}

void client::impl::close_connections() {
  for (auto& c : conns) c->close();
}

// pool_state decides (release_and_hand_off); this does what it says.
void client::impl::release_slot(std::size_t slot) {
  const auto h =
      pool.release_and_hand_off(slot, conns[slot]->is_open(), !waiters.empty(), !ready.empty());
  if (h.to_oldest_waiter) {
    slot_waiter* w = waiters.pop_front();
    w->slot = *h.to_oldest_waiter;
    w->timer->cancel();
  }
  if (h.stop_watching) conns[slot]->stop_watching();
  if (h.stop_all_watching)
    for (auto& c : conns) c->stop_watching();
}

// Once no connection is busy, none may keep a deadline timer pending: one
// released while waits were due may not have been picked again.
void client::impl::stop_idle_watchdogs() {
  if (pool.busy() != 0) return;
  for (auto& c : conns) c->stop_watching();
}

asio::awaitable<std::error_code> client::impl::sleep_until(asio::steady_timer& timer, time_point at) {
  timer.expires_at(at);
  co_await timer.async_wait(use_nothrow);
  auto cs = co_await asio::this_coro::cancellation_state;
  co_return stopping(cs) ? err(error::cancelled) : std::error_code{};
}

asio::awaitable<std::optional<std::size_t>> client::impl::wait_for_slot(asio::steady_timer& timer,
                                                                        time_point deadline,
                                                                        std::error_code& ec) {
  slot_waiter w;
  w.timer = &timer;
  waiters.push_back(&w);
  timer.expires_at(deadline);
  co_await timer.async_wait(use_nothrow);
  waiters.erase(&w);
  auto cs = co_await asio::this_coro::cancellation_state;
  if (stopping(cs)) {
    if (w.slot) release_slot(*w.slot);
    ec = err(error::cancelled);
    co_return std::nullopt;
  }
  if (!w.slot) ec = err(error::request_timeout);
  co_return w.slot;
}

void client::impl::observe(request_event::kind k, time_point sent, const std::error_code& ec, int status) {
  if (!eng->observer) return;
  request_event ev;
  ev.what = k;
  ev.sent = sent;
  ev.latency = steady::now() - sent;
  ev.ec = ec;
  ev.http_status = status;
  eng->observer(ev);
}

// One request: rate limit, borrow a connection (connecting it if needed),
// send, read. `build` writes the request bytes into the given string.
// `w`: the wait this request polls for, if any: it can then be cancelled
// promptly (its connection closed, its sleep cut short).
asio::awaitable<client::impl::attempt> client::impl::send(asio::steady_timer& timer,
                                                          time_point deadline,
                                                          request_event::kind kind,
                                                          detail::request_builder build,
                                                          wait_state* w) {
  attempt a;
  struct in_use_guard {
    wait_state* w;
    ~in_use_guard() {
      if (w) w->conn_in_use = nullptr, w->timer_in_use = nullptr;
    }
  } guard{w};
  if (w) w->timer_in_use = &timer;
  auto cancelled = [&] {
    if (!w || !w->cancel_requested) return false;
    a.ec = err(error::cancelled);
    return true;
  };
  const time_point queued = steady::now();
  const auto give_up = [&a](const detail::gate& g) {
    a.ec = err(error::request_timeout);
    a.detail = g.why;
  };
  if (const auto g = detail::rate_limit_gate(queued, bucket.reserve(queued), deadline);
      g.what == detail::gate::kind::give_up) {
    bucket.refund();  // not sent: the token goes back
    give_up(g);
    co_return a;
  } else if (g.what == detail::gate::kind::sleep) {
    if ((a.ec = co_await sleep_until(timer, g.at)) || cancelled()) {
      bucket.refund();
      co_return a;
    }
  }
  // A free connection is taken without a frame of its own for the wait.
  auto slot = pool.acquire_in_turn(!waiters.empty());
  if (!slot) slot = co_await wait_for_slot(timer, deadline, a.ec);
  if (cancelled()) {
    if (slot) release_slot(*slot);
    co_return a;
  }
  if (!slot) {
    if (a.ec == error::request_timeout) a.detail = "no pooled connection free before the deadline";
    co_return a;
  }
  lease held(this, *slot);
  detail::connection& conn = held.conn();
  if (w) w->conn_in_use = &conn;
  detail::exchange_result r;
  // Round 2 only follows a stale keep-alive connection (see below).
  for (int round = 1;; ++round) {
    if (!conn.is_open()) {
      const auto g = detail::reconnect_gate(steady::now(), pool.connect_not_before(*slot),
                                            deadline, round == 1);
      if (g.what == detail::gate::kind::give_up) {
        give_up(g);
        co_return a;
      }
      if (g.what == detail::gate::kind::sleep) {
        if ((a.ec = co_await sleep_until(timer, g.at))) co_return a;
        if (cancelled()) co_return a;
      }
      auto c = co_await conn.connect(std::min(deadline, steady::now() + cfg.request_timeout));
      if (c.ec) {
        ++eng->stats.connect_failures;
        pool.connect_failed(*slot, steady::now(), eng->rng, cfg.reconnect);
        a.ec = c.ec;
        a.detail = std::move(c.detail);
        co_return a;
      }
      ++eng->stats.connects;
      pool.connect_succeeded(*slot);
    }
    a.id = next_id++;
    build(conn.request_buffer(), a.id);
    ++eng->stats.requests;
    const time_point sent = steady::now();
    a.may_have_reached_server = true;
    r = co_await conn.exchange(conn.request_buffer(),
                               std::min(deadline, sent + cfg.request_timeout));
    observe(kind, queued, r.ec, r.http_status);
    // A stale keep-alive connection: once more on a fresh one, unless a call.
    if (detail::resend_after_stale(r.ec && r.stale, round == 1, kind != request_event::kind::call,
                                   shut_down))
      continue;
    break;
  }
  if (r.ec) {
    pool.dropped(*slot, steady::now(), eng->rng, cfg.reconnect);
    a.ec = r.ec;
    a.detail = std::move(r.detail);
    co_return a;
  }
  ++eng->stats.answers;
  a.http_status = r.http_status;
  a.retry_after = r.retry_after;
  a.held = std::move(held);
  co_return a;
}

// "HTTP 429: server error or overload (retried)": the status itself,
// always (408, 429 and 5xx share one error code).
std::string client::impl::http_message(int status, std::error_code ec) {
  std::string m = ec.message();
  if (m.rfind("HTTP ", 0) == 0) m.erase(0, m.find(':') == std::string::npos ? 0 : m.find(':') + 2);
  return "HTTP " + std::to_string(status) + ": " + m;
}

// An answer whose id is not the request's was not asked for (a replaying
// proxy, bytes left from an earlier exchange): its connection cannot be
// trusted for the next answer either, so it is closed.
bool client::impl::unasked(attempt& a, const detail::envelope_view& env) {
  if (!cfg.check_id || (env.has_id && env.id == a.id)) return false;
  ++eng->stats.unasked_answers;
  a.held.conn().close();
  return true;
}

std::string client::impl::unasked_message(const attempt& a, const detail::envelope_view& env) {
  return "answer id " + (env.has_id ? std::to_string(env.id) : std::string("missing or not an integer")) +
         " is not the request's " + std::to_string(a.id) + " (unasked answer): connection closed";
}

void client::impl::note_error(outcome& out, std::error_code ec, std::string_view message) {
  out.ec = ec;
  out.set_message(message.empty() ? ec.message() : std::string(message));
}

void client::impl::note_method_error(outcome& out, std::error_code ec,
                              const detail::method_error_view& e) {
  out.ec = ec;
  out.set_method_error({.name = std::string(e.name),
                        .message = std::string(e.message),
                        .json = std::string(e.raw),
                        .code = static_cast<int>(e.code)});
}

void client::impl::note_completion(outcome& out, const completion_view& c) {
  out.ec = c.task_failed ? err(error::task_failed) : std::error_code{};
  out.set_result({.result_type = std::string(c.result_type),
                  .create_time = std::string(c.create_time),
                  .last_update_time = std::string(c.last_update_time),
                  .json = c.task_failed ? std::string() : std::string(c.data)});
  if (c.task_failed)
    out.set_task_error({.name = std::string(c.error_name),
                        .message = std::string(c.error_message),
                        .json = std::string(c.data)});
  else
    out.clear_error();
}

// A classified failure of a wait's poll, told to its machine (and counted).
detail::wait_machine::action client::impl::failed(wait_state& w, time_point now, detail::verdict v,
                                    duration retry_after) {
  if (v == detail::verdict::retry) ++eng->stats.transient_errors;
  return w.machine.on_failure(now, v, retry_after);
}

// Reads one answer to GetAsyncResult and lets the machine decide. A
// "running" answer touches only w.last_details (its capacity is reused).
detail::wait_machine::action client::impl::on_answer(attempt& a, wait_state& w) {
  detail::wait_machine& m = w.machine;
  const time_point now = steady::now();
  if (a.http_status != 200) {
    const auto c = detail::classify_http_status(a.http_status);
    note_error(w.out(), c.ec, http_message(a.http_status, c.ec));
    return failed(w, now, c.what, a.retry_after);
  }
  const auto& body = a.held.conn().body();
  const char* end = body.data() + body.capacity();
  detail::envelope_view env;
  detail::async_result_view r;
  if (auto ec = eng->parser.parse_get_async_result(body.data(), body.size(), body.capacity(),
                                                   env, r)) {
    // Bytes that are not the answer asked for: transient, the next poll
    // may read a good one.
    note_error(w.out(), ec, {});
    return failed(w, now, detail::verdict::retry);
  }
  if (unasked(a, env)) {
    note_error(w.out(), err(error::unasked_answer), unasked_message(a, env));
    return failed(w, now, detail::verdict::retry);
  }

  if (env.is_error) {
    const auto c = detail::classify_method_error(env.error.name);
    note_method_error(w.out(), c.ec, env.error);
    return failed(w, now, c.what);
  }
  if (!r.complete) {
    ++eng->stats.running_answers;
    w.seen_running = true;
    w.running_answer = true;
    w.last_details.assign(r.details_raw);
    const double pct = eng->parser.percent_complete(r.details_raw, end);
    if (w.opts->on_progress) {
      progress p{w.handle, r.result_type, r.details_raw, pct};
      w.opts->on_progress(p);
    }
    return m.on_running(now, pct);
  }
  // The one copy of an answer: the outcome the caller keeps.
  outcome& out = w.out();
  out.raw_answer.assign(r.raw);
  note_completion(out, {r.has_error, r.result_type, r.create_time, r.last_update_time,
                        r.has_error ? r.error_raw : r.result_raw, r.error_name, r.error_message});
  return m.on_complete(r.has_error);
}

}  // namespace pollster
