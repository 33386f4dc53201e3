// Capped exponential backoff with jitter (see pollster::backoff_policy).
#pragma once

#include "pollster/config.hpp"
#include "poller/rng.hpp"

namespace pollster::detail {

/// The upper bound of the n-th delay (n = 0 for the first): min(max_delay,
/// initial * multiplier^n).
duration backoff_ceiling(const backoff_policy& p, int n) noexcept;

/// The n-th delay, drawn in [max(min_delay, ceiling*(1-jitter)), ceiling].
duration backoff_delay(const backoff_policy& p, int n, rng& r) noexcept;

/// Why a policy is unusable, or empty when it is fine.
const char* backoff_problem(const backoff_policy& p) noexcept;

}  // namespace pollster::detail
