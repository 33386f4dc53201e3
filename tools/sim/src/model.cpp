#include "model.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace pollster::sim {

// ---------------------------------------------------------------- durations

namespace {

bool parse_one_duration(std::string_view s, duration& out) {
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0) return false;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (ec != std::errc{} || p != s.data() + i || !std::isfinite(v) || v < 0) return false;
  std::string_view unit = s.substr(i);
  double mult = 0;
  if (unit == "ns") mult = 1;
  else if (unit == "us") mult = 1e3;
  else if (unit == "ms") mult = 1e6;
  else if (unit == "s") mult = 1e9;
  else if (unit == "m" || unit == "min") mult = 60e9;
  else if (unit == "h") mult = 3600e9;
  else if (unit.empty() && v == 0) mult = 1;
  else return false;
  double ns = v * mult;
  if (ns > 1e18) return false;
  out = duration(static_cast<std::int64_t>(std::llround(ns)));
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

}  // namespace

std::optional<duration_dist> duration_dist::parse(const std::string& text, std::string& why) {
  auto parts = split(text, ':');
  duration_dist d;
  auto bad_duration = [&](std::string_view p) {
    why = "'" + std::string(p) + "' is not a duration (like 150ms, 2s, 1.5m)";
    return std::nullopt;
  };
  if (parts.size() == 1 || (parts.size() == 2 && parts[0] == "fixed")) {
    std::string_view v = parts.back();
    d.shape = kind::fixed;
    if (!parse_one_duration(v, d.a)) return bad_duration(v);
    return d;
  }
  if (parts.size() == 3 && parts[0] == "uniform") {
    d.shape = kind::uniform;
    if (!parse_one_duration(parts[1], d.a)) return bad_duration(parts[1]);
    if (!parse_one_duration(parts[2], d.b)) return bad_duration(parts[2]);
    if (d.b < d.a) {
      why = "uniform:LOW:HIGH needs LOW <= HIGH";
      return std::nullopt;
    }
    return d;
  }
  if (parts.size() == 3 && parts[0] == "lognormal") {
    d.shape = kind::lognormal;
    if (!parse_one_duration(parts[1], d.a)) return bad_duration(parts[1]);
    double sigma = 0;
    auto [p, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), sigma);
    if (ec != std::errc{} || p != parts[2].data() + parts[2].size() || !std::isfinite(sigma) || sigma < 0 ||
        sigma > 10) {
      why = "lognormal:MEDIAN:SIGMA needs a SIGMA between 0 and 10";
      return std::nullopt;
    }
    d.sigma = sigma;
    return d;
  }
  why = "'" + text + "' is not a duration distribution (2s, uniform:1s:5s, lognormal:2s:0.5)";
  return std::nullopt;
}

namespace detail {

duration sample(const duration_dist& d, double u1, double u2) noexcept {
  switch (d.shape) {
    case duration_dist::kind::fixed:
      return d.a;
    case duration_dist::kind::uniform:
      return d.a + duration(static_cast<std::int64_t>(u1 * static_cast<double>((d.b - d.a).count())));
    case duration_dist::kind::lognormal: {
      constexpr double two_pi = 6.283185307179586;
      double z = std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(two_pi * u2);
      double ns = static_cast<double>(d.a.count()) * std::exp(d.sigma * z);
      if (!(ns < 4e18)) ns = 4e18;
      return duration(static_cast<std::int64_t>(ns));
    }
  }
  return d.a;
}

// ------------------------------------------------------------------- names

namespace {
constexpr std::array<std::string_view, method_count> method_names{
    "GetAsyncResult", "ListAsyncResults", "GetAPI",     "CloneVolume",
    "CloneMultipleVolumes", "CopyVolume", "StartBulkVolumeRead", "StartBulkVolumeWrite",
    "AddDrives",      "RemoveDrives",     "ListVolumes", "ListVolumesForAccount",
    "GetClusterInfo", "GetClusterVersionInfo", "ListBulkVolumeJobs", "ListSyncJobs",
    "(unknown)"};

constexpr std::array<std::string_view, fault_count> fault_names{
    "latency",          "xDBVersionMismatch",   "xNotPrimary",        "transient_xDBNoSuchPath",
    "http_503",         "connection_close",     "close_after_requests", "reset_mid_response",
    "drop_after_purge", "failover",             "slow_handshake"};

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double unit(std::uint64_t v) noexcept { return static_cast<double>(v >> 11) * 0x1.0p-53; }

std::uint64_t multi_volume_id(std::uint64_t h, std::size_t i) noexcept { return 1000000 + h * 256 + i; }


std::uint32_t default_aux(job_kind k, std::uint64_t h) noexcept {
  switch (k) {
    case job_kind::bulk_read:
    case job_kind::bulk_write:
    case job_kind::copy:
      return static_cast<std::uint32_t>(h % 4000 + 1);
    case job_kind::drive_add:
    case job_kind::drive_remove:
      return 1;
    default:
      return 0;
  }
}


}  // namespace

std::string_view method_name(method m) noexcept { return method_names[static_cast<std::size_t>(m)]; }

method method_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i + 1 < method_count; ++i)
    if (method_names[i] == name) return static_cast<method>(i);
  return method::unknown;
}

