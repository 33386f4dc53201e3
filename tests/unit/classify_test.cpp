// The retry rules of element-api.md ("Errors seen in the field").
#include <gtest/gtest.h>

#include <string>

#include "pollster/error.hpp"
#include "protocol/classify.hpp"

using pollster::error;
using pollster::detail::classify_http_status;
using pollster::detail::classify_method_error;
using pollster::detail::verdict;

TEST(ClassifyMethodError, HandleGoneNames) {
  for (const char* name : {"xDBNoSuchPath", "xAsyncHandleDoesNotExist"}) {
    const auto c = classify_method_error(name);
    EXPECT_EQ(c.what, verdict::gone) << name;
    EXPECT_EQ(c.ec, error::handle_gone) << name;
  }
}

TEST(ClassifyMethodError, EveryRetryableNameOfTheBrief) {
  for (const char* name :
       {"xDBVersionMismatch", "xNotPrimary", "xDBOperationTimeout", "xDBConnectionLoss",
        "xNoHandler", "xRecvTimeout", "xDBSessionExpired", "xDBSessionMoved",
        "xDBNoServerResponse", "xDBClosing", "xDBInvalidState"}) {
    const auto c = classify_method_error(name);
    EXPECT_EQ(c.what, verdict::retry) << name;
    EXPECT_EQ(c.ec, error::retryable_method_error) << name;
    EXPECT_TRUE(pollster::is_retryable(c.ec)) << name;
  }
}

TEST(ClassifyMethodError, NeverRetriedNames) {
  struct { const char* name; error ec; } cases[] = {
      {"xPermissionDenied", error::permission_denied},
      {"xUnknownAPIMethod", error::unknown_method},
      {"xUnknownAPIVersion", error::unknown_api_version},
      {"xInvalidParameter", error::invalid_parameter},
  };
  for (const auto& k : cases) {
    const auto c = classify_method_error(k.name);
    EXPECT_EQ(c.what, verdict::fatal) << k.name;
    EXPECT_EQ(c.ec, k.ec) << k.name;
    EXPECT_FALSE(pollster::is_retryable(c.ec)) << k.name;
  }
}

TEST(ClassifyMethodError, UnknownNamesAreFatalMethodErrors) {
  for (const char* name : {"xBulkVolumeScriptFailure", "xSomethingNew", "", "xdbnosuchpath",
                           "XDBNoSuchPath", "xDBNoSuchPath ", " xNotPrimary", "xNotPrimaryX",
                           "xDBVersionMismatc"}) {
    const auto c = classify_method_error(name);
    EXPECT_EQ(c.what, verdict::fatal) << '"' << name << '"';
    EXPECT_EQ(c.ec, error::method_error) << '"' << name << '"';
  }
}

TEST(ClassifyMethodError, NameWithEmbeddedNulIsNotMatched) {
  using namespace std::string_view_literals;
  EXPECT_EQ(classify_method_error("xNotPrimary\0x"sv).what, verdict::fatal);
  EXPECT_EQ(classify_method_error("xDBNoSuchPath\0"sv).what, verdict::fatal);
}

TEST(ClassifyHttpStatus, Unauthorized) {
  const auto c = classify_http_status(401);
  EXPECT_EQ(c.what, verdict::fatal);
  EXPECT_EQ(c.ec, error::unauthorized);
}

TEST(ClassifyHttpStatus, NotFoundIsUnknownApiVersion) {
  const auto c = classify_http_status(404);
  EXPECT_EQ(c.what, verdict::fatal);
  EXPECT_EQ(c.ec, error::unknown_api_version);
}

TEST(ClassifyHttpStatus, ServerErrorsAreRetried) {
  for (int s : {500, 502, 503, 504, 507, 599}) {
    const auto c = classify_http_status(s);
    EXPECT_EQ(c.what, verdict::retry) << s;
    EXPECT_EQ(c.ec, error::http_server_error) << s;
    EXPECT_TRUE(pollster::is_retryable(c.ec)) << s;
  }
}

TEST(ClassifyHttpStatus, TooManyRequestsAndRequestTimeoutAreRetried) {
  for (int s : {429, 408}) EXPECT_EQ(classify_http_status(s).what, verdict::retry) << s;
}

TEST(ClassifyHttpStatus, OtherStatusesAreFatal) {
  for (int s : {418, 400, 403, 405, 413, 499, 301, 302, 304, 100, 600, 999, 0, -1}) {
    const auto c = classify_http_status(s);
    EXPECT_EQ(c.what, verdict::fatal) << s;
    EXPECT_EQ(c.ec, error::unexpected_http_status) << s;
    EXPECT_FALSE(pollster::is_retryable(c.ec)) << s;
  }
}

// Failures without a usable answer share is_retryable's table: transport
// errors are retried, a certificate or configuration problem is not.
TEST(ClassifyFailure, TransportErrorsAreRetriedOthersAreFatal) {
  using pollster::detail::classify_failure;
  for (error e : {error::connect_failed, error::tls_handshake_failed, error::connection_closed,
                  error::request_timeout, error::malformed_http, error::body_too_large,
                  error::malformed_json, error::unasked_answer}) {
    const auto c = classify_failure(make_error_code(e));
    EXPECT_EQ(c.what, verdict::retry) << pollster::error_name(c.ec);
    EXPECT_EQ(c.ec, e);
  }
  for (error e : {error::certificate_rejected, error::certificate_pin_mismatch,
                  error::invalid_config, error::cancelled, error::plaintext_refused}) {
    const auto c = classify_failure(make_error_code(e));
    EXPECT_EQ(c.what, verdict::fatal) << pollster::error_name(c.ec);
    EXPECT_EQ(c.ec, e);
  }
  EXPECT_EQ(classify_failure(std::make_error_code(std::errc::connection_refused)).what,
            verdict::fatal);  // not pollster's: not known to be transient
}
