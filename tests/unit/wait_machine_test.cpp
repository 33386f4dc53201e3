// The sans-io state machine of one wait, driven by a fake clock: the test
// owns "now" and advances it to wherever the machine asks to sleep.
#include <gtest/gtest.h>

#include <chrono>

#include "poller/backoff.hpp"
#include "poller/rng.hpp"
#include "poller/wait_machine.hpp"

using namespace std::chrono_literals;
using pollster::backoff_policy;
using pollster::duration;
using pollster::outcome_kind;
using pollster::purge_policy;
using pollster::wait_options;
using pollster::detail::rng;
using pollster::detail::wait_machine;
using step = wait_machine::step;
using time_point = wait_machine::time_point;

namespace {

// A clock the tests advance by hand.
struct fake_clock {
  time_point now = time_point{} + 24h;
  void advance(duration d) { now += d; }
  void advance_to(time_point t) {
    ASSERT_GE(t, now) << "the machine asked to sleep into the past";
    now = t;
  }
};

// Deterministic spacing: no jitter.
wait_options exact_options() {
  wait_options o;
  o.deadline = 1h;
  o.poll = {.initial = 1s, .multiplier = 2.0, .max_delay = 8s, .jitter = 0.0, .min_delay = 0ns};
  o.retry = {.initial = 100ms, .multiplier = 2.0, .max_delay = 1s, .jitter = 0.0,
             .min_delay = 0ns};
  o.gone_confirmations = 2;
  o.gone_confirm_delay = 1s;
  return o;
}

}  // namespace

// Each test starts from a fake clock, an rng seeded with 1 and
// exact_options(); it changes `o` before making its machine (the machine
// keeps a reference to it).
class WaitMachine : public ::testing::Test {
 protected:
  // A machine that has sent its first poll.
  wait_machine started() {
    wait_machine m(o, c.now, r);
    EXPECT_EQ(m.start(c.now).what, step::poll);
    return m;
  }
  // Sleeps as long as `a` asks, then wakes `m`: what it does next.
  wait_machine::action sleep_then_wake(wait_machine& m, wait_machine::action a) {
    EXPECT_EQ(a.what, step::sleep);
    c.advance_to(a.at);
    return m.on_woken(c.now);
  }
  // `a` sleeps until exactly `deadline`, and waking then times the wait out.
  void expect_sleep_into_timeout(wait_machine& m, wait_machine::action a, time_point deadline) {
    ASSERT_EQ(a.what, step::sleep);
    EXPECT_EQ(a.at, deadline);
    const auto w = m.on_woken(a.at);
    EXPECT_EQ(w.what, step::finish);
    EXPECT_EQ(w.kind, outcome_kind::timed_out);
  }

  fake_clock c;
  rng r{1};
  wait_options o = exact_options();
};

TEST_F(WaitMachine, FirstPollGoesOutImmediately) {
  o = wait_options{};  // defaults
  wait_machine m(o, c.now, r);
  const auto a = m.start(c.now);
  EXPECT_EQ(a.what, step::poll);
  EXPECT_EQ(m.polls(), 1);
  EXPECT_EQ(m.retries(), 0);
  EXPECT_EQ(m.deadline(), c.now + o.deadline);
}

TEST_F(WaitMachine, RunningSleepsWithinPollBackoffBounds) {
  r = rng(2024);
  o = wait_options{};
  o.deadline = 0ns;  // no deadline: nothing caps the sleeps
  o.poll = {.initial = 1s, .multiplier = 1.5, .max_delay = 20s, .jitter = 1.0,
            .min_delay = 100ms};
  for (int trial = 0; trial < 50; ++trial) {
    c = fake_clock{};
    auto m = started();
    for (int n = 0; n < 15; ++n) {
      const auto a = m.on_running(c.now);
      ASSERT_EQ(a.what, step::sleep);
      const duration slept = a.at - c.now;
      ASSERT_GE(slept, 100ms) << "n=" << n;
      ASSERT_LE(slept, pollster::detail::backoff_ceiling(o.poll, n)) << "n=" << n;
      ASSERT_EQ(sleep_then_wake(m, a).what, step::poll);
    }
    EXPECT_EQ(m.polls(), 16);
    EXPECT_EQ(m.retries(), 0);
  }
}

