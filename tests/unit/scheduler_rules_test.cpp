// The wait scheduler's decisions (poller/scheduler_rules): worker steps,
// worker spawning, draining, where a cancel takes a wait from, the wake
// timer. Plain values; no timers, no sockets.
#include <gtest/gtest.h>

#include <chrono>

#include "poller/scheduler_rules.hpp"

using namespace std::chrono_literals;
using namespace pollster::detail;  // the rules and their enums
using time_point = std::chrono::steady_clock::time_point;

namespace {
work_queues pool_of(std::size_t n) {
  work_queues q;
  q.pool_size = n;
  return q;
}
}  // namespace

TEST(SchedulerRules, ReleasesUseAtMostHalfThePoolAndAtLeastOneLane) {
  EXPECT_EQ(release_lanes(1), 1u);
  EXPECT_EQ(release_lanes(2), 1u);
  EXPECT_EQ(release_lanes(8), 4u);
  EXPECT_EQ(release_lanes(9), 4u);
  auto q = pool_of(4);
  q.releases_queued = 3;
  q.releases_in_flight = 1;
  EXPECT_TRUE(release_may_go(q));
  q.releases_in_flight = 2;
  EXPECT_FALSE(release_may_go(q));  // both lanes busy
  q.releases_in_flight = 0;
  q.releases_queued = 0;
  EXPECT_FALSE(release_may_go(q));  // nothing to release
}

TEST(SchedulerRules, AWorkerPollsBeforeItReleases) {
  auto q = pool_of(4);
  q.poll_due = true;
  q.releases_queued = 5;
  q.live_waits = 3;
  EXPECT_EQ(next_worker_step(q), worker_step::poll);
  q.poll_due = false;
  EXPECT_EQ(next_worker_step(q), worker_step::release);
}

TEST(SchedulerRules, AWorkerParksWhileWaitsSleepOrReleasesWaitForALane) {
  auto q = pool_of(2);
  q.live_waits = 1;  // sleeping in the heap
  EXPECT_EQ(next_worker_step(q), worker_step::park);
  q.live_waits = 0;
  q.releases_queued = 1;
  q.releases_in_flight = 1;  // the one lane is busy
  EXPECT_EQ(next_worker_step(q), worker_step::park);
}

TEST(SchedulerRules, AWorkerEndsWhenNothingIsLeft) {
  auto q = pool_of(2);
  EXPECT_EQ(next_worker_step(q), worker_step::end);
  q.releases_in_flight = 1;  // another worker's release: not this one's work
  EXPECT_EQ(next_worker_step(q), worker_step::end);
}

// A handler that starts the next wait (a closed loop) finds a worker still
// there, rather than one ending between the outcome and the next wait and a
// new one spawned for it.
TEST(SchedulerRules, AWorkerWithNoWaitsLeftParksWhileOutcomesAreOnTheirWay) {
  auto q = pool_of(2);
  q.deliveries_pending = 1;
  EXPECT_EQ(next_worker_step(q), worker_step::park);
  EXPECT_FALSE(drained(q));
  q.deliveries_pending = 0;
  EXPECT_EQ(next_worker_step(q), worker_step::end);
  EXPECT_TRUE(drained(q));
}

TEST(SchedulerRules, WorkersAreSpawnedOnlyForWorkAndAtMostOnePerSlot) {
  auto q = pool_of(2);
  EXPECT_FALSE(spawn_worker(q, 0, false));  // no work: a spawned worker would spin
  q.poll_due = true;
  EXPECT_TRUE(spawn_worker(q, 0, false));
  EXPECT_TRUE(spawn_worker(q, 1, false));
  EXPECT_FALSE(spawn_worker(q, 2, false));  // one per connection
  EXPECT_FALSE(spawn_worker(q, 0, true));   // shutting down
  q.poll_due = false;
  q.releases_queued = 1;
  EXPECT_TRUE(spawn_worker(q, 0, false));
  q.releases_in_flight = 1;
  EXPECT_FALSE(spawn_worker(q, 1, false));  // the release lane is taken
}

TEST(SchedulerRules, DrainedOnlyWhenNoWaitNoReleaseQueuedOrInFlight) {
  auto q = pool_of(2);
  EXPECT_TRUE(drained(q));
  q.live_waits = 1;
  EXPECT_FALSE(drained(q));
  q.live_waits = 0;
  q.releases_queued = 1;
  EXPECT_FALSE(drained(q));
  q.releases_queued = 0;
  q.releases_in_flight = 1;
  EXPECT_FALSE(drained(q));
}

TEST(SchedulerRules, ACancelTakesTheWaitFromWhereItIs) {
  // in_flight, listed, in_heap, in_ready
  EXPECT_EQ(where_to_cancel(true, false, false, false), cancel_step::cut_request);
  EXPECT_EQ(where_to_cancel(true, true, true, false), cancel_step::cut_request);
  EXPECT_EQ(where_to_cancel(false, true, true, false), cancel_step::leave_index);
  EXPECT_EQ(where_to_cancel(false, true, false, false), cancel_step::leave_index);  // no deadline
  EXPECT_EQ(where_to_cancel(false, false, true, false), cancel_step::leave_heap);
  EXPECT_EQ(where_to_cancel(false, false, false, true), cancel_step::leave_ready);
  EXPECT_EQ(where_to_cancel(false, false, false, false), cancel_step::mark);
}

TEST(SchedulerRules, TheWakeTimerMovesOnlyForAnEarlierWakeUp) {
  const time_point t0 = time_point{} + 1h;
  EXPECT_TRUE(rearm_wake_timer(t0, time_point::max()));  // not armed
  EXPECT_TRUE(rearm_wake_timer(t0, t0 + 1ms));
  EXPECT_FALSE(rearm_wake_timer(t0, t0));
  EXPECT_FALSE(rearm_wake_timer(t0 + 1s, t0));
}
