// The per-cluster request-rate limit: reservations against a clock the test
// advances.
#include <gtest/gtest.h>

#include <chrono>

#include "poller/token_bucket.hpp"

using namespace std::chrono_literals;
using pollster::detail::token_bucket;
using clk = token_bucket::clock;

namespace {
// Tolerance for double -> nanosecond rounding.
void expect_about(clk::duration got, clk::duration want) {
  EXPECT_LE(got > want ? got - want : want - got, 1us)
      << "got " << got.count() << "ns, want " << want.count() << "ns";
}
const clk::time_point t0 = clk::time_point{} + 1000h;
}  // namespace

TEST(TokenBucket, ZeroOrNegativeRateIsUnlimited) {
  for (double rate : {0.0, -1.0}) {
    token_bucket b(rate, 5);
    EXPECT_TRUE(b.unlimited());
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(b.reserve(t0), clk::duration::zero());
  }
  EXPECT_FALSE(token_bucket(1, 1).unlimited());
}

TEST(TokenBucket, BurstThenWaitsGrowByOneOverRate) {
  token_bucket b(10, 5);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.reserve(t0), clk::duration::zero()) << i;
  expect_about(b.reserve(t0), 100ms);
  expect_about(b.reserve(t0), 200ms);
  expect_about(b.reserve(t0), 300ms);
}

TEST(TokenBucket, DefaultBurstIsOneSecondsWorth) {
  token_bucket b(4, 0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.reserve(t0), clk::duration::zero()) << i;
  expect_about(b.reserve(t0), 250ms);
}

TEST(TokenBucket, RefillsOverTimeUpToBurst) {
  token_bucket b(10, 5);
  for (int i = 0; i < 5; ++i) b.reserve(t0);
  // 50 ms later: half a token; the next request waits the other 50 ms.
  expect_about(b.reserve(t0 + 50ms), 50ms);
  // Long idle: refills to the burst, not beyond.
  const auto later = t0 + 1h;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.reserve(later), clk::duration::zero()) << i;
  expect_about(b.reserve(later), 100ms);
}

TEST(TokenBucket, SteadyRateAtExactlyTheLimitNeverWaits) {
  token_bucket b(20, 1);
  auto t = t0;
  for (int i = 0; i < 1000; ++i, t += 50ms) ASSERT_LE(b.reserve(t), 1us) << i;
}

TEST(TokenBucket, ReservationsAreServedInArrivalOrderSpacedByOneOverRate) {
  // Many callers at once: their due times (now + wait) are strictly ordered
  // and spaced 1/rate apart; time passing pays debts off in order.
  token_bucket b(10, 1);
  clk::time_point prev_due{};
  for (int i = 0; i < 20; ++i) {
    const auto due = t0 + b.reserve(t0);
    if (i > 0) expect_about(due - prev_due, 100ms);
    prev_due = due;
  }
  // A caller arriving 1 s later queues behind the 19 outstanding debts.
  const auto now = t0 + 1s;
  const auto due = now + b.reserve(now);
  expect_about(due - prev_due, 100ms);
}

TEST(TokenBucket, DebtIsPaidOffByElapsedTime) {
  token_bucket b(10, 1);
  b.reserve(t0);                      // burst token
  expect_about(b.reserve(t0), 100ms);  // due t0+100ms
  expect_about(b.reserve(t0), 200ms);  // due t0+200ms
  // At t0+300ms the debts are paid and one token has accrued.
  EXPECT_LE(b.reserve(t0 + 300ms), 1us);
  // Then the bucket is empty again.
  expect_about(b.reserve(t0 + 300ms), 100ms);
}

TEST(TokenBucket, FractionalRate) {
  token_bucket b(0.5, 2);  // one request every 2 s, burst 2
  EXPECT_EQ(b.reserve(t0), clk::duration::zero());
  EXPECT_EQ(b.reserve(t0), clk::duration::zero());
  expect_about(b.reserve(t0), 2s);
  expect_about(b.reserve(t0), 4s);
}

TEST(TokenBucket, ClockGoingBackwardsDoesNotMintTokens) {
  token_bucket b(10, 1);
  b.reserve(t0);
  expect_about(b.reserve(t0 - 10s), 100ms);
  expect_about(b.reserve(t0), 200ms);
}

// A request that gave up before it was sent gives its token back: without
// that, releases failing fast on their short deadline piled up a debt that
// starved every later poll (review of issue 9).
TEST(TokenBucket, ARefundedTokenDoesNotPushLaterRequestsBack) {
  token_bucket b(1, 1);
  EXPECT_EQ(b.reserve(t0), clk::duration::zero());
  for (int i = 0; i < 100; ++i) {
    expect_about(b.reserve(t0), 1s);  // would be i+1 seconds without the refund
    b.refund();
  }
  expect_about(b.reserve(t0), 1s);
  // A refund never saves up more than the burst.
  token_bucket c(10, 2);
  c.refund();
  c.refund();
  EXPECT_EQ(c.reserve(t0), clk::duration::zero());
  EXPECT_EQ(c.reserve(t0), clk::duration::zero());
  expect_about(c.reserve(t0), 100ms);
}
