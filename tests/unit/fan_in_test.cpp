// The fan-in policy (list or per-handle, when the next list goes), driven by
// a clock the test owns.
#include <gtest/gtest.h>

#include <chrono>

#include "poller/fan_in.hpp"

using namespace std::chrono_literals;
using pollster::duration;
using pollster::fan_in_mode;
using pollster::fan_in_options;
using pollster::detail::fan_in_policy;
using time_point = fan_in_policy::time_point;

namespace {

const time_point t0 = time_point{} + 24h;

// budget: list bytes per second (0: no byte budget, the interval alone).
fan_in_options opts(fan_in_mode m, double budget = 1e6) {
  fan_in_options o;
  o.mode = m;
  o.min_interval = 500ms;
  o.max_interval = 4s;
  o.list_bytes_per_second = budget;
  return o;
}

TEST(FanIn, ForcedModesNeverChange) {
  auto lo = opts(fan_in_mode::list), po = opts(fan_in_mode::per_handle);
  fan_in_policy list(lo), per(po);
  for (std::size_t waits : {1u, 10u, 100000u}) {
    EXPECT_TRUE(list.use_list(t0, waits, 2s));
    EXPECT_FALSE(per.use_list(t0, waits, 2s));
  }
  for (int i = 0; i < 10; ++i) list.on_list_failed(t0, {}, true);
  EXPECT_TRUE(list.use_list(t0, 5, 2s)) << "list mode keeps listing: fallback is automatic's";
}

TEST(FanIn, AutomaticListsWhenManyWaitsAndPollsPerHandleWhenFew) {
  auto o = opts(fan_in_mode::automatic);
  fan_in_policy f(o);
  EXPECT_FALSE(f.use_list(t0, 1, 2s));
  EXPECT_TRUE(f.use_list(t0, 1000, 2s));
}

TEST(FanIn, AutomaticWeighsTheSizeOfTheLastList) {
  // 50 waits: cheap while the list is theirs alone; a list carrying 100,000
  // results of others costs more than 50 polls every 2 s.
  auto o = opts(fan_in_mode::automatic);
  fan_in_policy f(o);
  ASSERT_TRUE(f.use_list(t0, 50, 2s));
  f.on_list(t0, 50 * 256, 0, {});
  EXPECT_TRUE(f.use_list(t0, 50, 2s));
  f.on_list(t0, 100000 * 230, 0, {});
  EXPECT_FALSE(f.use_list(t0, 50, 2s));
}

TEST(FanIn, HysteresisKeepsTheChoiceFromFlapping) {
  auto o = opts(fan_in_mode::automatic, 0);
  fan_in_policy f(o);
  // A list of L bytes against n polls, both every 2 s (the same detection
  // delay): the break even is at n = (4096 + L) / (4096 + 256).
  f.on_list(t0, 40000, 1, {});
  const double even = (4096 + 40000) / (4096.0 + 256);  // about 10.1
  EXPECT_FALSE(f.use_list(t0, static_cast<std::size_t>(even), 2s));
  EXPECT_TRUE(f.use_list(t0, static_cast<std::size_t>(even * 1.3), 2s));
  // Once listing, a little under the break even still lists.
  EXPECT_TRUE(f.use_list(t0, static_cast<std::size_t>(even * 0.9), 2s));
  EXPECT_FALSE(f.use_list(t0, static_cast<std::size_t>(even * 0.7), 2s));
}

TEST(FanIn, AutomaticListsNoDearerThanThePollsTheListReplaces) {
  // 400 waits polled every 2 s cost 400 x 4352 B / 2 s = 870 KB/s. A list of
  // 690,000 B (2,600 results of other clients beside ours) may go out every
  // (4096 + 690000) / 870400 = 0.797 s at most, not at the 500 ms floor,
  // completions or not. With 4,000 waits it is cheap enough for the floor.
  auto o = opts(fan_in_mode::automatic, 0);
  fan_in_policy f(o);
  ASSERT_TRUE(f.use_list(t0, 400, 2s));
  f.on_list(t0, 690000, 5, {});
  const double every = (4096 + 690000) / (400 * 4352.0 / 2);
  EXPECT_NEAR(std::chrono::duration<double>(f.next_list() - t0).count(), every, 1e-6);
  f.on_waits_added(t0 + 10ms);
  EXPECT_NEAR(std::chrono::duration<double>(f.next_list() - t0).count(), every, 1e-6)
      << "new waits do not make the list dearer either";
  EXPECT_TRUE(f.use_list(t0 + 1s, 400, 2s)) << "and it still lists: at 2 s apart it is cheaper";
  ASSERT_TRUE(f.use_list(t0 + 1s, 4000, 2s));
  f.on_list(t0 + 1s, 690000, 5, {});
  EXPECT_EQ(f.next_list(), t0 + 1s + 500ms);
  // list mode lists at the floor, whatever it costs
  auto lo = opts(fan_in_mode::list, 0);
  fan_in_policy forced(lo);
  for (std::size_t waits : {400u, 4u})
    if (forced.use_list(t0, waits, 2s)) forced.on_list(t0, 690000, 5, {});
  EXPECT_EQ(forced.next_list(), t0 + 500ms);
}

TEST(FanIn, IntervalShortWhileCompletionsComeLongerWhileNothingChanges) {
  auto o = opts(fan_in_mode::list, 0);
  fan_in_policy f(o);
  time_point now = t0;
  f.on_list(now, 1000, 3, {});
  EXPECT_EQ(f.next_list(), now + 500ms);
  duration last = f.interval();
  for (int i = 0; i < 20; ++i) {
    now = f.next_list();
    f.on_list(now, 1000, 0, {});
    EXPECT_GE(f.interval(), last);
    EXPECT_LE(f.interval(), 4s);
    last = f.interval();
  }
  EXPECT_EQ(f.interval(), 4s);
  now = f.next_list();
  f.on_list(now, 1000, 1, {});
  EXPECT_EQ(f.next_list(), now + 500ms) << "a completion brings the floor back";
}

TEST(FanIn, NewWaitsBringTheNextListToTheFloor) {
  auto o = opts(fan_in_mode::list, 0);
  fan_in_policy f(o);
  time_point now = t0;
  for (int i = 0; i < 10; ++i) f.on_list(now, 1000, 0, {});
  ASSERT_EQ(f.next_list(), now + 4s);
  now += 1s;
  f.on_waits_added(now);
  EXPECT_EQ(f.next_list(), now + 500ms);
  f.on_waits_added(now + 100ms);
  EXPECT_EQ(f.next_list(), now + 500ms) << "never later than it was";
}

TEST(FanIn, TheByteBudgetSpacesLargeLists) {
  auto o = opts(fan_in_mode::list);  // 1 MB/s
  fan_in_policy f(o);
  f.on_list(t0, 3'000'000, 5, {});
  EXPECT_EQ(f.next_list(), t0 + 3s) << "3 MB at 1 MB/s: not before 3 s, completions or not";
  f.on_waits_added(t0 + 1s);
  EXPECT_EQ(f.next_list(), t0 + 3s) << "new waits do not break the budget";
}

TEST(FanIn, RetryAfterIsHonoured) {
  auto o = opts(fan_in_mode::list);
  fan_in_policy f(o);
  f.on_list(t0, 100, 1, 7s);
  EXPECT_EQ(f.next_list(), t0 + 7s);
  f.on_list_failed(t0, 9s, false);
  EXPECT_EQ(f.next_list(), t0 + 9s);
}

TEST(FanIn, FailedListsBackOffUpToTheCeiling) {
  auto o = opts(fan_in_mode::list);
  fan_in_policy f(o);
  duration last{};
  for (int i = 0; i < 8; ++i) {
    f.on_list_failed(t0, {}, false);
    const duration wait = f.next_list() - t0;
    EXPECT_GE(wait, last);
    EXPECT_LE(wait, 4s);
    last = wait;
  }
  EXPECT_EQ(last, 4s);
  f.on_list(t0, 100, 0, {});
  f.on_list_failed(t0, {}, false);
  EXPECT_EQ(f.next_list(), t0 + 500ms) << "an answer resets the failures";
}

TEST(FanIn, AutomaticFallsBackAfterRepeatedFailuresThenTriesAgain) {
  auto o = opts(fan_in_mode::automatic);
  o.failures_before_fallback = 3;
  o.fallback_for = 60s;
  fan_in_policy f(o);
  ASSERT_TRUE(f.use_list(t0, 1000, 2s));
  f.on_list_failed(t0, {}, false);
  f.on_list_failed(t0, {}, false);
  EXPECT_TRUE(f.use_list(t0, 1000, 2s)) << "two failures: still listing";
  f.on_list_failed(t0, {}, false);
  EXPECT_FALSE(f.use_list(t0, 1000, 2s));
  EXPECT_EQ(f.fallbacks(), 1);
  EXPECT_FALSE(f.use_list(t0 + 59s, 1000, 2s));
  EXPECT_TRUE(f.use_list(t0 + 60s, 1000, 2s));
}

TEST(FanIn, ARefusedListFallsBackAtOnce) {
  auto o = opts(fan_in_mode::automatic);
  fan_in_policy f(o);
  ASSERT_TRUE(f.use_list(t0, 1000, 2s));
  f.on_list_failed(t0, {}, true);
  EXPECT_FALSE(f.use_list(t0, 1000, 2s));
  EXPECT_TRUE(f.fallen_back(t0 + 1s));
}

}  // namespace

namespace {

TEST(FanIn, NewWaitsDoNotBreakRetryAfterOrTheFailureBackoff) {
  auto o = opts(fan_in_mode::list);
  fan_in_policy f(o);
  f.on_list(t0, 100, 0, 30s);  // the cluster asked for a pause
  f.on_waits_added(t0 + 1s);
  EXPECT_EQ(f.next_list(), t0 + 30s);
  for (int i = 0; i < 4; ++i) f.on_list_failed(t0 + 40s, {}, false);
  const auto backoff = f.next_list();
  ASSERT_GT(backoff, t0 + 40s + 500ms);
  f.on_waits_added(t0 + 40s);
  EXPECT_EQ(f.next_list(), backoff);
}

}  // namespace
