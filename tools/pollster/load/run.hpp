// One run of pollster load: the target, the workers, the seconds, the report.
#pragma once

#include "load/options.hpp"

namespace pollster::cli::load {

/// Runs the test the flags describe; returns the process exit status.
int run_load(const load_options& opt);

}  // namespace pollster::cli::load
