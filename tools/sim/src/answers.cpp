// The JSON-RPC answers: GetAsyncResult, ListAsyncResults, GetAPI, the
// methods that start jobs, and the method errors. Members in sorted order.
#include "model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pollster::sim::detail {

namespace {
std::uint64_t multi_volume_id(std::uint64_t h, std::size_t i) noexcept { return 1000000 + h * 256 + i; }
}  // namespace

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
  if (!cfg_.progress_details) {
    out.append("{}");
    return;
  }
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
    case job_kind::drive_remove: {
      const bool add = j.kind == job_kind::drive_add;
      if (failed) {
        out.append(add ? R"({"message":"Drive add failed","name":"xDriveAddFailed"})"
                       : R"({"message":"Drive removal failed","name":"xDriveRemovalFailed"})");
      } else {
        out.append(add ? R"({"message":"Drives added.","numDrives":)" : R"({"message":"Drives removed.","numDrives":)");
        append_uint(out, j.aux);
        out.push_back('}');
      }
      return;
    }
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
  std::optional<std::int64_t> missing_volume;
  // Once the parameters are well typed, a volume ID must name a volume;
  // returns it as the job's aux (0 when the call is refused anyway).
  auto checked_volume = [&](std::int64_t id) -> std::uint32_t {
    if (!pc.ok()) return 0;
    if (id <= 0 || id > std::numeric_limits<std::uint32_t>::max()) {
      missing_volume = id;
      return 0;
    }
    return static_cast<std::uint32_t>(id);
  };
  switch (c.m) {
    case method::clone_volume:
      kind = job_kind::clone;
      require(pc, c.volume_id_st, "volumeID", "integer");
      require(pc, c.name_st, "name", "string");
      require(pc, c.new_account_id_st, "newAccountID", "integer", false);
      aux = checked_volume(c.volume_id);  // the source volume
      break;
    case method::clone_multiple_volumes:
      kind = job_kind::clone_multi;
      require(pc, c.volumes_st, "volumes", "array of {\"volumeID\": integer}");
      if (pc.ok() && c.volumes.empty()) pc.message = "Parameter 'volumes' must not be empty";
      if (pc.ok() && c.volumes.size() > 256) pc.message = "Parameter 'volumes' has more than 256 volumes";
      for (std::int64_t v : c.volumes) checked_volume(v);
      break;
    case method::copy_volume:
      kind = job_kind::copy;
      require(pc, c.volume_id_st, "volumeID", "integer");
      require(pc, c.dst_volume_id_st, "dstVolumeID", "integer");
      checked_volume(c.volume_id);
      aux = checked_volume(c.dst_volume_id);
      break;
    case method::start_bulk_volume_read:
    case method::start_bulk_volume_write:
      kind = c.m == method::start_bulk_volume_read ? job_kind::bulk_read : job_kind::bulk_write;
      require(pc, c.volume_id_st, "volumeID", "integer");
      require(pc, c.format_st, "format", "string");
      aux = checked_volume(c.volume_id);
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
  std::vector<std::string_view> methods;
  for (std::size_t i = 0; i + 1 < method_count; ++i) methods.push_back(method_name(static_cast<method>(i)));
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

}  // namespace pollster::sim::detail
