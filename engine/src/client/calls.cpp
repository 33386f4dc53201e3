// Releases, calls (any method), start and start_and_wait: thin coroutines
// around the request path; poller/call_machine decides their retries.
#include "client/impl.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>

#include "poller/backoff.hpp"
#include "poller/call_machine.hpp"
#include "protocol/padded_buffer.hpp"
#include "protocol/result_types.hpp"

namespace pollster {

namespace {
// What an exception out of a call's coroutine (bad_alloc, say) becomes: a
// failure the caller sees, never a default, "successful", empty result.
template <class Result>
Result failure_from(std::exception_ptr e) {
  Result r;
  r.ec = std::make_error_code(std::errc::state_not_recoverable);
  r.error_name = "exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    r.error_message = x.what();
  } catch (...) {
    r.error_message = "unknown exception";
  }
  return r;
}
}  // namespace

asio::awaitable<void> client::impl::release_once(asio::steady_timer& timer, std::uint64_t handle) {
  ++releases_in_flight;
  detail::release_machine m(steady::now(), cfg.release_timeout, cfg.request_timeout);
  while (!shut_down && m.next_attempt()) {
    attempt a = co_await send(timer, m.deadline(), request_event::kind::release,
                              [&](std::string& buf, std::uint64_t id) {
                                encoder.get_async_result(buf, handle, false, id);
                              });
    if (a.ec) break;
    const auto& body = a.held.body();
    detail::envelope_view env;
    if (!eng->parser.parse_envelope(body.data(), body.size(), body.capacity(), env) &&
        unasked(a, env)) {
      m.on_unasked();
      continue;
    }
    ++eng->stats.releases;
    break;
  }
  --releases_in_flight;
  maybe_drain();
}

asio::awaitable<call_result> client::impl::run_call(std::string method, std::string params, call_options opts) {
  auto self = shared_from_this();
  co_await asio::this_coro::throw_if_cancelled(false);
  auto cs = co_await asio::this_coro::cancellation_state;
  call_result res;
  auto fail = [&res](std::error_code ec, std::string message) {
    res.ec = ec;
    res.error_json.clear();  // no method error left from an earlier attempt
    res.error_code = 0;
    res.error_name = error_name(ec);
    res.error_message = message.empty() ? ec.message() : std::move(message);
  };
  if (method.empty() || method.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
                            std::string::npos) {
    fail(err(error::invalid_parameter), "method name '" + method + "' is not alphanumeric");
    co_return res;
  }
  {
    const auto first = params.find_first_not_of(" \t\r\n");
    if (!params.empty() && (first == std::string::npos || params[first] != '{')) {
      fail(err(error::invalid_parameter), "params must be a JSON object");
      co_return res;
    }
  }
  if (const char* why = detail::backoff_problem(opts.retry)) {
    fail(err(error::invalid_config), std::string("invalid call_options retry backoff: ") + why);
    co_return res;
  }
  asio::steady_timer timer(executor());
  active_guard guard(*this, timer);
  detail::call_machine m(opts, steady::now(), eng->rng);
  for (;;) {
    if (stopping(cs)) {
      fail(err(error::cancelled), {});
      co_return res;
    }
    attempt a = co_await send(timer, m.deadline(), request_event::kind::call,
                              [&](std::string& buf, std::uint64_t id) {
      encoder.call(buf, method, params, id);
    });
    detail::call_machine::action act;
    // An answer that arrived is read even if a cancellation came meanwhile:
    // a start method's answer carries the handle of an operation that exists.
    if (a.ec == error::cancelled || (a.ec && stopping(cs))) {
      fail(err(error::cancelled), {});
      co_return res;
    } else if (a.ec) {
      fail(a.ec, a.detail);
      act = m.on_failure(steady::now(), detail::classify_failure(a.ec).what,
                         a.may_have_reached_server);
    } else if (a.http_status != 200) {
      const auto c = detail::classify_http_status(a.http_status);
      fail(c.ec, http_message(a.http_status, c.ec));
      // A 503 is the cluster refusing the request, not half-doing it.
      act = m.on_failure(steady::now(), c.what, false, a.retry_after);
    } else {
      const auto& body = a.held.body();
      detail::envelope_view env;
      if (auto ec = eng->parser.parse_envelope(body.data(), body.size(), body.capacity(), env)) {
        fail(ec, {});
        act = m.on_failure(steady::now(), detail::verdict::retry, true);
      } else if (unasked(a, env)) {
        // The real answer may still come: resent only when that is harmless.
        fail(err(error::unasked_answer), unasked_message(a, env));
        act = m.on_failure(steady::now(), detail::verdict::retry, true);
      } else if (env.is_error) {
        const auto c = detail::classify_method_error(env.error.name);
        res.ec = c.ec;
        res.error_json.assign(env.error.raw);
        res.error_name.assign(env.error.name);
        res.error_message.assign(env.error.message);
        res.error_code = env.error.code;
        act = m.on_failure(steady::now(), c.what, false);
      } else {
        res = call_result{};
        res.result_json.assign(env.result_raw);
        co_return res;
      }
    }
    a.held.reset();
    if (act.what == detail::call_machine::step::finish) {
      if (act.deadline_reached) res.error_message += " (deadline reached while retrying)";
      co_return res;
    }
    if (co_await sleep_until(timer, act.at)) {
      fail(err(error::cancelled), {});
      co_return res;
    }
  }
}

