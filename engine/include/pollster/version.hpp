#pragma once

#include <string_view>

namespace pollster {
/// The library's version, "0.1.0": to log beside a report, or check at run
/// time against the headers a program was built with.
std::string_view version() noexcept;
}  // namespace pollster
