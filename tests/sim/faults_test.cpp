// Every fault mode, observed from a client (ratio 1.0 for the fault under test).
#include "sim_fixture.hpp"

#include <set>

namespace simtest {
namespace {

class Faults : public sim_test {
 protected:
  std::uint64_t fault(const std::string& name) { return srv().snapshot().faults_injected[name]; }
};

TEST_F(Faults, LatencyDelaysAnswers) {
  auto cfg = base_config();
  cfg.fault.latency = fixed(250ms);
  cfg.fault.latency_ratio = 1.0;
  start(cfg);
  conn().connect();
  for (int i = 0; i < 2; ++i) {
    reply r = conn().post(R"({"method":"GetAPI","id":1})");
    ASSERT_EQ(r.status, 200);
    EXPECT_GE(r.elapsed, 240ms);
  }
  EXPECT_EQ(fault("latency"), 2u);
}

TEST_F(Faults, LatencyRatioPartial) {
  auto cfg = base_config();
  cfg.fault.latency = fixed(300ms);
  cfg.fault.latency_ratio = 0.5;
  start(cfg);
  int slow = 0;
  for (int i = 0; i < 16; ++i) {
    reply r = conn().post(R"({"method":"GetAPI","id":1})");
    ASSERT_EQ(r.status, 200);
    if (r.elapsed >= 290ms) ++slow;
  }
  const auto delayed = fault("latency");
  EXPECT_GT(delayed, 1u);
  EXPECT_LT(delayed, 15u);
  EXPECT_GE(static_cast<std::uint64_t>(slow), delayed) << "every delayed answer was slow";
}

TEST_F(Faults, RetryableErrorsReplaceAnswersAndStartNothing) {
  auto cfg = base_config();
  cfg.fault.retryable_error_ratio = 1.0;
  start(cfg);
  std::set<std::string> names;
  for (int i = 0; i < 30; ++i) {
    std::string a = call(R"({"method":"CloneVolume","params":{"volumeID":5,"name":"a"},"id":11})");
    EXPECT_EQ(at(a, "/error/code"), "500") << a;
    EXPECT_EQ(at(a, "/id"), "11");
    names.insert(at(a, "/error/name"));
  }
  EXPECT_EQ(names, (std::set<std::string>{"\"xDBVersionMismatch\"", "\"xNotPrimary\""}));
  EXPECT_EQ(srv().snapshot().live_jobs, 0u);
  EXPECT_EQ(fault("xDBVersionMismatch") + fault("xNotPrimary"), 30u);
  EXPECT_FALSE(srv().record(1));
}

TEST_F(Faults, TransientNoSuchPathForALiveHandleDoesNotPurge) {
  auto cfg = base_config();
  cfg.fault.transient_gone_ratio = 0.5;
  cfg.seed = 3;
  start(cfg);
  const auto h = srv().create_job("Clone", 0ms, false);
  int gone = 0;
  std::string answer;
  for (int i = 0; i < 64; ++i) {
    answer = call(get_async_body(h, false));
    if (at(answer, "/error/name") != "\"xDBNoSuchPath\"") break;
    EXPECT_EQ(answer, no_such_path(h));  // indistinguishable from the real thing
    EXPECT_FALSE(srv().record(h)->purged);
    ++gone;
  }
  EXPECT_EQ(at(answer, "/result/status"), "\"complete\"") << answer;
  EXPECT_EQ(srv().record(h)->complete_answers, 1u);
  EXPECT_TRUE(srv().record(h)->purged);
  EXPECT_EQ(fault("transient_xDBNoSuchPath"), static_cast<std::uint64_t>(gone));
  // With ratio 1 every query of a live handle is "gone", and nothing is purged.
  auto cfg1 = base_config();
  cfg1.fault.transient_gone_ratio = 1.0;
  client_.reset();
  start(cfg1);
  const auto h1 = srv().create_job("Clone", 0ms, false);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(get_async_body(h1, false)), no_such_path(h1));
  EXPECT_FALSE(srv().record(h1)->purged);
  EXPECT_EQ(srv().record(h1)->complete_answers, 0u);
}

TEST_F(Faults, Http503WithHtmlBodyAndRetryAfter) {
  auto cfg = base_config();
  cfg.fault.http_503_ratio = 1.0;
  start(cfg);
  const auto h = srv().create_job("Clone", 0ms, false);
  for (int i = 0; i < 3; ++i) {
    reply r = conn().post(get_async_body(h, false));
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.header("content-type"), "text/html");
    EXPECT_EQ(r.header("retry-after"), "1");
    EXPECT_NE(r.body.find("<html>"), std::string::npos);
  }
  EXPECT_FALSE(srv().record(h)->purged) << "a 503 processes nothing";
  EXPECT_EQ(fault("http_503"), 3u);
  EXPECT_EQ(srv().snapshot().connections_accepted, 1u) << "503 keeps the connection";
}

