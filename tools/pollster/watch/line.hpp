// The JSON line `pollster watch` writes for one handle.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "pollster/outcome.hpp"

namespace pollster::cli::watch {

/// Builds one line per outcome: one compact JSON object and a newline.
///
/// - `asyncHandle` first (the handle that was polled), then `"cluster": NAME`
///   when `cluster` is not empty, then the rest.
/// - A complete handle: the members of the server's GetAsyncResult `result`
///   object, minified (values byte for byte, no whitespace between tokens).
/// - A member of that object whose name the line already uses (`asyncHandle`,
///   or `cluster` when the line has one) keeps its value byte for byte under
///   the name prefixed with `server` (`serverAsyncHandle`, `serverCluster`;
///   again while that name is taken too): JSON objects must not repeat a key,
///   and nothing the server sent is dropped.
/// - gone: `"status":"gone","error":` the method error object, minified.
/// - timeout, cancelled, failed: `"status"` and `"error":{"name","message"}`
///   (and `"code"` for method errors); a timeout or cancellation carries the
///   last error seen, from the outcome or else from `last_error`.
class line_formatter {
 public:
  std::string format(const outcome& o, std::string_view cluster, std::string_view last_error);

 private:
  /// The minified members of `object_json` (a JSON object), without braces,
  /// with colliding names renamed; appended to `out`. False if the text is
  /// not a JSON object (then nothing is appended).
  bool append_members(std::string& out, std::string_view object_json, bool has_cluster);
  /// Appends `json` minified; false (nothing appended) when it is not JSON.
  bool append_minified(std::string& out, std::string_view json);

  simdjson::ondemand::parser parser_;
  simdjson::padded_string buffer_;
};

}  // namespace pollster::cli::watch
