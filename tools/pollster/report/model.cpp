#include "model.hpp"

#include <charconv>

#include "table.hpp"

namespace pollster::cli {

const json_value* json_value::find(std::string_view key) const {
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

double json_value::as_double() const {
  if (kind != type::number) return 0;
  double d = 0;  // from_chars reads exponents too ("5E-1", as Boost.JSON writes doubles)
  std::from_chars(text.data(), text.data() + text.size(), d);
  return d;
}

std::optional<std::uint64_t> json_value::as_u64() const {
  if (kind != type::number || text.empty()) return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

histogram interval::latency() const {
  histogram h;
  for (const auto& [i, c] : buckets) h.add_bucket(i, c);
  if (max_ns && h.count() && histogram::index_of(max_ns) == histogram::index_of(h.max()))
    h.set_extremes(h.min(), max_ns, h.sum());
  return h;
}

std::uint64_t load_report::errors_total() const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : errors) n += v;
  return n;
}

double load_report::error_ratio() const {
  const double e = static_cast<double>(errors_total());
  return requests ? e / static_cast<double>(requests) : e;
}

std::string load_report::parameter(std::string_view name) const {
  const json_value* v = parameters.find(name);
  if (!v) return {};
  if (v->kind == json_value::type::string || v->kind == json_value::type::number) return v->text;
  if (v->kind == json_value::type::boolean) return v->boolean ? "true" : "false";
  return {};
}

std::optional<std::string> check_thresholds(const load_report& r, double max_p99_ms,
                                            double max_error_ratio) {
  std::string reasons;
  auto add = [&](const std::string& s) {
    if (!reasons.empty()) reasons += "; ";
    reasons += s;
  };
  if (max_p99_ms >= 0) {
    const double p99_ms = static_cast<double>(r.latency.percentile(99)) / 1e6;
    if (p99_ms > max_p99_ms)
      add("p99 latency " + fixed(p99_ms, 3) + " ms is above --max-p99 " + fixed(max_p99_ms, 3) + " ms");
  }
  if (max_error_ratio >= 0) {
    if (r.error_ratio() > max_error_ratio)
      add("error ratio " + fixed(r.error_ratio(), 6) + " (" + std::to_string(r.errors_total()) +
          " errors / " + std::to_string(r.requests) + " requests) is above --max-error-ratio " +
          fixed(max_error_ratio, 6));
    const std::uint64_t bad = r.gone + r.timed_out + r.failed;
    const std::uint64_t ended = bad + r.completed;
    if (ended && static_cast<double>(bad) / ended > max_error_ratio)
      add(std::to_string(bad) + " of " + std::to_string(ended) +
          " operations ended without completing (gone, timed out or failed), above --max-error-ratio " +
          fixed(max_error_ratio, 6));
  }
  if (reasons.empty()) return std::nullopt;
  return reasons;
}

}  // namespace pollster::cli