std::uint8_t result_type_bit(std::string_view name) noexcept {
  if (name == "Clone") return rt_clone;
  if (name == "BulkVolume") return rt_bulk_volume;
  if (name == "DriveAdd") return rt_drive_add;
  if (name == "DriveRemoval") return rt_drive_removal;
  if (name == "RtfiPendingNode") return rt_rtfi_pending_node;
  return 0;
}

std::string_view result_type_name(job_kind k) noexcept {
  switch (k) {
    case job_kind::clone:
    case job_kind::clone_multi:
    case job_kind::copy:
      return "Clone";
    case job_kind::bulk_read:
    case job_kind::bulk_write:
      return "BulkVolume";
    case job_kind::drive_add:
      return "DriveAdd";
    case job_kind::drive_remove:
      return "DriveRemoval";
    case job_kind::rtfi:
      return "RtfiPendingNode";
  }
  return "Clone";
}

std::uint8_t result_type_bit(job_kind k) noexcept { return result_type_bit(result_type_name(k)); }

std::optional<job_kind> job_kind_from_result_type(std::string_view name) noexcept {
  if (name == "Clone") return job_kind::clone;
  if (name == "BulkVolume") return job_kind::bulk_read;
  if (name == "DriveAdd") return job_kind::drive_add;
  if (name == "DriveRemoval") return job_kind::drive_remove;
  if (name == "RtfiPendingNode") return job_kind::rtfi;
  return std::nullopt;
}

std::string_view fault_name(fault_id f) noexcept { return fault_names[static_cast<std::size_t>(f)]; }

// ------------------------------------------------------------ JSON writing

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out.append("\\u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_fixed(std::string& out, double v, int precision) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, precision);
  out.append(buf, r.ptr);
}

unsigned api_major(std::string_view version) noexcept {
  unsigned v = 0;
  std::from_chars(version.data(), version.data() + version.size(), v);
  return v;
}

void append_iso8601(std::string& out, std::int64_t unix_ms) {
  std::int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  std::int64_t sod = secs - days * 86400;
  // civil_from_days (H. Hinnant)
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  std::int64_t doe = days - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[20];
  auto two = [](char* p, std::int64_t v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  std::int64_t yy = std::clamp<std::int64_t>(y, 0, 9999);
  buf[0] = static_cast<char>('0' + yy / 1000);
  buf[1] = static_cast<char>('0' + yy / 100 % 10);
  two(buf + 2, yy % 100);
  buf[4] = '-';
  two(buf + 5, m);
  buf[7] = '-';
  two(buf + 8, d);
  buf[10] = 'T';
  two(buf + 11, sod / 3600);
  buf[13] = ':';
  two(buf + 14, sod / 60 % 60);
  buf[16] = ':';
  two(buf + 17, sod % 60);
  buf[19] = 'Z';
  out.append(buf, 20);
}

// ------------------------------------------------------------------ cluster

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

void cluster::write_time(std::string& out, std::uint64_t ms) const {
  append_iso8601(out, wall_epoch_ms_ + static_cast<std::int64_t>(ms));
}

void cluster::write_error(std::string& out, std::string_view id, std::string_view name,
                          std::string_view message) {
  out.append(R"({"error":{"code":500,"message":")");
  append_escaped(out, message);
  out.append(R"(","name":")");
  out.append(name);
  out.append(R"("},"id":)");
  out.append(id);
  out.push_back('}');
}