TEST_F(Faults, ConnectionCloseHeaderThenClose) {
  auto cfg = base_config();
  cfg.fault.connection_close_ratio = 1.0;
  start(cfg);
  for (int i = 0; i < 3; ++i) {
    reply r = conn().post(R"({"method":"GetAPI","id":1})");
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_FALSE(r.keep_alive);
    conn().close();  // the client honours it; the next post reconnects
  }
  EXPECT_TRUE(eventually([&] { return srv().snapshot().connections_open == 0; }));
  EXPECT_EQ(srv().snapshot().connections_accepted, 3u);
  EXPECT_EQ(fault("connection_close"), 3u);
  // A client that ignores the header finds the connection closed.
  client c(opts());
  ASSERT_EQ(c.post(R"({"method":"GetAPI","id":1})").status, 200);
  EXPECT_FALSE(c.post(R"({"method":"GetAPI","id":1})").ok());
}

TEST_F(Faults, CloseAfterNRequestsWithoutWarning) {
  auto cfg = base_config();
  cfg.fault.close_after_requests = 3;
  start(cfg);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3; ++i) {
      reply r = conn().post(R"({"method":"GetAPI","id":1})");
      ASSERT_TRUE(r.ok()) << r.ec.message();
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.header("connection"), "") << "unannounced";
    }
    std::this_thread::sleep_for(50ms);
    reply r = conn().post(R"({"method":"GetAPI","id":1})");
    EXPECT_FALSE(r.ok()) << "the 4th request finds the connection closed";
  }
  EXPECT_EQ(fault("close_after_requests"), 2u);
}

TEST_F(Faults, ResetMidResponse) {
  auto cfg = base_config();
  cfg.fault.reset_mid_response_ratio = 1.0;
  start(cfg);
  const auto h = srv().create_job("Clone", 0ms, false);
  reply r = conn().post(get_async_body(h, true));
  EXPECT_FALSE(r.ok()) << "got a whole answer: " << r.body;
  reply r2 = conn().post(R"({"method":"GetAPI","id":1})");
  EXPECT_FALSE(r2.ok());
  EXPECT_EQ(fault("reset_mid_response"), 2u);
  auto rec = srv().record(h);
  EXPECT_EQ(rec->complete_answers, 0u);
  EXPECT_TRUE(rec->answer_lost);
  EXPECT_FALSE(rec->purged) << "keepResult true";
}

TEST_F(Faults, ResetMidResponseOnAPurgeLosesTheResult) {
  auto cfg = base_config();
  cfg.fault.reset_mid_response_ratio = 1.0;
  start(cfg);
  const auto h = srv().create_job("Clone", 0ms, false);
  EXPECT_FALSE(conn().post(get_async_body(h, false)).ok());
  auto rec = srv().record(h);
  EXPECT_TRUE(rec->purged);
  EXPECT_TRUE(rec->answer_lost);
  EXPECT_EQ(rec->complete_answers, 0u);
}

TEST_F(Faults, DropAfterPurgeLosesTheOnlyCompleteAnswer) {
  auto cfg = base_config();
  cfg.fault.drop_after_purge_ratio = 1.0;
  start(cfg);
  const auto running = srv().create_job("Clone", 60s, false);
  const auto h = srv().create_job("Clone", 0ms, false);
  const auto kept = srv().create_job("Clone", 0ms, false);
  // Answers that purge nothing are delivered.
  EXPECT_EQ(at(call(get_async_body(running, false)), "/result/status"), "\"running\"");
  EXPECT_EQ(at(call(get_async_body(kept, true)), "/result/status"), "\"complete\"");
  // The purging answer is never sent: the connection is reset.
  reply r = conn().post(get_async_body(h, false));
  EXPECT_FALSE(r.ok()) << r.body;
  auto rec = srv().record(h);
  EXPECT_TRUE(rec->purged);
  EXPECT_TRUE(rec->answer_lost);
  EXPECT_EQ(rec->complete_answers, 0u);
  // The result is gone for good: the lost-response case.
  EXPECT_EQ(call(get_async_body(h, false)), no_such_path(h));
  EXPECT_EQ(fault("drop_after_purge"), 1u);
}

