// Capped exponential backoff with jitter: ceilings, draw bounds, clamps,
// overflow safety, and policy validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <limits>
#include <set>

#include "poller/backoff.hpp"
#include "poller/rng.hpp"
#include "pollster/client.hpp"
#include "pollster/config.hpp"

using namespace std::chrono_literals;
using pollster::backoff_policy;
using pollster::duration;
using pollster::detail::backoff_ceiling;
using pollster::detail::backoff_delay;
using pollster::detail::backoff_problem;
using pollster::detail::rng;

namespace {

backoff_policy exact(duration initial, double mult, duration max, duration min = 0ns) {
  return {.initial = initial, .multiplier = mult, .max_delay = max, .jitter = 0.0,
          .min_delay = min};
}

}  // namespace

TEST(Backoff, CeilingGrowsGeometricallyThenCaps) {
  const auto p = exact(1s, 2.0, 10s);
  EXPECT_EQ(backoff_ceiling(p, 0), 1s);
  EXPECT_EQ(backoff_ceiling(p, 1), 2s);
  EXPECT_EQ(backoff_ceiling(p, 2), 4s);
  EXPECT_EQ(backoff_ceiling(p, 3), 8s);
  EXPECT_EQ(backoff_ceiling(p, 4), 10s);
  EXPECT_EQ(backoff_ceiling(p, 5), 10s);
  EXPECT_EQ(backoff_ceiling(p, 100), 10s);
}

TEST(Backoff, CeilingWithFractionalMultiplier) {
  const auto p = exact(1s, 1.5, 20s);
  EXPECT_EQ(backoff_ceiling(p, 1), 1500ms);
  EXPECT_EQ(backoff_ceiling(p, 2), 2250ms);
  // Monotonic non-decreasing and capped.
  duration prev = 0ns;
  for (int n = 0; n < 200; ++n) {
    const duration c = backoff_ceiling(p, n);
    EXPECT_GE(c, prev) << "n=" << n;
    EXPECT_LE(c, 20s) << "n=" << n;
    prev = c;
  }
  EXPECT_EQ(prev, 20s);
}

TEST(Backoff, NegativeAttemptIsTreatedAsFirst) {
  const auto p = exact(1s, 2.0, 10s);
  EXPECT_EQ(backoff_ceiling(p, -1), 1s);
  EXPECT_EQ(backoff_ceiling(p, INT_MIN), 1s);
}

TEST(Backoff, MultiplierOneIsConstant) {
  const auto p = exact(300ms, 1.0, 10s);
  for (int n : {0, 1, 7, 1000, INT_MAX}) EXPECT_EQ(backoff_ceiling(p, n), 300ms) << n;
}

TEST(Backoff, NoJitterGivesTheCeilingExactly) {
  const auto p = exact(100ms, 2.0, 1s);
  rng r(42);
  EXPECT_EQ(backoff_delay(p, 0, r), 100ms);
  EXPECT_EQ(backoff_delay(p, 1, r), 200ms);
  EXPECT_EQ(backoff_delay(p, 2, r), 400ms);
  EXPECT_EQ(backoff_delay(p, 3, r), 800ms);
  EXPECT_EQ(backoff_delay(p, 4, r), 1s);
}

TEST(Backoff, PartialJitterStaysWithinBandAndVaries) {
  backoff_policy p{.initial = 1s, .multiplier = 1.6, .max_delay = 120s, .jitter = 0.2,
                   .min_delay = 0ns};
  rng r(7);
  for (int n = 0; n < 12; ++n) {
    const duration hi = backoff_ceiling(p, n);
    const auto lo = duration(static_cast<duration::rep>(static_cast<double>(hi.count()) * 0.8));
    duration mn = duration::max(), mx = duration::min();
    for (int i = 0; i < 2000; ++i) {
      const duration d = backoff_delay(p, n, r);
      ASSERT_GE(d, lo - 1ns) << "n=" << n;
      ASSERT_LE(d, hi) << "n=" << n;
      mn = std::min(mn, d);
      mx = std::max(mx, d);
    }
    // The draws cover most of the band, not one point.
    const auto band = static_cast<double>((hi - lo).count());
    EXPECT_GT(static_cast<double>((mx - mn).count()), 0.9 * band) << "n=" << n;
  }
}

