#include "html.hpp"

#include <algorithm>
#include <cmath>

#include "json.hpp"
#include "table.hpp"

namespace pollster::cli {

namespace {

std::string html_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

struct line_series {
  std::string name, color;
  std::vector<double> y;
};

// A round axis maximum: 1, 2 or 5 times a power of ten, at least `v`.
double nice_ceiling(double v) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

std::string axis_number(double v) {
  if (v >= 100 || v == std::floor(v)) return fixed(v, 0);
  if (v >= 1) return fixed(v, 1);
  if (v >= 0.01) return fixed(v, 2);
  return fixed(v, 3);
}

// A line chart of per-second values. `log_scale`: a logarithmic y axis (for
// latencies, whose max can be a hundred times the median).
std::string svg_chart(const std::string& title, const std::string& unit, const std::vector<double>& x,
                      const std::vector<line_series>& lines, bool log_scale = false) {
  const double W = 860, H = 280, left = 70, right = 20, top = 30, bottom = 40;
  const double pw = W - left - right, ph = H - top - bottom;
  double ymax = 0, xmax = 0, ymin_pos = 0;
  for (const auto& l : lines)
    for (double v : l.y) {
      ymax = std::max(ymax, v);
      if (v > 0 && (ymin_pos == 0 || v < ymin_pos)) ymin_pos = v;
    }
  for (double v : x) xmax = std::max(xmax, v);
  if (xmax <= 0) xmax = 1;
  // Linear: 0..a round maximum. Log: whole decades around the values.
  double lo_dec = 0, hi_dec = 1;
  if (log_scale) {
    if (ymin_pos <= 0) ymin_pos = ymax > 0 ? ymax : 1;
    lo_dec = std::floor(std::log10(ymin_pos));
    hi_dec = std::ceil(std::log10(std::max(ymax, ymin_pos)));
    if (hi_dec <= lo_dec) hi_dec = lo_dec + 1;
  } else {
    ymax = nice_ceiling(ymax);
  }
  auto yfrac = [&](double v) {
    if (!log_scale) return v / ymax;
    if (v <= 0) return 0.0;
    return std::clamp((std::log10(v) - lo_dec) / (hi_dec - lo_dec), 0.0, 1.0);
  };
  auto px = [&](double v) { return fixed(left + pw * v / xmax, 1); };
  auto py = [&](double v) { return fixed(top + ph - ph * yfrac(v), 1); };
  std::string s = "<svg width=\"" + fixed(W, 0) + "\" height=\"" + fixed(H, 0) + "\" viewBox=\"0 0 " +
                  fixed(W, 0) + " " + fixed(H, 0) + "\" role=\"img\" aria-label=\"" + html_escape(title) +
                  "\">\n";
  s += "<text x=\"" + fixed(left, 0) + "\" y=\"18\" class=\"title\">" + html_escape(title) + "</text>\n";
  std::vector<double> ticks;
  if (log_scale)
    for (double d = lo_dec; d <= hi_dec + 1e-9; ++d) ticks.push_back(std::pow(10.0, d));
  else
    for (int i = 0; i <= 4; ++i) ticks.push_back(ymax * i / 4);
  for (double v : ticks) {
    s += "<line x1=\"" + fixed(left, 0) + "\" x2=\"" + fixed(W - right, 0) + "\" y1=\"" + py(v) +
         "\" y2=\"" + py(v) + "\" class=\"grid\"/>";
    s += "<text x=\"" + fixed(left - 6, 0) + "\" y=\"" + py(v) + "\" dy=\"4\" text-anchor=\"end\">" +
         axis_number(v) + "</text>\n";
  }
  const double xstep = nice_ceiling(xmax / 10);
  for (double v = 0; v <= xmax + 1e-9; v += xstep)
    s += "<text x=\"" + px(v) + "\" y=\"" + fixed(H - bottom + 16, 0) + "\" text-anchor=\"middle\">" +
         axis_number(v) + "</text>";
  s += "\n<text x=\"" + fixed(left + pw / 2, 0) + "\" y=\"" + fixed(H - 4, 0) +
       "\" text-anchor=\"middle\">seconds since the start</text>";
  s += "<text x=\"14\" y=\"" + fixed(top + ph / 2, 0) + "\" transform=\"rotate(-90 14 " +
       fixed(top + ph / 2, 0) + ")\" text-anchor=\"middle\">" + html_escape(unit) + "</text>\n";
  s += "<rect x=\"" + fixed(left, 0) + "\" y=\"" + fixed(top, 0) + "\" width=\"" + fixed(pw, 0) +
       "\" height=\"" + fixed(ph, 0) + "\" class=\"frame\"/>\n";
  double lx = left + 10;
  for (const auto& l : lines) {
    s += "<polyline fill=\"none\" stroke=\"" + l.color + "\" stroke-width=\"2\" points=\"";
    for (std::size_t i = 0; i < l.y.size() && i < x.size(); ++i) {
      if (i) s += ' ';
      s += px(x[i]) + "," + py(l.y[i]);
    }
    s += "\"/>\n";
    if (x.size() == 1)
      s += "<circle cx=\"" + px(x[0]) + "\" cy=\"" + py(l.y[0]) + "\" r=\"3\" fill=\"" + l.color + "\"/>";
    s += "<rect x=\"" + fixed(lx, 0) + "\" y=\"" + fixed(top + 6, 0) + "\" width=\"12\" height=\"4\" fill=\"" +
         l.color + "\"/><text x=\"" + fixed(lx + 16, 0) + "\" y=\"" + fixed(top + 12, 0) + "\">" +
         html_escape(l.name) + "</text>\n";
    lx += 24 + 8.0 * static_cast<double>(l.name.size());
  }
  s += "</svg>\n";
  return s;
}

}  // namespace

std::string to_html(const load_report& r) {
  std::vector<double> x;
  line_series req{"requests/s", "#1f77b4", {}}, done{"completions/s", "#2ca02c", {}},
      err{"errors/s", "#d62728", {}};
  line_series p50{"p50", "#2ca02c", {}}, p90{"p90", "#1f77b4", {}}, p99{"p99", "#ff7f0e", {}},
      mx{"max", "#d62728", {}};
  bool any_errors = false;
  for (const interval& iv : r.series) {
    const double dt = iv.dt > 0 ? iv.dt : 1;
    x.push_back(iv.t);
    req.y.push_back(iv.requests / dt);
    done.y.push_back(iv.completed / dt);
    err.y.push_back(iv.errors / dt);
    any_errors = any_errors || iv.errors;
    const histogram h = iv.latency();
    p50.y.push_back(h.percentile(50) / 1e6);
    p90.y.push_back(h.percentile(90) / 1e6);
    p99.y.push_back(h.percentile(99) / 1e6);
    mx.y.push_back(h.max() / 1e6);
  }
  std::vector<line_series> rates{req, done};
  if (any_errors) rates.push_back(err);
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>pollster load report</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:920px}\n"
      "table{border-collapse:collapse;margin:1em 0}td,th{padding:3px 12px;text-align:left;"
      "border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
      "svg{display:block;margin:1.5em 0;font-size:12px}svg .title{font-weight:bold;font-size:14px}\n"
      "svg .grid{stroke:#e5e5e5}svg .frame{fill:none;stroke:#999}\n"
      "pre{background:#f6f6f6;padding:1em;overflow:auto}\n</style>\n</head>\n<body>\n";
  o += "<h1>pollster load</h1>\n<p>" + html_escape(describe(r)) + "</p>\n<table>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    o += "<tr><th>" + html_escape(k) + "</th><td class=\"n\">" + html_escape(v) + "</td></tr>\n";
  };
  const histogram& h = r.latency;
  row("duration", fixed(r.duration_s, 2) + " s");
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
  }
  o += "</table>\n";
  if (!r.shard_summaries.empty()) {
    o += "<h2>Shards</h2>\n<table>\n<tr><th>shard</th><th>requests</th><th>errors</th><th>p99</th><th>file</th></tr>\n";
    for (const shard_summary& s : r.shard_summaries)
      o += "<tr><td class=\"n\">" + std::to_string(s.index) + "</td><td class=\"n\">" + std::to_string(s.requests) +
           "</td><td class=\"n\">" + std::to_string(s.errors) + "</td><td class=\"n\">" + format_latency(s.p99_ns) +
           "</td><td>" + html_escape(s.file) + "</td></tr>\n";
    o += "</table>\n";
  }
  if (r.series.empty()) {
    o += "<p>No per-second series in this report.</p>\n";
  } else {
    o += svg_chart("Requests and completions per second", "per second", x, rates);
    o += svg_chart("Latency percentiles per second (log scale)", "milliseconds", x, {p50, p90, p99, mx}, true);
  }
  o += "<h2>Report</h2>\n<pre>" + html_escape(to_table(r)) + "</pre>\n";
  o += "<h2>Parameters</h2>\n<pre>";
  std::string params;
  for (const auto& [k, v] : r.parameters.members) {
    params += k;
    if (k.size() < 20) params.append(20 - k.size(), ' ');
    params += to_json_text(v);
    params += '\n';
  }
  o += html_escape(params) + "</pre>\n</body>\n</html>\n";
  return o;
}

}  // namespace pollster::cli
