// The job model: auto jobs, the retention bound, durations, determinism; the
// model without I/O; the sim command's flag checks.
#include "sim_fixture.hpp"

#include "model.hpp"
#include "pollster/command.hpp"

#include <cmath>

namespace simtest {
namespace {

class Jobs : public sim_test {};

TEST_F(Jobs, AutoJobsStartAtTheirFirstQuery) {
  auto cfg = base_config();
  cfg.auto_jobs = true;
  cfg.job_duration = fixed(300ms);
  start(cfg);
  EXPECT_FALSE(srv().record(424242));
  std::string first = call(get_async_body(424242, false));
  EXPECT_EQ(at(first, "/result/status"), "\"running\"") << first;
  EXPECT_EQ(at(first, "/result/resultType"), "\"Clone\"");
  auto rec = srv().record(424242);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->automatic);
  std::string done;
  ASSERT_TRUE(eventually([&] {
    done = call(get_async_body(424242, false));
    return at(done, "/result/status") == "\"complete\"";
  }));
  EXPECT_EQ(at(done, "/result/result"), srv().record(424242)->result_json);
  // Purged: it does not come back as a new auto job.
  EXPECT_EQ(call(get_async_body(424242, false)), no_such_path(424242));
  // Zero and negative handles are never jobs.
  EXPECT_EQ(call(get_async_body(0)), does_not_exist(0));
  EXPECT_EQ(srv().snapshot().live_jobs, 0u);
}

TEST_F(Jobs, WithoutAutoJobsUnknownHandlesAreGone) {
  start();
  EXPECT_EQ(call(get_async_body(5)), does_not_exist(5));
  EXPECT_FALSE(srv().record(5));
}

TEST_F(Jobs, AutoJobTypeIsConfigurable) {
  auto cfg = base_config();
  cfg.auto_jobs = true;
  cfg.auto_job_result_type = "BulkVolume";
  cfg.job_duration = fixed(0ms);
  start(cfg);
  std::string a = call(get_async_body(77, true));
  EXPECT_EQ(at(a, "/result/resultType"), "\"BulkVolume\"");
  EXPECT_EQ(at(a, "/result/result/message"), "\"Bulk volume job succeeded\"");
}

TEST_F(Jobs, RetentionBoundEvictsTheOldestCompletedResults) {
  auto cfg = base_config();
  cfg.retention = 2;
  start(cfg);
  std::vector<std::uint64_t> h;
  for (int i = 0; i < 5; ++i) {
    h.push_back(srv().create_job("Clone", 0ms, false));
    std::this_thread::sleep_for(3ms);  // distinct completion times: a clear "oldest"
  }
  const auto running = srv().create_job("Clone", 60s, false);
  auto st = srv().snapshot();
  EXPECT_EQ(st.results_evicted, 3u);
  EXPECT_EQ(st.live_jobs, 3u) << "2 kept results + 1 running";
  EXPECT_EQ(st.running_jobs, 1u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call(get_async_body(h[i], true)), no_such_path(h[i]));
    EXPECT_TRUE(srv().record(h[i])->evicted);
    EXPECT_TRUE(srv().record(h[i])->purged);
  }
  for (int i = 3; i < 5; ++i) EXPECT_EQ(at(call(get_async_body(h[i], true)), "/result/status"), "\"complete\"");
  EXPECT_EQ(at(call(get_async_body(running, true)), "/result/status"), "\"running\"");
  EXPECT_EQ(json_array_size(call(R"({"method":"ListAsyncResults","id":1})"), "/result/asyncHandles"), 3);
}

// With a hand-moved clock (the model alone): durations spread over the
// distribution, and a job's duration depends on its handle and the seed, not
// on the order in which handles are first queried.
TEST(Model, UniformDurationsAreDeterministicPerHandle) {
  sim::config cfg;
  cfg.auto_jobs = true;
  std::string why;
  cfg.job_duration = *sim::duration_dist::parse("uniform:100ms:200ms", why);
  auto statuses = [&](bool reverse, std::uint32_t at_ms) {
    sim::detail::cluster m(cfg, 0);
    sim::detail::request_parser p;
    std::string out, result;
    for (std::uint64_t i = 1; i <= 30; ++i) {
      std::string body = get_async_body(reverse ? 31 - i : i, true);
      const std::size_t len = body.size();
      body.append(sim::detail::json_padding, ' ');
      out.clear();
      m.answer(p.parse(body.data(), len), {}, 0, out);
    }
    for (std::uint64_t h = 1; h <= 30; ++h) result += m.record(h, at_ms)->complete ? 'C' : 'r';
    return result;
  };
  EXPECT_EQ(statuses(false, 99), std::string(30, 'r'));
  EXPECT_EQ(statuses(false, 200), std::string(30, 'C'));
  const std::string mid = statuses(false, 150);
  EXPECT_NE(mid.find('C'), std::string::npos) << mid;
  EXPECT_NE(mid.find('r'), std::string::npos) << mid;
  EXPECT_EQ(statuses(true, 150), mid);
}

