#include "poller/wait_machine.hpp"

#include <algorithm>

#include "poller/backoff.hpp"

namespace pollster::detail {

wait_machine::wait_machine(const wait_options& opts, time_point now, rng& r,
                           completion_model* model) noexcept
    : opts_(opts),
      rng_(r),
      model_(model),
      deadline_(opts.deadline.count() > 0 ? now + opts.deadline : time_point::max()),
      began_(now) {}

wait_machine::action wait_machine::poll() noexcept {
  ++polls_;
  if (retry_pending_) ++retries_;  // counted when the retry is really sent
  retry_pending_ = false;
  answer_due_ = true;
  return {step::poll};
}

double wait_machine::age(time_point t) const noexcept {
  return std::chrono::duration<double>(t - began_).count();
}

wait_machine::action wait_machine::start(time_point now) noexcept {
  if (now >= deadline_) return {step::finish, {}, outcome_kind::timed_out};
  last_poll_at_ = now;
  return poll();  // the first poll goes out at once
}

wait_machine::action wait_machine::sleep_for(time_point now, duration d) noexcept {
  // Never sleep past the deadline: wake there and report timed_out.
  const time_point at = (deadline_ - now <= d) ? deadline_ : now + d;
  return {step::sleep, at};
}

// The time left by the progress rate: between the last two readings when
// the percentage moved, else since the wait began (which underestimates a
// job started earlier: the poll then comes early, never late). A margin of
// a tenth (at least min_delay) puts the poll just after the completion.
duration wait_machine::predicted_wait(time_point now, double percent) noexcept {
  if (!(percent > 0 && percent < 100)) return duration::zero();
  double rate = 0;  // percent per second
  if (last_percent_ >= 0 && percent > last_percent_ && now > last_progress_at_)
    rate = (percent - last_percent_) / std::chrono::duration<double>(now - last_progress_at_).count();
  else if (now > began_)
    rate = percent / std::chrono::duration<double>(now - began_).count();
  last_percent_ = percent;
  last_progress_at_ = now;
  if (rate <= 0) return duration::zero();
  const double left = (100 - percent) / rate;
  const auto d = std::chrono::duration_cast<duration>(std::chrono::duration<double>(left * 1.1)) +
                 opts_.poll.min_delay;
  return std::clamp(d, opts_.poll.min_delay, opts_.poll.max_delay);
}

// The learned schedule: the next poll where the client's completions say the
// next one is due, within [min_delay, max_delay].
duration wait_machine::learned_wait(time_point now) noexcept {
  const double at = model_->next_poll_age(age(now));
  const double secs = at - age(now);
  const duration lo = opts_.poll.min_delay, hi = opts_.poll.max_delay;
  if (!(secs < std::chrono::duration<double>(hi).count())) return hi;
  return std::clamp(std::chrono::duration_cast<duration>(std::chrono::duration<double>(secs)), lo, hi);
}

wait_machine::action wait_machine::on_running(time_point now, double percent) noexcept {
  consecutive_errors_ = 0;
  gone_answers_ = 0;
  if (learning() && answer_due_) {
    model_->running(running_at_age_, age(last_poll_at_));
    running_at_age_ = age(last_poll_at_);
  }
  answer_due_ = false;
  const duration backoff = learning() ? duration::zero() : backoff_delay(opts_.poll, running_answers_, rng_);
  ++running_answers_;
  const duration predicted = predicted_wait(now, percent);
  if (predicted > duration::zero()) return sleep_for(now, predicted);
  return sleep_for(now, learning() ? learned_wait(now) : backoff);
}

wait_machine::action wait_machine::on_complete(bool task_failed) noexcept {
  // A completion at the first poll says nothing of how long the job ran (it
  // may have ended long before the wait began); a list's says nothing of
  // when (this wait's own poll did not see it).
  if (learning() && answer_due_ && polls_ > 1) model_->completed(running_at_age_, age(last_poll_at_));
  answer_due_ = false;
  return {step::finish, {}, task_failed ? outcome_kind::task_failed : outcome_kind::succeeded};
}

wait_machine::action wait_machine::on_gone(time_point now) noexcept {
  answer_due_ = false;
  consecutive_errors_ = 0;
  if (gone_answers_++ >= opts_.gone_confirmations) return {step::finish, {}, outcome_kind::gone};
  return sleep_for(now, opts_.gone_confirm_delay);
}

wait_machine::action wait_machine::on_transient(time_point now, duration retry_after) noexcept {
  answer_due_ = false;
  retry_pending_ = true;
  duration d = backoff_delay(opts_.retry, consecutive_errors_++, rng_);
  if (retry_after > d) d = retry_after;
  return sleep_for(now, d);
}

wait_machine::action wait_machine::on_fatal() noexcept {
  return {step::finish, {}, outcome_kind::failed};
}

wait_machine::action wait_machine::on_failure(time_point now, verdict v,
                                              duration retry_after) noexcept {
  switch (v) {
    case verdict::gone: return on_gone(now);
    case verdict::retry: return on_transient(now, retry_after);
    case verdict::fatal: break;
  }
  return on_fatal();
}

wait_machine::action wait_machine::on_cancelled() noexcept {
  return {step::finish, {}, outcome_kind::cancelled};
}

wait_machine::action wait_machine::on_woken(time_point now) noexcept {
  if (now >= deadline_) return {step::finish, {}, outcome_kind::timed_out};
  last_poll_at_ = now;
  return poll();
}

wait_machine::action wait_machine::on_absent(time_point now) noexcept {
  return on_woken(now);  // the same: timed_out past the deadline, else a poll
}

}  // namespace pollster::detail
