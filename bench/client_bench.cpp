// pollster_bench_client: small, deterministic drivers for the measurements
// that Google Benchmark does not fit.
//
//   parse VECTOR COUNT
//       Parses one element-api.md vector COUNT times as the engine does (for
//       callgrind: run with COUNT=0 and COUNT=N, the difference / N is the
//       instructions per parse).
//   poll URL POLLS CONNECTIONS HANDLES
//       Polls HANDLES running jobs with no backoff over CONNECTIONS TLS
//       connections until POLLS running answers came back (for callgrind:
//       instructions per poll of the whole request path).
//   rate URL SECONDS CONNECTIONS HANDLES
//       Closed loop for SECONDS: HANDLES waits in flight, polling with no
//       backoff; a wait that ends (a server answering "complete") is replaced
//       by one for a new handle. Prints {"requests", "duration_s",
//       "requests_per_s"} like `pollster load --json` (bench/compare's
//       stand-in when `pollster load` is not built).
//   hold URL HANDLES CONNECTIONS
//       Starts HANDLES waits with a 1 h poll backoff and waits until every one
//       has had its first "running" answer and sleeps; then prints the peak
//       RSS (VmHWM) as JSON. (Memory per outstanding handle.)
//
// The server is a simulator (`pollster sim --auto-jobs --job-duration 1h`);
// the password comes from POLLSTER_PASSWORD (default "admin"), user "admin";
// certificates are not checked (loopback benchmarks only).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>

#include "pollster/pollster.hpp"
#include "protocol/answer_parser.hpp"
#include "protocol/padded_buffer.hpp"
#include "vectors.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

using namespace pollster;

namespace {

long status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
      return std::strtol(line.c_str() + n + 1, nullptr, 10);
  return -1;
}

int usage() {
  std::cerr << "usage: pollster_bench_client parse VECTOR COUNT\n"
               "       pollster_bench_client poll URL POLLS CONNECTIONS HANDLES\n"
               "       pollster_bench_client rate URL SECONDS CONNECTIONS HANDLES\n"
               "       pollster_bench_client hold URL HANDLES CONNECTIONS\n";
  return 2;
}

int run_parse(const std::string& name, long count) {
  const bench::vector* v = nullptr;
  for (const auto& candidate : bench::kVectors)
    if (name == candidate.name) v = &candidate;
  if (!v) return usage();
  detail::padded_buffer b;
  b.append(v->json.data(), v->json.size());
  detail::answer_parser p;
  long ok = 0;
  for (long i = 0; i < count; ++i) {
    // As the engine reads each answer: GetAsyncResult in one pass, any other
    // method's answer with parse_envelope.
    detail::envelope_view env;
    detail::async_result_view r;
    if (v->get_async_result) {
      if (p.parse_get_async_result(b.data(), b.size(), b.capacity(), env, r)) continue;
    } else if (p.parse_envelope(b.data(), b.size(), b.capacity(), env)) {
      continue;
    }
    if (v->get_async_result && !env.is_error) {
      if (r.complete != v->complete || r.result_type != v->result_type) continue;
    } else if (env.is_error && env.error.name != v->error_name) {
      continue;
    }
    ++ok;
  }
  std::printf("{\"vector\":\"%s\",\"parses\":%ld,\"correct\":%ld}\n", v->name, count, ok);
  return ok == count ? 0 : 1;
}

// One wait_options for every wait: a poll every `interval` exactly (no
// growth, no jitter), results kept (the simulator's jobs are polled again).
std::shared_ptr<const wait_options> polling_every(duration interval, duration deadline) {
  auto w = std::make_shared<wait_options>();
  w->deadline = deadline;
  w->poll = {.initial = interval, .multiplier = 1.0, .max_delay = interval, .jitter = 0.0, .min_delay = interval};
  w->purge = purge_policy::never;
  return w;
}

client_config config_for(const std::string& url, std::size_t connections) {
  client_config cc;
  cc.url = url;
  cc.user = "admin";
  const char* pw = std::getenv("POLLSTER_PASSWORD");
  cc.password = pw ? pw : "admin";
  cc.tls.insecure_skip_verify = true;
  cc.check_id = false;  // static servers (nginx in bench/compare) answer "id":1
  cc.pool_size = connections;
  cc.request_timeout = 120s;
  cc.fan_in.mode = fan_in_mode::per_handle;  // what is measured: the cost of one poll
  return cc;
}

