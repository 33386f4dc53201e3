// The per-poll work that is not parsing: building the request bytes, drawing
// a backoff, the wait_machine's decisions, and the timers a million sleeping
// handles need. Every benchmark checks its result.
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "pollster/endpoint.hpp"
#include "poller/backoff.hpp"
#include "poller/completion_model.hpp"
#include "poller/rng.hpp"
#include "poller/wait_machine.hpp"
#include "protocol/request_encoder.hpp"

namespace pollster::bench {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

endpoint test_endpoint() {
  std::error_code ec;
  std::string why;
  return parse_endpoint("https://10.0.0.5/json-rpc/12.5", ec, why);
}

// --- Request encoding -------------------------------------------------------

void BM_Encode_GetAsyncResult(benchmark::State& state) {
  const endpoint ep = test_endpoint();
  detail::request_encoder enc(ep, "admin", "correct horse battery staple");
  std::string buf;
  std::uint64_t handle = 389, id = 1;
  std::size_t bytes = 0;
  for (auto _ : state) {
    enc.get_async_result(buf, handle, true, id);
    bytes += buf.size();
    benchmark::DoNotOptimize(buf.data());
    ++handle;
    ++id;
  }
  // The last request must be exactly what the API expects.
  const std::string body = R"({"method":"GetAsyncResult","params":{"asyncHandle":)" + std::to_string(handle - 1) +
                           R"(,"keepResult":true},"id":)" + std::to_string(id - 1) + "}";
  const std::string tail = "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (!buf.starts_with("POST /json-rpc/12.5 HTTP/1.1\r\nHost: 10.0.0.5\r\nAuthorization: Basic ") ||
      !buf.ends_with(tail))
    state.SkipWithError(("request differs: " + buf).c_str());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_Encode_Call(benchmark::State& state) {
  const endpoint ep = test_endpoint();
  detail::request_encoder enc(ep, "admin", "admin");
  std::string buf;
  std::uint64_t id = 1;
  std::size_t bytes = 0;
  for (auto _ : state) {
    enc.call(buf, "ListAsyncResults", R"({"asyncResultTypes":["Clone"]})", id++);
    bytes += buf.size();
    benchmark::DoNotOptimize(buf.data());
  }
  if (!buf.ends_with(R"({"method":"ListAsyncResults","params":{"asyncResultTypes":["Clone"]},"id":)" +
                     std::to_string(id - 1) + "}"))
    state.SkipWithError("request differs");
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// --- Backoff and the wait machine ------------------------------------------

void BM_Backoff_Draw(benchmark::State& state) {
  const backoff_policy p{};  // 1 s x1.5 up to 20 s, full jitter, 100 ms floor
  detail::rng r(42);
  int n = 0;
  long long sum = 0;
  for (auto _ : state) {
    const duration d = detail::backoff_delay(p, n, r);
    const duration ceiling = detail::backoff_ceiling(p, n);
    if (d < std::min(p.min_delay, ceiling) || d > ceiling) {
      state.SkipWithError("delay outside [min_delay, ceiling]");
      break;
    }
    sum += d.count();
    n = (n + 1) & 15;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// One poll cycle of a running handle: on_running (backoff draw, deadline
// clamp) then on_woken (deadline check, poll). Two decisions per iteration.
void BM_WaitMachine_RunningCycle(benchmark::State& state) {
  wait_options opts;
  opts.deadline = 0s;  // none: the simulated clock runs years ahead
  detail::rng r(7);
  auto now = steady::now();
  detail::wait_machine m(opts, now, r);
  if (m.start(now).what != detail::wait_machine::step::poll) {
    state.SkipWithError("start did not poll");
    return;
  }
  using step = detail::wait_machine::step;
  for (auto _ : state) {
    const auto s = m.on_running(now);
    if (s.what != step::sleep || s.at <= now || s.at > now + opts.poll.max_delay) {
      state.SkipWithError("on_running did not sleep within the policy");
      break;
    }
    now = s.at;
    if (m.on_woken(now).what != step::poll) {
      state.SkipWithError("on_woken did not poll");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// The learned schedule's share of one poll of a running wait, with a model
// that has learned (4,096 completions of 2-20 s): the observation, then the
// next poll's age. Its refresh (120 bins of exp/sqrt) is amortized over the
// observations between two.
void BM_CompletionModel_Poll(benchmark::State& state) {
  detail::completion_model m;
  detail::rng r(11);
  for (int i = 0; i < 4096; ++i) {
    const double d = 2 + 18 * r.unit();
    m.running(0, d - 1);
    m.completed(d - 1, d + 1);
  }
  double age = 0.5;
  for (auto _ : state) {
    const double next = m.next_poll_age(age);
    if (!(next > age)) {
      state.SkipWithError("next_poll_age is not later than now");
      break;
    }
    m.running(age, next);
    age = next < 20 ? next : 0.5;  // a new wait once past the longest job
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// A whole wait's decisions, constructed each time: start, two running
// answers, complete.
void BM_WaitMachine_Lifecycle(benchmark::State& state) {
  wait_options opts;
  detail::rng r(7);
  using step = detail::wait_machine::step;
  for (auto _ : state) {
    auto now = steady::time_point(1h);
    detail::wait_machine m(opts, now, r);
    bool ok = m.start(now).what == step::poll;
    for (int i = 0; i < 2; ++i) {
      const auto s = m.on_running(now);
      ok = ok && s.what == step::sleep;
      ok = ok && m.on_woken(s.at).what == step::poll;
    }
    const auto f = m.on_complete(false);
    if (!ok || f.what != step::finish || f.kind != outcome_kind::succeeded || m.polls() != 3) {
      state.SkipWithError("wrong decisions");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// --- Timers at a million sleepers ------------------------------------------

constexpr std::size_t kMillion = 1'000'000;

// This thread's CPU time: on a shared, noisy machine it is steadier than the
// wall clock (it still includes page faults and syscalls, not other processes).
double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Arms N steady_timers (the engine's one timer per wait) at jittered times and
// fires them all. Expiries are random and already past, so run() does the
// heap work of firing without sleeping; arm and fire are timed apart.
void BM_Timers_ArmFire(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  double arm_ns = 0, fire_ns = 0;
  for (auto _ : state) {
    asio::io_context ioc{1};
    std::vector<std::unique_ptr<asio::steady_timer>> timers;
    timers.reserve(n);
    for (std::size_t i = 0; i < n; ++i) timers.push_back(std::make_unique<asio::steady_timer>(ioc));
    detail::rng r(1);
    std::size_t fired = 0, errors = 0;
    const auto base = steady::now();
    const auto t0 = steady::now();
    const double c0 = thread_cpu_ns();
    for (auto& t : timers) {
      t->expires_at(base - std::chrono::microseconds(r.next() % 1'000'000));
      t->async_wait([&](const boost::system::error_code& ec) {
        ++fired;
        if (ec) ++errors;
      });
    }
    const auto t1 = steady::now();
    const double c1 = thread_cpu_ns();
    ioc.run();
    const auto t2 = steady::now();
    const double c2 = thread_cpu_ns();
    if (fired != n || errors) {
      state.SkipWithError("not every timer fired cleanly");
      break;
    }
    arm_ns += c1 - c0;
    fire_ns += c2 - c1;
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
  }
  const double timers_total = static_cast<double>(n * state.iterations());
  state.counters["arm_cpu_ns_per_timer"] = arm_ns / timers_total;
  state.counters["fire_cpu_ns_per_timer"] = fire_ns / timers_total;
  state.SetItemsProcessed(static_cast<int64_t>(n * state.iterations()));
}

// The steady state of a million handles: N timers sleep far in the future
// (the heap holds N), and each iteration arms one timer to "now" and runs it,
// as every poll's backoff sleep does. ns per poll-sleep at heap size N.
void BM_Timers_OneAmongSleepers(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  asio::io_context ioc{1};
  std::vector<std::unique_ptr<asio::steady_timer>> sleepers;
  sleepers.reserve(n);
  detail::rng r(3);
  const auto base = steady::now();
  std::size_t sleepers_woken = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sleepers.push_back(std::make_unique<asio::steady_timer>(ioc));
    sleepers.back()->expires_at(base + 1h + std::chrono::microseconds(r.next() % 20'000'000));
    sleepers.back()->async_wait([&](const boost::system::error_code& ec) {
      if (!ec) ++sleepers_woken;
    });
  }
  asio::steady_timer t(ioc);
  std::size_t fired = 0;
  for (auto _ : state) {
    // Jittered like a backoff: lands somewhere inside the heap's order.
    t.expires_at(steady::now() - std::chrono::microseconds(r.next() % 1000));
    t.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) ++fired;
    });
    ioc.run_one();
  }
  if (fired != static_cast<std::size_t>(state.iterations()) || sleepers_woken) {
    state.SkipWithError("wrong timer fired");
  }
  for (auto& s : sleepers) s->cancel();
  ioc.run();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// A million sleeping coroutines, as run_wait sleeps: one awaitable frame and
// one timer each; spawn, arm, fire, finish. ns per coroutine.
void BM_Timers_MillionCoroutines(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  double cpu_ns = 0;
  for (auto _ : state) {
    asio::io_context ioc{1};
    std::size_t done = 0;
    const auto base = steady::now();
    const auto t0 = steady::now();
    const double c0 = thread_cpu_ns();
    for (std::size_t i = 0; i < n; ++i) {
      asio::co_spawn(
          ioc,
          [&, i]() -> asio::awaitable<void> {
            asio::steady_timer t(co_await asio::this_coro::executor);
            t.expires_at(base - std::chrono::microseconds((i * 7919) % 1'000'000));
            auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!ec) ++done;
          },
          asio::detached);
    }
    ioc.run();
    const auto t1 = steady::now();
    cpu_ns += thread_cpu_ns() - c0;
    if (done != n) {
      state.SkipWithError("not every coroutine finished");
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  state.counters["cpu_ns_per_coroutine"] = cpu_ns / static_cast<double>(n * state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(n * state.iterations()));
}

BENCHMARK(BM_Encode_GetAsyncResult);
BENCHMARK(BM_Encode_Call);
BENCHMARK(BM_Backoff_Draw);
BENCHMARK(BM_WaitMachine_RunningCycle);
BENCHMARK(BM_WaitMachine_Lifecycle);
BENCHMARK(BM_CompletionModel_Poll);
BENCHMARK(BM_Timers_ArmFire)->Arg(1000)->Arg(kMillion)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_Timers_OneAmongSleepers)->Arg(1000)->Arg(kMillion);
BENCHMARK(BM_Timers_MillionCoroutines)->Arg(kMillion)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace pollster::bench