TEST(DurationDist, Parses) {
  std::string why;
  auto d = sim::duration_dist::parse("150ms", why);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->shape, sim::duration_dist::kind::fixed);
  EXPECT_EQ(d->a, std::chrono::milliseconds(150));
  EXPECT_EQ(sim::duration_dist::parse("2s", why)->a, std::chrono::seconds(2));
  EXPECT_EQ(sim::duration_dist::parse("1.5m", why)->a, std::chrono::seconds(90));
  EXPECT_EQ(sim::duration_dist::parse("0", why)->a, sim::duration(0));
  auto u = sim::duration_dist::parse("uniform:1s:5s", why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->shape, sim::duration_dist::kind::uniform);
  EXPECT_EQ(u->b, std::chrono::seconds(5));
  auto l = sim::duration_dist::parse("lognormal:2s:0.5", why);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->shape, sim::duration_dist::kind::lognormal);
  EXPECT_DOUBLE_EQ(l->sigma, 0.5);
  for (std::string bad : {"", "2", "s", "-1s", "2 s", "uniform:5s:1s", "uniform:1s", "lognormal:2s:-1",
                          "lognormal:2s:x", "gamma:1s:2s", "2parsecs"}) {
    why.clear();
    EXPECT_FALSE(sim::duration_dist::parse(bad, why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(DurationDist, LognormalMedian) {
  std::string why;
  auto d = *sim::duration_dist::parse("lognormal:1s:0.5", why);
  std::vector<double> v;
  for (int i = 0; i < 2001; ++i)
    v.push_back(std::chrono::duration<double>(
                    sim::detail::sample(d, (i + 0.5) / 2001.0, std::fmod(i * 0.618033988749, 1.0)))
                    .count());
  std::nth_element(v.begin(), v.begin() + 1000, v.end());
  EXPECT_NEAR(v[1000], 1.0, 0.1);
}

// The cluster model with a hand-moved clock: no sockets, no sleeping.
TEST(Model, RunningCompletePurgeWithAFakeClock) {
  sim::config cfg;
  cfg.job_duration = fixed(1000ms);
  sim::detail::cluster m(cfg, 1451606400000);  // 2016-01-01T00:00:00Z
  sim::detail::request_parser p;
  auto ask = [&](const std::string& body, std::uint32_t now) {
    std::string padded = body + std::string(sim::detail::json_padding, ' ');
    const auto& call = p.parse(padded.data(), body.size());
    std::string out;
    auto info = m.answer(call, {}, now, out);
    if (info.complete_handle) m.answer_delivered(info.complete_handle);
    return out;
  };
  std::string started = ask(R"({"method":"CloneVolume","params":{"volumeID":1,"name":"x"},"id":1})", 0);
  EXPECT_TRUE(started.starts_with(R"({"id":1,"result":{"asyncHandle":1,"cloneID":101,"curve":{)")) << started;
  EXPECT_TRUE(started.ends_with(R"(,"volumeID":1001}})")) << started;
  EXPECT_EQ(ask(get_async_body(1, false), 500),
            R"({"id":1,"result":{"createTime":"2016-01-01T00:00:00Z","details":{"bytesPerSecond":1001390080.0,"currentBytes":500695040,"percentComplete":50.00,"stage":"whole","totalBytes":1001390080},"lastUpdateTime":"2016-01-01T00:00:00Z","resultType":"Clone","status":"running"}})");
  EXPECT_EQ(ask(get_async_body(1, true), 1000),
            R"({"id":1,"result":{"createTime":"2016-01-01T00:00:00Z","lastUpdateTime":"2016-01-01T00:00:01Z","result":{"cloneID":101,"message":"Clone complete.","volumeID":1001},"resultType":"Clone","status":"complete"}})");
  EXPECT_EQ(ask(get_async_body(1), 90061000).substr(0, 60),
            R"({"id":1,"result":{"createTime":"2016-01-01T00:00:00Z","lastU)");
  EXPECT_EQ(ask(get_async_body(1), 90062000), no_such_path(1));
  auto rec = m.record(1, 90062000);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->complete_answers, 2u);
  EXPECT_TRUE(rec->purged);
}

TEST(Model, RunningDetailsCanBeEmpty) {
  sim::config cfg;
  cfg.job_duration = fixed(1000ms);
  cfg.progress_details = false;  // --running-details empty
  sim::detail::cluster m(cfg, 1451606400000);
  sim::detail::request_parser p;
  auto ask = [&](const std::string& body, std::uint32_t now) {
    std::string padded = body + std::string(sim::detail::json_padding, ' ');
    const auto& call = p.parse(padded.data(), body.size());
    std::string out;
    m.answer(call, {}, now, out);
    return out;
  };
  ask(R"({"method":"CloneVolume","params":{"volumeID":1,"name":"x"},"id":1})", 0);
  EXPECT_EQ(ask(get_async_body(1, true), 500),
            R"({"id":1,"result":{"createTime":"2016-01-01T00:00:00Z","details":{},"lastUpdateTime":"2016-01-01T00:00:00Z","resultType":"Clone","status":"running"}})");
  const std::string listed = ask(R"({"method":"ListAsyncResults","params":{},"id":2})", 500);
  EXPECT_NE(listed.find(R"("data":{},"details":{},)"), std::string::npos) << listed;
  EXPECT_EQ(listed.find("percentComplete"), std::string::npos) << listed;
}

TEST(Model, Iso8601) {
  std::string s;
  sim::detail::append_iso8601(s, 0);
  EXPECT_EQ(s, "1970-01-01T00:00:00Z");
  s.clear();
  sim::detail::append_iso8601(s, 1451613953000);  // the vendor vector's createTime
  EXPECT_EQ(s, "2016-01-01T02:05:53Z");
  s.clear();
  sim::detail::append_iso8601(s, 951782400000);  // leap day
  EXPECT_EQ(s, "2000-02-29T00:00:00Z");
}

TEST(Model, JobIsSixteenBytes) { EXPECT_EQ(sizeof(sim::detail::job), 16u); }

TEST(Model, TwoHundredThousandAutoJobsStayLive) {
  sim::config cfg;
  cfg.auto_jobs = true;
  cfg.job_duration = fixed(std::chrono::hours(1));
  sim::detail::cluster m(cfg, 0);
  sim::detail::request_parser p;
  std::string body, out;
  for (std::uint64_t h = 1; h <= 200000; ++h) {
    body = get_async_body(h, true);
    body.append(sim::detail::json_padding, ' ');
    out.clear();
    m.answer(p.parse(body.data(), body.size() - sim::detail::json_padding), {}, 1, out);
  }
  sim::stats st;
  m.fill(st, 2);
  EXPECT_EQ(st.live_jobs, 200000u);
  EXPECT_EQ(st.running_jobs, 200000u);
  EXPECT_EQ(m.job_count(), 200000u);
}

// `pollster sim` refuses bad flag values with exit code 2 (checked before binding).
int run_sim_command(std::vector<std::string> args) {
  CLI::App app{"test"};
  auto cmd = pollster::cli::add_sim_command(app);
  args.insert(args.begin(), "sim");
  args.insert(args.begin(), "pollster");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return cmd.run();
}

TEST(SimCommand, BadFlagValuesExitWithUsage) {
  const std::vector<std::string> ok{"--listen", "127.0.0.1:0", "--user", "u", "--password", "p"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = ok;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  EXPECT_EQ(run_sim_command({"--user", "u", "--password", "p"}), pollster::cli::exit_usage);
  EXPECT_EQ(run_sim_command({"--listen", "127.0.0.1:0", "--password", "p"}), pollster::cli::exit_usage);
  EXPECT_EQ(run_sim_command({"--listen", "nope", "--user", "u", "--password", "p"}), pollster::cli::exit_usage);
  EXPECT_EQ(run_sim_command({"--listen", "127.0.0.1:99999", "--user", "u", "--password", "p"}),
            pollster::cli::exit_usage);
  // Each flag with a value it refuses, beside the required ones.
  const std::vector<std::vector<std::string>> refused{
      {"--job-duration", "soon"},
      {"--fail-ratio", "1.5"},
      {"--http-503-ratio", "x"},
      {"--retention", "-1"},
      {"--body-limit", "0"},
      {"--failover-period", "uniform:1s:2s"},
      {"--cert", "/nonexistent.pem"},
      {"--auto-job-type", "Nope"},
      {"--seed", "abc"},
      {"--other-results", "many"},
      {"--service-time", "soon"},
      {"--service-time-per-kib", "uniform:1ms:2ms"}};
  for (const auto& extra : refused)
    EXPECT_EQ(run_sim_command(with(extra)), pollster::cli::exit_usage) << extra[0] << " " << extra[1];
}

}  // namespace
}  // namespace simtest
