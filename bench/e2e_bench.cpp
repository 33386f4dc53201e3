// End to end: the engine polling the in-process simulator over loopback TLS
// (the simulator serves on its own thread; the engine runs on this one). Jobs
// never finish (--auto-jobs, 1 h), polls have no backoff: every answer is a
// "running" GetAsyncResult that the engine parsed and decided on. Reports
// polls/s, and heap allocations per poll on the engine's thread: operator new
// and aligned_alloc (Asio's recycling allocator falls back to it), counted on
// this thread only (the simulator's thread is not counted; OpenSSL's own
// malloc calls are not counted either: see bench/cpu.sh).
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <new>
#include <string>

#include "pollster/pollster.hpp"
#include "pollster/sim/server.hpp"
#include "sim_setup.hpp"

namespace {
thread_local bool g_counting = false;
thread_local std::uint64_t g_allocations = 0;
thread_local std::uint64_t g_aligned_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// Asio's recycling allocator falls back to std::aligned_alloc (not operator
// new) when its per-thread cache misses: count those too.
extern "C" void* __libc_memalign(std::size_t alignment, std::size_t size);
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) {
  if (g_counting) ++g_aligned_allocations;
  return __libc_memalign(alignment, size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace pollster::bench {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;


sim::config sim_config(std::chrono::nanoseconds job_duration) {
  sim::config sc;
  sc.auto_jobs = true;
  sc.job_duration.shape = sim::duration_dist::kind::fixed;
  sc.job_duration.a = job_duration;
  sc.seed = 1;
  return sc;
}

client_config client_cfg(const sim::server& srv, std::size_t connections) {
  client_config cc = test::trusting(srv);
  cc.pool_size = connections;
  cc.request_timeout = 10s;
  cc.fan_in.mode = fan_in_mode::per_handle;  // what is measured: the cost of one poll
  return cc;
}

// Polls that go again at once (a 1 ns backoff: the engine refuses a zero
// one): the request rate is the engine's and the simulator's, not a backoff's.
wait_options hot_wait() {
  wait_options w;
  w.deadline = 0s;  // none
  w.poll = {.initial = 1ns, .multiplier = 1.0, .max_delay = 1ns, .jitter = 0.0, .min_delay = 1ns};
  w.purge = purge_policy::never;
  return w;
}

// range(0): connections; range(1): handles polled at once.
void BM_Poll_LoopbackTLS(benchmark::State& state) {
  const auto connections = static_cast<std::size_t>(state.range(0));
  const auto handles = static_cast<std::uint64_t>(state.range(1));
  sim::server srv(sim_config(1h));
  srv.start();
  asio::io_context ioc{1};
  engine eng(ioc, engine_config{.seed = 1});
  {
    client c(eng, client_cfg(srv, connections));
    for (std::uint64_t h = 1; h <= handles; ++h)
      asio::co_spawn(ioc, c.wait(1000 + h, hot_wait()), asio::detached);
    // Warm up: every connection open, buffers grown. run_one() returns 0
    // when no wait is left (they all failed): report, do not spin.
    bool alive = true;
    while (alive && eng.stats().running_answers < 20 * handles + 1000) alive = ioc.run_one() > 0;
    if (!alive) {
      state.SkipWithError("every wait ended before the warm-up was done");
      srv.stop();
      return;
    }
    const counters before = eng.stats();
    g_allocations = 0;
    g_aligned_allocations = 0;
    g_counting = true;
    for (auto _ : state) {
      const auto target = eng.stats().running_answers + 1;
      while (alive && eng.stats().running_answers < target) alive = ioc.run_one() > 0;
    }
    g_counting = false;
    const counters& after = eng.stats();
    const double polls = static_cast<double>(after.running_answers - before.running_answers);
    state.counters["new_per_poll"] = static_cast<double>(g_allocations) / polls;
    state.counters["aligned_alloc_per_poll"] = static_cast<double>(g_aligned_allocations) / polls;
    state.counters["polls_per_s"] = benchmark::Counter(polls, benchmark::Counter::kIsRate);
    // Every answer must have been a well-formed "running" GetAsyncResult.
    if (after.answers != after.running_answers || after.transient_errors || after.failed ||
        after.connects != connections)
      state.SkipWithError(("unexpected answers: answers=" + std::to_string(after.answers) +
                           " running=" + std::to_string(after.running_answers) +
                           " transient=" + std::to_string(after.transient_errors) +
                           " connects=" + std::to_string(after.connects))
                              .c_str());
    c.shutdown();
    ioc.run();
  }
  srv.stop();
}

// Whole waits: each wait polls once, finds its job complete (duration 0),
// returns the outcome (strings copied), and the release (keepResult=false)
// follows. Two requests per wait.
void BM_Wait_CompleteAndRelease(benchmark::State& state) {
  const auto connections = static_cast<std::size_t>(state.range(0));
  constexpr int kInFlight = 64;
  sim::server srv(sim_config(0s));
  srv.start();
  asio::io_context ioc{1};
  engine eng(ioc, engine_config{.seed = 1});
  {
    client c(eng, client_cfg(srv, connections));
    std::uint64_t next = 1, done = 0, wrong = 0;
    bool stopping = false;
    wait_options w;
    w.purge = purge_policy::after_delivery;
    std::function<void()> spawn_one = [&] {
      asio::co_spawn(
          ioc,
          [&, h = next++]() -> asio::awaitable<void> {
            outcome o = co_await c.wait(h, w);
            if (o.kind != outcome_kind::succeeded || o.handle != h || !o.result() ||
                o.result()->result_type != "Clone" || o.result()->json.empty() ||
                o.diagnostics.polls != 1)
              ++wrong;
            if (stopping) co_return;
            ++done;
            spawn_one();
          },
          asio::detached);
    };
    for (int i = 0; i < kInFlight; ++i) spawn_one();
    bool alive = true;
    while (alive && done < 2000) alive = ioc.run_one() > 0;
    for (auto _ : state) {
      const auto target = done + 1;
      while (alive && done < target) alive = ioc.run_one() > 0;
    }
    if (!alive) wrong = ~0ull;
    stopping = true;
    if (wrong) state.SkipWithError((std::to_string(wrong) + " waits ended wrongly").c_str());
    state.counters["requests_per_wait"] =
        static_cast<double>(eng.stats().requests) / static_cast<double>(done);
    c.shutdown();
    ioc.run();
  }
  srv.stop();
}

BENCHMARK(BM_Poll_LoopbackTLS)
    ->ArgNames({"connections", "handles"})
    ->Args({1, 1})  // one wait polled back to back: its frames freed and taken again each poll
    ->Args({1, 2})
    ->Args({16, 64})
    ->Args({64, 256})
    ->UseRealTime()
    ->MinTime(2.0);
BENCHMARK(BM_Wait_CompleteAndRelease)->ArgNames({"connections"})->Arg(16)->UseRealTime()->MinTime(2.0);

int context() {
  benchmark::AddCustomContext("pollster_json_implementation", std::string(engine::json_implementation()));
  return 0;
}
const int registered = context();

}  // namespace
}  // namespace pollster::bench
