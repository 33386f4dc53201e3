#include "transport/pool_state.hpp"

#include "poller/backoff.hpp"

namespace pollster::detail {

pool_state::pool_state(std::size_t slots) : slots_(slots ? slots : 1) {}

std::optional<std::size_t> pool_state::acquire() noexcept {
  std::optional<std::size_t> closed;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const slot& s = slots_[i];
    if (s.busy) continue;
    if (s.open) {
      slots_[i].busy = true;
      ++busy_;
      return i;
    }
    if (!closed || s.not_before < slots_[*closed].not_before) closed = i;
  }
  if (closed) {
    slots_[*closed].busy = true;
    ++busy_;
  }
  return closed;
}

void pool_state::release(std::size_t slot, bool open) noexcept {
  if (!slots_[slot].busy) return;
  slots_[slot].busy = false;
  slots_[slot].open = open;
  --busy_;
}

pool_state::handoff pool_state::release_and_hand_off(std::size_t slot, bool open, bool waiters,
                                                     bool work_due) noexcept {
  release(slot, open);
  if (waiters) return {acquire()};
  if (work_due) return {};  // under load the watchdog stays armed for the next request
  return {std::nullopt, true, busy_ == 0};
}

void pool_state::connect_succeeded(std::size_t slot) noexcept {
  slots_[slot].open = true;
  slots_[slot].failures = 0;
}

void pool_state::connect_failed(std::size_t slot, time_point now, rng& r,
                                const backoff_policy& p) noexcept {
  auto& s = slots_[slot];
  s.open = false;
  s.not_before = now + backoff_delay(p, s.failures++, r);
}

void pool_state::dropped(std::size_t slot, time_point now, rng& r,
                         const backoff_policy& p) noexcept {
  auto& s = slots_[slot];
  s.open = false;
  s.not_before = now + backoff_delay(p, 0, r);
}

std::size_t pool_state::open() const noexcept {
  std::size_t n = 0;
  for (const auto& s : slots_) n += s.open;
  return n;
}

}  // namespace pollster::detail
