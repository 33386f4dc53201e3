// A JSON-RPC request as the simulator sees it, parsed once, in one pass.
// The parser (rpc_parse.cpp) is the only translation unit that sees simdjson.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace pollster::sim::detail {

/// Spare readable bytes every request body buffer keeps after its end.
inline constexpr std::size_t json_padding = 64;

enum class method : std::uint8_t {
  get_async_result,
  list_async_results,
  get_api,
  clone_volume,
  clone_multiple_volumes,
  copy_volume,
  start_bulk_volume_read,
  start_bulk_volume_write,
  add_drives,
  remove_drives,
  list_volumes,
  list_volumes_for_account,
  get_cluster_info,
  get_cluster_version_info,
  list_bulk_volume_jobs,
  list_sync_jobs,
  unknown,
};
// unknown is last: it counts too (names.cpp names it).
inline constexpr std::size_t method_count = static_cast<std::size_t>(method::unknown) + 1;

std::string_view method_name(method m) noexcept;
method method_from_name(std::string_view name) noexcept;

/// Result types, as bits for the ListAsyncResults filter.
enum result_type_bit : std::uint8_t {
  rt_clone = 1,
  rt_bulk_volume = 2,
  rt_drive_add = 4,
  rt_drive_removal = 8,
  rt_rtfi_pending_node = 16,
};
/// 0 when the name is not a result type.
std::uint8_t result_type_bit(std::string_view name) noexcept;

enum class param : std::uint8_t { absent, ok, bad };

struct rpc_call {
  enum class status : std::uint8_t {
    ok,
    malformed,    ///< not JSON, or JSON that is not an object
    bad_envelope, ///< method missing or not a string, id not a scalar, params not an object
  } st = status::ok;
  std::string_view detail;  ///< why (static text) when st != ok

  method m = method::unknown;
  std::string_view method_name;  ///< unescaped; valid until the next parse
  std::string_view id_raw = "null";  ///< the id token as received (number, string or null)

  param async_handle_st = param::absent;
  std::int64_t async_handle = 0;
  param keep_result_st = param::absent;
  bool keep_result = false;
  param result_types_st = param::absent;
  std::uint8_t result_types = 0;
  param volume_id_st = param::absent;
  std::int64_t volume_id = 0;
  param dst_volume_id_st = param::absent;
  std::int64_t dst_volume_id = 0;
  param name_st = param::absent;
  std::string_view name;              ///< unescaped; valid until the next parse
  param account_id_st = param::absent;  ///< accountID (ListVolumesForAccount)
  std::int64_t account_id = 0;
  param new_account_id_st = param::absent;  ///< newAccountID (CloneVolume)
  std::int64_t new_account_id = 0;
  param start_volume_id_st = param::absent;  ///< startVolumeID (ListVolumes)
  std::int64_t start_volume_id = 0;
  param limit_st = param::absent;     ///< limit (ListVolumes)
  std::int64_t limit = 0;
  param format_st = param::absent;
  param volumes_st = param::absent;
  std::vector<std::int64_t> volumes;  ///< CloneMultipleVolumes sources; ListVolumes volumeIDs
  param drives_st = param::absent;
  std::uint32_t drive_count = 0;
  std::string_view first_bad_param;   ///< name of the first mistyped param (static text)
};

/// One per server (single thread). Reuses its buffers.
class request_parser {
 public:
  request_parser();
  ~request_parser();
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;

  /// `data` must be readable for `len + json_padding` bytes. The result (and
  /// its string_views) stay valid until the next call.
  const rpc_call& parse(const char* data, std::size_t len);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace pollster::sim::detail
