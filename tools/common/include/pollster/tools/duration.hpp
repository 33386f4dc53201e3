#pragma once
// Durations as people write them on a command line: "1m30s", "500ms", "2h".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pollster::tools {

/// Parses one or more NUMBER UNIT parts ("1h30m", "1.5s", "10us", "250ns"),
/// units h, m (or min), s, ms, us, ns. A bare "0" is zero. When `bare_unit`
/// is one of the units, a number without a unit is taken in it ("10" with
/// bare_unit "s" is ten seconds); otherwise a unit is required.
/// On failure returns nullopt and sets `why` to a sentence that quotes the text
/// as written (never a converted number); the caller prefixes the flag name.
/// Refused: empty text, signs, exponents, spaces, unknown units, and values
/// beyond std::chrono::nanoseconds (about 292 years).
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text, std::string& why,
                                                       std::string_view bare_unit = {});

/// "1m30s", "500ms", "2h", "0s": the shortest exact form parse_duration reads back.
std::string format_duration(std::chrono::nanoseconds d);

}  // namespace pollster::tools
