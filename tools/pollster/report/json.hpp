// The report as JSON (schema_version 1), read and written with Boost.JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model.hpp"

namespace pollster::cli {

/// The report as a JSON document: one top-level member per line and one
/// series entry per line, ending in '\n'.
std::string to_json(const load_report& r);
/// Reads a report back; nullopt with `why` (one line, naming the member) when
/// the text is not JSON or not a report this version reads.
std::optional<load_report> from_json(std::string_view text, std::string& why);
/// One parameter value as compact JSON text (the HTML page lists them).
std::string to_json_text(const json_value& v);

}  // namespace pollster::cli
