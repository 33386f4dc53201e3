#include "table.hpp"

#include <cmath>
#include <cstdio>

namespace pollster::cli {

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string format_latency(std::uint64_t ns) {
  const double v = static_cast<double>(ns);
  auto sig = [](double x) { return fixed(x, x < 10 ? 2 : x < 100 ? 1 : 0); };
  if (ns < 1'000'000) return sig(v / 1e3) + " us";
  if (ns < 10'000'000'000ull) return sig(v / 1e6) + " ms";
  return sig(v / 1e9) + " s";
}

std::string with_commas(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

namespace {

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string rate_text(double per_s) { return fixed(per_s, per_s < 100 ? 1 : 0); }

}  // namespace

std::string describe(const load_report& r) {
  const std::string target = r.parameter("target");
  std::string s = "target " + (target.empty() ? "?" : target);
  const std::string handles = r.parameter("handles"), conns = r.parameter("connections"),
                    threads = r.parameter("threads");
  const std::string jobs = r.parameter("jobs"), fan_in = r.parameter("fan_in");
  if (!jobs.empty()) s += ", " + jobs + " jobs";
  else if (!handles.empty()) s += ", " + handles + " handles";
  if (!fan_in.empty() && fan_in != "auto") s += ", fan-in " + fan_in;
  if (!conns.empty()) s += ", " + conns + " connections";
  if (!threads.empty()) s += ", " + threads + (threads == "1" ? " thread" : " threads");
  if (r.mode == "rate") s += ", open loop at " + rate_text(r.rate_target) + " requests/s";
  if (r.shards > 1)
    s += ", " + std::to_string(r.shards) + " shards merged";
  else if (const std::string sh = r.parameter("shard"); !sh.empty() && sh != "0/1")
    s += ", shard " + sh;
  return s;
}

std::string to_table(const load_report& r) {
  std::string o;
  auto row = [&](const char* name, const std::string& value) {
    o += "  ";
    o += pad(name, 14);
    o += value;
    o += '\n';
  };
  o += "pollster load: " + describe(r) + "\n";
  row("duration", fixed(r.duration_s, 2) + " s");
  row("requests", pad(with_commas(r.requests), 12) + rate_text(r.requests_per_s()) + " /s");
  row("completed", pad(with_commas(r.completed), 12) + rate_text(r.completions_per_s()) + " /s" +
                       (r.task_failed ? "   (" + with_commas(r.task_failed) + " of them task failed)" : ""));
  const histogram& h = r.latency;
  if (h.count() == 0) row("latency", "-   (no answer)");
  else row("latency", "p50 " + format_latency(h.percentile(50)) + "   p90 " + format_latency(h.percentile(90)) +
                     "   p99 " + format_latency(h.percentile(99)) + "   p99.9 " +
                     format_latency(h.percentile(99.9)) + "   max " + format_latency(h.max()));
  const std::uint64_t et = r.errors_total();
  row("errors", with_commas(et) + (et && r.requests ? "   (" + fixed(100.0 * r.error_ratio(), 3) + "% of requests)"
                                   : et ? "   (and no request answered)" : ""));
  for (const auto& [k, v] : r.errors) row("", pad(k, 26) + with_commas(v));
  if (r.gone + r.timed_out + r.failed) {
    std::string why;
    for (const auto& [k, v] : r.failed_by) why += (why.empty() ? " (" : ", ") + k + " " + with_commas(v);
    if (!why.empty()) why += ')';
    row("not completed", "gone " + with_commas(r.gone) + ", timed out " + with_commas(r.timed_out) +
                             ", failed " + with_commas(r.failed) + why);
  }
  if (r.mode == "closed") row("at the end", with_commas(r.outstanding) + " operations still running (cancelled)");
  row("connections", with_commas(r.connects) + " opened, " + with_commas(r.reconnects) + " reconnects, " +
                         with_commas(r.connect_failures) + " failed to open");
  if (r.mode == "rate")
    row("open loop", with_commas(r.scheduled) + " sends scheduled at " + rate_text(r.rate_target) +
                         "/s: " + with_commas(r.late) + " late, " + with_commas(r.skipped) + " skipped");
  if (r.engine_requests)
    row("requests/op", fixed(r.requests_per_op(), 2) + "   (" + with_commas(r.engine_requests) +
                           " requests sent by the engine, " + with_commas(r.lists) + " of them lists, per completed operation)");
  if (r.detection_measured) {
    const histogram& d = r.detection;
    if (d.count() == 0) row("detection", "-   (no outcome delivered)");
    else row("detection", "mean " + format_latency(static_cast<std::uint64_t>(d.mean())) + "   p50 " +
                              format_latency(d.percentile(50)) + "   p99 " + format_latency(d.percentile(99)) +
                              "   max " + format_latency(d.max()) + "   (job completed -> outcome delivered)");
    if (r.detected_early) row("", with_commas(r.detected_early) + " outcomes delivered before their job completed (a bug)");
  }
  if (r.jobs)
    row("jobs", with_commas(r.jobs) + " created, " + with_commas(r.undelivered()) + " not delivered, " +
                    with_commas(r.duplicates) + " delivered twice");
  // One short table of the clusters, so that a bad one stands out.
  if (!r.clusters.empty()) {
    o += "  " + pad("cluster", 9) + pad("requests", 12) + pad("lists", 9) + pad("completed", 11) + pad("req/op", 8) +
         pad("detect mean", 13) + pad("p50", 11) + "p99\n";
    for (const cluster_summary& c : r.clusters) {
      const histogram& d = c.detection;
      auto lat = [&](std::uint64_t ns) { return d.count() ? format_latency(ns) : std::string("-"); };
      o += "  " + pad(std::to_string(c.index), 9) + pad(with_commas(c.requests), 12) + pad(with_commas(c.lists), 9) +
           pad(with_commas(c.completed), 11) + pad(fixed(c.requests_per_op(), 2), 8) +
           pad(lat(static_cast<std::uint64_t>(d.mean())), 13) + pad(lat(d.percentile(50)), 11) +
           lat(d.percentile(99)) + "\n";
    }
  }
  // One line per merged shard, so that a bad pod stands out.
  for (const shard_summary& s : r.shard_summaries)
    row(("shard " + std::to_string(s.index)).c_str(),
        pad(with_commas(s.requests) + " requests", 20) + pad(with_commas(s.errors) + " errors", 14) + "p99 " +
            pad(format_latency(s.p99_ns), 11) + s.file);
  return o;
}

}  // namespace pollster::cli
