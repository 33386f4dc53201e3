// --threshold EXPR, k6-style: METRIC OP VALUE, e.g. "p99<250ms",
// "error_ratio<=1%", "rate>=950". Parsed before the run, judged after it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report_format.hpp"

namespace pollster::cli::load {

struct threshold {
  enum class op { lt, le, gt, ge };
  std::string expr;    ///< as written (or, for an alias flag, its spelling as an expression)
  std::string flag;    ///< the flag and value as given: "--threshold p99<1s", "--max-p99 250"
  std::string metric;  ///< p50 p90 p99 p99.9 max error_ratio operation_error_ratio rate completed_rate
                       ///< detection_delay_p99 detection_delay_mean requests_per_op
  op cmp = op::lt;
  double limit = 0;  ///< in the metric's report unit: ms for latencies, a fraction, per second
};

/// Parses one expression. Metrics: p50|p90|p99|p99.9|max with a unit
/// (us, ms, s; compound durations like 1m30s too), error_ratio and
/// operation_error_ratio (0.01 or 1%), rate and completed_rate (per second),
/// detection_delay_p99 and detection_delay_mean (durations), requests_per_op
/// (a number).
/// Operators <, <=, >, >=; spaces around them allowed. nullopt with `why`
/// quoting the expression otherwise.
std::optional<threshold> parse_threshold(std::string_view expr, std::string& why);

/// The metric is measured only where the embedded simulator runs (the
/// detection delay: it knows when each job completed).
bool needs_simulator(const threshold& t);

/// The metric's value in `r` (latencies in ms).
double observe(const threshold& t, const load_report& r);

/// Every threshold's verdict, in order.
std::vector<threshold_result> judge(const std::vector<threshold>& ts, const load_report& r);

/// "p99<250ms: observed 312.5 ms" (one line per failed threshold), empty when all pass.
std::vector<std::string> failures(const std::vector<threshold>& ts, const std::vector<threshold_result>& verdicts);

}  // namespace pollster::cli::load
