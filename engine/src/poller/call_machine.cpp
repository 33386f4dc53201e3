#include "poller/call_machine.hpp"

#include <algorithm>

#include "poller/backoff.hpp"

namespace pollster::detail {

call_machine::call_machine(const call_options& opts, time_point now, rng& r) noexcept
    : opts_(opts), rng_(r), deadline_(now + opts.deadline) {}

call_machine::action call_machine::on_failure(time_point now, verdict v, bool may_have_done_it,
                                              duration retry_after) noexcept {
  if (v != verdict::retry || (may_have_done_it && !opts_.idempotent)) return {step::finish};
  const duration d = std::max(backoff_delay(opts_.retry, retries_, rng_), retry_after);
  if (now + d >= deadline_) return {step::finish, {}, true};
  ++retries_;
  return {step::sleep, now + d};
}

}  // namespace pollster::detail