TEST_F(WaitMachine, RunningBackoffGrowsExactlyWithoutJitter) {
  auto m = started();
  for (duration want : {1s, 2s, 4s, 8s, 8s, 8s}) {
    const auto a = m.on_running(c.now);
    ASSERT_EQ(a.what, step::sleep);
    EXPECT_EQ(a.at - c.now, want);
    ASSERT_EQ(sleep_then_wake(m, a).what, step::poll);
  }
}

TEST_F(WaitMachine, DeadlineCapsSleepAndTimesOut) {
  o.deadline = 10s;
  const time_point start = c.now;
  wait_machine m(o, c.now, r);
  EXPECT_EQ(m.deadline(), start + 10s);
  ASSERT_EQ(m.start(c.now).what, step::poll);
  int polls_seen = 1;
  for (;;) {
    c.advance(100ms);  // the answer takes a while
    const auto a = m.on_running(c.now);
    ASSERT_EQ(a.what, step::sleep);
    ASSERT_LE(a.at, start + 10s) << "slept past the deadline";
    const auto w = sleep_then_wake(m, a);
    if (w.what == step::finish) {
      EXPECT_EQ(w.kind, outcome_kind::timed_out);
      EXPECT_EQ(c.now, start + 10s);
      break;
    }
    ASSERT_EQ(w.what, step::poll);
    ++polls_seen;
    ASSERT_LT(polls_seen, 100);
  }
  // 1s,2s,4s sleeps (+0.1s answers) then the 8s sleep is cut at 10s.
  EXPECT_EQ(m.polls(), polls_seen);
  EXPECT_EQ(m.polls(), 4);
}

TEST_F(WaitMachine, WokenExactlyAtDeadlineTimesOutJustBeforeDoesNot) {
  o.deadline = 5s;
  {
    auto m = started();
    EXPECT_EQ(m.on_woken(c.now + 5s - 1ns).what, step::poll);
  }
  {
    auto m = started();
    const auto a = m.on_woken(c.now + 5s);
    EXPECT_EQ(a.what, step::finish);
    EXPECT_EQ(a.kind, outcome_kind::timed_out);
  }
  {
    auto m = started();
    const auto a = m.on_woken(c.now + 1h);
    EXPECT_EQ(a.what, step::finish);
    EXPECT_EQ(a.kind, outcome_kind::timed_out);
  }
}

TEST_F(WaitMachine, AnswerAfterDeadlineLeadsToTimeout) {
  o.deadline = 5s;
  auto m = started();
  const time_point start = c.now;
  c.advance(6s);  // the answer arrives late
  const auto a = m.on_running(c.now);
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_LE(a.at, c.now);  // no further wait
  const auto w = m.on_woken(std::max(a.at, c.now));
  EXPECT_EQ(w.what, step::finish);
  EXPECT_EQ(w.kind, outcome_kind::timed_out);
  EXPECT_EQ(m.deadline(), start + 5s);
}

TEST_F(WaitMachine, NoDeadlineWhenZero) {
  o.deadline = 0ns;
  o.poll.max_delay = 1000h;
  o.poll.initial = 1000h;
  wait_machine m(o, c.now, r);
  EXPECT_EQ(m.deadline(), time_point::max());
  ASSERT_EQ(m.start(c.now).what, step::poll);
  const auto a = m.on_running(c.now);
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_EQ(a.at, c.now + 1000h);  // not cut short
  EXPECT_EQ(sleep_then_wake(m, a).what, step::poll);
  EXPECT_EQ(m.on_woken(c.now + 24h * 365 * 10).what, step::poll);
}

TEST_F(WaitMachine, CompleteSucceededOrTaskFailed) {
  {
    auto m = started();
    const auto a = m.on_complete(false);
    EXPECT_EQ(a.what, step::finish);
    EXPECT_EQ(a.kind, outcome_kind::succeeded);
  }
  {
    auto m = started();
    m.on_running(c.now);
    m.on_woken(c.now + 1s);
    const auto a = m.on_complete(true);
    EXPECT_EQ(a.what, step::finish);
    EXPECT_EQ(a.kind, outcome_kind::task_failed);
    EXPECT_EQ(m.polls(), 2);
  }
}

