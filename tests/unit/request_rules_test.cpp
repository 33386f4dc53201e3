// A request's way to a connection (transport/request_rules): rate-limit and
// reconnect waits against the deadline, and the one resend after a stale
// keep-alive connection. Time is a value the test picks.
#include <gtest/gtest.h>

#include <chrono>
#include <string_view>

#include "transport/request_rules.hpp"

using namespace std::chrono_literals;
using namespace pollster::detail;  // the gates and the resend rule
using time_point = std::chrono::steady_clock::time_point;

namespace {
const time_point t0 = time_point{} + 100h;
}  // namespace

TEST(RateLimitGate, NoWaitGoesAtOnce) {
  EXPECT_EQ(rate_limit_gate(t0, 0ns, t0 + 1s).what, gate::kind::go);
}

TEST(RateLimitGate, SleepsForTheTokenWithinTheDeadline) {
  const auto g = rate_limit_gate(t0, 250ms, t0 + 1s);
  EXPECT_EQ(g.what, gate::kind::sleep);
  EXPECT_EQ(g.at, t0 + 250ms);
}

TEST(RateLimitGate, GivesUpWhenTheTokenComesAtOrAfterTheDeadline) {
  for (auto wait : {1s, 2s}) {
    const auto g = rate_limit_gate(t0, wait, t0 + 1s);
    EXPECT_EQ(g.what, gate::kind::give_up);
    EXPECT_EQ(std::string_view(g.why), "rate limit leaves no time before the deadline");
  }
}

TEST(ReconnectGate, AnOpenableSlotConnectsAtOnce) {
  EXPECT_EQ(reconnect_gate(t0, t0 - 1s, t0 + 1s, true).what, gate::kind::go);
  EXPECT_EQ(reconnect_gate(t0, t0, t0 + 1s, true).what, gate::kind::go);
}

TEST(ReconnectGate, WaitsOutTheBackoffWithinTheDeadline) {
  const auto g = reconnect_gate(t0, t0 + 300ms, t0 + 1s, true);
  EXPECT_EQ(g.what, gate::kind::sleep);
  EXPECT_EQ(g.at, t0 + 300ms);
}

TEST(ReconnectGate, GivesUpWhenTheBackoffRunsPastTheDeadline) {
  const auto g = reconnect_gate(t0, t0 + 1s, t0 + 1s, true);
  EXPECT_EQ(g.what, gate::kind::give_up);
  EXPECT_EQ(std::string_view(g.why), "reconnect backoff runs past the deadline");
}

TEST(ReconnectGate, AResendAfterAStaleConnectionDoesNotWait) {
  // The server closed an idle connection: nothing says the cluster is down.
  EXPECT_EQ(reconnect_gate(t0, t0 + 5s, t0 + 1s, false).what, gate::kind::go);
}

TEST(ResendAfterStale, OnceOnlyAndOnlyWhatIsSafeToRepeat) {
  EXPECT_TRUE(resend_after_stale(true, true, true, false));
  EXPECT_FALSE(resend_after_stale(false, true, true, false));  // not stale: a real failure
  EXPECT_FALSE(resend_after_stale(true, false, true, false));  // already the resend
  EXPECT_FALSE(resend_after_stale(true, true, false, false));  // a call may not be idempotent
  EXPECT_FALSE(resend_after_stale(true, true, true, true));    // shutting down
}
