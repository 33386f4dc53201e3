// The methods orchestration clients wait with instead of GetAsyncResult
// (element-api.md, "How orchestration clients really wait"): ListVolumes,
// ListVolumesForAccount, ListBulkVolumeJobs, ListSyncJobs, and the cluster
// descriptions GetClusterInfo and GetClusterVersionInfo. Members in sorted
// order at every level, as real answers have them.
#include "model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pollster::sim::detail {

namespace {

bool is_bulk_kind(job_kind k) noexcept { return k == job_kind::bulk_read || k == job_kind::bulk_write; }

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  append_escaped(out, s);
  out.push_back('"');
}

// `{"id":ID,"result":{"<member>":[` : the opening of a listing answer.
void open_listing(std::string& out, std::string_view id, std::string_view member) {
  out.append(R"({"id":)");
  out.append(id);
  out.append(R"(,"result":{")");
  out.append(member);
  out.append(R"(":[)");
}

std::uint32_t elapsed_ms(const job& j, std::uint32_t now_ms) noexcept {
  return now_ms > j.start_ms ? now_ms - j.start_ms : 0;
}

}  // namespace

void cluster::write_volume(std::string& out, std::uint64_t id, const volume& v, std::uint32_t now_ms) const {
  auto it = jobs_.find(v.handle);
  const bool init = it != jobs_.end() && now_ms < it->second.end_ms();
  out.append(R"({"access":"readWrite","accountID":)");
  append_uint(out, v.account);
  // attributes, lastAccessTime*, qosPolicyID, virtualVolumeID: null on real
  // clusters' answers for a volume that has none (element-api.md).
  out.append(R"(,"attributes":null,"blockSize":4096,"createTime":")");
  write_time(out, v.create_ms);
  out.append(R"(","deleteTime":"","enable512e":false,"iqn":"iqn.2010-01.com.solidfire:sim.)");
  append_escaped(out, v.name);
  out.push_back('.');
  append_uint(out, id);
  out.append(R"(","lastAccessTime":null,"lastAccessTimeIO":null,"name":)");
  append_quoted(out, v.name);
  out.append(R"(,"purgeTime":"","qos":{"burstIOPS":15000,"burstTime":60,"curve":)");
  out.append(qos_curve);
  out.append(R"(,"maxIOPS":15000,"minIOPS":50},"qosPolicyID":null,"scsiEUIDeviceID":")");
  char hex[17];
  static constexpr char digits[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) hex[i] = digits[(id >> (4 * (15 - i))) & 15];
  hex[16] = 0;
  out.append("7073696d").append(hex, 8).append(hex + 8, 8);
  out.append(R"(","scsiNAADeviceID":"6f47acc1000000007073696d)");
  out.append(hex + 8, 8);
  out.append(R"(","sliceCount":1,"status":)");
  out.append(init ? R"("init")" : R"("active")");
  out.append(R"(,"totalSize":)");
  append_uint(out, total_bytes);
  out.append(R"(,"virtualVolumeID":null,"volumeAccessGroups":[],"volumeID":)");
  append_uint(out, id);
  out.append(R"(,"volumePairs":[]})");
}

void cluster::list_volumes(const rpc_call& c, std::uint32_t now_ms, std::string& out, bool for_account) {
  param_check pc;
  if (for_account) require(pc, c.account_id_st, "accountID", "integer");
  require(pc, c.start_volume_id_st, "startVolumeID", "integer", false);
  require(pc, c.limit_st, "limit", "integer", false);
  require(pc, c.volumes_st, "volumeIDs", "array of integers", false);
  if (pc.ok() && c.limit_st == param::ok && c.limit <= 0) pc.message = "Parameter 'limit' must be positive";
  if (!pc.ok()) {
    write_error(out, c.id_raw, "xInvalidParameter", pc.message);
    return;
  }
  if (for_account && (c.account_id <= 0 || c.account_id > std::numeric_limits<std::uint32_t>::max())) {
    std::string msg = "Account ID ";
    append_int(msg, c.account_id);
    msg += " does not exist.";
    write_error(out, c.id_raw, "xAccountIDDoesNotExist", msg);
    return;
  }
  const std::uint64_t start =
      c.start_volume_id_st == param::ok && c.start_volume_id > 0 ? static_cast<std::uint64_t>(c.start_volume_id) : 0;
  std::uint64_t left = c.limit_st == param::ok ? static_cast<std::uint64_t>(c.limit)
                                               : std::numeric_limits<std::uint64_t>::max();
  open_listing(out, c.id_raw, "volumes");
  bool first = true;
  for (auto it = volumes_.lower_bound(start); it != volumes_.end() && left > 0; ++it) {
    const auto& [id, v] = *it;
    if (for_account && v.account != static_cast<std::uint64_t>(c.account_id)) continue;
    if (c.volumes_st == param::ok &&
        std::find(c.volumes.begin(), c.volumes.end(), static_cast<std::int64_t>(id)) == c.volumes.end())
      continue;
    if (!first) out.push_back(',');
    first = false;
    write_volume(out, id, v, now_ms);
    --left;
  }
  out.append("]}}");
}

void cluster::get_cluster_info(const rpc_call& c, std::string& out) const {
  out.append(R"({"id":)");
  out.append(c.id_raw);
  out.append(R"(,"result":{"clusterInfo":{"attributes":{},"defaultProtectionScheme":"doubleHelix",)"
             R"("enabledProtectionSchemes":["doubleHelix"],"encryptionAtRestState":"disabled","ensemble":[)");
  append_quoted(out, host_);
  out.append(R"(],"mvip":)");
  append_quoted(out, host_);
  out.append(R"(,"mvipInterface":"bond1G","mvipNodeID":1,"mvipVlanTag":"0","name":"pollster-sim","repCount":2,)"
             R"("softwareEncryptionAtRestState":"disabled","supportedProtectionSchemes":["doubleHelix"],"svip":)");
  append_quoted(out, host_);
  out.append(R"(,"svipInterface":"bond10G","svipNodeID":1,"svipVlanTag":"0","uniqueID":"psim",)"
             R"("uuid":"7073696d-0000-4000-8000-000000000001"}}})");
}

