// The resultType of the operation a start method begins, where it is evident
// from element-api.md ("Methods that hand out an asyncHandle" and
// ListAsyncResults' asyncResultTypes): start_and_wait fills
// wait_options::result_type with it, so that lists can be filtered. Methods
// not listed (CopyVolume, AddNodes, ...) leave it empty: an unknown type
// only turns the filter off, a wrong one would hide the entry.
#pragma once

#include <string_view>

namespace pollster::detail {

constexpr std::string_view result_type_of(std::string_view method) noexcept {
  if (method == "CloneVolume" || method == "CloneMultipleVolumes") return "Clone";
  if (method == "StartBulkVolumeRead" || method == "StartBulkVolumeWrite") return "BulkVolume";
  if (method == "AddDrives") return "DriveAdd";
  if (method == "RemoveDrives") return "DriveRemoval";
  return {};
}

}  // namespace pollster::detail
