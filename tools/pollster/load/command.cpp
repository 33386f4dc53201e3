// `pollster load`: registers the subcommand and its flags.
#include "command.hpp"

#include <memory>

#include "load/options.hpp"
#include "load/run.hpp"

namespace pollster::cli {

command add_load_command(CLI::App& parent) {
  auto opt = std::make_shared<load::load_options>();
  CLI::App* app = parent.add_subcommand(
      "load", "Load test: keep N operations outstanding (or send R requests/s) and report rate, latency, errors");
  load::add_load_flags(*app, *opt);
  return {app, [opt, app] {
    opt->extras = app->remaining();
    return load::run_load(*opt);
  }};
}

}  // namespace pollster::cli
