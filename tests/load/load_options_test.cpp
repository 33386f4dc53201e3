// pollster load's decisions without sockets: --threshold parsing and
// verdicts, the aliases, flag checks and their messages, the outputs
// (parsed back in load_outputs_test.py) and the progress line's fit.
#include <gtest/gtest.h>

#include "load/options.hpp"
#include "load/outputs.hpp"
#include "load/progress.hpp"
#include "load/thresholds.hpp"

using namespace pollster::cli;
using namespace pollster::cli::load;

namespace {

threshold parsed(std::string_view expr) {
  std::string why;
  auto t = parse_threshold(expr, why);
  EXPECT_TRUE(t.has_value()) << expr << ": " << why;
  return t.value_or(threshold{});
}

std::string refused(std::string_view expr) {
  std::string why;
  auto t = parse_threshold(expr, why);
  EXPECT_FALSE(t.has_value()) << expr;
  EXPECT_NE(why.find("'" + std::string(expr) + "'"), std::string::npos) << why;
  return why;
}

// A report whose latencies are `ms` milliseconds each.
load_report report_with(std::initializer_list<double> ms, std::uint64_t requests, std::uint64_t errors) {
  load_report r;
  for (double v : ms) r.latency.record(static_cast<std::uint64_t>(v * 1e6));
  r.requests = requests;
  if (errors) r.errors["http_server_error"] = errors;
  r.duration_s = 10;
  r.completed = requests / 2;
  return r;
}

std::optional<load_settings> check(load_options o, std::string& why) { return check_options(o, why); }

// `o` is refused, and the reason (left in `why`) contains `words`.
::testing::AssertionResult refused_saying(const load_options& o, std::string_view words, std::string& why) {
  if (check(o, why)) return ::testing::AssertionFailure() << "accepted; expected a refusal saying '" << words << "'";
  if (why.find(words) == std::string::npos)
    return ::testing::AssertionFailure() << "refused with '" << why << "', which does not say '" << words << "'";
  return ::testing::AssertionSuccess();
}

}  // namespace

TEST(Threshold, ParsesMetricsOperatorsAndUnits) {
  auto t = parsed("p99<250ms");
  EXPECT_EQ(t.metric, "p99");
  EXPECT_EQ(t.cmp, threshold::op::lt);
  EXPECT_DOUBLE_EQ(t.limit, 250);  // ms
  EXPECT_DOUBLE_EQ(parsed("p50 <= 800us").limit, 0.8);
  EXPECT_EQ(parsed("p50 <= 800us").cmp, threshold::op::le);
  EXPECT_DOUBLE_EQ(parsed("max<1.5s").limit, 1500);
  EXPECT_EQ(parsed("p99.9<2s").metric, "p99.9");
  EXPECT_DOUBLE_EQ(parsed("error_ratio<1%").limit, 0.01);
  EXPECT_DOUBLE_EQ(parsed("error_ratio<=0.05").limit, 0.05);
  EXPECT_EQ(parsed("rate>=950").cmp, threshold::op::ge);
  EXPECT_DOUBLE_EQ(parsed("completed_rate>100").limit, 100);
  EXPECT_EQ(parsed("completed_rate>100").cmp, threshold::op::gt);
  EXPECT_EQ(parsed("p90<1s").expr, "p90<1s");
}

TEST(Threshold, RefusesJunkQuotingTheExpression) {
  EXPECT_NE(refused("p99").find("operator"), std::string::npos);
  EXPECT_NE(refused("p98<1s").find("unknown metric 'p98'"), std::string::npos);
  EXPECT_NE(refused("p99<250").find("unit"), std::string::npos);  // a latency needs its unit
  refused("p99<");
  refused("error_ratio<lots");
  refused("error_ratio<-1%");
  refused("rate>=fast");
  refused("p99<-5ms");
  EXPECT_NE(refused("detection_delay_p99<1").find("unit"), std::string::npos);
  EXPECT_NE(refused("requests_per_op<few").find("a number"), std::string::npos);
}

TEST(Threshold, DetectionDelayAndRequestsPerOperation) {
  load_report r = report_with({1, 2, 3}, 1000, 0);  // 500 completed
  for (double ms : {100.0, 200.0, 300.0, 4000.0}) r.detection.record(static_cast<std::uint64_t>(ms * 1e6));
  r.engine_requests = 1250;
  const std::vector<threshold> ts{parsed("detection_delay_p99<=2s"), parsed("detection_delay_p99<5s"),
                                  parsed("detection_delay_mean<2s"), parsed("requests_per_op<=2.5"),
                                  parsed("requests_per_op<2")};
  const auto v = judge(ts, r);
  ASSERT_EQ(v.size(), ts.size());
  EXPECT_FALSE(v[0].ok);  // p99 is the 4 s one
  EXPECT_NEAR(v[0].observed, 4000, 4000 * 0.01);
  EXPECT_TRUE(v[1].ok);
  EXPECT_TRUE(v[2].ok);
  EXPECT_NEAR(v[2].observed, 1150, 1);
  EXPECT_TRUE(v[3].ok);
  EXPECT_DOUBLE_EQ(v[3].observed, 2.5);
  EXPECT_FALSE(v[4].ok);
  const auto lines = failures(ts, v);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("detection_delay_p99"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("requests_per_op 2.5 is not < 2"), std::string::npos) << lines[1];
}

