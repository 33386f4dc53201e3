// Every fault the simulator injects, alone and all at once: each handle's
// outcome is delivered exactly once and equals the simulator's record.
#include <tuple>

#include "sim_fixture.hpp"

namespace pollster::test {
namespace {

struct fault_case {
  const char* name;
  std::function<void(sim::faults&)> set;
};
// gtest would print the bytes of the case (pointers included) into the test's
// listed name, which differs from build to build; print its name instead.
void PrintTo(const fault_case& c, std::ostream* os) { *os << c.name; }

// Each fault in each fan-in mode: lists, per-handle polls, and automatic
// (which lists here: 400 waits polled every 20 ms cost more than a list).
class fault_test : public sim_test,
                   public ::testing::WithParamInterface<std::tuple<fault_case, fan_in_mode>> {};



std::vector<std::uint64_t> make_jobs(sim::server& s, int n) {
  std::vector<std::uint64_t> handles;
  for (int i = 0; i < n; ++i)
    handles.push_back(s.create_job(i % 3 ? "Clone" : "BulkVolume",
                                   std::chrono::milliseconds(20 + (i * 104729) % 400), i % 7 == 0));
  return handles;
}

TEST_P(fault_test, NothingLostNothingTwice) {
  sim::config cfg;
  cfg.seed = 11;
  std::get<0>(GetParam()).set(cfg.fault);
  start_sim(cfg);
  auto ccfg = client_cfg();
  ccfg.fan_in.mode = std::get<1>(GetParam());
  client c(*eng, ccfg);
  auto opts = fast_wait();
  // Transient "no such path" answers need enough confirmations to be told
  // from a real loss (the fault rate here is far above the field's).
  opts.gone_confirmations = 5;
  auto handles = make_jobs(*sim, 400);
  auto out = wait_all(c, handles, opts);
  for (const auto& o : out) expect_matches_record(o);
  EXPECT_LE(c.pool().open, 8u);
  EXPECT_EQ(c.pool().busy, 0u);
  EXPECT_EQ(c.pool().waiting, 0u);
  // The lists were really used (automatic may have fallen back: three
  // failed lists in a row happen at these fault rates).
  if (ccfg.fan_in.mode == fan_in_mode::list)
    EXPECT_GT(eng->stats().lists, 0u);
  else if (ccfg.fan_in.mode == fan_in_mode::automatic)
    EXPECT_GT(eng->stats().lists + eng->stats().list_fallbacks, 0u);
  else
    EXPECT_EQ(eng->stats().lists, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    each, fault_test,
    ::testing::Combine(::testing::Values(
        fault_case{"latency", [](sim::faults& f) {
                     f.latency = {sim::duration_dist::kind::fixed, 20ms};
                     f.latency_ratio = 0.5;
                   }},
        fault_case{"retryable_errors", [](sim::faults& f) { f.retryable_error_ratio = 0.3; }},
        fault_case{"transient_gone", [](sim::faults& f) { f.transient_gone_ratio = 0.1; }},
        fault_case{"http_503", [](sim::faults& f) { f.http_503_ratio = 0.1; }},
        fault_case{"connection_close", [](sim::faults& f) { f.connection_close_ratio = 0.3; }},
        fault_case{"close_after_requests", [](sim::faults& f) { f.close_after_requests = 5; }},
        fault_case{"reset_mid_response", [](sim::faults& f) { f.reset_mid_response_ratio = 0.1; }},
        fault_case{"drop_after_purge", [](sim::faults& f) { f.drop_after_purge_ratio = 1.0; }},
        fault_case{"failover", [](sim::faults& f) { f.failover_period = 250ms; }},
        fault_case{"slow_handshake", [](sim::faults& f) { f.slow_handshake = 50ms; }},
        fault_case{"all_together", all_faults}),
                       ::testing::Values(fan_in_mode::automatic, fan_in_mode::list,
                                         fan_in_mode::per_handle)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) + "_" + mode_name(std::get<1>(info.param));
    });

// The trap of element-api.md: with keepResult=false on every poll (what other
// clients do), a lost answer carrying "complete" loses the result for good.
// The default policy loses nothing under the very same fault.
TEST_F(sim_test, LostCompleteAnswerLosesResultOnlyWithPurgeOnRead) {
  sim::config cfg;
  cfg.fault.drop_after_purge_ratio = 1.0;
  start_sim(cfg);
  // Per-handle polls: a list never purges, so lists would save the results.
  auto ccfg = client_cfg();
  ccfg.fan_in.mode = fan_in_mode::per_handle;
  client c(*eng, ccfg);
  auto lossy = fast_wait();
  lossy.purge = purge_policy::on_read;
  auto handles = make_jobs(*sim, 50);
  auto out = wait_all(c, handles, lossy);
  int gone = 0;
  for (const auto& o : out) gone += o.kind == outcome_kind::gone;
  EXPECT_EQ(gone, 50) << "every complete answer was dropped after its purge";

  auto safe_handles = make_jobs(*sim, 50);
  auto safe = wait_all(c, safe_handles, fast_wait());
  for (const auto& o : safe) expect_matches_record(o);
}

}  // namespace
}  // namespace pollster::test
