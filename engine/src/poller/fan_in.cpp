#include "poller/fan_in.hpp"

#include <algorithm>

namespace pollster::detail {

fan_in_policy::fan_in_policy(const fan_in_options& o) noexcept
    : o_(o), interval_(o.min_interval) {}

duration fan_in_policy::budget_wait(std::size_t bytes) const noexcept {
  if (o_.list_bytes_per_second <= 0) return duration::zero();
  return std::chrono::duration_cast<duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / o_.list_bytes_per_second));
}

// Bytes per second the waits cost the cluster polled on their own, each every
// `spacing` (a request counts as request_cost_bytes, its answer as a
// GetAsyncResult's).
double fan_in_policy::polls_cost(std::size_t waits, duration spacing) const noexcept {
  const double every = std::max(std::chrono::duration<double>(spacing).count(), 0.001);
  return static_cast<double>(waits) * static_cast<double>(o_.request_cost_bytes + get_answer_bytes) / every;
}

bool fan_in_policy::use_list(time_point now, std::size_t waits, duration poll_spacing) noexcept {
  waits_ = waits;
  spacing_ = poll_spacing;
  switch (o_.mode) {
    case fan_in_mode::list: return true;
    case fan_in_mode::per_handle: return false;
    case fan_in_mode::automatic: break;
  }
  if (waits == 0 || fallen_back(now)) return listing_ = false;
  // The two at the same detection delay: one list as often as each wait
  // would be polled on its own (or as the byte budget allows, if rarer).
  // Compared at the floor instead, a list carrying many results of other
  // clients lost to a few hundred polls it would have replaced, and those
  // polls cost 2-3 requests per job (bench/gentleness, watch row). Once
  // listing, on_list keeps the lists no dearer than those polls.
  const double request = static_cast<double>(o_.request_cost_bytes);
  const double list_bytes = have_list_ ? static_cast<double>(last_list_bytes_)
                                       : static_cast<double>(waits * entry_bytes);
  const double every = std::max(std::chrono::duration<double>(poll_spacing).count(),
                                std::chrono::duration<double>(budget_wait(last_list_bytes_)).count());
  const double list = (request + list_bytes) / std::max(every, 0.001);
  const double per_handle = polls_cost(waits, poll_spacing);
  // Hysteresis: a list must be clearly cheaper to start, clearly dearer to stop.
  listing_ = listing_ ? list < 1.25 * per_handle : list < 0.8 * per_handle;
  return listing_;
}

void fan_in_policy::on_waits_added(time_point now) noexcept {
  // Never sooner than the byte budget, Retry-After or a failure's backoff.
  next_ = std::min(next_, std::max({now + o_.min_interval, budget_until_, hold_until_, afford_until_}));
}

void fan_in_policy::on_list(time_point now, std::size_t bytes, std::size_t completions,
                            duration retry_after) noexcept {
  failures_ = 0;
  have_list_ = true;
  last_list_bytes_ = bytes;
  // Completions come: look again soon. Nothing changed: back off, bounded.
  if (completions > 0)
    interval_ = o_.min_interval;
  else
    interval_ = std::min(o_.max_interval,
                         std::chrono::duration_cast<duration>(interval_ * 1.5));
  interval_ = std::max(interval_, o_.min_interval);
  budget_until_ = now + budget_wait(bytes);
  hold_until_ = now + retry_after;
  // automatic: the next list no sooner than its cost matches the polls of
  // the waits it served (a list of B bytes for n waits polled every S goes
  // every S x (request + B) / (n x (request + answer)) at the most often).
  afford_until_ = {};
  if (o_.mode == fan_in_mode::automatic && waits_ > 0) {
    const double per_handle = polls_cost(waits_, spacing_);
    const double every = (static_cast<double>(o_.request_cost_bytes) + static_cast<double>(bytes)) / per_handle;
    afford_until_ = now + std::chrono::duration_cast<duration>(
                              std::chrono::duration<double>(std::min(every, 3600.0)));
  }
  next_ = std::max({now + interval_, budget_until_, hold_until_, afford_until_});
}

void fan_in_policy::on_list_failed(time_point now, duration retry_after, bool refused) noexcept {
  ++failures_;
  if (o_.mode == fan_in_mode::automatic &&
      (refused || failures_ >= std::max(1, o_.failures_before_fallback))) {
    fallback_until_ = now + o_.fallback_for;
    ++fallbacks_;
    failures_ = 0;
    listing_ = false;
  }
  // Retried at the floor doubled per failure, up to the ceiling.
  duration wait = o_.min_interval;
  for (int i = 1; i < failures_ && wait < o_.max_interval; ++i) wait *= 2;
  wait = std::min(wait, std::max(o_.max_interval, o_.min_interval));
  next_ = std::max(now + wait, now + retry_after);
  if (fallen_back(now)) next_ = std::max(next_, fallback_until_);
  hold_until_ = next_;
}

}  // namespace pollster::detail
