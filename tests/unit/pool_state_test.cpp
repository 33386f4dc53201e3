// The connection pool's decisions: which slot a request takes, when a broken
// slot may reconnect. Time is a value the test picks.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "poller/backoff.hpp"
#include "poller/rng.hpp"
#include "transport/pool_state.hpp"

using namespace std::chrono_literals;
using pollster::backoff_policy;
using pollster::detail::pool_state;
using pollster::detail::rng;
using time_point = pool_state::time_point;

namespace {
const time_point t0 = time_point{} + 100h;
const backoff_policy exact{.initial = 100ms, .multiplier = 2.0, .max_delay = 10s, .jitter = 0.0,
                           .min_delay = 0ns};
}  // namespace

TEST(PoolState, StartsAllClosedAndIdle) {
  pool_state p(4);
  EXPECT_EQ(p.size(), 4u);
  EXPECT_EQ(p.busy(), 0u);
  EXPECT_EQ(p.open(), 0u);
  EXPECT_EQ(pool_state(0).size(), 1u);  // never a pool of nothing
}

TEST(PoolState, AcquiresEverySlotOnceThenNothing) {
  pool_state p(3);
  std::set<std::size_t> got;
  for (int i = 0; i < 3; ++i) {
    const auto s = p.acquire();
    ASSERT_TRUE(s.has_value());
    EXPECT_LT(*s, 3u);
    EXPECT_TRUE(got.insert(*s).second) << "slot handed out twice: " << *s;
  }
  EXPECT_EQ(p.busy(), 3u);
  EXPECT_FALSE(p.acquire().has_value());
  EXPECT_FALSE(p.acquire().has_value());
  EXPECT_EQ(p.busy(), 3u);
}

TEST(PoolState, PrefersOpenIdleSlot) {
  pool_state p(4);
  // Open slot 2 (connect succeeded) and hand it back open.
  std::optional<std::size_t> s;
  for (int i = 0; i < 3; ++i) s = p.acquire();  // slots 0,1,2 busy
  ASSERT_TRUE(s);
  const std::size_t opened = *s;
  p.connect_succeeded(opened);
  p.release(opened, true);
  for (std::size_t i = 0; i < 4; ++i)
    if (i != opened) p.release(i, false);
  EXPECT_EQ(p.busy(), 0u);
  EXPECT_EQ(p.open(), 1u);
  // Keep-alive reuse: the open one, even though closed ones are free.
  for (int round = 0; round < 5; ++round) {
    const auto again = p.acquire();
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, opened);
    p.release(*again, true);
  }
}

TEST(PoolState, ReleaseAndReacquire) {
  pool_state p(2);
  const auto a = p.acquire();
  const auto b = p.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(p.acquire());
  p.release(*a, false);
  EXPECT_EQ(p.busy(), 1u);
  const auto c = p.acquire();
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, *a);
  // Releasing a slot that is not busy changes nothing.
  p.release(*c, true);
  p.release(*c, true);
  EXPECT_EQ(p.busy(), 1u);
  const auto d = p.acquire();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, *c);
  EXPECT_EQ(p.busy(), 2u);
}

TEST(PoolState, ReleaseClosedMarksTheSlotClosed) {
  pool_state p(1);
  auto s = p.acquire();
  p.connect_succeeded(*s);
  p.release(*s, true);
  EXPECT_EQ(p.open(), 1u);
  s = p.acquire();
  p.release(*s, false);  // the server said Connection: close
  EXPECT_EQ(p.open(), 0u);
}

TEST(PoolState, ConnectFailureBackoffGrowsAndResetsOnSuccess) {
  pool_state p(1);
  rng r(1);
  const auto s = *p.acquire();
  time_point now = t0;
  for (auto want : {100ms, 200ms, 400ms, 800ms, 1600ms}) {
    p.connect_failed(s, now, r, exact);
    EXPECT_EQ(p.connect_not_before(s), now + want);
    EXPECT_EQ(p.open(), 0u);
    now = p.connect_not_before(s);
  }
  p.connect_succeeded(s);
  EXPECT_EQ(p.open(), 1u);
  p.connect_failed(s, now, r, exact);
  EXPECT_EQ(p.connect_not_before(s), now + 100ms) << "success must reset the failure count";
}

TEST(PoolState, ConnectFailureBackoffIsCapped) {
  pool_state p(1);
  rng r(1);
  const auto s = *p.acquire();
  for (int i = 0; i < 200; ++i) p.connect_failed(s, t0, r, exact);
  EXPECT_EQ(p.connect_not_before(s), t0 + 10s);
}

TEST(PoolState, ConnectFailureBackoffJitterBounds) {
  const backoff_policy jittered{.initial = 100ms, .multiplier = 2.0, .max_delay = 10s,
                                .jitter = 1.0, .min_delay = 10ms};
  rng r(5);
  for (int trial = 0; trial < 100; ++trial) {
    pool_state p(1);
    const auto s = *p.acquire();
    for (int n = 0; n < 10; ++n) {
      p.connect_failed(s, t0, r, jittered);
      const auto d = p.connect_not_before(s) - t0;
      ASSERT_GE(d, 10ms);
      ASSERT_LE(d, pollster::detail::backoff_ceiling(jittered, n));
    }
  }
}

