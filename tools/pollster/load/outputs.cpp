#include "load/outputs.hpp"

#include <cstdio>

#include "pollster/tools/xml_escape.hpp"

namespace pollster::cli::load {

namespace {

using tools::xml_escaped;

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string us(std::uint64_t ns) { return num(static_cast<double>(ns) / 1e3); }

// OpenMetrics label values escape backslash, quote and newline.
std::string label_escaped(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\\' || ch == '"') {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace

std::string to_csv(const load_report& r) {
  std::string out =
      "t_s,dt_s,warmup,requests,releases,completed,errors,open_connections,target_rate,p50_us,p90_us,p99_us,max_us\r\n";
  for (const interval& iv : r.series) {
    const histogram h = iv.latency();
    const bool warm = r.warmup_s > 0 && iv.t <= r.warmup_s + 1e-9;
    out += num(iv.t) + "," + num(iv.dt) + "," + (warm ? "1" : "0") + "," + std::to_string(iv.requests) + "," +
           std::to_string(iv.releases) + "," + std::to_string(iv.completed) + "," + std::to_string(iv.errors) + "," +
           std::to_string(iv.open_connections) + "," + num(iv.target_rate) + "," + us(h.percentile(50)) + "," +
           us(h.percentile(90)) + "," + us(h.percentile(99)) + "," + us(iv.max_ns ? iv.max_ns : h.max()) + "\r\n";
  }
  return out;
}

std::string to_openmetrics(const load_report& r) {
  std::string out;
  auto family = [&](const char* name, const char* type, const char* unit, const char* help) {
    out += std::string("# TYPE ") + name + " " + type + "\n";
    if (*unit) out += std::string("# UNIT ") + name + " " + unit + "\n";
    out += std::string("# HELP ") + name + " " + help + "\n";
  };
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    family(name, "counter", "", help);
    out += std::string(name) + "_total " + std::to_string(v) + "\n";
  };
  auto gauge = [&](const char* name, const char* unit, const char* help, double v) {
    family(name, "gauge", unit, help);
    out += std::string(name) + " " + num(v) + "\n";
  };
  counter("pollster_load_requests", "GetAsyncResult polls sent", r.requests);
  counter("pollster_load_releases", "release requests sent after delivery", r.releases);
  counter("pollster_load_completed", "operations seen complete", r.completed);
  counter("pollster_load_task_failed", "operations complete with a task error", r.task_failed);
  counter("pollster_load_gone", "handles found gone", r.gone);
  counter("pollster_load_timed_out", "waits past their deadline", r.timed_out);
  counter("pollster_load_failed", "waits ended by a non-retryable error", r.failed);
  family("pollster_load_errors", "counter", "", "failed requests and connects, by kind");
  for (const auto& [kind, n] : r.errors)
    out += "pollster_load_errors_total{kind=\"" + label_escaped(kind) + "\"} " + std::to_string(n) + "\n";
  gauge("pollster_load_duration_seconds", "seconds", "measured time (warm-up excluded)", r.duration_s);
  gauge("pollster_load_request_rate", "", "polls per second", r.requests_per_s());
  gauge("pollster_load_completed_rate", "", "completions per second", r.completions_per_s());
  gauge("pollster_load_error_ratio", "", "errors per request", r.error_ratio());
  if (r.mode == "rate") {
    gauge("pollster_load_target_rate", "", "polls per second asked for", r.rate_target);
    counter("pollster_load_late", "sends that left behind their time", r.late);
  }
  family("pollster_load_latency_seconds", "summary", "seconds", "request latency");
  for (const auto& [label, q] : {std::pair{"0.5", 50.0}, {"0.9", 90.0}, {"0.99", 99.0}, {"0.999", 99.9}})
    out += std::string("pollster_load_latency_seconds{quantile=\"") + label + "\"} " +
           num(static_cast<double>(r.latency.percentile(q)) / 1e9) + "\n";
  out += "pollster_load_latency_seconds_count " + std::to_string(r.latency.count()) + "\n";
  counter("pollster_load_engine_requests", "HTTP requests the engine sent (polls, lists, releases)", r.engine_requests);
  gauge("pollster_load_requests_per_operation", "", "engine requests per completed operation", r.requests_per_op());
  if (r.detection_measured) {
    family("pollster_load_detection_delay_seconds", "summary", "seconds",
           "from a job's completion on the simulator to its outcome's delivery");
    for (const auto& [label, q] : {std::pair{"0.5", 50.0}, {"0.99", 99.0}})
      out += std::string("pollster_load_detection_delay_seconds{quantile=\"") + label + "\"} " +
             num(static_cast<double>(r.detection.percentile(q)) / 1e9) + "\n";
    out += "pollster_load_detection_delay_seconds_sum " + num(static_cast<double>(r.detection.sum()) / 1e9) + "\n";
    out += "pollster_load_detection_delay_seconds_count " + std::to_string(r.detection.count()) + "\n";
  }
  if (!r.thresholds.empty()) {
    family("pollster_load_threshold_ok", "gauge", "", "1 when the threshold held");
    for (const auto& t : r.thresholds)
      out += "pollster_load_threshold_ok{expr=\"" + label_escaped(t.expr) + "\"} " + (t.ok ? "1" : "0") + "\n";
  }
  out += "# EOF\n";
  return out;
}

std::string to_junit(const load_report& r) {
  std::size_t failed = 0;
  for (const auto& t : r.thresholds) failed += t.ok ? 0 : 1;
  const std::size_t cases = r.thresholds.empty() ? 1 : r.thresholds.size();
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"pollster load\" tests=\"" + std::to_string(cases) + "\" failures=\"" +
         std::to_string(failed) + "\">\n";
  out += "  <testsuite name=\"pollster load thresholds\" tests=\"" + std::to_string(cases) + "\" failures=\"" +
         std::to_string(failed) + "\" errors=\"0\" time=\"" + num(r.duration_s) + "\">\n";
  if (r.thresholds.empty()) {
    out += "    <testcase classname=\"pollster.load\" name=\"run\" time=\"" + num(r.duration_s) + "\"/>\n";
  }
  for (const auto& t : r.thresholds) {
    out += "    <testcase classname=\"pollster.load.threshold\" name=\"" + xml_escaped(t.expr) + "\" time=\"0\">\n";
    out += "      <system-out>" + xml_escaped(t.metric + " observed " + num(t.observed)) + "</system-out>\n";
    if (!t.ok)
      out += "      <failure message=\"" + xml_escaped(t.metric + " observed " + num(t.observed)) +
             "\" type=\"threshold\"/>\n";
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace pollster::cli::load
