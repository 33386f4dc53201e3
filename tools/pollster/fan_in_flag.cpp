#include "fan_in_flag.hpp"

namespace pollster::cli {

std::optional<fan_in_mode> parse_fan_in(std::string_view text) {
  if (text == "auto") return fan_in_mode::automatic;
  if (text == "list") return fan_in_mode::list;
  if (text == "per-handle") return fan_in_mode::per_handle;
  return std::nullopt;
}

std::string fan_in_error(std::string_view flag, std::string_view value) {
  return std::string(flag) + " wants auto, list or per-handle, not '" + std::string(value) + "'";
}

std::string_view fan_in_name(fan_in_mode m) {
  switch (m) {
    case fan_in_mode::automatic: return "auto";
    case fan_in_mode::list: return "list";
    case fan_in_mode::per_handle: return "per-handle";
  }
  return "auto";
}

}  // namespace pollster::cli
