// One wait and many: the semantics of issue 2 against the simulator.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "sim_fixture.hpp"

namespace pollster::test {
namespace {

namespace asio = boost::asio;

TEST_F(sim_test, SucceedsThenReleasesAfterDelivery) {
  const auto o = wait_for_new_job("Clone", 150ms, false, fast_wait());
  expect_matches_record(o);
  EXPECT_EQ(o.kind, outcome_kind::succeeded);
  EXPECT_NE(o.raw_answer.find("\"status\""), std::string::npos);
  EXPECT_GE(o.diagnostics.polls, 2) << "a 150 ms job cannot be complete at the first poll";
  // The default policy purges only after delivery, with one keepResult=false.
  auto rec = sim->record(o.handle);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->purged);
  EXPECT_EQ(eng->stats().releases, 1u);
}

TEST_F(sim_test, NeverPurgeLeavesTheResult) {
  auto opts = fast_wait();
  opts.purge = purge_policy::never;
  const auto o = wait_for_new_job("Clone", 50ms, false, opts);
  expect_matches_record(o);
  EXPECT_FALSE(sim->record(o.handle)->purged);
  EXPECT_EQ(eng->stats().releases, 0u);
}

TEST_F(sim_test, TaskFailureIsCompleteWithError) {
  const auto o = wait_for_new_job("BulkVolume", 50ms, true, fast_wait());
  expect_matches_record(o);
  EXPECT_EQ(o.kind, outcome_kind::task_failed);
  // The task's error is its own part; the record is there, without a result.
  ASSERT_TRUE(o.task_error());
  EXPECT_FALSE(o.task_error()->name.empty());
  EXPECT_FALSE(o.task_error()->message.empty());
  EXPECT_EQ(o.message(), o.task_error()->message);
  ASSERT_TRUE(o.result());
  EXPECT_TRUE(o.result()->json.empty());
  EXPECT_FALSE(o.method_error());
}

TEST_F(sim_test, UnknownHandleIsGoneAfterConfirmation) {
  start_sim();
  client c(*eng, client_cfg());
  auto opts = fast_wait();
  opts.gone_confirmations = 2;
  auto out = wait_all(c, {987654}, opts);
  EXPECT_EQ(out[0].kind, outcome_kind::gone);
  // A handle that never existed, on API 12.x: the name the vendor's SDK saw
  // (docs/simulator.md; xDBNoSuchPath is for purged results).
  ASSERT_TRUE(out[0].method_error());
  EXPECT_EQ(out[0].method_error()->name, "xAsyncHandleDoesNotExist");
  EXPECT_EQ(out[0].method_error()->code, 500);
  EXPECT_NE(out[0].method_error()->json.find("does not exist"), std::string::npos);
  EXPECT_FALSE(out[0].result());
  EXPECT_FALSE(out[0].task_error());
  EXPECT_EQ(out[0].diagnostics.polls, 3) << "one answer and two confirmations";
}

TEST_F(sim_test, DeadlineGivesTimedOutWithLastStatus) {
  start_sim();
  client c(*eng, client_cfg());
  const auto h = sim->create_job("Clone", 30s, false);
  auto opts = fast_wait();
  opts.deadline = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto out = wait_all(c, {h}, opts);
  EXPECT_EQ(out[0].kind, outcome_kind::timed_out);
  EXPECT_EQ(out[0].diagnostics.last_status, "running");
  EXPECT_NE(out[0].diagnostics.last_details.find("percentComplete"), std::string::npos);
  EXPECT_EQ(out[0].ec, make_error_code(error::deadline_exceeded));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "deadline not honoured";
}

TEST_F(sim_test, ProgressCallbackSeesDetails) {
  start_sim();
  client c(*eng, client_cfg());
  const auto h = sim->create_job("Clone", 400ms, false);
  auto opts = fast_wait();
  int calls = 0;
  double last_pct = -1;
  bool monotonic = true;
  opts.on_progress = [&](const progress& p) {
    ++calls;
    EXPECT_EQ(p.handle, h);
    EXPECT_EQ(p.result_type, "Clone");
    EXPECT_EQ(p.details_json.front(), '{');
    if (p.percent_complete < last_pct) monotonic = false;
    last_pct = p.percent_complete;
  };
  auto out = wait_all(c, {h}, opts);
  expect_matches_record(out[0]);
  EXPECT_GE(calls, 1);
  EXPECT_GE(last_pct, 0.0);
  EXPECT_LE(last_pct, 100.0);
  EXPECT_TRUE(monotonic);
}

TEST_F(sim_test, ThousandsOfHandlesOnOneThreadNothingLostNothingTwice) {
  sim::config cfg;
  cfg.seed = 7;
  start_sim(cfg);
  auto ccfg = client_cfg();
  ccfg.pool_size = 8;
  client c(*eng, ccfg);
  std::vector<std::uint64_t> handles;
  for (int i = 0; i < 3000; ++i)
    handles.push_back(sim->create_job(i % 2 ? "Clone" : "BulkVolume",
                                      std::chrono::milliseconds(50 + (i * 7919) % 700), i % 10 == 0));
  auto out = wait_all(c, handles, fast_wait());
  int failed = 0;
  for (const auto& o : out) {
    expect_matches_record(o);
    failed += o.kind == outcome_kind::task_failed;
  }
  EXPECT_EQ(failed, 300);
  EXPECT_LE(c.pool().open, 8u);
  EXPECT_EQ(c.pool().busy, 0u);
  EXPECT_EQ(c.pool().waiting, 0u);
  EXPECT_EQ(eng->stats().completed, 3000u);
  EXPECT_LE(eng->stats().connects, 8u) << "keep-alive connections should be reused";
}

// Request deadlines are one lazy timer per connection (connection::
// watch_until); once the last wait is delivered and released, none may stay
// pending, or run() would return only at the old deadlines (60 s here).
TEST_F(sim_test, IoContextDrainsOnceTheLastWaitEnds) {
  start_sim();
  auto ccfg = client_cfg();
  ccfg.pool_size = 8;
  ccfg.request_timeout = 60s;
  client c(*eng, ccfg);
  std::size_t delivered = 0;
  for (int i = 0; i < 300; ++i) {
    const auto h = sim->create_job("Clone", std::chrono::milliseconds(20 + (i * 7919) % 300), false);
    asio::co_spawn(ioc, [&, h]() -> asio::awaitable<void> {
      const auto o = co_await c.wait(h, fast_wait());
      EXPECT_EQ(o.kind, outcome_kind::succeeded);
      ++delivered;
    }, asio::detached);
  }
  ioc.run_for(30s);
  EXPECT_EQ(delivered, 300u);
  EXPECT_TRUE(ioc.stopped()) << "the io_context still had work 30 s on: a deadline timer left pending";
  ioc.restart();
}

TEST_F(sim_test, WrongPasswordFailsAtOnceNeverRetried) {
  start_sim();
  auto cfg = client_cfg();
  cfg.password = "wrong";
  client c(*eng, cfg);
  auto out = wait_all(c, {sim->create_job("Clone", 50ms, false)}, fast_wait());
  EXPECT_EQ(out[0].kind, outcome_kind::failed);
  EXPECT_EQ(out[0].ec, make_error_code(error::unauthorized));
  EXPECT_EQ(out[0].diagnostics.polls, 1);
  EXPECT_EQ(error_name(out[0].ec), "unauthorized");
  EXPECT_FALSE(out[0].method_error()) << "an HTTP status is pollster's account, not a method error";
  EXPECT_NE(out[0].message().find("HTTP 401"), std::string::npos) << out[0].message();
}

TEST_F(sim_test, UnknownApiVersionFailsAtOnce) {
  start_sim();
  auto cfg = client_cfg();
  cfg.url = sim->url();
  cfg.url = cfg.url.substr(0, cfg.url.rfind('/') + 1) + "99.0";
  client c(*eng, cfg);
  auto out = wait_all(c, {1}, fast_wait());
  EXPECT_EQ(out[0].kind, outcome_kind::failed);
  EXPECT_EQ(out[0].diagnostics.polls, 1);
}

TEST_F(sim_test, CancellingOneWait) {
  start_sim();
  client c(*eng, client_cfg());
  const auto h = sim->create_job("Clone", 30s, false);
  asio::cancellation_signal signal;
  outcome got;
  bool done = false;
  asio::co_spawn(ioc, c.wait(h, fast_wait()),
                 asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr, outcome o) {
                   got = std::move(o);
                   done = true;
                 }));
  asio::steady_timer t(ioc, 200ms);
  t.async_wait([&](auto) { signal.emit(asio::cancellation_type::terminal); });
  ioc.run_for(10s);
  ASSERT_TRUE(done);
  EXPECT_EQ(got.kind, outcome_kind::cancelled);
  EXPECT_EQ(got.diagnostics.last_status, "running");
}