TEST(Threshold, VerdictsFollowTheOperator) {
  const load_report r = report_with({1, 2, 3, 4, 100}, 1000, 10);  // error ratio 1%
  const std::vector<threshold> ts{parsed("max<50ms"),        parsed("max<1s"),
                                  parsed("error_ratio<1%"),  parsed("error_ratio<=1%"),
                                  parsed("rate>=100"),       parsed("rate>100"),
                                  parsed("completed_rate>10")};
  const auto v = judge(ts, r);
  ASSERT_EQ(v.size(), ts.size());
  EXPECT_FALSE(v[0].ok);
  EXPECT_TRUE(v[1].ok);
  EXPECT_FALSE(v[2].ok);  // 0.01 < 0.01 is false
  EXPECT_TRUE(v[3].ok);
  EXPECT_TRUE(v[4].ok);   // 1000 requests / 10 s = 100/s
  EXPECT_FALSE(v[5].ok);
  EXPECT_TRUE(v[6].ok);   // 500 / 10 s
  EXPECT_NEAR(v[0].observed, 100, 2);  // ms, within a histogram bucket
  EXPECT_DOUBLE_EQ(v[2].observed, 0.01);
  EXPECT_EQ(v[0].expr, "max<50ms");
  EXPECT_EQ(v[0].metric, "max");
  const auto lines = failures(ts, v);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("--threshold max<50ms"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("error ratio"), std::string::npos) << lines[1];
}

TEST(Threshold, OldFlagsAreAliases) {
  load_options o;
  o.max_p99 = "250";
  o.max_error_ratio = "0.05";
  std::string why;
  auto s = check(o, why);
  ASSERT_TRUE(s) << why;
  ASSERT_EQ(s->thresholds.size(), 3u);
  EXPECT_EQ(s->thresholds[0].expr, "p99<=250ms");
  EXPECT_DOUBLE_EQ(s->thresholds[0].limit, 250);
  EXPECT_EQ(s->thresholds[0].flag, "--max-p99 250");
  EXPECT_EQ(s->thresholds[1].metric, "error_ratio");
  EXPECT_EQ(s->thresholds[2].metric, "operation_error_ratio");
  EXPECT_EQ(s->thresholds[1].flag, "--max-error-ratio 0.05");
  o.max_p99 = "abc";
  EXPECT_TRUE(refused_saying(o, "--max-p99", why));
  EXPECT_NE(why.find("'abc'"), std::string::npos);
}

TEST(Options, MessagesNameTheFlagAsTypedAndQuoteTheValue) {
  load_options o;
  std::string why;
  o.connections = "abc";
  o.typed["--connections"] = "-c";
  EXPECT_TRUE(refused_saying(o, "-c wants a whole number", why));
  EXPECT_NE(why.find("'abc'"), std::string::npos) << why;
  o = load_options{};
  o.rate = "0.5k";
  o.typed["--rate"] = "-R";
  EXPECT_TRUE(refused_saying(o, "-R", why));
  EXPECT_NE(why.find("'0.5k'"), std::string::npos) << why;
  EXPECT_EQ(why.find("000000000000"), std::string::npos) << why;  // no 309-digit bound
  o = load_options{};
  o.duration = "1e400s";
  EXPECT_TRUE(refused_saying(o, "'1e400s'", why));
  o = load_options{};
  o.duration = "1m30s";
  o.warmup = "2s";
  o.request_timeout = "1500ms";
  auto s = check(o, why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->run_for, std::chrono::seconds(90));
  EXPECT_EQ(s->warmup, std::chrono::seconds(2));
  EXPECT_EQ(s->request_timeout, std::chrono::milliseconds(1500));
}