void cluster::write_no_such_path(std::string& out, std::string_view id, std::int64_t handle) {
  out.append(R"({"error":{"code":500,"message":"DBClient operation requested on a non-existent path at [/asyncresults/)");
  append_int(out, handle);
  out.append(R"(]","name":"xDBNoSuchPath"},"id":)");
  out.append(id);
  out.push_back('}');
}

void cluster::write_unknown_handle(std::string& out, std::string_view id, std::int64_t handle, bool api12) {
  if (!api12) {
    write_no_such_path(out, id, handle);
    return;
  }
  out.append(R"({"error":{"code":500,"message":"Async handle )");
  append_int(out, handle);
  out.append(R"( does not exist.","name":"xAsyncHandleDoesNotExist"},"id":)");
  out.append(id);
  out.push_back('}');
}

void cluster::write_details(std::string& out, const job& j, std::uint32_t now_ms) const {
  double frac = 0;
  if (j.run_ms > 0 && now_ms > j.start_ms)
    frac = std::min(0.9999, static_cast<double>(now_ms - j.start_ms) / j.run_ms);
  double pct = std::floor(frac * 10000) / 100;
  // Members in sorted order, as every real answer has them.
  if (is_clone_kind(j.kind)) {
    double seconds = std::max(0.001, j.run_ms / 1000.0);
    out.append(R"({"bytesPerSecond":)");
    append_fixed(out, static_cast<double>(total_bytes) / seconds, 1);
    out.append(R"(,"currentBytes":)");
    append_uint(out, static_cast<std::uint64_t>(frac * static_cast<double>(total_bytes)));
    out.append(R"(,"percentComplete":)");
    append_fixed(out, pct, 2);
    out.append(R"(,"stage":"whole","totalBytes":)");
    append_uint(out, total_bytes);
  } else {
    out.append(R"({"percentComplete":)");
    append_fixed(out, pct, 2);
  }
  out.push_back('}');
}

void cluster::write_task_payload(std::string& out, std::uint64_t h, const job& j) const {
  const bool failed = j.flags & job::failed;
  switch (j.kind) {
    case job_kind::clone:
    case job_kind::copy:
      out.append(R"({"cloneID":)");
      append_uint(out, clone_id(h));
      out.append(failed ? R"(,"message":"Clone failed","name":"xCloneFailed","volumeID":)"
                        : R"(,"message":"Clone complete.","volumeID":)");
      append_uint(out, j.kind == job_kind::copy ? j.aux : clone_volume_id(h));
      out.push_back('}');
      return;
    case job_kind::clone_multi: {
      out.append(R"({"groupCloneID":)");
      append_uint(out, clone_id(h));
      if (failed) {
        out.append(R"(,"message":"Clone failed","name":"xCloneFailed"})");
        return;
      }
      out.append(R"(,"members":[)");
      auto it = multi_sources_.find(h);
      if (it != multi_sources_.end()) {
        for (std::size_t i = 0; i < it->second.size(); ++i) {
          if (i) out.push_back(',');
          out.append(R"({"srcVolumeID":)");
          append_int(out, it->second[i]);
          out.append(R"(,"volumeID":)");
          append_uint(out, multi_volume_id(h, i));
          out.push_back('}');
        }
      }
      out.append(R"(],"message":"Clone complete."})");
      return;
    }
    case job_kind::bulk_read:
    case job_kind::bulk_write:
      out.append(R"({"bvID":)");
      append_uint(out, h);
      out.append(failed ? R"(,"message":"Bulk volume job failed","name":"xBulkVolumeScriptFailure","volumeID":)"
                        : R"(,"message":"Bulk volume job succeeded","volumeID":)");
      append_uint(out, j.aux);
      out.push_back('}');
      return;
    case job_kind::drive_add:
      if (failed) {
        out.append(R"({"message":"Drive add failed","name":"xDriveAddFailed"})");
      } else {
        out.append(R"({"message":"Drives added.","numDrives":)");
        append_uint(out, j.aux);
        out.push_back('}');
      }
      return;
    case job_kind::drive_remove:
      if (failed) {
        out.append(R"({"message":"Drive removal failed","name":"xDriveRemovalFailed"})");
      } else {
        out.append(R"({"message":"Drives removed.","numDrives":)");
        append_uint(out, j.aux);
        out.push_back('}');
      }
      return;
    case job_kind::rtfi:
      out.append(failed ? R"({"message":"RTFI failed","name":"xRtfiFailed"})" : R"({"message":"RTFI complete."})");
      return;
  }
}

