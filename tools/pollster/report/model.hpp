// A load test's report: what `pollster load` measured and `pollster report
// merge` adds up. Rendered by table.hpp, html.hpp; read and written by json.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "histogram.hpp"

namespace pollster::cli {

/// The run's parameters as a small tree (numbers keep their text, so that
/// 64-bit counts survive exactly). Plain data: json.cpp converts it to and from
/// Boost.JSON, so that this header, included by the load tool, does not pull
/// Boost.JSON in.
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

/// One cluster's part of a run (--clusters, or several --target).
struct cluster_summary {
  std::uint64_t index = 0;
  std::string target;          ///< URL (the embedded simulator's own)
  std::uint64_t requests = 0;  ///< HTTP requests the engine sent to it (polls, lists, releases)
  std::uint64_t lists = 0;     ///< ListAsyncResults answers read
  std::uint64_t completed = 0; ///< outcomes delivered (succeeded or task_failed)
  histogram detection;         ///< detection delays (ns); empty without the embedded simulator
  double requests_per_op() const { return completed ? static_cast<double>(requests) / completed : 0; }
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
  // Gentleness (issue 11). The engine's own count of what it sent, which,
  // unlike `requests`, includes lists; and, where the embedded simulator runs
  // (it knows when each job completed), the detection delay: from the job's
  // completion on the simulator to the delivery of its outcome.
  std::uint64_t engine_requests = 0;  ///< every HTTP request the engines sent (0: not known)
  std::uint64_t lists = 0;            ///< ListAsyncResults answers read
  bool detection_measured = false;    ///< the embedded simulator ran: `detection` means something
  histogram detection;                ///< detection delays (ns)
  std::uint64_t detected_early = 0;   ///< outcomes delivered before their completion (never expected)
  std::vector<cluster_summary> clusters;  ///< per cluster, when there are several
  std::uint64_t jobs = 0;        ///< --jobs: operations in all (0: the plain closed loop)
  std::uint64_t duplicates = 0;  ///< --jobs: second deliveries for one handle (never expected)
  /// --jobs: jobs whose outcome was never delivered (lost, gone, failed or still running).
  std::uint64_t undelivered() const {
    const std::uint64_t distinct = completed - std::min(completed, duplicates);
    return jobs > distinct ? jobs - distinct : 0;
  }
  /// engine_requests per completed operation (0 when none completed).
  double requests_per_op() const { return completed ? static_cast<double>(engine_requests) / completed : 0; }

  std::uint64_t errors_total() const;
  /// errors / requests (errors when nothing was sent).
  double error_ratio() const;
  double requests_per_s() const { return duration_s > 0 ? requests / duration_s : 0; }
  double completions_per_s() const { return duration_s > 0 ? completed / duration_s : 0; }
  /// A parameter as text ("" when absent or not a scalar).
  std::string parameter(std::string_view name) const;
};

/// nullopt when within the thresholds (negative: not set), else the reason.
/// (--max-p99 and --max-error-ratio; the load side's --threshold supersedes it.)
std::optional<std::string> check_thresholds(const load_report& r, double max_p99_ms,
                                            double max_error_ratio);

}  // namespace pollster::cli
