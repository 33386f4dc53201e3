// Runs the simulator in-process and an engine on the test's own io_context.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "pollster/pollster.hpp"
#include "pollster/sim/server.hpp"
#include "sim_setup.hpp"

namespace pollster {
// A fan-in mode by name in a test's listed parameters, not as bytes.
inline const char* mode_name(fan_in_mode m) {
  return m == fan_in_mode::list ? "list" : m == fan_in_mode::per_handle ? "per_handle" : "auto";
}
inline void PrintTo(fan_in_mode m, std::ostream* os) { *os << mode_name(m); }
}  // namespace pollster

namespace pollster::test {

using namespace std::chrono_literals;

/// Waits that poll quickly, so tests take milliseconds per job, not seconds.
wait_options fast_wait();

/// Every fault the simulator injects at once, at rates a wait survives.
void all_faults(sim::faults& f);

class sim_test : public ::testing::Test {
 protected:
  void start_sim(sim::config cfg = {});
  client_config client_cfg() const;  ///< trusts the simulator by its pin
  void TearDown() override;

  /// Runs `body` as a coroutine and the io_context until everything ends,
  /// failing the test if that takes longer than `limit`.
  void run(std::function<boost::asio::awaitable<void>()> body,
           std::chrono::seconds limit = 60s);

  /// Waits for every handle at once; returns the outcomes by handle order.
  std::vector<outcome> wait_all(client& c, const std::vector<std::uint64_t>& handles,
                                wait_options opts, std::chrono::seconds limit = 120s);

  /// Starts the simulator, creates one job (see sim::server::create_job) and
  /// waits for it with a client of client_cfg().
  outcome wait_for_new_job(const std::string& result_type, duration runs_for, bool fails,
                           wait_options opts);

  /// `count` new Clone jobs (that succeed) of the simulator, each running for `runs_for`.
  std::vector<std::uint64_t> new_clone_jobs(std::size_t count, duration runs_for);

  /// Asserts the outcome is what the simulator recorded for its job.
  void expect_matches_record(const outcome& o);

  boost::asio::io_context ioc{1};
  std::unique_ptr<engine> eng = std::make_unique<engine>(ioc, engine_config{.seed = 42});
  std::unique_ptr<sim::server> sim;
};

}  // namespace pollster::test
