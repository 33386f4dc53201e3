// The job store: creating jobs (started, automatic, other clients'), their
// completion and the retention bound, the seeded decisions, the ground truth
// record(), the stats.
#include "model.hpp"

#include "pollster/tools/splitmix64.hpp"

#include <algorithm>
#include <limits>

namespace pollster::sim {
namespace detail {

using tools::splitmix64;
inline double unit(std::uint64_t v) noexcept { return tools::unit_interval(v); }

cluster::cluster(const config& cfg, std::int64_t wall_epoch_ms)
    : cfg_(cfg), wall_epoch_ms_(wall_epoch_ms), rng_state_(cfg.seed ^ 0x5851f42d4c957f2dULL) {
  const faults& f = cfg_.fault;
  any_fault_ = f.latency_ratio > 0 || f.retryable_error_ratio > 0 || f.transient_gone_ratio > 0 ||
               f.http_503_ratio > 0 || f.connection_close_ratio > 0 || f.reset_mid_response_ratio > 0 ||
               f.drop_after_purge_ratio > 0;
  set_supported_versions({cfg_.api_version});
  // Other clients' results: complete from the start, a mix of result types.
  static constexpr job_kind mix[] = {job_kind::clone, job_kind::clone,     job_kind::copy,
                                     job_kind::bulk_read, job_kind::drive_add, job_kind::drive_remove};
  for (std::size_t i = 0; i < cfg_.other_results; ++i) {
    const std::uint64_t h = cfg_.other_results_first_handle + i;
    job j;
    j.kind = mix[i % std::size(mix)];
    j.aux = default_aux(j.kind, h);
    j.flags = job::other;
    if (unit(job_random(h, 3)) < cfg_.fail_ratio) j.flags |= job::failed;
    insert(h, j);
  }
  advance(0);
}

std::optional<std::uint64_t> cluster::end_ms(std::uint64_t handle) const {
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.end_ms();
}

std::uint64_t cluster::next_random() noexcept { return splitmix64(rng_state_); }

std::uint64_t cluster::job_random(std::uint64_t handle, std::uint64_t salt) const noexcept {
  std::uint64_t x = cfg_.seed * 0x9e3779b97f4a7c15ULL ^ (handle * 0xd1b54a32d192ed03ULL) ^ (salt << 56);
  splitmix64(x);
  return splitmix64(x);
}

decision cluster::draw_faults() {
  decision d;
  if (!any_fault_) return d;
  const faults& f = cfg_.fault;
  double u[10];
  for (double& x : u) x = unit(next_random());
  d.http_503 = u[0] < f.http_503_ratio;
  if (u[1] < f.retryable_error_ratio) d.retryable = u[2] < 0.5 ? 1 : 2;
  d.transient_gone = u[3] < f.transient_gone_ratio;
  d.reset_mid = u[4] < f.reset_mid_response_ratio;
  d.drop_after_purge = u[5] < f.drop_after_purge_ratio;
  d.connection_close = u[6] < f.connection_close_ratio;
  if (u[7] < f.latency_ratio) d.latency = sample(f.latency, u[8], u[9]);
  return d;
}

std::uint64_t cluster::new_handle() {
  while (jobs_.contains(next_handle_)) ++next_handle_;
  return next_handle_++;
}

job cluster::make_job(std::uint64_t handle, job_kind kind, std::uint32_t now_ms, std::uint32_t aux) const {
  job j;
  j.start_ms = now_ms;
  duration run = sample(cfg_.job_duration, unit(job_random(handle, 1)), unit(job_random(handle, 2)));
  std::int64_t ms = (std::max<std::int64_t>(run.count(), 0) + 999'999) / 1'000'000;
  j.run_ms = static_cast<std::uint32_t>(std::min<std::int64_t>(ms, std::numeric_limits<std::uint32_t>::max()));
  j.kind = kind;
  j.aux = aux;
  if (unit(job_random(handle, 3)) < cfg_.fail_ratio) j.flags |= job::failed;
  return j;
}

void cluster::insert(std::uint64_t handle, const job& j) {
  jobs_.emplace(handle, j);
  running_.push(pending{j.end_ms(), handle});
}

std::uint64_t cluster::create_job(job_kind kind, std::uint32_t now_ms, std::uint32_t run_ms, bool fail,
                                  std::uint32_t aux) {
  std::uint64_t h = new_handle();
  job j;
  j.start_ms = now_ms;
  j.run_ms = run_ms;
  j.kind = kind;
  j.aux = aux ? aux : default_aux(kind, h);
  if (fail) j.flags |= job::failed;
  insert(h, j);
  return h;
}

void cluster::advance(std::uint32_t now_ms) {
  while (!running_.empty() && running_.top().end_ms <= now_ms) {
    std::uint64_t h = running_.top().handle;
    running_.pop();
    auto it = jobs_.find(h);
    if (it == jobs_.end() || (it->second.flags & job::purged)) continue;
    completed_.push_back(h);
    ++completed_unpurged_;
  }
  std::size_t bound = cfg_.retention;
  if (bound != 0) {
    while (completed_unpurged_ > bound && !completed_.empty()) {
      std::uint64_t h = completed_.front();
      completed_.pop_front();
      auto it = jobs_.find(h);
      if (it == jobs_.end() || (it->second.flags & job::purged)) continue;
      it->second.flags |= job::purged | job::evicted;
      --completed_unpurged_;
      ++evicted_;
    }
  }
  // Purged results leave stale entries in the queue; compact once they dominate.
  if (completed_.size() > 4096 && completed_.size() > 2 * completed_unpurged_) {
    std::deque<std::uint64_t> kept;
    for (std::uint64_t h : completed_) {
      auto it = jobs_.find(h);
      if (it != jobs_.end() && !(it->second.flags & job::purged)) kept.push_back(h);
    }
    completed_.swap(kept);
  }
}

void cluster::answer_delivered(std::uint64_t handle) noexcept {
  auto it = jobs_.find(handle);
  if (it != jobs_.end() && it->second.complete_answers != std::numeric_limits<std::uint16_t>::max())
    ++it->second.complete_answers;
}

void cluster::answer_undelivered(std::uint64_t handle) noexcept {
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return;
  if (it->second.complete_answers != 0 &&
      it->second.complete_answers != std::numeric_limits<std::uint16_t>::max())
    --it->second.complete_answers;
  it->second.flags |= job::lost;
}

void cluster::answer_lost(std::uint64_t handle) noexcept {
  auto it = jobs_.find(handle);
  if (it != jobs_.end()) it->second.flags |= job::lost;
}

void cluster::count_method(const rpc_call& call) {
  if (call.st == rpc_call::status::malformed || call.method_name.empty()) {
    ++invalid_requests_;
  } else if (call.m != method::unknown) {
    ++method_counts_[static_cast<std::size_t>(call.m)];
  } else {
    auto it = unknown_methods_.find(std::string(call.method_name));
    if (it != unknown_methods_.end()) ++it->second;
    else if (unknown_methods_.size() < 64) unknown_methods_.emplace(std::string(call.method_name), 1);
    else ++unknown_methods_["(other)"];
  }
}

std::optional<job_record> cluster::record(std::uint64_t handle, std::uint32_t now_ms) {
  advance(now_ms);
  auto it = jobs_.find(handle);
  if (it == jobs_.end()) return std::nullopt;
  const job& j = it->second;
  job_record r;
  r.handle = handle;
  r.result_type = std::string(result_type_name(j.kind));
  r.failed = j.flags & job::failed;
  r.complete = now_ms >= j.end_ms();
  r.purged = j.flags & job::purged;
  r.complete_answers = j.complete_answers;
  write_task_payload(r.result_json, handle, j);
  r.evicted = j.flags & job::evicted;
  r.automatic = j.flags & job::automatic;
  r.answer_lost = j.flags & job::lost;
  r.other = j.flags & job::other;
  return r;
}

void cluster::fill(stats& s, std::uint32_t now_ms) {
  advance(now_ms);
  for (std::size_t i = 0; i + 1 < method_count; ++i)
    if (method_counts_[i]) s.requests_by_method[std::string(method_name(static_cast<method>(i)))] += method_counts_[i];
  for (const auto& [name, n] : unknown_methods_) s.requests_by_method[name] += n;
  if (invalid_requests_) s.requests_by_method["(invalid)"] += invalid_requests_;
  for (std::size_t i = 0; i < fault_count; ++i) s.faults_injected[std::string(fault_name(static_cast<fault_id>(i)))] += faults_[i];
  s.results_purged = purged_;
  s.results_evicted = evicted_;
  s.running_jobs = running_.size();
  s.live_jobs = running_.size() + completed_unpurged_;
}

}  // namespace detail

std::string to_json(const stats& s) {
  std::string out;
  auto counts = [&](std::string_view name, const std::map<std::string, std::uint64_t>& m) {
    out.append(name);
    bool first = true;
    for (const auto& [k, v] : m) {
      if (!first) out.push_back(',');
      first = false;
      out.push_back('"');
      detail::append_escaped(out, k);
      out.append("\":");
      detail::append_uint(out, v);
    }
  };
  counts("{\"requests_by_method\":{", s.requests_by_method);
  counts("},\"faults_injected\":{", s.faults_injected);
  auto field = [&](std::string_view name, std::uint64_t v) {
    out.append(",\"");
    out.append(name);
    out.append("\":");
    detail::append_uint(out, v);
  };
  out.push_back('}');
  field("requests_total", s.requests_total);
  field("http_401", s.http_401);
  field("results_purged", s.results_purged);
  field("results_evicted", s.results_evicted);
  field("live_jobs", s.live_jobs);
  field("running_jobs", s.running_jobs);
  field("connections_open", s.connections_open);
  field("connections_accepted", s.connections_accepted);
  field("service_time_ns", s.service_time_ns);
  out.push_back('}');
  return out;
}

}  // namespace pollster::sim
