// Reads members of a JSON object held in a string — call_result::result_json,
// start_result::result_json, outcome::result()->json — without a second JSON
// library: std::nullopt when the text is not an object, the member is absent,
// or it is not of the type asked for.
//
//   auto clone = pollster::json::get_uint(started.result_json, "cloneID");
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pollster::json {

/// An integer member that fits int64 ("volumeID": 5).
std::optional<std::int64_t> get_int(std::string_view object, std::string_view key);
/// A non-negative integer member that fits uint64 (asyncHandle, cloneID).
std::optional<std::uint64_t> get_uint(std::string_view object, std::string_view key);
/// Any number member, as a double (percentComplete).
std::optional<double> get_double(std::string_view object, std::string_view key);
/// A true/false member.
std::optional<bool> get_bool(std::string_view object, std::string_view key);
/// A string member, unescaped.
std::optional<std::string> get_string(std::string_view object, std::string_view key);
/// Any member as JSON text (an object, an array...), minified.
std::optional<std::string> get_raw(std::string_view object, std::string_view key);

}  // namespace pollster::json
