// bench/schedule_sim: requests per job and detection delay of the learned
// per-handle schedule against the fixed 2 s loop, on a fake clock, for jobs
// of 1 s to 10 minutes spread several ways (issue 11: "a schedule that beats
// a fixed 2 s loop on both requests and delay for jobs of 1 s to 10 minutes").
// Deterministic: the same numbers on every machine.
//
// usage: pollster_schedule_sim [JOBS]   (default 2000 measured after 1000 learned)
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "schedule_population.hpp"

using namespace pollster;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  const int measured = argc > 1 ? std::atoi(argv[1]) : 2000;
  if (measured <= 0) {
    std::fprintf(stderr, "usage: pollster_schedule_sim [JOBS]\n");
    return 2;
  }
  struct spread {
    std::string name;
    std::function<double(detail::rng&)> draw;
  };
  const std::vector<spread> spreads = {
      {"uniform 2-20 s", [](detail::rng& r) { return bench::uniform(r, 2, 20); }},
      {"uniform 1-10 s", [](detail::rng& r) { return bench::uniform(r, 1, 10); }},
      {"log-uniform 1 s-10 min", [](detail::rng& r) { return bench::log_uniform(r, 1, 600); }},
      {"uniform 1 s-10 min", [](detail::rng& r) { return bench::uniform(r, 1, 600); }},
      {"uniform 1-10 min", [](detail::rng& r) { return bench::uniform(r, 60, 600); }},
      {"log-normal median 30 s", [](detail::rng& r) {
         // Box-Muller: sigma 1 (e-fold spread), clipped to 1 s-10 min.
         const double u1 = std::max(r.unit(), 1e-12), u2 = r.unit();
         const double z = std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
         return std::clamp(30 * std::exp(z), 1.0, 600.0);
       }},
  };
  const wait_options fixed = bench::fixed_loop(2000ms), learned = bench::learned_default();
  std::printf("%-24s %12s %12s %12s %12s %8s %8s\n", "jobs", "2s loop req", "delay", "learned req",
              "delay", "req x", "delay x");
  int worse = 0;
  for (const auto& s : spreads) {
    const auto f = bench::run_population(fixed, nullptr, s.draw, 0, measured);
    detail::completion_model model;
    const auto l = bench::run_population(learned, &model, s.draw, measured / 2, measured);
    const double rq = l.polls_per_job / f.polls_per_job, dl = l.mean_delay_s / f.mean_delay_s;
    worse += rq >= 1 || dl >= 1;
    std::printf("%-24s %12.2f %10.2f s %12.2f %10.2f s %8.2f %8.2f\n", s.name.c_str(), f.polls_per_job,
                f.mean_delay_s, l.polls_per_job, l.mean_delay_s, rq, dl);
  }
  return worse == 0 ? 0 : 1;
}
