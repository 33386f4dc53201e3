#include "merge.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

namespace pollster::cli {

namespace {

// Adds each named member of `from` to the same member of `into`: the
// counters that sum across intervals and shards.
template <class T, class... Member>
void add_members(T& into, const T& from, Member T::*... members) {
  ((into.*members += from.*members), ...);
}

template <class Map>
void add_counts(Map& into, const Map& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

}  // namespace

std::optional<std::string> merge_into(load_report& into, const load_report& from) {
  if (into.mode != from.mode)
    return "cannot merge a '" + from.mode + "' report into a '" + into.mode +
           "' one (closed loop and --rate runs measure different things)";
  // Series: align each interval on the wall-clock second it ended in.
  const double start = std::min(into.started_at_unix, from.started_at_unix);
  std::map<long long, interval> by_second;
  auto add_series = [&](const load_report& r) {
    for (const interval& iv : r.series) {
      const long long k = std::llround(r.started_at_unix + iv.t - start);
      interval& m = by_second[k];
      m.t = static_cast<double>(k);
      m.dt = std::max(m.dt, iv.dt);
      add_members(m, iv, &interval::requests, &interval::completed, &interval::errors,
                  &interval::open_connections, &interval::releases, &interval::target_rate);
      add_counts(m.errors_by_kind, iv.errors_by_kind);
      histogram h = m.latency();
      h.merge(iv.latency());
      m.buckets = h.sparse();
      m.max_ns = h.max();
    }
  };
  add_series(into);
  add_series(from);
  into.series.clear();
  for (auto& [k, iv] : by_second) into.series.push_back(std::move(iv));
  into.started_at_unix = start;
  into.duration_s = std::max(into.duration_s, from.duration_s);
  using r = load_report;
  add_members(into, from, &r::requests, &r::completed, &r::succeeded, &r::task_failed, &r::gone,
              &r::timed_out, &r::failed, &r::outstanding, &r::connects, &r::reconnects,
              &r::connect_failures, &r::rate_target, &r::scheduled, &r::late, &r::skipped,
              &r::releases, &r::achieved_rate, &r::shards, &r::engine_requests, &r::lists,
              &r::detected_early, &r::jobs, &r::duplicates);
  add_counts(into.errors, from.errors);
  add_counts(into.failed_by, from.failed_by);
  into.rate_shortfall = into.rate_shortfall || from.rate_shortfall;
  into.warmup_s = std::max(into.warmup_s, from.warmup_s);
  into.latency.merge(from.latency);
  into.detection_measured = into.detection_measured || from.detection_measured;
  into.detection.merge(from.detection);
  // Cluster i of each shard is added to cluster i (each shard reached the
  // same --target list, or started its own simulators).
  for (const cluster_summary& c : from.clusters) {
    auto it = std::find_if(into.clusters.begin(), into.clusters.end(),
                           [&](const cluster_summary& x) { return x.index == c.index; });
    if (it == into.clusters.end()) {
      into.clusters.push_back(c);
      continue;
    }
    add_members(*it, c, &cluster_summary::requests, &cluster_summary::lists, &cluster_summary::completed);
    it->detection.merge(c.detection);
  }
  return std::nullopt;
}

}  // namespace pollster::cli

namespace pollster::cli {

namespace {

struct shard_id {
  std::uint64_t k = 0, n = 0;
};

// "K/N" with K < N; nullopt otherwise.
std::optional<shard_id> parse_shard(const std::string& s) {
  const auto slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size()) return std::nullopt;
  shard_id id;
  const char* end = s.data() + s.size();
  auto [p1, e1] = std::from_chars(s.data(), s.data() + slash, id.k);
  auto [p2, e2] = std::from_chars(s.data() + slash + 1, end, id.n);
  if (e1 != std::errc() || e2 != std::errc() || p1 != s.data() + slash || p2 != end || id.n == 0 || id.k >= id.n)
    return std::nullopt;
  return id;
}

// What makes two reports parts of the same test: the parameters every shard shares.
const char* const same_test_parameters[] = {"target", "duration_s", "handles", "rate", "purge"};

std::string quoted(const std::string& file) { return "'" + file + "'"; }

}  // namespace

std::optional<std::string> merge_shards(const std::vector<shard_input>& inputs, bool allow_partial,
                                        load_report& out) {
  if (inputs.empty()) return "no report to merge";
  std::map<std::uint64_t, const shard_input*> by_index;
  std::uint64_t n = 0;
  const shard_input& first = inputs.front();
  for (const shard_input& in : inputs) {
    const std::string shard = in.report.parameter("shard");
    const auto id = parse_shard(shard);
    if (!id)
      return quoted(in.file) + " names no shard (its parameters.shard is " +
             (shard.empty() ? std::string("absent") : "'" + shard + "'") +
             ", not K/N): is it a report of `pollster load`, not of a merge?";
    if (in.report.mode != first.report.mode)
      return quoted(in.file) + " is a '" + in.report.mode + "' run and " + quoted(first.file) + " a '" +
             first.report.mode + "' one: closed loop and --rate runs are different tests";
    if (&in == &first) n = id->n;
    if (id->n != n)
      return quoted(in.file) + " is shard " + shard + " but " + quoted(first.file) + " is one of " +
             std::to_string(n) + " shards: reports of different tests";
    for (const char* p : same_test_parameters)
      if (in.report.parameter(p) != first.report.parameter(p))
        return quoted(in.file) + " and " + quoted(first.file) + " are reports of different tests: " + p + " is '" +
               in.report.parameter(p) + "' in one and '" + first.report.parameter(p) + "' in the other";
    if (auto [it, fresh] = by_index.emplace(id->k, &in); !fresh)
      return "shard " + shard + " is given twice: " + quoted(it->second->file) + " and " + quoted(in.file);
  }
  if (by_index.size() != n && !allow_partial) {
    std::string missing;
    for (std::uint64_t k = 0; k < n; ++k)
      if (!by_index.count(k)) missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(n);
    std::string given;
    for (const auto& [k, in] : by_index) given += (given.empty() ? "" : ", ") + quoted(in->file);
    return "shard" + std::string(n - by_index.size() > 1 ? "s " : " ") + missing + " missing (given: " + given +
           "); pass --allow-partial to merge a partial set";
  }
  out = by_index.begin()->second->report;
  out.shard_summaries.clear();
  // One shard's verdicts do not hold for the sum; a lone whole test keeps its own.
  if (by_index.size() > 1) out.thresholds.clear();
  for (auto it = std::next(by_index.begin()); it != by_index.end(); ++it)
    if (auto why = merge_into(out, it->second->report)) return quoted(it->second->file) + ": " + *why;
  for (const auto& [k, in] : by_index)
    out.shard_summaries.push_back(
        {k, in->file, in->report.requests, in->report.errors_total(), in->report.latency.percentile(99)});
  return std::nullopt;
}

}  // namespace pollster::cli
