// Delivery as promised (issue 9): handlers never run inside the initiating
// call, the stack stays flat however many waits chain, a wait already past
// its deadline ends at once, the release follows the handler's return and is
// skipped when the caller may have dropped the outcome, every operation takes
// a completion token, and a handle can be persisted and waited for later.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>

#include "sim_fixture.hpp"

namespace pollster::test {
namespace {

namespace asio = boost::asio;

// Options the engine refuses before sending anything: the outcome is ready
// at once, which is where an inline handler would show.
wait_options refused() {
  wait_options w = fast_wait();
  w.gone_confirmations = -1;
  return w;
}

TEST_F(sim_test, NoHandlerRunsInsideTheInitiatingCall) {
  start_sim();
  client c(*eng, client_cfg());
  int ran = 0;
  c.async_wait(1, refused(), [&](outcome o) {
    EXPECT_EQ(o.kind, outcome_kind::failed);
    EXPECT_EQ(o.ec, error::invalid_config);
    ++ran;
  });
  EXPECT_EQ(ran, 0) << "a refused wait's handler ran before async_wait returned";

  auto past = fast_wait();
  past.deadline = std::chrono::nanoseconds(1);
  c.async_wait(2, past, [&](outcome o) {
    EXPECT_EQ(o.kind, outcome_kind::timed_out);
    ++ran;
  });
  EXPECT_EQ(ran, 0) << "a past-deadline wait's handler ran before async_wait returned";

  c.async_call("Not-A-Method", "{}", {}, [&](call_result r) {
    EXPECT_EQ(r.ec, error::invalid_parameter);
    ++ran;
  });
  c.async_start("", "{}", {}, [&](start_result r) {
    EXPECT_FALSE(r.ok());
    ++ran;
  });
  EXPECT_EQ(ran, 0) << "a refused call's handler ran before async_call returned";
  ioc.run_for(5s);
  ioc.restart();
  EXPECT_EQ(ran, 4);
}

// Each handler starts the next wait: with inline handlers this recursed a
// million frames deep (a segfault at ~100k).
TEST_F(sim_test, AMillionChainedCallbackWaitsKeepTheStackFlat) {
  start_sim();
  client c(*eng, client_cfg());
  constexpr int chain = 1'000'000;
  int done = 0;
  std::uintptr_t lowest = UINTPTR_MAX, highest = 0;
  std::function<void(outcome)> next = [&](outcome o) {
    // Where this handler's frame sits on the real stack (not a local's
    // address: ASan's use-after-return check moves locals to a fake stack).
    const auto at = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    lowest = std::min(lowest, at);
    highest = std::max(highest, at);
    ASSERT_EQ(o.kind, outcome_kind::failed);
    if (++done < chain) c.async_wait(done, refused(), next);
  };
  c.async_wait(0, refused(), next);
  ioc.run_for(120s);
  ioc.restart();
  EXPECT_EQ(done, chain);
  EXPECT_LT(highest - lowest, 64u * 1024) << "the stack grew with the chain";
  EXPECT_EQ(eng->stats().failed, static_cast<std::uint64_t>(chain))
      << "every refused wait is counted as failed";
}

TEST_F(sim_test, ACoroutineLoopOfRefusedWaitsKeepsTheStackFlat) {
  start_sim();
  client c(*eng, client_cfg());
  int done = 0;
  run([&]() -> asio::awaitable<void> {
    for (int i = 0; i < 200'000; ++i) {
      outcome o = co_await c.wait(i, refused());
      EXPECT_EQ(o.kind, outcome_kind::failed);
      ++done;
    }
  }, 120s);
  EXPECT_EQ(done, 200'000);
}

// A deadline already past (the tail of a time budget) ends the wait timed
// out, sends nothing, and leaves the io_context free to drain: it used to
// spawn and end workers in a loop, growing memory without bound.
TEST_F(sim_test, AWaitPastItsDeadlineEndsTimedOutAtOnceAndSendsNothing) {
  start_sim();
  client c(*eng, client_cfg());
  auto past = fast_wait();
  past.deadline = std::chrono::nanoseconds(1);
  std::vector<std::uint64_t> handles;
  for (std::uint64_t h = 1; h <= 200; ++h) handles.push_back(h);
  int ended = 0;
  for (auto h : handles)
    c.async_wait(h, past, [&](outcome o) {
      EXPECT_EQ(o.kind, outcome_kind::timed_out);
      EXPECT_EQ(o.ec, error::deadline_exceeded);
      EXPECT_EQ(o.diagnostics.polls, 0);
      ++ended;
    });
  const auto t0 = std::chrono::steady_clock::now();
  ioc.run_for(30s);  // returns as soon as nothing is left to do
  const auto took = std::chrono::steady_clock::now() - t0;
  ioc.restart();
  EXPECT_EQ(ended, 200);
  EXPECT_LT(took, 30s) << "the io_context did not drain: something kept spinning or waiting";
  EXPECT_EQ(eng->stats().requests, 0u);
  EXPECT_EQ(eng->stats().timed_out, 200u);
}

// Steps the io_context one handler at a time until the engine has finished
// the wait (the outcome is on its way, not yet delivered), then cancels:
// the outcome is still delivered, but the release is skipped, since a caller
// such as awaitable operator|| may have dropped it.
TEST_F(sim_test, ACancellationWhileTheOutcomeIsOnItsWaySkipsTheRelease) {
  start_sim();
  client c(*eng, client_cfg());
  const auto h = sim->create_job("Clone", 1ms, false);
  std::this_thread::sleep_for(20ms);  // complete at the first poll
  asio::cancellation_signal sig;
  std::optional<outcome> got;
  c.async_wait(h, fast_wait(), asio::bind_cancellation_slot(sig.slot(), [&](outcome o) {
    got = std::move(o);
  }));
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (eng->stats().completed == 0 && std::chrono::steady_clock::now() < until)
    ioc.run_one_for(100ms);
  ASSERT_EQ(eng->stats().completed, 1u);
  ASSERT_FALSE(got) << "delivered inline from finish()";
  sig.emit(asio::cancellation_type::terminal);
  ioc.run_for(2s);
  ioc.restart();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, outcome_kind::succeeded) << "the outcome itself is still delivered";
  EXPECT_EQ(eng->stats().releases, 0u);
  EXPECT_FALSE(sim->record(h)->purged) << "released although the caller may have dropped it";
}

TEST_F(sim_test, OperatorOrThatTimesOutLosesNothing) {
  using namespace asio::experimental::awaitable_operators;
  start_sim();
  client c(*eng, client_cfg());
  const auto h = sim->create_job("Clone", 2s, false);
  run([&]() -> asio::awaitable<void> {
    asio::steady_timer t(ioc, 100ms);
    auto r = co_await (c.wait(h, fast_wait()) || t.async_wait(asio::use_awaitable));
    EXPECT_EQ(r.index(), 1u) << "the timer wins";
  });
  ioc.run_for(500ms);
  ioc.restart();
  EXPECT_FALSE(sim->record(h)->purged);
  // The handle is still there to wait for.
  auto out = wait_all(c, {h}, fast_wait());
  EXPECT_EQ(out[0].kind, outcome_kind::succeeded);
  EXPECT_TRUE(sim->record(h)->purged) << "released once really delivered";
}

// What a backend does across a crash: start, persist the handle, and wait for
// it later from another engine (another process).
TEST_F(sim_test, StartPersistWaitAcrossEngines) {
  start_sim();
  start_result started;
  {
    client c(*eng, client_cfg());
    run([&]() -> asio::awaitable<void> {
      started = co_await c.start("CloneVolume", R"({"volumeID": 1, "name": "copy"})");
    });
  }
  ASSERT_TRUE(started.ok()) << started.error_name << ": " << started.error_message;
  ASSERT_NE(started.handle, 0u);
  EXPECT_NE(started.result_json.find("\"cloneID\""), std::string::npos) << started.result_json;

  asio::io_context later{1};
  engine other(later, engine_config{.seed = 9});
  client c2(other, client_cfg());
  std::optional<outcome> o;
  c2.async_wait(started.handle, fast_wait(), [&](outcome r) { o = std::move(r); });
  later.run_for(60s);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, outcome_kind::succeeded) << o->message();
  expect_matches_record(*o);
}

TEST_F(sim_test, StartAndWaitCarriesTheStartAnswerAndTakesCallOptions) {
  start_sim();
  client c(*eng, client_cfg());
  std::optional<outcome> o;
  call_options copts;
  copts.deadline = 30s;
  c.async_start_and_wait("CloneVolume", R"({"volumeID": 1, "name": "copy"})", copts, fast_wait(),
                         [&](outcome r) { o = std::move(r); });
  ioc.run_for(60s);
  ioc.restart();
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, outcome_kind::succeeded) << o->message();
  EXPECT_NE(o->start_json.find("\"asyncHandle\""), std::string::npos) << o->start_json;
  EXPECT_NE(o->start_json.find("\"cloneID\""), std::string::npos) << o->start_json;

