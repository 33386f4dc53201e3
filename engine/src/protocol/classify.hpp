// What an answer, or the lack of one, means for a wait, a list, a call or a
// release: the retry rules of element-api.md in one place. Pure functions,
// unit-tested.
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

/// A request that got no usable answer (connect, TLS, timeout, a dropped
/// connection, bytes that are not JSON-RPC, an unasked answer): retry when
/// pollster::is_retryable says so, else fatal. `ec` is kept as it is.
classification classify_failure(std::error_code ec) noexcept;

}  // namespace pollster::detail
