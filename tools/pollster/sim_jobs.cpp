#include "sim_jobs.hpp"

#include <chrono>
#include <cmath>

namespace pollster::cli {

std::vector<std::uint64_t> create_jobs(sim::server& sim, const sim::duration_dist& dist, std::size_t n,
                                       std::mt19937_64& rng) {
  std::vector<std::uint64_t> handles;
  handles.reserve(n);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    std::chrono::nanoseconds run = dist.a;
    if (dist.shape == sim::duration_dist::kind::uniform)
      run = dist.a + std::chrono::nanoseconds(static_cast<std::int64_t>(unit(rng) * static_cast<double>((dist.b - dist.a).count())));
    else if (dist.shape == sim::duration_dist::kind::lognormal)
      run = std::chrono::nanoseconds(static_cast<std::int64_t>(
          std::lognormal_distribution<double>(std::log(static_cast<double>(dist.a.count())), dist.sigma)(rng)));
    handles.push_back(sim.create_job("Clone", run, false));
  }
  return handles;
}

}  // namespace pollster::cli
