// Hostile and malformed answers (issue 6): the engine against a raw TLS
// server that answers with crafted bytes. For each input: a clear error on
// that request, retried or reported per the rules (protocol/classify.cpp,
// poller/wait_machine.cpp), and the engine goes on — a later valid answer
// completes the wait and the client still works. Every test is bounded.
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "hostile_server.hpp"
#include "pollster/pollster.hpp"
#include "protocol/answer_parser.hpp"
#include "sim_setup.hpp"

namespace pollster::hostile {
namespace {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using then = answer::then;

// ---------------------------------------------------------------- inputs ---

std::string body_with(const std::string& result_member) {
  return R"({"id": 1, "result": )" + result_member + "}";
}

std::string chunked(const std::string& body, std::size_t piece) {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[32];
  for (std::size_t i = 0; i < body.size(); i += piece) {
    const auto part = body.substr(i, piece);
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

// `head` (status line and headers), a Content-Length for `body`, then `body`.
std::string with_length(const std::string& head, const std::string& body) {
  return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string nested(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

// A valid answer padded to `n` bytes with an ignored member.
std::string big_body(std::size_t n) {
  std::string pad(n, 'x');
  return R"({"id": 1, "unusedParameters": {"pad": ")" + pad + R"("}, "result": {"status": "running"}})";
}

// ------------------------------------------------------------------ cases ---

// A bad answer that the rules retry: alone it must not end the wait; always,
// it ends the wait `timed_out` naming it as the last error.
struct retried_case {
  const char* name;
  answer bad;
  error expect;  ///< the error this request must be classified as
  const char* says = nullptr;  ///< when set: what the last error message must contain instead
};

std::vector<retried_case> retried_cases() {
  const std::string valid = complete_body(1);
  return {
      {"truncated_body_then_close",
       {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + valid.substr(0, 60), then::close},
       error::connection_closed},
      {"truncated_body_then_reset",
       {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + valid.substr(0, 60), then::reset},
       error::connection_closed},
      {"truncated_body_then_silence",
       {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + valid.substr(0, 60), then::hang},
       error::request_timeout},
      {"truncated_chunked_then_close",
       {chunked(valid, 40).substr(0, 150), then::close}, error::connection_closed},
      {"no_answer_then_close", {"", then::close}, error::connection_closed},
      {"status_line_only_then_close", {"HTTP/1.1 200 OK\r\n", then::close},
       error::connection_closed},
      {"invalid_json", {http_answer(R"({"id": 1, "result": {"status": "complete",})")},
       error::malformed_json},
      {"html_instead_of_json", {http_answer("<html><body>Gateway</body></html>")},
       error::malformed_json},
      {"empty_body", {http_answer("")}, error::malformed_json},
      {"trailing_garbage_after_json", {http_answer(valid + " }{")}, error::malformed_json},
      {"invalid_utf8_in_string",
       {http_answer(body_with("{\"status\": \"complete\", \"result\": {\"m\": \"\xff\xfe\"}}"))},
       error::malformed_json},
      {"nul_byte_in_body", {http_answer(std::string("{\"id\": 1,\0 \"result\": {}}", 24))},
       error::malformed_json},
      // Over TLS, a close without close_notify cannot be told from a cut: the
      // body is refused as truncated whatever it holds.
      {"truncated_json_close_delimited",
       {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + valid.substr(0, valid.size() - 3),
        then::close},
       error::connection_closed},
      {"close_delimited_without_close_notify",
       {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + valid, then::close},
       error::connection_closed},
      {"truncated_json_close_delimited_with_close_notify",
       {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + valid.substr(0, valid.size() - 3),
        then::close_notify},
       error::malformed_json},
      {"deeply_nested_result", {http_answer(body_with(nested(100'000)))}, error::malformed_json},
      {"unbalanced_nesting_in_unknown_member",
       {http_answer(R"({"id": 1, "extra": )" + std::string(1000, '[') + std::string(999, ']') +
                    R"(, "result": {"status": "running"}})")},
       error::malformed_json},
      // Invalid JSON inside a member the parser hands out raw or skips.
      {"invalid_json_inside_result_member",
       {http_answer(body_with(R"({"status": "complete", "resultType": "Clone", "result": {"cloneID" 25, "x": [1 2]}})"))},
       error::malformed_json},
      {"invalid_json_nested_inside_result_member",
       {http_answer(body_with(R"({"status": "complete", "resultType": "Clone", "result": {"cloneID": [1 2 : ,], "volumeID": 47}})"))},
       error::malformed_json},
      {"invalid_json_inside_unknown_member",
       {http_answer(R"({"id": 1, "extra": {"a": [1 2 : ,]}, "result": {"status": "running"}})")},
       error::malformed_json},
      {"invalid_json_inside_details",
       {http_answer(body_with(R"({"status": "running", "details": {"percentComplete" 5 6}})"))},
       error::malformed_json},
      {"invalid_json_inside_task_error",
       {http_answer(body_with(R"({"status": "complete", "error": {"name": "xFail" "message": }})"))},
       error::malformed_json},
      {"status_as_number", {http_answer(body_with(R"({"status": 1, "result": {}})"))},
       error::unexpected_answer},
      {"status_unknown_word", {http_answer(body_with(R"({"status": "failed", "result": {}})"))},
       error::unexpected_answer},
      {"status_missing",
       {http_answer(body_with(R"({"resultType": "Clone", "result": {"cloneID": 1}})"))},
       error::unexpected_answer},
      {"complete_without_result_or_error",
       {http_answer(body_with(R"({"status": "complete", "resultType": "Clone"})"))},
       error::unexpected_answer},
      {"result_not_an_object", {http_answer(body_with(R"("complete")"))},
       error::unexpected_answer},
      {"neither_result_nor_error", {http_answer(R"({"id": 1})")}, error::unexpected_answer},
      {"top_level_array", {http_answer(R"([{"id": 1, "result": {}}])")}, error::malformed_json},
      {"method_error_without_name",
       {http_answer(R"({"id": 1, "error": {"code": 500, "message": "?"}})")},
       error::unexpected_answer},
      {"method_error_not_an_object", {http_answer(R"({"id": 1, "error": "xDBNoSuchPath"})")},
       error::unexpected_answer},
      {"resultType_as_number",
       {http_answer(body_with(R"({"status": "complete", "resultType": 5, "result": {}})"))},
       error::unexpected_answer},
      {"garbage_instead_of_http", {"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", then::keep},
       error::malformed_http},
      {"binary_garbage", {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x00\xff", 13)},
       error::malformed_http},
      {"oversized_header",
       {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(20'000, 'a') + "\r\nContent-Length: 2\r\n\r\n{}"},
       error::malformed_http},
      {"many_headers",
       {[] {
          std::string h = "HTTP/1.1 200 OK\r\n";
          for (int i = 0; i < 2000; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
          return h + "Content-Length: 2\r\n\r\n{}";
        }()},
       error::malformed_http},
      {"bad_chunk_size",
       {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
       error::malformed_http},
      {"bad_content_length", {"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}"},
       error::malformed_http},
      {"two_content_lengths",
       {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"},
       error::malformed_http},
      {"http_2_status_line", {"HTTP/2 200\r\nContent-Length: 2\r\n\r\n{}"}, error::malformed_http},
      {"never_answers", {"", then::hang}, error::request_timeout},
      {"slowloris_1_byte_per_100ms", {http_answer(valid), then::drip, 100ms},
       error::request_timeout},
      {"http_503", {http_answer("<html>busy</html>", 503)}, error::http_server_error},
      {"http_429", {http_answer("", 429)}, error::http_server_error},
      {"retryable_method_error",
       {http_answer(R"({"id": 1, "error": {"code": 500, "message": "busy", "name": "xDBVersionMismatch"}})")},
       error::retryable_method_error, "(last error: busy)"},
  };
}

// Bodies over the client's body_limit (set to 4096 in these cases).
std::vector<retried_case> over_limit_cases() {
  const std::string big = big_body(8192);
  return {
      {"body_over_limit_content_length", {http_answer(big)}, error::body_too_large},
      {"body_over_limit_chunked", {chunked(big, 1000)}, error::body_too_large},
      {"body_over_limit_close_delimited",
       {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + big, then::close},
       error::body_too_large},
      {"content_length_over_limit_nothing_sent",
       {"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n", then::hang},
       error::body_too_large},
  };
}

// ---------------------------------------------------------------- fixture ---

class hostile_test : public ::testing::Test {
 protected:
  void TearDown() override {
    // Every client is gone: the io_context must drain (nothing dangling).
    ioc.restart();
    ioc.run_for(5s);
    EXPECT_TRUE(ioc.stopped()) << "io_context did not drain after the client was destroyed";
    srv.stop();
  }

  static constexpr std::size_t default_body_limit = 64 * 1024 * 1024;

  client_config config(std::size_t body_limit = default_body_limit, duration request_timeout = 3s) {
    client_config c = test::trusting(srv.url(), srv.pin_sha256(), "s3cret-pw");
    c.request_timeout = request_timeout;
    c.pool_size = 2;
    c.body_limit = body_limit;
    // The hostile server answers every request with its scripted
    // GetAsyncResult answer: it is not a cluster that lists.
    c.fan_in.mode = fan_in_mode::per_handle;
    return c;
  }

  static wait_options fast(duration deadline = 20s) {
    wait_options w;
    w.deadline = deadline;
    w.poll = {.initial = 10ms, .multiplier = 1.5, .max_delay = 50ms, .jitter = 1.0, .min_delay = 5ms};
    w.retry = {.initial = 10ms, .multiplier = 2.0, .max_delay = 100ms, .jitter = 1.0, .min_delay = 5ms};
    w.gone_confirm_delay = 10ms;
    return w;
  }

  /// Runs the io_context until `body` ends, failing the test after `limit`.
  template <class T>
  std::optional<T> run(std::function<asio::awaitable<T>()> body, std::chrono::seconds limit = 30s) {
    // Shared: should the body outlive the limit, its late end writes nowhere stale.
    auto result = std::make_shared<std::optional<T>>();
    ioc.restart();  // the scheduler stops itself whenever it runs out of work
    asio::co_spawn(ioc, body(), [result](std::exception_ptr, T r) { *result = std::move(r); });
    const auto until = steady::now() + limit;
    while (!*result && steady::now() < until) ioc.run_one_for(50ms);
    EXPECT_TRUE(*result) << "did not finish within " << limit.count() << " s";
    return *result;
  }

  outcome wait_one(client& c, std::uint64_t h, wait_options opts, std::chrono::seconds limit = 30s) {
    auto o = run<outcome>([&]() { return c.wait(h, opts); }, limit);
    return o ? *o : outcome{};
  }

  /// A later valid answer completes the wait: the client still works.
  void expect_still_works(client& c, std::uint64_t h) {
    srv.clear_fallback();
    const auto o = wait_one(c, h, fast());
    EXPECT_EQ(o.kind, outcome_kind::succeeded) << o.message();
    EXPECT_EQ(test::completed_json(o), complete_result(h));
  }

  void log_observed(const std::string& name, const outcome& o) {
    std::cout << "[observed] " << name << ": " << to_string(o.kind) << " polls=" << o.diagnostics.polls
              << " retries=" << o.diagnostics.retries << " error=" << o.message()
              << "\n";
  }

 public:
  void step(std::chrono::milliseconds d) { ioc.run_one_for(d); }

  server srv;
  asio::cancellation_signal cancel_signal;  // outlives every wait bound to it
  asio::io_context ioc{1};
  std::vector<std::error_code> exchange_errors;  // from the engine's observer
  std::unique_ptr<engine> eng = std::make_unique<engine>(
      ioc, engine_config{.seed = 7, .observer = [this](const request_event& ev) {
                           if (ev.ec) exchange_errors.push_back(ev.ec);
                         }});
};

// Each suite below runs one case per parameter, named (in gtest's output and
// in the test names) by the case's `name`.
template <class Case>
class case_test : public hostile_test, public ::testing::WithParamInterface<Case> {};

template <class Case>
  requires requires(const Case& k) { k.name; }
void PrintTo(const Case& k, std::ostream* os) {
  *os << k.name;
}

constexpr auto by_name = [](const auto& info) { return std::string(info.param.name); };


class retried_test : public case_test<retried_case> {
 protected:
  // Short only where the timeout is what is tested: the machine is shared.
  static duration timeout_for(const retried_case& k) {
    return k.expect == error::request_timeout ? duration(500ms) : duration(3s);
  }

  void bad_then_good(std::size_t body_limit) {
    const auto& k = GetParam();
    client c(*eng, config(body_limit, timeout_for(k)));
    srv.script({k.bad, k.bad});
    const auto o = wait_one(c, 101, fast());
    log_observed(std::string(k.name) + " (twice, then valid)", o);
    EXPECT_EQ(o.kind, outcome_kind::succeeded) << o.message();
    EXPECT_EQ(test::completed_json(o), complete_result(101)) << "the valid answer's result, byte for byte";
    EXPECT_EQ(o.diagnostics.polls, 3);
    EXPECT_EQ(o.diagnostics.retries, 2);
    expect_still_works(c, 102);
  }

  void always_bad(std::size_t body_limit) {
    const auto& k = GetParam();
    client c(*eng, config(body_limit, timeout_for(k)));
    srv.set_fallback(k.bad);

    // One poll, then a retry backoff longer than the deadline: the wait ends
    // timed_out naming exactly that request's error (no later attempt can
    // be cut by the deadline and hide it).
    auto one = fast(1500ms);
    one.retry = {.initial = 10s, .multiplier = 1.0, .max_delay = 10s, .jitter = 0.0, .min_delay = 10s};
    const auto first = wait_one(c, 200, one);
    log_observed(std::string(k.name) + " (one request)", first);
    EXPECT_EQ(first.kind, outcome_kind::timed_out);
    EXPECT_EQ(first.diagnostics.polls, 1);
    // The rules retry it, but the deadline cut that retry off before it was
    // sent: retries counts only retries sent (wait_machine).
    EXPECT_EQ(first.diagnostics.retries, 0);
    bool named = false;
    for (const auto& ec : exchange_errors) named |= ec == k.expect;
    named |= first.message().find(make_error_code(k.expect).message()) != std::string::npos;
    if (k.says) named = first.message().find(k.says) != std::string::npos;
    EXPECT_TRUE(named) << "expected " << make_error_code(k.expect).message() << "; got "
                       << first.message();

    // Every poll bad: retried until the deadline, then reported.
    const auto t0 = steady::now();
    const auto o = wait_one(c, 201, fast(2s));
    const auto took = steady::now() - t0;
    log_observed(std::string(k.name) + " (always)", o);
    EXPECT_EQ(o.kind, outcome_kind::timed_out) << "retried until the deadline, then reported";
    EXPECT_EQ(o.ec, error::deadline_exceeded);
    EXPECT_GE(o.diagnostics.retries, 1);
    EXPECT_LT(took, 4s) << "the deadline holds";
    EXPECT_EQ(c.pool().busy, 0u);
    expect_still_works(c, 202);
  }
};

TEST_P(retried_test, BadAnswerIsRetriedThenValidAnswerCompletes) { bad_then_good(64 * 1024 * 1024); }
TEST_P(retried_test, AlwaysBadEndsTimedOutNamingTheError) { always_bad(64 * 1024 * 1024); }

INSTANTIATE_TEST_SUITE_P(each, retried_test, ::testing::ValuesIn(retried_cases()),
                         by_name);

class over_limit_test : public retried_test {};
TEST_P(over_limit_test, BadAnswerIsRetriedThenValidAnswerCompletes) { bad_then_good(4096); }
TEST_P(over_limit_test, AlwaysBadEndsTimedOutNamingTheError) { always_bad(4096); }
INSTANTIATE_TEST_SUITE_P(each, over_limit_test, ::testing::ValuesIn(over_limit_cases()),
                         by_name);

// ------------------------------------------------- reported at once (fatal) ---

struct fatal_case {
  const char* name;
  std::string bytes;
  error expect;
};

using fatal_test = case_test<fatal_case>;

TEST_P(fatal_test, ReportedAtOnceNotRetried) {
  const auto& k = GetParam();
  client c(*eng, config());
  srv.script({{k.bytes}});
  const auto t0 = steady::now();
  const auto o = wait_one(c, 301, fast());
  log_observed(k.name, o);
  EXPECT_EQ(o.kind, outcome_kind::failed);
  EXPECT_EQ(o.ec, k.expect) << o.message();
  EXPECT_EQ(o.diagnostics.polls, 1);
  EXPECT_EQ(o.diagnostics.retries, 0);
  EXPECT_FALSE(o.message().empty());
  EXPECT_EQ(o.message().find("s3cret-pw"), std::string::npos) << "no secret in errors";
  EXPECT_LT(steady::now() - t0, 2s);
  expect_still_works(c, 302);
}

INSTANTIATE_TEST_SUITE_P(
    each, fatal_test,
    ::testing::Values(
        fatal_case{"http_401", "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
                   error::unauthorized},
        fatal_case{"http_404", http_answer("not found", 404), error::unknown_api_version},
        fatal_case{"http_302", "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
                   error::unexpected_http_status},
        fatal_case{"permission_denied",
                   http_answer(R"({"id": 1, "error": {"code": 500, "message": "no", "name": "xPermissionDenied"}})"),
                   error::permission_denied},
        fatal_case{"unknown_method_error",
                   http_answer(R"({"id": 1, "error": {"code": 500, "message": "?", "name": "xSomethingNew"}})"),
                   error::method_error},
        fatal_case{"invalid_parameter",
                   http_answer(R"({"id": 1, "error": {"code": 500, "message": "bad", "name": "xInvalidParameter"}})"),
                   error::invalid_parameter}),
    by_name);

// ---------------------------------- unusual but valid HTTP: accepted at once ---

struct accepted_case {
  const char* name;
  std::function<std::string(std::uint64_t)> bytes;
  then after = then::keep;
};

using accepted_test = case_test<accepted_case>;

TEST_P(accepted_test, ValidAnswerCompletesFirstTime) {
  const auto& k = GetParam();
  client c(*eng, config());
  srv.script({{k.bytes(401), k.after}});
  const auto o = wait_one(c, 401, fast());
  log_observed(k.name, o);
  EXPECT_EQ(o.kind, outcome_kind::succeeded) << o.message();
  // Trailing whitespace: see RawResultIsByteForByteWithoutTrailingWhitespace.
  std::string raw = test::completed_json(o);
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\t')) raw.pop_back();
  EXPECT_EQ(raw, complete_result(401));
  EXPECT_EQ(o.diagnostics.polls, 1);
  EXPECT_EQ(o.diagnostics.retries, 0);
  expect_still_works(c, 402);
}

INSTANTIATE_TEST_SUITE_P(
    each, accepted_test,
    ::testing::Values(
        accepted_case{"no_length_no_chunking_read_until_close_notify",
                      [](auto h) { return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + complete_body(h); },
                      then::close_notify},
        accepted_case{"http_1_0_with_length",
                      [](auto h) { return with_length("HTTP/1.0 200 OK\r\n", complete_body(h)); },
                      then::close},
        accepted_case{"http_1_0_read_until_close_notify",
                      [](auto h) { return "HTTP/1.0 200 OK\r\n\r\n" + complete_body(h); },
                      then::close_notify},
        accepted_case{"http_1_0_keep_alive",
                      [](auto h) {
                        return with_length("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n", complete_body(h));
                      }},
        accepted_case{"chunks_of_one_byte", [](auto h) { return chunked(complete_body(h), 1); }},
        accepted_case{"chunks_of_odd_sizes", [](auto h) { return chunked(complete_body(h), 7); }},
        accepted_case{"chunk_extensions_uppercase_hex_trailers",
                      [](auto h) {
                        const auto b = complete_body(h);
                        char sz[16];
                        std::snprintf(sz, sizeof sz, "%04zX", b.size() - 10);
                        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n" +
                               std::string(sz) + ";name=\"v\"\r\n" + b.substr(0, b.size() - 10) +
                               "\r\nA;x\r\n" + b.substr(b.size() - 10) + "\r\n0\r\nX-T: 1\r\n\r\n";
                      }},
        accepted_case{"members_reordered_and_whitespace",
                      [](auto h) {
                        return http_answer("\r\n {\n\t\"result\" :\n { \"status\":\"complete\" ,\"result\":" +
                                           complete_result(h) +
                                           " ,\"resultType\":\"Clone\", \"unknownMember\": [1, {\"a\": null}]} ,"
                                           " \"id\": 1, \"error\": null }\n");
                      }},
        accepted_case{"header_folding_free_lowercase_names",
                      [](auto h) {
                        auto b = complete_body(h);
                        return "HTTP/1.1 200 OK\r\ncontent-length: " + std::to_string(b.size()) +
                               "\r\nconnection: keep-alive\r\nretry-after: soon\r\n\r\n" + b;
                      }}),
    by_name);

// Nesting within the parser's bound (answer_parser::max_nesting) in members
// it only skips or passes raw (details, unknown members) is a valid "running"
// answer; deeper is refused as malformed and the poll repeated, so the wait
// still ends with the server's result.
TEST_F(hostile_test, NestingWithinTheBoundIsARunningAnswerDeeperIsRetried) {
  client c(*eng, config());
  const std::size_t fits = detail::answer_parser::max_nesting - 3;  // top, result, details
  const answer nested_details{http_answer(
      body_with(R"({"status": "running", "details": {"d": )" + nested(fits) + "}}"))};
  const answer nested_unknown{http_answer(R"({"id": 1, "extra": )" + nested(fits) +
                                          R"(, "result": {"status": "running"}})")};
  const answer too_deep{http_answer(R"({"id": 1, "extra": )" + nested(100'000) +
                                    R"(, "result": {"status": "running"}})")};
  srv.script({nested_details, nested_unknown, too_deep});
  const auto o = wait_one(c, 451, fast());
  log_observed("within-bound nesting in details, then in an unknown member, then 100k deep, "
               "then complete", o);
  EXPECT_EQ(o.kind, outcome_kind::succeeded);
  EXPECT_EQ(test::completed_json(o), complete_result(451));
  EXPECT_EQ(o.diagnostics.polls, 4);
  EXPECT_EQ(o.diagnostics.retries, 1);
  EXPECT_GE(eng->stats().running_answers, 2u);
}

// README: "a complete handle's line is the server's GetAsyncResult result
// object, byte for byte". The `result` member must not carry the whitespace
// that follows it in the answer.
TEST_F(hostile_test, RawResultIsByteForByteWithoutTrailingWhitespace) {
  client c(*eng, config());
  srv.script({{http_answer(R"({"id": 1, "result": {"status": "complete", "result": )" +
                           complete_result(461) + R"( , "resultType": "Clone"} })")}});
  const auto o = wait_one(c, 461, fast());
  EXPECT_EQ(o.kind, outcome_kind::succeeded);
  EXPECT_EQ(test::completed_json(o), complete_result(461));
}

// ------------------------------------------------------------------ gone ---

TEST_F(hostile_test, TransientNoSuchPathIsConfirmedNotReported) {
  client c(*eng, config());
  const std::string nsp = http_answer(
      R"({"id": 1, "error": {"code": 500, "message": "DBClient operation requested on a non-existent path at [/asyncresults/1]", "name": "xDBNoSuchPath"}})");
  srv.script({{nsp}, {nsp}});  // gone_confirmations = 2: a third answer decides
  const auto o = wait_one(c, 501, fast());
  log_observed("xDBNoSuchPath twice, then complete", o);
  EXPECT_EQ(o.kind, outcome_kind::succeeded);
  EXPECT_EQ(o.diagnostics.polls, 3);
}

TEST_F(hostile_test, GoneIsReportedAfterConfirmations) {
  client c(*eng, config());
  // The SDK's vector, with the id a cluster echoes (an answer without the
  // request's id is unasked: AnAnswerWithAnotherIdClosesTheConnectionAndIsRetried).
  srv.set_fallback({http_answer(
      R"({"error": {"code": 500, "message": "Async handle 999999999 does not exist.", "name": "xAsyncHandleDoesNotExist"}, "id": 1})")});
  const auto o = wait_one(c, 502, fast());
  log_observed("xAsyncHandleDoesNotExist always", o);
  EXPECT_EQ(o.kind, outcome_kind::gone);
  EXPECT_EQ(o.ec, error::handle_gone);
  ASSERT_TRUE(o.method_error());
  EXPECT_EQ(o.method_error()->name, "xAsyncHandleDoesNotExist");
  EXPECT_EQ(o.diagnostics.polls, 3) << "the first answer and gone_confirmations (2) re-polls";
  expect_still_works(c, 503);
}

// ------------------------------------------- start methods (non-idempotent) ---

struct start_case {
  const char* name;
  answer bad;
  error expect;
};

using start_test = case_test<start_case>;

TEST_P(start_test, BadStartAnswerFailsOnceWithoutRetry) {
  const auto& k = GetParam();
  client c(*eng, config());
  srv.script({k.bad});
  auto o = run<outcome>([&]() { return c.start_and_wait("CloneVolume", R"({"volumeID": 1, "name": "c"})", fast()); });
  ASSERT_TRUE(o);
  log_observed(std::string("CloneVolume: ") + k.name, *o);
  EXPECT_EQ(o->kind, outcome_kind::start_failed);
  EXPECT_EQ(o->ec, k.expect) << o->message();
  EXPECT_FALSE(o->message().empty());
  EXPECT_EQ(srv.polls(), 1u) << "a start that may have reached the server is never repeated";
  // The client goes on: a valid start now completes.
  srv.script({{http_answer(R"({"id": 2, "result": {"asyncHandle": 601, "cloneID": 1, "volumeID": 2}})")}});
  o = run<outcome>([&]() { return c.start_and_wait("CloneVolume", R"({"volumeID": 1, "name": "c"})", fast()); });
  ASSERT_TRUE(o);
  EXPECT_EQ(o->kind, outcome_kind::succeeded) << o->message();
  EXPECT_EQ(o->handle, 601u);
  EXPECT_EQ(test::completed_json(*o), complete_result(601));
}

INSTANTIATE_TEST_SUITE_P(
    each, start_test,
    ::testing::Values(
        start_case{"asyncHandle_as_string",
                   {http_answer(R"({"id": 1, "result": {"asyncHandle": "389", "cloneID": 1}})")},
                   error::unexpected_answer},
        start_case{"asyncHandle_missing", {http_answer(R"({"id": 1, "result": {"cloneID": 1}})")},
                   error::unexpected_answer},
        start_case{"asyncHandle_negative", {http_answer(R"({"id": 1, "result": {"asyncHandle": -4}})")},
                   error::unexpected_answer},
        start_case{"asyncHandle_float", {http_answer(R"({"id": 1, "result": {"asyncHandle": 3.5}})")},
                   error::unexpected_answer},
        start_case{"invalid_json", {http_answer(R"({"id": 1, "result": {"asyncHandle": 38)")},
                   error::malformed_json},
        start_case{"truncated_then_close",
                   {"HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n{\"id\": 1, \"res", then::close},
                   error::connection_closed},
        start_case{"never_answers", {"", then::hang}, error::request_timeout}),
    by_name);

// --------------------------------------------------- protocol desync cases ---

// Bytes the server sends after a whole answer, unasked, must never be taken as
// the answer to the next request on that connection: that would hand one
// handle's outcome to another.
TEST_F(hostile_test, UnsolicitedAnswerAfterAnAnswerIsNotTakenForTheNext) {
  auto cfg = config();
  cfg.pool_size = 1;  // the next request reuses the same connection
  client c(*eng, cfg);
  srv.script({{http_answer(complete_body(701)) + http_answer(complete_body(999))}});
  auto o = wait_one(c, 701, fast(), 10s);
  EXPECT_EQ(o.kind, outcome_kind::succeeded);
  EXPECT_EQ(test::completed_json(o), complete_result(701));
  ioc.run_for(300ms);  // let the release after delivery go
  ioc.restart();
  o = wait_one(c, 702, fast(), 10s);
  log_observed("unsolicited answer for handle 999 after the answer for 701, then wait 702", o);
  EXPECT_EQ(o.kind, outcome_kind::succeeded);
  EXPECT_EQ(test::completed_json(o), complete_result(702))
      << "handle 702 was given another handle's result (stale bytes on a kept-alive connection)";
}

// RFC 9110 §15.2: a client must accept and skip 1xx interim answers.
TEST_F(hostile_test, InterimContinueAnswerIsSkipped) {
  client c(*eng, config());
  srv.script({{"HTTP/1.1 100 Continue\r\n\r\n" + http_answer(complete_body(801))}});
  const auto o = wait_one(c, 801, fast(), 10s);
  log_observed("100 Continue before the answer", o);
  EXPECT_NE(o.kind, outcome_kind::failed) << o.message();
  EXPECT_EQ(o.kind, outcome_kind::succeeded);
  EXPECT_EQ(test::completed_json(o), complete_result(801));
}

// ------------------------------------------------ cancellation, shutdown ---

// Makes `srv` silent and cancels a wait whose request hangs on it; returns how long the
// wait took to end after the cancellation (or nullopt when it did not within
// `limit`). The outcome lives in shared state: a late completion is harmless.
// `cancel` must outlive the wait (Asio's rule): the fixture owns it.
std::optional<std::chrono::milliseconds> cancel_in_flight(asio::io_context& ioc, server& srv, client& c,
                                                          asio::cancellation_signal& cancel,
                                                          wait_options opts,
                                                          std::chrono::seconds limit,
                                                          outcome& result) {
  srv.set_fallback({"", then::hang});
  auto o = std::make_shared<std::optional<outcome>>();
  asio::co_spawn(ioc, c.wait(901, std::move(opts)),
                 asio::bind_cancellation_slot(cancel.slot(),
                                              [o](std::exception_ptr, outcome r) { *o = std::move(r); }));
  ioc.run_for(300ms);  // the poll is now in flight, unanswered
  if (*o) return std::chrono::milliseconds(-1);
  const auto t0 = steady::now();
  cancel.emit(asio::cancellation_type::terminal);
  const auto until = t0 + limit;
  while (!*o && steady::now() < until) ioc.run_one_for(20ms);
  if (!*o) return std::nullopt;
  result = **o;
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
}

TEST_F(hostile_test, CancellingAWaitStuckOnASilentServerEndsItCancelled) {
  client c(*eng, config(default_body_limit, 3s));
  outcome o;
  const auto took = cancel_in_flight(ioc, srv, c, cancel_signal, fast(60s), 10s, o);
  ASSERT_TRUE(took) << "cancellation did not end the wait";
  ASSERT_GE(took->count(), 0) << "the wait ended before it was cancelled";
  std::cout << "[observed] cancel with the request in flight: " << to_string(o.kind) << " after "
            << took->count() << " ms (request_timeout 3 s)\n";
  EXPECT_EQ(o.kind, outcome_kind::cancelled);
  EXPECT_LE(*took, 5s) << "ends at the latest when the request's own timeout ends it";
  EXPECT_EQ(c.pool().busy, 0u);
}

// Per-operation cancellation should not wait for the request in flight.
TEST_F(hostile_test, CancellationIsPromptWhileARequestIsInFlight) {
  client c(*eng, config(default_body_limit, 20s));
  outcome o;
  const auto took = cancel_in_flight(ioc, srv, c, cancel_signal, fast(60s), 5s, o);
  ASSERT_TRUE(took) << "cancellation did not end the wait within 5 s (request_timeout 20 s)";
  EXPECT_EQ(o.kind, outcome_kind::cancelled);
  EXPECT_LE(*took, 1s);
}

TEST_F(hostile_test, DestroyingTheClientWithRequestsInFlightDrains) {
  srv.set_fallback({"", then::hang});
  auto state = std::make_shared<std::vector<std::optional<outcome>>>(20);
  auto& out = *state;
  {
    client c(*eng, config(default_body_limit, 30s));
    for (std::size_t i = 0; i < out.size(); ++i)
      asio::co_spawn(ioc, c.wait(1000 + i, fast(60s)),
                     [state, i](std::exception_ptr, outcome r) { (*state)[i] = r; });
    ioc.run_for(300ms);  // two requests hang on the server, the rest queue for the pool
  }
  ioc.restart();
  ioc.run_for(5s);
  EXPECT_TRUE(ioc.stopped()) << "io_context did not drain";
  for (auto& o : out) {
    ASSERT_TRUE(o);
    EXPECT_EQ(o->kind, outcome_kind::cancelled);
  }
}

// ----------------------------------------------- many waits, hostile mix ---

TEST_F(hostile_test, ManyWaitsThroughAHostileMixEachDeliveredOnceAndRight) {
  client c(*eng, config());
  const std::string valid = complete_body(1);
  std::vector<answer> mix;
  for (int i = 0; i < 60; ++i) {
    switch (i % 6) {
      case 0: mix.push_back({http_answer(R"({"id": 1, "result": {"status": 1}})")}); break;
      case 1: mix.push_back({"HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n" + valid.substr(0, 40), then::close}); break;
      case 2: mix.push_back({http_answer(running_body())}); break;
      case 3: mix.push_back({"garbage\r\n\r\n"}); break;
      case 4: mix.push_back({http_answer("", 503)}); break;
      case 5: mix.push_back({chunked(running_body(), 3)}); break;
    }
  }
  srv.script(std::move(mix));
  constexpr int n = 200;
  struct tally {
    std::vector<outcome> out = std::vector<outcome>(n);
    std::vector<int> delivered = std::vector<int>(n, 0);
    int remaining = n;
  };
  auto t = std::make_shared<tally>();
  auto& out = t->out;
  auto& delivered = t->delivered;
  auto& remaining = t->remaining;
  for (int i = 0; i < n; ++i)
    asio::co_spawn(ioc, c.wait(5000 + i, fast()), [t, i](std::exception_ptr, outcome r) {
      t->out[i] = std::move(r);
      ++t->delivered[i];
      --t->remaining;
    });
  const auto until = steady::now() + 60s;
  while (remaining > 0 && steady::now() < until) ioc.run_one_for(50ms);
  ASSERT_EQ(remaining, 0);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(delivered[i], 1);
    EXPECT_EQ(out[i].kind, outcome_kind::succeeded) << out[i].message();
    EXPECT_EQ(test::completed_json(out[i]), complete_result(5000 + i));
  }
  EXPECT_LE(c.pool().open, 2u);
}

// ------------------------------------------------- exactly once (issue 9) ---

// Runs `n` waits at once from handle `first`; returns the outcomes in order.
std::vector<outcome> wait_many(hostile_test& t, client& c, int n, std::uint64_t first,
                               wait_options opts);

// A replaying proxy sends, 20 ms after each answer, the answer before it
// again, unasked. Without the id check the next request on that connection
// took it as its own: another handle's result, and its own then released.
TEST_F(hostile_test, ReplayedAnswersAreNeverTakenForAnotherHandles) {
  srv.set_replay(20ms);
  client c(*eng, config());
  const auto out = wait_many(*this, c, 40, 8000, fast());
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(out[i].kind, outcome_kind::succeeded) << out[i].message();
    EXPECT_EQ(test::completed_json(out[i]), complete_result(8000 + i)) << "handle " << 8000 + i;
  }
  EXPECT_GT(eng->stats().unasked_answers, 0u) << "the replays never reached the engine";
  // A release is tried at most twice (again only after an unasked answer),
  // so the replays cannot turn into a release storm.
  std::size_t releases = 0;
  for (const auto& r : srv.requests()) releases += r.release;
  EXPECT_LE(releases, 80u);
}

// The same proxy with the check off (check_id=false, for static servers
// only): the test above would catch the bug it guards against.
TEST_F(hostile_test, WithoutTheIdCheckAReplayIsTakenForAnotherHandlesResult) {
  srv.set_replay(20ms);
  auto cfg = config();
  cfg.check_id = false;
  client c(*eng, cfg);
  const auto out = wait_many(*this, c, 40, 8100, fast());
  int wrong = 0;
  for (int i = 0; i < 40; ++i) wrong += test::completed_json(out[i]) != complete_result(8100 + i);
  EXPECT_GT(wrong, 0) << "the replays did not reach a waiting request: this setup tests nothing";
}

TEST_F(hostile_test, AnAnswerWithAnotherIdClosesTheConnectionAndIsRetried) {
  client c(*eng, config());
  answer wrong{http_answer(R"({"id": 424242, "result": {"status": "running"}})")};
  wrong.echo_id = false;
  srv.script({wrong});
  const auto o = wait_one(c, 901, fast());
  EXPECT_EQ(o.kind, outcome_kind::succeeded) << o.message();
  EXPECT_EQ(test::completed_json(o), complete_result(901));
  EXPECT_EQ(o.diagnostics.retries, 1);
  EXPECT_EQ(eng->stats().unasked_answers, 1u);
  EXPECT_EQ(srv.connections(), 2u) << "the connection that carried it was closed";
}

// A server that never answers releases: each is bounded by release_timeout
// and none holds a connection a poll needs, so every handle is polled and
// delivered, and the run ends soon after the last outcome.
TEST_F(hostile_test, ReleasesThatNeverAnswerDoNotStarvePolls) {
  srv.set_release_answer({"", then::hang});
  auto cfg = config();
  cfg.release_timeout = 300ms;
  client c(*eng, cfg);
  const auto out = wait_many(*this, c, 20, 9000, fast(5s));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(out[i].kind, outcome_kind::succeeded) << "handle " << 9000 + i << ": "
                                                    << out[i].message();
    EXPECT_GE(out[i].diagnostics.polls, 1);
  }
  // The releases still pending end by their own bound: the io_context drains.
  ioc.restart();
  const auto t0 = steady::now();
  ioc.run_for(30s);
  EXPECT_LT(steady::now() - t0, 29s) << "pending releases kept the io_context running";
  EXPECT_EQ(eng->stats().releases, 0u);
}

// With a rate limit, releases that cannot get a token before their short
// deadline give it back: each used to leave a debt, so after a wave of
// completions the next poll waited out the releases' debt (review of issue 9).
TEST_F(hostile_test, ReleasesUnderARateLimitDoNotStarvePolls) {
  auto cfg = config();
  cfg.pool_size = 8;
  cfg.rate_limit = 30;
  cfg.rate_burst = 1;
  cfg.release_timeout = 10ms;  // shorter than a token's wait: every release gives up
  client c(*eng, cfg);
  const auto wave = wait_many(*this, c, 30, 9500, fast(20s));
  for (const auto& o : wave) EXPECT_EQ(o.kind, outcome_kind::succeeded) << o.message();
  for (int i = 0; i < 10; ++i) step(50ms);  // the 30 releases try, and give up
  // 30 releases' debt would be a second of tokens: past this wait's deadline.
  const auto o = wait_one(c, 9600, fast(600ms));
  EXPECT_EQ(o.kind, outcome_kind::succeeded) << "the poll starved behind the releases' token debt: "
                                             << o.message();
}

// fan_in automatic: a cluster that refuses ListAsyncResults (an unknown
// method there) is polled per handle at once, and every wait still ends right.
TEST_F(hostile_test, AutomaticFallsBackToPerHandlePollsWhenListsAreRefused) {
  auto cfg = config();
  cfg.fan_in.mode = fan_in_mode::automatic;
  cfg.fan_in.min_interval = 10ms;
  client c(*eng, cfg);
  srv.set_list_answer({http_answer(
      R"({"error": {"code": 500, "message": "Unknown method", "name": "xUnknownMethod"}, "id": 1})")});
  const auto out = wait_many(*this, c, 50, 9700, fast(10s));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(out[i].kind, outcome_kind::succeeded) << out[i].message();
    EXPECT_FALSE(out[i].diagnostics.from_list);
    EXPECT_EQ(test::completed_json(out[i]), complete_result(9700 + i));
  }
  EXPECT_EQ(eng->stats().list_fallbacks, 1u) << "one refusal, one fallback, no list tried again";
  EXPECT_EQ(eng->stats().lists, 0u);
  std::size_t lists = 0;
  for (const auto& r : srv.requests()) lists += r.body.find("ListAsyncResults") != std::string::npos;
  EXPECT_EQ(lists, 1u) << "50 waits polled every 10 ms cost more than a list: it was tried, once";
}

// fan_in list, forced: a list refused for good (HTTP 401) ends the waits
// failed with that error, as their own polls would have.
TEST_F(hostile_test, ForcedListsRefusedForGoodEndTheWaitsFailed) {
  auto cfg = config();
  cfg.fan_in.mode = fan_in_mode::list;
  cfg.fan_in.min_interval = 10ms;
  client c(*eng, cfg);
  srv.set_fallback({http_answer("401 Unauthorized.", 401)});
  const auto t0 = steady::now();
  const auto out = wait_many(*this, c, 5, 9800, fast(20s));
  for (const auto& o : out) {
    EXPECT_EQ(o.kind, outcome_kind::failed);
    EXPECT_EQ(o.ec, error::unauthorized);
    EXPECT_NE(o.message().find("ListAsyncResults"), std::string::npos) << o.message();
  }
  EXPECT_LT(steady::now() - t0, 10s) << "not at the deadline: at the first refused list";
}

TEST_F(hostile_test, MessagesKeepTheHttpStatus) {
  client c(*eng, config());
  srv.set_fallback({http_answer("", 429)});
  const auto o = wait_one(c, 950, fast(3s));  // room for a slow handshake (ASan)
  EXPECT_EQ(o.kind, outcome_kind::timed_out);
  EXPECT_NE(o.message().find("HTTP 429"), std::string::npos) << o.message();
}

std::vector<outcome> wait_many(hostile_test& t, client& c, int n, std::uint64_t first,
                               wait_options opts) {
  struct tally {
    std::vector<outcome> out;
    std::vector<int> delivered;
    int remaining;
  };
  auto k = std::make_shared<tally>(tally{std::vector<outcome>(n), std::vector<int>(n, 0), n});
  for (int i = 0; i < n; ++i)
    c.async_wait(first + i, opts, [k, i](outcome r) {
      k->out[i] = std::move(r);
      ++k->delivered[i];
      --k->remaining;
    });
  const auto until = steady::now() + 60s;
  while (k->remaining > 0 && steady::now() < until) t.step(50ms);
  EXPECT_EQ(k->remaining, 0);
  for (int i = 0; i < n; ++i) EXPECT_EQ(k->delivered[i], 1) << "handle " << first + i;
  return k->out;
}

}  // namespace
}  // namespace pollster::hostile
