// The one clock of the sans-io machines (wait_machine, call_machine,
// fan_in_policy): they take `now` as an argument and never read a clock
// themselves, so a test passes any time_point it likes; the I/O shell passes
// clock::now().
#pragma once

#include <chrono>

namespace pollster::detail {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

}  // namespace pollster::detail
