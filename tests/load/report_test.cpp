// The load tool's histogram and report format, without sockets: bucket
// layout, percentiles, merging, the JSON round trip and the JSON reader.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <functional>
#include <random>

#include "report/histogram.hpp"
#include "report/html.hpp"
#include "report/json.hpp"
#include "report/merge.hpp"
#include "report/table.hpp"

namespace pollster::cli {
namespace {

TEST(Histogram, BucketsCoverEveryValueOnceWithBoundedWidth) {
  // Consecutive buckets tile the value range with no gap and no overlap.
  for (std::size_t i = 0; i + 1 < histogram::bucket_count; ++i) {
    ASSERT_EQ(histogram::highest(i) + 1, histogram::lowest(i + 1)) << i;
    ASSERT_EQ(histogram::index_of(histogram::lowest(i)), i);
    ASSERT_EQ(histogram::index_of(histogram::highest(i)), i);
  }
  // Values below 256 ns are exact; above, a bucket is at most 1/128 of its values wide.
  for (std::size_t i = 0; i < 256; ++i) EXPECT_EQ(histogram::lowest(i), histogram::highest(i));
  for (std::size_t i = 256; i < histogram::bucket_count; ++i) {
    const double width = static_cast<double>(histogram::highest(i) - histogram::lowest(i) + 1);
    ASSERT_LE(width / static_cast<double>(histogram::lowest(i)), 1.0 / 128 + 1e-12) << i;
  }
  // Beyond the range: the last bucket.
  EXPECT_EQ(histogram::index_of(UINT64_MAX), histogram::bucket_count - 1);
}

TEST(Histogram, PercentilesOfAKnownDistribution) {
  histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms, uniform
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100'000'000u);
  for (double q : {50.0, 90.0, 99.0, 99.9}) {
    const double exact = q / 100 * 100'000'000;
    const double got = static_cast<double>(h.percentile(q));
    EXPECT_GE(got, exact) << q;                 // the bucket's highest value: never below
    EXPECT_LE(got, exact * (1 + 1.0 / 128)) << q;  // and within one bucket's width
  }
  EXPECT_EQ(h.percentile(100), h.max());
  EXPECT_EQ(h.percentile(0), h.percentile(0.0001));
  EXPECT_NEAR(h.mean(), 50'000'500.0, 1);
}

TEST(Histogram, PercentilesAreMonotonicAndNeverAboveMax) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(std::log(200'000.0), 1.5);
  histogram h;
  for (int i = 0; i < 50000; ++i) h.record(static_cast<std::uint64_t>(d(rng)));
  std::uint64_t last = 0;
  for (double q = 0; q <= 100; q += 0.5) {
    const std::uint64_t p = h.percentile(q);
    EXPECT_GE(p, last) << q;
    EXPECT_LE(p, h.max());
    last = p;
  }
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  histogram a, b, all;
  for (std::uint64_t v = 0; v < 5000; ++v) {
    const std::uint64_t x = v * v * 37 + 11;
    ((v % 3) ? a : b).record(x);
    all.record(x);
  }
  histogram m = a;
  m.merge(b);
  EXPECT_EQ(m.sparse(), all.sparse());
  EXPECT_EQ(m.count(), all.count());
  EXPECT_EQ(m.min(), all.min());
  EXPECT_EQ(m.max(), all.max());
  EXPECT_EQ(m.sum(), all.sum());
  for (double q : {50.0, 99.0, 99.9}) EXPECT_EQ(m.percentile(q), all.percentile(q));
}

TEST(Histogram, SinceIsTheDifference) {
  histogram live;
  for (std::uint64_t v = 1; v <= 1000; ++v) live.record(v * 100);
  histogram before;
  before.load_from(live);
  for (std::uint64_t v = 1; v <= 10; ++v) live.record(v * 1'000'000);
  histogram now;
  now.load_from(live);
  const histogram d = now.since(before);
  EXPECT_EQ(d.count(), 10u);
  EXPECT_EQ(d.max(), 10'000'000u);
  EXPECT_GE(d.min(), histogram::lowest(histogram::index_of(1'000'000)));
}

load_report sample_report(double started, std::uint64_t scale) {
  load_report r;
  r.started_at_unix = started;
  r.duration_s = 3.000125;
  r.requests = 1000 * scale;
  r.completed = 200 * scale;
  r.succeeded = 190 * scale;
  r.task_failed = 10 * scale;
  r.gone = scale;
  r.outstanding = 50;
  r.errors["connection_closed"] = 3 * scale;
  r.failed_by["unauthorized"] = scale;
  r.connects = 8;
  r.parameters.kind = json_value::type::object;
  json_value s;
  s.kind = json_value::type::string;
  s.text = "embedded \"simulator\"\n";
  r.parameters.members.emplace_back("target", s);
  for (int i = 1; i <= 3; ++i) {
    interval iv;
    iv.t = i;
    iv.dt = 1;
    iv.requests = r.requests / 3 + (i == 3 ? r.requests % 3 : 0);
    histogram h;
    for (std::uint64_t k = 0; k < iv.requests; ++k) {
      h.record(100'000 + k * 997 * scale);
      r.latency.record(100'000 + k * 997 * scale);
    }
    iv.buckets = h.sparse();
    iv.max_ns = h.max();
    r.series.push_back(iv);
  }
  return r;
}

// `r` written as JSON and read back (nullopt, and a failure, when it does not read).
std::optional<load_report> round_trip(const load_report& r) {
  std::string why;
  auto back = from_json(to_json(r), why);
  EXPECT_TRUE(back) << why;
  return back;
}

// Two histograms that hold the same values.
void expect_same_histogram(const histogram& a, const histogram& b) {
  EXPECT_EQ(a.sparse(), b.sparse());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_EQ(a.sum(), b.sum());
}

TEST(Report, JsonRoundTripKeepsEverything) {
  const load_report r = sample_report(1700000000.25, 1);
  const auto back = round_trip(r);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->requests, r.requests);
  EXPECT_EQ(back->completed, r.completed);
  EXPECT_EQ(back->task_failed, r.task_failed);
  EXPECT_EQ(back->gone, r.gone);
  EXPECT_EQ(back->outstanding, r.outstanding);
  EXPECT_EQ(back->errors, r.errors);
  EXPECT_EQ(back->failed_by, r.failed_by);
  EXPECT_NEAR(back->duration_s, r.duration_s, 1e-6);
  expect_same_histogram(back->latency, r.latency);
  EXPECT_EQ(back->latency.percentile(99), r.latency.percentile(99));
  ASSERT_EQ(back->series.size(), 3u);
  EXPECT_EQ(back->series[2].buckets, r.series[2].buckets);
  EXPECT_EQ(back->series[2].latency().max(), r.series[2].max_ns);
  ASSERT_NE(back->parameters.find("target"), nullptr);
  EXPECT_EQ(back->parameters.find("target")->text, "embedded \"simulator\"\n");
}

TEST(Report, JsonRoundTripKeepsTheSchemaFields) {
  load_report r = sample_report(1700000000.25, 1);
  r.version = "9.8.7";
  r.command_line = "pollster load --threshold 'p99<5ms' \"x\"";
  r.warmup_s = 2;
  r.releases = 41;
  r.achieved_rate = 480.5;
  r.rate_shortfall = true;
  r.thresholds.push_back({"p99<5ms", "p99", 3.25, true});
  r.thresholds.push_back({"error_ratio<1%", "error_ratio", 0.03, false});
  r.shard_summaries.push_back({1, "s1.json", 500, 2, 123456});
  r.series[1].releases = 7;
  r.series[1].target_rate = 500;
  r.series[1].errors_by_kind["timeout"] = 4;
  std::string why;
  const std::string text = to_json(r);
  EXPECT_NE(text.find("\"schema_version\": 1"), std::string::npos);
  auto back = from_json(text, why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->schema_version, 1);
  EXPECT_EQ(back->version, "9.8.7");
  EXPECT_EQ(back->command_line, r.command_line);
  EXPECT_DOUBLE_EQ(back->warmup_s, 2);
  EXPECT_EQ(back->releases, 41u);
  EXPECT_DOUBLE_EQ(back->achieved_rate, 480.5);
  EXPECT_TRUE(back->rate_shortfall);
  ASSERT_EQ(back->thresholds.size(), 2u);
  EXPECT_EQ(back->thresholds[1].expr, "error_ratio<1%");
  EXPECT_EQ(back->thresholds[1].metric, "error_ratio");
  EXPECT_DOUBLE_EQ(back->thresholds[1].observed, 0.03);
  EXPECT_FALSE(back->thresholds[1].ok);
  EXPECT_TRUE(back->thresholds[0].ok);
  ASSERT_EQ(back->shard_summaries.size(), 1u);
  EXPECT_EQ(back->shard_summaries[0].index, 1u);
  EXPECT_EQ(back->shard_summaries[0].file, "s1.json");
  EXPECT_EQ(back->shard_summaries[0].requests, 500u);
  EXPECT_EQ(back->shard_summaries[0].errors, 2u);
  EXPECT_EQ(back->shard_summaries[0].p99_ns, 123456u);
  EXPECT_EQ(back->series[1].releases, 7u);
  EXPECT_DOUBLE_EQ(back->series[1].target_rate, 500);
  EXPECT_EQ(back->series[1].errors_by_kind, r.series[1].errors_by_kind);
  // A newer layout is refused by name.
  std::string newer = text;
  newer.replace(newer.find("\"schema_version\": 1"), 19, "\"schema_version\": 2");
  ASSERT_NE(newer, text);
  EXPECT_FALSE(from_json(newer, why));
  EXPECT_NE(why.find("schema_version"), std::string::npos) << why;
}

TEST(Report, MergeSumsCountsAndMergesHistograms) {
  load_report a = sample_report(1700000000.0, 1);
  const load_report b = sample_report(1700000000.3, 2);
  histogram both = a.latency;
  both.merge(b.latency);
  ASSERT_FALSE(merge_into(a, b));
  EXPECT_EQ(a.requests, 3000u);
  EXPECT_EQ(a.completed, 600u);
  EXPECT_EQ(a.errors["connection_closed"], 9u);
  EXPECT_EQ(a.failed_by["unauthorized"], 3u);
  EXPECT_EQ(a.shards, 2u);
  EXPECT_EQ(a.latency.sparse(), both.sparse());
  EXPECT_EQ(a.latency.percentile(99), both.percentile(99));
  // Seconds aligned on the wall clock: 0.3 s apart rounds onto the same seconds.
  ASSERT_EQ(a.series.size(), 3u);
  std::uint64_t sum = 0;
  for (const auto& iv : a.series) sum += iv.requests;
  EXPECT_EQ(sum, 3000u);
  EXPECT_EQ(a.series.back().latency().max(), std::max(a.latency.max(), b.latency.max()));
}

// The gentleness figures (issue 11): detection delays, the engine's request
// count, jobs, and one entry per cluster.
load_report gentle_report(std::uint64_t scale) {
  load_report r = sample_report(1700000000.0, scale);
  r.engine_requests = 1234 * scale;
  r.lists = 17 * scale;
  r.detection_measured = true;
  r.jobs = 200 * scale;
  r.duplicates = 0;
  r.detected_early = scale;
  for (std::uint64_t c = 0; c < 2; ++c) {
    cluster_summary cs;
    cs.index = c;
    cs.target = "https://127.0.0.1:" + std::to_string(4000 + c) + "/json-rpc/12.5";
    cs.requests = 600 * scale + c;
    cs.lists = 8 * scale;
    cs.completed = 100 * scale;
    for (std::uint64_t k = 0; k < 100 * scale; ++k) {
      const std::uint64_t ns = 1'000'000 + k * 37'777'777 + c * 13;
      cs.detection.record(ns);
      r.detection.record(ns);
    }
    r.clusters.push_back(std::move(cs));
  }
  return r;
}

TEST(Report, JsonRoundTripKeepsTheGentlenessFigures) {
  const load_report r = gentle_report(1);
  const auto back = round_trip(r);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->engine_requests, r.engine_requests);
  EXPECT_EQ(back->lists, r.lists);
  EXPECT_EQ(back->jobs, r.jobs);
  EXPECT_EQ(back->detected_early, r.detected_early);
  EXPECT_TRUE(back->detection_measured);
  expect_same_histogram(back->detection, r.detection);
  EXPECT_DOUBLE_EQ(back->requests_per_op(), r.requests_per_op());
  ASSERT_EQ(back->clusters.size(), 2u);
  for (std::size_t c = 0; c < 2; ++c) {
    EXPECT_EQ(back->clusters[c].index, c);
    EXPECT_EQ(back->clusters[c].target, r.clusters[c].target);
    EXPECT_EQ(back->clusters[c].requests, r.clusters[c].requests);
    EXPECT_EQ(back->clusters[c].lists, r.clusters[c].lists);
    EXPECT_EQ(back->clusters[c].completed, r.clusters[c].completed);
    EXPECT_EQ(back->clusters[c].detection.sparse(), r.clusters[c].detection.sparse());
  }
  // Without the simulator: null, read back as not measured.
  const load_report plain = sample_report(1700000000.0, 1);
  const auto p = round_trip(plain);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->detection_measured);
  EXPECT_EQ(p->detection.count(), 0u);
  EXPECT_TRUE(p->clusters.empty());
  EXPECT_NE(to_json(plain).find("\"detection_delay_us\": null"), std::string::npos);
}

TEST(Report, MergeAddsTheGentlenessFiguresClusterByCluster) {
  load_report a = gentle_report(1);
  const load_report b = gentle_report(2);
  histogram both = a.detection;
  both.merge(b.detection);
  ASSERT_FALSE(merge_into(a, b));
  EXPECT_EQ(a.engine_requests, 1234u * 3);
  EXPECT_EQ(a.lists, 17u * 3);
  EXPECT_EQ(a.jobs, 600u);
  EXPECT_EQ(a.detection.sparse(), both.sparse());
  ASSERT_EQ(a.clusters.size(), 2u);
  EXPECT_EQ(a.clusters[1].requests, 600u * 3 + 2);
  EXPECT_EQ(a.clusters[1].completed, 300u);
  EXPECT_EQ(a.clusters[0].detection.count(), 300u);
}

TEST(Report, MergeRefusesDifferentModes) {
  load_report a = sample_report(1, 1), b = sample_report(1, 1);
  b.mode = "rate";
  EXPECT_TRUE(merge_into(a, b));
}

TEST(Report, Thresholds) {
  load_report r = sample_report(1, 1);
  EXPECT_FALSE(check_thresholds(r, -1, -1));
  EXPECT_FALSE(check_thresholds(r, 1e6, 0.5));
  auto p99 = check_thresholds(r, 0.001, -1);
  ASSERT_TRUE(p99);
  EXPECT_NE(p99->find("--max-p99"), std::string::npos);
  auto ratio = check_thresholds(r, -1, 0.001);  // 3 errors / 1000 requests
  ASSERT_TRUE(ratio);
  EXPECT_NE(ratio->find("--max-error-ratio"), std::string::npos);
}

// Edits one member of a written report through Boost.JSON and reads it back.
std::optional<load_report> reread_with(const load_report& r, const std::function<void(boost::json::object&)>& edit,
                                       std::string& why) {
  boost::json::value doc = boost::json::parse(to_json(r));
  edit(doc.as_object());
  return from_json(boost::json::serialize(doc), why);
}

TEST(Json, ReaderRefusesWhatIsNotAReport) {
  std::string why;
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "{} x", "tru"}) {
    EXPECT_FALSE(from_json(bad, why)) << bad;
    EXPECT_NE(why.find("not valid JSON"), std::string::npos) << bad << ": " << why;
  }
  EXPECT_FALSE(from_json("[1]", why));
  EXPECT_EQ(why, "not a JSON object");
  const load_report r = sample_report(1, 1);
  EXPECT_FALSE(reread_with(r, [](auto& o) { o["requests"] = -1; }, why));
  EXPECT_EQ(why, "'requests' is not a count");
  EXPECT_FALSE(reread_with(r, [](auto& o) { o.erase("duration_s"); }, why));
  EXPECT_EQ(why, "missing 'duration_s'");
  EXPECT_FALSE(reread_with(r, [](auto& o) { o["series"].as_array()[1].as_object()["t"] = "x"; }, why));
  EXPECT_EQ(why, "series[1]: 't' is not a number");
  EXPECT_FALSE(reread_with(r, [](auto& o) { o["errors"].as_object()["timeout"] = 1.5; }, why));
  EXPECT_EQ(why, "errors.timeout is not a count");
  EXPECT_FALSE(reread_with(r, [](auto& o) { o["thresholds"] = boost::json::array{boost::json::object{{"expr", "p99<1ms"}}}; }, why));
  EXPECT_EQ(why, "thresholds[0]: missing 'metric'");
  // 18446744073709551615 survives exactly.
  auto big = reread_with(r, [](auto& o) { o["connections"].as_object()["connects"] = UINT64_MAX; }, why);
  ASSERT_TRUE(big) << why;
  EXPECT_EQ(big->connects, UINT64_MAX);
}

