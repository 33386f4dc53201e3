// A population of jobs through wait_machine on a fake clock: how many polls a
// schedule costs per job and how late it sees each completion. Shared by the
// completion_model unit tests (which assert the comparison) and
// bench/schedule_sim (which prints it); no I/O, no real time.
#pragma once

#include <chrono>
#include <cmath>
#include <functional>

#include "poller/completion_model.hpp"
#include "poller/rng.hpp"
#include "poller/wait_machine.hpp"

namespace pollster::bench {

struct population_figures {
  double polls_per_job = 0;
  double mean_delay_s = 0;  // completion -> the poll that saw it
};

/// Runs `warm` jobs (learning only), then `measured` jobs, each a wait whose
/// job runs `duration_of(r)` seconds from the wait's start; the jobs of one
/// round of `overlap` start together, as a burst of clones does.
inline population_figures run_population(const wait_options& opts, detail::completion_model* model,
                                         const std::function<double(detail::rng&)>& duration_of,
                                         int warm, int measured, std::uint64_t seed = 7) {
  using wm = detail::wait_machine;
  detail::rng r(seed), jitter(seed + 1);
  wm::time_point now = wm::time_point{} + std::chrono::hours(24);
  double polls = 0, delay = 0;
  for (int i = 0; i < warm + measured; ++i) {
    const double d = duration_of(r);
    const wm::time_point began = now;
    const wm::time_point done = began + std::chrono::duration_cast<duration>(std::chrono::duration<double>(d));
    wm machine(opts, now, jitter, model);
    wm::action a = machine.start(now);
    // Bounded: a schedule that never polls again ends the job at its deadline.
    for (int guard = 0; guard < 100000 && a.what != wm::step::finish; ++guard) {
      if (a.what == wm::step::poll) {
        a = now >= done ? machine.on_complete(false) : machine.on_running(now);
      } else {
        now = a.at;
        a = machine.on_woken(now);
      }
    }
    if (i >= warm) {
      polls += machine.polls();
      delay += std::chrono::duration<double>(now - done).count();
    }
    now += std::chrono::seconds(1);  // the next job starts later: ages restart
  }
  return {polls / measured, delay / measured};
}

/// The loop pollster replaces: GetAsyncResult every `spacing`, first at once.
inline wait_options fixed_loop(std::chrono::milliseconds spacing) {
  wait_options o;
  o.deadline = std::chrono::hours(2);
  o.poll = {.initial = spacing, .multiplier = 1.0, .max_delay = spacing, .jitter = 0.0,
            .min_delay = spacing};
  return o;
}

inline wait_options learned_default() {
  wait_options o;
  o.deadline = std::chrono::hours(2);
  return o;
}

inline double uniform(detail::rng& r, double lo, double hi) { return lo + (hi - lo) * r.unit(); }
inline double log_uniform(detail::rng& r, double lo, double hi) {
  return lo * std::exp(std::log(hi / lo) * r.unit());
}

}  // namespace pollster::bench