TEST_F(WaitMachine, GoneNeedsConfirmationsPlusOneConsecutiveAnswers) {
  for (int confirmations : {0, 1, 2, 5}) {
    c = fake_clock{};
    r = rng(1);
    o = exact_options();
    o.gone_confirmations = confirmations;
    o.gone_confirm_delay = 1500ms;
    auto m = started();
    for (int i = 0; i < confirmations; ++i) {
      const auto a = m.on_gone(c.now);
      ASSERT_EQ(a.what, step::sleep) << "gone reported after " << i + 1 << " answers";
      EXPECT_EQ(a.at - c.now, 1500ms);  // spaced by gone_confirm_delay
      ASSERT_EQ(sleep_then_wake(m, a).what, step::poll);
    }
    const auto a = m.on_gone(c.now);
    EXPECT_EQ(a.what, step::finish) << "confirmations=" << confirmations;
    EXPECT_EQ(a.kind, outcome_kind::gone);
    EXPECT_EQ(m.polls(), confirmations + 1);
    EXPECT_EQ(m.retries(), 0);
  }
}

TEST_F(WaitMachine, RunningAnswerBetweenGoneAnswersResetsTheCount) {
  auto m = started();  // exact_options(): 2 confirmations
  auto step_through = [&](wait_machine::action a) {
    ASSERT_EQ(sleep_then_wake(m, a).what, step::poll);
  };
  step_through(m.on_gone(c.now));     // 1st gone
  step_through(m.on_gone(c.now));     // 2nd gone
  step_through(m.on_running(c.now));  // transient xDBNoSuchPath during an upgrade: it runs
  step_through(m.on_gone(c.now));     // count starts over: 1
  step_through(m.on_gone(c.now));     // 2
  const auto a = m.on_gone(c.now);    // 3 consecutive: confirmed
  EXPECT_EQ(a.what, step::finish);
  EXPECT_EQ(a.kind, outcome_kind::gone);
}

TEST_F(WaitMachine, GoneConfirmationSleepIsCappedByDeadline) {
  o.deadline = 3s;
  o.gone_confirm_delay = 10s;
  const time_point start = c.now;
  auto m = started();
  expect_sleep_into_timeout(m, m.on_gone(c.now), start + 3s);
}

TEST_F(WaitMachine, TransientErrorsBackOffOnRetryPolicyAndResetOnAnswer) {
  auto m = started();
  for (duration want : {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms}) {
    const auto a = m.on_transient(c.now, 0ns);
    ASSERT_EQ(a.what, step::sleep);
    EXPECT_EQ(a.at - c.now, want);
    ASSERT_EQ(sleep_then_wake(m, a).what, step::poll);
  }
  EXPECT_EQ(m.retries(), 6);
  EXPECT_EQ(m.polls(), 7);
  // An answer (running) ends the error streak: the next error starts over.
  auto a = m.on_running(c.now);
  sleep_then_wake(m, a);
  a = m.on_transient(c.now, 0ns);
  EXPECT_EQ(a.at - c.now, 100ms);
  // So does a gone answer.
  sleep_then_wake(m, a);
  a = m.on_transient(c.now, 0ns);
  EXPECT_EQ(a.at - c.now, 200ms);
  sleep_then_wake(m, a);
  a = m.on_gone(c.now);
  sleep_then_wake(m, a);
  a = m.on_transient(c.now, 0ns);
  EXPECT_EQ(a.at - c.now, 100ms);
}

TEST_F(WaitMachine, TransientJitteredWithinRetryBounds) {
  r = rng(77);
  o = wait_options{};  // default retry policy, full jitter
  o.deadline = 0ns;
  for (int trial = 0; trial < 200; ++trial) {
    c = fake_clock{};
    auto m = started();
    for (int n = 0; n < 8; ++n) {
      const auto a = m.on_transient(c.now, 0ns);
      ASSERT_EQ(a.what, step::sleep);
      ASSERT_GE(a.at - c.now, std::min(o.retry.min_delay,
                                       pollster::detail::backoff_ceiling(o.retry, n)));
      ASSERT_LE(a.at - c.now, pollster::detail::backoff_ceiling(o.retry, n));
      sleep_then_wake(m, a);
    }
  }
}

TEST_F(WaitMachine, RetryAfterHonouredWhenLarger) {
  auto m = started();
  auto a = m.on_transient(c.now, 5s);  // backoff says 100ms, server says 5s
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_EQ(a.at - c.now, 5s);
  sleep_then_wake(m, a);
  a = m.on_transient(c.now, 1ms);  // backoff (200ms) is larger: backoff wins
  EXPECT_EQ(a.at - c.now, 200ms);
}

