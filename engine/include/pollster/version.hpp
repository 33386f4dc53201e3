#pragma once

#include <string_view>

namespace pollster {
/// "0.1.0"
std::string_view version() noexcept;
}  // namespace pollster
