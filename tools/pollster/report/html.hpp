// The report as one self-contained HTML page.
#pragma once

#include <string>

#include "model.hpp"

namespace pollster::cli {

/// A self-contained HTML page: summary table and charts per second.
std::string to_html(const load_report& r);

}  // namespace pollster::cli
