// The learned per-handle schedule (poller/completion_model), driven through
// wait_machine on a fake clock: jobs of known spreads, the polls it sends and
// how late it sees each completion, against the fixed 2 s loop it replaces.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "poller/completion_model.hpp"
#include "poller/wait_machine.hpp"
#include "schedule_population.hpp"

using namespace std::chrono_literals;
using pollster::wait_options;
using pollster::bench::run_population;
using pollster::detail::completion_model;
using pollster::detail::rng;
using pollster::detail::wait_machine;

namespace {

void expect_beats_fixed_loop(const char* spread, const std::function<double(rng&)>& draw) {
  const auto fixed = run_population(pollster::bench::fixed_loop(2000ms), nullptr, draw, 0, 1500);
  completion_model model;
  const auto learned = run_population(pollster::bench::learned_default(), &model, draw, 800, 1500);
  EXPECT_LT(learned.polls_per_job, fixed.polls_per_job) << spread;
  EXPECT_LT(learned.mean_delay_s, fixed.mean_delay_s) << spread;
  // And not by starving one for the other: each within a factor of the other's gain.
  EXPECT_GT(learned.polls_per_job, 0.5 * fixed.polls_per_job) << spread;
}

}  // namespace

TEST(CompletionModel, BeatsTheFixedTwoSecondLoopOnRequestsAndDelay) {
  expect_beats_fixed_loop("uniform 2-20 s", [](rng& r) { return pollster::bench::uniform(r, 2, 20); });
  expect_beats_fixed_loop("uniform 1-10 s", [](rng& r) { return pollster::bench::uniform(r, 1, 10); });
  expect_beats_fixed_loop("log-uniform 1 s-10 min",
                          [](rng& r) { return pollster::bench::log_uniform(r, 1, 600); });
  expect_beats_fixed_loop("uniform 1-10 min", [](rng& r) { return pollster::bench::uniform(r, 60, 600); });
}

TEST(CompletionModel, LearnsNotToPollBeforeTheShortestJob) {
  completion_model model;
  for (int i = 0; i < 500; ++i) {  // every job seen running at 4 s, complete by 6.5 s
    model.running(0, 4.0);
    model.completed(4.0, 6.5);
  }
  // From age 0 the next poll is not before 4 s: nothing ever completed earlier.
  EXPECT_GE(model.next_poll_age(0.0), 3.9);
  // Where completions are, polls are close.
  EXPECT_LT(model.next_poll_age(5.0) - 5.0, 1.0);
}

TEST(CompletionModel, ColdStartPollsSoonThenSpacesOut) {
  completion_model model;  // nothing learned: the prior alone
  const double first = model.next_poll_age(0.0);
  EXPECT_GT(first, 0.2);
  EXPECT_LT(first, 1.5);
  const double at_10s = model.next_poll_age(10.0) - 10.0;
  const double at_600s = model.next_poll_age(600.0) - 600.0;
  EXPECT_GT(at_10s, first);
  EXPECT_GT(at_600s, at_10s);
  EXPECT_TRUE(std::isinf(model.next_poll_age(1e9)));
}

TEST(CompletionModel, TheMachineKeepsTheLearnedSpacingWithinItsBounds) {
  completion_model model;
  // Every job completes between 2.9 s and 3.1 s: there the model wants polls
  // closer than any sane floor, before it none at all.
  for (int i = 0; i < 500; ++i) {
    model.running(0, 2.9);
    model.completed(2.9, 3.1);
  }
  wait_options o;
  o.deadline = 10h;
  o.poll.min_delay = 300ms;
  o.poll.max_delay = 700ms;
  rng r;
  const auto t0 = wait_machine::time_point{} + 1h;
  wait_machine m(o, t0, r, &model);
  ASSERT_EQ(m.start(t0).what, wait_machine::step::poll);
  auto a = m.on_running(t0);  // the next completion is ~3 s away: the ceiling
  ASSERT_EQ(a.what, wait_machine::step::sleep);
  EXPECT_EQ(a.at - t0, 700ms);
  const auto edge = t0 + 2950ms;
  ASSERT_EQ(m.on_woken(edge).what, wait_machine::step::poll);
  a = m.on_running(edge);  // in the thick of the completions: the floor
  EXPECT_EQ(a.at - edge, 300ms);
  // Far past every completion the model sees none coming: the ceiling.
  const auto late = t0 + 5h;
  ASSERT_EQ(m.on_woken(late).what, wait_machine::step::poll);
  a = m.on_running(late);
  EXPECT_EQ(a.at - late, 700ms);
}

TEST(CompletionModel, AHandWrittenPolicyIsTheBackoffAndTeachesNothing) {
  completion_model model;
  wait_options o;
  o.poll = {.initial = 3s, .multiplier = 1.0, .max_delay = 3s, .jitter = 0.0, .min_delay = 3s};
  rng r;
  const auto t0 = wait_machine::time_point{} + 1h;
  wait_machine m(o, t0, r, &model);
  (void)m.start(t0);
  auto a = m.on_running(t0);
  EXPECT_EQ(a.at - t0, 3s);
  (void)m.on_woken(a.at);
  (void)m.on_complete(false);
  EXPECT_EQ(model.completions(), 0);
}

TEST(CompletionModel, ACompletionAtTheFirstPollIsNotLearned) {
  // The job may have ended long before the wait began: no duration in it.
  completion_model model;
  wait_options o;
  rng r;
  const auto t0 = wait_machine::time_point{} + 1h;
  wait_machine first(o, t0, r, &model);
  (void)first.start(t0);
  (void)first.on_complete(false);
  EXPECT_EQ(model.completions(), 0);
  // Seen running once, then complete: learned.
  wait_machine second(o, t0, r, &model);
  (void)second.start(t0);
  auto a = second.on_running(t0);
  (void)second.on_woken(a.at);
  (void)second.on_complete(false);
  EXPECT_EQ(model.completions(), 1);
}

TEST(CompletionModel, FollowsJobsThatGetLonger) {
  completion_model model;
  for (int i = 0; i < 3000; ++i) {
    model.running(0, 1.5);
    model.completed(1.5, 2.5);  // 2 s jobs
  }
  const double short_jobs = model.next_poll_age(0.0);
  for (int i = 0; i < 20000; ++i) {
    model.running(0, 50);
    model.completed(50, 70);  // now 1 min jobs
  }
  EXPECT_LT(short_jobs, 2.5);
  EXPECT_GT(model.next_poll_age(0.0), 10.0);
}
