// The pollster error category: messages, stable names, retryability.
#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>

#include "pollster/error.hpp"
#include "pollster/outcome.hpp"

using pollster::error;

namespace {
struct expected_error {
  error e;
  const char* name;
  bool retryable;
};
const expected_error all_errors[] = {
    {error::connect_failed, "connect_failed", true},
    {error::tls_handshake_failed, "tls_handshake_failed", true},
    {error::connection_closed, "connection_closed", true},
    {error::request_timeout, "request_timeout", true},
    {error::malformed_http, "malformed_http", true},
    {error::body_too_large, "body_too_large", true},
    {error::http_server_error, "http_server_error", true},
    {error::malformed_json, "malformed_json", true},
    {error::unexpected_answer, "unexpected_answer", true},
    {error::retryable_method_error, "retryable_method_error", true},
    {error::unasked_answer, "unasked_answer", true},
    {error::unauthorized, "unauthorized", false},
    {error::unknown_api_version, "unknown_api_version", false},
    {error::unknown_method, "unknown_method", false},
    {error::permission_denied, "permission_denied", false},
    {error::invalid_parameter, "invalid_parameter", false},
    {error::unexpected_http_status, "unexpected_http_status", false},
    {error::method_error, "method_error", false},
    {error::certificate_rejected, "certificate_rejected", false},
    {error::certificate_pin_mismatch, "certificate_pin_mismatch", false},
    {error::handle_gone, "handle_gone", false},
    {error::deadline_exceeded, "deadline_exceeded", false},
    {error::cancelled, "cancelled", false},
    {error::task_failed, "task_failed", false},
    {error::start_failed, "start_failed", false},
    {error::invalid_endpoint, "invalid_endpoint", false},
    {error::plaintext_refused, "plaintext_refused", false},
    {error::invalid_config, "invalid_config", false},
};
}  // namespace

TEST(ErrorCategory, NameIsPollster) {
  EXPECT_STREQ(pollster::category().name(), "pollster");
  std::error_code ec = error::unauthorized;  // implicit, via is_error_code_enum
  EXPECT_EQ(&ec.category(), &pollster::category());
  EXPECT_EQ(ec, error::unauthorized);
  EXPECT_NE(ec, error::unknown_method);
  EXPECT_TRUE(static_cast<bool>(ec));
}

TEST(ErrorCategory, EveryValueHasADistinctMessageAndName) {
  std::set<std::string> messages, names;
  for (const auto& x : all_errors) {
    const std::error_code ec = x.e;
    const std::string msg = ec.message();
    EXPECT_FALSE(msg.empty()) << x.name;
    EXPECT_EQ(msg.find("unknown pollster error"), std::string::npos) << x.name;
    EXPECT_TRUE(messages.insert(msg).second) << "duplicate message: " << msg;
    EXPECT_EQ(pollster::error_name(ec), x.name);
    EXPECT_TRUE(names.insert(std::string(pollster::error_name(ec))).second) << x.name;
  }
  EXPECT_EQ(names.size(), std::size(all_errors));
}

// Every value the enum names (error_name knows it) has a row above, so its
// retryability is stated here on purpose, not inherited from its position.
TEST(ErrorCategory, EveryEnumeratorIsInTheRetryTable) {
  std::set<int> tabled;
  for (const auto& x : all_errors) tabled.insert(static_cast<int>(x.e));
  int named = 0;
  for (int v = 0; v < 256; ++v) {
    const std::error_code ec(v, pollster::category());
    if (pollster::error_name(ec) == "unknown") {
      EXPECT_FALSE(pollster::is_retryable(ec)) << v;
      continue;
    }
    ++named;
    EXPECT_TRUE(tabled.count(v)) << pollster::error_name(ec) << " has no row in all_errors";
  }
  EXPECT_EQ(named, static_cast<int>(std::size(all_errors)));
}

TEST(ErrorCategory, MessagesSayWhatHappened) {
  EXPECT_NE(std::error_code(error::unauthorized).message().find("401"), std::string::npos);
  EXPECT_NE(std::error_code(error::certificate_pin_mismatch).message().find("SHA-256"),
            std::string::npos);
  EXPECT_NE(std::error_code(error::plaintext_refused).message().find("allow_plaintext"),
            std::string::npos);
}

