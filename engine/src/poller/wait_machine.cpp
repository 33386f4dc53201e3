#include "poller/wait_machine.hpp"

#include "poller/backoff.hpp"

namespace pollster::detail {

wait_machine::wait_machine(const wait_options& opts, time_point now, rng& r) noexcept
    : opts_(opts),
      rng_(r),
      deadline_(opts.deadline.count() > 0 ? now + opts.deadline : time_point::max()) {}

wait_machine::action wait_machine::poll() noexcept {
  ++polls_;
  if (retry_pending_) ++retries_;  // counted when the retry is really sent
  retry_pending_ = false;
  return {step::poll};
}

wait_machine::action wait_machine::start(time_point now) noexcept {
  if (now >= deadline_) return {step::finish, {}, outcome_kind::timed_out};
  return poll();  // the first poll goes out at once
}

wait_machine::action wait_machine::sleep_for(time_point now, duration d) noexcept {
  // Never sleep past the deadline: wake there and report timed_out.
  const time_point at = (deadline_ - now <= d) ? deadline_ : now + d;
  return {step::sleep, at};
}

wait_machine::action wait_machine::on_running(time_point now) noexcept {
  consecutive_errors_ = 0;
  gone_answers_ = 0;
  return sleep_for(now, backoff_delay(opts_.poll, running_answers_++, rng_));
}

wait_machine::action wait_machine::on_complete(bool task_failed) noexcept {
  return {step::finish, {}, task_failed ? outcome_kind::task_failed : outcome_kind::succeeded};
}

wait_machine::action wait_machine::on_gone(time_point now) noexcept {
  consecutive_errors_ = 0;
  if (gone_answers_++ >= opts_.gone_confirmations) return {step::finish, {}, outcome_kind::gone};
  return sleep_for(now, opts_.gone_confirm_delay);
}

wait_machine::action wait_machine::on_transient(time_point now, duration retry_after) noexcept {
  retry_pending_ = true;
  duration d = backoff_delay(opts_.retry, consecutive_errors_++, rng_);
  if (retry_after > d) d = retry_after;
  return sleep_for(now, d);
}

wait_machine::action wait_machine::on_fatal() noexcept {
  return {step::finish, {}, outcome_kind::failed};
}

wait_machine::action wait_machine::on_cancelled() noexcept {
  return {step::finish, {}, outcome_kind::cancelled};
}

wait_machine::action wait_machine::on_woken(time_point now) noexcept {
  if (now >= deadline_) return {step::finish, {}, outcome_kind::timed_out};
  return poll();
}

}  // namespace pollster::detail
