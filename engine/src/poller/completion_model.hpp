// When to poll a wait that reports no progress: learned from the waits of the
// same client (cluster), without I/O. Time comes in as ages (seconds since a
// wait began), so tests drive it with any clock.
//
// Why learned and not a fixed schedule: against a population of jobs, a poll
// schedule with local spacing d(t) costs E[N] = integral S(t)/d(t) requests
// per job and E[delay] = integral f(t) d(t)/2, where f is the density of
// completion ages and S the share still running. No fixed d(t) beats a fixed
// 2 s loop on both for every spread of jobs (short jobs want short spacing,
// long ones long), but the spacing that minimises one for a given value of
// the other is d(t) = k / sqrt(h(t)), h = f / S the hazard (Lagrange), and by
// Cauchy-Schwarz it beats any fixed spacing B on both by the same factor
// I / sqrt(E[D]), I = integral S sqrt(h), when k = B / sqrt(E[D]). So the
// model estimates h by age from what waits see, and places polls at that
// density.
#pragma once

#include <array>
#include <chrono>

#include "pollster/config.hpp"

namespace pollster::detail {

class completion_model {
 public:
  /// `baseline`: the fixed loop to beat (its spacing B).
  explicit completion_model(duration baseline = std::chrono::seconds(2)) noexcept;

  /// A wait's job was running at age `from` and still at age `to` (seconds).
  void running(double from, double to) noexcept;
  /// ... running at `from`, complete at `to`: it completed in between
  /// (spread evenly over the interval).
  void completed(double from, double to) noexcept;

  /// The age at which a wait now `age` seconds old should poll next (+inf
  /// when the model sees no completion coming; the caller bounds it).
  double next_poll_age(double age) noexcept;

  /// Completions learned (after decay).
  double completions() const noexcept { return total_events_; }

  static constexpr int bins = 120;
  /// Lower edge of bin i (seconds): 0, then 0.25 s x 1.1^(i-1) (about 6 h at the top).
  static double edge(int i) noexcept;

 private:
  static int bin_of(double age) noexcept;
  void add_exposure(double from, double to) noexcept;
  void refresh() noexcept;

  double baseline_s_;
  // Per age bin: seconds of waits seen running (at risk), completions seen.
  std::array<double, bins> exposure_{};
  std::array<double, bins> events_{};
  double total_events_ = 0;
  // Derived by refresh(): sqrt(hazard)/k per bin (polls per second at that
  // age) and its running integral at the bin edges.
  std::array<double, bins> density_{};
  std::array<double, bins + 1> cumulative_{};
  int changes_since_refresh_ = 0;
  bool fresh_ = false;
};

}  // namespace pollster::detail
