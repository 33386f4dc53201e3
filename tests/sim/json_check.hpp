// JSON inspection for the tests (simdjson DOM; json_check.cpp is the only
// test TU that includes simdjson).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace simtest {

bool valid_json(std::string_view json);
/// Minified JSON at an RFC 6901 pointer ("" = the whole document); nullopt
/// when the document is invalid or the member absent.
std::optional<std::string> json_at(std::string_view json, std::string_view pointer);
/// Keys of the object at `pointer`, in document order (empty if not an object).
std::vector<std::string> json_keys(std::string_view json, std::string_view pointer);
/// Every object's keys in sorted (byte) order, at every level. False when invalid.
bool keys_sorted_everywhere(std::string_view json);
/// The document minified is the document itself (no whitespace between tokens).
bool is_compact(std::string_view json);
/// Length of the array at `pointer` (-1 if not an array).
long json_array_size(std::string_view json, std::string_view pointer);

}  // namespace simtest
