// No heap allocation per "running" poll in steady state: engine code, the
// parser, the buffers, the strings and the coroutine frames allocate nothing.
// Counted on this thread only (the simulator runs on its own thread and
// allocates as it likes). Counted apart: std::aligned_alloc, where Asio's
// recycling allocator goes when its per-thread cache (2 blocks per kind, of at
// most 1020 bytes) misses. The engine's own frames come from
// transport/frame_memory.hpp, so both counts are 0, for one wait polled back
// to back as for many waits on several connections.
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <new>

#include "poller/wait_machine.hpp"
#include "sim_fixture.hpp"

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
thread_local std::size_t aligned_allocations = 0;
}  // namespace

// Asio's recycling allocator falls back to std::aligned_alloc (not operator
// new) when its cache misses (as in bench/e2e_bench.cpp).
extern "C" void* __libc_memalign(std::size_t alignment, std::size_t size);
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) {
  if (counting) ++aligned_allocations;
  return __libc_memalign(alignment, size);
}

void* operator new(std::size_t n) {
  if (counting) ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (counting) ++allocations;
  if (void* p = std::aligned_alloc(static_cast<std::size_t>(a), (n + static_cast<std::size_t>(a) - 1) &
                                                                   ~(static_cast<std::size_t>(a) - 1)))
    return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace pollster::test {
namespace {

namespace asio = boost::asio;

struct counts {
  std::size_t polls = 0, allocations = 0, aligned = 0;
};

// `waits` running jobs polled over `connections` connections with no backoff
// to speak of, counted over 500 running answers (of all waits together) once
// each wait has had 50 (its first answers and the connects allocate).
class alloc_test : public sim_test {
 protected:
  counts count_running_polls(std::size_t connections, std::size_t waits) {
    start_sim();
    auto ccfg = client_cfg();
    ccfg.pool_size = connections;
    ccfg.fan_in.mode = fan_in_mode::per_handle;  // what is counted: each poll's allocations
    client c(*eng, ccfg);
    wait_options opts = fast_wait();
    opts.poll = {.initial = 1ms, .multiplier = 1.0, .max_delay = 1ms, .jitter = 0.0, .min_delay = 1ms};
    counts n;
    const std::size_t warm = 50 * waits;
    std::size_t started_at = 0;
    bool stopped = false;
    opts.on_progress = [&](const progress&) {
      const auto running = eng->stats().running_answers;
      if (started_at == 0 && running >= warm) {
        started_at = running;
        allocations = aligned_allocations = 0;
        counting = true;
      } else if (started_at != 0 && !stopped && running >= started_at + 500) {
        counting = false;
        stopped = true;
        n.polls = running - started_at;
        c.shutdown();
      }
    };
    for (std::size_t i = 0; i < waits; ++i)
      asio::co_spawn(ioc, c.wait(sim->create_job("Clone", 60s, false), opts), asio::detached);
    ioc.run_for(30s);
    counting = false;
    EXPECT_TRUE(stopped) << "did not reach steady state";
    n.allocations = allocations;
    n.aligned = aligned_allocations;
    std::cout << connections << " connection(s), " << waits << " wait(s): " << n.allocations
              << " operator new, " << n.aligned << " aligned_alloc over " << n.polls
              << " running polls\n";
    return n;
  }
};

// One wait polled back to back: its frames are freed and taken again at each
// poll, the case Asio's own frame cache missed (6 aligned_alloc per poll).
TEST_F(alloc_test, OneWaitRunningPollAllocatesNothing) {
  const counts n = count_running_polls(1, 1);
  ASSERT_GE(n.polls, 500u);
  EXPECT_EQ(n.allocations, 0u);
  EXPECT_EQ(n.aligned, 0u);
}

// Several workers' frames in flight at once, interleaved (5 per poll before).
TEST_F(alloc_test, SixteenWaitsOnFourConnectionsRunningPollAllocatesNothing) {
  const counts n = count_running_polls(4, 16);
  ASSERT_GE(n.polls, 500u);
  EXPECT_EQ(n.allocations, 0u);
  EXPECT_EQ(n.aligned, 0u);
}

// A caller that starts the next wait from its handler, against jobs that
// are complete at the first poll: every wait is a whole life (start, poll,
// outcome, delivery). What it may allocate is its own state and the
// outcome's strings the caller keeps (the raw answer, the two times and the
// result: longer than a string holds inline); the delivery, the post and
// the worker are reused. One wait at a time on one connection is where a
// worker used to end between a wait's delivery and the next wait's start,
// and a new one was spawned for it (its timer, frames and memory).
TEST_F(alloc_test, ClosedLoopOfCompletedWaitsAllocatesOnlyTheWaitAndItsOutcome) {
  start_sim();
  auto ccfg = client_cfg();
  ccfg.pool_size = 1;
  ccfg.fan_in.mode = fan_in_mode::per_handle;
  client c(*eng, ccfg);
  auto opts = std::make_shared<const wait_options>([] {
    wait_options o = fast_wait();
    o.purge = purge_policy::never;  // no release between the waits
    return o;
  }());
  constexpr std::size_t warm = 50, counted = 500;
  std::vector<std::uint64_t> handles;
  for (std::size_t i = 0; i < warm + counted; ++i) handles.push_back(sim->create_job("Clone", 0s, false));
  std::size_t done = 0, succeeded = 0;
  std::function<void()> next = [&] {
    c.async_wait(handles[done], opts, asio::bind_allocator(asio::recycling_allocator<void>(), [&](outcome o) {
      if (o.kind == outcome_kind::succeeded) ++succeeded;
      if (++done == warm) {
        allocations = aligned_allocations = 0;
        counting = true;
      }
      if (done == handles.size()) {
        counting = false;
        return;
      }
      next();
    }));
  };
  next();
  ioc.run_for(30s);
  counting = false;
  ASSERT_EQ(done, handles.size()) << "the loop did not finish";
  EXPECT_EQ(succeeded, handles.size());
  std::cout << "closed loop: " << allocations << " operator new, " << aligned_allocations
            << " aligned_alloc over " << counted << " completed waits\n";
  EXPECT_LE(allocations, 5 * counted);  // the wait, and 4 strings of its outcome
  EXPECT_EQ(aligned_allocations, 0u);
}

}  // namespace
}  // namespace pollster::test
