// The report as text: the table printed at the end of a run and by
// `report merge`, and the number formats the other renderings share.
#pragma once

#include <cstdint>
#include <string>

#include "model.hpp"

namespace pollster::cli {

/// One line naming the target and the load (from the parameters).
std::string describe(const load_report& r);
/// The readable table printed at the end of a run (several lines, ends in '\n').
std::string to_table(const load_report& r);

/// "1.23 ms", "870 us", "12.3 s".
std::string format_latency(std::uint64_t ns);
/// `v` with `decimals` decimals ("0" for a non-finite value).
std::string fixed(double v, int decimals);
/// 1234567 -> "1,234,567".
std::string with_commas(std::uint64_t n);

}  // namespace pollster::cli
