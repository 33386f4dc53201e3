// --fan-in auto|list|per-handle, shared by `pollster load` and `pollster watch`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pollster/config.hpp"

namespace pollster::cli {

/// "auto", "list", "per-handle"; nullopt otherwise.
std::optional<fan_in_mode> parse_fan_in(std::string_view text);

/// The message for a bad value, naming the flag as typed: "--fan-in wants
/// auto, list or per-handle, not 'x'".
std::string fan_in_error(std::string_view flag, std::string_view value);

/// The flag's spelling of a mode.
std::string_view fan_in_name(fan_in_mode m);

}  // namespace pollster::cli
