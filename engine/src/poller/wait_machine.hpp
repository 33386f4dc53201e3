// The decisions of one wait, without I/O (sans-io): the I/O coroutine reports
// what happened, the machine says what to do next. Time comes in as an
// argument, so tests drive it with any clock they like.
#pragma once

#include "pollster/config.hpp"
#include "pollster/outcome.hpp"
#include "poller/clock.hpp"
#include "poller/completion_model.hpp"
#include "poller/rng.hpp"
#include "protocol/classify.hpp"

namespace pollster::detail {

class wait_machine {
 public:
  using time_point = detail::time_point;

  enum class step {
    poll,    ///< send GetAsyncResult now, with keep_result()
    sleep,   ///< wait until `at`, then call on_woken()
    finish,  ///< done: the outcome kind is `kind`
  };
  struct action {
    step what;
    time_point at{};
    outcome_kind kind = outcome_kind::failed;
  };

  /// `model`: the client's completion_model, fed by this wait and consulted
  /// for its polls when opts.poll.learned (nullptr: the backoff only).
  wait_machine(const wait_options& opts, time_point now, rng& r,
               completion_model* model = nullptr) noexcept;

  action start(time_point now) noexcept;
  /// `percent`: details.percentComplete (integer or fractional), or -1.
  /// With progress the next poll aims just after the predicted completion
  /// (from the rate between two readings, or since the wait began), within
  /// [poll.min_delay, poll.max_delay]; without, the learned schedule
  /// (poll.learned) or the poll backoff.
  action on_running(time_point now, double percent = -1) noexcept;
  action on_complete(bool task_failed) noexcept;
  /// The handle was reported missing (xDBNoSuchPath / xAsyncHandleDoesNotExist).
  action on_gone(time_point now) noexcept;
  /// A transient failure; `retry_after` is the server's Retry-After (0: none).
  action on_transient(time_point now, duration retry_after) noexcept;
  action on_fatal() noexcept;
  /// A classified failure (protocol/classify): gone, transient or fatal.
  action on_failure(time_point now, verdict v, duration retry_after = {}) noexcept;
  action on_cancelled() noexcept;
  action on_woken(time_point now) noexcept;
  /// Fan-in: a list did not show the handle (or showed it unreadable):
  /// poll it on its own, which says complete, running or gone.
  action on_absent(time_point now) noexcept;

  /// Past the deadline: on_woken() then says timed_out (a listed wait
  /// starts without a poll of its own).
  bool expired(time_point now) const noexcept { return now >= deadline_; }
  bool keep_result() const noexcept { return opts_.purge != purge_policy::on_read; }
  time_point deadline() const noexcept { return deadline_; }
  int polls() const noexcept { return polls_; }
  int retries() const noexcept { return retries_; }

 private:
  action sleep_for(time_point now, duration d) noexcept;
  action poll() noexcept;

  duration predicted_wait(time_point now, double percent) noexcept;
  duration learned_wait(time_point now) noexcept;
  double age(time_point t) const noexcept;
  bool learning() const noexcept { return model_ != nullptr && opts_.poll.learned; }

  const wait_options& opts_;
  rng& rng_;
  completion_model* model_;
  time_point deadline_;
  time_point began_;
  time_point last_progress_at_{};
  double last_percent_ = -1;
  int running_answers_ = 0;   // drives the poll backoff
  int consecutive_errors_ = 0;  // drives the retry backoff; reset by any answer
  int gone_answers_ = 0;      // consecutive "no such handle" answers
  int polls_ = 0;
  int retries_ = 0;
  bool retry_pending_ = false;  // the next poll is a retry after a transient error
  // For the model: when the last poll went out, whether its answer is still
  // to come, and the age at which the job was last seen running.
  time_point last_poll_at_{};
  bool answer_due_ = false;
  double running_at_age_ = 0;
};

}  // namespace pollster::detail
