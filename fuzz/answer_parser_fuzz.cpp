// libFuzzer target: the engine's answer parser on arbitrary bytes.
//
// The input is copied into a padded_buffer exactly as connection.cpp leaves an
// answer body (64 spare bytes after it), then taken down the path client.cpp
// takes: parse_envelope; on a result, parse_async_result and, for a running
// answer, percent_complete; find_uint("asyncHandle") as start_and_wait does.
// Besides the sanitizers, it checks that every view the parser hands out lies
// inside the buffer, and that a success is consistent with its documented shape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include "pollster/error.hpp"
#include "protocol/answer_parser.hpp"
#include "protocol/padded_buffer.hpp"

namespace {

using pollster::detail::answer_parser;
using pollster::detail::padded_buffer;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

// A view must be empty or lie within [begin, end) of the body.
void check_inside(std::string_view v, const char* begin, const char* end, const char* what) {
  if (v.empty()) return;
  if (v.data() < begin || v.data() + v.size() > end) fail(what);
}

// Views that may point into the parser's own string buffer (unescaped strings).
void check_readable(std::string_view v) {
  volatile char sink = 0;
  for (char c : v) sink = sink ^ c;
  (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static answer_parser parser;  // reused, as the engine reuses its one parser
  padded_buffer buf;
  buf.append(reinterpret_cast<const char*>(data), size);
  const char* begin = buf.data();
  const char* body_end = begin + buf.size();
  const char* end = begin + buf.capacity();

  // Differential: the engine's one-pass GetAsyncResult parse must reach the
  // same verdict, with the same views, as parse_envelope + parse_async_result.
  pollster::detail::envelope_view one_env;
  pollster::detail::async_result_view one;
  const std::error_code one_ec =
      parser.parse_get_async_result(buf.data(), buf.size(), buf.capacity(), one_env, one);
  const bool one_error = !one_ec && one_env.is_error;
  const std::string one_error_name(one_env.error.name);  // unescaped: the parser's, until reused
  const std::string one_task_error(one.error_name);
  const auto same_view = [](std::string_view a, std::string_view b) {
    return a.data() == b.data() && a.size() == b.size();
  };

  pollster::detail::envelope_view env;
  const std::error_code ec = parser.parse_envelope(buf.data(), buf.size(), buf.capacity(), env);
  if (ec && ec != one_ec) fail("one-pass parse disagrees with parse_envelope's error");
  if (!ec && env.is_error != one_error) fail("one-pass parse disagrees on method error");
  if (!ec && env.is_error &&
      (!same_view(env.error.raw, one_env.error.raw) || env.error.name != one_error_name))
    fail("one-pass parse read the method error differently");
  if (ec) {
    if (ec != pollster::error::malformed_json && ec != pollster::error::unexpected_answer)
      fail("parse_envelope returned an error outside malformed_json/unexpected_answer");
    return 0;
  }
  if (env.is_error) {
    check_inside(env.error.raw, begin, body_end, "error.raw outside the body");
    check_readable(env.error.name);
    check_readable(env.error.message);
    if (env.error.name.empty()) fail("method error accepted without a name");
    return 0;
  }
  check_inside(env.result_raw, begin, body_end, "result_raw outside the body");
  if (env.result_raw.empty()) fail("envelope accepted without a result");

  std::uint64_t handle = 0;
  (void)parser.find_uint(env.result_raw, end, "asyncHandle", handle);

  pollster::detail::async_result_view r;
  const std::error_code rec = parser.parse_async_result(env.result_raw, end, r);
  if (rec != one_ec) fail("one-pass parse disagrees with parse_async_result's verdict");
  if (!rec) {
    if (!same_view(one_env.result_raw, env.result_raw) || !same_view(one.raw, r.raw) ||
        !same_view(one.result_raw, r.result_raw) || !same_view(one.error_raw, r.error_raw) ||
        !same_view(one.details_raw, r.details_raw) || !same_view(one.result_type, r.result_type) ||
        !same_view(one.create_time, r.create_time) ||
        !same_view(one.last_update_time, r.last_update_time) || one.complete != r.complete ||
        one.has_result != r.has_result || one.has_error != r.has_error ||
        one_task_error != r.error_name)
      fail("one-pass parse read the result differently");
  }
  if (rec) {
    if (rec != pollster::error::malformed_json && rec != pollster::error::unexpected_answer)
      fail("parse_async_result returned an error outside malformed_json/unexpected_answer");
    return 0;
  }
  for (auto v : {r.raw, r.result_type, r.create_time, r.last_update_time, r.result_raw,
                 r.error_raw, r.details_raw})
    check_inside(v, begin, body_end, "async result view outside the body");
  check_readable(r.error_name);
  check_readable(r.error_message);
  if (r.complete && !r.has_result && !r.has_error) fail("complete without result or error");
  if (!r.complete) {
    const double pct = parser.percent_complete(r.details_raw, end);
    (void)pct;
  }
  return 0;
}
