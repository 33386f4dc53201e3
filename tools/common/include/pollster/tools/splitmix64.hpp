#pragma once
// splitmix64 (Steele, Lea, Flood 2014): a tiny, seedable, reproducible
// generator. Used instead of <random> engines because its output is fixed by
// the algorithm, not by the standard library's implementation, so a seed
// gives the same simulated cluster on every platform.

#include <cstdint>

namespace pollster::tools {

/// Advances `state` and returns the next 64 random bits.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The top 53 bits of `bits` as a double in [0, 1).
constexpr double unit_interval(std::uint64_t bits) noexcept {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

}  // namespace pollster::tools