int run_poll(const std::string& url, std::uint64_t polls, std::size_t connections, std::uint64_t handles) {
  asio::io_context ioc{1};
  engine eng(ioc, engine_config{.seed = 1});
  client c(eng, config_for(url, connections));
  const auto w = polling_every(1ns, 0s);  // no backoff, no deadline
  for (std::uint64_t h = 1; h <= handles; ++h) asio::co_spawn(ioc, c.wait(h, *w), asio::detached);
  const auto t0 = std::chrono::steady_clock::now();
  while (eng.stats().running_answers < polls)
    if (ioc.run_one() == 0) {
      std::cerr << "pollster_bench_client: every wait ended before " << polls << " polls\n";
      return 1;
    }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const counters s = eng.stats();  // before shutdown: answers drained later are not polls
  c.shutdown();
  ioc.run();
  std::printf("{\"polls\":%llu,\"answers\":%llu,\"transient_errors\":%llu,\"connects\":%llu,"
              "\"seconds\":%.3f,\"polls_per_s\":%.0f}\n",
              (unsigned long long)s.running_answers, (unsigned long long)s.answers,
              (unsigned long long)s.transient_errors, (unsigned long long)s.connects, secs,
              static_cast<double>(s.running_answers) / secs);
  return s.transient_errors == 0 && s.answers == s.running_answers ? 0 : 1;
}

int run_rate(const std::string& url, double seconds, std::size_t connections, std::uint64_t handles) {
  asio::io_context ioc{1};
  engine eng(ioc, engine_config{.seed = 1});
  client c(eng, config_for(url, connections));
  // No backoff (1 ns: the engine refuses a zero one), no deadline.
  const auto shared = polling_every(1ns, 0s);
  std::uint64_t next = 1, wrong = 0;
  bool stopping = false;
  std::function<void()> start_one = [&] {
    c.async_wait(next++, shared, [&](outcome o) {
      if (stopping) return;
      if (!o.completed()) ++wrong;
      start_one();
    });
  };
  for (std::uint64_t i = 0; i < handles; ++i) start_one();
  // Warm up (connections open), then count.
  const auto warm_until = std::chrono::steady_clock::now() + 500ms;
  while (std::chrono::steady_clock::now() < warm_until) ioc.run_one_for(100ms);
  const std::uint64_t before = eng.stats().answers;
  const auto t0 = std::chrono::steady_clock::now();
  const auto until = t0 + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) ioc.run_one_for(100ms);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::uint64_t requests = eng.stats().answers - before;
  stopping = true;
  c.shutdown();
  ioc.run();
  std::printf("{\"requests\":%llu,\"duration_s\":%.3f,\"requests_per_s\":%.1f,\"errors\":%llu}\n",
              (unsigned long long)requests, secs, static_cast<double>(requests) / secs,
              (unsigned long long)(wrong + eng.stats().transient_errors));
  return 0;
}

int run_hold(const std::string& url, std::uint64_t handles, std::size_t connections) {
  const long hwm_start = status_kib("VmHWM");
  asio::io_context ioc{1};
  engine eng(ioc, engine_config{.seed = 1});
  client c(eng, config_for(url, connections));
  const auto shared = polling_every(1h, 3h);
  std::uint64_t ended = 0;
  // The callback form with one shared wait_options: what the API recommends
  // for very many handles (no coroutine frame per wait).
  for (std::uint64_t h = 1; h <= handles; ++h) c.async_wait(h, shared, [&](outcome) { ++ended; });
  const auto t0 = std::chrono::steady_clock::now();
  const auto limit = t0 + 30min;
  while (eng.stats().running_answers < handles && ended == 0 &&
         std::chrono::steady_clock::now() < limit)
    ioc.run_one_for(1s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long hwm = status_kib("VmHWM"), rss = status_kib("VmRSS");
  const counters s = eng.stats();
  std::printf("{\"handles\":%llu,\"sleeping\":%llu,\"ended_early\":%llu,\"transient_errors\":%llu,"
              "\"seconds\":%.1f,\"vm_hwm_start_kib\":%ld,\"vm_hwm_kib\":%ld,\"vm_rss_kib\":%ld}\n",
              (unsigned long long)handles, (unsigned long long)s.running_answers,
              (unsigned long long)ended, (unsigned long long)s.transient_errors, secs, hwm_start, hwm,
              rss);
  std::fflush(stdout);
  c.shutdown();
  ioc.run();
  // Shutting down ends every wait `cancelled` at once: its own peak.
  std::fprintf(stderr, "{\"vm_hwm_after_shutdown_kib\":%ld}\n", status_kib("VmHWM"));
  return s.running_answers == handles && ended == handles ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  try {
    if (mode == "parse" && argc == 4) return run_parse(argv[2], std::atol(argv[3]));
    if (mode == "poll" && argc == 6)
      return run_poll(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10),
                      std::strtoull(argv[5], nullptr, 10));
    if (mode == "rate" && argc == 6)
      return run_rate(argv[2], std::atof(argv[3]), std::strtoull(argv[4], nullptr, 10),
                      std::strtoull(argv[5], nullptr, 10));
    if (mode == "hold" && argc == 5)
      return run_hold(argv[2], std::strtoull(argv[3], nullptr, 10), std::strtoull(argv[4], nullptr, 10));
  } catch (const std::exception& e) {
    std::cerr << "pollster_bench_client: " << e.what() << "\n";
    return 1;
  }
  return usage();
}
