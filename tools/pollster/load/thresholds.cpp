#include "load/thresholds.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "pollster/tools/duration.hpp"

namespace pollster::cli::load {

namespace {

enum class kind { latency, ratio, rate, number };

struct metric_info {
  std::string_view name;
  kind k;
  double percentile;  // latency metrics; 100 for max, -1 for the mean
  bool detection = false;  // of the detection delay, not of the request latency
};

constexpr std::array<metric_info, 12> metrics{{{"p50", kind::latency, 50},
                                               {"p90", kind::latency, 90},
                                               {"p99.9", kind::latency, 99.9},
                                               {"p99", kind::latency, 99},
                                               {"max", kind::latency, 100},
                                               {"error_ratio", kind::ratio, 0},
                                               {"operation_error_ratio", kind::ratio, 0},
                                               {"rate", kind::rate, 0},
                                               {"completed_rate", kind::rate, 0},
                                               {"detection_delay_p99", kind::latency, 99, true},
                                               {"detection_delay_mean", kind::latency, -1, true},
                                               {"requests_per_op", kind::number, 0}}};

const metric_info* find_metric(std::string_view name) {
  for (const auto& m : metrics)
    if (m.name == name) return &m;
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool plain_number(std::string_view s, double& out) {
  if (s.empty() || s.front() == '+' || s.front() == '-') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::fixed);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

const char* op_text(threshold::op o) {
  switch (o) {
    case threshold::op::lt: return "<";
    case threshold::op::le: return "<=";
    case threshold::op::gt: return ">";
    case threshold::op::ge: return ">=";
  }
  return "?";
}

std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::optional<threshold> parse_threshold(std::string_view expr, std::string& why) {
  const std::string quoted = "'" + std::string(expr) + "'";
  const std::string form = " (like p99<250ms, error_ratio<=1%, rate>=950)";
  const auto at = expr.find_first_of("<>");
  if (at == std::string_view::npos) {
    why = quoted + " has no operator <, <=, > or >=" + form;
    return std::nullopt;
  }
  threshold t;
  t.expr = std::string(expr);
  t.flag = "--threshold " + std::string(expr);
  std::size_t value_at = at + 1;
  const bool or_equal = value_at < expr.size() && expr[value_at] == '=';
  if (or_equal) ++value_at;
  t.cmp = expr[at] == '<' ? (or_equal ? threshold::op::le : threshold::op::lt)
                          : (or_equal ? threshold::op::ge : threshold::op::gt);
  const std::string_view name = trim(expr.substr(0, at));
  const std::string_view value = trim(expr.substr(value_at));
  const metric_info* m = find_metric(name);
  if (!m) {
    why = quoted + ": unknown metric '" + std::string(name) +
          "' (use p50, p90, p99, p99.9, max, error_ratio, operation_error_ratio, rate, completed_rate, "
          "detection_delay_p99, detection_delay_mean, requests_per_op)";
    return std::nullopt;
  }
  t.metric = std::string(name);
  if (value.empty()) {
    why = quoted + " has no value after the operator" + form;
    return std::nullopt;
  }
  switch (m->k) {
    case kind::latency: {
      std::string inner;
      auto d = tools::parse_duration(value, inner);
      if (!d) {
        why = quoted + ": the limit of " + t.metric + " is a duration with a unit (like 250ms, 1.5s, 800us): " + inner;
        return std::nullopt;
      }
      t.limit = static_cast<double>(d->count()) / 1e6;
      break;
    }
    case kind::ratio: {
      const bool percent = value.back() == '%';
      const std::string_view digits = percent ? trim(value.substr(0, value.size() - 1)) : value;
      if (!plain_number(digits, t.limit)) {
        why = quoted + ": the limit of " + t.metric + " is a fraction like 0.01 or a percentage like 1%";
        return std::nullopt;
      }
      if (percent) t.limit /= 100;
      break;
    }
    case kind::rate:
      if (!plain_number(value, t.limit)) {
        why = quoted + ": the limit of " + t.metric + " is a number per second, like 950";
        return std::nullopt;
      }
      break;
    case kind::number:
      if (!plain_number(value, t.limit)) {
        why = quoted + ": the limit of " + t.metric + " is a number, like 2.5";
        return std::nullopt;
      }
      break;
  }
  return t;
}

double observe(const threshold& t, const load_report& r) {
  const metric_info* m = find_metric(t.metric);
  if (!m) return 0;
  switch (m->k) {
    case kind::latency: {
      const histogram& h = m->detection ? r.detection : r.latency;
      if (m->percentile < 0) return h.mean() / 1e6;
      const std::uint64_t ns = m->percentile >= 100 ? h.max() : h.percentile(m->percentile);
      return static_cast<double>(ns) / 1e6;
    }
    case kind::number: return r.requests_per_op();
    case kind::ratio: {
      if (t.metric == "error_ratio") return r.error_ratio();
      // Operations that ended without completing, of all that ended.
      const std::uint64_t bad = r.gone + r.timed_out + r.failed;
      const std::uint64_t ended = bad + r.completed;
      return ended ? static_cast<double>(bad) / static_cast<double>(ended) : 0.0;
    }
    case kind::rate: return t.metric == "rate" ? r.requests_per_s() : r.completions_per_s();
  }
  return 0;
}

bool needs_simulator(const threshold& t) {
  const metric_info* m = find_metric(t.metric);
  return m && m->detection;
}

std::vector<threshold_result> judge(const std::vector<threshold>& ts, const load_report& r) {
  std::vector<threshold_result> out;
  for (const auto& t : ts) {
    threshold_result v;
    v.expr = t.expr;
    v.metric = t.metric;
    v.observed = observe(t, r);
    switch (t.cmp) {
      case threshold::op::lt: v.ok = v.observed < t.limit; break;
      case threshold::op::le: v.ok = v.observed <= t.limit; break;
      case threshold::op::gt: v.ok = v.observed > t.limit; break;
      case threshold::op::ge: v.ok = v.observed >= t.limit; break;
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> failures(const std::vector<threshold>& ts, const std::vector<threshold_result>& verdicts) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < ts.size() && i < verdicts.size(); ++i) {
    if (verdicts[i].ok) continue;
    const threshold& t = ts[i];
    const metric_info* m = find_metric(t.metric);
    std::string unit = m && m->k == kind::latency ? " ms" : m && m->k == kind::rate ? "/s" : "";
    std::string what = t.metric == "error_ratio" ? "error ratio" : t.metric;
    std::string line = what + " " + number_text(verdicts[i].observed) + unit + " is not " + op_text(t.cmp) + " " +
                       number_text(t.limit) + unit + " (" + t.flag + ")";
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace pollster::cli::load