TEST(Json, ReportReaderNamesWhatIsWrong) {
  std::string why;
  EXPECT_FALSE(from_json(R"({"tool": "wrk"})", why));
  EXPECT_NE(why.find("not a pollster load report"), std::string::npos);
  // The histogram's count no longer matches its buckets.
  EXPECT_FALSE(reread_with(sample_report(1, 1), [](auto& o) { o["histogram"].as_object()["count"] = 9; }, why));
  EXPECT_NE(why.find("histogram: its buckets hold 1000 values but count says 9"), std::string::npos) << why;
}

TEST(Format, Latency) {
  EXPECT_EQ(format_latency(870'000), "870 us");
  EXPECT_EQ(format_latency(1'234'567), "1.23 ms");
  EXPECT_EQ(format_latency(12'300'000), "12.3 ms");
  EXPECT_EQ(format_latency(12'300'000'000), "12.3 s");
}

TEST(Format, HtmlIsSelfContained) {
  load_report r = sample_report(1, 1);
  r.thresholds.push_back({"p99<5ms", "p99", 1.5, true});
  r.thresholds.push_back({"error_ratio<0.1%", "error_ratio", 0.003, false});
  r.command_line = "pollster load </script><b>";
  const std::string html = to_html(r);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  EXPECT_NE(html.find("Dygraph"), std::string::npos);  // inlined at build time
  EXPECT_NE(html.find("embedded &quot;simulator&quot;"), std::string::npos);  // escaped
  EXPECT_NE(html.find("pollster load &lt;/script&gt;&lt;b&gt;"), std::string::npos);
  EXPECT_NE(html.find("FAIL: a threshold was crossed"), std::string::npos);
  EXPECT_NE(html.find("p99&lt;5ms"), std::string::npos);
  // The chart data: the latency threshold's limit, read from its expression, in ms.
  EXPECT_NE(html.find(R"({"expr":"p99<5ms","ms":5E0,"ok":true})"), std::string::npos);
  // Three script elements: data, dygraphs, the page's own; nothing in them closes one early.
  std::size_t n = 0;
  for (std::size_t at = html.find("</script>"); at != std::string::npos; at = html.find("</script>", at + 1)) ++n;
  EXPECT_EQ(n, 3u);
}

}  // namespace
}  // namespace pollster::cli
