#include "transport/request_rules.hpp"

namespace pollster::detail {

gate rate_limit_gate(std::chrono::steady_clock::time_point now, duration wait,
                     std::chrono::steady_clock::time_point deadline) noexcept {
  if (wait.count() <= 0) return {gate::kind::go};
  if (now + wait >= deadline)
    return {gate::kind::give_up, {}, "rate limit leaves no time before the deadline"};
  return {gate::kind::sleep, now + wait};
}

gate reconnect_gate(std::chrono::steady_clock::time_point now,
                    std::chrono::steady_clock::time_point not_before,
                    std::chrono::steady_clock::time_point deadline, bool first_try) noexcept {
  if (!first_try || not_before <= now) return {gate::kind::go};
  if (not_before >= deadline)
    return {gate::kind::give_up, {}, "reconnect backoff runs past the deadline"};
  return {gate::kind::sleep, not_before};
}

}  // namespace pollster::detail