TEST_F(sim_test, DestroyingTheClientEndsEveryWaitAndDrains) {
  start_sim();
  auto c = std::make_unique<client>(*eng, client_cfg());
  std::vector<outcome> outs;
  for (int i = 0; i < 200; ++i)
    asio::co_spawn(ioc, c->wait(sim->create_job("Clone", 30s, false), fast_wait()),
                   [&](std::exception_ptr e, outcome o) {
                     EXPECT_FALSE(e);
                     outs.push_back(std::move(o));
                   });
  asio::steady_timer t(ioc, 300ms);
  t.async_wait([&](auto) { c.reset(); });
  ioc.run_for(20s);
  EXPECT_TRUE(ioc.stopped()) << "the io_context did not drain";
  ASSERT_EQ(outs.size(), 200u);
  for (const auto& o : outs) EXPECT_EQ(o.kind, outcome_kind::cancelled);
}

TEST_F(sim_test, CallbackFormDeliversThenReleases) {
  start_sim();
  client c(*eng, client_cfg());
  const auto h = sim->create_job("Clone", 50ms, false);
  outcome got;
  bool purged_at_delivery = true;
  c.async_wait(h, fast_wait(), [&](outcome o) {
    got = std::move(o);
    purged_at_delivery = sim->record(h)->purged;
  });
  ioc.run_for(20s);
  expect_matches_record(got);
  EXPECT_FALSE(purged_at_delivery) << "released before the callback ran";
  EXPECT_TRUE(sim->record(h)->purged);
}