TEST(PoolState, DroppedGivesAShortJitteredPause) {
  // A failover drops every connection at once: reconnects spread out.
  const backoff_policy reconnect = pollster::client_config{}.reconnect;
  pool_state p(8);
  rng r(2026);
  for (std::size_t i = 0; i < 8; ++i) {
    const auto s = p.acquire();
    ASSERT_TRUE(s);
    p.connect_succeeded(*s);
  }
  EXPECT_EQ(p.open(), 8u);
  std::set<time_point> when;
  for (std::size_t i = 0; i < 8; ++i) {
    p.dropped(i, t0, r, reconnect);
    const auto d = p.connect_not_before(i) - t0;
    EXPECT_GE(d, std::min(reconnect.min_delay, reconnect.initial)) << i;
    EXPECT_LE(d, reconnect.initial) << i;  // short: the first step of the backoff
    when.insert(p.connect_not_before(i));
    p.release(i, false);
  }
  EXPECT_EQ(p.open(), 0u);
  EXPECT_GE(when.size(), 7u) << "dropped slots reconnect in lockstep";
}

TEST(PoolState, DroppedDoesNotGrowWithRepeatedDrops) {
  pool_state p(1);
  rng r(1);
  const auto s = *p.acquire();
  for (int i = 0; i < 10; ++i) {
    p.dropped(s, t0, r, exact);
    EXPECT_EQ(p.connect_not_before(s), t0 + 100ms);
  }
}

TEST(PoolState, ClosedSlotWithEarliestNotBeforeIsChosen) {
  pool_state p(3);
  rng r(1);
  for (int i = 0; i < 3; ++i) p.acquire();
  // Slot 0: 2 failures (200 ms), slot 1: 0 failures then dropped (100 ms),
  // slot 2: 3 failures (400 ms).
  p.connect_failed(0, t0, r, exact);
  p.connect_failed(0, t0, r, exact);
  p.dropped(1, t0, r, exact);
  p.connect_failed(2, t0, r, exact);
  p.connect_failed(2, t0, r, exact);
  p.connect_failed(2, t0, r, exact);
  EXPECT_EQ(p.connect_not_before(0), t0 + 200ms);
  EXPECT_EQ(p.connect_not_before(1), t0 + 100ms);
  EXPECT_EQ(p.connect_not_before(2), t0 + 400ms);
  for (std::size_t i = 0; i < 3; ++i) p.release(i, false);
  auto s = p.acquire();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, 1u);
  s = p.acquire();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, 0u);
  s = p.acquire();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, 2u);
  EXPECT_FALSE(p.acquire());
}

TEST(PoolState, OpenIdleBeatsClosedReadyEarlier) {
  pool_state p(2);
  rng r(1);
  p.acquire();
  p.acquire();
  p.connect_succeeded(1);
  p.release(0, false);  // closed, not_before in the distant past
  p.release(1, true);
  const auto s = p.acquire();
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, 1u);
}

// A newcomer never overtakes a request already queued for a slot.
TEST(PoolState, AcquireInTurnWaitsBehindTheQueue) {
  pool_state p(2);
  EXPECT_FALSE(p.acquire_in_turn(true).has_value());
  EXPECT_EQ(p.busy(), 0u);  // nothing taken for it
  EXPECT_TRUE(p.acquire_in_turn(false).has_value());
}

// A freed slot goes straight to the oldest waiter, and stays busy.
TEST(PoolState, AFreedSlotIsHandedToTheOldestWaiter) {
  pool_state p(1);
  const auto s = p.acquire();
  ASSERT_TRUE(s);
  const auto h = p.release_and_hand_off(*s, true, /*waiters=*/true, /*work_due=*/false);
  ASSERT_TRUE(h.to_oldest_waiter.has_value());
  EXPECT_EQ(*h.to_oldest_waiter, *s);
  EXPECT_EQ(p.busy(), 1u);
  EXPECT_FALSE(h.stop_watching);  // the connection goes on working
  EXPECT_FALSE(p.acquire().has_value());
}

// Under load (waits due) the connection's watchdog stays armed for the next
// request; with nothing due it stops, and every one stops once none is busy.
TEST(PoolState, WatchdogsStopOnlyWhenNothingIsDue) {
  pool_state p(2);
  const auto a = p.acquire(), b = p.acquire();
  ASSERT_TRUE(a && b);
  auto h = p.release_and_hand_off(*a, true, false, /*work_due=*/true);
  EXPECT_FALSE(h.to_oldest_waiter);
  EXPECT_FALSE(h.stop_watching);
  EXPECT_FALSE(h.stop_all_watching);
  ASSERT_TRUE(p.acquire());
  h = p.release_and_hand_off(*a, true, false, false);
  EXPECT_TRUE(h.stop_watching);
  EXPECT_FALSE(h.stop_all_watching);  // b is still busy
  h = p.release_and_hand_off(*b, false, false, false);
  EXPECT_TRUE(h.stop_watching);
  EXPECT_TRUE(h.stop_all_watching);
  EXPECT_EQ(p.busy(), 0u);
  EXPECT_EQ(p.open(), 1u);
}