  // A start that fails is its own kind, with the method's error, and counted.
  std::optional<outcome> bad;
  c.async_start_and_wait("NoSuchMethod", "{}", copts, fast_wait(),
                         [&](outcome r) { bad = std::move(r); });
  ioc.run_for(30s);
  ioc.restart();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->kind, outcome_kind::start_failed);
  EXPECT_EQ(bad->handle, 0u);
  EXPECT_TRUE(bad->ec);
  EXPECT_EQ(eng->stats().start_failed, 1u);
}

TEST_F(sim_test, EveryEndingHasAnErrorCodeButSuccess) {
  start_sim();
  client c(*eng, client_cfg());
  const auto ok = sim->create_job("Clone", 30ms, false);
  const auto failed = sim->create_job("BulkVolume", 30ms, true);
  auto opts = fast_wait();
  opts.gone_confirmations = 0;
  auto out = wait_all(c, {ok, failed, 987654}, opts);
  EXPECT_FALSE(out[0].ec);
  EXPECT_EQ(out[1].kind, outcome_kind::task_failed);
  EXPECT_EQ(out[1].ec, error::task_failed) << "if (o.ec) must catch a failed task";
  EXPECT_EQ(out[2].ec, error::handle_gone);
  const auto& s = eng->stats();
  EXPECT_EQ(s.completed + s.gone + s.timed_out + s.failed + s.cancelled + s.start_failed, 3u);
}

// The release lane: with no poll due it goes, bounded by release_timeout.
TEST_F(sim_test, ExplicitReleaseAfterANeverPurgeWait) {
  start_sim();
  client c(*eng, client_cfg());
  const auto h = sim->create_job("Clone", 30ms, false);
  auto opts = fast_wait();
  opts.purge = purge_policy::never;
  auto out = wait_all(c, {h}, opts);
  EXPECT_EQ(out[0].kind, outcome_kind::succeeded);
  EXPECT_FALSE(sim->record(h)->purged);
  c.release(h);
  ioc.run_for(5s);
  ioc.restart();
  EXPECT_TRUE(sim->record(h)->purged);
  EXPECT_EQ(eng->stats().releases, 1u);
}

}  // namespace
}  // namespace pollster::test
