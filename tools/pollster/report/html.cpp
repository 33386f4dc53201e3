#include "html.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <ctime>
#include <set>

#include "dygraphs_inline.hpp"
#include "json.hpp"
#include "pollster/tools/xml_escape.hpp"
#include "pollster/version.hpp"
#include "table.hpp"

namespace pollster::cli {

namespace bj = boost::json;

namespace {

std::string html_escape(std::string_view s) { return tools::xml_escaped(s); }

bool is_latency_metric(const std::string& m) {
  return m == "p50" || m == "p90" || m == "p99" || m == "p99.9" || m == "max";
}

// The limit of a latency threshold in ms, read from its expression
// ("p99<250ms", "max <= 1.5s"); nullopt when it does not read as one.
std::optional<double> latency_limit_ms(const threshold_result& t) {
  const auto op = t.expr.find_first_of("<>");
  if (op == std::string::npos) return std::nullopt;
  std::size_t at = t.expr.find_first_not_of("<>= ", op);
  if (at == std::string::npos) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(t.expr.data() + at, t.expr.data() + t.expr.size(), v);
  if (ec != std::errc()) return std::nullopt;
  const std::string_view unit(end, t.expr.data() + t.expr.size() - end);
  if (unit == "us") return v / 1e3;
  if (unit == "ms") return v;
  if (unit == "s") return v * 1e3;
  return std::nullopt;
}

std::string observed_text(const threshold_result& t) {
  if (is_latency_metric(t.metric) || t.metric.rfind("detection_delay_", 0) == 0)
    return format_latency(static_cast<std::uint64_t>(t.observed * 1e6));
  if (t.metric == "error_ratio") return fixed(100 * t.observed, 3) + "%";
  if (t.metric.find("rate") != std::string::npos) return fixed(t.observed, 1) + " /s";
  return fixed(t.observed, 3);
}

// What the page's script draws, as one JSON object.
bj::object chart_data(const load_report& r) {
  std::set<std::string> kinds;
  bool any_errors = false;
  for (const interval& iv : r.series) {
    for (const auto& [k, v] : iv.errors_by_kind) kinds.insert(k);
    any_errors = any_errors || iv.errors;
  }
  const bool open_loop = r.mode == "rate";
  bj::array rate_labels{"seconds", "requests/s", "completions/s"};
  if (open_loop) rate_labels.push_back("target/s");
  bj::array error_labels;
  for (const std::string& k : kinds) error_labels.push_back(bj::string("errors/s: " + k));
  if (kinds.empty() && any_errors) error_labels.push_back("errors/s");
  for (const auto& l : error_labels) rate_labels.push_back(l);

  bj::array rates, latency;
  for (const interval& iv : r.series) {
    const double dt = iv.dt > 0 ? iv.dt : 1;
    bj::array row{iv.t, iv.requests / dt, iv.completed / dt};
    if (open_loop) row.push_back(iv.target_rate > 0 ? iv.target_rate : r.rate_target);
    if (!kinds.empty())
      for (const std::string& k : kinds) {
        auto it = iv.errors_by_kind.find(k);
        row.push_back((it == iv.errors_by_kind.end() ? 0 : it->second) / dt);
      }
    else if (any_errors)
      row.push_back(iv.errors / dt);
    rates.push_back(std::move(row));
    const histogram h = iv.latency();
    // Log axis: an interval without answers has no latency (null, not 0).
    auto ms = [&](std::uint64_t ns) -> bj::value {
      if (!h.count()) return nullptr;
      return static_cast<double>(ns) / 1e6;
    };
    latency.push_back(bj::array{iv.t, ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.max())});
  }
  bj::array distribution;
  for (const auto& [i, c] : r.latency.sparse())
    distribution.push_back(bj::array{static_cast<double>(histogram::highest(i)) / 1e6, c});
  bj::array limits;
  for (const threshold_result& t : r.thresholds)
    if (is_latency_metric(t.metric))
      if (auto ms = latency_limit_ms(t)) limits.push_back(bj::object{{"expr", t.expr}, {"ms", *ms}, {"ok", t.ok}});
  bj::object d;
  d["warmup_s"] = r.warmup_s;
  d["rate_labels"] = std::move(rate_labels);
  d["error_labels"] = std::move(error_labels);
  d["rates"] = std::move(rates);
  d["latency"] = std::move(latency);
  d["distribution"] = std::move(distribution);
  d["latency_thresholds"] = std::move(limits);
  return d;
}

// Draws the charts from #report-data, then marks the page (data-charts) so
// that a headless browser can tell that the script ran to its end.
constexpr std::string_view page_script = R"js(
(function () {
  "use strict";
  var d = JSON.parse(document.getElementById("report-data").textContent);
  function warmup(ctx, area, g) {
    if (!(d.warmup_s > 0)) return;
    var left = g.toDomXCoord(Math.max(g.xAxisRange()[0], 0));
    var right = g.toDomXCoord(Math.min(d.warmup_s, g.xAxisRange()[1]));
    if (right <= left) return;
    ctx.fillStyle = "rgba(120,120,120,0.22)";
    ctx.fillRect(left, area.y, right - left, area.h);
    ctx.fillStyle = "#555";
    ctx.fillText("warm-up", left + 4, area.y + 12);
  }
  function limit(ctx, area, t, horizontal, at) {
    ctx.save();
    ctx.strokeStyle = t.ok ? "#2a7d2a" : "#c62828";
    ctx.fillStyle = ctx.strokeStyle;
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    if (horizontal) { ctx.moveTo(area.x, at); ctx.lineTo(area.x + area.w, at); }
    else { ctx.moveTo(at, area.y); ctx.lineTo(at, area.y + area.h); }
    ctx.stroke();
    ctx.fillText(t.expr, horizontal ? area.x + area.w - 90 : at + 4, horizontal ? at - 4 : area.y + 24);
    ctx.restore();
  }
  var common = { legend: "always", labelsSeparateLines: false, strokeWidth: 1.8, gridLineColor: "#e5e5e5",
                 xlabel: "seconds since the start", height: 300 };
  function opts(extra) { var o = {}, k; for (k in common) o[k] = common[k]; for (k in extra) o[k] = extra[k]; return o; }
  // A range that holds the values and every latency threshold, so that a
  // limit far above the data is still drawn (log axes: a margin each side).
  function span(values) {
    var lo = Infinity, hi = 0;
    values.concat(d.latency_thresholds.map(function (t) { return t.ms; })).forEach(function (v) {
      if (v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    return hi > 0 ? [lo / 1.5, hi * 1.5] : null;
  }
  var charts = 0;
  if (d.rates.length) {
    var series = {};
    d.error_labels.forEach(function (l) { series[l] = { axis: "y2" }; });
    if (d.rate_labels.indexOf("target/s") >= 0) series["target/s"] = { strokePattern: [8, 4], color: "#888" };
    new Dygraph(document.getElementById("chart-rates"), d.rates, opts({
      labels: d.rate_labels, series: series, ylabel: "requests per second",
      y2label: d.error_labels.length ? "errors per second" : undefined,
      axes: { y2: { independentTicks: true, drawGrid: false } },
      labelsDiv: document.getElementById("legend-rates"), underlayCallback: warmup }));
    new Dygraph(document.getElementById("chart-latency"), d.latency, opts({
      labels: ["seconds", "p50", "p90", "p99", "max"], logscale: true, ylabel: "milliseconds (log)",
      valueRange: span([].concat.apply([], d.latency.map(function (r) { return r.slice(1); }))),
      colors: ["#2ca02c", "#1f77b4", "#ff7f0e", "#d62728"],
      labelsDiv: document.getElementById("legend-latency"),
      underlayCallback: function (ctx, area, g) {
        warmup(ctx, area, g);
        d.latency_thresholds.forEach(function (t) { limit(ctx, area, t, true, g.toDomYCoord(t.ms)); });
      } }));
    charts += 2;
  }
  if (d.distribution.length) {
    new Dygraph(document.getElementById("chart-distribution"), d.distribution, opts({
      labels: ["latency (ms)", "requests"], xlabel: "latency, milliseconds (log; bucket upper bounds)",
      ylabel: "requests", stepPlot: true, fillGraph: true, axes: { x: { logscale: true } },
      dateWindow: span(d.distribution.map(function (r) { return r[0]; })),
      labelsDiv: document.getElementById("legend-distribution"),
      underlayCallback: function (ctx, area, g) {
        // toPercentXCoord, not toDomXCoord: only the former follows a log x axis.
        d.latency_thresholds.forEach(function (t) { limit(ctx, area, t, false, area.x + g.toPercentXCoord(t.ms) * area.w); });
      } }));
    charts += 1;
  }
  document.body.setAttribute("data-charts", "ready:" + charts);
})();
)js";

}  // namespace

std::string to_html(const load_report& r) {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>pollster load report</title>\n<style>\n";
  o += dygraphs_css();
  o += "\nbody{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1000px}\n"
       "table{border-collapse:collapse;margin:1em 0}td,th{padding:3px 12px;text-align:left;"
       "border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
       ".banner{padding:.8em 1.2em;border-radius:6px;margin:1em 0;font-weight:600}\n"
       ".pass{background:#e3f4e3;border:1px solid #2a7d2a}.fail{background:#fde4e4;border:1px solid #c62828}"
       ".none{background:#f1f1f1;border:1px solid #aaa}.banner ul{margin:.4em 0 0;font-weight:400}\n"
       ".legend{font-size:13px;min-height:1.4em;margin:.3em 0}.chart{width:100%;margin-bottom:1.5em}\n"
       ".meta{color:#555;font-size:14px}code{background:#f6f6f6;padding:1px 4px}\n"
       "pre{background:#f6f6f6;padding:1em;overflow:auto}\n</style>\n</head>\n<body>\n";
  o += "<h1>pollster load</h1>\n<p>" + html_escape(describe(r)) + "</p>\n";
  // Who made it, when, how.
  char date[64] = "?";
  const std::time_t started = static_cast<std::time_t>(r.started_at_unix);
  std::tm tm{};
  if (r.started_at_unix > 0 && gmtime_r(&started, &tm)) std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
  o += "<p class=\"meta\">pollster " + html_escape(r.version.empty() ? std::string(pollster::version()) : r.version) +
       " &middot; started " + date + (r.command_line.empty() ? "" : " &middot; <code>" + html_escape(r.command_line) + "</code>") +
       "</p>\n";
  // The verdict.
  if (r.thresholds.empty()) {
    o += "<div class=\"banner none\" id=\"verdict\">No thresholds set (pollster load --threshold EXPR)</div>\n";
  } else {
    bool all_ok = true;
    for (const threshold_result& t : r.thresholds) all_ok = all_ok && t.ok;
    o += std::string("<div class=\"banner ") + (all_ok ? "pass" : "fail") + "\" id=\"verdict\">" +
         (all_ok ? "PASS: every threshold held" : "FAIL: a threshold was crossed") + "<ul>\n";
    for (const threshold_result& t : r.thresholds)
      o += std::string("<li>") + (t.ok ? "&#10003; " : "&#10007; ") + "<code>" + html_escape(t.expr) + "</code>: observed " +
           html_escape(observed_text(t)) + "</li>\n";
    o += "</ul></div>\n";
  }
  if (r.rate_shortfall)
    o += "<div class=\"banner fail\">The open loop fell short: " + fixed(r.achieved_rate, 1) + " of " +
         fixed(r.rate_target, 1) + " sends per second, or more than 1% of sends late</div>\n";
  o += "<table>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    o += "<tr><th>" + html_escape(k) + "</th><td class=\"n\">" + html_escape(v) + "</td></tr>\n";
  };
  const histogram& h = r.latency;
  row("duration", fixed(r.duration_s, 2) + " s" + (r.warmup_s > 0 ? " (after " + fixed(r.warmup_s, 1) + " s of warm-up)" : ""));
  row("requests", std::to_string(r.requests));
  row("requests/s", fixed(r.requests_per_s(), 1));
  row("completed", std::to_string(r.completed));
  row("completions/s", fixed(r.completions_per_s(), 1));
  row("latency p50", format_latency(h.percentile(50)));
  row("latency p90", format_latency(h.percentile(90)));
  row("latency p99", format_latency(h.percentile(99)));
  row("latency p99.9", format_latency(h.percentile(99.9)));
  row("latency max", format_latency(h.max()));
  row("errors", std::to_string(r.errors_total()));
  for (const auto& [k, v] : r.errors) row("  " + k, std::to_string(v));
  row("connections opened", std::to_string(r.connects));
  row("reconnects", std::to_string(r.reconnects));
  if (r.mode == "rate") {
    row("sends scheduled", std::to_string(r.scheduled));
    row("sends late", std::to_string(r.late));
    row("releases", std::to_string(r.releases));
  }
  if (r.engine_requests) {
    row("requests per completed operation", fixed(r.requests_per_op(), 2));
    row("lists (ListAsyncResults)", std::to_string(r.lists));
  }
  if (r.jobs) {
    row("jobs", std::to_string(r.jobs));
    row("jobs not delivered", std::to_string(r.undelivered()));
    row("jobs delivered twice", std::to_string(r.duplicates));
  }
  if (r.detection_measured) {
    const histogram& d = r.detection;
    row("detection delay mean", format_latency(static_cast<std::uint64_t>(d.mean())));
    row("detection delay p50", format_latency(d.percentile(50)));
    row("detection delay p99", format_latency(d.percentile(99)));
  }
  o += "</table>\n";
  if (!r.clusters.empty()) {
    o += "<h2>Clusters</h2>\n<table>\n<tr><th>cluster</th><th>requests</th><th>lists</th><th>completed</th>"
         "<th>requests/op</th><th>detection mean</th><th>p50</th><th>p99</th><th>target</th></tr>\n";
    for (const cluster_summary& c : r.clusters) {
      const histogram& d = c.detection;
      auto td = [](const std::string& v) { return "<td class=\"n\">" + v + "</td>"; };
      o += "<tr>" + td(std::to_string(c.index)) + td(std::to_string(c.requests)) + td(std::to_string(c.lists)) +
           td(std::to_string(c.completed)) + td(fixed(c.requests_per_op(), 2)) +
           td(d.count() ? format_latency(static_cast<std::uint64_t>(d.mean())) : "-") +
           td(d.count() ? format_latency(d.percentile(50)) : "-") +
           td(d.count() ? format_latency(d.percentile(99)) : "-") + "<td>" + html_escape(c.target) + "</td></tr>\n";
    }
    o += "</table>\n";
  }
  if (!r.shard_summaries.empty()) {
    o += "<h2>Shards</h2>\n<table>\n<tr><th>shard</th><th>requests</th><th>errors</th><th>p99</th><th>file</th></tr>\n";
    for (const shard_summary& s : r.shard_summaries)
      o += "<tr><td class=\"n\">" + std::to_string(s.index) + "</td><td class=\"n\">" + std::to_string(s.requests) +
           "</td><td class=\"n\">" + std::to_string(s.errors) + "</td><td class=\"n\">" + format_latency(s.p99_ns) +
           "</td><td>" + html_escape(s.file) + "</td></tr>\n";
    o += "</table>\n";
  }
  if (r.series.empty()) o += "<p>No per-second series in this report.</p>\n";
  o += "<h2>Requests, completions and errors per second</h2>\n"
       "<div class=\"legend\" id=\"legend-rates\"></div><div class=\"chart\" id=\"chart-rates\"></div>\n"
       "<h2>Latency percentiles per second</h2>\n"
       "<div class=\"legend\" id=\"legend-latency\"></div><div class=\"chart\" id=\"chart-latency\"></div>\n"
       "<h2>Latency distribution</h2>\n"
       "<div class=\"legend\" id=\"legend-distribution\"></div><div class=\"chart\" id=\"chart-distribution\"></div>\n"
       "<p class=\"meta\">Drag to zoom, double-click to zoom out; values show on hover.</p>\n";
  o += "<h2>Report</h2>\n<pre>" + html_escape(to_table(r)) + "</pre>\n";
  o += "<h2>Parameters</h2>\n<pre>";
  std::string params;
  for (const auto& [k, v] : r.parameters.members) {
    params += k;
    if (k.size() < 20) params.append(20 - k.size(), ' ');
    params += to_json_text(v);
    params += '\n';
  }
  o += html_escape(params) + "</pre>\n";
  // The data as JSON in a non-executed script element; "</" written "<\/" so
  // that no string in it can close the element.
  std::string data = bj::serialize(chart_data(r));
  for (std::size_t at = data.find("</"); at != std::string::npos; at = data.find("</", at + 3)) data.insert(at + 1, "\\");
  o += "<script type=\"application/json\" id=\"report-data\">" + data + "</script>\n<script>\n";
  o += dygraphs_js();
  o += "\n</script>\n<script>";
  o += page_script;
  o += "</script>\n</body>\n</html>\n";
  return o;
}

}  // namespace pollster::cli
