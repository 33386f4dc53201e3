#include "pollster/error.hpp"
#include "pollster/outcome.hpp"

#include <string>

namespace pollster {
namespace {

class pollster_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "pollster"; }
  std::string message(int value) const override {
    switch (static_cast<error>(value)) {
      case error::connect_failed: return "could not connect to the cluster";
      case error::tls_handshake_failed: return "TLS handshake failed";
      case error::connection_closed: return "connection closed before the whole answer arrived";
      case error::request_timeout: return "request timed out";
      case error::malformed_http: return "malformed HTTP answer";
      case error::body_too_large: return "answer body larger than the body limit";
      case error::http_server_error: return "server error or overload (retried)";
      case error::malformed_json: return "answer is not valid JSON-RPC";
      case error::unexpected_answer: return "answer is not shaped as documented";
      case error::retryable_method_error: return "transient method error";
      case error::unasked_answer: return "answer id does not match the request (unasked answer)";
      case error::unauthorized: return "HTTP 401: wrong or missing credentials";
      case error::unknown_api_version: return "API version not served by the cluster";
      case error::unknown_method: return "unknown API method";
      case error::permission_denied: return "permission denied";
      case error::invalid_parameter: return "invalid parameter";
      case error::unexpected_http_status: return "unexpected HTTP status";
      case error::method_error: return "method error";
      case error::certificate_rejected: return "server certificate rejected";
      case error::certificate_pin_mismatch: return "server certificate does not match the pinned SHA-256 fingerprint";
      case error::handle_gone: return "async handle does not exist or was purged";
      case error::deadline_exceeded: return "deadline exceeded";
      case error::cancelled: return "cancelled";
      case error::task_failed: return "the asynchronous task failed";
      case error::start_failed: return "the start method failed: no operation was started";
      case error::invalid_endpoint: return "invalid endpoint URL";
      case error::plaintext_refused: return "plaintext http:// endpoint refused (allow_plaintext is off)";
      case error::invalid_config: return "invalid configuration";
    }
    return "unknown pollster error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const pollster_category instance;
  return instance;
}

bool is_retryable(std::error_code ec) noexcept {
  if (ec.category() != category()) return false;
  // A table over every named enumerator, not a range of the enum and with no
  // default: adding or reordering errors cannot silently change what is
  // retried, and a new enumerator left out here is a -Wswitch warning (and
  // fails ErrorCategory.EveryEnumeratorIsInTheRetryTable).
  switch (static_cast<error>(ec.value())) {
    case error::connect_failed:
    case error::tls_handshake_failed:
    case error::connection_closed:
    case error::request_timeout:
    case error::malformed_http:
    case error::body_too_large:
    case error::http_server_error:
    case error::malformed_json:
    case error::unexpected_answer:
    case error::retryable_method_error:
    case error::unasked_answer:
      return true;
    case error::unauthorized:
    case error::unknown_api_version:
    case error::unknown_method:
    case error::permission_denied:
    case error::invalid_parameter:
    case error::unexpected_http_status:
    case error::method_error:
    case error::certificate_rejected:
    case error::certificate_pin_mismatch:
    case error::handle_gone:
    case error::deadline_exceeded:
    case error::cancelled:
    case error::task_failed:
    case error::start_failed:
    case error::invalid_endpoint:
    case error::plaintext_refused:
    case error::invalid_config:
      return false;
  }
  return false;  // a value no enumerator names
}


std::string_view error_name(std::error_code ec) noexcept {
  if (ec.category() != category()) return "system_error";
  switch (static_cast<error>(ec.value())) {
    case error::connect_failed: return "connect_failed";
    case error::tls_handshake_failed: return "tls_handshake_failed";
    case error::connection_closed: return "connection_closed";
    case error::request_timeout: return "request_timeout";
    case error::malformed_http: return "malformed_http";
    case error::body_too_large: return "body_too_large";
    case error::http_server_error: return "http_server_error";
    case error::malformed_json: return "malformed_json";
    case error::unexpected_answer: return "unexpected_answer";
    case error::retryable_method_error: return "retryable_method_error";
    case error::unasked_answer: return "unasked_answer";
    case error::unauthorized: return "unauthorized";
    case error::unknown_api_version: return "unknown_api_version";
    case error::unknown_method: return "unknown_method";
    case error::permission_denied: return "permission_denied";
    case error::invalid_parameter: return "invalid_parameter";
    case error::unexpected_http_status: return "unexpected_http_status";
    case error::method_error: return "method_error";
    case error::certificate_rejected: return "certificate_rejected";
    case error::certificate_pin_mismatch: return "certificate_pin_mismatch";
    case error::handle_gone: return "handle_gone";
    case error::deadline_exceeded: return "deadline_exceeded";
    case error::cancelled: return "cancelled";
    case error::task_failed: return "task_failed";
    case error::start_failed: return "start_failed";
    case error::invalid_endpoint: return "invalid_endpoint";
    case error::plaintext_refused: return "plaintext_refused";
    case error::invalid_config: return "invalid_config";
  }
  return "unknown";
}

std::string_view to_string(outcome_kind k) noexcept {
  switch (k) {
    case outcome_kind::succeeded: return "succeeded";
    case outcome_kind::task_failed: return "task_failed";
    case outcome_kind::gone: return "gone";
    case outcome_kind::timed_out: return "timeout";
    case outcome_kind::cancelled: return "cancelled";
    case outcome_kind::failed: return "failed";
    case outcome_kind::start_failed: return "start_failed";
  }
  return "unknown";
}

}  // namespace pollster