TEST(Backoff, FullJitterSpansFromMinDelayToCeiling) {
  backoff_policy p{.initial = 10s, .multiplier = 2.0, .max_delay = 10s, .jitter = 1.0,
                   .min_delay = 100ms};
  rng r(12345);
  duration mn = duration::max(), mx = duration::min();
  double sum = 0;
  constexpr int draws = 20000;
  std::set<duration::rep> distinct;
  for (int i = 0; i < draws; ++i) {
    const duration d = backoff_delay(p, 0, r);
    ASSERT_GE(d, 100ms);
    ASSERT_LE(d, 10s);
    mn = std::min(mn, d);
    mx = std::max(mx, d);
    sum += std::chrono::duration<double>(d).count();
    distinct.insert(d.count());
  }
  // Full jitter reaches down to the floor (clamped draws land exactly on it)
  // and up near the ceiling.
  EXPECT_LT(mn, 150ms);
  EXPECT_GT(mx, 9900ms);
  EXPECT_GT(distinct.size(), static_cast<std::size_t>(draws * 0.9));
  // Uniform on [0, 10s] clamped at 0.1s: mean ~= 5.0005 s.
  EXPECT_NEAR(sum / draws, 5.0, 0.15);
}

TEST(Backoff, FullJitterWithZeroMinDelayGetsNearZero) {
  backoff_policy p{.initial = 1s, .multiplier = 2.0, .max_delay = 1s, .jitter = 1.0,
                   .min_delay = 0ns};
  rng r(99);
  duration mn = duration::max();
  for (int i = 0; i < 10000; ++i) {
    const duration d = backoff_delay(p, 0, r);
    ASSERT_GE(d, 0ns);
    ASSERT_LE(d, 1s);
    mn = std::min(mn, d);
  }
  EXPECT_LT(mn, 5ms);
}

TEST(Backoff, MinDelayClampsUpButNeverAboveCeiling) {
  // min_delay above the draw: every draw is raised to it.
  backoff_policy p{.initial = 1s, .multiplier = 2.0, .max_delay = 1s, .jitter = 1.0,
                   .min_delay = 900ms};
  rng r(3);
  for (int i = 0; i < 5000; ++i) {
    const duration d = backoff_delay(p, 0, r);
    ASSERT_GE(d, 900ms);
    ASSERT_LE(d, 1s);
  }
  // min_delay above the ceiling: the ceiling wins (a cap is a cap).
  backoff_policy q{.initial = 50ms, .multiplier = 2.0, .max_delay = 50ms, .jitter = 1.0,
                   .min_delay = 100ms};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(backoff_delay(q, 0, r), 50ms);
}

TEST(Backoff, SameSeedSameSequenceDifferentSeedDifferent) {
  backoff_policy p{};
  rng a(5), b(5), c(6);
  bool any_diff = false;
  for (int i = 0; i < 100; ++i) {
    const duration x = backoff_delay(p, i % 8, a);
    EXPECT_EQ(x, backoff_delay(p, i % 8, b));
    any_diff |= x != backoff_delay(p, i % 8, c);
  }
  EXPECT_TRUE(any_diff);
}

TEST(Backoff, HugeAttemptNumbersDoNotOverflow) {
  backoff_policy p{.initial = 1s, .multiplier = 2.0, .max_delay = 120s, .jitter = 1.0,
                   .min_delay = 10ms};
  rng r(1);
  for (int n : {63, 64, 1023, 1024, 1075, 100000, INT_MAX - 1, INT_MAX}) {
    EXPECT_EQ(backoff_ceiling(p, n), 120s) << n;
    for (int i = 0; i < 100; ++i) {
      const duration d = backoff_delay(p, n, r);
      ASSERT_GE(d, 10ms) << n;
      ASSERT_LE(d, 120s) << n;
    }
  }
  // A large multiplier overflows pow() to inf quickly: still capped.
  backoff_policy big{.initial = 1ms, .multiplier = 1e300, .max_delay = 1h, .jitter = 0.0,
                     .min_delay = 0ns};
  EXPECT_EQ(backoff_ceiling(big, 2), 1h);
  EXPECT_EQ(backoff_delay(big, 50, r), 1h);
}

TEST(Backoff, VeryLargeCapDoesNotWrapNegative) {
  // "No practical cap": a century. Must stay positive and capped.
  const duration century = std::chrono::hours(24 * 365 * 100);
  backoff_policy p{.initial = 1s, .multiplier = 2.0, .max_delay = century, .jitter = 1.0,
                   .min_delay = 1ms};
  rng r(8);
  for (int n : {10, 40, 60, 100, INT_MAX}) {
    const duration c = backoff_ceiling(p, n);
    EXPECT_GT(c, 0ns) << n;
    EXPECT_LE(c, century) << n;
    const duration d = backoff_delay(p, n, r);
    EXPECT_GE(d, 1ms) << n;
    EXPECT_LE(d, century) << n;
  }
}