// A start method's answer: its asyncHandle, read from the result object.
asio::awaitable<start_result> client::impl::run_start(std::string method, std::string params,
                                        call_options opts) {
  auto self = shared_from_this();
  start_result res;
  static_cast<call_result&>(res) =
      co_await run_call(std::move(method), std::move(params), std::move(opts));
  if (!res.ok()) co_return res;
  detail::padded_buffer buf;
  buf.append(res.result_json.data(), res.result_json.size());
  if (eng->parser.find_uint(buf.view(), buf.data() + buf.capacity(), "asyncHandle",
                            res.handle) ||
      res.handle == 0) {
    res.handle = 0;
    res.ec = err(error::unexpected_answer);
    res.error_name = error_name(res.ec);
    res.error_message = "the start method's result has no positive integer asyncHandle";
  }
  co_return res;
}

// Completes a co_spawned operation's handler on the handler's own executor
// (co_spawn itself completes on the client's), with its cancellation slot.
template <class Result>
void client::impl::spawn_op(asio::awaitable<Result> op, asio::any_completion_handler<void(Result)> handler) {
  auto slot = handler.get_cancellation_slot();
  asio::co_spawn(
      executor(), std::move(op),
      asio::bind_cancellation_slot(
          slot, [self = shared_from_this(), h = std::move(handler)](std::exception_ptr e,
                                                                    Result r) mutable {
            if (e) r = failure_from<Result>(e);
            auto ex = asio::get_associated_executor(h, self->executor());
            asio::dispatch(ex, [h = std::move(h), r = std::move(r)]() mutable {
              std::move(h)(std::move(r));
            });
          }));
}

void client::impl::start_and_wait(std::string method, std::string params, call_options copts,
                    std::shared_ptr<const wait_options> wopts,
                    asio::any_completion_handler<void(outcome)> handler) {
  if (wopts->result_type.empty())
    if (const auto type = detail::result_type_of(method); !type.empty()) {
      auto typed = std::make_shared<wait_options>(*wopts);
      typed->result_type = type;
      wopts = std::move(typed);
    }
  auto slot = handler.get_cancellation_slot();
  asio::co_spawn(
      executor(), run_start(std::move(method), std::move(params), std::move(copts)),
      asio::bind_cancellation_slot(
          slot, [self = shared_from_this(), wopts = std::move(wopts),
                 h = std::move(handler)](std::exception_ptr e, start_result s) mutable {
            if (e) s = failure_from<start_result>(e);
            if (!s.ok()) {
              outcome o;
              o.kind = outcome_kind::start_failed;
              o.ec = s.ec;
              if (!s.error_json.empty())  // the cluster answered a method error
                o.set_method_error({.name = std::move(s.error_name),
                                    .message = std::move(s.error_message),
                                    .json = std::move(s.error_json),
                                    .code = s.error_code});
              else
                o.set_message(std::move(s.error_message));
              self->deliver(std::move(h), std::move(o), false);
              return;
            }
            auto w = std::make_unique<wait_state>(s.handle, std::move(wopts), steady::now(),
                                                  self->eng->rng, &self->completions, std::move(h));
            w->out().start_json = std::move(s.result_json);
            self->start_wait(std::move(w));
          }));
}

void client::impl::start_call(std::string method, std::string params, call_options opts,
                              asio::any_completion_handler<void(call_result)> handler) {
  spawn_op(run_call(std::move(method), std::move(params), std::move(opts)), std::move(handler));
}

void client::impl::start_start(std::string method, std::string params, call_options opts,
                               asio::any_completion_handler<void(start_result)> handler) {
  spawn_op(run_start(std::move(method), std::move(params), std::move(opts)), std::move(handler));
}

}  // namespace pollster
