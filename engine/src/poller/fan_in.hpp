// The decisions of a client's fan-in, without I/O (sans-io): whether the
// waits are served by one ListAsyncResults per tick or by per-handle polls,
// and when the next list goes out. Time comes in as an argument.
#pragma once

#include <cstddef>

#include "pollster/config.hpp"
#include "poller/clock.hpp"

namespace pollster::detail {

class fan_in_policy {
 public:
  using time_point = detail::time_point;

  /// Bytes a GetAsyncResult answer is taken to cost (the simulator's answers
  /// are 218 B, docs/simulator.md), and a list entry before any list is seen
  /// (230 B measured there).
  static constexpr std::size_t get_answer_bytes = 256;
  static constexpr std::size_t entry_bytes = 256;

  explicit fan_in_policy(const fan_in_options& o) noexcept;

  /// Whether the waits should be served by lists now. `waits`: the client's
  /// waits; `poll_spacing`: how often each would be polled on its own.
  /// automatic compares the cluster's cost per second of both at the same
  /// spacing (so at the same detection delay), with some hysteresis so that
  /// the choice does not flap. The waits and spacing are kept for on_list.
  bool use_list(time_point now, std::size_t waits, duration poll_spacing) noexcept;

  /// When the next list may go out.
  time_point next_list() const noexcept { return next_; }
  /// Waits were added: their first look comes at the floor, not after a long
  /// idle interval (but never sooner than the byte budget allows).
  void on_waits_added(time_point now) noexcept;
  /// A list answer of `bytes`, with `completions` of our waits in it. The
  /// next list: after the interval (the floor while completions come), the
  /// byte budget and Retry-After, and, automatic, not before the list has
  /// cost no more than the per-handle polls of the waits it served (the
  /// waits and spacing of the last use_list).
  void on_list(time_point now, std::size_t bytes, std::size_t completions,
               duration retry_after) noexcept;
  /// A list that failed; `refused`: the cluster will not serve the method
  /// (unknown method, permission), not a transient failure.
  void on_list_failed(time_point now, duration retry_after, bool refused) noexcept;

  /// automatic gave up lists until then (max: not fallen back).
  bool fallen_back(time_point now) const noexcept { return now < fallback_until_; }
  int fallbacks() const noexcept { return fallbacks_; }
  duration interval() const noexcept { return interval_; }

 private:
  duration budget_wait(std::size_t bytes) const noexcept;
  double polls_cost(std::size_t waits, duration spacing) const noexcept;

  const fan_in_options& o_;
  duration interval_;
  time_point next_{};          // epoch: at once
  time_point budget_until_{};  // the byte budget's earliest next list
  time_point hold_until_{};    // Retry-After or a failure's backoff: new waits wait too
  time_point fallback_until_{};
  time_point afford_until_{};  // automatic: the list no dearer than the polls it replaces
  std::size_t waits_ = 0;      // of the last use_list
  duration spacing_{};
  std::size_t last_list_bytes_ = 0;
  bool have_list_ = false;
  bool listing_ = false;  // automatic's last choice
  int failures_ = 0;
  int fallbacks_ = 0;
};

}  // namespace pollster::detail
