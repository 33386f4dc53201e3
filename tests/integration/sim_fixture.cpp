#include "sim_fixture.hpp"

namespace pollster::test {

namespace asio = boost::asio;

wait_options fast_wait() {
  wait_options w;
  w.deadline = 60s;
  w.poll = {.initial = 20ms, .multiplier = 1.5, .max_delay = 200ms, .jitter = 1.0, .min_delay = 5ms};
  w.retry = {.initial = 10ms, .multiplier = 2.0, .max_delay = 200ms, .jitter = 1.0, .min_delay = 5ms};
  w.gone_confirm_delay = 20ms;
  return w;
}

void all_faults(sim::faults& f) { every_fault(f, 1.0); }

void sim_test::start_sim(sim::config cfg) {
  sim = std::make_unique<sim::server>(std::move(cfg));
  sim->start();
}

client_config sim_test::client_cfg() const {
  client_config c = trusting(*sim);
  c.request_timeout = 5s;
  // Lists as quick as fast_wait()'s polls: tests take milliseconds per job.
  c.fan_in.min_interval = 20ms;
  c.fan_in.max_interval = 200ms;
  return c;
}

void sim_test::TearDown() {
  if (sim) sim->stop();
}

void sim_test::run(std::function<asio::awaitable<void>()> body, std::chrono::seconds limit) {
  bool done = false;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    co_await body();
    done = true;
  }, asio::detached);
  ioc.run_for(limit);
  ASSERT_TRUE(done) << "test body did not finish within " << limit.count() << " s";
  ioc.restart();
}

std::vector<outcome> sim_test::wait_all(client& c, const std::vector<std::uint64_t>& handles,
                                        wait_options opts, std::chrono::seconds limit) {
  std::vector<outcome> out(handles.size());
  std::vector<int> delivered(handles.size(), 0);
  std::size_t remaining = handles.size();
  for (std::size_t i = 0; i < handles.size(); ++i) {
    asio::co_spawn(ioc, [&, i]() -> asio::awaitable<void> {
      out[i] = co_await c.wait(handles[i], opts);
      ++delivered[i];
      --remaining;
    }, asio::detached);
  }
  const auto until = std::chrono::steady_clock::now() + limit;
  while (remaining > 0 && std::chrono::steady_clock::now() < until) ioc.run_one_for(100ms);
  EXPECT_EQ(remaining, 0u) << "waits still running after " << limit.count() << " s";
  // Drain the releases sent after delivery: run_for returns as soon as the
  // io_context runs out of work (each release is bounded by release_timeout;
  // they go a few at a time, on the workers' spare time).
  ioc.run_for(20s);
  ioc.restart();
  for (std::size_t i = 0; i < handles.size(); ++i)
    EXPECT_EQ(delivered[i], 1) << "handle " << handles[i] << " delivered " << delivered[i] << " times";
  return out;
}

outcome sim_test::wait_for_new_job(const std::string& result_type, duration runs_for, bool fails,
                                   wait_options opts) {
  start_sim();
  client c(*eng, client_cfg());
  return wait_all(c, {sim->create_job(result_type, runs_for, fails)}, std::move(opts))[0];
}

std::vector<std::uint64_t> sim_test::new_clone_jobs(std::size_t count, duration runs_for) {
  std::vector<std::uint64_t> handles;
  for (std::size_t i = 0; i < count; ++i) handles.push_back(sim->create_job("Clone", runs_for, false));
  return handles;
}

void sim_test::expect_matches_record(const outcome& o) {
  auto rec = sim->record(o.handle);
  ASSERT_TRUE(rec) << "simulator has no record of handle " << o.handle;
  ASSERT_TRUE(o.completed()) << "handle " << o.handle << " ended " << to_string(o.kind) << ": "
                             << o.message();
  EXPECT_TRUE(rec->complete);
  EXPECT_EQ(o.kind == outcome_kind::task_failed, rec->failed) << "handle " << o.handle;
  EXPECT_EQ(completed_json(o), rec->result_json) << "handle " << o.handle;
  ASSERT_TRUE(o.result()) << "handle " << o.handle;
  EXPECT_EQ(o.result()->result_type, rec->result_type) << "handle " << o.handle;
}

}  // namespace pollster::test
