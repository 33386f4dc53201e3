// Each subcommand registers itself on the top-level CLI11 app and hands back
// what to run when it was chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace pollster::cli {

/// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_incomplete = 1;  ///< something did not complete / a threshold was crossed
inline constexpr int exit_usage = 2;       ///< bad command line, one-line reason on stderr
inline constexpr int exit_interrupted = 130;  ///< SIGINT/SIGTERM (128 + SIGINT, the shell's convention)

struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

command add_watch_command(CLI::App& parent);
command add_sim_command(CLI::App& parent);  // tools/sim/sim_command.cpp
command add_load_command(CLI::App& parent);    // load.cpp
command add_report_command(CLI::App& parent);  // report.cpp

}  // namespace pollster::cli
