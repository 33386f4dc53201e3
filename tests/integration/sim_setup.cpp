#include "sim_setup.hpp"

#include <chrono>

namespace pollster::test {

using namespace std::chrono_literals;

void every_fault(sim::faults& f, double scale) {
  f.latency = {sim::duration_dist::kind::fixed, 5ms};
  f.latency_ratio = 0.2 * scale;
  f.retryable_error_ratio = 0.05 * scale;
  f.transient_gone_ratio = 0.05 * scale;
  f.http_503_ratio = 0.02 * scale;
  f.connection_close_ratio = 0.05 * scale;
  f.close_after_requests = static_cast<decltype(f.close_after_requests)>(50 / scale);
  f.reset_mid_response_ratio = 0.03 * scale;
  f.drop_after_purge_ratio = 0.5 * scale;
  f.failover_period = std::chrono::duration_cast<decltype(f.failover_period)>(700ms / scale);
  f.slow_handshake = 10ms;
}

}  // namespace pollster::test