TEST_F(sim_test, CallAndStartAndWait) {
  start_sim();
  client c(*eng, client_cfg());
  run([&]() -> asio::awaitable<void> {
    auto api = co_await c.call("GetAPI", "{}");
    EXPECT_TRUE(api.ok()) << api.error_message;
    EXPECT_NE(api.result_json.find("supportedVersions"), std::string::npos);
    auto bad = co_await c.call("NoSuchMethod", "{}");
    EXPECT_EQ(bad.ec, make_error_code(error::unknown_method));
    EXPECT_EQ(bad.error_name, "xUnknownAPIMethod");
    auto o = co_await c.start_and_wait("CloneVolume", R"({"volumeID": 1, "name": "copy"})",
                                       fast_wait());
    EXPECT_TRUE(o.completed()) << o.message();
    EXPECT_TRUE(o.result());
    if (o.result()) EXPECT_EQ(o.result()->result_type, "Clone");
    EXPECT_GT(o.handle, 0u);
  });
}

// A server that closes kept-alive connections between requests (idle close,
// keep-alive limits): the poll is sent again at once on a fresh connection,
// not counted as a failure and not delayed by a retry backoff.
TEST_F(sim_test, StaleKeepAliveConnectionIsReplacedTransparently) {
  sim::config cfg;
  cfg.fault.close_after_requests = 1;
  start_sim(cfg);
  auto ccfg = client_cfg();
  ccfg.pool_size = 1;
  client c(*eng, ccfg);
  const auto handles = new_clone_jobs(20, 30ms);
  auto out = wait_all(c, handles, fast_wait());
  for (const auto& o : out) {
    expect_matches_record(o);
    EXPECT_EQ(o.diagnostics.retries, 0) << "handle " << o.handle;
  }
  EXPECT_EQ(eng->stats().transient_errors, 0u);
  EXPECT_GT(eng->stats().connects, 20u);
}

TEST_F(sim_test, RateLimitBoundsRequestsPerSecond) {
  start_sim();
  auto cfg = client_cfg();
  cfg.rate_limit = 100;
  cfg.rate_burst = 5;
  cfg.fan_in.mode = fan_in_mode::per_handle;  // one request per poll: the bucket is what bounds them
  client c(*eng, cfg);
  const auto handles = new_clone_jobs(60, 1ms);
  auto opts = fast_wait();
  opts.purge = purge_policy::never;
  const auto t0 = std::chrono::steady_clock::now();
  auto out = wait_all(c, handles, opts);
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& o : out) expect_matches_record(o);
  // A lower bound only: the bucket may never let more than burst + rate*t through.
  const double requests = static_cast<double>(eng->stats().requests);
  EXPECT_GE(requests, 60);
  EXPECT_GE(elapsed, (requests - 5) / 100 * 0.95) << requests << " requests in " << elapsed << " s";
}

// pool_size is the one bound on requests in flight (max_in_flight, which
// only clamped it, is gone).
TEST_F(sim_test, PoolSizeBoundsConnections) {
  start_sim();
  auto cfg = client_cfg();
  cfg.pool_size = 2;
  client c(*eng, cfg);
  const auto handles = new_clone_jobs(200, 30ms);
  auto out = wait_all(c, handles, fast_wait());
  for (const auto& o : out) expect_matches_record(o);
  EXPECT_EQ(c.pool().size, 2u);
  EXPECT_LE(eng->stats().connects, 2u);
  EXPECT_LE(sim->snapshot().connections_accepted, 2u);
}

TEST_F(sim_test, ManyClustersOnOneIoContext) {
  start_sim();
  sim::server other(sim::config{.seed = 99});
  other.start();
  client a(*eng, client_cfg());
  auto bcfg = client_cfg();
  bcfg.url = other.url();
  bcfg.tls.pin_sha256 = other.certificate_sha256();
  client b(*eng, bcfg);
  std::vector<std::uint64_t> ha, hb;
  for (int i = 0; i < 100; ++i) {
    ha.push_back(sim->create_job("Clone", 40ms, false));
    hb.push_back(other.create_job("BulkVolume", 40ms, true));
  }
  std::vector<outcome> oa(100), ob(100);
  int done = 0;
  for (int i = 0; i < 100; ++i) {
    a.async_wait(ha[i], fast_wait(), [&, i](outcome o) { oa[i] = std::move(o); ++done; });
    b.async_wait(hb[i], fast_wait(), [&, i](outcome o) { ob[i] = std::move(o); ++done; });
  }
  ioc.run_for(60s);
  ASSERT_EQ(done, 200);
  for (const auto& o : oa) expect_matches_record(o);
  for (const auto& o : ob) {
    EXPECT_EQ(o.kind, outcome_kind::task_failed);
    EXPECT_EQ(completed_json(o), other.record(o.handle)->result_json);
  }
  other.stop();
}

}  // namespace
}  // namespace pollster::test
