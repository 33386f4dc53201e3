// What an answer means for the wait: the retry rules of element-api.md in one
// place. Pure functions, unit-tested.
#pragma once

#include <string_view>
#include <system_error>

namespace pollster::detail {

enum class verdict {
  gone,       ///< handle does not exist or was purged: confirm, then report
  retry,      ///< transient: back off and try again within the deadline
  fatal,      ///< never retried: report at once
};

struct classification {
  verdict what;
  std::error_code ec;
};

/// A JSON-RPC method error by its name (xDBVersionMismatch, ...).
classification classify_method_error(std::string_view name) noexcept;

/// An HTTP status other than 200.
classification classify_http_status(int status) noexcept;

}  // namespace pollster::detail
