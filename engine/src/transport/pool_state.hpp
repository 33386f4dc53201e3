// The decisions of a cluster's connection pool, without I/O: which slot a
// request uses, who gets a freed slot, when a broken slot may reconnect. The
// FIFO of requests waiting for a slot lives in the client (its nodes hold
// timers); this class says when to serve its head.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "pollster/config.hpp"
#include "poller/rng.hpp"

namespace pollster::detail {

class pool_state {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit pool_state(std::size_t slots);

  /// A free slot for a request: an open idle one first (keep-alive reuse),
  /// else the closed one allowed to reconnect soonest. nullopt: all busy.
  std::optional<std::size_t> acquire() noexcept;
  /// A free slot only if no request queues before this one (FIFO: a
  /// newcomer never overtakes a waiter). nullopt: join the queue.
  std::optional<std::size_t> acquire_in_turn(bool others_waiting) noexcept {
    return others_waiting ? std::nullopt : acquire();
  }
  /// The request is done with `slot`; `open`: its connection is still usable.
  void release(std::size_t slot, bool open) noexcept;

  /// What follows the end of a request on a slot.
  struct handoff {
    /// A slot for the oldest waiting request (handed straight to it).
    std::optional<std::size_t> to_oldest_waiter;
    /// Nothing is due: the slot's idle connection must not keep a watchdog
    /// timer pending (it would keep the io_context running).
    bool stop_watching = false;
    /// ... and no slot is busy: no connection may keep one.
    bool stop_all_watching = false;
  };
  /// release(), then: a waiter gets a slot first; else, with no work due
  /// (`work_due`: waits ready to poll), the watchdogs stop.
  handoff release_and_hand_off(std::size_t slot, bool open, bool waiters, bool work_due) noexcept;

  /// A closed slot may not connect before this (jittered reconnect backoff).
  time_point connect_not_before(std::size_t slot) const noexcept { return slots_[slot].not_before; }
  void connect_succeeded(std::size_t slot) noexcept;
  /// A connect failed: back off, growing with consecutive failures.
  void connect_failed(std::size_t slot, time_point now, rng& r, const backoff_policy& p) noexcept;
  /// An open connection broke unexpectedly (reset, failover): reconnect after
  /// a short jittered pause so that a whole pool dropped at once does not
  /// reconnect in lockstep with every other client of the cluster.
  void dropped(std::size_t slot, time_point now, rng& r, const backoff_policy& p) noexcept;

  std::size_t size() const noexcept { return slots_.size(); }
  std::size_t busy() const noexcept { return busy_; }
  std::size_t open() const noexcept;

 private:
  struct slot {
    bool busy = false;
    bool open = false;
    int failures = 0;
    time_point not_before{};
  };
  std::vector<slot> slots_;
  std::size_t busy_ = 0;
};

}  // namespace pollster::detail
