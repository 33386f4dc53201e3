// Debian's dygraphs (libjs-dygraphs), inlined at build time so that the HTML
// report is one file that needs no network: dygraphs_inline.cpp is generated
// by report/CMakeLists.txt from /usr/share/javascript/dygraphs.
#pragma once

#include <string_view>

namespace pollster::cli {

std::string_view dygraphs_js() noexcept;
std::string_view dygraphs_css() noexcept;

}  // namespace pollster::cli
