#include "protocol/classify.hpp"

#include <array>

#include "pollster/error.hpp"

namespace pollster::detail {

namespace {
// Documented as transient, or reported so (element-api.md, "Errors seen in
// the field").
constexpr std::array<std::string_view, 11> retryable_names = {
    "xDBVersionMismatch", "xNotPrimary",        "xDBOperationTimeout", "xDBConnectionLoss",
    "xNoHandler",         "xRecvTimeout",       "xDBSessionExpired",   "xDBSessionMoved",
    "xDBNoServerResponse", "xDBClosing",        "xDBInvalidState"};
}  // namespace

classification classify_method_error(std::string_view name) noexcept {
  if (name == "xDBNoSuchPath" || name == "xAsyncHandleDoesNotExist")
    return {verdict::gone, make_error_code(error::handle_gone)};
  for (auto n : retryable_names)
    if (n == name) return {verdict::retry, make_error_code(error::retryable_method_error)};
  if (name == "xPermissionDenied") return {verdict::fatal, make_error_code(error::permission_denied)};
  if (name == "xUnknownAPIMethod") return {verdict::fatal, make_error_code(error::unknown_method)};
  if (name == "xUnknownAPIVersion")
    return {verdict::fatal, make_error_code(error::unknown_api_version)};
  if (name == "xInvalidParameter") return {verdict::fatal, make_error_code(error::invalid_parameter)};
  // Unknown names are not retried: retrying an error we do not understand
  // until the deadline would hide it from the operator.
  return {verdict::fatal, make_error_code(error::method_error)};
}

classification classify_http_status(int status) noexcept {
  if (status == 401) return {verdict::fatal, make_error_code(error::unauthorized)};
  if (status == 404) return {verdict::fatal, make_error_code(error::unknown_api_version)};
  // 408 and 429 are the server asking us to come back later.
  if (status == 408 || status == 429 || (status >= 500 && status <= 599))
    return {verdict::retry, make_error_code(error::http_server_error)};
  return {verdict::fatal, make_error_code(error::unexpected_http_status)};
}

classification classify_failure(std::error_code ec) noexcept {
  return {is_retryable(ec) ? verdict::retry : verdict::fatal, ec};
}

}  // namespace pollster::detail
