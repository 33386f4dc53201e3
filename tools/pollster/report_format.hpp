// A load test's report: what `pollster load` measured and `pollster report
// merge` adds up. Written as a table (stdout), JSON (--json) and a self-
// contained HTML page (--html); read back from JSON for merging.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "histogram.hpp"

namespace pollster::cli {

/// A small JSON value: enough to read reports back (numbers keep their text,
/// so that 64-bit counts survive exactly).
struct json_value {
  enum class type { null, boolean, number, string, array, object } kind = type::null;
  bool boolean = false;
  std::string text;  ///< string contents, or a number's text
  std::vector<json_value> items;
  std::vector<std::pair<std::string, json_value>> members;

  const json_value* find(std::string_view key) const;
  bool is_number() const { return kind == type::number; }
  double as_double() const;
  /// A non-negative integer; nullopt otherwise.
  std::optional<std::uint64_t> as_u64() const;
};

/// Parses one JSON document; nullopt with `why` (one line) on error.
std::optional<json_value> parse_json(std::string_view text, std::string& why);
/// Serialises a value compactly.
void write_json(std::string& out, const json_value& v);

/// One interval of the run (normally one second).
struct interval {
  double t = 0;   ///< seconds from the start to the end of this interval
  double dt = 0;  ///< its length in seconds
  std::uint64_t requests = 0, completed = 0, errors = 0, open_connections = 0;
  /// Latencies answered in this interval: (bucket index, count), merged exactly.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;
  std::uint64_t max_ns = 0;  ///< exact largest latency (0: unknown, the top bucket's bound)
  std::uint64_t releases = 0;  ///< ListAsyncResults releases sent in this interval (open loop)
  double target_rate = 0;      ///< sends per second asked for in this interval (open loop; 0: none)
  std::map<std::string, std::uint64_t> errors_by_kind;  ///< this interval's errors, by kind
  histogram latency() const;
};

/// One --threshold's verdict, as the report keeps it.
struct threshold_result {
  std::string expr;    ///< as the user wrote it, e.g. "p99<250ms"
  std::string metric;  ///< e.g. "p99", "error_ratio"
  double observed = 0; ///< the metric's value (latencies in ms, ratios as fractions, rates per s)
  bool ok = true;
};

/// One input of `report merge`, so that a bad shard can be spotted.
struct shard_summary {
  std::uint64_t index = 0;  ///< K of the shard's K/N (0 when the report names none)
  std::string file;         ///< the report file it was read from
  std::uint64_t requests = 0, errors = 0;
  std::uint64_t p99_ns = 0;
};

struct load_report {
  int schema_version = 1;  ///< the JSON layout's version ("schema_version")
  std::string version;     ///< pollster's version that ran the test (empty: this one)
  std::string command_line;  ///< the command as typed, for the page and the record
  std::string mode = "closed";  ///< "closed" (N handles outstanding) or "rate" (open loop)
  double started_at_unix = 0;
  double duration_s = 0;
  std::uint64_t requests = 0;   ///< HTTP exchanges answered or failed on the wire
  std::uint64_t completed = 0;  ///< operations seen complete (succeeded + task_failed)
  std::uint64_t succeeded = 0, task_failed = 0, gone = 0, timed_out = 0, failed = 0;
  std::uint64_t outstanding = 0;  ///< waits still running at the end (cancelled)
  std::map<std::string, std::uint64_t> errors;  ///< failed requests and connects, by kind
  std::map<std::string, std::uint64_t> failed_by;  ///< waits that ended `failed`, by why
  std::uint64_t connects = 0, reconnects = 0, connect_failures = 0;
  // Open loop (--rate) only:
  double rate_target = 0;  ///< sends per second asked for
  std::uint64_t scheduled = 0, late = 0, skipped = 0;
  std::uint64_t releases = 0;  ///< ListAsyncResults releases, counted apart from the polls
  double achieved_rate = 0;    ///< polls per second actually sent
  bool rate_shortfall = false; ///< achieved more than 5% below target, or more than 1% of sends late
  double warmup_s = 0;  ///< series entries with t <= warmup_s are warm-up, left out of the figures
  std::vector<threshold_result> thresholds;
  std::vector<shard_summary> shard_summaries;  ///< filled by `report merge`, one per input
  std::uint64_t shards = 1;  ///< reports merged into this one
  json_value parameters;     ///< the run's parameters (an object)
  histogram latency;
  std::vector<interval> series;

  std::uint64_t errors_total() const;
  /// errors / requests (errors when nothing was sent).
  double error_ratio() const;
  double requests_per_s() const { return duration_s > 0 ? requests / duration_s : 0; }
  double completions_per_s() const { return duration_s > 0 ? completed / duration_s : 0; }
};

std::string to_json(const load_report& r);
std::optional<load_report> from_json(std::string_view text, std::string& why);
/// One line naming the target and the load (from the parameters).
std::string describe(const load_report& r);
/// The readable table printed at the end of a run (several lines, ends in '\n').
std::string to_table(const load_report& r);
/// A self-contained HTML page: summary table and inline SVG charts per second.
std::string to_html(const load_report& r);

/// Adds `from` to `into`: counts summed, histograms merged, duration the
/// longest, series aligned on wall-clock seconds. Returns a reason when the
/// two cannot be merged (different modes).
std::optional<std::string> merge_into(load_report& into, const load_report& from);

/// nullopt when within the thresholds (negative: not set), else the reason.
std::optional<std::string> check_thresholds(const load_report& r, double max_p99_ms,
                                            double max_error_ratio);

/// "1.23 ms", "870 µs", "12.3 s".
std::string format_latency(std::uint64_t ns);

}  // namespace pollster::cli
