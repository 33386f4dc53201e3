// The machine-readable outputs besides JSON and HTML: the per-second series
// as CSV, the final figures as OpenMetrics text, the thresholds as JUnit XML.
#pragma once

#include <string>

#include "report_format.hpp"

namespace pollster::cli::load {

/// One row per series interval: t_s, dt_s, warmup (1 for warm-up seconds),
/// requests, releases, completed, errors, open_connections, target_rate,
/// p50_us, p90_us, p99_us, max_us. RFC 4180 (CRLF line ends, a header row).
std::string to_csv(const load_report& r);

/// The final figures as OpenMetrics text (counters, gauges, a latency
/// summary), ending in "# EOF".
std::string to_openmetrics(const load_report& r);

/// One JUnit <testcase> per threshold (a <failure> when it failed); with no
/// threshold, one test case for the run itself.
std::string to_junit(const load_report& r);

}  // namespace pollster::cli::load