TEST(Options, FanInClustersJobs) {
  std::string why;
  load_options o;
  auto s = check(o, why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->fan_in, pollster::fan_in_mode::automatic);
  EXPECT_EQ(s->clusters, 1u);
  for (auto [text, mode] : {std::pair{"list", pollster::fan_in_mode::list},
                            std::pair{"per-handle", pollster::fan_in_mode::per_handle}}) {
    o.fan_in = text;
    s = check(o, why);
    ASSERT_TRUE(s) << why;
    EXPECT_EQ(s->fan_in, mode);
  }
  o.fan_in = "per_handle";
  EXPECT_FALSE(check(o, why));
  EXPECT_EQ(why, "--fan-in wants auto, list or per-handle, not 'per_handle'");

  o = load_options{};
  o.clusters = "0";
  EXPECT_TRUE(refused_saying(o, "--clusters wants a whole number from 1", why));
  o.clusters = "3";
  s = check(o, why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->clusters, 3u);
  o.url = "https://127.0.0.1:1/json-rpc/12.5";  // one target, three clusters
  o.urls = {o.url};
  EXPECT_TRUE(refused_saying(o, "give one --endpoint per cluster", why));
  o.clusters.clear();
  o.urls = {o.url, "https://127.0.0.1:2/json-rpc/12.5"};
  s = check(o, why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->clusters, 2u);
  EXPECT_EQ(s->targets, o.urls);
  o.thresholds = {"detection_delay_p99<2s"};
  EXPECT_TRUE(refused_saying(o, "only against the embedded simulator", why));
  o.thresholds.clear();
  o.other_results = "10";
  EXPECT_TRUE(refused_saying(o, "--other-results is for the embedded simulator", why));

  o = load_options{};
  o.jobs = "200";
  s = check(o, why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->jobs, 200u);
  EXPECT_EQ(s->handles, 200u);  // every job outstanding from the start
  o.typed["--handles"] = "--handles";
  EXPECT_TRUE(refused_saying(o, "leave out --handles", why));
  o.typed.clear();
  o.rate = "100";
  EXPECT_TRUE(refused_saying(o, "leave out --rate", why));
  o = load_options{};
  o.jobs = "2";
  o.clusters = "3";
  EXPECT_TRUE(refused_saying(o, "at least one per thread and cluster", why));
}

TEST(Options, UnknownFlagGetsTheNearestSuggested) {
  const std::vector<std::string> known{"--duration", "--connections", "--threshold", "--threads", "-c"};
  EXPECT_EQ(nearest_flag("--duraton", known), "--duration");
  EXPECT_EQ(nearest_flag("--conections=4", known), "--connections");
  EXPECT_EQ(nearest_flag("--thresold", known), "--threshold");
  EXPECT_EQ(nearest_flag("--frobnicate", known), "");
  load_options o;
  o.flag_names = known;
  o.extras = {"--duraton", "5s"};
  std::string why;
  EXPECT_TRUE(refused_saying(o, "unknown flag '--duraton'; did you mean --duration?", why));
}

TEST(Options, OnlyOneOutputOnStandardOutput) {
  load_options o;
  o.json_file = "-";
  o.csv_file = "-";
  std::string why;
  EXPECT_TRUE(refused_saying(o, "only one", why));
  o.csv_file = "x.csv";
  EXPECT_TRUE(check(o, why)) << why;
}

TEST(Outputs, CsvHasAHeaderAndOneRowPerSecond) {
  load_report r;
  r.warmup_s = 1;
  for (int i = 1; i <= 3; ++i) {
    interval iv;
    iv.t = i;
    iv.dt = 1;
    iv.requests = 100u * static_cast<unsigned>(i);
    r.series.push_back(iv);
  }
  const std::string csv = to_csv(r);
  EXPECT_EQ(csv.rfind("t_s,dt_s,warmup,requests,", 0), 0u);
  EXPECT_NE(csv.find("\r\n1,1,1,100,"), std::string::npos) << csv;  // warm-up second marked
  EXPECT_NE(csv.find("\r\n2,1,0,200,"), std::string::npos) << csv;
}

TEST(Outputs, JunitHasOneCasePerThresholdAndEscapes) {
  load_report r;
  r.thresholds = {{"p99<250ms", "p99", 12.5, true}, {"error_ratio<1% & \"x\"", "error_ratio", 0.5, false}};
  const std::string x = to_junit(r);
  EXPECT_NE(x.find("tests=\"2\" failures=\"1\""), std::string::npos) << x;
  EXPECT_NE(x.find("name=\"p99&lt;250ms\""), std::string::npos) << x;
  EXPECT_NE(x.find("&amp; &quot;x&quot;"), std::string::npos) << x;
  EXPECT_EQ(x.find("<failure"), x.rfind("<failure"));  // exactly one failure
}

TEST(Outputs, OpenMetricsEndsInEof) {
  load_report r = report_with({1, 2}, 10, 1);
  const std::string m = to_openmetrics(r);
  EXPECT_NE(m.find("pollster_load_requests_total 10\n"), std::string::npos) << m;
  EXPECT_NE(m.find("pollster_load_errors_total{kind=\"http_server_error\"} 1\n"), std::string::npos) << m;
  EXPECT_EQ(m.substr(m.size() - 6), "# EOF\n");
}

TEST(Progress, FieldsAreDroppedToFitTheWidth) {
  const std::vector<std::string> f{"12s/30s", "1000 req/s", "p99 1.2 ms", "errors 0"};
  EXPECT_EQ(fit_fields(f, 200), "12s/30s  1000 req/s  p99 1.2 ms  errors 0");
  const std::string narrow = fit_fields(f, 30);
  EXPECT_LE(narrow.size(), 30u);
  EXPECT_EQ(narrow.rfind("12s/30s  1000 req/s", 0), 0u);
  EXPECT_EQ(fit_fields(f, 3), "12s/30s");  // the first field always
}
