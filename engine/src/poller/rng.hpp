// splitmix64: jitter needs speed and independence between handles, not
// cryptographic quality; 8 bytes of state instead of mt19937_64's 2.5 KB.
#pragma once

#include <cstdint>

namespace pollster::detail {

class rng {
 public:
  explicit rng(std::uint64_t seed = 0x9e3779b97f4a7c15ull) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

}  // namespace pollster::detail