TEST_F(Faults, FailoverDropsEveryConnection) {
  auto cfg = base_config();
  cfg.fault.failover_period = 1500ms;
  start(cfg);
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(make_client());
    ASSERT_EQ(clients.back()->post(R"({"method":"GetAPI","id":1})").status, 200);
  }
  ASSERT_EQ(fault("failover"), 0u) << "the machine is too slow for this test's timing";
  ASSERT_TRUE(eventually([&] { return fault("failover") >= 1; }, 5000ms));
  for (auto& c : clients) EXPECT_FALSE(c->post(R"({"method":"GetAPI","id":1})").ok());
  for (auto& c : clients) EXPECT_EQ(c->post(R"({"method":"GetAPI","id":1})").status, 200) << "reconnects";
  EXPECT_TRUE(eventually([&] { return srv().snapshot().connections_open == 0; }, 4000ms));
}

TEST_F(Faults, SlowHandshake) {
  auto cfg = base_config();
  cfg.fault.slow_handshake = 300ms;
  start(cfg);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_FALSE(conn().connect());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 290ms);
  EXPECT_EQ(conn().post(R"({"method":"GetAPI","id":1})").status, 200);
  EXPECT_EQ(fault("slow_handshake"), 1u);
}

TEST_F(Faults, SameSeedSameDecisions) {
  auto run = [&](std::uint64_t seed) {
    auto cfg = base_config();
    cfg.seed = seed;
    cfg.fault.retryable_error_ratio = 0.3;
    cfg.fault.http_503_ratio = 0.2;
    client_.reset();
    start(cfg);
    std::string trace;
    for (int i = 0; i < 40; ++i) {
      reply r = conn().post(R"({"method":"GetAPI","id":1})");
      trace += r.status == 503 ? "5" : at(r.body, "/error/name") == "<absent>" ? "." : "e";
    }
    return trace;
  };
  const std::string a = run(11), b = run(11), c = run(12);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a.find('5'), std::string::npos);
  EXPECT_NE(a.find('e'), std::string::npos);
  EXPECT_NE(a.find('.'), std::string::npos);
}

TEST_F(Faults, CombinedFaultsStillConvergeToTheRecord) {
  auto cfg = base_config();
  cfg.seed = 5;
  cfg.job_duration = fixed(30ms);
  cfg.fail_ratio = 0.3;
  cfg.fault.latency = fixed(5ms);
  cfg.fault.latency_ratio = 0.2;
  cfg.fault.retryable_error_ratio = 0.1;
  cfg.fault.transient_gone_ratio = 0.1;
  cfg.fault.http_503_ratio = 0.1;
  cfg.fault.connection_close_ratio = 0.1;
  cfg.fault.close_after_requests = 7;
  cfg.fault.reset_mid_response_ratio = 0.05;
  start(cfg);
  // A careful poller: keepResult true until complete, so no fault can lose a result.
  for (int j = 0; j < 10; ++j) {
    const auto h = srv().create_job(j % 2 ? "Clone" : "BulkVolume", 30ms, j % 3 == 0);
    std::string done;
    for (int tries = 0; tries < 500 && done.empty(); ++tries) {
      reply r = conn().post(get_async_body(h, true));
      if (!r.ok()) continue;
      if (r.status == 200 && at(r.body, "/result/status") == "\"complete\"") done = r.body;
    }
    ASSERT_FALSE(done.empty());
    auto rec = srv().record(h);
    ASSERT_TRUE(rec);
    EXPECT_EQ(at(done, rec->failed ? "/result/error" : "/result/result"), rec->result_json);
    EXPECT_GE(rec->complete_answers, 1u);
  }
  auto st = srv().snapshot();
  for (auto name : {"latency", "http_503", "reset_mid_response", "connection_close"})
    EXPECT_GT(st.faults_injected[name], 0u) << name;
}

}  // namespace
}  // namespace simtest
