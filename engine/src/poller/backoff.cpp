#include "poller/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace pollster::detail {

duration backoff_ceiling(const backoff_policy& p, int n) noexcept {
  const double initial = static_cast<double>(p.initial.count());
  const double cap = static_cast<double>(p.max_delay.count());
  // pow overflows to inf for large n, which min() then caps.
  const double c = std::min(cap, initial * std::pow(p.multiplier, std::max(n, 0)));
  // A double of 2^63 does not fit back: saturate instead of wrapping negative.
  if (c >= 0x1p63) return duration::max();
  return duration(static_cast<duration::rep>(c));
}

duration backoff_delay(const backoff_policy& p, int n, rng& r) noexcept {
  const duration ceiling = backoff_ceiling(p, n);
  const double jitter = std::clamp(p.jitter, 0.0, 1.0);
  const double hi = static_cast<double>(ceiling.count());
  const double lo = hi * (1.0 - jitter);
  const double x = lo + (hi - lo) * r.unit();
  duration d = x >= 0x1p63 ? duration::max() : duration(static_cast<duration::rep>(x));
  return std::clamp(d, std::min(p.min_delay, ceiling), ceiling);
}

const char* backoff_problem(const backoff_policy& p) noexcept {
  if (p.initial.count() < 0 || p.max_delay.count() < 0 || p.min_delay.count() < 0)
    return "durations must not be negative";
  if (p.initial.count() == 0 && p.min_delay.count() == 0)
    return "initial or min_delay must be positive (a zero delay polls in a busy loop)";
  if (p.max_delay < p.initial) return "max_delay must be at least initial";
  if (!(p.multiplier >= 1.0) || !std::isfinite(p.multiplier)) return "multiplier must be >= 1";
  if (!(p.jitter >= 0.0 && p.jitter <= 1.0)) return "jitter must be within [0, 1]";
  if (p.learned && p.min_delay.count() <= 0)
    return "a learned schedule needs a positive min_delay (it bounds the spacing of polls)";
  return nullptr;
}

}  // namespace pollster::detail
