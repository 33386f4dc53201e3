// The names on the wire and in the stats: methods, result types, faults.
#include "model.hpp"

namespace pollster::sim::detail {

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


}  // namespace pollster::sim::detail
