#include "poller/completion_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pollster::detail {

namespace {

constexpr double first_edge = 0.25;  // seconds
constexpr double growth = 1.1;  // bins 10% wider each: a sharp edge in the spread is seen
// The prior, until waits say otherwise: hazard 1/(age + 1 s) (ages spread
// evenly over orders of magnitude), weighted as half a wait seen at every age.
// Alone it places polls at about 0.6 s x sqrt(age + 1 s).
constexpr double prior_weight = 0.5;
// Halve what was learned past this many completions: the model follows a
// cluster whose jobs change.
constexpr double decay_at = 8192;
// Refresh the derived table after this many observations (a refresh is ~56
// exp/sqrt; a poll costs far more).
constexpr int refresh_every = 8;

double prior_hazard(int b) noexcept {
  const double mid = 0.5 * (completion_model::edge(b) + completion_model::edge(b + 1));
  return 1.0 / (mid + 1.0);
}

}  // namespace

double completion_model::edge(int i) noexcept {
  return i <= 0 ? 0.0 : first_edge * std::pow(growth, i - 1);
}

int completion_model::bin_of(double age) noexcept {
  if (!(age >= first_edge)) return 0;
  const int i = 1 + static_cast<int>(std::floor(std::log(age / first_edge) / std::log(growth)));
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
    const double h = (events_[b] + px * prior_hazard(b)) / (exposure_[b] + px);
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