answer_info cluster::answer(const rpc_call& c, const decision& d, std::uint32_t now_ms, std::string& out,
                            std::string_view api_version) {
  count_method(c);
  advance(now_ms);
  if (c.st == rpc_call::status::malformed) {
    write_error(out, "null", "xInvalidRequest", std::string("Malformed request: ") + std::string(c.detail));
    return {};
  }
  if (c.st == rpc_call::status::bad_envelope) {
    write_error(out, c.id_raw, "xInvalidRequest", std::string("Invalid request: ") + std::string(c.detail));
    return {};
  }
  if (c.m == method::unknown) {
    write_error(out, c.id_raw, "xUnknownAPIMethod", "Unknown method '" + std::string(c.method_name) + "'");
    return {};
  }
  if (d.retryable == 1) {
    count_fault(fault_id::db_version_mismatch);
    write_error(out, c.id_raw, "xDBVersionMismatch",
                "DBClient version mismatch: the cluster database changed during the request");
    return {};
  }
  if (d.retryable == 2) {
    count_fault(fault_id::not_primary);
    write_error(out, c.id_raw, "xNotPrimary", "This node is not the primary for the requested service");
    return {};
  }
  switch (c.m) {
    case method::get_async_result:
      return get_async_result(c, d, now_ms, out, api_major(api_version.empty() ? cfg_.api_version : api_version) >= 12);
    case method::list_async_results: {
      param_check pc;
      require(pc, c.result_types_st, "asyncResultTypes", "array of result type names", false);
      if (!pc.ok()) {
        write_error(out, c.id_raw, "xInvalidParameter", pc.message);
        return {};
      }
      list_async_results(c, now_ms, out);
      return {};
    }
    case method::get_api:
      get_api(c, out);
      return {};
    case method::list_volumes:
    case method::list_volumes_for_account:
      list_volumes(c, now_ms, out, c.m == method::list_volumes_for_account);
      return {};
    case method::get_cluster_info:
      get_cluster_info(c, out);
      return {};
    case method::get_cluster_version_info:
      get_cluster_version_info(c, out);
      return {};
    case method::list_bulk_volume_jobs:
      list_bulk_volume_jobs(c, now_ms, out);
      return {};
    case method::list_sync_jobs:
      list_sync_jobs(c, now_ms, out);
      return {};
    default:
      start_job(c, now_ms, out);
      return {};
  }
}

