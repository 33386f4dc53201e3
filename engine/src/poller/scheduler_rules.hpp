// The wait scheduler's decisions, without I/O: what a worker does next, when
// another worker is spawned, when idle workers end so the io_context drains,
// where a cancelled wait is taken from, when the one wake timer moves. The
// scheduler (client/scheduler.cpp) holds the queues and the timers and does
// what these say; unit tests drive them with plain values.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace pollster::detail {

/// What the scheduler's queues hold, as a worker sees them.
struct work_queues {
  bool poll_due = false;             ///< the ready FIFO is not empty
  std::size_t releases_queued = 0;
  std::size_t releases_in_flight = 0;
  std::size_t live_waits = 0;
  std::size_t pool_size = 1;
  /// Outcomes posted whose handlers have not run: a handler may start the
  /// next wait (a closed loop does), which a worker still there then serves.
  std::size_t deliveries_pending = 0;
};

/// Releases go on at most half the pool at once (at least one), so polls
/// that fall due while releases are in flight find a worker.
constexpr std::size_t release_lanes(std::size_t pool_size) noexcept {
  return std::max<std::size_t>(1, pool_size / 2);
}

constexpr bool release_may_go(const work_queues& q) noexcept {
  return q.releases_queued > 0 && q.releases_in_flight < release_lanes(q.pool_size);
}

enum class worker_step {
  poll,     ///< take the oldest ready wait
  release,  ///< send the oldest queued release
  park,     ///< wait to be woken (work will come: waits sleep, releases wait for a lane)
  end,      ///< nothing left: end (new work spawns a worker again)
};

/// Polls first: a release never takes a worker a due poll could use.
constexpr worker_step next_worker_step(const work_queues& q) noexcept {
  if (q.poll_due) return worker_step::poll;
  if (release_may_go(q)) return worker_step::release;
  if (q.live_waits == 0 && q.releases_queued == 0 && q.deliveries_pending == 0) return worker_step::end;
  return worker_step::park;
}

/// One worker per connection the pool may open (more could not poll at
/// once), and only for work that is there: a worker is started inline, and
/// one that found nothing would end at once and be spawned again (a spin).
constexpr bool spawn_worker(const work_queues& q, std::size_t workers, bool shutting_down) noexcept {
  return workers < q.pool_size && !shutting_down && (q.poll_due || release_may_go(q));
}

/// Nothing left to poll or release: the idle workers end, so the
/// io_context drains.
constexpr bool drained(const work_queues& q) noexcept {
  return q.live_waits == 0 && q.releases_queued == 0 && q.releases_in_flight == 0 &&
         q.deliveries_pending == 0;
}

/// Where a cancelled wait is, and so how it ends.
enum class cancel_step {
  cut_request,   ///< in flight: close its connection (or cut its queue or rate wait); it ends when its request returns
  leave_index,   ///< listed: out of the list index (and the heap, for its deadline), then finish
  leave_heap,    ///< sleeping: out of the heap, then finish
  leave_ready,   ///< due: out of the ready FIFO, then finish
  mark,          ///< between its answer and its next step (its progress callback runs): flagged, ended by the poll
};

constexpr cancel_step where_to_cancel(bool in_flight, bool listed, bool in_heap,
                                      bool in_ready) noexcept {
  if (in_flight) return cancel_step::cut_request;
  if (listed) return cancel_step::leave_index;
  if (in_heap) return cancel_step::leave_heap;
  if (in_ready) return cancel_step::leave_ready;
  return cancel_step::mark;
}

/// The one wake timer moves only for an earlier wake-up than the one it is
/// armed for (a re-arm per poll would cost a timer operation each).
constexpr bool rearm_wake_timer(std::chrono::steady_clock::time_point earliest,
                                std::chrono::steady_clock::time_point armed_for) noexcept {
  return earliest < armed_for;
}

}  // namespace pollster::detail