void cluster::get_cluster_version_info(const rpc_call& c, std::string& out) const {
  std::string version = cfg_.api_version + ".0.0";
  out.append(R"({"id":)");
  out.append(c.id_raw);
  out.append(R"(,"result":{"clusterAPIVersion":)");
  append_quoted(out, cfg_.api_version);
  out.append(R"(,"clusterVersion":)");
  append_quoted(out, version);
  out.append(R"(,"clusterVersionInfo":[{"nodeID":1,"nodeInternalRevision":"BuildType=Release Element=sim",)"
             R"("nodeVersion":)");
  append_quoted(out, version);
  out.append(R"(}],"pendingClusterVersion":)");
  append_quoted(out, version);
  out.append(R"(,"softwareVersionInfo":{"currentVersion":)");
  append_quoted(out, version);
  out.append(R"(,"nodeID":0,"packageName":"","pendingVersion":)");
  append_quoted(out, version);
  out.append(R"(,"startTime":""}}})");
}

void cluster::running_of(std::uint32_t now_ms, bool (*want)(job_kind)) {
  scratch_.clear();
  for (const auto& [h, j] : jobs_)
    if (!(j.flags & job::purged) && now_ms < j.end_ms() && want(j.kind)) scratch_.push_back(h);
  std::sort(scratch_.begin(), scratch_.end());
}

// Bulk volume jobs while they run, shaped like the vendor's listing:
// integer percentComplete, elapsedTime and remainingTime in seconds.
void cluster::list_bulk_volume_jobs(const rpc_call& c, std::uint32_t now_ms, std::string& out) {
  running_of(now_ms, is_bulk_kind);
  open_listing(out, c.id_raw, "bulkVolumeJobs");
  for (std::size_t i = 0; i < scratch_.size(); ++i) {
    if (i) out.push_back(',');
    const std::uint64_t h = scratch_[i];
    const job& j = jobs_.find(h)->second;
    const std::uint32_t elapsed = elapsed_ms(j, now_ms);
    out.append(R"({"attributes":{},"bulkVolumeID":)");
    append_uint(out, h);
    out.append(R"(,"createTime":")");
    write_time(out, j.start_ms);
    out.append(R"(","elapsedTime":)");
    append_uint(out, elapsed / 1000);
    out.append(R"(,"format":"native","key":)");
    write_bulk_key(out, h);
    out.append(R"(,"percentComplete":)");
    append_uint(out, j.run_ms ? std::uint64_t{elapsed} * 100 / j.run_ms : 0);
    out.append(R"(,"remainingTime":)");
    append_uint(out, (j.run_ms - elapsed + 999) / 1000);
    out.append(R"(,"script":"bv_internal.py","snapshotID":null,"srcVolumeID":)");
    append_uint(out, j.aux);
    out.append(j.kind == job_kind::bulk_read ? R"(,"status":"running","type":"read"})"
                                             : R"(,"status":"running","type":"write"})");
  }
  out.append("]}}");
}

// Clone sync jobs while they run, with the progress fields of the vendor's
// ListSyncJobs example (bytesPerSecond, currentBytes, stage, totalBytes).
void cluster::list_sync_jobs(const rpc_call& c, std::uint32_t now_ms, std::string& out) {
  running_of(now_ms, is_clone_kind);
  open_listing(out, c.id_raw, "syncJobs");
  for (std::size_t i = 0; i < scratch_.size(); ++i) {
    if (i) out.push_back(',');
    const job& j = jobs_.find(scratch_[i])->second;
    const std::uint64_t h = scratch_[i];
    const std::uint32_t elapsed = elapsed_ms(j, now_ms);
    const double frac = j.run_ms ? std::min(0.9999, static_cast<double>(elapsed) / j.run_ms) : 0;
    const double seconds = std::max(0.001, j.run_ms / 1000.0);
    out.append(R"({"bytesPerSecond":)");
    append_fixed(out, static_cast<double>(total_bytes) / seconds, 1);
    out.append(R"(,"cloneID":)");
    append_uint(out, clone_id(h));
    out.append(R"(,"currentBytes":)");
    append_uint(out, static_cast<std::uint64_t>(frac * static_cast<double>(total_bytes)));
    out.append(R"(,"dstServiceID":1,"dstVolumeID":)");
    append_uint(out, j.kind == job_kind::copy ? j.aux : clone_volume_id(h));
    out.append(R"(,"elapsedTime":)");
    append_fixed(out, elapsed / 1000.0, 1);
    out.append(R"(,"groupCloneID":)");
    append_uint(out, j.kind == job_kind::clone_multi ? clone_id(h) : 0);
    out.append(R"(,"nodeID":1,"percentComplete":)");
    append_fixed(out, std::floor(frac * 10000) / 100, 2);
    out.append(R"(,"remainingTime":)");
    append_fixed(out, (j.run_ms - std::min(elapsed, j.run_ms)) / 1000.0, 1);
    out.append(R"(,"sliceID":)");
    append_uint(out, clone_volume_id(h));
    out.append(R"(,"srcServiceID":1,"srcVolumeID":)");
    append_uint(out, j.kind == job_kind::clone ? j.aux : 0);
    out.append(R"(,"stage":"whole","totalBytes":)");
    append_uint(out, total_bytes);
    out.append(R"(,"type":"clone"})");
  }
  out.append("]}}");
}

}  // namespace pollster::sim::detail
