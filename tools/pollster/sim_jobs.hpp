// Jobs created on a simulator before any client asks: `pollster load --jobs`
// against its embedded simulators, and `pollster sim --jobs` for a client
// run from outside (bench/gentleness measures `pollster watch` with it).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "pollster/sim/server.hpp"

namespace pollster::cli {

/// `n` Clone jobs created on `sim` now, their durations drawn from `dist`
/// (the simulator draws its --auto-jobs the same way). Their handles, in order.
std::vector<std::uint64_t> create_jobs(sim::server& sim, const sim::duration_dist& dist, std::size_t n,
                                       std::mt19937_64& rng);

}  // namespace pollster::cli
