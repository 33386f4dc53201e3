// What the tests, the soak program and the benchmarks share: the simulator's
// faults all at once, and a client that trusts a test server. No gtest here,
// so the soak (a plain program) links it too; trusting() is header-only, for
// the hostile tests and the benchmarks, which need no simulator faults.
#pragma once

#include <string>
#include <utility>

#include "pollster/pollster.hpp"
#include "pollster/sim/server.hpp"

namespace pollster::test {

/// Every fault the simulator injects, at once. `scale` multiplies the
/// ratios and stretches the gaps between connection faults: 1 is the tests'
/// mix (rates a wait survives within milliseconds), less is a gentler one
/// for a long run.
void every_fault(sim::faults& f, double scale);

/// The JSON a completed wait carries, as the simulator records it: the
/// `result` member (succeeded) or the task's `error` object (task_failed);
/// empty for the other endings.
inline std::string completed_json(const outcome& o) {
  if (const auto* t = o.task_error()) return t->json;
  return o.result() ? o.result()->json : std::string();
}

/// A client of the TLS server at `url` that trusts its certificate by its
/// SHA-256 `pin`, user "admin".
inline client_config trusting(std::string url, std::string pin, std::string password = "admin") {
  client_config c;
  c.url = std::move(url);
  c.user = "admin";
  c.password = std::move(password);
  c.tls.pin_sha256 = std::move(pin);
  return c;
}

/// A client of the simulator `sim`.
inline client_config trusting(const sim::server& sim) { return trusting(sim.url(), sim.certificate_sha256()); }

}  // namespace pollster::test