TEST(Backoff, MaximalCapDoesNotWrapNegative) {
  // max_delay = duration::max() ("unbounded"): the double round trip of
  // 2^63-1 must not turn the ceiling negative.
  backoff_policy p{.initial = 1s, .multiplier = 2.0, .max_delay = duration::max(),
                   .jitter = 0.0, .min_delay = 0ns};
  rng r(8);
  EXPECT_EQ(backoff_ceiling(p, 3), 8s);
  const duration c = backoff_ceiling(p, 1000);
  const duration d = backoff_delay(p, 1000, r);
  EXPECT_GT(c, 0ns);
  EXPECT_GT(d, 0ns);
}

TEST(BackoffProblem, DefaultsAreValid) {
  EXPECT_EQ(backoff_problem(backoff_policy{}), nullptr);
  pollster::wait_options w;
  EXPECT_EQ(backoff_problem(w.poll), nullptr);
  EXPECT_EQ(backoff_problem(w.retry), nullptr);
  EXPECT_EQ(backoff_problem(pollster::client_config{}.reconnect), nullptr);
  EXPECT_EQ(backoff_problem(pollster::call_options{}.retry), nullptr);
}

TEST(BackoffProblem, DefaultsFollowTheAnchors) {
  // Poll: first re-poll within ~1 s, growing, capped well under a minute.
  backoff_policy p{};
  EXPECT_LE(p.initial, 2s);
  EXPECT_GT(p.multiplier, 1.0);
  EXPECT_LE(p.max_delay, 60s);
  EXPECT_GT(p.jitter, 0.0);  // no lockstep between handles
  pollster::wait_options w;
  EXPECT_GT(w.gone_confirmations, 0);  // gone is confirmed, not believed
  EXPECT_EQ(w.purge, pollster::purge_policy::after_delivery);  // nothing lost by default
  EXPECT_GT(w.deadline, 0ns);
}

TEST(BackoffProblem, RejectsBadPolicies) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto bad = [](backoff_policy p) { return backoff_problem(p) != nullptr; };
  backoff_policy ok{};
  EXPECT_FALSE(bad(ok));

  auto p = ok; p.initial = -1ms;     EXPECT_TRUE(bad(p));
  p = ok; p.max_delay = -1ms;        EXPECT_TRUE(bad(p));
  p = ok; p.min_delay = -1ms;        EXPECT_TRUE(bad(p));
  p = ok; p.max_delay = p.initial - 1ns; EXPECT_TRUE(bad(p));
  p = ok; p.multiplier = 0.5;        EXPECT_TRUE(bad(p));
  p = ok; p.multiplier = 0.0;        EXPECT_TRUE(bad(p));
  p = ok; p.multiplier = -2.0;       EXPECT_TRUE(bad(p));
  p = ok; p.multiplier = nan;        EXPECT_TRUE(bad(p));
  p = ok; p.multiplier = inf;        EXPECT_TRUE(bad(p));
  p = ok; p.jitter = -0.1;           EXPECT_TRUE(bad(p));
  p = ok; p.jitter = 1.01;           EXPECT_TRUE(bad(p));
  p = ok; p.jitter = nan;            EXPECT_TRUE(bad(p));
  // A zero delay would poll in a busy loop.
  p = ok; p.initial = 0ns; p.min_delay = 0ns; EXPECT_TRUE(bad(p));
  p = ok; p.initial = 0ns; p.max_delay = 1s;  EXPECT_FALSE(bad(p));  // min_delay keeps it apart

  // Boundaries that are fine.
  p = ok; p.multiplier = 1.0;        EXPECT_FALSE(bad(p));
  p = ok; p.jitter = 0.0;            EXPECT_FALSE(bad(p));
  p = ok; p.jitter = 1.0;            EXPECT_FALSE(bad(p));
  p = ok; p.max_delay = p.initial;   EXPECT_FALSE(bad(p));
  p = ok; p.min_delay = 0ns;         EXPECT_FALSE(bad(p));
}

TEST(BackoffProblem, ReasonNamesTheField) {
  backoff_policy p{};
  p.multiplier = 0.5;
  ASSERT_NE(backoff_problem(p), nullptr);
  EXPECT_NE(std::string_view(backoff_problem(p)).find("multiplier"), std::string_view::npos);
  p = {};
  p.jitter = 2;
  EXPECT_NE(std::string_view(backoff_problem(p)).find("jitter"), std::string_view::npos);
  p = {};
  p.max_delay = 1ms;
  EXPECT_NE(std::string_view(backoff_problem(p)).find("max_delay"), std::string_view::npos);
}

TEST(Rng, UnitIsInHalfOpenInterval) {
  rng r(0);
  double mn = 1, mx = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = r.unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mn = std::min(mn, u);
    mx = std::max(mx, u);
  }
  EXPECT_LT(mn, 0.001);
  EXPECT_GT(mx, 0.999);
}