TEST(ErrorCategory, UnknownValue) {
  const std::error_code ec(999, pollster::category());
  EXPECT_EQ(ec.message(), "unknown pollster error 999");
  EXPECT_EQ(pollster::error_name(ec), "unknown");
  EXPECT_FALSE(pollster::is_retryable(ec));
  EXPECT_FALSE(pollster::is_retryable(std::error_code(0, pollster::category())));
}

TEST(ErrorCategory, IsRetryableExactlyForTransportAndTransient) {
  for (const auto& x : all_errors)
    EXPECT_EQ(pollster::is_retryable(x.e), x.retryable) << x.name;
}

TEST(ErrorCategory, ForeignCategories) {
  const std::error_code refused(ECONNREFUSED, std::system_category());
  EXPECT_FALSE(pollster::is_retryable(refused));
  EXPECT_EQ(pollster::error_name(refused), "system_error");
  // Same integer value, other category: not a pollster error.
  const std::error_code one(static_cast<int>(error::connect_failed), std::generic_category());
  EXPECT_FALSE(pollster::is_retryable(one));
  EXPECT_NE(one, error::connect_failed);
  EXPECT_FALSE(pollster::is_retryable(std::error_code{}));
}

TEST(OutcomeKind, ToString) {
  using pollster::outcome_kind;
  EXPECT_EQ(pollster::to_string(outcome_kind::succeeded), "succeeded");
  EXPECT_EQ(pollster::to_string(outcome_kind::task_failed), "task_failed");
  EXPECT_EQ(pollster::to_string(outcome_kind::gone), "gone");
  EXPECT_EQ(pollster::to_string(outcome_kind::timed_out), "timeout");  // watch's "status"
  EXPECT_EQ(pollster::to_string(outcome_kind::cancelled), "cancelled");
  EXPECT_EQ(pollster::to_string(outcome_kind::failed), "failed");
}

TEST(OutcomeKind, CompletedMeansTheTaskEnded) {
  pollster::outcome o;
  for (auto k : {pollster::outcome_kind::succeeded, pollster::outcome_kind::task_failed}) {
    o.kind = k;
    EXPECT_TRUE(o.completed());
  }
  for (auto k : {pollster::outcome_kind::gone, pollster::outcome_kind::timed_out,
                 pollster::outcome_kind::cancelled, pollster::outcome_kind::failed}) {
    o.kind = k;
    EXPECT_FALSE(o.completed());
  }
  EXPECT_EQ(pollster::outcome{}.kind, pollster::outcome_kind::failed);
}

// The error parts replace one another: an outcome names at most one of a
// task error, a method error or pollster's own message, and message() is
// always the one that is there.
TEST(OutcomeParts, OneErrorPartAtATime) {
  pollster::outcome o;
  EXPECT_FALSE(o.result());
  EXPECT_FALSE(o.task_error());
  EXPECT_FALSE(o.method_error());
  EXPECT_TRUE(o.message().empty());

  o.set_method_error({.name = "xNotPrimary", .message = "not primary", .json = "{}", .code = 500});
  ASSERT_TRUE(o.method_error());
  EXPECT_EQ(o.method_error()->code, 500);
  EXPECT_EQ(o.message(), "not primary");

  // A later transport failure is pollster's account: the method error is gone.
  o.set_message("connection closed");
  EXPECT_FALSE(o.method_error());
  EXPECT_EQ(o.message(), "connection closed");

  o.set_result({.result_type = "Clone", .json = ""});
  o.set_task_error({.name = "xFail", .message = "it failed", .json = R"({"name":"xFail"})"});
  ASSERT_TRUE(o.task_error());
  EXPECT_FALSE(o.method_error());
  EXPECT_EQ(o.message(), "it failed");
  ASSERT_TRUE(o.result());
  EXPECT_EQ(o.result()->result_type, "Clone");

  o.clear_error();
  EXPECT_FALSE(o.task_error());
  EXPECT_TRUE(o.message().empty());
  EXPECT_TRUE(o.result()) << "clear_error keeps the record";
}