TEST_F(WaitMachine, RetryAfterIsCappedByDeadline) {
  o.deadline = 2s;
  const time_point start = c.now;
  auto m = started();
  expect_sleep_into_timeout(m, m.on_transient(c.now, 120s), start + 2s);
}

TEST_F(WaitMachine, FatalFailsCancelledCancels) {
  {
    auto m = started();
    const auto a = m.on_fatal();
    EXPECT_EQ(a.what, step::finish);
    EXPECT_EQ(a.kind, outcome_kind::failed);
    EXPECT_EQ(m.polls(), 1);
  }
  {
    auto m = started();
    m.on_running(c.now);
    const auto a = m.on_cancelled();
    EXPECT_EQ(a.what, step::finish);
    EXPECT_EQ(a.kind, outcome_kind::cancelled);
  }
}

TEST_F(WaitMachine, KeepResultFollowsPurgePolicy) {
  o.purge = purge_policy::after_delivery;
  EXPECT_TRUE(wait_machine(o, c.now, r).keep_result());
  o.purge = purge_policy::never;
  EXPECT_TRUE(wait_machine(o, c.now, r).keep_result());
  o.purge = purge_policy::on_read;
  EXPECT_FALSE(wait_machine(o, c.now, r).keep_result());
  // The default never purges while polling.
  wait_options d;
  EXPECT_TRUE(wait_machine(d, c.now, r).keep_result());
}

TEST_F(WaitMachine, KeepResultHoldsOnEveryPollOfTheWait) {
  // after_delivery: every poll, including retries and gone confirmations,
  // must keep the result (purging happens only after delivery).
  wait_machine m(o, c.now, r);
  auto a = m.start(c.now);
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(a.what, step::poll);
    EXPECT_TRUE(m.keep_result());
    a = (i % 3 == 0) ? m.on_running(c.now) : (i % 3 == 1) ? m.on_transient(c.now, 0ns)
                                                          : m.on_gone(c.now);
    ASSERT_EQ(a.what, step::sleep);
    a = sleep_then_wake(m, a);
  }
}

TEST_F(WaitMachine, PollsAndRetriesCount) {
  wait_machine m(o, c.now, r);
  m.start(c.now);                   // poll 1
  auto a = m.on_transient(c.now, 0ns);
  sleep_then_wake(m, a);                // poll 2 (retry 1)
  a = m.on_running(c.now);
  sleep_then_wake(m, a);                // poll 3
  a = m.on_transient(c.now, 0ns);
  sleep_then_wake(m, a);                // poll 4 (retry 2)
  EXPECT_EQ(m.polls(), 4);
  EXPECT_EQ(m.retries(), 2);
  EXPECT_EQ(m.on_complete(false).kind, outcome_kind::succeeded);
  EXPECT_EQ(m.polls(), 4);
}

TEST_F(WaitMachine, RetriesCountsOnlyRetriesActuallySent) {
  // outcome::retries is documented as "of which [GetAsyncResult requests]
  // were retries": a retry scheduled but cut off by the deadline was never
  // sent, so it must not be counted.
  o.deadline = 1s;
  o.retry.initial = 5s;
  o.retry.max_delay = 5s;
  auto m = started();
  const auto a = m.on_transient(c.now, 0ns);
  ASSERT_EQ(a.what, step::sleep);
  const auto w = m.on_woken(a.at);
  ASSERT_EQ(w.kind, outcome_kind::timed_out);
  EXPECT_EQ(m.polls(), 1);
  EXPECT_EQ(m.retries(), 0);
}

