// The decisions of one request on its way to a connection, without I/O: may
// it wait for a rate-limit token or a reconnect backoff, or would that run
// past its deadline; may a request that died on a stale keep-alive
// connection be sent again. The request path (client/request_path.cpp)
// sleeps or sends as these say; unit tests drive them with any clock.
#pragma once

#include <chrono>

#include "pollster/config.hpp"

namespace pollster::detail {

struct gate {
  enum class kind {
    go,       ///< nothing to wait for
    sleep,    ///< wait until `at`, then go
    give_up,  ///< waiting would reach the deadline: request_timeout, `why`
  };
  kind what;
  std::chrono::steady_clock::time_point at{};
  const char* why = "";
};

/// A rate-limit token is `wait` away (token_bucket::reserve). Giving up
/// means the token goes back (token_bucket::refund).
gate rate_limit_gate(std::chrono::steady_clock::time_point now, duration wait,
                     std::chrono::steady_clock::time_point deadline) noexcept;

/// A closed slot may reconnect from `not_before` (pool_state's backoff). A
/// resend after a stale connection (`first_try` false) connects at once: the
/// server closed an idle connection, which says nothing about the cluster.
gate reconnect_gate(std::chrono::steady_clock::time_point now,
                    std::chrono::steady_clock::time_point not_before,
                    std::chrono::steady_clock::time_point deadline, bool first_try) noexcept;

/// A kept-alive connection the server had already closed (idle timeout)
/// ends before the first byte of an answer (`stale`): send again at once on
/// a fresh one, as HTTP clients do, once, and only what is safe to repeat
/// (polls, releases, lists; not a call, which may not be idempotent).
inline bool resend_after_stale(bool stale, bool first_try, bool idempotent,
                               bool shutting_down) noexcept {
  return stale && first_try && idempotent && !shutting_down;
}

}  // namespace pollster::detail
