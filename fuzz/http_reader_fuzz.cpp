// libFuzzer target: the HTTP response path on arbitrary bytes.
//
// engine/src/transport/http_reader.hpp (Beast's basic_parser<false> writing
// the body into a padded_buffer) is fed the input as Beast's async_read feeds
// it: put() on whatever has arrived, more bytes on need_more, put_eof() when
// the peer closes. The first input byte chooses how the rest is cut into
// pieces (1 byte at a time, small pieces, or all at once), so partial status
// lines, headers, chunk headers and bodies are all exercised. A complete 200
// answer's body then goes through the answer parser, as client.cpp does.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "protocol/answer_parser.hpp"
#include "protocol/padded_buffer.hpp"
#include "transport/http_reader.hpp"

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace http = boost::beast::http;
  static pollster::detail::answer_parser parser;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  ++data;
  --size;
  // Piece size: 1..16 bytes, or everything at once.
  const std::size_t piece = (mode & 0x80) ? size + 1 : std::size_t(mode & 0x0f) + 1;
  // A small limit so that "over the body limit" is reachable by the fuzzer.
  const std::size_t body_limit = (mode & 0x40) ? 64 : 1024 * 1024;

  pollster::detail::padded_buffer body;
  pollster::detail::http_reader reader(body, body_limit);
  reader.eager(true);

  // Beast's read loop: the parser sees a growing window of unconsumed bytes.
  std::size_t consumed = 0, arrived = 0;
  boost::beast::error_code ec;
  while (!reader.is_done()) {
    if (arrived == consumed || ec == http::error::need_more) {
      if (arrived == size) {  // the peer closed
        reader.put_eof(ec);
        break;
      }
      arrived = std::min(size, arrived + piece);
    }
    ec = {};
    const std::size_t n =
        reader.put(boost::asio::const_buffer(data + consumed, arrived - consumed), ec);
    if (n > arrived - consumed) fail("put consumed more than it was given");
    consumed += n;
    if (!ec && n == 0 && !reader.is_done()) ec = http::error::need_more;  // no progress
    if (ec && ec != http::error::need_more) break;
  }
  if (body.size() > body_limit) fail("body grew past the body limit");
  if (ec || !reader.is_done()) return 0;
  // Beast takes any three digits ("020" too); the engine classifies what is
  // not 200 (classify_http_status: an unexpected status is fatal).
  if (reader.status() < 0 || reader.status() > 999) fail("status outside 000..999");
  if (reader.retry_after() > std::chrono::seconds(3600)) fail("Retry-After not capped");
  if (reader.status() != 200) return 0;

  pollster::detail::envelope_view env;
  if (parser.parse_envelope(body.data(), body.size(), body.capacity(), env) || env.is_error)
    return 0;
  pollster::detail::async_result_view r;
  if (!parser.parse_async_result(env.result_raw, body.data() + body.capacity(), r) && !r.complete)
    (void)parser.percent_complete(r.details_raw, body.data() + body.capacity());
  return 0;
}