answer_info cluster::get_async_result(const rpc_call& c, const decision& d, std::uint32_t now_ms,
                                      std::string& out, bool api12) {
  param_check pc;
  require(pc, c.async_handle_st, "asyncHandle", "integer");
  require(pc, c.keep_result_st, "keepResult", "boolean", false);
  if (!pc.ok()) {
    write_error(out, c.id_raw, "xInvalidParameter", pc.message);
    return {};
  }
  if (c.async_handle <= 0) {
    write_unknown_handle(out, c.id_raw, c.async_handle, api12);
    return {};
  }
  const auto h = static_cast<std::uint64_t>(c.async_handle);
  auto it = jobs_.find(h);
  if (it == jobs_.end()) {
    if (!cfg_.auto_jobs) {
      write_unknown_handle(out, c.id_raw, c.async_handle, api12);
      return {};
    }
    job_kind kind = job_kind_from_result_type(cfg_.auto_job_result_type).value_or(job_kind::clone);
    job j = make_job(h, kind, now_ms, default_aux(kind, h));
    j.flags |= job::automatic;
    insert(h, j);
    advance(now_ms);
    it = jobs_.find(h);
  }
  job& j = it->second;
  if (j.flags & job::purged) {  // the result's path existed: the vendor's xDBNoSuchPath
    write_no_such_path(out, c.id_raw, c.async_handle);
    return {};
  }
  if (d.transient_gone) {
    count_fault(fault_id::transient_gone);
    write_no_such_path(out, c.id_raw, c.async_handle);
    return {};
  }
  const bool complete = now_ms >= j.end_ms();
  const bool failed = j.flags & job::failed;
  out.append(R"({"id":)");
  out.append(c.id_raw);
  out.append(R"(,"result":{"createTime":")");
  write_time(out, j.start_ms);
  out.append(R"(",)");
  if (!complete) {
    out.append(R"("details":)");
    write_details(out, j, now_ms);
    out.append(R"(,"lastUpdateTime":")");
    write_time(out, now_ms);
    out.append(R"(","resultType":")");
    out.append(result_type_name(j.kind));
    out.append(R"(","status":"running"}})");
    return {};
  }
  if (failed) {
    out.append(R"("error":)");
    write_task_payload(out, h, j);
    out.append(R"(,"lastUpdateTime":")");
    write_time(out, j.end_ms());
    out.append(R"(",)");
  } else {
    out.append(R"("lastUpdateTime":")");
    write_time(out, j.end_ms());
    out.append(R"(","result":)");
    write_task_payload(out, h, j);
    out.push_back(',');
  }
  out.append(R"("resultType":")");
  out.append(result_type_name(j.kind));
  out.append(R"(","status":"complete"}})");
  answer_info info;
  info.complete_handle = h;
  if (!c.keep_result) {
    j.flags |= job::purged;
    --completed_unpurged_;
    ++purged_;
    info.purged = true;
  }
  return info;
}

void cluster::list_async_results(const rpc_call& c, std::uint32_t now_ms, std::string& out) {
  const std::uint8_t mask = (c.result_types_st == param::ok && c.result_types != 0) ? c.result_types : 0xff;
  scratch_.clear();
  for (const auto& [h, j] : jobs_)
    if (!(j.flags & job::purged) && (result_type_bit(j.kind) & mask)) scratch_.push_back(h);
  std::sort(scratch_.begin(), scratch_.end());
  out.append(R"({"id":)");
  out.append(c.id_raw);
  out.append(R"(,"result":{"asyncHandles":[)");
  bool first = true;
  for (std::uint64_t h : scratch_) {
    const job& j = jobs_.find(h)->second;
    const bool complete = now_ms >= j.end_ms();
    const bool failed = j.flags & job::failed;
    if (!first) out.push_back(',');
    first = false;
    out.append(R"({"asyncResultID":)");
    append_uint(out, h);
    out.append(complete ? R"(,"completed":true,"createTime":")" : R"(,"completed":false,"createTime":")");
    write_time(out, j.start_ms);
    out.append(R"(","data":)");
    if (complete) {
      write_task_payload(out, h, j);
    } else {  // the vendor's entry members, and the details GetAsyncResult gives
      out.append(R"({},"details":)");
      write_details(out, j, now_ms);
    }
    out.append(R"(,"lastUpdateTime":")");
    write_time(out, complete ? j.end_ms() : now_ms);
    out.append(R"(","resultType":")");
    out.append(result_type_name(j.kind));
    out.append(complete && !failed ? R"(","success":true})" : R"(","success":false})");
  }
  out.append("]}}");
}

