#include "poller/completion_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pollster::detail {

namespace {

constexpr double first_edge = 0.25;  // seconds
constexpr double growth = 1.1;  // bins 10% wider each: a sharp edge in the spread is seen
// The prior, until waits say otherwise: a constant hazard (jobs of 20 s on
// average, memoryless), weighted as half a wait seen at every age. A constant
// hazard gives every age the same density, and k = B / sqrt(E[D]) makes it
// exactly the baseline's: alone, the prior polls like the fixed 2 s loop, so
// a burst of waits on a fresh client costs what the loop costs until the
// first completions teach the model better.
constexpr double prior_weight = 0.5;
constexpr double prior_hazard = 1.0 / 20;  // per second
// Halve what was learned past this many completions: the model follows a
// cluster whose jobs change.
constexpr double decay_at = 8192;
// Refresh the derived table (120 bins: exp, expm1, sqrt each, a few µs)
// after this many observations: every 8 while little is learned, when each
// observation moves the table, and rarer as completions accumulate, when one
// observation barely does: at the decay's 8,192 completions, every 512. A
// refresh per 8 polls cost about 1 µs per poll with many waits.
constexpr double refresh_share = 1.0 / 16;  // of the completions learned
constexpr int refresh_min = 8, refresh_max = 512;

// The bin edges, computed once: edge() is asked about ten times per
// observation and per next_poll_age, and 240 times per refresh.
// Function-local statics, not globals: filled at first use, so a model used
// during another file's static initialisation still sees them.
const std::array<double, completion_model::bins + 1>& edges() noexcept {
  static const std::array<double, completion_model::bins + 1> e = [] {
    std::array<double, completion_model::bins + 1> t{};
    for (int i = 1; i <= completion_model::bins; ++i) t[i] = first_edge * std::pow(growth, i - 1);
    return t;
  }();
  return e;
}
double log_growth() noexcept {
  static const double g = std::log(growth);
  return g;
}

}  // namespace

double completion_model::edge(int i) noexcept { return edges()[std::clamp(i, 0, bins)]; }

int completion_model::bin_of(double age) noexcept {
  if (!(age >= first_edge)) return 0;
  const int i = 1 + static_cast<int>(std::floor(std::log(age / first_edge) / log_growth()));
  return std::clamp(i, 1, bins - 1);
}

completion_model::completion_model(duration baseline) noexcept
    : baseline_s_(std::max(1e-3, std::chrono::duration<double>(baseline).count())) {}

void completion_model::add_exposure(double from, double to) noexcept {
  from = std::max(from, 0.0);
  to = std::min(to, edge(bins));
  for (int b = bin_of(from); b < bins && from < to; ++b) {
    const double end = std::min(to, edge(b + 1));
    if (end > from) exposure_[b] += end - from;
    from = end;
  }
  ++changes_since_refresh_;
}

void completion_model::running(double from, double to) noexcept {
  if (to > from) add_exposure(from, to);
}

void completion_model::completed(double from, double to) noexcept {
  from = std::max(from, 0.0);
  to = std::min(to, edge(bins));
  if (!(to >= from)) return;
  if (to - from < 1e-9) {
    events_[bin_of(from)] += 1;
  } else {
    // Interval-censored: the completion is somewhere in (from, to], taken as
    // uniform there (the actuarial life table). Each bin gets its share of
    // the event, and the time at risk expected in it: the job was still
    // running at t with probability (to - t) / (to - from). Counting the
    // event at one point instead would teach the model the schedule's own
    // poll times.
    const double span = to - from;
    for (int b = bin_of(from); b < bins && from < to; ++b) {
      const double end = std::min(to, edge(b + 1));
      if (end > from) {
        events_[b] += (end - from) / span;
        exposure_[b] += ((to - from) * (to - from) - (to - end) * (to - end)) / (2 * span);
      }
      from = end;
    }
  }
  total_events_ += 1;
  ++changes_since_refresh_;
  if (total_events_ > decay_at) {
    for (auto& x : exposure_) x *= 0.5;
    for (auto& e : events_) e *= 0.5;
    total_events_ *= 0.5;
  }
}

void completion_model::refresh() noexcept {
  std::array<double, bins> hazard{};
  double survival = 1, mean = 0;  // S at the bin's lower edge; E[D] = integral of S
  for (int b = 0; b < bins; ++b) {
    const double w = edge(b + 1) - edge(b);
    const double px = prior_weight * w;
    const double h = (events_[b] + px * prior_hazard) / (exposure_[b] + px);
    hazard[b] = h;
    const double hw = h * w;
    // Integral of S over the bin for a constant hazard: S (1 - e^-hw) / h.
    mean += hw > 1e-12 ? survival * -std::expm1(-hw) / h : survival * w;
    survival *= std::exp(-hw);
  }
  // Poll density sqrt(h) / k with k = B / sqrt(E[D]) (see the header).
  const double k = baseline_s_ / std::sqrt(std::max(mean, 1e-9));
  cumulative_[0] = 0;
  for (int b = 0; b < bins; ++b) {
    density_[b] = std::sqrt(hazard[b]) / k;
    cumulative_[b + 1] = cumulative_[b] + density_[b] * (edge(b + 1) - edge(b));
  }
  changes_since_refresh_ = 0;
  fresh_ = true;
}

double completion_model::next_poll_age(double age) noexcept {
  const int refresh_every =
      std::clamp(static_cast<int>(total_events_ * refresh_share), refresh_min, refresh_max);
  if (!fresh_ || changes_since_refresh_ >= refresh_every) refresh();
  age = std::max(age, 0.0);
  if (age >= edge(bins)) return std::numeric_limits<double>::infinity();
  // One poll per unit of the cumulative density: the next is where it has
  // grown by one from here.
  int b = bin_of(age);
  const double target = cumulative_[b] + (age - edge(b)) * density_[b] + 1.0;
  for (; b < bins; ++b)
    if (cumulative_[b + 1] >= target && density_[b] > 0)
      return edge(b) + (target - cumulative_[b]) / density_[b];
  return std::numeric_limits<double>::infinity();
}

}  // namespace pollster::detail
