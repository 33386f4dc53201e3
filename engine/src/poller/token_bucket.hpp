// Request-rate limit toward one cluster. Reservation style (as Guava's
// RateLimiter): each request takes a token now and is told how long to wait
// for it, so callers are served in arrival order without a queue.
#pragma once

#include <algorithm>
#include <chrono>

namespace pollster::detail {

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  /// rate tokens per second, at most burst saved up; rate <= 0: unlimited.
  token_bucket(double rate, double burst) : rate_(rate), burst_(burst > 0 ? burst : rate) {}

  bool unlimited() const noexcept { return rate_ <= 0; }

  /// Takes one token; returns how long the caller must wait before using it.
  clock::duration reserve(clock::time_point now) noexcept {
    if (unlimited()) return {};
    if (!started_) {
      started_ = true;
      tokens_ = burst_;
      last_ = now;
    }
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    if (elapsed > 0) {
      tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
      last_ = now;
    }
    tokens_ -= 1.0;  // may go negative: that debt is the wait
    if (tokens_ >= 0) return {};
    return std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(-tokens_ / rate_));
  }

  /// Gives back a token reserved for a request that gave up before it was
  /// sent (its wait ran past its deadline, or it was cancelled): a request
  /// never sent must not push later ones back.
  void refund() noexcept {
    if (!unlimited()) tokens_ = std::min(burst_, tokens_ + 1.0);
  }

 private:
  double rate_;
  double burst_;
  double tokens_ = 0;
  bool started_ = false;
  clock::time_point last_{};
};

}  // namespace pollster::detail