void cluster::start_job(const rpc_call& c, std::uint32_t now_ms, std::string& out) {
  param_check pc;
  job_kind kind = job_kind::clone;
  std::uint32_t aux = 0;
  auto volume_ok = [&](std::int64_t id) { return id > 0 && id <= std::numeric_limits<std::uint32_t>::max(); };
  std::optional<std::int64_t> missing_volume;
  switch (c.m) {
    case method::clone_volume:
      kind = job_kind::clone;
      require(pc, c.volume_id_st, "volumeID", "integer");
      require(pc, c.name_st, "name", "string");
      require(pc, c.new_account_id_st, "newAccountID", "integer", false);
      if (pc.ok() && !volume_ok(c.volume_id)) missing_volume = c.volume_id;
      if (pc.ok()) aux = static_cast<std::uint32_t>(c.volume_id);  // the source volume
      break;
    case method::clone_multiple_volumes:
      kind = job_kind::clone_multi;
      require(pc, c.volumes_st, "volumes", "array of {\"volumeID\": integer}");
      if (pc.ok() && c.volumes.empty()) pc.message = "Parameter 'volumes' must not be empty";
      if (pc.ok() && c.volumes.size() > 256) pc.message = "Parameter 'volumes' has more than 256 volumes";
      if (pc.ok())
        for (std::int64_t v : c.volumes)
          if (!volume_ok(v)) missing_volume = v;
      break;
    case method::copy_volume:
      kind = job_kind::copy;
      require(pc, c.volume_id_st, "volumeID", "integer");
      require(pc, c.dst_volume_id_st, "dstVolumeID", "integer");
      if (pc.ok() && !volume_ok(c.volume_id)) missing_volume = c.volume_id;
      if (pc.ok() && !volume_ok(c.dst_volume_id)) missing_volume = c.dst_volume_id;
      if (pc.ok()) aux = static_cast<std::uint32_t>(c.dst_volume_id);
      break;
    case method::start_bulk_volume_read:
    case method::start_bulk_volume_write:
      kind = c.m == method::start_bulk_volume_read ? job_kind::bulk_read : job_kind::bulk_write;
      require(pc, c.volume_id_st, "volumeID", "integer");
      require(pc, c.format_st, "format", "string");
      if (pc.ok() && !volume_ok(c.volume_id)) missing_volume = c.volume_id;
      if (pc.ok()) aux = static_cast<std::uint32_t>(c.volume_id);
      break;
    case method::add_drives:
    case method::remove_drives:
      kind = c.m == method::add_drives ? job_kind::drive_add : job_kind::drive_remove;
      require(pc, c.drives_st, "drives", "array of drive IDs");
      if (pc.ok() && c.drive_count == 0) pc.message = "Parameter 'drives' must not be empty";
      aux = c.drive_count;
      break;
    default:
      write_error(out, c.id_raw, "xUnknownAPIMethod", "Unknown method");
      return;
  }
  if (!pc.ok()) {
    write_error(out, c.id_raw, "xInvalidParameter", pc.message);
    return;
  }
  if (missing_volume) {
    std::string msg = "Volume ID ";
    append_int(msg, *missing_volume);
    msg += " does not exist.";
    write_error(out, c.id_raw, "xVolumeIDDoesNotExist", msg);
    return;
  }
  const std::uint64_t h = new_handle();
  job j = make_job(h, kind, now_ms, aux ? aux : default_aux(kind, h));
  insert(h, j);
  if (kind == job_kind::clone_multi) multi_sources_[h] = c.volumes;

  out.append(R"({"id":)");
  out.append(c.id_raw);
  out.append(R"(,"result":{"asyncHandle":)");
  append_uint(out, h);
  switch (kind) {
    case job_kind::clone: {
      // The new volume exists (status init) from now on: ListVolumes shows it.
      const std::uint32_t account =
          c.new_account_id_st == param::ok && c.new_account_id > 0 && c.new_account_id <= 0xffffffff
              ? static_cast<std::uint32_t>(c.new_account_id)
              : 1;
      auto& v = volumes_[clone_volume_id(h)];
      v = volume{h, account, now_ms, std::string(c.name)};
      out.append(R"(,"cloneID":)");
      append_uint(out, clone_id(h));
      out.append(R"(,"curve":)");
      out.append(qos_curve);
      out.append(R"(,"volume":)");
      write_volume(out, clone_volume_id(h), v, now_ms);
      out.append(R"(,"volumeID":)");
      append_uint(out, clone_volume_id(h));
      break;
    }
    case job_kind::clone_multi:
      out.append(R"(,"groupCloneID":)");
      append_uint(out, clone_id(h));
      out.append(R"(,"members":[)");
      for (std::size_t i = 0; i < c.volumes.size(); ++i) {
        if (i) out.push_back(',');
        out.append(R"({"srcVolumeID":)");
        append_int(out, c.volumes[i]);
        out.append(R"(,"volumeID":)");
        append_uint(out, multi_volume_id(h, i));
        out.push_back('}');
      }
      out.push_back(']');
      break;
    case job_kind::copy:
      out.append(R"(,"cloneID":)");
      append_uint(out, clone_id(h));
      break;
    case job_kind::bulk_read:
    case job_kind::bulk_write: {
      out.append(R"(,"key":)");
      write_bulk_key(out, h);
      out.append(R"(,"url":")");
      append_escaped(out, bulk_url_);
      out.push_back('"');
      break;
    }
    default:
      break;
  }
  out.append("}}");
}

