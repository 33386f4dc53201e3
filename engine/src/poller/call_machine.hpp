// The retry decisions of one call (any method) and of one release, without
// I/O (sans-io, like wait_machine): the coroutine reports what an attempt
// came to, the machine says whether to try again and when. The verdicts
// come from protocol/classify: one classification for polls, lists, calls
// and releases.
#pragma once

#include "pollster/client.hpp"
#include "poller/clock.hpp"
#include "poller/rng.hpp"
#include "protocol/classify.hpp"

namespace pollster::detail {

class call_machine {
 public:
  using time_point = detail::time_point;

  enum class step {
    sleep,   ///< send again at `at`
    finish,  ///< report the last attempt's result as it is
  };
  struct action {
    step what;
    time_point at{};
    /// finish because the next retry would come too late: the caller's
    /// message says "(deadline reached while retrying)".
    bool deadline_reached = false;
  };

  call_machine(const call_options& opts, time_point now, rng& r) noexcept;

  /// An attempt failed with verdict `v`. `may_have_done_it`: the cluster
  /// may have carried the method out (the request left and no clean refusal
  /// came back: a lost or unreadable answer), so it is sent again only when
  /// the call is idempotent; a refusal (HTTP 503, a transient method error)
  /// or a request that never left is retried either way. `retry_after`: the
  /// server's Retry-After, a floor under the backoff.
  action on_failure(time_point now, verdict v, bool may_have_done_it,
                    duration retry_after = {}) noexcept;

  time_point deadline() const noexcept { return deadline_; }
  /// Retries decided so far.
  int retries() const noexcept { return retries_; }

 private:
  const call_options& opts_;
  rng& rng_;
  time_point deadline_;
  int retries_ = 0;
};

/// A release (GetAsyncResult keepResult=false after delivery). A lost one
/// loses nothing (the outcome was delivered; the cluster's retention cleans
/// up), so it is sent at most twice: again only after an unasked answer, at
/// once, on a fresh connection. (A stale keep-alive connection is resent by
/// the request path, transport/request_rules.)
class release_machine {
 public:
  using time_point = detail::time_point;
  static constexpr int max_attempts = 2;

  release_machine(time_point now, duration release_timeout, duration request_timeout) noexcept
      : deadline_(now + std::min(release_timeout, request_timeout)) {}

  time_point deadline() const noexcept { return deadline_; }
  /// Send an attempt now? The first always; another only after on_unasked().
  bool next_attempt() noexcept {
    if (!resend_ || sent_ >= max_attempts) return false;
    resend_ = false;
    ++sent_;
    return true;
  }
  /// The answer's id was not the request's: the release may not have been read.
  void on_unasked() noexcept { resend_ = true; }
  int attempts() const noexcept { return sent_; }

 private:
  time_point deadline_;
  int sent_ = 0;
  bool resend_ = true;
};

}  // namespace pollster::detail
