// Fan-in over real TLS against the simulator: one ListAsyncResults per tick
// serves every wait of the client, the outcomes are the simulator's records,
// exactly once, and a handle the list does not show is confirmed per handle.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sim_fixture.hpp"

namespace pollster::test {
namespace {

namespace asio = boost::asio;

client_config list_cfg(client_config c, fan_in_mode m = fan_in_mode::list) {
  c.fan_in.mode = m;
  return c;
}

std::vector<std::uint64_t> jobs(sim::server& s, int n, const char* type = "Clone") {
  std::vector<std::uint64_t> h;
  for (int i = 0; i < n; ++i)
    h.push_back(s.create_job(type, std::chrono::milliseconds(20 + (i * 7919) % 400), i % 9 == 0));
  return h;
}

// 10,000 handles with every fault at once, in each mode: exactly once, each
// outcome the simulator's record.
class fan_in_modes : public sim_test, public ::testing::WithParamInterface<fan_in_mode> {};

TEST_P(fan_in_modes, TenThousandHandlesThroughEveryFaultExactlyOnce) {
  sim::config cfg;
  cfg.seed = 5;
  cfg.other_results = 2000;
  all_faults(cfg.fault);
  start_sim(cfg);
  client c(*eng, list_cfg(client_cfg(), GetParam()));
  auto opts = fast_wait();
  opts.gone_confirmations = 5;
  auto handles = jobs(*sim, 10000);
  auto out = wait_all(c, handles, opts, 240s);
  for (const auto& o : out) expect_matches_record(o);
  const auto st = eng->stats();
  EXPECT_EQ(st.completed, 10000u);
  if (GetParam() == fan_in_mode::list) EXPECT_GT(st.lists, 0u);
  if (GetParam() == fan_in_mode::per_handle) EXPECT_EQ(st.lists, 0u);
}

INSTANTIATE_TEST_SUITE_P(each, fan_in_modes,
                         ::testing::Values(fan_in_mode::automatic, fan_in_mode::list,
                                           fan_in_mode::per_handle),
                         [](const auto& info) { return std::string(mode_name(info.param)); });

TEST_F(sim_test, ListModeSendsOneRequestPerTickWhateverTheNumberOfWaits) {
  // Without faults every request is a list or a release: no wait is polled
  // on its own, however many there are.
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  auto handles = jobs(*sim, 2000);
  auto out = wait_all(c, handles, fast_wait());
  for (const auto& o : out) {
    expect_matches_record(o);
    EXPECT_TRUE(o.diagnostics.from_list);
    EXPECT_EQ(o.diagnostics.polls, 0);
  }
  const auto st = eng->stats();
  EXPECT_EQ(st.requests, st.lists + st.releases) << st.lists << " lists, " << st.releases << " releases";
  EXPECT_EQ(st.releases, 2000u);
  EXPECT_LT(st.lists, 200u) << "a list per tick, not per wait";
}

TEST_F(sim_test, AnOutcomeFromAListIsTheGetAsyncResultAnswerByteForByte) {
  // The rebuilt answer equals what GetAsyncResult says for the same handle
  // (the simulator answers compact, keys sorted, as clusters do).
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  auto handles = jobs(*sim, 30);
  auto opts = fast_wait();
  opts.purge = purge_policy::never;
  auto out = wait_all(c, handles, opts);
  run([&]() -> asio::awaitable<void> {
    for (const auto& o : out) {
      EXPECT_TRUE(o.diagnostics.from_list);
      auto r = co_await c.call("GetAsyncResult",
                               params().add("asyncHandle", o.handle).add("keepResult", true));
      EXPECT_TRUE(r.ok()) << r.error_message;
      EXPECT_EQ(o.raw_answer, r.result_json) << "handle " << o.handle;
    }
  });
}

TEST_F(sim_test, AHandleTheListDoesNotShowIsConfirmedPerHandleThenGone) {
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  auto handles = jobs(*sim, 20);
  handles.push_back(987654321);  // never existed
  auto out = wait_all(c, handles, fast_wait());
  for (std::size_t i = 0; i + 1 < out.size(); ++i) expect_matches_record(out[i]);
  const auto& missing = out.back();
  EXPECT_EQ(missing.kind, outcome_kind::gone);
  EXPECT_GE(missing.diagnostics.polls, 1 + fast_wait().gone_confirmations) << "confirmed by its own polls; retries " << missing.diagnostics.retries << " " << missing.message();
}

TEST_F(sim_test, ResultsOfOthersAreListedAndLeftAlone) {
  sim::config cfg;
  cfg.other_results = 3000;
  start_sim(cfg);
  client c(*eng, list_cfg(client_cfg()));
  auto handles = jobs(*sim, 50);
  auto out = wait_all(c, handles, fast_wait());
  for (const auto& o : out) expect_matches_record(o);
  const auto st = eng->stats();
  EXPECT_GE(st.list_entries, st.lists * 3000) << "every list carried the others' results";
  for (std::uint64_t h = cfg.other_results_first_handle; h < cfg.other_results_first_handle + 3000; h += 500) {
    auto rec = sim->record(h);
    ASSERT_TRUE(rec);
    EXPECT_FALSE(rec->purged) << "a result that is not ours was purged";
  }
}

TEST_F(sim_test, WaitsThatKnowTheirTypeFilterTheList) {
  // Every wait says Clone: the lists ask for Clone only, and the 40
  // BulkVolume results (not waited for) are not in them.
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  for (int i = 0; i < 40; ++i) sim->create_job("BulkVolume", 1ms, false);
  auto handles = jobs(*sim, 20, "Clone");
  auto opts = fast_wait();
  opts.result_type = "Clone";
  opts.purge = purge_policy::never;
  auto out = wait_all(c, handles, opts);
  for (const auto& o : out) expect_matches_record(o);
  const auto st = eng->stats();
  ASSERT_GT(st.lists, 0u);
  EXPECT_LE(st.list_entries, st.lists * 20) << "BulkVolume entries were listed";
}

TEST_F(sim_test, AutomaticPollsASingleDefaultWaitPerHandle) {
  start_sim();
  client c(*eng, client_cfg());  // automatic
  auto opts = fast_wait();
  opts.poll = backoff_policy{};  // the default: 1 s x 1.5^n
  auto out = wait_all(c, {sim->create_job("Clone", 300ms, false)}, opts);
  expect_matches_record(out[0]);
  EXPECT_EQ(eng->stats().lists, 0u);
  EXPECT_FALSE(out[0].diagnostics.from_list);
}

TEST_F(sim_test, AutomaticListsForManyWaits) {
  start_sim();
  auto cfg = client_cfg();
  cfg.fan_in = fan_in_options{};  // automatic, lists at most every 500 ms
  client c(*eng, cfg);
  auto opts = fast_wait();
  opts.poll = backoff_policy{};
  auto out = wait_all(c, jobs(*sim, 500), opts);
  std::size_t from_list = 0;
  for (const auto& o : out) {
    expect_matches_record(o);
    from_list += o.diagnostics.from_list;
  }
  EXPECT_GT(eng->stats().lists, 0u);
  EXPECT_GT(from_list, 400u);
}

TEST_F(sim_test, ListedWaitsReportProgressFromTheirEntries) {
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  int calls = 0;
  double last_pct = -2;
  auto opts = fast_wait();
  opts.on_progress = [&](const progress& p) {
    ++calls;
    last_pct = p.percent_complete;
  };
  auto out = wait_all(c, {sim->create_job("Clone", 600ms, false)}, opts);
  expect_matches_record(out[0]);
  EXPECT_GT(calls, 0);
  EXPECT_GE(last_pct, 0) << "the simulator's running entries carry details.percentComplete";
}

TEST_F(sim_test, AProgressCallbackThatCancelsAnotherWaitOfTheSameHandleIsSafe) {
  // Two listed waits on one handle, each told its progress; the first to be
  // told cancels the other. The next call must not reach the ended wait.
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  const auto h = sim->create_job("Clone", 400ms, false);
  asio::cancellation_signal sig;
  auto opts = fast_wait();
  opts.on_progress = [&](const progress&) { sig.emit(asio::cancellation_type::terminal); };
  std::optional<outcome> cancelled_one, other;
  c.async_wait(h, opts, asio::bind_cancellation_slot(sig.slot(), [&](outcome o) { cancelled_one = std::move(o); }));
  c.async_wait(h, opts, [&](outcome o) { other = std::move(o); });
  ioc.run_for(20s);
  ioc.restart();
  ASSERT_TRUE(cancelled_one);
  ASSERT_TRUE(other);
  EXPECT_EQ(cancelled_one->kind, outcome_kind::cancelled);
  EXPECT_EQ(other->kind, outcome_kind::succeeded) << other->message();
}

TEST_F(sim_test, AListedWaitEndsAtItsDeadlineAndTheIoContextDrains) {
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  auto opts = fast_wait();
  opts.deadline = 300ms;
  std::optional<outcome> got;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    got = co_await c.wait(sim->create_job("Clone", 60s, false), opts);
  }, asio::detached);
  ioc.run_for(10s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->kind, outcome_kind::timed_out);
  EXPECT_EQ(got->diagnostics.last_status, "running");
  EXPECT_TRUE(ioc.stopped()) << "a timer (wake or list) kept the io_context running";
  ioc.restart();
}

TEST_F(sim_test, CancellingAListedWaitEndsItAtOnce) {
  using namespace asio::experimental::awaitable_operators;
  start_sim();
  client c(*eng, list_cfg(client_cfg()));
  std::optional<outcome> got;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(ioc, 150ms);
    auto r = co_await (c.wait(sim->create_job("Clone", 60s, false), fast_wait()) ||
                       t.async_wait(asio::use_awaitable));
    if (r.index() == 0) got = std::get<0>(r);
  }, asio::detached);
  ioc.run_for(10s);
  EXPECT_FALSE(got) << "the timer won: the wait was cancelled";
  EXPECT_EQ(eng->stats().cancelled, 1u);
  EXPECT_TRUE(ioc.stopped());
  ioc.restart();
}

}  // namespace
}  // namespace pollster::test