TEST_F(WaitMachine, RetriesNeverExceedPollsMinusOne) {
  // Random walk through the machine: the first poll is never a retry.
  r = rng(31337);
  rng pick(4242);
  o.deadline = 30s;
  for (int trial = 0; trial < 200; ++trial) {
    c = fake_clock{};
    wait_machine m(o, c.now, r);
    auto a = m.start(c.now);
    while (a.what != step::finish) {
      if (a.what == step::sleep) {
        c.advance_to(std::max(a.at, c.now));
        a = m.on_woken(c.now);
        continue;
      }
      c.advance(10ms);
      const auto choice = pick.next() % 10;
      if (choice < 5) a = m.on_running(c.now);
      else if (choice < 8) a = m.on_transient(c.now, 0ns);
      else if (choice < 9) a = m.on_gone(c.now);
      else a = m.on_complete(pick.next() % 2);
    }
    ASSERT_LE(c.now, m.deadline());
    if (a.kind == outcome_kind::timed_out) {
      ASSERT_EQ(c.now, m.deadline());
      continue;  // see RetriesCountsOnlyRetriesActuallySent
    }
    ASSERT_LE(m.retries(), m.polls() - 1) << "trial " << trial;
  }
}

// details.percentComplete predicts the completion: the next poll comes just
// after it, not on the backoff's schedule.
TEST_F(WaitMachine, ProgressPredictsTheNextPoll) {
  o = wait_options{};
  o.poll = {.initial = 1s, .multiplier = 1.5, .max_delay = 20s, .jitter = 0.0, .min_delay = 100ms};
  auto m = started();
  c.advance(2s);
  // 20% in 2 s: 8 s left; polled at 8 s x 1.1 + 100 ms.
  auto a = m.on_running(c.now, 20);
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_EQ(a.at - c.now, 8800ms + 100ms);
  c.advance_to(a.at);
  // Between readings: 20% -> 95% in 8.9 s: 5% left takes about 0.59 s.
  ASSERT_EQ(m.on_woken(c.now).what, step::poll);
  a = m.on_running(c.now, 95);
  const auto left = std::chrono::duration<double>(a.at - c.now).count();
  EXPECT_NEAR(left, 5.0 / (75.0 / 8.9) * 1.1 + 0.1, 0.01);
}

TEST_F(WaitMachine, ProgressIsBoundedByTheBackoffsLimits) {
  o = wait_options{};
  o.poll = {.initial = 1s, .multiplier = 1.5, .max_delay = 20s, .jitter = 0.0, .min_delay = 100ms};
  auto m = started();
  c.advance(10s);
  auto a = m.on_running(c.now, 1);  // 1% in 10 s: 990 s left, polled at max_delay
  EXPECT_EQ(a.at - c.now, 20s);
  sleep_then_wake(m, a);
  a = m.on_running(c.now, 99.99);  // all but done: min_delay
  EXPECT_EQ(a.at - c.now, 100ms + std::chrono::duration_cast<duration>(
                                      std::chrono::duration<double>((100 - 99.99) / ((99.99 - 1) / 20.0) * 1.1)));
}

TEST_F(WaitMachine, WithoutProgressTheBackoffRules) {
  o = wait_options{};
  o.poll = {.initial = 1s, .multiplier = 2.0, .max_delay = 20s, .jitter = 0.0, .min_delay = 100ms};
  auto m = started();
  for (double pct : {-1.0, 0.0, 100.0}) {  // absent, not started, odd
    auto a = m.on_running(c.now, pct);
    ASSERT_EQ(a.what, step::sleep);
    EXPECT_GE(a.at - c.now, 1s);
    sleep_then_wake(m, a);
  }
}
// A classified failure goes where its verdict says, the same rules as the
// named events: gone is confirmed, retry backs off (Retry-After a floor),
// fatal ends the wait failed.
TEST_F(WaitMachine, OnFailureFollowsTheVerdict) {
  using pollster::detail::verdict;
  wait_machine m = started();
  auto a = m.on_failure(c.now, verdict::retry);
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_EQ(a.at - c.now, 100ms);
  c.advance_to(a.at);
  m.on_woken(c.now);
  a = m.on_failure(c.now, verdict::retry, 5s);
  ASSERT_EQ(a.what, step::sleep);
  EXPECT_EQ(a.at - c.now, 5s);
  c.advance_to(a.at);
  m.on_woken(c.now);
  EXPECT_EQ(m.retries(), 2);
  a = m.on_failure(c.now, verdict::gone);
  ASSERT_EQ(a.what, step::sleep);  // the first of two confirmations
  EXPECT_EQ(a.at - c.now, o.gone_confirm_delay);
  a = m.on_failure(c.now, verdict::fatal);
  EXPECT_EQ(a.what, step::finish);
  EXPECT_EQ(a.kind, outcome_kind::failed);
}
