// A bounded soak (issue 6): the engine against the in-process simulator with
// every fault on, for a large number of handles at once. Prints RSS at start,
// while running and at the end, the outcome counts, and checks each outcome
// against the simulator's record (delivered exactly once, equal to it).
//
// Usage: pollster_soak [--handles N] [--seconds S] [--seed N] [--pool N]
// Job durations are spread over the first half of S, so the run lasts about S.
// Exit 0 when every handle completed exactly once and matched its record.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "pollster/pollster.hpp"
#include "pollster/sim/server.hpp"
#include "sim_setup.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

double secs_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t handles = 100'000, pool = 8;
  double seconds = 300;
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--handles") handles = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--seconds") seconds = std::strtod(argv[i + 1], nullptr);
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--pool") pool = std::strtoull(argv[i + 1], nullptr, 10);
    else { std::cerr << "unknown flag " << a << "\n"; return 2; }
  }
  const auto t0 = steady::now();
  const long rss_start = rss_kb();

  // Every fault of the simulator, at once, at a fifth of the tests' rates:
  // closer to the field's for a run of minutes.
  pollster::sim::config scfg;
  scfg.seed = seed;
  pollster::test::every_fault(scfg.fault, 0.2);
  pollster::sim::server sim(scfg);
  sim.start();

  asio::io_context ioc{1};
  pollster::engine eng(ioc, {.seed = seed, .observer = {}});
  pollster::client_config cc = pollster::test::trusting(sim);
  cc.request_timeout = 10s;
  cc.pool_size = pool;
  pollster::client c(eng, cc);

  pollster::wait_options opts;  // the default poll and retry policies
  opts.deadline = std::chrono::duration_cast<pollster::duration>(
      std::chrono::duration<double>(seconds * 2 + 120));
  opts.gone_confirmations = 5;  // the fault rate of transient gone is far above the field's
  opts.gone_confirm_delay = 200ms;

  std::vector<std::uint64_t> hs(handles);
  const double spread_ms = seconds * 1000 / 2;
  for (std::size_t i = 0; i < handles; ++i) {
    const auto run_for = std::chrono::milliseconds(
        static_cast<long>((static_cast<double>((i * 2654435761u) % 1'000'003) / 1'000'003) * spread_ms));
    hs[i] = sim.create_job(i % 3 ? "Clone" : "BulkVolume", run_for, i % 11 == 0);
  }

  std::vector<pollster::outcome> out(handles);
  std::vector<std::uint8_t> delivered(handles, 0);
  std::size_t remaining = handles;
  for (std::size_t i = 0; i < handles; ++i)
    asio::co_spawn(ioc, c.wait(hs[i], opts), [&, i](std::exception_ptr, pollster::outcome o) {
      out[i] = std::move(o);
      ++delivered[i];
      --remaining;
    });
  const long rss_spawned = rss_kb();
  std::printf("soak: %zu handles, pool %zu, every simulator fault on, seed %llu\n", handles, pool,
              static_cast<unsigned long long>(seed));
  std::printf("rss_start_kb %ld\nrss_after_spawn_kb %ld\n", rss_start, rss_spawned);
  std::fflush(stdout);

  long rss_peak = rss_spawned;
  auto last_report = steady::now();
  const auto give_up = t0 + std::chrono::duration_cast<steady::duration>(
                                std::chrono::duration<double>(seconds * 2 + 180));
  while (remaining > 0 && steady::now() < give_up) {
    ioc.run_one_for(100ms);
    if (steady::now() - last_report >= 15s) {
      last_report = steady::now();
      const long r = rss_kb();
      rss_peak = std::max(rss_peak, r);
      const auto& s = eng.stats();
      std::printf("t=%.0fs remaining %zu rss_kb %ld requests %llu transient %llu connects %llu open %zu\n",
                  secs_since(t0), remaining, r, (unsigned long long)s.requests,
                  (unsigned long long)s.transient_errors, (unsigned long long)s.connects, c.pool().open);
      std::fflush(stdout);
    }
  }
  // Let the releases after delivery go out.
  ioc.restart();
  ioc.run_for(3s);
  const long rss_end = rss_kb();

  std::map<std::string, std::size_t> kinds;
  std::size_t twice = 0, never = 0, mismatched = 0;
  for (std::size_t i = 0; i < handles; ++i) {
    if (delivered[i] == 0) { ++never; continue; }
    if (delivered[i] > 1) ++twice;
    const auto& o = out[i];
    ++kinds[std::string(pollster::to_string(o.kind))];
    const auto rec = sim.record(o.handle);
    if (!rec || !o.completed() || pollster::test::completed_json(o) != rec->result_json ||
        (o.kind == pollster::outcome_kind::task_failed) != rec->failed) {
      if (mismatched < 5)
        std::printf("MISMATCH handle %llu: %s %s %s\n", (unsigned long long)o.handle,
                    std::string(pollster::to_string(o.kind)).c_str(),
                    std::string(pollster::error_name(o.ec)).c_str(),
                    o.message().c_str());
      ++mismatched;
    }
  }
  const auto& s = eng.stats();
  std::printf("elapsed_s %.1f\n", secs_since(t0));
  std::printf("rss_peak_kb %ld\nrss_end_kb %ld\n", std::max(rss_peak, rss_end), rss_end);
  std::printf("outcomes:");
  for (const auto& [k, n] : kinds) std::printf(" %s=%zu", k.c_str(), n);
  std::printf("\nnot_delivered %zu delivered_twice %zu mismatched_with_record %zu\n", never, twice,
              mismatched);
  std::printf("engine: requests %llu answers %llu running %llu transient %llu connects %llu "
              "connect_failures %llu releases %llu\n",
              (unsigned long long)s.requests, (unsigned long long)s.answers,
              (unsigned long long)s.running_answers, (unsigned long long)s.transient_errors,
              (unsigned long long)s.connects, (unsigned long long)s.connect_failures,
              (unsigned long long)s.releases);
  std::printf("pool: open %zu busy %zu waiting %zu (bound %zu)\n", c.pool().open, c.pool().busy,
              c.pool().waiting, c.pool().size);
  std::printf("simulator: %s\n", pollster::sim::to_json(sim.snapshot()).c_str());
  const bool ok = never == 0 && twice == 0 && mismatched == 0;
  std::printf("soak: %s\n", ok ? "OK" : "FAILED");
  c.shutdown();
  ioc.restart();
  ioc.run_for(2s);
  sim.stop();
  return ok ? 0 : 1;
}
