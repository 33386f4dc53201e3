// Memory per live job: N GetAsyncResult queries of distinct unknown handles
// (--auto-jobs) through the simulator's request parser and cluster model, the
// path a load test takes; heap bytes (mallinfo2) and RSS before and after.
//   sim_job_memory [N=1000000]
#include "model.hpp"
#include "rpc.hpp"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {
long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}
}  // namespace

int main(int argc, char** argv) {
  namespace sim = pollster::sim;
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  sim::config cfg;
  cfg.auto_jobs = true;
  cfg.job_duration.a = std::chrono::hours(1);  // all stay live (running)
  sim::detail::cluster model(cfg, 0);
  sim::detail::request_parser parser;
  std::string body, out;
  auto query = [&](std::uint64_t h) {
    body = R"({"method":"GetAsyncResult","params":{"asyncHandle":)" + std::to_string(h) +
           R"(,"keepResult":true},"id":1})";
    const std::size_t len = body.size();
    body.append(sim::detail::json_padding, ' ');
    out.clear();
    model.answer(parser.parse(body.data(), len), {}, 1, out);
  };
  query(n + 1);  // warm the parser and buffers
  const long rss0 = rss_bytes();
  const std::size_t heap0 = mallinfo2().uordblks + mallinfo2().hblkhd;
  auto cpu = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
  };
  double t0 = cpu();
  for (std::uint64_t h = 1; h <= n; ++h) query(h);
  double t1 = cpu();
  const long rss1 = rss_bytes();
  const std::size_t heap1 = mallinfo2().uordblks + mallinfo2().hblkhd;
  sim::stats st;
  model.fill(st, 2);
  std::printf("auto jobs created: %llu (live %llu)\n", static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(st.live_jobs));
  std::printf("heap per live job: %.1f bytes\n", static_cast<double>(heap1 - heap0) / n);
  std::printf("RSS per live job:  %.1f bytes\n", static_cast<double>(rss1 - rss0) / n);
  std::printf("CPU per query creating a job: %.0f ns\n", (t1 - t0) / static_cast<double>(n));
  const std::uint64_t m = 1'000'000;
  double t2 = cpu();
  for (std::uint64_t i = 0; i < m; ++i) query(1 + i % 1000);
  double t3 = cpu();
  std::printf("CPU per query of a live job (parse + answer): %.0f ns\n", (t3 - t2) / static_cast<double>(m));
  return st.live_jobs == n + 1 ? 0 : 1;
}
