// pollster's error codes: std::error_code with a "pollster" category, used on
// the hot path instead of exceptions.
#pragma once

#include <string_view>
#include <system_error>

namespace pollster {

/// Why a request, call or wait did not succeed. What is retried is a table
/// (is_retryable), not a range of these values.
enum class error {
  // --- Transport: retried with backoff within the wait's deadline. ---
  /// TCP connect to the cluster failed (refused, unreachable, timed out).
  connect_failed = 1,
  /// The TLS handshake failed for a reason other than the peer's certificate.
  tls_handshake_failed,
  /// The server closed or reset the connection before a whole answer arrived.
  connection_closed,
  /// One request (connect, write, read) ran past the request timeout.
  request_timeout,
  /// The answer was not HTTP/1.1 or its headers were malformed or oversized.
  malformed_http,
  /// The answer's body was larger than the configured body limit.
  body_too_large,
  /// HTTP 408, 429 or 5xx (the cluster or a proxy is overloaded, failing
  /// over, or asks to come back later). Messages carry the status.
  http_server_error,
  /// The body was not JSON, was truncated, nested deeper than 256 levels, or
  /// lacked the JSON-RPC members.
  malformed_json,
  /// The JSON was valid but not shaped like the method's documented answer.
  unexpected_answer,
  /// A method error the API documents as transient (xDBVersionMismatch...).
  retryable_method_error,
  /// The answer's JSON-RPC id is not the request's: an unasked or replayed
  /// answer (a proxy replaying, bytes left from an earlier exchange). The
  /// connection is closed and the request sent again on a fresh one.
  unasked_answer,

  // --- Fatal: reported at once, never retried. ---
  /// HTTP 401: missing or wrong credentials.
  unauthorized,
  /// HTTP 404 or xUnknownAPIVersion: the endpoint's API version is not served.
  unknown_api_version,
  /// xUnknownAPIMethod.
  unknown_method,
  /// xPermissionDenied.
  permission_denied,
  /// xInvalidParameter.
  invalid_parameter,
  /// Any other HTTP status outside 2xx and 5xx.
  unexpected_http_status,
  /// A method error that is neither documented as transient nor as "gone".
  method_error,
  /// The server's certificate failed verification (CA, name).
  certificate_rejected,
  /// The server's certificate does not match the pinned SHA-256 fingerprint.
  certificate_pin_mismatch,

  // --- Outcome-level. ---
  /// The handle does not exist or was purged (confirmed by re-polls).
  handle_gone,
  /// The wait's deadline passed.
  deadline_exceeded,
  /// The wait was cancelled by the caller, or its client was shut down.
  cancelled,
  /// The asynchronous task ended with an error (outcome_kind::task_failed:
  /// the task's own error is in the outcome).
  task_failed,
  /// The method that should have started an asynchronous operation failed:
  /// no operation exists (outcome_kind::start_failed).
  start_failed,

  // --- Configuration (thrown at construction, never on the hot path). ---
  /// The endpoint URL is malformed (scheme, host, port, path).
  invalid_endpoint,
  /// An http:// endpoint without allow_plaintext.
  plaintext_refused,
  /// A configuration value is out of range or inconsistent.
  invalid_config,
};

/// The "pollster" error category (messages name the cause in words).
const std::error_category& category() noexcept;

/// `std::error_code ec = error::unauthorized;` works through this.
inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), category()};
}

/// A stable snake_case identifier ("unauthorized", "request_timeout", ...)
/// for reports and machine-readable output.
std::string_view error_name(std::error_code ec) noexcept;

/// True for the errors that are worth another try within the deadline (one
/// table in error.cpp: the enum's order means nothing).
bool is_retryable(std::error_code ec) noexcept;

}  // namespace pollster

/// Lets a pollster::error convert to std::error_code and compare with one.
template <>
struct std::is_error_code_enum<pollster::error> : std::true_type {};