void cluster::write_bulk_key(std::string& out, std::uint64_t h) const {
  static constexpr char hex[] = "0123456789abcdef";
  char key[34];
  key[0] = key[33] = '"';
  std::uint64_t k1 = job_random(h, 7), k2 = job_random(h, 8);
  for (int i = 0; i < 16; ++i) {
    key[1 + i] = hex[(k1 >> (4 * i)) & 15];
    key[17 + i] = hex[(k2 >> (4 * i)) & 15];
  }
  out.append(key, 34);
}

void cluster::set_supported_versions(std::vector<std::string> v) {
  versions_ = std::move(v);
  // GetAPI: one member per version listing its methods, then currentVersion
  // and supportedVersions; keys sorted as strings ("10.0" < "9.6" < "currentVersion").
  std::vector<std::string> keys = versions_;
  std::sort(keys.begin(), keys.end());
  std::vector<std::string_view> methods(method_names.begin(), method_names.end() - 1);
  std::sort(methods.begin(), methods.end());
  std::string list = "[";
  for (std::size_t i = 0; i < methods.size(); ++i) {
    if (i) list.push_back(',');
    list.push_back('"');
    list.append(methods[i]);
    list.push_back('"');
  }
  list.push_back(']');
  std::string& r = get_api_result_;
  r = "{";
  for (const auto& k : keys) {
    r.push_back('"');
    append_escaped(r, k);
    r.append("\":");
    r.append(list);
    r.push_back(',');
  }
  r.append(R"("currentVersion":")");
  append_escaped(r, cfg_.api_version);
  r.append(R"(","supportedVersions":[)");
  for (std::size_t i = 0; i < versions_.size(); ++i) {
    if (i) r.push_back(',');
    r.push_back('"');
    append_escaped(r, versions_[i]);
    r.push_back('"');
  }
  r.append("]}");
}

void cluster::get_api(const rpc_call& c, std::string& out) const {
  out.append(R"({"id":)");
  out.append(c.id_raw);
  out.append(R"(,"result":)");
  out.append(get_api_result_);
  out.push_back('}');
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
    if (method_counts_[i]) s.requests_by_method[std::string(method_names[i])] += method_counts_[i];
  for (const auto& [name, n] : unknown_methods_) s.requests_by_method[name] += n;
  if (invalid_requests_) s.requests_by_method["(invalid)"] += invalid_requests_;
  for (std::size_t i = 0; i < fault_count; ++i) s.faults_injected[std::string(fault_names[i])] += faults_[i];
  s.results_purged = purged_;
  s.results_evicted = evicted_;
  s.running_jobs = running_.size();
  s.live_jobs = running_.size() + completed_unpurged_;
}

}  // namespace detail

std::string to_json(const stats& s) {
  std::string out = "{\"requests_by_method\":{";
  bool first = true;
  for (const auto& [k, v] : s.requests_by_method) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    detail::append_escaped(out, k);
    out.append("\":");
    detail::append_uint(out, v);
  }
  out.append("},\"faults_injected\":{");
  first = true;
  for (const auto& [k, v] : s.faults_injected) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    detail::append_escaped(out, k);
    out.append("\":");
    detail::append_uint(out, v);
  }
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
