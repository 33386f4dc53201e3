#pragma once
// JSON string escaping for the writers that build JSON text by appending
// (the simulator's answers, where a DOM would cost an allocation per node).

#include <string>
#include <string_view>

namespace pollster::tools {

/// Appends `s` escaped for the inside of a JSON string (no quotes added):
/// '"' and '\\' get a backslash, control characters become \u00XX. Other
/// bytes pass through, so UTF-8 stays UTF-8.
void append_json_escaped(std::string& out, std::string_view s);

/// Appends `s` as a whole JSON string, quotes included.
void append_json_string(std::string& out, std::string_view s);

/// `s` as a whole JSON string, quotes included.
std::string json_quoted(std::string_view s);

}  // namespace pollster::tools
