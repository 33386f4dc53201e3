// The retry decisions of calls and releases (poller/call_machine), driven by
// a fake clock: no sockets, no timers.
#include <gtest/gtest.h>

#include <chrono>

#include "pollster/error.hpp"
#include "poller/call_machine.hpp"
#include "poller/rng.hpp"
#include "protocol/classify.hpp"

using namespace std::chrono_literals;
using namespace pollster::detail;  // the machines, rng and the classify functions
using pollster::call_options;
using pollster::duration;
using step = call_machine::step;
using time_point = call_machine::time_point;

namespace {

const time_point t0 = time_point{} + 24h;

// Deterministic spacing: 100 ms, 200 ms, 400 ms, ... up to 1 s; 10 s to go.
call_options exact(bool idempotent) {
  call_options o;
  o.deadline = 10s;
  o.idempotent = idempotent;
  o.retry = {.initial = 100ms, .multiplier = 2.0, .max_delay = 1s, .jitter = 0.0, .min_delay = 0ns};
  return o;
}

}  // namespace

TEST(CallMachine, DeadlineIsCountedFromTheStart) {
  rng r(1);
  const auto o = exact(false);
  call_machine m(o, t0, r);
  EXPECT_EQ(m.deadline(), t0 + 10s);
  EXPECT_EQ(m.retries(), 0);
}

TEST(CallMachine, TransientRefusalIsRetriedEvenWhenNotIdempotent) {
  rng r(1);
  const auto o = exact(false);
  call_machine m(o, t0, r);
  // A 503 is the cluster refusing the request, not half-doing it.
  const auto a = m.on_failure(t0, classify_http_status(503).what, false);
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_EQ(a.at, t0 + 100ms);
  const auto b = m.on_failure(t0 + 1s, classify_method_error("xDBVersionMismatch").what, false);
  ASSERT_EQ(b.what, step::sleep);
  EXPECT_EQ(b.at, t0 + 1s + 200ms);  // the backoff grows per retry
  EXPECT_EQ(m.retries(), 2);
}

TEST(CallMachine, BackoffIsCappedAtMaxDelay) {
  rng r(1);
  const auto o = exact(true);
  call_machine m(o, t0, r);
  time_point now = t0;
  call_machine::action a{};
  for (int i = 0; i < 6; ++i) {
    a = m.on_failure(now, verdict::retry, false);
    ASSERT_EQ(a.what, step::sleep) << i;
    now = a.at;
  }
  // 100, 200, 400, 800 ms, then 1 s, 1 s.
  EXPECT_EQ(now, t0 + 100ms + 200ms + 400ms + 800ms + 1s + 1s);
}

TEST(CallMachine, RetryAfterIsAFloorUnderTheBackoff) {
  rng r(1);
  const auto o = exact(false);
  call_machine m(o, t0, r);
  const auto a = m.on_failure(t0, verdict::retry, false, 3s);
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_EQ(a.at, t0 + 3s);
  const auto b = m.on_failure(a.at, verdict::retry, false, 10ms);  // shorter than the backoff
  ASSERT_EQ(b.what, step::sleep);
  EXPECT_EQ(b.at, a.at + 200ms);
}

TEST(CallMachine, WhatMayHaveReachedTheServerIsResentOnlyWhenIdempotent) {
  rng r(1);
  const auto not_idem = exact(false);
  call_machine m(not_idem, t0, r);
  // A lost answer: CloneVolume twice would make two clones.
  const auto lost = classify_failure(make_error_code(pollster::error::connection_closed));
  EXPECT_EQ(m.on_failure(t0, lost.what, true).what, step::finish);
  // The same error before anything left (connect refused) is retried.
  const auto refused = classify_failure(make_error_code(pollster::error::connect_failed));
  EXPECT_EQ(m.on_failure(t0, refused.what, false).what, step::sleep);

  const auto idem = exact(true);
  call_machine n(idem, t0, r);
  EXPECT_EQ(n.on_failure(t0, lost.what, true).what, step::sleep);
}

TEST(CallMachine, FatalAndGoneAreNeverRetried) {
  rng r(1);
  const auto o = exact(true);
  call_machine m(o, t0, r);
  EXPECT_EQ(m.on_failure(t0, classify_http_status(401).what, false).what, step::finish);
  EXPECT_EQ(m.on_failure(t0, classify_method_error("xPermissionDenied").what, false).what,
            step::finish);
  EXPECT_EQ(m.on_failure(t0, classify_method_error("xDBNoSuchPath").what, false).what,
            step::finish);
  const auto pin = classify_failure(make_error_code(pollster::error::certificate_pin_mismatch));
  EXPECT_EQ(m.on_failure(t0, pin.what, false).what, step::finish);
  EXPECT_EQ(m.retries(), 0);
}

TEST(CallMachine, GivesUpWhenTheNextRetryWouldReachTheDeadline) {
  rng r(1);
  const auto o = exact(true);
  call_machine m(o, t0, r);
  // 9.95 s in: a 100 ms backoff would end past the 10 s deadline.
  const auto a = m.on_failure(t0 + 9950ms, verdict::retry, false);
  EXPECT_EQ(a.what, step::finish);
  EXPECT_TRUE(a.deadline_reached);
  EXPECT_EQ(m.retries(), 0);
  // A Retry-After beyond the deadline ends it too.
  call_machine n(o, t0, r);
  const auto b = n.on_failure(t0, verdict::retry, false, 10s);
  EXPECT_EQ(b.what, step::finish);
  EXPECT_TRUE(b.deadline_reached);
  // A plain refusal to retry is not "deadline reached".
  EXPECT_FALSE(n.on_failure(t0, verdict::fatal, false).deadline_reached);
}

TEST(CallMachine, JitteredDelaysStayWithinThePolicy) {
  rng r(42);
  call_options o = exact(true);
  o.deadline = 1h;
  o.retry.jitter = 1.0;
  o.retry.min_delay = 50ms;
  call_machine m(o, t0, r);
  for (int i = 0; i < 50; ++i) {
    const auto a = m.on_failure(t0, verdict::retry, false);
    ASSERT_EQ(a.what, step::sleep);
    EXPECT_GE(a.at - t0, duration(50ms)) << i;
    EXPECT_LE(a.at - t0, duration(1s)) << i;
  }
}

TEST(ReleaseMachine, DeadlineIsTheShorterOfReleaseAndRequestTimeout) {
  EXPECT_EQ(release_machine(t0, 5s, 30s).deadline(), t0 + 5s);
  EXPECT_EQ(release_machine(t0, 5s, 2s).deadline(), t0 + 2s);
}

TEST(ReleaseMachine, SentOnceWhenAnswered) {
  release_machine m(t0, 5s, 30s);
  EXPECT_TRUE(m.next_attempt());
  EXPECT_FALSE(m.next_attempt());  // answered, or failed: a lost release loses nothing
  EXPECT_EQ(m.attempts(), 1);
}

TEST(ReleaseMachine, ResentOnceAfterAnUnaskedAnswerAndNoMore) {
  release_machine m(t0, 5s, 30s);
  ASSERT_TRUE(m.next_attempt());
  m.on_unasked();
  ASSERT_TRUE(m.next_attempt());
  m.on_unasked();
  EXPECT_FALSE(m.next_attempt());
  EXPECT_EQ(m.attempts(), release_machine::max_attempts);
}
